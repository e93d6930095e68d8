// Structured pruning of LSTM hidden units (upstream's test_prune_lstm_* scenarios, made exact):
//
//   LSTMLinearModel:          x -> lstm -> getitem(0) -> linear -> (decoded, output)
//   LSTMLayerNormLinearModel: x -> lstm -> getitem(0) -> norm -> linear -> (x, (h_n, c_n))
//
// A pruned unit goes as a whole: its rows in the four gate blocks of weight_ih/weight_hh and
// both biases, its weight_hh column, the next layer's (or the Linear's) input column. Masked,
// its hidden state is zero for the whole sequence, so LSTM -> Linear prunes exactly; through a
// LayerNorm exact mode keeps the units and approximate mode removes them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "graph/builder.h"
#include "graph/printer.h"
#include "ops/linear.h"
#include "ops/lstm.h"
#include "ops/norms.h"
#include "pruning/structured_sparsifier.h"
#include "pruning/verify.h"
#include "tests/testing/models.h"
#include "tests/testing/prune_helpers.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::ConfigFor;
using ::structprune::testing::IsCleanPrunedModel;
using ::structprune::testing::KeepMasksPruner;
using ::structprune::testing::MaskWithout;
using ::structprune::testing::OutputShapes;
using ::structprune::testing::ParamShape;
using ::structprune::testing::PrepareMaskPruneVerify;
using ::structprune::testing::PrunedIndices;
using ::structprune::testing::PruneRun;
using ::structprune::testing::SameAsSnapshot;
using ::structprune::testing::StatusIs;
using ::structprune::testing::TakeSnapshot;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kInput = 6, kHidden = 8, kOutput = 4;
constexpr int64_t kSeq = 7, kBatch = 3;  // sequences of 7 steps
// Units pruned per layer: three each, different ones per layer (kPrunedUnits) or the same
// ones (kSameUnits).
using UnitsPerLayer = std::vector<std::vector<int64_t>>;
const UnitsPerLayer kPrunedUnits = {{1, 4, 6}, {0, 3, 7}};
const UnitsPerLayer kSameUnits = {{1, 4, 6}, {1, 4, 6}};
constexpr int64_t kKept = kHidden - 3;

struct LstmCase {
  int64_t layers;
  bool batch_first;
  bool layer_norm;
};

std::string Describe(const LstmCase& c) {
  return absl::StrCat(c.layer_norm ? "LSTMLayerNormLinearModel" : "LSTMLinearModel",
                      " layers=", c.layers, c.batch_first ? " batch_first" : " time_first");
}

// The seed's models (models.h) for batch_first false; the same FQNs and dataflow with
// nn.LSTM(batch_first=True) otherwise.
absl::StatusOr<GraphModule> BuildModel(const LstmCase& c, uint64_t seed = 0) {
  if (!c.batch_first) {
    return c.layer_norm
               ? testing::LSTMLayerNormLinearModel(kInput, kHidden, kOutput, c.layers, seed)
               : testing::LSTMLinearModel(kInput, kHidden, kOutput, c.layers, seed);
  }
  GraphBuilder b(seed);
  b.AddModule("lstm", LstmAttrs{.input_size = kInput,
                                .hidden_size = kHidden,
                                .num_layers = c.layers,
                                .batch_first = true});
  if (c.layer_norm) {
    b.AddModule("norm", OpKind::kLayerNorm,
                LayerNormAttrs{.normalized_shape = {kHidden}}.ToAttrs());
  }
  b.AddModule("linear", LinearAttrs{.in_features = kHidden, .out_features = kOutput});
  Node* x = b.Input("x");
  Node* lstm = b.Call("lstm", x);
  Node* out = b.GetItem(lstm, 0);
  if (c.layer_norm) {
    Node* state = b.GetItem(lstm, 1);
    Node* y = b.Call("linear", b.Call("norm", out));
    b.Output({y, state});
  } else {
    Node* decoded = b.Call("linear", out);
    b.Output({decoded, out});
  }
  return b.Build();
}

Shape InputShape(const LstmCase& c) {
  return c.batch_first ? Shape{kBatch, kSeq, kInput} : Shape{kSeq, kBatch, kInput};
}
// [T, B, n] or [B, T, n].
Shape Seq(const LstmCase& c, int64_t n) {
  return c.batch_first ? Shape{kBatch, kSeq, n} : Shape{kSeq, kBatch, n};
}

std::vector<std::string> LayerWeights(int64_t layers) {
  std::vector<std::string> out;
  for (int64_t k = 0; k < layers; ++k) out.push_back(absl::StrCat("lstm.weight_ih_l", k));
  return out;
}

testing::PruneCase MakeCase(const LstmCase& c, PruneOptions prune = {},
                            const UnitsPerLayer& units = kPrunedUnits) {
  testing::PruneCase pc{
      .config = ConfigFor(LayerWeights(c.layers)), .input_shapes = {InputShape(c)}, .prune = prune};
  for (int64_t k = 0; k < c.layers; ++k) pc.pruned[absl::StrCat("lstm.weight_ih_l", k)] = units[k];
  return pc;
}

std::vector<int64_t> KeptUnits(const std::vector<int64_t>& pruned) {
  std::vector<int64_t> kept;
  for (int64_t j = 0; j < kHidden; ++j) {
    if (std::find(pruned.begin(), pruned.end(), j) == pruned.end()) kept.push_back(j);
  }
  return kept;
}

int64_t IntAttr(const GraphModule& model, const std::string& module, const std::string& name) {
  return GetIntAttr(model.root().FindModule(module)->attrs(), name, -1).value();
}

std::vector<LstmCase> AllCases(bool layer_norm) {
  std::vector<LstmCase> cases;
  for (int64_t layers : {1, 2}) {
    for (bool batch_first : {false, true}) cases.push_back({layers, batch_first, layer_norm});
  }
  return cases;
}

// upstream test_prune_lstm_linear_single_layer / _multiple_layer, checked exactly: pruned ==
// masked over whole sequences, every layer's tensors keep the surviving units' rows in all
// four gate blocks.
TEST(LstmPrune, LinearConsumerPrunesWholeUnitsExactly) {
  for (const LstmCase& c : AllCases(/*layer_norm=*/false)) {
    for (bool prune_bias : {true, false}) {
      SCOPED_TRACE(absl::StrCat(Describe(c), prune_bias ? " prune_bias" : " keep bias"));
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel(c));
      const GraphModule original = model.Clone();
      KeepMasksPruner pruner({{kPruneBias, prune_bias}});
      SP_ASSERT_OK_AND_ASSIGN(PruneRun run, PrepareMaskPruneVerify(pruner, model, MakeCase(c)));
      EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString() << "\n" << run.report.ToString();
      EXPECT_TRUE(IsCleanPrunedModel(model));

      EXPECT_EQ(IntAttr(model, "lstm", "hidden_size"), kKept);
      EXPECT_EQ(IntAttr(model, "lstm", "input_size"), kInput);
      EXPECT_EQ(IntAttr(model, "linear", "in_features"), kKept);
      for (int64_t k = 0; k < c.layers; ++k) {
        const std::string l = absl::StrCat("_l", k);
        EXPECT_EQ(ParamShape(model, "lstm.weight_ih" + l),
                  ShapeToString({4 * kKept, k == 0 ? kInput : kKept}));
        EXPECT_EQ(ParamShape(model, "lstm.weight_hh" + l), ShapeToString({4 * kKept, kKept}));
        EXPECT_EQ(ParamShape(model, "lstm.bias_ih" + l), ShapeToString({4 * kKept}));
        EXPECT_EQ(ParamShape(model, "lstm.bias_hh" + l), ShapeToString({4 * kKept}));
        // Row g * kKept + i of the pruned weight_ih is row g * H + kept[i] of the original.
        const std::vector<int64_t> kept = KeptUnits(kPrunedUnits[k]);
        const std::vector<int64_t> kept_inputs =
            k == 0 ? std::vector<int64_t>{0, 1, 2, 3, 4, 5} : KeptUnits(kPrunedUnits[k - 1]);
        const Tensor& before = *original.root().FindModule("lstm")->parameter("weight_ih" + l);
        const Tensor& after = *model.root().FindModule("lstm")->parameter("weight_ih" + l);
        const int64_t in_before = before.size(1), in_after = after.size(1);
        for (int64_t g = 0; g < 4; ++g) {
          for (size_t i = 0; i < kept.size(); ++i) {
            for (size_t col = 0; col < kept_inputs.size(); ++col) {
              EXPECT_EQ(
                  after.data<float>()[(g * kKept + i) * in_after + col],
                  before.data<float>()[(g * kHidden + kept[i]) * in_before + kept_inputs[col]]);
            }
          }
        }
      }
      EXPECT_EQ(ParamShape(model, "linear.weight"), ShapeToString({kOutput, kKept}));
      EXPECT_EQ(ParamShape(model, "linear.bias"), ShapeToString({kOutput}));

      ASSERT_EQ(run.report.layers.size(), static_cast<size_t>(c.layers));
      for (int64_t k = 0; k < c.layers; ++k) {
        const LayerPruneRecord& r = run.report.layers[k];
        EXPECT_EQ(r.tensor_fqn, absl::StrCat("lstm.weight_ih_l", k));
        EXPECT_EQ(r.channels_pruned, kPrunedUnits[k]);
        EXPECT_THAT(r.channels_kept_for_exactness, IsEmpty());
        EXPECT_EQ(r.channels_before, kHidden);
        EXPECT_EQ(r.channels_after, kKept);
      }
      SP_ASSERT_OK_AND_ASSIGN(auto shapes, OutputShapes(model, {InputShape(c)}));
      EXPECT_THAT(shapes, ElementsAre(Seq(c, kOutput), Seq(c, kKept)));
    }
  }
}

// Through a LayerNorm no slicing is exact: exact mode keeps every masked unit, reports them,
// and the model still computes the masked function.
TEST(LstmPrune, LayerNormConsumerKeepsEveryUnitInExactMode) {
  for (const LstmCase& c : AllCases(/*layer_norm=*/true)) {
    for (bool prune_bias : {true, false}) {
      SCOPED_TRACE(absl::StrCat(Describe(c), prune_bias ? " prune_bias" : " keep bias"));
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel(c));
      KeepMasksPruner pruner({{kPruneBias, prune_bias}});
      SP_ASSERT_OK_AND_ASSIGN(PruneRun run, PrepareMaskPruneVerify(pruner, model, MakeCase(c)));
      EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString();
      EXPECT_TRUE(IsCleanPrunedModel(model));
      EXPECT_EQ(IntAttr(model, "lstm", "hidden_size"), kHidden);
      EXPECT_EQ(ParamShape(model, "lstm.weight_hh_l0"), ShapeToString({4 * kHidden, kHidden}));
      EXPECT_EQ(ParamShape(model, "norm.weight"), ShapeToString({kHidden}));
      EXPECT_EQ(ParamShape(model, "linear.weight"), ShapeToString({kOutput, kHidden}));
      ASSERT_EQ(run.report.layers.size(), static_cast<size_t>(c.layers));
      for (int64_t k = 0; k < c.layers; ++k) {
        const LayerPruneRecord& r = run.report.layers[k];
        EXPECT_EQ(r.channels_kept_for_exactness, kPrunedUnits[k]);
        EXPECT_THAT(r.channels_pruned, IsEmpty());
        EXPECT_EQ(r.channels_after, kHidden);
        EXPECT_THAT(r.kept_reason, HasSubstr("LayerNorm 'norm'"));
      }
      EXPECT_EQ(run.report.KeptForExactness().size(), static_cast<size_t>(c.layers));
      SP_ASSERT_OK_AND_ASSIGN(auto shapes, OutputShapes(model, {InputShape(c)}));
      const Shape state = {c.layers, kBatch, kHidden};
      EXPECT_THAT(shapes, ElementsAre(Seq(c, kOutput), state, state));
    }
  }
}

// Approximate mode prunes the units as the seed does: shapes shrink, the report says which
// units went inexactly, and the measured deviation is nonzero. (Every layer prunes the same
// units here, so the state outputs h_n, c_n keep one set of units; see the next test.)
TEST(LstmPrune, LayerNormConsumerPrunesInApproximateMode) {
  for (const LstmCase& c : AllCases(/*layer_norm=*/true)) {
    SCOPED_TRACE(Describe(c));
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel(c));
    KeepMasksPruner pruner;
    SP_ASSERT_OK_AND_ASSIGN(
        PruneRun run,
        PrepareMaskPruneVerify(pruner, model, MakeCase(c, {.approximate = true}, kSameUnits)));
    EXPECT_TRUE(run.report.approximate);
    EXPECT_FALSE(run.verify.equivalent) << run.verify.ToString();
    EXPECT_GT(run.verify.max_abs_diff, 0.0f);
    EXPECT_TRUE(IsCleanPrunedModel(model));
    EXPECT_EQ(IntAttr(model, "lstm", "hidden_size"), kKept);
    EXPECT_EQ(ParamShape(model, "lstm.weight_ih_l0"), ShapeToString({4 * kKept, kInput}));
    EXPECT_EQ(ParamShape(model, "lstm.weight_hh_l0"), ShapeToString({4 * kKept, kKept}));
    EXPECT_EQ(ParamShape(model, "norm.weight"), ShapeToString({kKept}));
    EXPECT_EQ(ParamShape(model, "norm.bias"), ShapeToString({kKept}));
    EXPECT_EQ(GetIntsAttr(model.root().FindModule("norm")->attrs(), "normalized_shape", {}).value(),
              std::vector<int64_t>{kKept});
    EXPECT_EQ(ParamShape(model, "linear.weight"), ShapeToString({kOutput, kKept}));
    ASSERT_EQ(run.report.layers.size(), static_cast<size_t>(c.layers));
    for (int64_t k = 0; k < c.layers; ++k) {
      const LayerPruneRecord& r = run.report.layers[k];
      EXPECT_EQ(r.channels_pruned, kSameUnits[k]);
      EXPECT_EQ(r.channels_removed_inexactly, kSameUnits[k]);
      EXPECT_THAT(r.channels_kept_for_exactness, IsEmpty());
      EXPECT_THAT(r.inexact_reason, HasSubstr("LayerNorm 'norm'"));
    }
    SP_ASSERT_OK_AND_ASSIGN(auto shapes, OutputShapes(model, {InputShape(c)}));
    const Shape state = {c.layers, kBatch, kKept};
    EXPECT_THAT(shapes, ElementsAre(Seq(c, kOutput), state, state));
  }
}

// Two layers pruning different units: h_n[0] loses layer 0's units and h_n[1] layer 1's. The
// pruned state outputs are still the masked ones restricted to each layer's kept units, and
// the equivalence check must be able to compare them (here x deviates, approximate mode, but
// h_n and c_n are exact).
TEST(LstmPrune, StateOutputsOfLayersPruningDifferentUnitsAreVerifiable) {
  for (bool batch_first : {false, true}) {
    const LstmCase c{2, batch_first, true};
    SCOPED_TRACE(Describe(c));
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel(c));
    KeepMasksPruner pruner;
    auto run = PrepareMaskPruneVerify(pruner, model, MakeCase(c, {.approximate = true}));
    EXPECT_THAT(run, testing::IsOk());
    EXPECT_EQ(IntAttr(model, "lstm", "hidden_size"), kKept);
    SP_ASSERT_OK_AND_ASSIGN(auto shapes, OutputShapes(model, {InputShape(c)}));
    const Shape state = {2, kBatch, kKept};
    EXPECT_THAT(shapes, ElementsAre(Seq(c, kOutput), state, state));
  }
}

// The seed's per-row layout (upstream's BottomHalfLSTMPruner: the bottom half of each of the
// four gate blocks) is accepted when the blocks agree and prunes like the per-unit mask.
TEST(LstmPrune, SeedRowLayoutMaskIsAcceptedWhenGateBlocksAgree) {
  const LstmCase c{1, false, false};
  std::vector<int64_t> rows;
  for (int64_t g = 0; g < 4; ++g) {
    for (int64_t j = kHidden / 2; j < kHidden; ++j) rows.push_back(g * kHidden + j);
  }
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel(c));
  KeepMasksPruner pruner;
  SP_ASSERT_OK_AND_ASSIGN(
      PruneRun run, PrepareMaskPruneVerify(
                        pruner, model,
                        {.config = SparsityConfig{{{kTensorFqn, std::string("lstm.weight_ih_l0")},
                                                   {kMask, MaskWithout(4 * kHidden, rows)}}},
                         .input_shapes = {InputShape(c)}}));
  EXPECT_EQ(run.masks.at("lstm.weight_ih_l0").numel(), kHidden);
  EXPECT_THAT(PrunedIndices(run.masks.at("lstm.weight_ih_l0")), ElementsAre(4, 5, 6, 7));
  EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString();

  // Same result as the per-unit mask.
  SP_ASSERT_OK_AND_ASSIGN(GraphModule per_unit, BuildModel(c));
  KeepMasksPruner unit_pruner;
  SP_ASSERT_OK(PrepareMaskPruneVerify(unit_pruner, per_unit,
                                      {.config = ConfigFor({"lstm.weight_ih_l0"}),
                                       .pruned = {{"lstm.weight_ih_l0", {4, 5, 6, 7}}},
                                       .input_shapes = {InputShape(c)}})
                   .status());
  EXPECT_EQ(GraphToString(model), GraphToString(per_unit));
  const auto a = model.root().NamedParameters(), b = per_unit.root().NamedParameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(a[i].second.Equals(b[i].second)) << a[i].first;
  }
  EXPECT_EQ(IntAttr(model, "lstm", "hidden_size"), 4);
}

TEST(LstmPrune, SeedRowLayoutMaskIsRejectedWhenGateBlocksDisagree) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel({2, false, false}));
  const testing::ModelSnapshot before = TakeSnapshot(model);
  // Unit 3 pruned in gate blocks i, f, o but not g.
  const std::vector<int64_t> rows = {3, kHidden + 3, 3 * kHidden + 3};
  KeepMasksPruner pruner;
  EXPECT_THAT(pruner.Prepare(model, SparsityConfig{{{kTensorFqn, std::string("lstm.weight_ih_l0")}},
                                                   {{kTensorFqn, std::string("lstm.weight_ih_l1")},
                                                    {kMask, MaskWithout(4 * kHidden, rows)}}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "'lstm.weight_ih_l1': mask of 32 rows disagrees between gate blocks for "
                       "hidden unit 3; an LSTM unit is pruned as a whole (give one entry per "
                       "unit, 8 in all)"));
  EXPECT_FALSE(pruner.prepared());
  EXPECT_TRUE(SameAsSnapshot(before, model));
}

TEST(LstmPrune, MaskOfAnotherLengthIsRejected) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel({1, false, false}));
  KeepMasksPruner pruner;
  EXPECT_THAT(
      pruner.Prepare(model, SparsityConfig{{{kTensorFqn, std::string("lstm.weight_ih_l0")},
                                            {kMask, MaskWithout(12, {})}}}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "config group 0 ('lstm.weight_ih_l0'): mask has 12 entries, expected 8 (or 32)"));
}

// nn.LSTM has one hidden_size: layers that keep different numbers of units cannot be pruned,
// and the failed Prune() changes nothing.
TEST(LstmPrune, LayersPruningDifferentUnitCountsAreRejected) {
  for (bool layer_norm : {false, true}) {
    SCOPED_TRACE(layer_norm ? "layer norm" : "linear");
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel({2, false, layer_norm}));
    KeepMasksPruner pruner;
    SP_ASSERT_OK(pruner.Prepare(model, ConfigFor(LayerWeights(2))));
    SP_ASSERT_OK(pruner.SetMask("lstm.weight_ih_l0", MaskWithout(kHidden, {1, 4, 6})));
    SP_ASSERT_OK(pruner.SetMask("lstm.weight_ih_l1", MaskWithout(kHidden, {0, 3})));
    const testing::ModelSnapshot before = TakeSnapshot(model);
    const std::string pattern =
        layer_norm ? "LSTM -> getitem(0) -> LayerNorm -> Linear" : "LSTM -> getitem(0) -> Linear";
    for (bool approximate : {false, true}) {
      EXPECT_THAT(pruner.Prune({.approximate = approximate}),
                  StatusIs(absl::StatusCode::kInvalidArgument,
                           "pruning 'lstm' [" + pattern +
                               "]: LSTM 'lstm': layers keep different numbers of hidden units "
                               "(layer 0: 5, layer 1: 6); nn.LSTM has one hidden_size"));
      EXPECT_TRUE(SameAsSnapshot(before, model));
      EXPECT_TRUE(pruner.prepared());
    }
  }
}

TEST(LstmPrune, PruningOnlyTheFirstOfTwoLayersIsRejected) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel({2, true, false}));
  KeepMasksPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"lstm.weight_ih_l0"})));
  SP_ASSERT_OK(pruner.SetMask("lstm.weight_ih_l0", MaskWithout(kHidden, {2})));
  const testing::ModelSnapshot before = TakeSnapshot(model);
  EXPECT_THAT(pruner.Prune(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(layer 0: 7, layer 1: 8)")));
  EXPECT_TRUE(SameAsSnapshot(before, model));
}

// Upstream configures weight_hh_l<k> next to weight_ih_l<k>; here a layer is configured once,
// by its weight_ih, and its mask covers the whole unit.
TEST(LstmPrune, ConfiguringWeightHhIsInvalid) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel({1, false, false}));
  KeepMasksPruner pruner;
  EXPECT_THAT(pruner.Prepare(model, ConfigFor({"lstm.weight_ih_l0", "lstm.weight_hh_l0"})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("config group 1 ('lstm.weight_hh_l0'): 'weight_hh_l0' of a LSTM "
                                 "is not prunable")));
}

// Prepare masks every tensor of the layer: gate rows of weight_ih, weight_hh (and its column)
// and both biases read zero for a masked unit.
TEST(LstmPrune, PrepareMasksWholeUnits) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel({1, false, false}));
  KeepMasksPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"lstm.weight_ih_l0"})));
  SP_ASSERT_OK(pruner.SetMask("lstm.weight_ih_l0", MaskWithout(kHidden, {2})));
  const Module& lstm = *model.root().FindModule("lstm");
  for (const char* name : {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(lstm.IsParametrized(name));
    SP_ASSERT_OK_AND_ASSIGN(Tensor t, lstm.Effective(name));
    const int64_t cols = t.dim() == 2 ? t.size(1) : 1;
    for (int64_t r = 0; r < 4 * kHidden; ++r) {
      for (int64_t col = 0; col < cols; ++col) {
        const bool unit_row = r % kHidden == 2;
        const bool unit_col = std::string(name) == "weight_hh_l0" && col == 2;
        if (unit_row || unit_col)
          EXPECT_EQ(t.data<float>()[r * cols + col], 0.0f) << r << "," << col;
      }
    }
  }
  EXPECT_THAT(lstm.forward_hooks(), IsEmpty());
}

// Found by the property suite (tests/property): pruning every unit left an LSTM of
// hidden_size 0, which cannot run. A layer losing every unit keeps its first, as Linear and
// Conv2d layers keep a channel.
TEST(LstmPrune, LayerLosingEveryUnitKeepsOne) {
  const LstmCase c{1, false, false};
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildModel(c));
  KeepMasksPruner pruner;
  const std::vector<int64_t> all = {0, 1, 2, 3, 4, 5, 6, 7};
  SP_ASSERT_OK_AND_ASSIGN(PruneRun run, PrepareMaskPruneVerify(pruner, model, MakeCase(c, {}, {all})));
  EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString();
  EXPECT_EQ(IntAttr(model, "lstm", "hidden_size"), 1);
  ASSERT_EQ(run.report.layers.size(), 1u);
  EXPECT_THAT(run.report.layers[0].channels_pruned, ElementsAre(1, 2, 3, 4, 5, 6, 7));
  EXPECT_THAT(run.report.layers[0].channels_kept_for_exactness, ElementsAre(0));
  EXPECT_THAT(run.report.layers[0].kept_reason, HasSubstr("would leave the layer empty"));
}

// x -> lstm (2 layers) -> getitem(0) -> fc -> out; lstm -> getitem(1) -> getitem(0) = h_n,
// returned as it is or read by fc_state.
absl::StatusOr<GraphModule> LstmReturningHn(bool hn_feeds_linear) {
  GraphBuilder b(5);
  b.AddModule("lstm", LstmAttrs{.input_size = kInput, .hidden_size = kHidden, .num_layers = 2});
  b.AddModule("fc", LinearAttrs{.in_features = kHidden, .out_features = kOutput});
  if (hn_feeds_linear) b.AddModule("fc_state", LinearAttrs{.in_features = kHidden, .out_features = kOutput});
  Node* lstm = b.Call("lstm", b.Input("x"));
  Node* h_n = b.GetItem(b.GetItem(lstm, 1), 0);
  if (hn_feeds_linear) h_n = b.Call("fc_state", h_n);
  b.Output({b.Call("fc", b.GetItem(lstm, 0)), h_n});
  return b.Build();
}

// Found by the property suite: h_n returned alone lost the pruned units without the report
// saying so, so the pruned model could not be compared with the masked one.
TEST(LstmPrune, HiddenStateReturnedAloneLosesThePrunedUnits) {
  const LstmCase c{2, false, false};
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, LstmReturningHn(false));
  KeepMasksPruner pruner;
  SP_ASSERT_OK_AND_ASSIGN(PruneRun run, PrepareMaskPruneVerify(pruner, model, MakeCase(c)));
  EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString();
  SP_ASSERT_OK_AND_ASSIGN(auto shapes, OutputShapes(model, {InputShape(c)}));
  EXPECT_THAT(shapes, ElementsAre(Seq(c, kOutput), Shape({2, kBatch, kKept})));
}

// Found by the property suite: h_n read by a Linear kept its width while the LSTM lost units,
// and the pruned model could not run. Pruning is refused and the model left as it was.
TEST(LstmPrune, StateReadByALayerIsRejected) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, LstmReturningHn(true));
  KeepMasksPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor(LayerWeights(2))));
  SP_ASSERT_OK(pruner.SetMask("lstm.weight_ih_l0", MaskWithout(kHidden, {1, 4, 6})));
  SP_ASSERT_OK(pruner.SetMask("lstm.weight_ih_l1", MaskWithout(kHidden, {1, 4, 6})));
  const testing::ModelSnapshot before = TakeSnapshot(model);
  EXPECT_THAT(pruner.Prune(), StatusIs(absl::StatusCode::kUnimplemented,
                                       HasSubstr("its state (h_n, c_n) is read by 'fc_state'")));
  EXPECT_TRUE(SameAsSnapshot(before, model));
}

}  // namespace
}  // namespace structprune
