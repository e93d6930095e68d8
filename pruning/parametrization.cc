#include "pruning/parametrization.h"

#include "absl/strings/str_cat.h"
#include "graph/module.h"

namespace structprune {

absl::StatusOr<Tensor> FakeStructuredSparsity::Apply(const Tensor& original) const {
  if (original.dim() < 1 || original.size(0) != mask_.numel()) {
    return absl::InvalidArgumentError(absl::StrCat("mask of ", mask_.numel(),
                                                   " rows does not fit a weight of shape ",
                                                   ShapeToString(original.shape())));
  }
  Tensor out = original.Clone();
  const int64_t row = original.numel() / std::max<int64_t>(original.size(0), 1);
  for (int64_t r = 0; r < mask_.numel(); ++r) {
    if (!mask_.data<bool>()[r]) std::fill_n(out.data<float>() + r * row, row, 0.0f);
  }
  return out;
}

absl::StatusOr<Tensor> LstmUnitSparsity::Apply(const Tensor& original) const {
  const int64_t H = mask_.numel();
  if (original.dim() < 1 || original.size(0) != 4 * H) {
    return absl::InvalidArgumentError(absl::StrCat("unit mask of ", H, " units does not fit ",
                                                   ShapeToString(original.shape())));
  }
  Tensor out = original.Clone();
  const int64_t cols = original.dim() == 2 ? original.size(1) : 1;
  float* p = out.data<float>();
  for (int64_t j = 0; j < H; ++j) {
    if (mask_.data<bool>()[j]) continue;
    for (int64_t gate = 0; gate < 4; ++gate) std::fill_n(p + (gate * H + j) * cols, cols, 0.0f);
    if (mask_columns_ && original.dim() == 2 && cols == H) {
      for (int64_t r = 0; r < 4 * H; ++r) p[r * cols + j] = 0.0f;
    }
  }
  return out;
}

absl::Status BiasHook::Run(const Module& module, absl::Span<const Value* const> inputs,
                           Value& output) const {
  const Tensor* bias = module.parameter(kMovedBias);
  if (bias == nullptr) return absl::OkStatus();
  Tensor& y = output.tensor;
  const int64_t C = bias->numel();
  // Linear: channels are the last dim; Conv2d: dim 1 of [N, C, H, W] (dim 0 unbatched).
  int64_t outer, inner;
  if (module.kind() == OpKind::kConv2d) {
    const int64_t cdim = y.dim() == 4 ? 1 : 0;
    outer = cdim == 1 ? y.size(0) : 1;
    inner = y.numel() / (outer * C);
  } else {
    outer = y.numel() / C;
    inner = 1;
  }
  const float* b = bias->data<float>();
  const bool* keep = mask_.data<bool>();
  float* dst = y.data<float>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < C; ++c) {
      const float v = prune_bias_ && !keep[c] ? 0.0f : b[c];
      float* row = dst + (o * C + c) * inner;
      for (int64_t i = 0; i < inner; ++i) row[i] += v;
    }
  }
  return absl::OkStatus();
}

}  // namespace structprune
