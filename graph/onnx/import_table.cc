// THE table of ONNX forms the importer understands, in priority order: for one anchor op the
// longer (decomposed) forms come before the forms they contain. Adding a form is one row here
// and its matcher in import_*.cc.
#include <algorithm>
#include <set>

#include "absl/strings/str_join.h"
#include "graph/onnx/import_patterns.h"

namespace structprune::internal {
namespace {

constexpr ImportPattern kPatterns[] = {
    // LSTM stacks, matched first: Transpose? -> LSTM -> Squeeze(1) [-> LSTM -> Squeeze]*
    // -> Transpose?, Concat of each layer's Y_h / Y_c, zero initial states (Expand of zeros).
    {"LSTM", "LSTM layers -> nn.LSTM (num_layers, batch_first)", true, &MatchLstm},

    // Layers.
    {"Gemm",
     "Gemm(x, B, C) -> nn.Linear (alpha, beta, transB folded in; transA=1: x.t(); C [M, N]: "
     "+ C after it)",
     false, &MatchGemm},
    {"Add", "Add(MatMul(x, W), b) -> nn.Linear", false, &MatchMatMulAdd},
    {"MatMul", "MatMul(x, W) -> nn.Linear(bias=False), any other MatMul -> matmul", false,
     &MatchMatMul},
    {"Conv", "Conv (2-D, symmetric pads) -> nn.Conv2d", false, &MatchConv},
    {"BatchNormalization",
     "BatchNormalization -> nn.BatchNorm2d (training_mode=1: onnx_training_mode, the updated "
     "running statistics as outputs 1 and 2)",
     false, &MatchBatchNorm},
    {"LayerNormalization", "LayerNormalization -> nn.LayerNorm", false, &MatchLayerNorm},
    {"Add", "Add(Mul(Div(Sub(x, ReduceMean), Sqrt(Add(ReduceMean(Pow), eps))), w), b) -> LayerNorm",
     false, &MatchDecomposedLayerNorm},
    {"Mul", "Mul(Div(...), w) -> nn.LayerNorm(bias=False)", false, &MatchDecomposedLayerNorm},
    {"Div", "Div(Sub(x, ReduceMean), Sqrt(...)) -> LayerNorm(elementwise_affine=False)", false,
     &MatchDecomposedLayerNorm},

    // Pools and shape ops.
    {"MaxPool",
     "MaxPool (1-D to 3-D) -> MaxPool1d/2d/3d / max_pool1d/2d/3d (Indices used: "
     "return_indices, flat_indices)",
     false, &MatchMaxPool},
    {"AveragePool", "[Pad ->] AveragePool (1-D to 3-D) -> AvgPool1d/2d/3d / avg_pool1d/2d/3d",
     false, &MatchAveragePool},
    {"GlobalAveragePool", "GlobalAveragePool -> AdaptiveAvgPool2d(1)", false, &MatchGlobalPool},
    {"GlobalMaxPool", "GlobalMaxPool -> AdaptiveMaxPool2d(1)", false, &MatchGlobalPool},
    {"Flatten", "Flatten(axis 1 to rank - 1) -> Flatten / flatten (twice for an inner axis)", false,
     &MatchFlatten},
    {"Reshape", "Reshape that merges adjacent dims -> flatten, else -> reshape", false,
     &MatchReshape},
    {"Concat", "Concat -> cat", false, &MatchConcat},
    {"Identity", "Identity -> its input", false, &MatchIdentity},
    {"Dropout",
     "Dropout (inference, or training with ratio 0) -> its input; mask used -> "
     "dropout(return_mask=True); training -> dropout(training=True, seed: numpy's stream)",
     false, &MatchIdentity},

    // Activations as PyTorch 1.13 writes them (decomposed forms first).
    {"Mul", "Mul(x, Sigmoid(x)) -> SiLU", false, &MatchSilu},
    {"Mul", "Mul(x, Tanh(Softplus(x))) -> Mish", false, &MatchMish},
    {"Mul", "Mul(x, HardSigmoid(x)) -> Hardswish", false, &MatchHardswishMul},
    {"Mul", "Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5) -> GELU", false, &MatchGeluErf},
    {"Mul", "0.5 x (1 + Tanh(sqrt(2/pi) (x + 0.044715 x^3))) -> GELU(approximate='tanh')", false,
     &MatchGeluTanh},
    {"Div", "Div(x, Add(Abs(x), 1)) -> Softsign", false, &MatchSoftsignDiv},
    {"Div", "Div(Softplus(Mul(x, beta)), beta) -> Softplus(beta)", false, &MatchSoftplusBeta},
    {"Log", "Log(Sigmoid(x)) -> LogSigmoid", false, &MatchLogSigmoidLog},
    {"Neg", "Neg(Softplus(Neg(x))) -> LogSigmoid", false, &MatchLogSigmoidNeg},
    {"Sub", "Sub(x, Tanh(x)) -> Tanhshrink", false, &MatchTanhshrink},
    {"Where", "Where(Or(Greater(x, l), Less(x, -l)), x, 0) -> Hardshrink", false,
     &MatchHardshrinkWhere},
    {"Clip", "Clip(Relu(x), 0, 6) -> relu6", false, &MatchReluClip},
    {"Clip", "Clip(x[, min][, max]) -> ReLU6 / ReLU / Hardtanh / its input", false, &MatchClip},
    {"PRelu", "PRelu(x, slope per channel) -> PReLU, other slopes -> prelu(x, slope)", false,
     &MatchPRelu},
    {"Relu", "Relu -> ReLU", false, &MatchSimpleActivation},
    {"LeakyRelu", "LeakyRelu -> LeakyReLU", false, &MatchSimpleActivation},
    {"Sigmoid", "Sigmoid -> Sigmoid", false, &MatchSimpleActivation},
    {"HardSigmoid", "HardSigmoid(1/6, 0.5) -> Hardsigmoid", false, &MatchSimpleActivation},
    {"HardSwish", "HardSwish -> Hardswish", false, &MatchSimpleActivation},
    {"Tanh", "Tanh -> Tanh", false, &MatchSimpleActivation},
    {"Elu", "Elu -> ELU", false, &MatchSimpleActivation},
    {"Celu", "Celu -> CELU", false, &MatchSimpleActivation},
    {"Selu", "Selu -> SELU", false, &MatchSimpleActivation},
    {"Softplus", "Softplus -> Softplus", false, &MatchSimpleActivation},
    {"Softsign", "Softsign -> Softsign", false, &MatchSimpleActivation},
    {"Shrink", "Shrink(bias=0) -> Hardshrink", false, &MatchSimpleActivation},
    {"Add",
     "Add(a, b) -> add (a constant operand read with get_attr; INT8 / UINT8 operands: "
     "wrap_to)",
     false, &MatchAdd},
    {"Transpose", "Transpose swapping two dims -> transpose", false, &MatchTranspose},
};

// The inputs the matchers read as constants (inputs first..last of op_type): weights, biases,
// statistics, bounds, ratios and target shapes. Operands that are constants only inside some
// forms (the bias of MatMul + Add, the affine of a decomposed LayerNorm) are not listed.
struct ConstantOperands {
  const char* op_type;
  int first, last;
};

constexpr ConstantOperands kConstantOperands[] = {
    {"BatchNormalization", 1, 4},  // scale, B, input_mean, input_var
    {"Clip", 1, 2},                // min, max
    {"Conv", 1, 2},                // W, B
    {"Dropout", 1, 2},             // ratio, training_mode
    {"Gemm", 1, 2},                // B, C
    {"LayerNormalization", 1, 2},  // Scale, B
    {"LSTM", 1, 4},                // W, R, B, sequence_lens
    {"LSTM", 7, 7},                // P
    {"MatMul", 1, 1},              // B (the Linear's weight)
    {"Pad", 1, 3},                 // pads, constant_value, axes (before an AveragePool)
    {"PRelu", 1, 1},               // slope
    {"Reshape", 1, 1},             // shape
};

}  // namespace

absl::Span<const ImportPattern> ImportPatterns() { return kPatterns; }

bool IsConstantOperand(absl::string_view op_type, int input) {
  for (const ConstantOperands& c : kConstantOperands) {
    if (op_type == c.op_type && input >= c.first && input <= c.last) return true;
  }
  return false;
}

std::string SupportedOnnxOpList() {
  std::set<std::string> ops;
  for (const ImportPattern& p : kPatterns) ops.insert(p.anchor_op);
  return absl::StrJoin(ops, ", ");
}

}  // namespace structprune::internal
