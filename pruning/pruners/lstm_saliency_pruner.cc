#include "pruning/pruners/lstm_saliency_pruner.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace structprune {

absl::Status LSTMSaliencyPruner::UpdateMask(const Module& module, const ConfigGroup& group,
                                            Tensor& mask) {
  const std::optional<int64_t> layer = LstmLayerOfWeight(group.tensor_name);
  if (module.kind() != OpKind::kLstm || !layer) {
    return SaliencyPruner::UpdateMask(module, group, mask);
  }
  SP_ASSIGN_OR_RETURN(double sparsity_level, internal::RequiredSparsityLevel(group));
  // As upstream, the masked weights (getattr(module, tensor_name)) are scored: a pruned unit's
  // rows are zero, and so is its weight_hh column, which no longer feeds any other unit.
  SP_ASSIGN_OR_RETURN(Tensor weight_ih, module.Effective(group.tensor_name));
  const std::string hh_name = absl::StrCat("weight_hh_l", *layer);
  SP_ASSIGN_OR_RETURN(Tensor weight_hh, module.Effective(hh_name));
  // weight_ih_lk [4H, in_k], weight_hh_lk [4H, H], gate blocks (i, f, g, o) of H rows each.
  if (weight_ih.dim() != 2 || weight_hh.dim() != 2 || weight_ih.size(0) % 4 != 0 ||
      weight_hh.size(0) != weight_ih.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", group.tensor_fqn, "': expected gate-packed LSTM weights [4H, *], got ",
        ShapeToString(weight_ih.shape()), " and ", hh_name, " ", ShapeToString(weight_hh.shape())));
  }
  std::vector<double> rows = internal::RowL1Norms(weight_ih);
  const std::vector<double> rows_hh = internal::RowL1Norms(weight_hh);
  for (size_t r = 0; r < rows.size(); ++r) rows[r] += rows_hh[r];
  const std::vector<double> saliency = internal::SumOverGates(rows);
  const int64_t H = static_cast<int64_t>(saliency.size());
  SP_RETURN_IF_ERROR(internal::CheckMaskLength(group, mask, H));
  // Upstream's k = int(len(gate_block) * sparsity_level), per gate block of H rows.
  const auto count = static_cast<int64_t>(static_cast<double>(H) * sparsity_level);
  internal::MaskLowest(saliency, count, mask);
  return absl::OkStatus();
}

}  // namespace structprune
