// LSTM on several threads with every layer's hidden units split between them: each thread owns a
// slice of the units, their four gate columns of weight_hh packed once for it, and runs their
// recurrence, the threads meeting once per time step. The input projection of all steps is one
// matmul per layer on oneDNN's threads.
#ifndef STRUCTPRUNE_OPS_ONEDNN_LSTM_SPLIT_H_
#define STRUCTPRUNE_OPS_ONEDNN_LSTM_SPLIT_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/lstm.h"
#include "ops/op_def.h"

namespace structprune::internal {

// Whether CreateSplitLstm takes the case: at least 2 threads, and enough work per time step and
// thread to pay for a barrier per step.
bool SplitLstmTakes(const LstmGeometry& g, int num_threads);

// Unimplemented when SplitLstmTakes is false or oneDNN refuses a matmul: the caller runs
// another LSTM kernel.
absl::StatusOr<std::unique_ptr<Kernel>> CreateSplitLstm(const LstmGeometry& g,
                                                        const std::vector<LstmLayer>& layers,
                                                        int num_threads);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_OPS_ONEDNN_LSTM_SPLIT_H_
