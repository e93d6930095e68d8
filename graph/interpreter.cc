#include "graph/interpreter.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include <algorithm>
#include <limits>

#include "core/status_macros.h"
#include "ops/onednn/region.h"
#include "ops/registry.h"

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
  // Pass 1: every node's shape (all validation happens here). A node's slot is its index: one
  // slot per node, in graph order (the lint above checked that every argument comes earlier).
  // Pass 2 builds kernels from the calls; a plan-only interpreter (shapes for the dependency
  // analysis) drops each as soon as its shape is known, instead of holding them all.
  std::vector<PlannedCall> calls;
  const size_t num_nodes = model.graph().size();
  if (!options.plan_only) calls.reserve(num_nodes);
  interp->infos_.reserve(num_nodes);
  interp->buffers_.reserve(num_nodes);
  interp->slot_by_name_.reserve(num_nodes);
  interp->names_.reserve(num_nodes);
  size_t next_input = 0;
  for (const Node* node : model.graph().nodes()) {
    const int slot = node->index();
    if (slot != static_cast<int>(interp->infos_.size())) {
      return absl::InternalError(absl::StrCat("node '", node->name(), "' is out of place in its graph"));
    }
    std::vector<int> arg_slots;
    std::vector<ValueInfo> arg_infos;
    for (const Node* arg : node->args()) {
      arg_slots.push_back(arg->index());
      arg_infos.push_back(interp->infos_[arg->index()]);
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
        PlannedCall pc{node, nullptr,
                       OpCall{.kind = node->op(), .name = node->name(), .attrs = &node->attrs(),
                              .module = nullptr, .inputs = std::move(arg_infos),
                              .num_threads = options.num_threads,
                              .reference_kernels = options.reference_kernels},
                       arg_slots, slot};
        if (node->kind() == NodeKind::kCallModule) {
          pc.module = model.root().FindModule(node->target());
          pc.call.name = node->target();
          pc.call.attrs = &pc.module->attrs();
          pc.call.module = pc.module;
        }
        const OpDef* def = FindOpDef(node->op());
        if (def == nullptr || def->infer == nullptr || def->create == nullptr) {
          return absl::UnimplementedError(
              absl::StrCat("node '", node->name(), "': ", OpName(node->op()), " cannot run"));
        }
        SP_ASSIGN_OR_RETURN(info, def->infer(pc.call));
        if (!options.plan_only) calls.push_back(std::move(pc));
        break;
      }
    }
    interp->infos_.push_back(std::move(info));
    interp->buffers_.push_back(std::move(buffer));
    interp->slot_by_name_[node->name()] = interp->names_.size();
    interp->names_.push_back(node->name());
  }
  // Pass 2: kernels, fused regions where oneDNN can take a run of nodes.
  interp->plan_only_ = options.plan_only;
  if (options.plan_only) return interp;
  SP_RETURN_IF_ERROR(interp->BuildSteps(calls, options));
  interp->values_ = interp->buffers_;
  return interp;
}

absl::Status Interpreter::BuildSteps(const std::vector<PlannedCall>& calls,
                                     const InterpreterOptions& options) {
  std::vector<std::pair<size_t, size_t>> regions;
  if (options.fuse && !options.reference_kernels) {
    std::vector<bool> eligible(calls.size());
    for (size_t i = 0; i < calls.size(); ++i) {
      const PlannedCall& c = calls[i];
      const ValueInfo& out = infos_[c.slot];
      eligible[i] = (c.module == nullptr || c.module->forward_hooks().empty()) && !out.is_tuple &&
                    internal::RegionSupports(c.call, out.shape);
    }
    regions = PlanRegions(calls, eligible);
  }
  size_t next_region = 0;
  for (size_t i = 0; i < calls.size();) {
    if (next_region < regions.size() && regions[next_region].first == i) {
      const auto [begin, end] = regions[next_region++];
      SP_ASSIGN_OR_RETURN(bool fused, AddRegionStep(calls, begin, end, options));
      if (fused) {
        i = end + 1;
        continue;
      }
    }
    const PlannedCall& c = calls[i++];
    SP_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, FindOpDef(c.call.kind)->create(c.call));
    buffers_[c.slot] = Value::Allocate(infos_[c.slot]);
    steps_.push_back(Step{c.node, c.module, std::move(kernel), c.arg_slots, c.slot});
  }
  return absl::OkStatus();
}

// Contiguous runs of eligible calls, cut so that only a region's last node is used outside it
// (a contiguous run is convex, so no outside node sits between two of its nodes).
std::vector<std::pair<size_t, size_t>> Interpreter::PlanRegions(
    const std::vector<PlannedCall>& calls, const std::vector<bool>& eligible) const {
  absl::flat_hash_map<const Node*, size_t> position;
  for (size_t i = 0; i < calls.size(); ++i) position[calls[i].node] = i;
  constexpr size_t kOutside = std::numeric_limits<size_t>::max();
  std::vector<size_t> last_user(calls.size(), 0);  // position of the last call using it
  for (size_t i = 0; i < calls.size(); ++i) {
    for (const Node* user : calls[i].node->users()) {
      auto it = position.find(user);
      last_user[i] = std::max(last_user[i], it == position.end() ? kOutside : it->second);
    }
  }
  std::vector<std::pair<size_t, size_t>> regions;
  std::vector<int> leaving(calls.size(), 0);  // by position: escaping values whose last use it is
  for (size_t run = 0; run < calls.size();) {
    if (!eligible[run]) {
      ++run;
      continue;
    }
    size_t run_end = run;
    while (run_end + 1 < calls.size() && eligible[run_end + 1]) ++run_end;
    for (size_t start = run; start <= run_end;) {
      // The longest region [start, j] whose only escaping value is node j's.
      int escaping = 0;
      size_t best = kOutside;
      bool computes = false, best_computes = false;
      for (size_t j = start; j <= run_end && escaping <= kMaxEscapes; ++j) {
        escaping -= leaving[j];
        leaving[j] = 0;
        if (last_user[j] > j) {
          ++escaping;
          if (last_user[j] <= run_end) ++leaving[last_user[j]];
        }
        computes = computes || internal::RegionComputes(calls[j].call.kind);
        if (escaping == 1 && last_user[j] > j) {
          best = j;
          best_computes = computes;
        }
      }
      std::fill(leaving.begin() + start, leaving.begin() + run_end + 1, 0);
      if (best == kOutside) {
        ++start;
        continue;
      }
      if (best_computes) regions.push_back({start, best});
      start = best + 1;
    }
    run = run_end + 1;
  }
  return regions;
}

absl::StatusOr<bool> Interpreter::AddRegionStep(const std::vector<PlannedCall>& calls, size_t begin,
                                                size_t end, const InterpreterOptions& options) {
  absl::flat_hash_map<int, int> index_of_slot;  // region node slots -> region index
  absl::flat_hash_map<int, int> input_of_slot;  // outside slots -> region input
  std::vector<int> input_slots;
  std::vector<Shape> input_shapes;
  std::vector<internal::RegionNode> nodes;
  for (size_t i = begin; i <= end; ++i) {
    internal::RegionNode rn{calls[i].call, {}, infos_[calls[i].slot].shape};
    for (int s : calls[i].arg_slots) {
      if (auto it = index_of_slot.find(s); it != index_of_slot.end()) {
        rn.args.push_back(it->second);
        continue;
      }
      auto [it, added] = input_of_slot.try_emplace(s, static_cast<int>(input_slots.size()));
      if (added) {
        input_slots.push_back(s);
        input_shapes.push_back(infos_[s].shape);
      }
      rn.args.push_back(-1 - it->second);
    }
    index_of_slot[calls[i].slot] = static_cast<int>(nodes.size());
    nodes.push_back(std::move(rn));
  }
  absl::StatusOr<std::unique_ptr<Kernel>> kernel =
      internal::CreateOnednnRegion(std::move(input_shapes), std::move(nodes), options.num_threads);
  if (!kernel.ok()) {
    if (kernel.status().code() == absl::StatusCode::kUnimplemented) return false;
    return kernel.status();
  }
  const PlannedCall& last = calls[end];
  buffers_[last.slot] = Value::Allocate(infos_[last.slot]);
  steps_.push_back(Step{last.node, nullptr, *std::move(kernel), std::move(input_slots), last.slot});
  return true;
}

absl::StatusOr<std::vector<Tensor>> Interpreter::Run(absl::Span<const Tensor> inputs) {
  std::vector<Tensor> outputs;
  SP_RETURN_IF_ERROR(RunInto(inputs, outputs));
  return outputs;
}

absl::Status Interpreter::RunInto(absl::Span<const Tensor> inputs, std::vector<Tensor>& outputs) {
  if (plan_only_) return absl::FailedPreconditionError("interpreter was created with plan_only");
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
        outputs[i].dtype() != flat[i].dtype() || outputs[i].SharesStorageWith(flat[i])) {
      outputs[i] = Tensor::Zeros(flat[i].shape(), flat[i].dtype());
    }
    std::copy_n(flat[i].data<std::byte>(), flat[i].nbytes(), outputs[i].data<std::byte>());
  }
  return absl::OkStatus();
}

const ValueInfo* Interpreter::InfoOf(const Node& node) const {
  const size_t slot = static_cast<size_t>(node.index());
  return slot < names_.size() && names_[slot] == node.name() ? &infos_[slot] : nullptr;
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
