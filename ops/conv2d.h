// Conv2d (nn.Conv2d / F.conv2d): stride, padding, dilation, groups (incl. depthwise), bias.
#ifndef STRUCTPRUNE_OPS_CONV2D_H_
#define STRUCTPRUNE_OPS_CONV2D_H_

#include <array>

#include "ops/op_def.h"

namespace structprune {

struct Conv2dAttrs {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  std::array<int64_t, 2> kernel_size = {1, 1};
  std::array<int64_t, 2> stride = {1, 1};
  std::array<int64_t, 2> padding = {0, 0};
  std::array<int64_t, 2> dilation = {1, 1};
  int64_t groups = 1;
  bool bias = true;
  static OpKind Kind();
  AttrMap ToAttrs() const;
};

// Everything a kernel needs: shapes are [N, IC, IH, IW] -> [N, OC, OH, OW],
// weights [OC, IC/groups, KH, KW], row-major.
struct Conv2dGeometry {
  int64_t N, IC, IH, IW, OC, OH, OW, KH, KW;
  int64_t SH, SW, PH, PW, DH, DW, groups;
};

// Module parameters: weight [OC, IC/groups, KH, KW], bias [OC] (optional).
// Input [N, IC, H, W] or unbatched [IC, H, W].
extern const OpDef kConv2dOp;

namespace internal {
// For kernels built outside this file (fused oneDNN regions). Both expect a validated call.
struct Conv2dParams {
  Conv2dAttrs attrs;
  Tensor weight;  // [OC, IC/groups, KH, KW]
  Tensor bias;    // [OC] or undefined
};
absl::StatusOr<Conv2dParams> ReadConv2dParams(const OpCall& call);
absl::StatusOr<Conv2dGeometry> Conv2dGeometryOf(const OpCall& call, const Conv2dAttrs& attrs);
}  // namespace internal

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_CONV2D_H_
