// reshape: torch.reshape(input, shape), a view of the input with another shape.
#ifndef STRUCTPRUNE_OPS_RESHAPE_H_
#define STRUCTPRUNE_OPS_RESHAPE_H_

#include <cstdint>
#include <vector>

#include "graph/attr.h"
#include "ops/op_def.h"

namespace structprune {

struct ReshapeAttrs {
  std::vector<int64_t> shape;  // at most one -1 (inferred); other sizes >= 0
  AttrMap ToAttrs() const;
};

// torch.reshape(input, shape): attribute `shape` with PyTorch's rules (-1 takes the remaining
// elements, 0 is a dim of size 0). The output shares the input's storage. InvalidArgument
// naming the node when `shape` is missing, has more than one -1 or another negative size, or
// does not hold the input's element count.
extern const OpDef kReshapeOp;

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_RESHAPE_H_
