// The pruners (SaliencyPruner, LSTMSaliencyPruner, FPGMPruner): upstream's update_mask tests
// (test/ao/sparsity/test_structured_sparsifier.py) with hand-set weights, so the pruned
// channels are known, plus the corner cases of each selection rule.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "graph/builder.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/lstm.h"
#include "pruning/pruners/fpgm_pruner.h"
#include "pruning/pruners/lstm_saliency_pruner.h"
#include "pruning/pruners/saliency_pruner.h"
#include "pruning/verify.h"
#include "tests/testing/models.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// A [rows, inner...] tensor whose row r holds `row_values[r]` everywhere.
Tensor RowsOf(const Shape& shape, const std::vector<float>& row_values) {
  const int64_t inner = NumElements(shape) / shape[0];
  std::vector<float> values;
  for (float v : row_values) values.insert(values.end(), inner, v);
  return *Tensor::FromVector(shape, values);
}

Tensor Matrix(int64_t rows, int64_t cols, const std::vector<float>& values) {
  return *Tensor::FromVector({rows, cols}, values);
}

std::vector<bool> Bools(const Tensor& mask) {
  return std::vector<bool>(mask.data<bool>(), mask.data<bool>() + mask.numel());
}

absl::StatusOr<std::vector<bool>> MaskAfterStep(BaseStructuredSparsifier& pruner,
                                                GraphModule& model, const SparsityConfig& config,
                                                const std::string& fqn) {
  if (absl::Status s = pruner.Prepare(model, config); !s.ok()) return s;
  if (absl::Status s = pruner.Step(); !s.ok()) return s;
  absl::StatusOr<Tensor> mask = pruner.GetMask(fqn);
  if (!mask.ok()) return mask.status();
  return Bools(*mask);
}

// x -> fc(in_features -> rows) -> y, with fc.weight set by hand.
absl::StatusOr<GraphModule> OneLinear(const Tensor& weight, bool bias = false) {
  GraphBuilder b;
  Module* fc = b.AddModule(
      "fc",
      LinearAttrs{.in_features = weight.size(1), .out_features = weight.size(0), .bias = bias});
  if (fc != nullptr) fc->SetParameter("weight", weight);
  b.Output(b.Call("fc", b.Input("x")));
  return b.Build();
}

// x [T, B, in] -> lstm -> getitem(0) -> linear, with the layer-0 tensors set by hand
// (biases left as initialized when not given).
absl::StatusOr<GraphModule> OneLstm(const Tensor& weight_ih, const Tensor& weight_hh) {
  const int64_t H = weight_hh.size(1);
  GraphBuilder b;
  Module* lstm = b.AddModule("lstm", LstmAttrs{.input_size = weight_ih.size(1), .hidden_size = H});
  b.AddModule("linear", LinearAttrs{.in_features = H, .out_features = 2});
  if (lstm != nullptr) {
    lstm->SetParameter("weight_ih_l0", weight_ih);
    lstm->SetParameter("weight_hh_l0", weight_hh);
  }
  b.Output(b.Call("linear", b.GetItem(b.Call("lstm", b.Input("x")), 0)));
  return b.Build();
}

SparsityConfig OneGroup(const std::string& fqn, std::optional<double> sparsity_level) {
  Options group = {{kTensorFqn, fqn}};
  if (sparsity_level) group[kSparsityLevel] = *sparsity_level;
  return {group};
}

// Exposes the protected UpdateMask for inputs no config can produce.
template <typename Pruner>
class Exposed : public Pruner {
 public:
  using Pruner::Pruner;
  using Pruner::UpdateMask;
};

// ---------------------------------------------------------------------------------------
// SaliencyPruner

// Upstream test_saliency_pruner_update_mask: SimpleLinear's linear1 [4, 4] with rows of 1s,
// 2s, 3s and 4s at sparsity 0.5 loses its first two rows.
//   x -> seq.0 -> seq.1 -> seq.2 -> linear1 [4 -> 4] -> linear2 [4 -> 10]
//   after: linear1 [4 -> 2] (rows 2, 3), linear2 [2 -> 10]
TEST(SaliencyPruner, PrunesLowestL1RowsOfLinearLikeUpstream) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  model.root().FindModule("linear1")->SetParameter("weight", RowsOf({4, 4}, {1, 2, 3, 4}));
  const Tensor linear2_before = model.root().FindModule("linear2")->parameter("weight")->Clone();
  SaliencyPruner pruner;  // upstream SaliencyPruner({}): C++ finds `({})` ambiguous
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<bool> mask,
      MaskAfterStep(pruner, model, OneGroup("linear1.weight", 0.5), "linear1.weight"));
  EXPECT_THAT(mask, ElementsAre(false, false, true, true));

  SP_ASSERT_OK(pruner.Prune());
  const Tensor* linear1 = model.root().FindModule("linear1")->parameter("weight");
  EXPECT_TRUE(linear1->Equals(RowsOf({2, 4}, {3, 4}))) << linear1->DebugString();
  const Tensor* linear2 = model.root().FindModule("linear2")->parameter("weight");
  ASSERT_EQ(linear2->shape(), Shape({10, 2}));
  for (int64_t r = 0; r < 10; ++r) {
    for (int64_t c = 0; c < 2; ++c) {
      EXPECT_EQ(linear2->data<float>()[r * 2 + c], linear2_before.data<float>()[r * 4 + 2 + c]);
    }
  }
}

// The L1 norm takes absolute values: a filter of -3s is the most salient.
TEST(SaliencyPruner, PrunesLowestL1FiltersOfConv2d) {
  for (const auto& [level, expected] : std::vector<std::pair<double, std::vector<bool>>>{
           {0.5, {false, true, false, true}},    // int(2.0) = 2: L1 4.5 and 9
           {0.75, {false, true, false, false}},  // int(3.0) = 3
           {0.0, {true, true, true, true}}}) {
    GraphBuilder b;
    Module* conv = b.AddModule(
        "conv", Conv2dAttrs{.in_channels = 1, .out_channels = 4, .kernel_size = {3, 3}});
    ASSERT_NE(conv, nullptr);
    // weights [OC=4, IC=1, 3, 3]: filter L1 norms 4.5, 27, 9, 18.
    conv->SetParameter("weight", RowsOf({4, 1, 3, 3}, {0.5f, -3.0f, 1.0f, 2.0f}));
    b.Output(b.Call("conv", b.Input("x")));
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
    SaliencyPruner pruner;
    SP_ASSERT_OK_AND_ASSIGN(
        std::vector<bool> mask,
        MaskAfterStep(pruner, model, OneGroup("conv.weight", level), "conv.weight"));
    EXPECT_EQ(mask, expected) << "sparsity_level " << level;
  }
}

// int(len(mask) * sparsity_level) truncates: 4 rows at 0.7 prune 2, at 0.99 prune 3.
TEST(SaliencyPruner, TruncatesChannelCountLikePythonInt) {
  for (const auto& [level, pruned] :
       std::vector<std::pair<double, int>>{{0.7, 2}, {0.99, 3}, {0.2, 0}}) {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(RowsOf({4, 3}, {4, 3, 2, 1})));
    SaliencyPruner pruner;
    SP_ASSERT_OK_AND_ASSIGN(
        std::vector<bool> mask,
        MaskAfterStep(pruner, model, OneGroup("fc.weight", level), "fc.weight"));
    std::vector<bool> expected(4, true);
    for (int i = 0; i < pruned; ++i) expected[3 - i] = false;  // lowest norms last
    EXPECT_EQ(mask, expected) << "sparsity_level " << level;
  }
}

TEST(SaliencyPruner, BreaksTiesTowardLowerIndex) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(RowsOf({4, 3}, {2, 2, 2, 2})));
  SaliencyPruner pruner;
  SP_ASSERT_OK_AND_ASSIGN(std::vector<bool> mask,
                          MaskAfterStep(pruner, model, OneGroup("fc.weight", 0.5), "fc.weight"));
  EXPECT_THAT(mask, ElementsAre(false, false, true, true));
}

// Upstream scores getattr(module, name), the masked weight, and only sets entries false: a row
// masked beforehand (the largest, row 3) scores 0, is picked again and stays masked; only one
// more row goes.
TEST(SaliencyPruner, ScoresMaskedWeightAndKeepsMaskedEntries) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(RowsOf({4, 3}, {1, 2, 3, 4})));
  SparsityConfig config = OneGroup("fc.weight", 0.5);
  config[0][kMask] = *Tensor::FromBools({4}, {true, true, true, false});
  SaliencyPruner pruner;
  SP_ASSERT_OK_AND_ASSIGN(std::vector<bool> mask,
                          MaskAfterStep(pruner, model, config, "fc.weight"));
  EXPECT_THAT(mask, ElementsAre(false, true, true, false));
  // A second step picks the same rows: masks do not compound.
  SP_ASSERT_OK(pruner.Step());
  SP_ASSERT_OK_AND_ASSIGN(Tensor again, pruner.GetMask("fc.weight"));
  EXPECT_THAT(Bools(again), ElementsAre(false, true, true, false));
}

// weight_ih [4H = 12, 2], gate blocks i, f, g, o. Unit 0 has a large input gate but small
// other gates; summed over the four gates unit 1 (L1 8) is below unit 2 (10) and unit 0 (10.6).
// weight_hh is not scored by SaliencyPruner.
Tensor GateRows(const std::vector<std::vector<float>>& gates, int64_t cols) {
  std::vector<float> rows;
  for (const auto& gate : gates) rows.insert(rows.end(), gate.begin(), gate.end());
  return RowsOf({static_cast<int64_t>(rows.size()), cols}, rows);
}

TEST(SaliencyPruner, ScoresLstmUnitsOverTheirFourGateRows) {
  const Tensor weight_ih = GateRows({{5, 1, 2}, {0.1f, 1, 1}, {-0.1f, 1, 1}, {0.1f, 1, 1}}, 2);
  const Tensor weight_hh = GateRows({{9, 9, 0}, {9, 9, 0}, {9, 9, 0}, {9, 9, 0}}, 3);
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLstm(weight_ih, weight_hh));
  SaliencyPruner pruner;
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<bool> mask,
      MaskAfterStep(pruner, model, OneGroup("lstm.weight_ih_l0", 0.5), "lstm.weight_ih_l0"));
  EXPECT_THAT(mask, ElementsAre(true, false, true));  // int(3 * 0.5) = 1 unit
}

// Config validation only admits Linear/Conv2d/LSTM weights, all of rank >= 2, so the rank
// check is reached by calling UpdateMask directly.
TEST(SaliencyPruner, RejectsWeightOfRankBelowTwo) {
  Module fc(OpKind::kLinear, {});
  fc.SetParameter("weight", *Tensor::FromVector({3}, {1, 2, 3}));
  ConfigGroup group{.tensor_fqn = "head.fc.weight",
                    .module_fqn = "head.fc",
                    .tensor_name = "weight",
                    .options = {{kSparsityLevel, 0.5}}};
  Tensor mask = *Tensor::FromBools({3}, {true, true, true});
  Exposed<SaliencyPruner> pruner;
  EXPECT_THAT(pruner.UpdateMask(fc, group, mask),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("head.fc.weight"), HasSubstr("rank 2"), HasSubstr("[3]"))));
  EXPECT_THAT(Bools(mask), ElementsAre(true, true, true));
}

// Upstream has no default sparsity_level for SaliencyPruner (kwargs["sparsity_level"]).
TEST(SaliencyPruner, RequiresSparsityLevel) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(RowsOf({4, 3}, {1, 2, 3, 4})));
  SaliencyPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model, OneGroup("fc.weight", std::nullopt)));
  EXPECT_THAT(pruner.Step(), StatusIs(absl::StatusCode::kInvalidArgument,
                                      AllOf(HasSubstr("fc.weight"), HasSubstr("sparsity_level"))));
  // From the pruner's defaults instead.
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model2, OneLinear(RowsOf({4, 3}, {1, 2, 3, 4})));
  SaliencyPruner with_default({{kSparsityLevel, 0.25}});
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<bool> mask,
      MaskAfterStep(with_default, model2, OneGroup("fc.weight", std::nullopt), "fc.weight"));
  EXPECT_THAT(mask, ElementsAre(false, true, true, true));
}

TEST(Pruners, StepChangesNothingWhenMaskUpdateIsDisabled) {
  std::vector<std::unique_ptr<BaseStructuredSparsifier>> pruners;
  pruners.push_back(std::make_unique<SaliencyPruner>(Options{{kSparsityLevel, 0.5}}));
  pruners.push_back(std::make_unique<LSTMSaliencyPruner>(Options{{kSparsityLevel, 0.5}}));
  pruners.push_back(std::make_unique<FPGMPruner>(0.5));
  for (auto& pruner : pruners) {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(RowsOf({4, 3}, {1, 2, 3, 4})));
    SparsityConfig config = OneGroup("fc.weight", std::nullopt);
    config[0][kMask] = *Tensor::FromBools({4}, {true, false, true, true});
    SP_ASSERT_OK(pruner->Prepare(model, config));
    pruner->EnableMaskUpdate(false);
    SP_ASSERT_OK(pruner->Step());
    SP_ASSERT_OK_AND_ASSIGN(Tensor mask, pruner->GetMask("fc.weight"));
    EXPECT_THAT(Bools(mask), ElementsAre(true, false, true, true));
    pruner->EnableMaskUpdate(true);
    SP_ASSERT_OK(pruner->Step());
    SP_ASSERT_OK_AND_ASSIGN(mask, pruner->GetMask("fc.weight"));
    EXPECT_NE(Bools(mask), std::vector<bool>({true, false, true, true}));
  }
}

// Scales each row of `w` [rows, cols] to the given L1 norm.
void SetRowL1(Tensor& w, const std::vector<float>& norms) {
  const int64_t cols = w.size(1);
  for (int64_t r = 0; r < w.size(0); ++r) {
    float* row = w.data<float>() + r * cols;
    float l1 = 0;
    for (int64_t c = 0; c < cols; ++c) l1 += std::abs(row[c]);
    for (int64_t c = 0; c < cols; ++c) row[c] *= norms[r] / l1;
  }
}

// LinearBias: x [*, 7] -> seq.0 [7 -> 5, bias] -> seq.1 [5 -> 6] -> seq.2 [6 -> 3, bias] -> ...
// After Step: seq.0 loses rows 1, 3 (int(2.5) = 2 lowest), seq.1 rows 2, 0, 4 (int(3.0) = 3):
//   seq.0 [7 -> 3] -> seq.1 [3 -> 3] -> seq.2 [3 -> 3] -> seq.3 -> seq.4
TEST(SaliencyPruner, PrunedLinearChainLosesRowsAndStaysEquivalent) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearBias(/*seed=*/7));
  SetRowL1(*model.root().FindModule("seq.0")->mutable_parameter("weight"), {3, 1, 4, 1.5f, 5});
  SetRowL1(*model.root().FindModule("seq.1")->mutable_parameter("weight"), {2, 6, 1, 5, 3, 4});
  const Tensor seq0_before = model.root().FindModule("seq.0")->parameter("weight")->Clone();
  SaliencyPruner pruner({{kSparsityLevel, 0.5}});
  SP_ASSERT_OK(pruner.Prepare(model, SparsityConfig{{{kTensorFqn, std::string("seq.0.weight")}},
                                                    {{kTensorFqn, std::string("seq.1.weight")}}}));
  SP_ASSERT_OK(pruner.Step());
  SP_ASSERT_OK_AND_ASSIGN(Tensor mask0, pruner.GetMask("seq.0.weight"));
  SP_ASSERT_OK_AND_ASSIGN(Tensor mask1, pruner.GetMask("seq.1.weight"));
  EXPECT_THAT(Bools(mask0), ElementsAre(true, false, true, false, true));
  EXPECT_THAT(Bools(mask1), ElementsAre(false, true, false, true, false, true));

  const GraphModule masked = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  const Module& root = model.root();
  EXPECT_EQ(root.FindModule("seq.0")->parameter("weight")->shape(), Shape({3, 7}));
  EXPECT_EQ(root.FindModule("seq.0")->parameter("bias")->shape(), Shape({3}));
  EXPECT_EQ(root.FindModule("seq.1")->parameter("weight")->shape(), Shape({3, 3}));
  EXPECT_EQ(root.FindModule("seq.2")->parameter("weight")->shape(), Shape({3, 3}));
  // The kept rows are rows 0, 2, 4 of the original, unchanged.
  const Tensor* seq0 = root.FindModule("seq.0")->parameter("weight");
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t c = 0; c < 7; ++c) {
      EXPECT_EQ(seq0->data<float>()[r * 7 + c], seq0_before.data<float>()[(2 * r) * 7 + c]);
    }
  }
  SP_ASSERT_OK_AND_ASSIGN(VerifyResult v, VerifyEquivalence(masked, model, {{4, 7}}, report));
  EXPECT_TRUE(v.equivalent) << v.ToString();
}

// ---------------------------------------------------------------------------------------
// LSTMSaliencyPruner

// Upstream test_lstm_saliency_pruner_update_mask, LSTMLinearModel(2, 2, 2, 1). Upstream masks
// each gate block separately; its weights prune unit 0 of gates i and g but unit 1 of gates f
// and o. Our masks remove whole units, so here the blocks agree (unit 0 is the smaller in every
// gate) and the expected tensors are upstream's: the rows, column and bias entries of unit 1.
TEST(LSTMSaliencyPruner, PrunesLowestUnitLikeUpstream) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LSTMLinearModel(2, 2, 2, 1));
  Module* lstm = model.root().FindModule("lstm");
  const Tensor manual = Matrix(8, 2, {1, 1, 2, 2, 1, 1, 2, 2, -1, -1, -2, -2, -1, -1, -2, -2});
  const Tensor bias = *Tensor::FromVector({8}, {1, 2, 1, 2, -1, -2, -1, -2});  // manual[:, 0]
  lstm->SetParameter("weight_ih_l0", manual.Clone());
  lstm->SetParameter("weight_hh_l0", manual.Clone());
  lstm->SetParameter("bias_ih_l0", bias.Clone());
  lstm->SetParameter("bias_hh_l0", bias.Clone());
  LSTMSaliencyPruner pruner({{kSparsityLevel, 0.5}});
  SP_ASSERT_OK(
      pruner.Prepare(model, SparsityConfig{{{kTensorFqn, std::string("lstm.weight_ih_l0")}}}));
  SP_ASSERT_OK(pruner.Step());
  SP_ASSERT_OK_AND_ASSIGN(Tensor mask, pruner.GetMask("lstm.weight_ih_l0"));
  EXPECT_THAT(Bools(mask), ElementsAre(false, true));

  const GraphModule masked = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  lstm = model.root().FindModule("lstm");
  EXPECT_TRUE(lstm->parameter("weight_ih_l0")->Equals(Matrix(4, 2, {2, 2, 2, 2, -2, -2, -2, -2})))
      << lstm->parameter("weight_ih_l0")->DebugString();
  EXPECT_TRUE(lstm->parameter("weight_hh_l0")->Equals(Matrix(4, 1, {2, 2, -2, -2})))
      << lstm->parameter("weight_hh_l0")->DebugString();
  for (const char* name : {"bias_ih_l0", "bias_hh_l0"}) {
    EXPECT_TRUE(lstm->parameter(name)->Equals(*Tensor::FromVector({4}, {2, 2, -2, -2}))) << name;
  }
  // Both models run (upstream's check); ours are also equivalent.
  SP_ASSERT_OK_AND_ASSIGN(VerifyResult v, VerifyEquivalence(masked, model, {{3, 1, 2}}, report));
  EXPECT_TRUE(v.equivalent) << v.ToString();
}

// Upstream scores weight_hh_lk too (configured on its own there). With weight_ih favouring unit
// 0 slightly and weight_hh favouring unit 1 strongly, LSTMSaliencyPruner prunes unit 1 where
// SaliencyPruner (weight_ih only) prunes unit 0.
TEST(LSTMSaliencyPruner, ScoresWeightHhRowsToo) {
  const Tensor weight_ih = GateRows({{1, 2}, {1, 2}, {1, 2}, {1, 2}}, 2);  // unit L1 8 vs 16
  const Tensor weight_hh = GateRows({{9, 1}, {9, 1}, {9, 1}, {9, 1}}, 2);  // unit L1 72 vs 8
  for (bool lstm_pruner : {true, false}) {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLstm(weight_ih, weight_hh));
    std::unique_ptr<BaseStructuredSparsifier> pruner;
    if (lstm_pruner) {
      pruner = std::make_unique<LSTMSaliencyPruner>(Options{{kSparsityLevel, 0.5}});
    } else {
      pruner = std::make_unique<SaliencyPruner>(Options{{kSparsityLevel, 0.5}});
    }
    SP_ASSERT_OK_AND_ASSIGN(
        std::vector<bool> mask,
        MaskAfterStep(*pruner, model, OneGroup("lstm.weight_ih_l0", std::nullopt),
                      "lstm.weight_ih_l0"));
    if (lstm_pruner) {
      EXPECT_THAT(mask, ElementsAre(true, false));
    } else {
      EXPECT_THAT(mask, ElementsAre(false, true));
    }
  }
}

// Upstream would cut a Linear weight into four row blocks as if gate-packed (here 4 blocks of
// one row, int(1 * 0.5) = 0 pruned each); we score it as SaliencyPruner does.
TEST(LSTMSaliencyPruner, ScoresNonLstmWeightsLikeSaliencyPruner) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(RowsOf({4, 3}, {3, 1, 4, 2})));
  LSTMSaliencyPruner pruner({{kSparsityLevel, 0.5}});
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<bool> mask,
      MaskAfterStep(pruner, model, OneGroup("fc.weight", std::nullopt), "fc.weight"));
  EXPECT_THAT(mask, ElementsAre(true, false, true, false));
}

TEST(LSTMSaliencyPruner, RequiresSparsityLevel) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LSTMLinearModel(2, 2, 2, 1));
  LSTMSaliencyPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model, OneGroup("lstm.weight_ih_l0", std::nullopt)));
  EXPECT_THAT(pruner.Step(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("lstm.weight_ih_l0"), HasSubstr("sparsity_level"))));
}

// ---------------------------------------------------------------------------------------
// FPGMPruner

// Upstream's SimpleConvFPGM: conv2d1 [1 -> 3, 3x3, pad 1] with filters of 3.0, 2.0, 0.1 and
// conv2d2 [3 -> 4] with filters of 6.0, 7.0, 0.4, 0.5, no biases.
absl::StatusOr<GraphModule> SimpleConvFPGM() {
  GraphBuilder b;
  Module* conv1 = b.AddModule("conv2d1", Conv2dAttrs{.in_channels = 1,
                                                     .out_channels = 3,
                                                     .kernel_size = {3, 3},
                                                     .padding = {1, 1},
                                                     .bias = false});
  Module* conv2 = b.AddModule("conv2d2", Conv2dAttrs{.in_channels = 3,
                                                     .out_channels = 4,
                                                     .kernel_size = {3, 3},
                                                     .padding = {1, 1},
                                                     .bias = false});
  if (conv1 != nullptr) conv1->SetParameter("weight", RowsOf({3, 1, 3, 3}, {3.0f, 2.0f, 0.1f}));
  if (conv2 != nullptr) {
    conv2->SetParameter("weight", RowsOf({4, 3, 3, 3}, {6.0f, 7.0f, 0.4f, 0.5f}));
  }
  b.Output(b.Call("conv2d2", b.Call("conv2d1", b.Input("x"))));
  return b.Build();
}

// Upstream test_compute_distance: L2 distances [[0, 3, 8.7], [3, 0, 5.7], [8.7, 5.7, 0]].
TEST(FPGMPruner, ComputeDistanceMatchesUpstream) {
  FPGMPruner pruner(0.3);
  SP_ASSERT_OK_AND_ASSIGN(std::vector<double> d,
                          pruner.ComputeDistance(RowsOf({3, 1, 3, 3}, {3.0f, 2.0f, 0.1f})));
  ASSERT_EQ(d.size(), 3u);
  // 0.1f is not 0.1: float inputs, so float-level agreement.
  EXPECT_NEAR(d[0], 11.7, 1e-5);
  EXPECT_NEAR(d[1], 8.7, 1e-5);
  EXPECT_NEAR(d[2], 14.4, 1e-5);
  EXPECT_THAT(pruner.ComputeDistance(Tensor::Scalar(1.0f)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scalar")));
}

// Upstream _test_update_mask_on_single_layer: a norm-based rule would prune the 0.1 filter;
// FPGM prunes the 2.0 filter, the one closest to the others (round(0.3 * 3) = 1).
//   x -> conv2d1 [1 -> 3] -> conv2d2 [3 -> 4]   after: conv2d1 [1 -> 2] -> conv2d2 [2 -> 4]
TEST(FPGMPruner, PrunesFilterNearestTheGeometricMedianNotTheSmallest) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SimpleConvFPGM());
  FPGMPruner pruner(0.3);
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<bool> mask,
      MaskAfterStep(pruner, model, OneGroup("conv2d1.weight", std::nullopt), "conv2d1.weight"));
  EXPECT_THAT(mask, ElementsAre(true, false, true));

  const GraphModule masked = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  EXPECT_TRUE(model.root().FindModule("conv2d1")->parameter("weight")->Equals(
      RowsOf({2, 1, 3, 3}, {3.0f, 0.1f})));
  EXPECT_EQ(model.root().FindModule("conv2d2")->parameter("weight")->shape(), Shape({4, 2, 3, 3}));
  SP_ASSERT_OK_AND_ASSIGN(VerifyResult v, VerifyEquivalence(masked, model, {{1, 1, 8, 8}}, report));
  EXPECT_TRUE(v.equivalent) << v.ToString();
}

// Upstream _test_update_mask_on_multiple_layer: conv2d2 at 0.5 (its own level) loses the 6.0
// and 0.5 filters (total distances 12.1, 14.1, 12.3, 12.1 times sqrt(27)).
//   after: conv2d1 [1 -> 2] (3.0, 0.1) -> conv2d2 [2 -> 2] (7.0, 0.4)
TEST(FPGMPruner, PrunesTwoLayersWithTheirOwnLevels) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SimpleConvFPGM());
  FPGMPruner pruner(0.3);
  SP_ASSERT_OK(pruner.Prepare(
      model, SparsityConfig{{{kTensorFqn, std::string("conv2d1.weight")}},
                            {{kTensorFqn, std::string("conv2d2.weight")}, {kSparsityLevel, 0.5}}}));
  SP_ASSERT_OK(pruner.Step());
  SP_ASSERT_OK_AND_ASSIGN(Tensor mask1, pruner.GetMask("conv2d1.weight"));
  SP_ASSERT_OK_AND_ASSIGN(Tensor mask2, pruner.GetMask("conv2d2.weight"));
  EXPECT_THAT(Bools(mask1), ElementsAre(true, false, true));
  EXPECT_THAT(Bools(mask2), ElementsAre(false, true, true, false));

  const GraphModule masked = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  EXPECT_TRUE(model.root().FindModule("conv2d1")->parameter("weight")->Equals(
      RowsOf({2, 1, 3, 3}, {3.0f, 0.1f})));
  EXPECT_TRUE(model.root().FindModule("conv2d2")->parameter("weight")->Equals(
      RowsOf({2, 2, 3, 3}, {7.0f, 0.4f})));
  SP_ASSERT_OK_AND_ASSIGN(VerifyResult v, VerifyEquivalence(masked, model, {{1, 1, 8, 8}}, report));
  EXPECT_TRUE(v.equivalent) << v.ToString();
}

// Rows (2, 2), (-4, 3), (0, -1): total L1 distances 12, 15, 13 (row 0 nearest); total L2
// distances 9.69, 11.74, 9.26 (row 2 nearest).
const Tensor& ThreePoints() {
  static const Tensor points = Matrix(3, 2, {2, 2, -4, 3, 0, -1});
  return points;
}

TEST(FPGMPruner, L1AndL2PickDifferentRows) {
  {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(ThreePoints().Clone()));
    FPGMPruner pruner(0.3);  // L2 by default
    SP_ASSERT_OK_AND_ASSIGN(
        std::vector<bool> mask,
        MaskAfterStep(pruner, model, OneGroup("fc.weight", std::nullopt), "fc.weight"));
    EXPECT_THAT(mask, ElementsAre(true, true, false));
  }
  for (const char* dist : {"L1", "L2"}) {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(ThreePoints().Clone()));
    SP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<FPGMPruner> pruner, FPGMPruner::Create(0.3, dist));
    SP_ASSERT_OK_AND_ASSIGN(
        std::vector<bool> mask,
        MaskAfterStep(*pruner, model, OneGroup("fc.weight", std::nullopt), "fc.weight"));
    EXPECT_EQ(mask, (std::string(dist) == "L1" ? std::vector<bool>{false, true, true}
                                               : std::vector<bool>{true, true, false}))
        << dist;
  }
}

// A user distance, here a similarity 1 / (1 + L2) (1 on the diagonal, which upstream's row
// sums include): totals 1.358, 1.291, 1.367, so the most isolated row 1 goes.
TEST(FPGMPruner, UsesCustomDistance) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(ThreePoints().Clone()));
  int64_t calls = 0;
  bool lengths_ok = true;
  FPGMPruner pruner(0.3, [&](absl::Span<const float> a, absl::Span<const float> b) {
    ++calls;
    lengths_ok = lengths_ok && a.size() == 2 && b.size() == 2;
    float sq = 0;
    for (size_t k = 0; k < a.size(); ++k) sq += (a[k] - b[k]) * (a[k] - b[k]);
    return 1.0f / (1.0f + std::sqrt(sq));
  });
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<bool> mask,
      MaskAfterStep(pruner, model, OneGroup("fc.weight", std::nullopt), "fc.weight"));
  EXPECT_THAT(mask, ElementsAre(true, false, true));
  EXPECT_TRUE(lengths_ok);
  EXPECT_EQ(calls, 9);  // every ordered pair, as upstream's full distance matrix
}

TEST(FPGMPruner, RejectsNaNFromCustomDistance) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(ThreePoints().Clone()));
  FPGMPruner pruner(0.5, [](absl::Span<const float>, absl::Span<const float>) { return NAN; });
  SP_ASSERT_OK(pruner.Prepare(model, OneGroup("fc.weight", std::nullopt)));
  EXPECT_THAT(pruner.Step(), StatusIs(absl::StatusCode::kInvalidArgument,
                                      AllOf(HasSubstr("fc.weight"), HasSubstr("NaN"))));
}

TEST(FPGMPruner, CreateRejectsUnknownDistance) {
  EXPECT_THAT(FPGMPruner::Create(0.5, "L3"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'L3'")));
}

// sparsity_level <= 0 resets the whole mask to keep, >= 1 prunes every row (upstream
// overwrites mask.data in both cases), whatever the mask was.
TEST(FPGMPruner, SparsityZeroKeepsAllAndOnePrunesAll) {
  for (const auto& [level, expected] : std::vector<std::pair<double, std::vector<bool>>>{
           {0.0, {true, true, true}}, {1.0, {false, false, false}}}) {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(ThreePoints().Clone()));
    SparsityConfig config = OneGroup("fc.weight", level);
    config[0][kMask] = *Tensor::FromBools({3}, {false, true, true});
    FPGMPruner pruner;
    SP_ASSERT_OK_AND_ASSIGN(std::vector<bool> mask,
                            MaskAfterStep(pruner, model, config, "fc.weight"));
    EXPECT_EQ(mask, expected) << "sparsity_level " << level;
  }
}

// Python's round(): 0.5 * 5 = 2.5 -> 2 rows, 0.5 * 3 = 1.5 -> 2 rows, 0.3 * 5 = 1.5 -> 2 rows.
TEST(FPGMPruner, RoundsRowCountHalfToEvenLikePython) {
  for (const auto& [rows, level, pruned] : std::vector<std::tuple<int64_t, double, int64_t>>{
           {5, 0.5, 2}, {3, 0.5, 2}, {5, 0.3, 2}, {4, 0.6, 2}, {4, 0.65, 3}}) {
    std::vector<float> values;
    for (int64_t r = 0; r < rows; ++r) values.push_back(static_cast<float>(r * r));
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(RowsOf({rows, 2}, values)));
    FPGMPruner pruner(level);
    SP_ASSERT_OK_AND_ASSIGN(
        std::vector<bool> mask,
        MaskAfterStep(pruner, model, OneGroup("fc.weight", std::nullopt), "fc.weight"));
    EXPECT_EQ(std::count(mask.begin(), mask.end(), false), pruned) << rows << " rows at " << level;
  }
}

TEST(FPGMPruner, DefaultSparsityLevelIsHalf) {
  FPGMPruner pruner;
  EXPECT_EQ(std::get<double>(pruner.defaults().at(kSparsityLevel)), 0.5);
  EXPECT_EQ(std::get<bool>(pruner.defaults().at(kPruneBias)), true);
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(RowsOf({4, 2}, {0, 1, 2, 3})));
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<bool> mask,
      MaskAfterStep(pruner, model, OneGroup("fc.weight", std::nullopt), "fc.weight"));
  EXPECT_THAT(mask, ElementsAre(true, false, false, true));  // the two inner rows
}

TEST(FPGMPruner, BreaksTiesTowardLowerIndex) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(RowsOf({4, 2}, {1, 1, 1, 1})));
  FPGMPruner pruner(0.5);
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<bool> mask,
      MaskAfterStep(pruner, model, OneGroup("fc.weight", std::nullopt), "fc.weight"));
  EXPECT_THAT(mask, ElementsAre(false, false, true, true));
}

// A unit is the concatenation of its four gate rows: units of 0s, 1s and 5s in every gate put
// unit 1 nearest the others (round(0.3 * 3) = 1).
TEST(FPGMPruner, ScoresLstmUnitsAsConcatenatedGateRows) {
  const Tensor weight_ih = GateRows({{0, 1, 5}, {0, 1, 5}, {0, 1, 5}, {0, 1, 5}}, 2);
  const Tensor weight_hh = GateRows({{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}}, 3);
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLstm(weight_ih, weight_hh));
  FPGMPruner pruner(0.3);
  SP_ASSERT_OK_AND_ASSIGN(std::vector<bool> mask,
                          MaskAfterStep(pruner, model, OneGroup("lstm.weight_ih_l0", std::nullopt),
                                        "lstm.weight_ih_l0"));
  EXPECT_THAT(mask, ElementsAre(true, false, true));
}

// FPGM reads the masked weight (upstream's getattr(module, tensor_name)): a row masked
// beforehand sits at the origin. Rows of 1s..5s with row 4 masked read 1, 2, 3, 4, 0, whose
// nearest-to-all row is row 1 (total distances 7, 6, 7, 10, 10, times sqrt(2)); unmasked it
// would be row 2. round(0.2 * 5) = 1 more row.
TEST(FPGMPruner, ScoresMaskedWeight) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, OneLinear(RowsOf({5, 2}, {1, 2, 3, 4, 5})));
  SparsityConfig config = OneGroup("fc.weight", 0.2);
  config[0][kMask] = *Tensor::FromBools({5}, {true, true, true, true, false});
  FPGMPruner pruner;
  SP_ASSERT_OK_AND_ASSIGN(std::vector<bool> mask,
                          MaskAfterStep(pruner, model, config, "fc.weight"));
  EXPECT_THAT(mask, ElementsAre(true, false, true, true, false));
}

}  // namespace
}  // namespace structprune
