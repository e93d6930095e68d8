#include "graph/onnx/import_patterns.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace structprune::internal {

const onnx::NodeProto* Subgraph::Take(const std::string& value, absl::string_view op_type) {
  const int p = g_.Producer(value);
  if (p < 0 || g_.IsFolded(p)) return nullptr;
  const onnx::NodeProto& n = g_.node(p);
  if (n.op_type() != op_type || !(n.domain().empty() || n.domain() == "ai.onnx")) return nullptr;
  if (std::find(nodes_.begin(), nodes_.end(), p) == nodes_.end()) nodes_.push_back(p);
  internal_.push_back(value);
  return &n;
}

bool Subgraph::Closed() const {
  for (const std::string& v : internal_) {
    if (g_.IsGraphOutput(v)) return false;
    for (int c : g_.Consumers(v)) {
      if (std::find(nodes_.begin(), nodes_.end(), c) == nodes_.end()) return false;
    }
  }
  return true;
}

std::optional<float> ScalarConstant(const OnnxGraph& g, const std::string& value) {
  const OnnxConstant* c = FloatConstant(g, value);
  if (c == nullptr || c->tensor.numel() != 1) return std::nullopt;
  return c->tensor.data<float>()[0];
}

bool IsScalarConstant(const OnnxGraph& g, const std::string& value, double expected) {
  std::optional<float> v = ScalarConstant(g, value);
  return v.has_value() && std::abs(*v - expected) <= 1e-6 * std::max(1.0, std::abs(expected));
}

const OnnxConstant* FloatConstant(const OnnxGraph& g, const std::string& value) {
  const OnnxConstant* c = g.Constant(value);
  return c != nullptr && c->tensor.dtype() == DType::kFloat32 ? c : nullptr;
}

bool AddConstantOperand(const OnnxGraph& g, const std::string& value, ImportOp& op) {
  const OnnxConstant* c = FloatConstant(g, value);
  if (c == nullptr) return false;
  for (const ImportTensor& t : op.constants) {
    if (t.onnx_name == value) return true;
  }
  op.constants.push_back({value, c->tensor, true, value});
  return true;
}

ImportOp MakeOp(const Subgraph& s, OpKind kind, const std::string& x, AttrMap attrs) {
  ImportOp op;
  op.kind = kind;
  op.attrs = std::move(attrs);
  op.inputs = {x};
  op.outputs = {{Out(s.anchor(), 0), {}}};
  op.nodes = s.nodes();
  return op;
}

absl::Status Unsupported(const onnx::NodeProto& node, absl::string_view message) {
  return absl::UnimplementedError(absl::StrCat(NodeLabel(node), ": ", message));
}

absl::Status InvalidNode(const onnx::NodeProto& node, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(NodeLabel(node), ": ", message));
}

absl::StatusOr<const Tensor*> RequireFloatConstant(const OnnxGraph& g, const onnx::NodeProto& node,
                                                   int index, absl::string_view role) {
  if (index >= node.input_size() || In(node, index).empty()) {
    return InvalidNode(node, absl::StrCat("missing input ", index, " (", role, ")"));
  }
  const OnnxConstant* c = FloatConstant(g, In(node, index));
  if (c == nullptr) {
    return Unsupported(node, absl::StrCat(role, " '", In(node, index),
                                          "' must be a float constant (an initializer)"));
  }
  return &c->tensor;
}

bool OutputUsed(const OnnxGraph& g, const onnx::NodeProto& node, int index) {
  if (index >= node.output_size() || Out(node, index).empty()) return false;
  const std::string& v = Out(node, index);
  return g.IsGraphOutput(v) || !g.Consumers(v).empty();
}

absl::Status RequireUnusedOutput(const OnnxGraph& g, const onnx::NodeProto& node, int index) {
  if (!OutputUsed(g, node, index)) return absl::OkStatus();
  return Unsupported(node, absl::StrCat("output ", index, " ('", Out(node, index),
                                        "') is used; supported: reading output 0 only"));
}

}  // namespace structprune::internal
