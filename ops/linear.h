// Linear: y = x W^T + b over the last dimension (nn.Linear / F.linear).
#ifndef STRUCTPRUNE_OPS_LINEAR_H_
#define STRUCTPRUNE_OPS_LINEAR_H_

#include "ops/op_def.h"

namespace structprune {

struct LinearAttrs {
  int64_t in_features = 0;
  int64_t out_features = 0;
  bool bias = true;
  static OpKind Kind();
  AttrMap ToAttrs() const;
};

// Module parameters: weight [out_features, in_features], bias [out_features] (optional).
// Input [*, in_features] -> output [*, out_features].
extern const OpDef kLinearOp;

namespace internal {
struct LinearParams {
  int64_t in_features, out_features;
  Tensor weight;  // [OC, IC]
  Tensor bias;    // [OC] or undefined
};
absl::StatusOr<LinearParams> ReadLinearParams(const OpCall& call);
}  // namespace internal

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_LINEAR_H_
