// 2-D pooling over [N, C, H, W] or [C, H, W]: MaxPool2d and AvgPool2d (kernel, stride, padding
// or per-side pads, ceil_mode) and AdaptiveAvgPool2d / AdaptiveMaxPool2d (output_size), module
// and functional; MaxPool1d / AvgPool1d over [N, C, L] or [C, L], run as 2-D windows of height 1.
#ifndef STRUCTPRUNE_OPS_POOLING_H_
#define STRUCTPRUNE_OPS_POOLING_H_

#include <array>
#include <cstdint>
#include <vector>

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
  // The result is (output, indices): int64 positions of each window's maximum within its
  // (n, c) plane (h * W + w), as PyTorch's; with flat_indices, within the whole input
  // ((n * C + c) * H * W + h * W + w), ONNX MaxPool's Indices; column_major_indices counts
  // w * H + h within the plane (ONNX's storage_order 1).
  bool return_indices = false;
  bool flat_indices = false;
  bool column_major_indices = false;
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
  bool return_indices = false;  // MaxPool1d, as MaxPool2dAttrs
  bool flat_indices = false;
  bool column_major_indices = false;
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
// window holds an input element. Max pooling propagates NaN. MaxPool2d / MaxPool1d with
// return_indices (and flat_indices, see MaxPool2dAttrs; 1-D: positions l, or (n * C + c) * L + l)
// give (output, indices int64); AdaptiveMaxPool2d's return_indices is Unimplemented.
// MaxPool1d / AvgPool1d: [N, C, L] or [C, L], PyTorch's 1-D rules.
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
  bool return_indices = false;        // max pools: the result is (output, indices)
  bool flat_indices = false;          // indices into the whole input, not each plane
  bool column_major_indices = false;  // within a plane w * H + h
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

// Shared with the 3-D pools (ops/pool3d.h). PyTorch's output size along one axis (with the two
// pads apart): floor (or ceil_mode's ceil) of the window count, the last window starting
// inside the input or its begin padding.
int64_t PoolOutputSize(int64_t in, int64_t kernel, int64_t pad_begin, int64_t pad_end,
                       int64_t stride, int64_t dilation, bool ceil_mode);
// One output position along one axis: input positions start + k * dilation for k in
// [k_begin, k_end) (the part inside the input), and the window's extent clipped to the padded
// input, which an average pool with count_include_pad divides by.
struct PoolAxisWindow {
  int64_t start = 0;
  int64_t k_begin = 0, k_end = 0;
  int64_t padded_extent = 0;
};
std::vector<PoolAxisWindow> SlidingWindows(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                           int64_t pad_begin, int64_t pad_end, int64_t dilation);
// Whether an average pool maps a constant plane to a non-constant one: windows that count zero
// padding (any side, or ceil_mode's partial windows), or a divisor override.
bool AvgPoolVariesOnConstant(const PoolParams& p);
}  // namespace internal

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_POOLING_H_
