// dropout: nn.Dropout / F.dropout. At inference the input itself; in training mode a random
// mask, which with a seed is ONNX Dropout's: numpy's legacy MT19937 stream.
#ifndef STRUCTPRUNE_OPS_DROPOUT_H_
#define STRUCTPRUNE_OPS_DROPOUT_H_

#include <cstdint>
#include <optional>

#include "graph/attr.h"
#include "ops/op_def.h"

namespace structprune {

struct DropoutAttrs {
  double p = 0.5;
  bool training = false;
  bool return_mask = false;  // result (output, mask): ONNX Dropout's mask output
  // Training mode only. ONNX Dropout's `seed` attribute: the mask draws numpy's legacy stream,
  // as ONNX's reference (np.random.seed(seed); np.random.uniform(0, 1, shape) >= p) does.
  // Absent: each run draws a fresh seed from std::random_device.
  std::optional<int64_t> seed = std::nullopt;
  AttrMap ToAttrs() const;
};

// One float tensor in; p must lie in [0, 1]. Inference (training=false): the output is the
// input itself; with return_mask, the tuple (input, mask) where mask is a bool tensor of the
// input's shape, all true. Training: element i is kept when u_i >= p, u_i the i-th (row-major)
// uniform double in [0, 1) of the stream, and scaled by 1 / (1 - p) (in float32, as ONNX's
// reference computes it); dropped elements are 0, and p = 1 drops all. The stream is numpy's
// legacy RandomState(seed): MT19937 seeded with init_genrand(seed), each double made of two
// 32-bit draws a, b as ((a >> 5) * 2^26 + (b >> 6)) / 2^53. A seed outside [0, 2^32 - 1]
// (numpy refuses it) is InvalidArgument.
extern const OpDef kDropoutOp;

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_DROPOUT_H_
