// The 21 activations of activation_list.def: one OpDef for their module and functional forms,
// and the scalar function that the kernel, bias folding and AnyActivation() share.
#ifndef STRUCTPRUNE_OPS_ACTIVATIONS_H_
#define STRUCTPRUNE_OPS_ACTIVATIONS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "graph/attr.h"
#include "ops/op_def.h"

namespace structprune {

// Every activation parameter under PyTorch's attribute name, with PyTorch's default. Only the
// fields of the activation at hand are read from attributes; the others keep their defaults.
struct ActivationParams {
  double negative_slope = 0.01;  // LeakyReLU
  double min_val = -1.0;         // Hardtanh (ReLU6: 0)
  double max_val = 1.0;          // Hardtanh (ReLU6: 6)
  double alpha = 1.0;            // ELU, CELU; SELU (default kSeluAlpha); Hardsigmoid (1/6)
  double scale = 1.0507009873554804934193349852946;  // SELU (PyTorch's fixed constants)
  double lambd = 0.5;            // Hardshrink
  double beta = 1.0;             // Softplus; Hardsigmoid (0.5)
  double threshold = 20.0;       // Softplus: x * beta > threshold gives x
  double lower = 1.0 / 8.0;      // RReLU: eval slope (lower + upper) / 2
  double upper = 1.0 / 3.0;
  bool approximate_tanh = false;  // GELU approximate="tanh" (default "none": erf)
  int64_t num_parameters = 1;     // PReLU module: weight [num_parameters]
  double init = 0.25;             // PReLU module: initial slope
};

// Reads the attributes of activation `kind` (module attributes or functional keyword arguments).
// Defaults are per activation: SELU's alpha and scale are PyTorch's constants, Hardsigmoid's
// alpha (slope) and beta (offset) are 1/6 and 0.5 (PyTorch's relu6(x + 3) / 6); other values
// are ONNX's Selu / HardSigmoid generalizations, max(0, min(1, alpha * x + beta)).
// InvalidArgument for a wrongly typed attribute, an unknown GELU `approximate`, CELU alpha = 0,
// RReLU lower > upper or PReLU num_parameters < 1; Unimplemented for training-mode RReLU.
// The message names the attribute, not the node (OpDef::infer adds the node).
absl::StatusOr<ActivationParams> ReadActivationParams(OpKind kind, const AttrMap& attrs);

// f(x) as PyTorch computes it in float. For PReLU `prelu_weight` is the slope of x's channel.
// `kind` must be an activation (IsActivation(kind)); other kinds return x.
float ApplyActivationScalar(OpKind kind, const ActivationParams& params, float x,
                            float prelu_weight = 0.25f);

// Input any shape -> output of the same shape. PReLU's slope applies per channel along dim 1
// (one channel for inputs of fewer than 2 dims, as in PyTorch); its module holds
// weight [num_parameters], its functional form takes the weight as the second input. A
// functional weight of 2+ dims broadcasts element-wise to the input instead (the slope of ONNX
// PRelu and torch._prelu_kernel): InvalidArgument naming the node when it does not.
extern const OpDef kActivationOp;

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_ACTIVATIONS_H_
