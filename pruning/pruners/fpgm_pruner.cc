#include "pruning/pruners/fpgm_pruner.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "pruning/pruners/saliency_pruner.h"

namespace structprune {
namespace {

// Python 3's round(x) for a float: nearest integer, halves to the even one (round(2.5) == 2).
int64_t RoundHalfToEven(double x) {
  const double lower = std::floor(x);
  const double frac = x - lower;
  if (frac > 0.5) return static_cast<int64_t>(lower) + 1;
  if (frac < 0.5) return static_cast<int64_t>(lower);
  return static_cast<int64_t>(lower) + (std::fmod(lower, 2.0) == 0.0 ? 0 : 1);
}

double PairDistance(FPGMPruner::Distance metric, const float* a, const float* b, int64_t n) {
  double sum = 0.0;
  if (metric == FPGMPruner::Distance::kL1) {
    for (int64_t k = 0; k < n; ++k) sum += std::abs(static_cast<double>(a[k]) - b[k]);
    return sum;
  }
  for (int64_t k = 0; k < n; ++k) {
    const double d = static_cast<double>(a[k]) - b[k];
    sum += d * d;
  }
  return std::sqrt(sum);
}

// Hidden unit j of gate-packed weights [4H, in] as one row of [H, 4 * in]: its i, f, g, o rows.
Tensor UnitVectors(const Tensor& weights) {
  const int64_t H = weights.size(0) / 4;
  const int64_t cols = weights.numel() / weights.size(0);
  Tensor units = Tensor::Zeros({H, 4 * cols});
  for (int64_t j = 0; j < H; ++j) {
    for (int64_t gate = 0; gate < 4; ++gate) {
      std::memcpy(units.data<float>() + (j * 4 + gate) * cols,
                  weights.data<float>() + (gate * H + j) * cols, cols * sizeof(float));
    }
  }
  return units;
}

}  // namespace

FPGMPruner::FPGMPruner(double sparsity_level, DistanceFn dist, Options defaults)
    : BaseStructuredSparsifier(WithSparsityLevel(std::move(defaults), sparsity_level)) {
  if (dist) {
    custom_ = std::move(dist);
  } else {
    metric_ = Distance::kL2;  // upstream: dist=None means 2
  }
}

FPGMPruner::FPGMPruner(double sparsity_level, Distance dist, Options defaults)
    : BaseStructuredSparsifier(WithSparsityLevel(std::move(defaults), sparsity_level)),
      metric_(dist) {}

absl::StatusOr<std::unique_ptr<FPGMPruner>> FPGMPruner::Create(double sparsity_level,
                                                               absl::string_view dist,
                                                               Options defaults) {
  Distance metric;
  if (dist == "L1") {
    metric = Distance::kL1;
  } else if (dist == "L2") {
    metric = Distance::kL2;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("FPGMPruner: unknown distance '", dist,
                                                   "'; use \"L1\", \"L2\" or a distance function"));
  }
  return std::make_unique<FPGMPruner>(sparsity_level, metric, std::move(defaults));
}

Options FPGMPruner::WithSparsityLevel(Options defaults, double sparsity_level) {
  defaults[kSparsityLevel] = sparsity_level;  // upstream: defaults = {"sparsity_level": ...}
  return defaults;
}

absl::StatusOr<std::vector<double>> FPGMPruner::ComputeDistance(const Tensor& weights) const {
  if (weights.dim() < 1) {
    return absl::InvalidArgumentError("FPGMPruner: cannot compute row distances of a scalar");
  }
  const int64_t rows = weights.size(0);
  const int64_t cols = rows == 0 ? 0 : weights.numel() / rows;
  const float* w = weights.data<float>();  // weights [rows, cols], row-major
  std::vector<double> distance(rows, 0.0);
  if (metric_) {
    // Symmetric metrics: each pair once. Row i still accumulates in ascending j order.
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = i + 1; j < rows; ++j) {
        const double d = PairDistance(*metric_, w + i * cols, w + j * cols, cols);
        distance[i] += d;
        distance[j] += d;
      }
    }
    return distance;
  }
  // A user function may be asymmetric and nonzero on the diagonal: every ordered pair, like
  // upstream's torch.sum(torch.abs(dist_fn(t)), 1).
  for (int64_t i = 0; i < rows; ++i) {
    const absl::Span<const float> row_i(w + i * cols, cols);
    for (int64_t j = 0; j < rows; ++j) {
      const float d = custom_(row_i, absl::Span<const float>(w + j * cols, cols));
      if (std::isnan(d)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "FPGMPruner: the distance function returned NaN for rows ", i, " and ", j));
      }
      distance[i] += std::abs(static_cast<double>(d));
    }
  }
  return distance;
}

absl::Status FPGMPruner::UpdateMask(const Module& module, const ConfigGroup& group, Tensor& mask) {
  SP_ASSIGN_OR_RETURN(double sparsity_level, group.GetNumber(kSparsityLevel, 0.5));
  // Upstream reads getattr(module, tensor_name): the parametrized (masked) weight.
  SP_ASSIGN_OR_RETURN(Tensor weights, module.Effective(group.tensor_name));
  if (weights.dim() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", group.tensor_fqn, "': FPGM needs a weight of rank 1 or more, got shape ",
                     ShapeToString(weights.shape())));
  }
  const bool lstm = module.kind() == OpKind::kLstm && LstmLayerOfWeight(group.tensor_name);
  if (lstm && (weights.size(0) % 4 != 0 || weights.dim() != 2)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", group.tensor_fqn, "': expected gate-packed LSTM weights [4H, *], got ",
                     ShapeToString(weights.shape())));
  }
  const int64_t channels = lstm ? weights.size(0) / 4 : weights.size(0);
  SP_RETURN_IF_ERROR(internal::CheckMaskLength(group, mask, channels));
  bool* keep = mask.data<bool>();
  if (sparsity_level <= 0.0) {
    std::fill_n(keep, channels, true);
    return absl::OkStatus();
  }
  if (sparsity_level >= 1.0) {
    std::fill_n(keep, channels, false);
    return absl::OkStatus();
  }
  auto distance = ComputeDistance(lstm ? UnitVectors(weights) : weights);
  if (!distance.ok()) {
    return absl::Status(distance.status().code(),
                        absl::StrCat("'", group.tensor_fqn, "': ", distance.status().message()));
  }
  const int64_t count = RoundHalfToEven(sparsity_level * static_cast<double>(channels));
  internal::MaskLowest(*distance, count, mask);
  return absl::OkStatus();
}

}  // namespace structprune
