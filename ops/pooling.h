// 2-D pooling over [N, C, H, W] or [C, H, W]: MaxPool2d and AvgPool2d (kernel, stride, padding
// or per-side pads, ceil_mode) and AdaptiveAvgPool2d / AdaptiveMaxPool2d (output_size), module
// and functional; MaxPool1d / AvgPool1d over [N, C, L] or [C, L], run as 2-D windows of height 1.
#ifndef STRUCTPRUNE_OPS_POOLING_H_
#define STRUCTPRUNE_OPS_POOLING_H_

#include <array>
#include <cstdint>

#include "graph/attr.h"
#include "ops/op_def.h"

namespace structprune {

// {h, w} pairs. A stride of {0, 0} means "not given": the stride is kernel_size (PyTorch's
// stride=None; an absent attribute or an empty list read back the same way).
// `pads` {top, left, bottom, right} (ONNX's order) replaces `padding` where PyTorch's symmetric
// padding of at most half the kernel cannot say it: asymmetric pads (auto_pad SAME_*) or pads
// up to the kernel's extent - 1. All zeros (the default) means "use padding"; written only when
// set, and then padding must be 0.
using PoolPads = std::array<int64_t, 4>;

struct MaxPool2dAttrs {
  std::array<int64_t, 2> kernel_size = {0, 0};
  std::array<int64_t, 2> stride = {0, 0};
  std::array<int64_t, 2> padding = {0, 0};
  PoolPads pads = {0, 0, 0, 0};
  std::array<int64_t, 2> dilation = {1, 1};
  bool ceil_mode = false;
  AttrMap ToAttrs() const;
};

struct AvgPool2dAttrs {
  std::array<int64_t, 2> kernel_size = {0, 0};
  std::array<int64_t, 2> stride = {0, 0};
  std::array<int64_t, 2> padding = {0, 0};
  PoolPads pads = {0, 0, 0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;
  int64_t divisor_override = 0;  // 0: none (divide by the window size)
  AttrMap ToAttrs() const;
};

// nn.MaxPool1d / nn.AvgPool1d: the same fields along L only (ints; a stride of 0 means
// kernel_size; `pads` {left, right}); dilation is MaxPool1d's, count_include_pad AvgPool1d's.
struct Pool1dAttrs {
  int64_t kernel_size = 0;
  int64_t stride = 0;
  int64_t padding = 0;
  int64_t dilation = 1;
  std::array<int64_t, 2> pads = {0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;
  AttrMap ToAttrs(OpKind kind) const;
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
// With `pads`, each pad is below the window's extent ((kernel - 1) * dilation + 1), so every
// window holds an input element. Max pooling propagates NaN. return_indices=true is
// Unimplemented. MaxPool1d / AvgPool1d: [N, C, L] or [C, L], PyTorch's 1-D rules.
extern const OpDef kMaxPool2dOp;
extern const OpDef kAvgPool2dOp;
extern const OpDef kMaxPool1dOp;
extern const OpDef kAvgPool1dOp;
extern const OpDef kAdaptiveAvgPool2dOp;
extern const OpDef kAdaptiveMaxPool2dOp;

namespace internal {
// The attributes of any of the six as a 2-D window (1-D: height 1), validated by the op's
// infer when read for a kernel.
struct PoolParams {
  bool is_max = false;
  bool is_adaptive = false;
  bool is_1d = false;
  bool has_pads = false;  // `pads` given (else padding_end == padding)
  std::array<int64_t, 2> kernel = {0, 0};
  std::array<int64_t, 2> stride = {0, 0};
  std::array<int64_t, 2> padding = {0, 0};      // top, left
  std::array<int64_t, 2> padding_end = {0, 0};  // bottom, right
  std::array<int64_t, 2> dilation = {1, 1};
  bool ceil_mode = false;
  bool count_include_pad = true;
  int64_t divisor_override = 0;  // 0: none
  std::array<int64_t, 2> output_size = {0, 0};  // adaptive only
};
absl::StatusOr<PoolParams> ReadPoolParams(OpKind kind, const AttrMap& attrs);
// Whether an average pool maps a constant plane to a non-constant one: windows that count zero
// padding (any side, or ceil_mode's partial windows), or a divisor override.
bool AvgPoolVariesOnConstant(const PoolParams& p);
}  // namespace internal

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_POOLING_H_
