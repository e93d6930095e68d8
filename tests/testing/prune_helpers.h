// Shared helpers for the pruning tests: the seed tests' pruners (masks kept, row 1 pruned,
// a third of the rows pruned), mask builders, one-call prepare/mask/prune/verify, and
// checks on a model before and after Prune().
#ifndef STRUCTPRUNE_TESTS_TESTING_PRUNE_HELPERS_H_
#define STRUCTPRUNE_TESTS_TESTING_PRUNE_HELPERS_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/rng.h"
#include "graph/graph_module.h"
#include "pruning/structured_sparsifier.h"
#include "pruning/verify.h"

namespace structprune::testing {

// UpdateMask does nothing: masks stay what Prepare() set (all ones, or the `mask` option)
// until a test calls SetMask().
class KeepMasksPruner : public BaseStructuredSparsifier {
 public:
  using BaseStructuredSparsifier::BaseStructuredSparsifier;

 protected:
  absl::Status UpdateMask(const Module&, const ConfigGroup&, Tensor&) override {
    return absl::OkStatus();
  }
};

// Upstream's SimplePruner: every Step() prunes channel 1 (row 1; hidden unit 1 of an LSTM
// layer) of every configured tensor.
class RowOnePruner : public BaseStructuredSparsifier {
 public:
  using BaseStructuredSparsifier::BaseStructuredSparsifier;

 protected:
  absl::Status UpdateMask(const Module&, const ConfigGroup&, Tensor& mask) override;
};

// Upstream's ImplementedPruner: every Step() prunes rows / 3 channels of every configured
// tensor, chosen at random among all rows (already pruned rows may be drawn again). Our Rng
// is seeded, so the choice is deterministic.
class ThirdPruner : public BaseStructuredSparsifier {
 public:
  explicit ThirdPruner(Options defaults = {}, uint64_t seed = 7)
      : BaseStructuredSparsifier(std::move(defaults)), rng_(seed) {}

 protected:
  absl::Status UpdateMask(const Module&, const ConfigGroup&, Tensor& mask) override;

 private:
  Rng rng_;
};

// A bool mask of `n` entries, false exactly at `pruned`.
Tensor MaskWithout(int64_t n, const std::vector<int64_t>& pruned);
// The indices where a bool mask is false, ascending.
std::vector<int64_t> PrunedIndices(const Tensor& mask);

// {{"tensor_fqn": fqn}, ...}, in order.
SparsityConfig ConfigFor(const std::vector<std::string>& tensor_fqns);

// One prepare -> step -> mask -> prune -> verify run.
struct PruneCase {
  std::optional<SparsityConfig> config;  // nullopt: every supported tensor
  // After Step(): tensor_fqn -> channels set to pruned (the others kept). Tensors not listed
  // keep what Step() gave them.
  std::map<std::string, std::vector<int64_t>> pruned;
  std::vector<Shape> input_shapes;
  PruneOptions prune;
  VerifyOptions verify;
};

struct PruneRun {
  GraphModule masked;  // the prepared, stepped and masked model, cloned before Prune()
  std::map<std::string, Tensor> masks;  // every configured tensor's mask at Prune() time
  PruneReport report;
  VerifyResult verify;
};

// Prepares `sparsifier` on `model`, steps it, applies `c.pruned`, clones the masked model,
// prunes `model` in place and verifies pruned against masked. The first failing step's
// status is returned (Prune()'s own error verbatim).
absl::StatusOr<PruneRun> PrepareMaskPruneVerify(BaseStructuredSparsifier& sparsifier,
                                                GraphModule& model, const PruneCase& c);

// "[4, 7]", or "<none>" when the model has no such tensor.
std::string ParamShape(const GraphModule& model, absl::string_view tensor_fqn);

// Runs `model` once on standard-normal inputs of `input_shapes`; its output shapes.
absl::StatusOr<std::vector<Shape>> OutputShapes(const GraphModule& model,
                                                const std::vector<Shape>& input_shapes);

// Everything a failed Prune() must leave as it was: the printed graph, every parameter
// (cloned), and per module its attributes, parametrizations and forward hooks.
struct ModelSnapshot {
  std::string graph;
  std::vector<std::pair<std::string, Tensor>> parameters;
  std::string structure;
};
ModelSnapshot TakeSnapshot(const GraphModule& model);
// Success when `model` matches `before` byte for byte; otherwise says what differs.
::testing::AssertionResult SameAsSnapshot(const ModelSnapshot& before, const GraphModule& model);

// A pruned model: no parametrization, no forward hook, no moved-aside `_bias`, and Lint() OK.
::testing::AssertionResult IsCleanPrunedModel(const GraphModule& model);

}  // namespace structprune::testing

#endif  // STRUCTPRUNE_TESTS_TESTING_PRUNE_HELPERS_H_
