// Element-wise binary ops with NumPy / PyTorch broadcasting: add.
#ifndef STRUCTPRUNE_OPS_ELEMENTWISE_H_
#define STRUCTPRUNE_OPS_ELEMENTWISE_H_

#include "ops/op_def.h"

namespace structprune {

// torch.add(input, other, alpha=1) (and `input + other`): two tensor inputs, output
// input + alpha * other with the broadcast shape (trailing dims aligned; each pair of sizes
// equal or one of them 1). InvalidArgument naming both shapes when they do not broadcast.
extern const OpDef kAddOp;

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_ELEMENTWISE_H_
