// Element-wise binary ops with NumPy / PyTorch broadcasting: add.
#ifndef STRUCTPRUNE_OPS_ELEMENTWISE_H_
#define STRUCTPRUNE_OPS_ELEMENTWISE_H_

#include "ops/op_def.h"

namespace structprune {

// torch.add(input, other, alpha=1) (and `input + other`): two tensor inputs, output
// input + alpha * other with the broadcast shape (trailing dims aligned; each pair of sizes
// equal or one of them 1). InvalidArgument naming both shapes when they do not broadcast.
// Attribute wrap_to ("int8" or "uint8"; absent: plain float addition): the operands hold
// integers of that type (ONNX's 8-bit tensors, exact in float32) and the sum wraps modulo 2^8
// into the type's range as ONNX's (numpy's) integer Add does: uint8 200 + 100 = 44, int8
// 100 + 100 = -56. A non-integer sum is rounded to the nearest integer first.
extern const OpDef kAddOp;

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_ELEMENTWISE_H_
