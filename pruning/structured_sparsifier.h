// BaseStructuredSparsifier: the seed's structured pruner. Prepare() attaches a row mask to
// each configured weight (whole hidden units for LSTM layers) and moves Linear/Conv2d
// biases under a BiasHook; Prune() matches the pattern table and removes the masked
// channels for real, all or nothing.
#ifndef STRUCTPRUNE_PRUNING_STRUCTURED_SPARSIFIER_H_
#define STRUCTPRUNE_PRUNING_STRUCTURED_SPARSIFIER_H_

#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/shape.h"

#include "pruning/dependency_groups.h"
#include "pruning/pattern.h"
#include "pruning/plan.h"
#include "pruning/report.h"
#include "pruning/sparsifier.h"

namespace structprune {

class BaseStructuredSparsifier : public BaseSparsifier {
 public:
  // Default options: prune_bias true. `patterns` defaults to DefaultPatterns().
  explicit BaseStructuredSparsifier(Options defaults = {}, std::vector<Pattern> patterns = DefaultPatterns());

  // Enables dependency groups (SPEC section 5) for models planned with these input shapes:
  // call before Prepare(). Then every producer coupled with a configured one (residual adds,
  // depthwise convs, BatchNorms) is masked with it, a channel pruned in any producer of its
  // group is pruned in all of them, and Prune() removes group channels everywhere at once.
  // Without input shapes the seed's pattern table decides (chains only).
  void SetInputShapes(std::vector<Shape> input_shapes) { input_shapes_ = std::move(input_shapes); }
  bool uses_dependency_groups() const { return !input_shapes_.empty(); }

  // Adds a pattern row (user extension of the table).
  void AddPattern(Pattern pattern) { patterns_.push_back(std::move(pattern)); }
  const std::vector<Pattern>& patterns() const { return patterns_; }

  // Removes every masked channel the pattern table can remove exactly (or all of them in
  // approximate mode), folds pruned constants into the next layers' biases, and leaves no
  // mask, parametrization or hook. FailedPrecondition before Prepare(); on any error (a
  // configured weight no pattern covers, fan-out, ...) the model is exactly as before.
  // In dependency-group mode it reuses the analysis Prepare() made: the graph must not change
  // in between (masks may).
  absl::StatusOr<PruneReport> Prune(PruneOptions options = {});

  // Bakes masks into weights and restores biases as the masked model used them.
  absl::Status SquashMask() override;

  // In dependency-group mode with a pruner that scores channels (ChannelScores), each group
  // is pruned as a whole: a channel's importance is the sum over the group's producers of
  // its row score divided by that producer's mean row score, and the lowest
  // int(prunable channels * sparsity_level) go. Options read from the first configured
  // producer of a group: `round_to` (int >= 1: channels left stay a multiple of it) and,
  // from the defaults, `global_pruning` (bool: one importance threshold across all groups,
  // no group losing more than `max_group_sparsity`, default 0.9). Otherwise as the base.
  // Option `ignored_layers` (defaults; comma-separated module FQNs): their dependency groups
  // are left whole, whatever the config says.
  absl::Status Step() override;

 protected:
  // Importance of each row (hidden unit for LSTM weights) of a configured tensor, higher =
  // keep. Unimplemented by default: then Step() uses UpdateMask per tensor.
  virtual absl::StatusOr<std::vector<double>> ChannelScores(const Module& module,
                                                           const ConfigGroup& group) const {
    return absl::UnimplementedError("no channel scores");
  }

  absl::Status AttachMasks() override;
  absl::StatusOr<Tensor> InitialMask(const Module& module, const ConfigGroup& group) const override;
  void OnMasksChanged() override;

 private:
  // A BatchNorm or depthwise conv masked with the groups whose channels it carries.
  struct FollowerMask {
    Module* module;
    Tensor mask;
    bool prune_bias;
  };
  // Group mode: couples configured producers with the rest of their dependency group
  // (implicit producers join groups_ and masks_) and says which other modules follow the
  // masks; the model itself is not changed.
  absl::StatusOr<std::vector<FollowerMask>> PlanGroupMasks();

  // A mask that follows dependency groups: entry i is (group, channel) channel_of_index[i];
  // group -1 marks an entry no configured group prunes (it stays true). A BatchNorm or
  // depthwise conv after a cat carries channels of several groups.
  struct CoupledMask {
    Tensor mask;
    std::vector<std::pair<int, int64_t>> channel_of_index;
    bool producer;  // a producer's own mask (others follow the producers)
  };
  std::vector<Pattern> patterns_;
  std::vector<Shape> input_shapes_;
  std::optional<DependencyGraph> dependency_graph_;  // group mode: made by Prepare(), used by Prune()
  std::vector<CoupledMask> coupled_;        // producers first, then BatchNorms / depthwise convs
  std::vector<int64_t> group_sizes_;        // channels per dependency group
  std::vector<std::vector<bool>> group_blocked_;  // per group channel: may not be removed
  // Configured producer weight FQN -> (group, group channel of each row).
  absl::flat_hash_map<std::string, std::pair<int, std::vector<int64_t>>> producer_channels_;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_STRUCTURED_SPARSIFIER_H_
