// The op variants pruning refuses outright: their results cannot be kept equal between the
// masked and the pruned model, or they hold per-channel state no prune function slices.
#ifndef STRUCTPRUNE_PRUNING_UNPRUNABLE_OPS_H_
#define STRUCTPRUNE_PRUNING_UNPRUNABLE_OPS_H_

#include "absl/status/status.h"
#include "graph/graph_module.h"

namespace structprune {

// OK unless the graph calls one of:
// - dropout in training mode: its mask is random (and a seeded mask depends on the shape, which
//   pruning changes), so masked and pruned outputs cannot be compared;
// - BatchNorm2d with onnx_training_mode: it returns running statistics of the channel count;
// - LSTM with peepholes (ONNX's P): no prune function slices the peephole weights;
// - add with wrap_to: its operands are 8-bit integers (ONNX INT8 / UINT8), not float channels.
// Unimplemented naming the node and the variant otherwise.
absl::Status CheckNoUnprunableOps(const GraphModule& model);

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_UNPRUNABLE_OPS_H_
