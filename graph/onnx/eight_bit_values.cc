// 8-bit integer tensors (INT8, UINT8) in an ONNX graph. The engine computes in float32, which
// holds every 8-bit integer exactly; the ops that keep them exact there pass them on: Clip,
// MaxPool and Identity select or compare values, and Add wraps its sum modulo 2^8 (add's
// wrap_to). Any other reader is refused, so no 8-bit value meets a float-only op unnoticed.
#include "absl/strings/str_cat.h"
#include "graph/onnx/onnx_graph.h"

namespace structprune::internal {
namespace {

bool IsEightBit(int32_t type) {
  return type == onnx::TensorProto::INT8 || type == onnx::TensorProto::UINT8;
}

// Whether `op_type` computes input `input` exactly in float32 when it holds 8-bit integers.
bool ReadsEightBit(absl::string_view op_type, int input) {
  if (op_type == "Add") return input == 0 || input == 1;
  return (op_type == "Clip" || op_type == "MaxPool" || op_type == "Identity") && input == 0;
}

}  // namespace

int32_t OnnxGraph::EightBitType(absl::string_view value) const {
  auto it = eight_bit_.find(value);
  return it == eight_bit_.end() ? 0 : it->second;
}

absl::Status OnnxGraph::RecordEightBitValues() {
  for (const onnx::ValueInfoProto& in : graph_->input()) {
    if (!IsModelInput(in.name()) || !in.type().has_tensor_type()) continue;
    const int32_t type = in.type().tensor_type().elem_type();
    if (IsEightBit(type)) eight_bit_[in.name()] = type;
  }
  if (eight_bit_.empty()) return absl::OkStatus();
  // Nodes are in topological order (Index checked it).
  for (int i = 0; i < num_nodes(); ++i) {
    if (!IsLive(i)) continue;
    const onnx::NodeProto& n = node(i);
    int32_t type = 0;
    for (int k = 0; k < n.input_size(); ++k) {
      const int32_t t = EightBitType(n.input(k));
      if (t == 0) continue;
      const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
      if (!default_domain || !ReadsEightBit(n.op_type(), k)) {
        return absl::UnimplementedError(absl::StrCat(
            NodeLabel(n), ": input '", n.input(k), "' is an 8-bit integer tensor (",
            TensorProtoTypeName(t),
            "); 8-bit integer tensors are supported through Add, Clip, MaxPool and Identity "
            "only"));
      }
      type = t;
    }
    if (type != 0 && n.output_size() > 0 && !n.output(0).empty()) eight_bit_[n.output(0)] = type;
  }
  return absl::OkStatus();
}

}  // namespace structprune::internal
