// BaseStructuredSparsifier: the seed's structured pruner. Prepare() attaches a row mask to
// each configured weight (whole hidden units for LSTM layers) and moves Linear/Conv2d
// biases under a BiasHook; Prune() matches the pattern table and removes the masked
// channels for real, all or nothing.
#ifndef STRUCTPRUNE_PRUNING_STRUCTURED_SPARSIFIER_H_
#define STRUCTPRUNE_PRUNING_STRUCTURED_SPARSIFIER_H_

#include <vector>

#include "pruning/pattern.h"
#include "pruning/plan.h"
#include "pruning/report.h"
#include "pruning/sparsifier.h"

namespace structprune {

class BaseStructuredSparsifier : public BaseSparsifier {
 public:
  // Default options: prune_bias true. `patterns` defaults to DefaultPatterns().
  explicit BaseStructuredSparsifier(Options defaults = {}, std::vector<Pattern> patterns = DefaultPatterns());

  // Adds a pattern row (user extension of the table).
  void AddPattern(Pattern pattern) { patterns_.push_back(std::move(pattern)); }
  const std::vector<Pattern>& patterns() const { return patterns_; }

  // Removes every masked channel the pattern table can remove exactly (or all of them in
  // approximate mode), folds pruned constants into the next layers' biases, and leaves no
  // mask, parametrization or hook. FailedPrecondition before Prepare(); on any error (a
  // configured weight no pattern covers, fan-out, ...) the model is exactly as before.
  absl::StatusOr<PruneReport> Prune(PruneOptions options = {});

  // Bakes masks into weights and restores biases as the masked model used them.
  absl::Status SquashMask() override;

 protected:
  absl::Status AttachMasks() override;
  absl::StatusOr<Tensor> InitialMask(const Module& module, const ConfigGroup& group) const override;

 private:
  std::vector<Pattern> patterns_;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_STRUCTURED_SPARSIFIER_H_
