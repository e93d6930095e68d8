// A fused oneDNN region: a run of graph nodes (Conv2d, Linear, BatchNorm2d, the activations
// oneDNN computes, add, pools, channel cat, flatten, identity/dropout) executed as oneDNN
// primitives. Inside a region activations stay in the blocked layouts oneDNN prefers,
// BatchNorm is folded into the conv before it, and activations and residual adds ride on the
// producing conv or linear as post-ops. Only the region's last node leaves it, in the plain
// row-major layout the rest of the engine uses. Buffers are planned once from the nodes'
// liveness, so a run allocates nothing.
#ifndef STRUCTPRUNE_OPS_ONEDNN_REGION_H_
#define STRUCTPRUNE_OPS_ONEDNN_REGION_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/shape.h"
#include "ops/op_def.h"

namespace structprune::internal {

struct RegionNode {
  OpCall call;            // kind, name, attributes, module and input infos (infer succeeded)
  std::vector<int> args;  // >= 0: an earlier node of the region; < 0: region input -1 - k
  Shape output;
};

// Whether a validated call (whose output has shape `output`) can join a region: its kind and
// attributes have a oneDNN form with PyTorch's exact semantics.
bool RegionSupports(const OpCall& call, const Shape& output);
// Whether a node of this kind does work worth a region (flatten or identity alone is not).
bool RegionComputes(OpKind kind);

// Compiles `nodes` (topological order; the last one is the region's output) over inputs of
// `input_shapes`. Unimplemented when oneDNN refuses a node: the caller then runs the nodes one
// by one with their own kernels.
absl::StatusOr<std::unique_ptr<Kernel>> CreateOnednnRegion(std::vector<Shape> input_shapes,
                                                           std::vector<RegionNode> nodes,
                                                           int num_threads);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_OPS_ONEDNN_REGION_H_
