// The structured pruner's parametrizations and hook: row masks on Linear/Conv2d weights
// (FakeStructuredSparsity), whole-unit masks on LSTM layers (LstmUnitSparsity), and the
// BiasHook that adds a moved-aside bias back, zeroing pruned entries when prune_bias is set.
#ifndef STRUCTPRUNE_PRUNING_PARAMETRIZATION_H_
#define STRUCTPRUNE_PRUNING_PARAMETRIZATION_H_

#include <string>

#include "core/tensor.h"
#include "graph/parametrize.h"

namespace structprune {

// Zeroes the rows (dim 0) whose mask entry is false. The mask tensor's storage is shared
// with the sparsifier's state, so mask updates take effect on the next read.
class FakeStructuredSparsity : public Parametrization {
 public:
  explicit FakeStructuredSparsity(Tensor mask) : mask_(std::move(mask)) {}
  std::string Name() const override { return "FakeStructuredSparsity"; }
  absl::StatusOr<Tensor> Apply(const Tensor& original) const override;
  const Tensor& mask() const { return mask_; }

 private:
  Tensor mask_;  // bool [rows]
};

// Masks LSTM hidden units (mask bool [H]) in a layer tensor laid out as four gate blocks
// (i, f, g, o) of H rows: weight_ih [4H, I], weight_hh [4H, H] (also column j, so a pruned
// unit feeds nothing), bias_ih / bias_hh [4H]. With all of a unit's rows zero its gates
// are constant (i = f = o = 1/2, g = 0), so from a zero state its cell and hidden state stay
// exactly zero for the whole sequence.
class LstmUnitSparsity : public Parametrization {
 public:
  LstmUnitSparsity(Tensor mask, bool mask_columns) : mask_(std::move(mask)), mask_columns_(mask_columns) {}
  std::string Name() const override { return "LstmUnitSparsity"; }
  absl::StatusOr<Tensor> Apply(const Tensor& original) const override;
  const Tensor& mask() const { return mask_; }

 private:
  Tensor mask_;  // bool [H]
  bool mask_columns_;
};

// After a Linear/Conv2d forward: output += _bias along the channel dim (last dim for Linear,
// dim 1 for Conv2d), with entries of pruned channels read as zero when prune_bias is true.
class BiasHook : public ForwardHook {
 public:
  BiasHook(Tensor mask, bool prune_bias) : mask_(std::move(mask)), prune_bias_(prune_bias) {}
  std::string Name() const override { return "BiasHook"; }
  absl::Status Run(const Module& module, absl::Span<const Value* const> inputs,
                   Value& output) const override;
  bool prune_bias() const { return prune_bias_; }
  const Tensor& mask() const { return mask_; }

 private:
  Tensor mask_;
  bool prune_bias_;
};

// The name a moved-aside bias lives under while a module is prepared (the seed's `_bias`).
inline constexpr char kMovedBias[] = "_bias";

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_PARAMETRIZATION_H_
