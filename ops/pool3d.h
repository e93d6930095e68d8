// 3-D pooling over [N, C, D, H, W] or [C, D, H, W]: nn.MaxPool3d and nn.AvgPool3d (kernel,
// stride, padding or per-side pads, dilation for max, ceil_mode, count_include_pad and
// divisor_override for average), module and functional. A reference kernel; the window
// arithmetic is the 2-D pools' (ops/pooling.h) along three axes.
#ifndef STRUCTPRUNE_OPS_POOL3D_H_
#define STRUCTPRUNE_OPS_POOL3D_H_

#include <array>
#include <cstdint>

#include "graph/attr.h"
#include "ops/op_def.h"

namespace structprune {

// {d, h, w} triples; an int attribute means the same value on every axis. A stride of
// {0, 0, 0} (or absent / []) means kernel_size. `pads` {d, h, w begins, d, h, w ends}
// (ONNX's order) replaces `padding` where PyTorch's symmetric padding of at most half the
// kernel cannot say it; all zeros (the default) means "use padding".
struct Pool3dAttrs {
  std::array<int64_t, 3> kernel_size = {0, 0, 0};
  std::array<int64_t, 3> stride = {0, 0, 0};
  std::array<int64_t, 3> padding = {0, 0, 0};
  std::array<int64_t, 6> pads = {0, 0, 0, 0, 0, 0};
  std::array<int64_t, 3> dilation = {1, 1, 1};  // MaxPool3d only
  bool ceil_mode = false;
  bool count_include_pad = true;  // AvgPool3d only
  int64_t divisor_override = 0;   // AvgPool3d only; 0: none
  AttrMap ToAttrs(OpKind kind) const;
};

// Input [N, C, D, H, W] or [C, D, H, W] with non-zero C, D, H, W -> the same rank, PyTorch's
// output size per axis (ceil_mode's last window starts inside the input or its begin padding);
// padding at most half the kernel, `pads` below the window's extent. Max pooling propagates
// NaN; AvgPool3d with count_include_pad divides by the window clipped to the padded input.
// return_indices=true is Unimplemented.
extern const OpDef kMaxPool3dOp;
extern const OpDef kAvgPool3dOp;

namespace internal {
// The attributes as read by the op (stride resolved, pads split into begin and end).
struct Pool3dParams {
  bool is_max = false;
  bool has_pads = false;
  std::array<int64_t, 3> kernel{}, stride{}, padding{}, padding_end{}, dilation{1, 1, 1};
  bool ceil_mode = false;
  bool count_include_pad = true;
  int64_t divisor_override = 0;
};
absl::StatusOr<Pool3dParams> ReadPool3dParams(OpKind kind, const AttrMap& attrs);
}  // namespace internal

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_POOL3D_H_
