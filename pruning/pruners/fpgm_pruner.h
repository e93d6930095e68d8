// FPGMPruner: Filter Pruning via Geometric Median (arXiv 1811.00250), the seed's
// FPGM_pruner.py: masks the channels closest to all others, i.e. the most replaceable ones.
#ifndef STRUCTPRUNE_PRUNING_PRUNERS_FPGM_PRUNER_H_
#define STRUCTPRUNE_PRUNING_PRUNERS_FPGM_PRUNER_H_

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "pruning/structured_sparsifier.h"

namespace structprune {

class FPGMPruner : public BaseStructuredSparsifier {
 public:
  // A distance between two flattened channels (rows) of equal length.
  using DistanceFn = std::function<float(absl::Span<const float>, absl::Span<const float>)>;
  enum class Distance { kL1, kL2 };

  // Upstream's FPGMPruner(sparsity_level=0.5, dist=None): `dist` null means L2.
  // `sparsity_level` becomes the default for groups that leave it out (it overrides a
  // sparsity_level in `defaults`); other keys of `defaults` (prune_bias, ...) fill in too.
  // The level is validated with the config, by Prepare().
  explicit FPGMPruner(double sparsity_level = 0.5, DistanceFn dist = nullptr,
                      Options defaults = {});
  FPGMPruner(double sparsity_level, Distance dist, Options defaults = {});
  // The named form of upstream's dist=1 / dist=2: "L1" or "L2". InvalidArgument otherwise.
  static absl::StatusOr<std::unique_ptr<FPGMPruner>> Create(double sparsity_level = 0.5,
                                                            absl::string_view dist = "L2",
                                                            Options defaults = {});

  // Upstream's _compute_distance: for each row i of `weights` (rank >= 1, all dims but 0
  // flattened), the sum over every row j of |dist(row_i, row_j)| (j = i included, as upstream
  // sums whole rows of the distance matrix; it is 0 for L1/L2). InvalidArgument for a rank-0
  // tensor or a distance function returning NaN.
  absl::StatusOr<std::vector<double>> ComputeDistance(const Tensor& weights) const;

 protected:
  // sparsity_level <= 0 keeps every channel and >= 1 prunes every channel (the whole mask is
  // overwritten, as upstream). Otherwise the round(sparsity_level * channels) channels
  // (Python's round: halves to even) of smallest total distance in the masked weight are set
  // false, ties to the lower index, and the other entries are left as they were. Channels are
  // rows for Linear/Conv2d; for an LSTM weight_ih_lk [4H, in] they are hidden units, each the
  // vector concatenating its four gate rows (j, H+j, 2H+j, 3H+j) — the unit being what is
  // pruned, its distance to other units is measured on everything it removes from weight_ih.
  absl::Status UpdateMask(const Module& module, const ConfigGroup& group, Tensor& mask) override;

 private:
  static Options WithSparsityLevel(Options defaults, double sparsity_level);

  std::optional<Distance> metric_;  // L1/L2; nullopt: custom_
  DistanceFn custom_;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_PRUNERS_FPGM_PRUNER_H_
