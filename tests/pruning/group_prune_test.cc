// Pruning through dependency groups: residual blocks, BatchNorm, depthwise convs, cat.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "graph/builder.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "pruning/pruners/saliency_pruner.h"
#include "pruning/verify.h"
#include "tests/testing/prune_helpers.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/zoo_models.h"

namespace structprune {
namespace {

using ::structprune::testing::ConfigFor;
using ::structprune::testing::KeepMasksPruner;
using ::structprune::testing::MaskWithout;
using ::structprune::testing::PrunedIndices;
using ::testing::ElementsAre;

Conv2dAttrs Conv(int64_t in, int64_t out, int64_t k = 3, int64_t groups = 1) {
  return {.in_channels = in, .out_channels = out, .kernel_size = {k, k}, .padding = {k / 2, k / 2},
          .groups = groups};
}

using ::structprune::testing::AddRandomBatchNorm;

// stem -> bn -> relu -> [conv_a -> bn_a -> relu -> conv_b -> bn_b] + identity -> relu
//   -> pool -> flatten -> fc
absl::StatusOr<GraphModule> ResidualNet() {
  GraphBuilder b(3);
  b.AddModule("stem", Conv(3, 8));
  AddRandomBatchNorm(b, "bn", 8);
  b.AddModule("conv_a", Conv(8, 8));
  AddRandomBatchNorm(b, "bn_a", 8);
  b.AddModule("conv_b", Conv(8, 8));
  AddRandomBatchNorm(b, "bn_b", 8);
  b.AddModule("pool", OpKind::kAdaptiveAvgPool2d, {{"output_size", std::vector<int64_t>{1, 1}}});
  b.AddModule("fc", LinearAttrs{.in_features = 8, .out_features = 3});
  Node* x = b.Call(OpKind::kRelu, b.Call("bn", b.Call("stem", b.Input("x"))));
  Node* y = b.Call(OpKind::kRelu, b.Call("bn_a", b.Call("conv_a", x)));
  y = b.Call("bn_b", b.Call("conv_b", y));
  y = b.Call(OpKind::kRelu, b.Add(y, x));
  b.Output(b.Call("fc", b.Flatten(b.Call("pool", y), 1)));
  return b.Build();
}

const Shape kInput = {2, 3, 6, 6};

TEST(GroupPrune, ResidualChannelsGoFromEveryProducerAtOnce) {
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, ResidualNet());
    KeepMasksPruner pruner({{kPruneBias, prune_bias}});
    pruner.SetInputShapes({kInput});
    SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"stem.weight", "conv_a.weight"})));
    // conv_b joined the residual group on its own.
    SP_ASSERT_OK_AND_ASSIGN(Tensor conv_b_mask, pruner.GetMask("conv_b.weight"));
    SP_ASSERT_OK(pruner.SetMask("stem.weight", MaskWithout(8, {1, 4})));
    SP_ASSERT_OK(pruner.SetMask("conv_a.weight", MaskWithout(8, {0, 2, 7})));
    EXPECT_THAT(PrunedIndices(conv_b_mask), ElementsAre(1, 4));
    GraphModule masked = model.Clone();
    SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
    const Module& root = model.root();
    if (prune_bias) {
      EXPECT_EQ(root.FindModule("stem")->parameter("weight")->shape(), Shape({6, 3, 3, 3}));
      EXPECT_EQ(root.FindModule("bn")->buffer("running_mean")->shape(), Shape({6}));
      EXPECT_EQ(root.FindModule("conv_a")->parameter("weight")->shape(), Shape({5, 6, 3, 3}));
      EXPECT_EQ(root.FindModule("conv_b")->parameter("weight")->shape(), Shape({6, 5, 3, 3}));
      EXPECT_EQ(root.FindModule("fc")->parameter("weight")->shape(), Shape({3, 6}));
    }
    SP_ASSERT_OK_AND_ASSIGN(VerifyResult v, VerifyEquivalence(masked, model, {kInput}, report));
    EXPECT_TRUE(v.equivalent) << v.ToString() << "\n" << report.ToString();
    EXPECT_LT(model.NumParameters(), masked.NumParameters());
  }
}

int64_t Rows(const GraphModule& m, const std::string& fqn) {
  return m.root().FindModule(fqn)->parameter("weight")->size(0);
}

// Runs SaliencyPruner in group mode over every conv and the classifier, then checks equivalence.
absl::StatusOr<PruneReport> SaliencyPrune(GraphModule& model, Options defaults) {
  SaliencyPruner pruner(std::move(defaults));
  pruner.SetInputShapes({kInput});
  SP_RETURN_IF_ERROR(pruner.Prepare(model, ConfigFor({"stem.weight", "conv_a.weight", "fc.weight"})));
  SP_RETURN_IF_ERROR(pruner.Step());
  GraphModule masked = model.Clone();
  SP_ASSIGN_OR_RETURN(PruneReport report, pruner.Prune());
  SP_ASSIGN_OR_RETURN(VerifyResult v, VerifyEquivalence(masked, model, {kInput}, report));
  if (!v.equivalent) return absl::InternalError(v.ToString());
  return report;
}

TEST(GroupSaliency, PrunesEachGroupAsAWholeAndNeverTheOutputLayer) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, ResidualNet());
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, SaliencyPrune(model, {{kSparsityLevel, 0.5}}));
  // Residual group (stem + conv_b, 8 channels) and conv_a's group lose int(8 * 0.5) = 4 each.
  EXPECT_EQ(Rows(model, "stem"), 4);
  EXPECT_EQ(Rows(model, "conv_b"), 4);
  EXPECT_EQ(Rows(model, "conv_a"), 4);
  // fc feeds the model output: configured, but its channels are blocked.
  EXPECT_EQ(Rows(model, "fc"), 3);
}

TEST(GroupSaliency, RoundToKeepsAMultipleOfN) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, ResidualNet());
  // 8 channels, 50%: 4 would stay; round_to 3 brings back the 2 most important -> 6.
  SP_ASSERT_OK(SaliencyPrune(model, {{kSparsityLevel, 0.5}, {"round_to", 3.0}}).status());
  EXPECT_EQ(Rows(model, "stem"), 6);
  EXPECT_EQ(Rows(model, "conv_a"), 6);
}

TEST(GroupSaliency, GlobalPruningUsesOneThresholdWithAPerGroupCap) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, ResidualNet());
  // 16 prunable channels, 50% -> 8 go where importance is lowest. Importance sums each
  // producer's normalized row scores, so the two-producer residual group scores about twice
  // conv_a's group: conv_a loses the most its cap allows (int(0.9 * 8) = 7), the residual
  // group the remaining 1.
  SP_ASSERT_OK(SaliencyPrune(model, {{kSparsityLevel, 0.5}, {"global_pruning", true}}).status());
  EXPECT_EQ(Rows(model, "conv_a"), 1);
  EXPECT_EQ(Rows(model, "stem"), 7);
}

TEST(GroupSaliency, IgnoredLayersKeepTheirWholeGroup) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, ResidualNet());
  // conv_b is ignored: the residual group it shares with the configured stem stays whole.
  SP_ASSERT_OK(SaliencyPrune(model, {{kSparsityLevel, 0.5}, {"ignored_layers", std::string("conv_b")}}).status());
  EXPECT_EQ(Rows(model, "stem"), 8);
  EXPECT_EQ(Rows(model, "conv_b"), 8);
  EXPECT_EQ(Rows(model, "conv_a"), 4);
  SP_ASSERT_OK_AND_ASSIGN(GraphModule other, ResidualNet());
  EXPECT_THAT(SaliencyPrune(other, {{kSparsityLevel, 0.5}, {"ignored_layers", std::string("bn")}}).status(),
              testing::StatusIs(absl::StatusCode::kNotFound, "ignored layer 'bn' is not a Linear/Conv2d producer"));
}

// conv_a (3 -> 2) and conv_b (3 -> 3) concatenated (5 channels), then
//   kResidual:  + conv_c (3 -> 5) -> relu: one group holds conv_a, conv_b and conv_c;
//   kBatchNorm: -> bn -> relu, as DenseNet: bn carries channels of two groups;
// -> head (1x1, 5 -> 4) -> pool -> flatten -> fc.
enum class AfterCat { kResidual, kBatchNorm };
absl::StatusOr<GraphModule> CatNet(AfterCat after) {
  GraphBuilder b(4);
  b.AddModule("conv_a", Conv(3, 2));
  b.AddModule("conv_b", Conv(3, 3));
  if (after == AfterCat::kResidual) b.AddModule("conv_c", Conv(3, 5));
  if (after == AfterCat::kBatchNorm) AddRandomBatchNorm(b, "bn", 5);
  b.AddModule("head", Conv(5, 4, 1));
  b.AddModule("pool", OpKind::kAdaptiveAvgPool2d, {{"output_size", std::vector<int64_t>{1, 1}}});
  b.AddModule("fc", LinearAttrs{.in_features = 4, .out_features = 3});
  Node* x = b.Input("x");
  Node* y = b.Cat({b.Call("conv_a", x), b.Call("conv_b", x)}, 1);
  y = after == AfterCat::kResidual ? b.Add(y, b.Call("conv_c", x)) : b.Call("bn", y);
  y = b.Call("head", b.Call(OpKind::kRelu, y));
  b.Output(b.Call("fc", b.Flatten(b.Call("pool", y), 1)));
  return b.Build();
}

// Found by the property suite (tests/property): a group whose producers own disjoint parts of
// a cat kept one channel for the group, but conv_a lost every row of its own and could not run.
// Every producer keeps a row.
TEST(GroupPrune, EveryPartOfACatKeepsARow) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, CatNet(AfterCat::kResidual));
  KeepMasksPruner pruner;
  pruner.SetInputShapes({kInput});
  // Group channels 0, 1 are all of conv_a's; 3 is conv_b's row 1.
  SP_ASSERT_OK_AND_ASSIGN(testing::PruneRun run,
                          testing::PrepareMaskPruneVerify(pruner, model,
                                                          {.config = ConfigFor({"conv_c.weight"}),
                                                           .pruned = {{"conv_c.weight", {0, 1, 3}}},
                                                           .input_shapes = {kInput}}));
  EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString() << "\n" << run.report.ToString();
  EXPECT_EQ(Rows(model, "conv_a"), 1);
  EXPECT_EQ(Rows(model, "conv_b"), 2);
  EXPECT_EQ(Rows(model, "conv_c"), 3);
  for (const LayerPruneRecord& r : run.report.layers) {
    if (r.module_fqn != "conv_a") continue;
    EXPECT_THAT(r.channels_kept_for_exactness, ElementsAre(0));
    EXPECT_EQ(r.kept_reason, "pruning every channel would leave the layer empty");
  }
}

// Found by the property suite: a BatchNorm after a cat of two groups made Prepare() fail with
// Internal "'bn' mixes dependency groups". Each of its channels follows its own group.
TEST(GroupPrune, BatchNormAfterCatFollowsTheGroupOfEachChannel) {
  for (bool prune_bias : {true, false}) {
    for (bool both : {true, false}) {
      SCOPED_TRACE(absl::StrCat(prune_bias ? "prune_bias" : "keep bias", both ? ", both parts" : ", conv_a only"));
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, CatNet(AfterCat::kBatchNorm));
      KeepMasksPruner pruner({{kPruneBias, prune_bias}});
      pruner.SetInputShapes({kInput});
      testing::PruneCase c{.config = ConfigFor({"conv_a.weight"}), .pruned = {{"conv_a.weight", {1}}},
                           .input_shapes = {kInput}};
      if (both) {
        c.config = ConfigFor({"conv_a.weight", "conv_b.weight"});
        c.pruned["conv_b.weight"] = {0, 2};
      }
      SP_ASSERT_OK_AND_ASSIGN(testing::PruneRun run, testing::PrepareMaskPruneVerify(pruner, model, c));
      EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString() << "\n" << run.report.ToString();
      EXPECT_EQ(model.root().FindModule("bn")->parameter("weight")->numel(), both ? 2 : 4);
      EXPECT_EQ(model.root().FindModule("head")->parameter("weight")->size(1), both ? 2 : 4);
    }
  }
}

// Found by the property suite: a depthwise conv called twice got two bias hooks in group
// mode, so the prepared model added its bias twice. It is masked once; a prepared model with
// nothing masked computes what the model did, and Prune() refuses to slice the shared conv.
//
//   x -> stem (3 -> 4) -> dw (depthwise 3x3) -> relu -> dw -> pool -> flatten -> fc
TEST(GroupPrune, DepthwiseConvCalledTwiceIsMaskedOnce) {
  GraphBuilder b(6);
  b.AddModule("stem", Conv(3, 4));
  b.AddModule("dw", Conv(4, 4, 3, /*groups=*/4));
  b.AddModule("pool", OpKind::kAdaptiveAvgPool2d, {{"output_size", std::vector<int64_t>{1, 1}}});
  b.AddModule("fc", LinearAttrs{.in_features = 4, .out_features = 3});
  Node* y = b.Call("dw", b.Call(OpKind::kRelu, b.Call("dw", b.Call("stem", b.Input("x")))));
  b.Output(b.Call("fc", b.Flatten(b.Call("pool", y), 1)));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  const GraphModule original = model.Clone();
  KeepMasksPruner pruner;
  pruner.SetInputShapes({kInput});
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"stem.weight"})));
  const PruneReport nothing_pruned;
  SP_ASSERT_OK_AND_ASSIGN(VerifyResult same, VerifyEquivalence(original, model, {kInput}, nothing_pruned));
  EXPECT_TRUE(same.equivalent) << same.ToString();
  SP_ASSERT_OK(pruner.SetMask("stem.weight", MaskWithout(4, {1})));
  const testing::ModelSnapshot before = testing::TakeSnapshot(model);
  EXPECT_THAT(pruner.Prune(), testing::StatusIs(absl::StatusCode::kUnimplemented,
                                                ::testing::HasSubstr("('dw' called or read more than once)")));
  EXPECT_TRUE(testing::SameAsSnapshot(before, model));
}

// Prepare() edits the user's model in place; a failure found while planning the masks must
// leave it as it was. conv_a (prune_bias) and conv_b (keep bias) feed one depthwise conv,
// whose single bias hook cannot honour both; bn_a, met first, would already be masked.
TEST(GroupPrune, FailedPrepareLeavesTheModelUntouched) {
  GraphBuilder b(5);
  b.AddModule("conv_a", Conv(3, 2));
  AddRandomBatchNorm(b, "bn_a", 2);
  b.AddModule("conv_b", Conv(3, 3));
  b.AddModule("dw", Conv(5, 5, 3, /*groups=*/5));
  b.AddModule("head", Conv(5, 4, 1));
  Node* x = b.Input("x");
  Node* y = b.Call("dw", b.Cat({b.Call("bn_a", b.Call("conv_a", x)), b.Call("conv_b", x)}, 1));
  b.Output(b.Call("head", b.Call(OpKind::kRelu, y)));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  const testing::ModelSnapshot before = testing::TakeSnapshot(model);
  KeepMasksPruner pruner;
  pruner.SetInputShapes({kInput});
  SparsityConfig config = ConfigFor({"conv_a.weight", "conv_b.weight"});
  config[1][kPruneBias] = false;
  EXPECT_THAT(pruner.Prepare(model, config),
              testing::StatusIs(absl::StatusCode::kUnimplemented,
                                ::testing::HasSubstr(
                                    "depthwise conv 'dw' carries channels of dependency groups with different prune_bias")));
  EXPECT_TRUE(testing::SameAsSnapshot(before, model));
  // The pruner is not left half prepared either.
  config[1][kPruneBias] = true;
  SP_ASSERT_OK(pruner.Prepare(model, config));
}

}  // namespace
}  // namespace structprune
