// 2-D pooling over [N, C, H, W] or [C, H, W]: MaxPool2d and AvgPool2d (kernel, stride, padding,
// ceil_mode) and AdaptiveAvgPool2d / AdaptiveMaxPool2d (output_size), module and functional.
#ifndef STRUCTPRUNE_OPS_POOLING_H_
#define STRUCTPRUNE_OPS_POOLING_H_

#include <array>
#include <cstdint>

#include "graph/attr.h"
#include "ops/op_def.h"

namespace structprune {

// {h, w} pairs. A stride of {0, 0} means "not given": the stride is kernel_size (PyTorch's
// stride=None; an absent attribute or an empty list read back the same way).
struct MaxPool2dAttrs {
  std::array<int64_t, 2> kernel_size = {0, 0};
  std::array<int64_t, 2> stride = {0, 0};
  std::array<int64_t, 2> padding = {0, 0};
  std::array<int64_t, 2> dilation = {1, 1};
  bool ceil_mode = false;
  AttrMap ToAttrs() const;
};

struct AvgPool2dAttrs {
  std::array<int64_t, 2> kernel_size = {0, 0};
  std::array<int64_t, 2> stride = {0, 0};
  std::array<int64_t, 2> padding = {0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;
  int64_t divisor_override = 0;  // 0: none (divide by the window size)
  AttrMap ToAttrs() const;
};

// PyTorch requires output_size; {1, 1} (global pooling) is only this struct's default.
struct AdaptivePool2dAttrs {
  std::array<int64_t, 2> output_size = {1, 1};
  AttrMap ToAttrs() const;
};

// All four: input [N, C, H, W] or [C, H, W] with non-zero C, H, W -> output of the same rank.
// MaxPool2d / AvgPool2d: output size per PyTorch's rule, including ceil_mode's "the last
// window starts inside the input or its left padding"; padding at most half the kernel.
// AvgPool2d with count_include_pad divides by the window clipped to the padded input.
// Adaptive: output window i covers [floor(i * in / out), ceil((i + 1) * in / out)).
// Max pooling propagates NaN. return_indices=true is Unimplemented.
extern const OpDef kMaxPool2dOp;
extern const OpDef kAvgPool2dOp;
extern const OpDef kAdaptiveAvgPool2dOp;
extern const OpDef kAdaptiveMaxPool2dOp;

namespace internal {
// The attributes of any of the four (validated by the op's infer when read for a kernel).
struct PoolParams {
  bool is_max = false;
  bool is_adaptive = false;
  std::array<int64_t, 2> kernel = {0, 0};
  std::array<int64_t, 2> stride = {0, 0};
  std::array<int64_t, 2> padding = {0, 0};
  std::array<int64_t, 2> dilation = {1, 1};
  bool ceil_mode = false;
  bool count_include_pad = true;
  int64_t divisor_override = 0;  // 0: none
  std::array<int64_t, 2> output_size = {0, 0};  // adaptive only
};
absl::StatusOr<PoolParams> ReadPoolParams(OpKind kind, const AttrMap& attrs);
}  // namespace internal

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_POOLING_H_
