// LSTMSaliencyPruner: one L1 saliency per LSTM hidden unit, summed over the unit's four gate
// rows of both weight_ih_lk and weight_hh_lk (the seed's lstm_saliency_pruner.py).
#ifndef STRUCTPRUNE_PRUNING_PRUNERS_LSTM_SALIENCY_PRUNER_H_
#define STRUCTPRUNE_PRUNING_PRUNERS_LSTM_SALIENCY_PRUNER_H_

#include <vector>

#include "pruning/pruners/saliency_pruner.h"

namespace structprune {

// Upstream splits each packed LSTM weight (weight_ih_lk and weight_hh_lk, configured
// separately) into its four gate blocks and masks the int(H * sparsity_level) lowest-L1 rows
// of every block independently, so one unit may lose its input gate and keep its forget gate.
// Our masks remove whole hidden units (one mask per layer, on weight_ih_lk, which also masks
// weight_hh_lk's rows and columns and both biases), so the same row norms are combined into
// one score per unit: the L1 norms of rows j, H+j, 2H+j, 3H+j of the masked weight_ih_lk and
// of the masked weight_hh_lk. The int(H * sparsity_level) lowest units are pruned.
class LSTMSaliencyPruner : public SaliencyPruner {
 public:
  // As upstream, no default sparsity_level: each group needs one, here or in its entry.
  explicit LSTMSaliencyPruner(Options defaults = {},
                              std::vector<Pattern> patterns = DefaultPatterns())
      : SaliencyPruner(std::move(defaults), std::move(patterns)) {}

 protected:
  // LSTM weight_ih_lk groups: the per-unit score above; mask entries of other units are left
  // as they were (upstream only ever sets entries false). Any other tensor (Linear/Conv2d
  // weight) is scored like SaliencyPruner does (upstream would cut it into four row blocks
  // as if it were gate-packed, which means nothing outside an LSTM).
  // InvalidArgument naming the tensor for a missing sparsity_level.
  absl::Status UpdateMask(const Module& module, const ConfigGroup& group, Tensor& mask) override;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_PRUNERS_LSTM_SALIENCY_PRUNER_H_
