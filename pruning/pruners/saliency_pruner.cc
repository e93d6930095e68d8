#include "pruning/pruners/saliency_pruner.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace structprune {
namespace internal {

absl::StatusOr<double> RequiredSparsityLevel(const ConfigGroup& group) {
  if (group.options.find(kSparsityLevel) == group.options.end()) {
    // Upstream reads kwargs["sparsity_level"] and fails with a KeyError when it is missing.
    return absl::InvalidArgumentError(absl::StrCat(
        "'", group.tensor_fqn,
        "': no sparsity_level configured (this pruner has no default: set it in the config "
        "group or in the pruner's defaults)"));
  }
  return group.GetNumber(kSparsityLevel, 0.0);
}

std::vector<double> RowL1Norms(const Tensor& weights) {
  const int64_t rows = weights.size(0);
  const int64_t cols = rows == 0 ? 0 : weights.numel() / rows;
  const float* w = weights.data<float>();  // weights [rows, cols], row-major
  std::vector<double> norms(rows, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0.0;
    for (int64_t c = 0; c < cols; ++c) sum += std::abs(static_cast<double>(w[r * cols + c]));
    norms[r] = sum;
  }
  return norms;
}

std::vector<double> SumOverGates(absl::Span<const double> row_values) {
  const size_t H = row_values.size() / 4;
  std::vector<double> units(H, 0.0);
  for (size_t gate = 0; gate < 4; ++gate) {
    for (size_t j = 0; j < H; ++j) units[j] += row_values[gate * H + j];
  }
  return units;
}

void MaskLowest(absl::Span<const double> scores, int64_t count, Tensor& mask) {
  const int64_t n = static_cast<int64_t>(scores.size());
  count = std::clamp<int64_t>(count, 0, n);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // torch.topk leaves the order of equal scores unspecified; we make it deterministic.
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  bool* keep = mask.data<bool>();
  for (int64_t i = 0; i < count; ++i) keep[order[i]] = false;
}

absl::Status CheckMaskLength(const ConfigGroup& group, const Tensor& mask, int64_t channels) {
  if (mask.dtype() != DType::kBool || mask.numel() != channels) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", group.tensor_fqn, "': mask is ", DTypeName(mask.dtype()), " ",
                     ShapeToString(mask.shape()), ", expected bool [", channels, "]"));
  }
  return absl::OkStatus();
}

}  // namespace internal

absl::StatusOr<std::vector<double>> SaliencyPruner::ChannelScores(const Module& module,
                                                                 const ConfigGroup& group) const {
  SP_ASSIGN_OR_RETURN(Tensor weights, module.Effective(group.tensor_name));
  if (weights.dim() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("'", group.tensor_fqn, "': needs a weight of rank 2 or more"));
  }
  std::vector<double> scores = internal::RowL1Norms(weights);
  if (module.kind() == OpKind::kLstm && LstmLayerOfWeight(group.tensor_name)) scores = internal::SumOverGates(scores);
  return scores;
}

absl::Status SaliencyPruner::UpdateMask(const Module& module, const ConfigGroup& group,
                                        Tensor& mask) {
  SP_ASSIGN_OR_RETURN(double sparsity_level, internal::RequiredSparsityLevel(group));
  // Upstream scores getattr(module, tensor_name): the parametrized, i.e. masked, weight. Rows
  // already masked score 0 and are picked again first, so repeated steps do not compound.
  SP_ASSIGN_OR_RETURN(Tensor weights, module.Effective(group.tensor_name));
  if (weights.dim() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", group.tensor_fqn, "': saliency pruning scores whole rows and needs a ",
                     "weight of rank 2 or more, got shape ", ShapeToString(weights.shape())));
  }
  std::vector<double> saliency = internal::RowL1Norms(weights);
  if (module.kind() == OpKind::kLstm && LstmLayerOfWeight(group.tensor_name)) {
    // weight_ih_lk [4H, in], gate blocks (i, f, g, o); the mask holds one entry per unit.
    saliency = internal::SumOverGates(saliency);
  }
  const int64_t channels = static_cast<int64_t>(saliency.size());
  SP_RETURN_IF_ERROR(internal::CheckMaskLength(group, mask, channels));
  // Python's int(len(mask) * sparsity_level): the double product, truncated.
  const auto count = static_cast<int64_t>(static_cast<double>(channels) * sparsity_level);
  internal::MaskLowest(saliency, count, mask);
  return absl::OkStatus();
}

}  // namespace structprune
