// Conv2d on oneDNN: one primitive per layer and input shape, weights reordered once into the
// layout the primitive prefers.
#ifndef STRUCTPRUNE_OPS_ONEDNN_CONV_H_
#define STRUCTPRUNE_OPS_ONEDNN_CONV_H_

#include <memory>

#include "absl/status/statusor.h"
#include "ops/conv2d.h"
#include "ops/op_def.h"

namespace structprune::internal {

// Unimplemented when oneDNN cannot take the case (the caller runs the reference kernel).
absl::StatusOr<std::unique_ptr<Kernel>> CreateOnednnConv2d(const Conv2dGeometry& g,
                                                           const Tensor& weights,
                                                           const Tensor& bias);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_OPS_ONEDNN_CONV_H_
