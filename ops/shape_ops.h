// Shape ops: flatten (a view), getitem (a tuple item), cat (a copy), identity (the input
// itself).
#ifndef STRUCTPRUNE_OPS_SHAPE_OPS_H_
#define STRUCTPRUNE_OPS_SHAPE_OPS_H_

#include <cstdint>
#include <memory>

#include "graph/attr.h"
#include "ops/op_def.h"

namespace structprune {

// nn.Flatten's defaults. torch.flatten (the functional form) defaults to start_dim 0.
struct FlattenAttrs {
  int64_t start_dim = 1;
  int64_t end_dim = -1;
  AttrMap ToAttrs() const;
};

// Merges dims start_dim..end_dim (negative dims count from the end) into one; a 0-D input
// becomes [1] (torch.flatten). The output shares the input's storage.
extern const OpDef kFlattenOp;
// getitem(tuple, index): attribute `index` (negative counts from the end); the output is that
// item (a tensor or a tuple), shared with the input. InvalidArgument when the input is a tensor.
extern const OpDef kGetItemOp;
// torch.cat(tensors, dim=0): inputs of equal rank whose sizes match except along `dim`
// (negative counts from the end). As in PyTorch, 1-D empty inputs ([0]) are skipped.
extern const OpDef kCatOp;
// Identity: the output is the input itself (a tensor or a tuple). Dropout: ops/dropout.h.
extern const OpDef kIdentityOp;

namespace internal {
// A kernel whose output is its input viewed with `shape` (same element count): flatten, reshape.
std::unique_ptr<Kernel> MakeViewKernel(Shape shape);
}  // namespace internal

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_SHAPE_OPS_H_
