// Which ONNX opsets the importer reads, op by op. A model's opset selects, for every op, its
// newest version not above it; the importer reads opsets kMinImportOpset..kMaxOnnxOpset, each op
// from the first opset whose version of it has the semantics the matchers implement. Where an op
// changed inside that range, its matcher reads both forms (Clip's bounds are attributes before
// opset 11, Dropout's ratio before 12, BatchNormalization's mode follows its outputs before 14).
#ifndef STRUCTPRUNE_GRAPH_ONNX_OP_VERSIONS_H_
#define STRUCTPRUNE_GRAPH_ONNX_OP_VERSIONS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "graph/onnx/proto.h"

namespace structprune::internal {

// The oldest opset a model may declare (ONNX's first); the newest is kMaxOnnxOpset.
inline constexpr int64_t kMinImportOpset = 1;

// The first opset at which the importer reads `op_type` (a default-domain op): 1 for the ops
// whose older versions differ only by legacy attributes without effect (consumed_inputs), the
// opset that introduced the op for the newer ones, and 7 for every other op (before opset 7,
// Add / Mul / Gemm broadcast only under a 'broadcast' attribute, and BatchNormalization and
// Dropout run in training mode unless is_test=1).
int64_t FirstImportOpset(absl::string_view op_type);

// OK when the importer reads `node` (a default-domain node) at model opset `opset`; otherwise
// Unimplemented "node '<name>' (<op>): opset <n> is not supported for <op> (read from opset
// <first> on)".
absl::Status CheckOpVersion(const onnx::NodeProto& node, int64_t opset);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_GRAPH_ONNX_OP_VERSIONS_H_
