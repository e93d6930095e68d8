#include "graph/onnx/op_versions.h"

#include "absl/strings/str_cat.h"

namespace structprune::internal {
namespace {

// Ops read at opsets before kDefaultFirstOpset, or only from a later one. The histories come
// from ONNX's operator changelog (docs/Changelog.md).
struct FirstOpset {
  const char* op_type;
  int64_t opset;
};

constexpr int64_t kDefaultFirstOpset = 7;

constexpr FirstOpset kFirstOpsets[] = {
    // Version 1 is the current one, or differs only by the legacy consumed_inputs attribute
    // (Relu-1, Elu-1, HardSigmoid-1, ...) or by attributes added later with a neutral default
    // (MaxPool-1 has no dilations or ceil_mode, AveragePool-1 no count_include_pad).
    {"AveragePool", 1},
    {"Constant", 1},
    {"Conv", 1},
    {"Elu", 1},
    {"Flatten", 1},
    {"Gather", 1},
    {"GlobalAveragePool", 1},
    {"GlobalMaxPool", 1},
    {"HardSigmoid", 1},
    {"Identity", 1},
    {"LeakyRelu", 1},
    {"MatMul", 1},
    {"MaxPool", 1},
    {"Relu", 1},
    {"Shape", 1},
    {"Sigmoid", 1},
    {"Softplus", 1},
    {"Softsign", 1},
    {"Squeeze", 1},  // axes as an attribute until opset 13: both forms are read
    {"Tanh", 1},
    {"Transpose", 1},
    {"Unsqueeze", 1},
    // Selu-1 defaults to alpha 1.6732, gamma 1.0507; Selu-6 to the exact SELU constants.
    {"Selu", 6},
    // Ops introduced after opset 7.
    {"Celu", 12},
    {"HardSwish", 14},
    {"LayerNormalization", 17},
};

}  // namespace

int64_t FirstImportOpset(absl::string_view op_type) {
  for (const FirstOpset& f : kFirstOpsets) {
    if (op_type == f.op_type) return f.opset;
  }
  return kDefaultFirstOpset;
}

absl::Status CheckOpVersion(const onnx::NodeProto& node, int64_t opset) {
  const int64_t first = FirstImportOpset(node.op_type());
  if (opset >= first) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat(NodeLabel(node), ": opset ", opset,
                                               " is not supported for ", node.op_type(),
                                               " (read from opset ", first, " on)"));
}

}  // namespace structprune::internal
