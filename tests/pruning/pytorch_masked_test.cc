// The equivalence contract checked against PyTorch (tests/golden/masked, written by
// tests/golden/generate_masked.py): for each seed network, prune_bias true and false, PyTorch
// computed the *masked* model's outputs the way the seed prepares it (FakeStructuredSparsity
// rows, BiasHook; whole LSTM units). Here the same parameters and masks go through our
// Prepare() + SetMask(), and
//   - the prepared model must reproduce PyTorch's masked outputs (our masking semantics), and
//   - the pruned model (exact mode) must reproduce them too, on the kept channels of any output
//     the report says lost channels.
// LSTM -> LayerNorm: exact mode keeps the units (still compared); approximate mode is only run
// to check that it prunes and the shapes shrink.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/index_select.h"
#include "core/status_macros.h"
#include "graph/attr.h"
#include "graph/interpreter.h"
#include "pruning/structured_sparsifier.h"
#include "tests/testing/golden.h"
#include "tests/testing/models.h"
#include "tests/testing/prune_helpers.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::AllClose;
using ::structprune::testing::BuildSeedModel;
using ::structprune::testing::ConfigFor;
using ::structprune::testing::GoldenCase;
using ::structprune::testing::IsCleanPrunedModel;
using ::structprune::testing::KeepMasksPruner;
using ::structprune::testing::MaskWithout;
using ::structprune::testing::PrunedIndices;

// The seed networks of generate_masked.py, each with prune_bias true and false.
constexpr size_t kExpectedFixtures = 28;

struct MaskedCase {
  GoldenCase golden;  // model, args, params, inputs, the masked outputs, tolerances
  bool prune_bias = true;
  std::vector<std::pair<std::string, Tensor>> masks;  // tensor_fqn -> bool mask, file order
};

absl::StatusOr<MaskedCase> LoadMasked(const std::string& path) {
  MaskedCase c;
  SP_ASSIGN_OR_RETURN(c.golden, testing::LoadGolden(path));
  std::ifstream in(path);
  try {
    const nlohmann::ordered_json j = nlohmann::ordered_json::parse(in);
    c.prune_bias = j.at("prune_bias").get<bool>();
    for (const auto& [fqn, bits] : j.at("masks").items()) {
      std::vector<int64_t> pruned;
      for (size_t i = 0; i < bits.size(); ++i) {
        if (bits[i].get<int>() == 0) pruned.push_back(static_cast<int64_t>(i));
      }
      c.masks.emplace_back(fqn, MaskWithout(static_cast<int64_t>(bits.size()), pruned));
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
  return c;
}

std::vector<std::string> ConfiguredTensors(const MaskedCase& c) {
  std::vector<std::string> fqns;
  for (const auto& [fqn, mask] : c.masks) fqns.push_back(fqn);
  return fqns;
}

// The fixture's model with its PyTorch state.
absl::StatusOr<GraphModule> LoadModel(const MaskedCase& c) {
  SP_ASSIGN_OR_RETURN(GraphModule model, BuildSeedModel(c.golden.model, c.golden.args));
  SP_RETURN_IF_ERROR(testing::LoadState(c.golden.params, model.root()));
  return model;
}

// Prepared with the fixture's config and masks.
absl::Status PrepareAndMask(const MaskedCase& c, GraphModule& model, KeepMasksPruner& pruner) {
  SP_RETURN_IF_ERROR(pruner.Prepare(model, ConfigFor(ConfiguredTensors(c))));
  for (const auto& [fqn, mask] : c.masks) SP_RETURN_IF_ERROR(pruner.SetMask(fqn, mask));
  return absl::OkStatus();
}

// PyTorch's masked outputs restricted as `report.output_changes` says the pruned model's are.
absl::StatusOr<std::vector<Tensor>> ExpectedAfterPrune(std::vector<Tensor> outputs,
                                                       const PruneReport& report) {
  return RestrictToKept(std::move(outputs), report);
}

float MaxAbsDiff(const std::vector<Tensor>& actual, const std::vector<Tensor>& expected) {
  float worst = 0.0f;
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    auto d = CompareTensors(actual[i], expected[i]);
    if (d.ok()) worst = std::max(worst, d->max_abs);
  }
  return worst;
}

void ExpectAllClose(const std::vector<Tensor>& actual, const std::vector<Tensor>& expected,
                    const GoldenCase& c) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_TRUE(AllClose(actual[i], expected[i], c.rtol, c.atol)) << "output " << i;
  }
}

class PyTorchMaskedTest : public ::testing::TestWithParam<std::string> {};

// Our prepared (masked) model computes what PyTorch's masked model computed.
TEST_P(PyTorchMaskedTest, PreparedModelMatchesPyTorchMaskedModel) {
  SP_ASSERT_OK_AND_ASSIGN(MaskedCase c, LoadMasked(GetParam()));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, LoadModel(c));
  KeepMasksPruner pruner({{kPruneBias, c.prune_bias}});
  SP_ASSERT_OK(PrepareAndMask(c, model, pruner));
  for (bool reference : {false, true}) {
    SCOPED_TRACE(reference ? "reference kernels" : "fast kernels");
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> outputs,
                            RunModel(model, c.golden.inputs, {.reference_kernels = reference}));
    ExpectAllClose(outputs, c.golden.outputs, c.golden);
  }
}

// Exact mode: the pruned model computes PyTorch's masked function (on the kept channels of an
// output that lost some), and every masked channel is either pruned or kept for exactness.
TEST_P(PyTorchMaskedTest, PrunedModelMatchesPyTorchMaskedModel) {
  SP_ASSERT_OK_AND_ASSIGN(MaskedCase c, LoadMasked(GetParam()));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, LoadModel(c));
  KeepMasksPruner pruner({{kPruneBias, c.prune_bias}});
  SP_ASSERT_OK(PrepareAndMask(c, model, pruner));
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  EXPECT_TRUE(IsCleanPrunedModel(model));
  EXPECT_FALSE(report.approximate);
  EXPECT_LE(report.params_after, report.params_before);
  EXPECT_EQ(report.params_after, model.NumParameters());

  ASSERT_EQ(report.layers.size(), c.masks.size()) << report.ToString();
  int64_t pruned = 0, kept = 0;
  for (const auto& [fqn, mask] : c.masks) {
    // An init-capture: clang before 16 cannot capture a structured binding.
    auto r = std::find_if(report.layers.begin(), report.layers.end(),
                          [&fqn = fqn](const LayerPruneRecord& l) { return l.tensor_fqn == fqn; });
    ASSERT_NE(r, report.layers.end()) << "no report record for " << fqn;
    std::vector<int64_t> both = r->channels_pruned;
    both.insert(both.end(), r->channels_kept_for_exactness.begin(),
                r->channels_kept_for_exactness.end());
    std::sort(both.begin(), both.end());
    EXPECT_EQ(both, PrunedIndices(mask)) << fqn;
    pruned += static_cast<int64_t>(r->channels_pruned.size());
    kept += static_cast<int64_t>(r->channels_kept_for_exactness.size());
  }

  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> expected,
                          ExpectedAfterPrune(c.golden.outputs, report));
  int narrowed = 0;  // outputs that lost channels (an LSTM's sequence output or state)
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i].shape() != c.golden.outputs[i].shape()) ++narrowed;
  }
  float worst = 0.0f;
  for (bool reference : {false, true}) {
    SCOPED_TRACE(reference ? "reference kernels" : "fast kernels");
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> outputs,
                            RunModel(model, c.golden.inputs, {.reference_kernels = reference}));
    ExpectAllClose(outputs, expected, c.golden);
    worst = std::max(worst, MaxAbsDiff(outputs, expected));
  }
  std::cout << "[ masked   ] " << c.golden.name << ": " << pruned << " channels pruned, " << kept
            << " kept for exactness, params " << report.params_before << " -> "
            << report.params_after << ", " << narrowed
            << " output(s) narrowed, max |pruned - PyTorch masked| " << worst << "\n";
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  return std::filesystem::path(info.param).stem().string();
}

INSTANTIATE_TEST_SUITE_P(Seeds, PyTorchMaskedTest,
                         ::testing::ValuesIn(testing::GoldenFiles("masked")), CaseName);

// Every seed network with both prune_bias values is present (a missing fixture would silently
// shrink the parameterized suite).
TEST(PyTorchMaskedFixtures, EveryNetworkWithBothPruneBiasValues) {
  const std::vector<std::string> files = testing::GoldenFiles("masked");
  std::set<std::string> names;
  for (const std::string& f : files) names.insert(std::filesystem::path(f).stem().string());
  for (const char* model :
       {"SimpleLinear", "LinearBias", "LinearActivation", "LinearActivationFunctional",
        "SimpleConv2d", "Conv2dBias", "Conv2dActivation", "Conv2dPadBias", "Conv2dPool",
        "Conv2dPoolFlatten", "Conv2dPoolFlattenFunctional", "LSTMLinearModel_1layer",
        "LSTMLinearModel_2layer", "LSTMLayerNormLinearModel_1layer"}) {
    for (const char* suffix : {"_prune_bias_true", "_prune_bias_false"}) {
      EXPECT_TRUE(names.count(absl::StrCat(model, suffix))) << model << suffix;
    }
  }
  EXPECT_EQ(files.size(), kExpectedFixtures);
  std::cout << "[ masked   ] " << files.size() << " PyTorch masked fixtures\n";
}

// LSTM -> LayerNorm: exact mode keeps every masked unit (the test above compares it);
// approximate mode removes them as the seed does. Only checked to run and shrink the shapes.
TEST(PyTorchMaskedLstmLayerNorm, ApproximateModeRunsAndShrinks) {
  int ran = 0;
  for (const std::string& path : testing::GoldenFiles("masked")) {
    SP_ASSERT_OK_AND_ASSIGN(MaskedCase c, LoadMasked(path));
    if (c.golden.model != "LSTMLayerNormLinearModel") continue;
    SCOPED_TRACE(c.golden.name);
    ++ran;
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, LoadModel(c));
    KeepMasksPruner pruner({{kPruneBias, c.prune_bias}});
    SP_ASSERT_OK(PrepareAndMask(c, model, pruner));
    const int64_t hidden = GetIntAttr(model.root().FindModule("lstm")->attrs(), "hidden_size", -1).value();
    const int64_t layers = GetIntAttr(model.root().FindModule("lstm")->attrs(), "num_layers", -1).value();
    const int64_t removed = static_cast<int64_t>(PrunedIndices(c.masks[0].second).size());
    ASSERT_GT(removed, 0);
    SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune({.approximate = true}));
    EXPECT_TRUE(report.approximate);
    EXPECT_TRUE(IsCleanPrunedModel(model));
    EXPECT_LT(report.params_after, report.params_before);
    EXPECT_EQ(GetIntAttr(model.root().FindModule("lstm")->attrs(), "hidden_size", -1).value(),
              hidden - removed);
    for (const auto& [fqn, mask] : c.masks) {
      // An init-capture: clang before 16 cannot capture a structured binding.
      auto r = std::find_if(
          report.layers.begin(), report.layers.end(),
          [&fqn = fqn](const LayerPruneRecord& l) { return l.tensor_fqn == fqn; });
      ASSERT_NE(r, report.layers.end()) << fqn;
      EXPECT_EQ(r->channels_pruned, PrunedIndices(mask)) << fqn;
      EXPECT_EQ(r->channels_removed_inexactly, PrunedIndices(mask)) << fqn;
    }
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> outputs, RunModel(model, c.golden.inputs));
    ASSERT_EQ(outputs.size(), 3u);
    const Tensor& x = c.golden.inputs[0];  // [T, B, I]
    EXPECT_EQ(outputs[0].shape(), c.golden.outputs[0].shape());
    EXPECT_EQ(outputs[1].shape(), (Shape{layers, x.size(1), hidden - removed}));
    EXPECT_EQ(outputs[2].shape(), (Shape{layers, x.size(1), hidden - removed}));
    // The state outputs lose only masked units, which are exactly zero in the masked model:
    // they still match PyTorch on the kept units.
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> expected,
                            ExpectedAfterPrune(c.golden.outputs, report));
    for (size_t i = 1; i < 3; ++i) {
      EXPECT_TRUE(AllClose(outputs[i], expected[i], c.golden.rtol, c.golden.atol)) << "output " << i;
    }
    auto d = CompareTensors(outputs[0], c.golden.outputs[0]);
    std::cout << "[ masked   ] " << c.golden.name << " approximate: x deviates from PyTorch's masked "
              << "model by max " << (d.ok() ? d->max_abs : -1.0f) << "\n";
  }
  EXPECT_EQ(ran, 2);
}

}  // namespace
}  // namespace structprune
