// transpose: torch.transpose(input, dim0, dim1), a copy with two dims swapped.
#ifndef STRUCTPRUNE_OPS_TRANSPOSE_H_
#define STRUCTPRUNE_OPS_TRANSPOSE_H_

#include <cstdint>

#include "graph/attr.h"
#include "ops/op_def.h"

namespace structprune {

struct TransposeAttrs {
  int64_t dim0 = 0;
  int64_t dim1 = 1;
  AttrMap ToAttrs() const;
};

// torch.transpose(input, dim0, dim1) (x.t() is transpose(x, 0, 1)): dims dim0 and dim1
// (negative counts from the end; a 0-D input accepts 0 and -1) swapped. The output is a
// contiguous copy. InvalidArgument naming the node for a dim out of range.
extern const OpDef kTransposeOp;

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_TRANSPOSE_H_
