// dropout at inference: nn.Dropout / F.dropout, the input itself; with return_mask the result
// is (input, mask) as torch.native_dropout(input, p, train=False) returns it.
#ifndef STRUCTPRUNE_OPS_DROPOUT_H_
#define STRUCTPRUNE_OPS_DROPOUT_H_

#include "graph/attr.h"
#include "ops/op_def.h"

namespace structprune {

struct DropoutAttrs {
  double p = 0.5;
  bool return_mask = false;  // result (output, mask): ONNX Dropout's mask output
  AttrMap ToAttrs() const;
};

// One float tensor in; p must lie in [0, 1]. training=true (random) is Unimplemented. The
// output is the input itself; with return_mask, the tuple (input, mask) where mask is a bool
// tensor of the input's shape, all true (inference keeps every element).
extern const OpDef kDropoutOp;

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_DROPOUT_H_
