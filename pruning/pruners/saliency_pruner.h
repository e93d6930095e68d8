// SaliencyPruner: masks the channels (Linear/Conv2d rows, LSTM hidden units) whose weights have
// the lowest L1 norm, the seed's saliency_pruner.py.
#ifndef STRUCTPRUNE_PRUNING_PRUNERS_SALIENCY_PRUNER_H_
#define STRUCTPRUNE_PRUNING_PRUNERS_SALIENCY_PRUNER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "pruning/structured_sparsifier.h"

namespace structprune {

class SaliencyPruner : public BaseStructuredSparsifier {
 public:
  // `defaults` fill the keys a config group leaves out. As upstream, there is no default
  // sparsity_level: every group needs one, from its own entry or from `defaults`.
  explicit SaliencyPruner(Options defaults = {}, std::vector<Pattern> patterns = DefaultPatterns())
      : BaseStructuredSparsifier(std::move(defaults), std::move(patterns)) {}

 protected:
  // Saliency of a row = L1 norm of the weight as the forward pass sees it (masked), all dims
  // but 0; of an LSTM hidden unit j (weight_ih_lk [4H, in]) = sum of the L1 norms of its
  // four gate rows j, H+j, 2H+j, 3H+j. Sets `mask` false for the int(channels *
  // sparsity_level) lowest (ties: lower index first) and leaves every other entry as it was.
  // InvalidArgument naming the tensor for a weight of rank < 2 or a missing sparsity_level.
  absl::Status UpdateMask(const Module& module, const ConfigGroup& group, Tensor& mask) override;
  // The same row (or unit) L1 norms, for group-wide scoring in dependency-group mode.
  absl::StatusOr<std::vector<double>> ChannelScores(const Module& module,
                                                   const ConfigGroup& group) const override;
};

namespace internal {

// The group's sparsity_level; InvalidArgument naming the tensor when it is not configured.
absl::StatusOr<double> RequiredSparsityLevel(const ConfigGroup& group);

// L1 norm of each row of `weights` (rank >= 1; all dims but 0 flattened), in double.
std::vector<double> RowL1Norms(const Tensor& weights);

// For a gate-packed LSTM tensor's per-row values (4H of them: blocks i, f, g, o), the sum
// over the four gates for each hidden unit (H values).
std::vector<double> SumOverGates(absl::Span<const double> row_values);

// Sets `mask` false at the `count` lowest `scores` (a stable order: among equal scores the
// lower index goes first); other entries are left as they are. count is clamped to
// [0, scores.size()]; mask is bool with scores.size() entries.
void MaskLowest(absl::Span<const double> scores, int64_t count, Tensor& mask);

// InvalidArgument naming the tensor unless `mask` has `channels` entries.
absl::Status CheckMaskLength(const ConfigGroup& group, const Tensor& mask, int64_t channels);

}  // namespace internal
}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_PRUNERS_SALIENCY_PRUNER_H_
