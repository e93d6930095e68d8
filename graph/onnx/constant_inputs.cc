#include "graph/onnx/constant_inputs.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/onnx/import_patterns.h"

namespace structprune::internal {

std::vector<OnnxGraphInput> GraphInputsOf(const onnx::ModelProto& model) {
  const onnx::GraphProto& g = model.graph();
  absl::flat_hash_set<std::string> initializers, weights;
  for (const onnx::TensorProto& init : g.initializer()) initializers.insert(init.name());
  for (const onnx::NodeProto& n : g.node()) {
    if (!n.domain().empty() && n.domain() != "ai.onnx") continue;
    for (int i = 0; i < n.input_size(); ++i) {
      if (IsConstantOperand(n.op_type(), i)) weights.insert(n.input(i));
    }
  }
  std::vector<OnnxGraphInput> inputs;
  for (const onnx::ValueInfoProto& in : g.input()) {
    if (initializers.contains(in.name())) continue;  // an initializer listed as input (IR < 4)
    inputs.push_back({.name = in.name(), .is_weight = weights.contains(in.name())});
  }
  return inputs;
}

absl::Status BindConstantInputs(const std::map<std::string, Tensor>& values,
                                onnx::ModelProto& model) {
  onnx::GraphProto& g = *model.mutable_graph();
  absl::flat_hash_set<std::string> initializers;
  for (const onnx::TensorProto& init : g.initializer()) initializers.insert(init.name());
  for (const auto& [name, value] : values) {
    const onnx::ValueInfoProto* info = nullptr;
    for (const onnx::ValueInfoProto& in : g.input()) {
      if (in.name() == name) info = &in;
    }
    if (info == nullptr || initializers.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot bind '", name, "': it is not a graph input without an initializer"));
    }
    // The declared type, when the file has one: same dtype (as the importer holds it) and the
    // same size for every fixed dim.
    if (info->type().has_tensor_type()) {
      const onnx::TypeProto::Tensor& type = info->type().tensor_type();
      const std::optional<DType> dtype = DTypeForTensorProtoType(type.elem_type());
      if (dtype && *dtype != value.dtype()) {
        return absl::InvalidArgumentError(
            absl::StrCat("graph input '", name, "' is ", TensorProtoTypeName(type.elem_type()),
                         ", got a ", DTypeName(value.dtype()), " tensor"));
      }
      bool fits = !type.has_shape() || type.shape().dim_size() == value.dim();
      for (int d = 0; fits && type.has_shape() && d < type.shape().dim_size(); ++d) {
        const auto& dim = type.shape().dim(d);
        fits = !dim.has_dim_value() || dim.dim_value() == value.size(d);
      }
      if (!fits) {
        return absl::InvalidArgumentError(absl::StrCat("graph input '", name,
                                                       "' does not take a tensor of shape ",
                                                       ShapeToString(value.shape())));
      }
    }
    TensorToProto(value, name, *g.add_initializer());
  }
  return absl::OkStatus();
}

}  // namespace structprune::internal
