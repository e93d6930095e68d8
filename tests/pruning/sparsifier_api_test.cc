// BaseSparsifier / BaseStructuredSparsifier API beyond the seed scenarios: the default
// config, SquashMask, and user-added patterns.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "graph/builder.h"
#include "graph/interpreter.h"
#include "ops/linear.h"
#include "pruning/prune_functions.h"
#include "tests/testing/golden.h"
#include "tests/testing/models.h"
#include "tests/testing/prune_helpers.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::AllClose;
using ::structprune::testing::ConfigFor;
using ::structprune::testing::KeepMasksPruner;
using ::structprune::testing::MaskWithout;
using ::structprune::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Fqns(const SparsityConfig& config) {
  std::vector<std::string> out;
  for (const Options& group : config) out.push_back(std::get<std::string>(group.at(kTensorFqn)));
  return out;
}

TEST(MakeConfigFromModel, ListsEveryLinearConvAndLstmLayerWeight) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule lstm, testing::LSTMLinearModel(8, 8, 4, 2));
  KeepMasksPruner pruner;
  EXPECT_THAT(Fqns(pruner.MakeConfigFromModel(lstm.root())),
              ElementsAre("lstm.weight_ih_l0", "lstm.weight_ih_l1", "linear.weight"));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule conv, testing::Conv2dPoolFlatten());
  EXPECT_THAT(Fqns(pruner.MakeConfigFromModel(conv.root())),
              ElementsAre("seq.0.weight", "seq.3.weight", "conv2d1.weight", "conv2d2.weight", "fc.weight"));
}

TEST(SquashMask, BakesMasksAndBiasesAndKeepsTheMaskedFunction) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearBias());
  KeepMasksPruner pruner({{kPruneBias, true}});
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"seq.0.weight", "seq.2.weight"})));
  SP_ASSERT_OK(pruner.SetMask("seq.0.weight", MaskWithout(5, {1, 3})));
  SP_ASSERT_OK(pruner.SetMask("seq.2.weight", MaskWithout(3, {0})));
  Rng rng(3);
  Tensor x = rng.NormalTensor({4, 7});
  SP_ASSERT_OK_AND_ASSIGN(auto masked, RunModel(model, {x}));
  SP_ASSERT_OK(pruner.SquashMask());
  SP_ASSERT_OK_AND_ASSIGN(auto squashed, RunModel(model, {x}));
  EXPECT_TRUE(AllClose(squashed[0], masked[0], 0, 1e-6));
  const Module* seq0 = model.root().FindModule("seq.0");
  EXPECT_FALSE(seq0->IsParametrized());
  EXPECT_TRUE(seq0->forward_hooks().empty());
  EXPECT_EQ(seq0->parameter("_bias"), nullptr);
  // Shapes stay; the masked rows and (prune_bias) their bias entries are zero.
  EXPECT_EQ(seq0->parameter("weight")->shape(), Shape({5, 7}));
  EXPECT_EQ(seq0->parameter("bias")->data<float>()[1], 0.0f);
  EXPECT_EQ(seq0->parameter("weight")->data<float>()[3 * 7], 0.0f);
}

// fc1 -> Dropout -> fc2: no default pattern crosses a Dropout module.
absl::StatusOr<GraphModule> LinearDropoutLinear() {
  GraphBuilder b(5);
  b.AddModule("fc1", LinearAttrs{.in_features = 6, .out_features = 8});
  b.AddModule("drop", OpKind::kDropout, {{"p", 0.5}});
  b.AddModule("fc2", LinearAttrs{.in_features = 8, .out_features = 3});
  b.Output(b.Call("fc2", b.Call("drop", b.Call("fc1", b.Input("x")))));
  return b.Build();
}

TEST(UserPatterns, AnAddedRowPrunesWhatTheDefaultTableCannot) {
  {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, LinearDropoutLinear());
    KeepMasksPruner pruner({{kPruneBias, false}});
    SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"fc1.weight"})));
    EXPECT_THAT(pruner.Prune(), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("cannot prune 'fc1.weight': no pruning pattern matches")));
  }
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, LinearDropoutLinear());
  KeepMasksPruner pruner({{kPruneBias, false}});
  pruner.AddPattern({{CallModule(OpKind::kLinear), CallModule(OpKind::kDropout), CallModule(OpKind::kLinear)},
                     &PruneProducerChain});
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"fc1.weight"})));
  SP_ASSERT_OK(pruner.SetMask("fc1.weight", MaskWithout(8, {0, 5, 6})));
  GraphModule masked = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  EXPECT_EQ(model.root().FindModule("fc2")->parameter("weight")->shape(), Shape({3, 5}));
  SP_ASSERT_OK_AND_ASSIGN(VerifyResult v, VerifyEquivalence(masked, model, {{2, 6}}, report));
  EXPECT_TRUE(v.equivalent) << v.ToString();
  // prune_bias=false: fc1's pruned biases were folded into fc2's bias, so the diff is tiny
  // but the model really changed.
  EXPECT_GT(v.output_scale, 0.0f);
}

}  // namespace
}  // namespace structprune
