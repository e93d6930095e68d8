// The export driver: plan shapes with the interpreter, write each node (graph/onnx/export_ops.cc),
// name the graph outputs, and check the result with onnx::checker.
#include "graph/onnx_export.h"

#include <onnx/checker.h>

#include <algorithm>
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

void SetTensorType(onnx::ValueInfoProto& info, const std::string& name, const Shape& shape,
                   DType dtype = DType::kFloat32) {
  info.set_name(name);
  auto* type = info.mutable_type()->mutable_tensor_type();
  type->set_elem_type(internal::TensorProtoTypeOf(dtype));
  auto* dims = type->mutable_shape();
  for (int64_t d : shape) dims->add_dim()->set_dim_value(d);
}

// The tensors of a (possibly nested) value with their shapes and dtypes, depth first.
absl::Status Flatten(const ExportValue& v, const ValueInfo& info,
                     std::vector<std::pair<std::string, ValueInfo>>& out) {
  if (v.is_tuple != info.is_tuple || (v.is_tuple && v.items.size() != info.items.size())) {
    return absl::InternalError("exported value and planned value disagree in structure");
  }
  if (!v.is_tuple) {
    out.push_back({v.name, info});
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
  // Writes the model planned for `input_shapes`, every input and output dim as planned.
  absl::Status Build(const std::vector<Shape>& input_shapes);
  // Then writes the dims named by options_.input_dim_params as symbolic (see the header).
  absl::Status MakeDimsSymbolic(const std::vector<Shape>& input_shapes);
  // Checks the model with onnx::checker and serializes it.
  absl::StatusOr<std::string> Finish();

 private:
  absl::Status WriteNode(const Node& node, internal::OnnxWriter& w);
  absl::Status NameOutputs(const std::vector<std::pair<std::string, ValueInfo>>& outputs,
                           internal::OnnxWriter& w);

  const GraphModule& model_;
  const OnnxExportOptions& options_;
  std::unique_ptr<Interpreter> interp_;
  onnx::ModelProto proto_;
  absl::flat_hash_map<const Node*, ExportValue> values_;
  std::vector<Shape> output_shapes_;  // the graph outputs', as planned
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

absl::Status Exporter::NameOutputs(const std::vector<std::pair<std::string, ValueInfo>>& outputs,
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
    SetTensorType(*g.add_output(), names[i], outputs[i].second.shape, outputs[i].second.dtype);
  return absl::OkStatus();
}

absl::Status Exporter::Build(const std::vector<Shape>& input_shapes) {
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
  std::vector<std::pair<std::string, ValueInfo>> outputs;
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
  for (const auto& [name, info] : outputs) output_shapes_.push_back(info.shape);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Symbolic dims. A dim may be written symbolic only when the graph does not depend on its size:
// the model is exported again with the dim one larger and must give the same nodes (a Reshape
// or pool kernel computed from that size would differ). The outputs' dims that change follow it.

bool SameNodes(const onnx::GraphProto& a, const onnx::GraphProto& b) {
  if (a.node_size() != b.node_size()) return false;
  for (int i = 0; i < a.node_size(); ++i) {
    if (a.node(i).SerializeAsString() != b.node(i).SerializeAsString()) return false;
  }
  return true;
}

onnx::TensorShapeProto::Dimension& DimOf(onnx::ValueInfoProto& info, size_t d) {
  return *info.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(
      static_cast<int>(d));
}

absl::Status Exporter::MakeDimsSymbolic(const std::vector<Shape>& input_shapes) {
  const std::vector<std::vector<std::string>>& names = options_.input_dim_params;
  if (names.empty()) return absl::OkStatus();
  if (names.size() != input_shapes.size()) {
    return absl::InvalidArgumentError(absl::StrCat("the model has ", input_shapes.size(),
                                                   " inputs but dim names for ", names.size(),
                                                   " inputs were given"));
  }
  std::vector<std::string> symbols;  // distinct, in order of first use
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i].empty() && names[i].size() != input_shapes[i].size()) {
      return absl::InvalidArgumentError(absl::StrCat("input ", i, " has ", input_shapes[i].size(),
                                                     " dims but ", names[i].size(),
                                                     " dim names were given"));
    }
    for (const std::string& name : names[i]) {
      if (!name.empty() && std::find(symbols.begin(), symbols.end(), name) == symbols.end())
        symbols.push_back(name);
    }
  }
  struct OutputDim {
    int varied = 0;       // how many symbols change it
    std::string follows;  // the symbol it equals in both plans
  };
  std::vector<std::vector<OutputDim>> output_dims;
  for (const Shape& shape : output_shapes_) output_dims.emplace_back(shape.size());
  onnx::GraphProto& g = *proto_.mutable_graph();
  OnnxExportOptions fixed = options_;
  fixed.input_dim_params.clear();
  for (const std::string& symbol : symbols) {
    std::vector<Shape> larger = input_shapes;
    std::vector<std::pair<int, size_t>> where;  // {input, dim}
    for (size_t i = 0; i < names.size(); ++i) {
      for (size_t d = 0; d < names[i].size(); ++d) {
        if (names[i][d] != symbol) continue;
        ++larger[i][d];
        where.push_back({static_cast<int>(i), d});
      }
    }
    Exporter other(model_, fixed);
    if (!other.Build(larger).ok() || !SameNodes(g, other.proto_.graph())) continue;
    bool same_ranks = other.output_shapes_.size() == output_shapes_.size();
    for (size_t o = 0; same_ranks && o < output_shapes_.size(); ++o)
      same_ranks = other.output_shapes_[o].size() == output_shapes_[o].size();
    if (!same_ranks) continue;
    for (const auto& [i, d] : where) DimOf(*g.mutable_input(i), d).set_dim_param(symbol);
    const int64_t planned = input_shapes[where.front().first][where.front().second];
    for (size_t o = 0; o < output_shapes_.size(); ++o) {
      for (size_t k = 0; k < output_shapes_[o].size(); ++k) {
        if (output_shapes_[o][k] == other.output_shapes_[o][k]) continue;
        ++output_dims[o][k].varied;
        if (output_shapes_[o][k] == planned && other.output_shapes_[o][k] == planned + 1)
          output_dims[o][k].follows = symbol;
      }
    }
  }
  // An output dim following one symbol takes its name; one varying otherwise takes the name
  // given for it (the imported file's), or none.
  for (size_t o = 0; o < output_dims.size(); ++o) {
    const std::vector<std::string>* given =
        o < options_.output_dim_params.size() ? &options_.output_dim_params[o] : nullptr;
    for (size_t k = 0; k < output_dims[o].size(); ++k) {
      const OutputDim& dim = output_dims[o][k];
      if (dim.varied == 0) continue;
      std::string name = dim.varied == 1 ? dim.follows : "";
      if (name.empty() && given != nullptr && given->size() == output_dims[o].size())
        name = (*given)[k];
      onnx::TensorShapeProto::Dimension& out = DimOf(*g.mutable_output(static_cast<int>(o)), k);
      if (name.empty()) {
        out.clear_dim_value();
      } else {
        out.set_dim_param(name);
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Exporter::Finish() {
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
  // A model read at an older opset (the importer reads from opset 1) is written at the oldest
  // opset the exporter writes.
  options.opset = std::max(model.opset, internal::kMinOnnxOpset);
  options.input_names = model.input_names;
  options.output_names = model.output_names;
  options.input_dim_params = model.input_dim_params;
  options.output_dim_params = model.output_dim_params;
  return options;
}

absl::StatusOr<std::string> ExportOnnxToBytes(const GraphModule& model,
                                              const std::vector<Shape>& input_shapes,
                                              const OnnxExportOptions& options) {
  Exporter exporter(model, options);
  SP_RETURN_IF_ERROR(exporter.Build(input_shapes));
  SP_RETURN_IF_ERROR(exporter.MakeDimsSymbolic(input_shapes));
  return exporter.Finish();
}

absl::Status ExportOnnx(const GraphModule& model, const std::vector<Shape>& input_shapes,
                        const std::string& path, const OnnxExportOptions& options) {
  SP_ASSIGN_OR_RETURN(std::string bytes, ExportOnnxToBytes(model, input_shapes, options));
  return internal::WriteFileBytes(path, bytes);
}

}  // namespace structprune
