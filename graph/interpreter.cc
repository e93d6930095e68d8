#include "graph/interpreter.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace structprune {

absl::StatusOr<std::unique_ptr<Interpreter>> Interpreter::Create(const GraphModule& model,
                                                                 std::vector<Shape> input_shapes,
                                                                 InterpreterOptions options) {
  SP_RETURN_IF_ERROR(model.Lint());
  std::unique_ptr<Interpreter> interp(new Interpreter());
  interp->input_shapes_ = std::move(input_shapes);
  const std::vector<Node*> placeholders = model.graph().placeholders();
  if (placeholders.size() != interp->input_shapes_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("model has ", placeholders.size(),
                                                   " input(s), got ", interp->input_shapes_.size(),
                                                   " input shape(s)"));
  }
  absl::flat_hash_map<const Node*, int> slot_of;
  size_t next_input = 0;
  for (const Node* node : model.graph().nodes()) {
    const int slot = static_cast<int>(interp->infos_.size());
    std::vector<int> arg_slots;
    std::vector<ValueInfo> arg_infos;
    for (const Node* arg : node->args()) {
      arg_slots.push_back(slot_of.at(arg));
      arg_infos.push_back(interp->infos_[slot_of.at(arg)]);
    }
    ValueInfo info;
    Value buffer;
    switch (node->kind()) {
      case NodeKind::kPlaceholder:
        info = ValueInfo::Of(interp->input_shapes_[next_input++]);
        interp->input_slots_.push_back(slot);
        break;
      case NodeKind::kGetAttr: {
        SP_ASSIGN_OR_RETURN(auto owner, model.root().FindTensorOwner(node->target()));
        SP_ASSIGN_OR_RETURN(buffer.tensor, owner.first->Effective(owner.second));
        info = ValueInfo::Of(buffer.tensor.shape());
        break;
      }
      case NodeKind::kOutput:
        interp->output_slots_ = arg_slots;
        break;
      case NodeKind::kCallModule:
      case NodeKind::kCallFunction: {
        const Module* module = nullptr;
        OpCall call{.kind = node->op(), .name = node->name(), .attrs = &node->attrs(),
                    .module = nullptr, .inputs = std::move(arg_infos),
                    .num_threads = options.num_threads,
                    .reference_kernels = options.reference_kernels};
        if (node->kind() == NodeKind::kCallModule) {
          module = model.root().FindModule(node->target());
          call.name = node->target();
          call.attrs = &module->attrs();
          call.module = module;
        }
        const OpDef* def = FindOpDef(node->op());
        if (def == nullptr || def->infer == nullptr || def->create == nullptr) {
          return absl::UnimplementedError(
              absl::StrCat("node '", node->name(), "': ", OpName(node->op()), " cannot run"));
        }
        SP_ASSIGN_OR_RETURN(info, def->infer(call));
        SP_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, def->create(call));
        buffer = Value::Allocate(info);
        interp->steps_.push_back(Step{node, module, std::move(kernel), arg_slots, slot});
        break;
      }
    }
    slot_of[node] = slot;
    interp->infos_.push_back(std::move(info));
    interp->buffers_.push_back(std::move(buffer));
    interp->slot_by_name_[node->name()] = interp->names_.size();
    interp->names_.push_back(node->name());
  }
  interp->values_ = interp->buffers_;
  return interp;
}

absl::StatusOr<std::vector<Tensor>> Interpreter::Run(absl::Span<const Tensor> inputs) {
  std::vector<Tensor> outputs;
  SP_RETURN_IF_ERROR(RunInto(inputs, outputs));
  return outputs;
}

absl::Status Interpreter::RunInto(absl::Span<const Tensor> inputs, std::vector<Tensor>& outputs) {
  if (inputs.size() != input_slots_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("model has ", input_slots_.size(),
                                                   " input(s), got ", inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int slot = input_slots_[i];
    if (inputs[i].dtype() != DType::kFloat32 || inputs[i].shape() != input_shapes_[i]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", i, " ('", names_[slot], "'): expected float32 ", ShapeToString(input_shapes_[i]),
          ", got ", DTypeName(inputs[i].dtype()), " ", ShapeToString(inputs[i].shape())));
    }
    values_[slot].tensor = inputs[i];
  }
  std::vector<const Value*> args;
  for (Step& step : steps_) {
    args.clear();
    for (int s : step.arg_slots) args.push_back(&values_[s]);
    Value& out = values_[step.slot];
    out = buffers_[step.slot];  // kernels may have aliased an input last time
    SP_RETURN_IF_ERROR(step.kernel->Run(args, out));
    if (step.module != nullptr && !step.module->forward_hooks().empty()) {
      // Hooks may edit the output in place: never let that reach an input it aliases.
      if (!out.is_tuple) {
        for (const Value* a : args) {
          if (!a->is_tuple && a->tensor.SharesStorageWith(out.tensor)) {
            Tensor own = buffers_[step.slot].tensor;
            std::copy_n(out.tensor.data<float>(), out.tensor.numel(), own.data<float>());
            out.tensor = own;
            break;
          }
        }
      }
      for (const auto& hook : step.module->forward_hooks()) {
        SP_RETURN_IF_ERROR(hook->Run(*step.module, args, out));
      }
    }
  }
  // The caller owns its outputs; internal buffers are reused by the next run.
  std::vector<Tensor> flat;
  for (int s : output_slots_) values_[s].Flatten(flat);
  outputs.resize(flat.size());
  for (size_t i = 0; i < flat.size(); ++i) {
    if (!outputs[i].defined() || outputs[i].shape() != flat[i].shape() ||
        outputs[i].SharesStorageWith(flat[i])) {
      outputs[i] = Tensor::Zeros(flat[i].shape());
    }
    std::copy_n(flat[i].data<float>(), flat[i].numel(), outputs[i].data<float>());
  }
  return absl::OkStatus();
}

const ValueInfo* Interpreter::InfoOf(absl::string_view node_name) const {
  auto it = slot_by_name_.find(node_name);
  return it == slot_by_name_.end() ? nullptr : &infos_[it->second];
}

absl::StatusOr<std::vector<Tensor>> RunModel(const GraphModule& model,
                                             absl::Span<const Tensor> inputs,
                                             InterpreterOptions options) {
  std::vector<Shape> shapes;
  for (const Tensor& t : inputs) shapes.push_back(t.shape());
  SP_ASSIGN_OR_RETURN(auto interp, Interpreter::Create(model, shapes, options));
  return interp->Run(inputs);
}

}  // namespace structprune
