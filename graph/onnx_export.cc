// The export driver: plan shapes with the interpreter, write each node (graph/onnx/export_ops.cc),
// name the graph outputs, and check the result with onnx::checker.
#include "graph/onnx_export.h"

#include <onnx/checker.h>

#include <exception>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "graph/interpreter.h"
#include "graph/onnx/export_writer.h"
#include "graph/onnx/onnx_graph.h"
#include "graph/onnx/proto.h"
#include "graph/onnx/scope_names.h"

namespace structprune {
namespace {

using internal::ExportValue;

constexpr int64_t kIrVersion = 8;  // ONNX 1.10+: opsets up to 17

void SetTensorType(onnx::ValueInfoProto& info, const std::string& name, const Shape& shape) {
  info.set_name(name);
  auto* type = info.mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  auto* dims = type->mutable_shape();
  for (int64_t d : shape) dims->add_dim()->set_dim_value(d);
}

// The tensors of a (possibly nested) value with their shapes, depth first.
absl::Status Flatten(const ExportValue& v, const ValueInfo& info,
                     std::vector<std::pair<std::string, Shape>>& out) {
  if (v.is_tuple != info.is_tuple || (v.is_tuple && v.items.size() != info.items.size())) {
    return absl::InternalError("exported value and planned value disagree in structure");
  }
  if (!v.is_tuple) {
    out.push_back({v.name, info.shape});
    return absl::OkStatus();
  }
  for (size_t i = 0; i < v.items.size(); ++i)
    SP_RETURN_IF_ERROR(Flatten(v.items[i], info.items[i], out));
  return absl::OkStatus();
}

class Exporter {
 public:
  Exporter(const GraphModule& model, const OnnxExportOptions& options)
      : model_(model), options_(options) {}
  absl::StatusOr<std::string> Run(const std::vector<Shape>& input_shapes);

 private:
  absl::Status WriteNode(const Node& node, internal::OnnxWriter& w);
  absl::Status NameOutputs(const std::vector<std::pair<std::string, Shape>>& outputs,
                           internal::OnnxWriter& w);

  const GraphModule& model_;
  const OnnxExportOptions& options_;
  std::unique_ptr<Interpreter> interp_;
  onnx::ModelProto proto_;
  absl::flat_hash_map<const Node*, ExportValue> values_;
};

absl::Status Exporter::WriteNode(const Node& node, internal::OnnxWriter& w) {
  const Module& root = model_.root();
  if (node.kind() == NodeKind::kGetAttr) {
    SP_ASSIGN_OR_RETURN(auto owner, root.FindTensorOwner(node.target()));
    SP_ASSIGN_OR_RETURN(Tensor t, owner.first->Effective(owner.second));
    values_[&node] = ExportValue{w.Initializer(node.target(), t), false, {}};
    return absl::OkStatus();
  }
  std::vector<ExportValue> args;
  std::vector<ValueInfo> infos;
  for (const Node* a : node.args()) {
    auto it = values_.find(a);
    const ValueInfo* info = interp_->InfoOf(a->name());
    if (it == values_.end() || info == nullptr) {
      return absl::InternalError(
          absl::StrCat("node '", node.name(), "': argument '", a->name(), "' was not exported"));
    }
    args.push_back(it->second);
    infos.push_back(*info);
  }
  if (node.op() == OpKind::kGetItem) {
    SP_ASSIGN_OR_RETURN(int64_t index, GetIntAttr(node.attrs(), "index", 0));
    const ExportValue& tuple = args.front();
    const int64_t size = static_cast<int64_t>(tuple.items.size());
    if (index < 0) index += size;
    if (!tuple.is_tuple || index < 0 || index >= size) {
      return absl::InvalidArgumentError(absl::StrCat("node '", node.name(), "': bad getitem"));
    }
    values_[&node] = tuple.items[index];
    return absl::OkStatus();
  }
  internal::ExportCall call{&node, node.op(), nullptr,         &node.attrs(),
                            "",    "",        std::move(args), std::move(infos)};
  if (node.kind() == NodeKind::kCallModule) {
    call.module = root.FindModule(node.target());
    if (call.module == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("no module named '", node.target(), "'"));
    }
    call.attrs = &call.module->attrs();
    call.fqn = node.target();
    call.scope = internal::ScopePathFromFqn(node.target());
  }
  SP_ASSIGN_OR_RETURN(values_[&node], internal::ExportOp(w, call));
  return absl::OkStatus();
}

absl::Status Exporter::NameOutputs(const std::vector<std::pair<std::string, Shape>>& outputs,
                                   internal::OnnxWriter& w) {
  onnx::GraphProto& g = *proto_.mutable_graph();
  std::vector<std::string> names = options_.output_names;
  if (names.empty()) {
    for (size_t i = 0; i < outputs.size(); ++i) names.push_back(absl::StrCat("output_", i));
  }
  if (names.size() != outputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("the model has ", outputs.size(),
                                                   " outputs but ", names.size(),
                                                   " output names were given"));
  }
  absl::flat_hash_set<std::string> defined;  // every value name in use
  absl::flat_hash_set<std::string> node_outputs;
  for (const auto& in : g.input()) defined.insert(in.name());
  for (const auto& init : g.initializer()) defined.insert(init.name());
  for (const auto& n : g.node()) {
    for (const std::string& o : n.output()) {
      defined.insert(o);
      node_outputs.insert(o);
    }
  }
  // Rename the producing node's output to the wanted name where we can; else add an Identity.
  absl::flat_hash_map<std::string, std::string> renames;
  absl::flat_hash_set<std::string> used_names;
  std::vector<std::pair<std::string, std::string>> identities;  // {value, name}
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& value = outputs[i].first;
    const std::string& name = names[i];
    if (!used_names.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("output name '", name, "' is given twice"));
    }
    if (name == value && !renames.contains(value)) {
      renames[value] = value;
      continue;
    }
    if (defined.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("output name '", name, "' is already the name of another value"));
    }
    if (node_outputs.contains(value) && !renames.contains(value)) {
      renames[value] = name;
    } else {
      identities.push_back({value, name});
    }
  }
  auto renamed = [&](const std::string& v) {
    auto it = renames.find(v);
    return it == renames.end() ? v : it->second;
  };
  for (auto& n : *g.mutable_node()) {
    for (std::string& in : *n.mutable_input()) in = renamed(in);
    for (std::string& out : *n.mutable_output()) out = renamed(out);
  }
  for (const auto& [value, name] : identities) {
    onnx::NodeProto& id = w.AddNode("Identity", "", {renamed(value)});
    id.set_output(0, name);
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    SetTensorType(*g.add_output(), names[i], outputs[i].second);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Exporter::Run(const std::vector<Shape>& input_shapes) {
  if (options_.opset < internal::kMinOnnxOpset || options_.opset > internal::kMaxOnnxOpset) {
    return absl::InvalidArgumentError(absl::StrCat("opset ", options_.opset, " is not supported (",
                                                   internal::kMinOnnxOpset, " to ",
                                                   internal::kMaxOnnxOpset, ")"));
  }
  for (const auto& [fqn, m] : model_.root().NamedModules()) {
    if (!m->forward_hooks().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("module '", fqn,
                       "' has forward hooks (a prepared model): prune or squash it before export"));
    }
  }
  SP_ASSIGN_OR_RETURN(interp_, Interpreter::Create(model_, input_shapes));
  proto_.set_ir_version(kIrVersion);
  proto_.set_producer_name(options_.producer_name);
  proto_.set_producer_version("0.1.0");
  auto* opset = proto_.add_opset_import();
  opset->set_domain("");
  opset->set_version(options_.opset);
  onnx::GraphProto& g = *proto_.mutable_graph();
  g.set_name("main_graph");
  internal::OnnxWriter w(g, options_.opset);

  const std::vector<Node*> placeholders = model_.graph().placeholders();
  if (!options_.input_names.empty() && options_.input_names.size() != placeholders.size()) {
    return absl::InvalidArgumentError(absl::StrCat("the model has ", placeholders.size(),
                                                   " inputs but ", options_.input_names.size(),
                                                   " input names were given"));
  }
  for (size_t i = 0; i < placeholders.size(); ++i) {
    const std::string name =
        options_.input_names.empty() ? placeholders[i]->target() : options_.input_names[i];
    SetTensorType(*g.add_input(), name, input_shapes[i]);
    values_[placeholders[i]] = ExportValue{name, false, {}};
  }
  std::vector<std::pair<std::string, Shape>> outputs;
  for (const Node* node : model_.graph().nodes()) {
    if (node->kind() == NodeKind::kPlaceholder) continue;
    if (node->kind() == NodeKind::kOutput) {
      for (const Node* a : node->args()) {
        const ValueInfo* info = interp_->InfoOf(a->name());
        auto it = values_.find(a);
        if (info == nullptr || it == values_.end()) {
          return absl::InternalError(absl::StrCat("output '", a->name(), "' was not exported"));
        }
        SP_RETURN_IF_ERROR(Flatten(it->second, *info, outputs));
      }
      continue;
    }
    SP_RETURN_IF_ERROR(WriteNode(*node, w));
  }
  SP_RETURN_IF_ERROR(NameOutputs(outputs, w));
  try {
    onnx::checker::check_model(proto_);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("the exported model fails onnx.checker: ", e.what()));
  }
  std::string bytes;
  if (!proto_.SerializeToString(&bytes) ||
      static_cast<int64_t>(bytes.size()) > internal::kMaxOnnxBytes) {
    return absl::InvalidArgumentError("the model is too large for one ONNX file (2 GiB)");
  }
  return bytes;
}

}  // namespace

OnnxExportOptions ExportOptionsFor(const OnnxModel& model) {
  OnnxExportOptions options;
  options.opset = model.opset;
  options.input_names = model.input_names;
  options.output_names = model.output_names;
  return options;
}

absl::StatusOr<std::string> ExportOnnxToBytes(const GraphModule& model,
                                              const std::vector<Shape>& input_shapes,
                                              const OnnxExportOptions& options) {
  return Exporter(model, options).Run(input_shapes);
}

absl::Status ExportOnnx(const GraphModule& model, const std::vector<Shape>& input_shapes,
                        const std::string& path, const OnnxExportOptions& options) {
  SP_ASSIGN_OR_RETURN(std::string bytes, ExportOnnxToBytes(model, input_shapes, options));
  return internal::WriteFileBytes(path, bytes);
}

}  // namespace structprune
