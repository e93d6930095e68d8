// The prune functions of the default pattern table. Each plans its match's edits into a
// PrunePlan and never mutates the model.
#ifndef STRUCTPRUNE_PRUNING_PRUNE_FUNCTIONS_H_
#define STRUCTPRUNE_PRUNING_PRUNE_FUNCTIONS_H_

#include "absl/status/status.h"
#include "pruning/pattern.h"
#include "pruning/plan.h"

namespace structprune {

// Linear/Conv2d producer -> pass-through ops (activations, pools, adaptive pool + flatten)
// -> Linear/Conv2d consumer or the graph output. Drops the producer's masked rows and the
// consumer's matching input columns (h*w columns per channel after a flatten), folding each
// dropped channel's constant (its bias or 0, through every op in between) into the
// consumer's bias. Channels whose removal is not exact (a nonzero constant entering a
// zero-padded conv or a padding-counting average pool) stay unless options().approximate.
absl::Status PruneProducerChain(const Match& match, PrunePlan& plan);

// LSTM -> getitem(0) -> (LayerNorm ->) Linear: removes whole hidden units per layer (four
// gate rows of weight_ih/weight_hh and both biases, the weight_hh column, the next layer's
// input column) and the consumer's columns (and LayerNorm entries). Through a LayerNorm the
// last layer's units are kept in exact mode, since removing them changes its statistics.
absl::Status PruneLstmChain(const Match& match, PrunePlan& plan);

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_PRUNE_FUNCTIONS_H_
