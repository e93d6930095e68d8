// LSTM on oneDNN's LSTM primitive: one primitive per layer, weights reordered once into its
// layout, PyTorch's gate order (i, f, g, o) being oneDNN's too.
#ifndef STRUCTPRUNE_OPS_ONEDNN_LSTM_H_
#define STRUCTPRUNE_OPS_ONEDNN_LSTM_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/lstm.h"
#include "ops/op_def.h"

namespace structprune::internal {

// Unimplemented when oneDNN cannot take the case (the caller runs the GEMM kernel).
absl::StatusOr<std::unique_ptr<Kernel>> CreateOnednnLstm(const LstmGeometry& g,
                                                         const std::vector<LstmLayer>& layers,
                                                         int num_threads);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_OPS_ONEDNN_LSTM_H_
