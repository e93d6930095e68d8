// Normalization: LayerNorm over the trailing dimensions, BatchNorm2d in inference (eval) mode.
#ifndef STRUCTPRUNE_OPS_NORMS_H_
#define STRUCTPRUNE_OPS_NORMS_H_

#include <cstdint>
#include <vector>

#include "graph/attr.h"
#include "ops/op_def.h"

namespace structprune {

struct LayerNormAttrs {
  std::vector<int64_t> normalized_shape;
  double eps = 1e-5;
  bool elementwise_affine = true;
  bool bias = true;  // PyTorch 2.1's LayerNorm(bias=False)
  // The result is (output, mean, rstd) as torch.native_layer_norm returns it (ONNX's
  // LayerNormalization Y, Mean, InvStdDev); written only when true.
  bool return_stats = false;
  AttrMap ToAttrs() const;
};

// nn.LayerNorm: parameters weight (ones) and bias (zeros), both of shape normalized_shape, when
// elementwise_affine. F.layer_norm(input, normalized_shape, weight, bias, eps): attributes
// normalized_shape and eps, optional weight and bias as inputs 1 and 2.
// Input [*, normalized_shape...] -> same shape; mean and biased variance over the trailing
// dims, y = (x - mean) / sqrt(var + eps) * weight + bias. With return_stats (module attribute
// or keyword argument) the result is the tuple (y, mean, rstd), mean and rstd = 1 / sqrt(var +
// eps) of shape [*, 1, ..., 1] (the normalized dims kept as 1), the statistics y was computed
// with (in double, rounded to float).
extern const OpDef kLayerNormOp;

struct BatchNorm2dAttrs {
  int64_t num_features = 0;
  double eps = 1e-5;
  double momentum = 0.1;  // used by onnx_training_mode only (unused in eval)
  bool affine = true;
  bool track_running_stats = true;
  // ONNX BatchNormalization(training_mode=1): normalize with the batch's statistics and return
  // (y, running_mean', running_var') where running' = (1 - momentum) * running + momentum *
  // batch, the batch variance being the biased (population) one as ONNX specifies (PyTorch's
  // own training update uses the unbiased variance). The module's buffers are not changed.
  bool onnx_training_mode = false;
  AttrMap ToAttrs() const;
};

// nn.BatchNorm2d in eval mode: input [N, C, H, W] (4-D only, as PyTorch), C = num_features;
// parameters weight (ones) and bias (zeros) when affine, buffers running_mean (zeros) and
// running_var (ones) when track_running_stats. y = (x - mean) / sqrt(var + eps) * weight + bias
// per channel, with the running statistics; without them PyTorch normalizes with the batch's
// statistics even in eval mode, and so do we (more than one value per channel required).
// F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps): inputs
// [x [N, C, *], running_mean [C], running_var [C], (weight [C], (bias [C]))], attributes
// training (default false: running statistics; true: batch statistics, running ones not
// updated), momentum, eps.
extern const OpDef kBatchNorm2dOp;

namespace internal {
struct BatchNormParams {
  int64_t channels = 0;
  double eps = 1e-5;
  bool batch_stats = false;  // normalize with the batch's statistics
  bool onnx_training_mode = false;  // also return the updated running statistics (ONNX's way)
  double momentum = 0.1;
  // Module form (undefined when absent); the functional form reads them from its inputs.
  Tensor weight, bias, running_mean, running_var;
};
absl::StatusOr<BatchNormParams> ReadBatchNormParams(const OpCall& call);
}  // namespace internal

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_NORMS_H_
