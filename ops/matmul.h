// matmul: torch.matmul (NumPy matmul) of two tensors, batched with broadcasting.
#ifndef STRUCTPRUNE_OPS_MATMUL_H_
#define STRUCTPRUNE_OPS_MATMUL_H_

#include "ops/op_def.h"

namespace structprune {

// torch.matmul(input, other): 1-D x 1-D is a dot product (a 0-D output); a 1-D input gets a
// leading (other: trailing) dim of size 1 that the output drops; otherwise the last two dims
// multiply ([.., M, K] x [.., K, N] -> [.., M, N]) and the leading (batch) dims broadcast
// (NumPy rules). InvalidArgument naming both shapes for a 0-D operand, inner dims that differ
// or batch dims that do not broadcast.
extern const OpDef kMatmulOp;

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_MATMUL_H_
