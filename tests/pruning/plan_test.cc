// PrunePlan::Commit computes every new tensor before it changes a module: a failing edit late
// in the commit leaves the prepared model as it was, and a successful one edits the modules in
// place (pointers to them stay valid).
#include "pruning/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "graph/builder.h"
#include "ops/linear.h"
#include "tests/testing/prune_helpers.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::ConfigFor;
using ::structprune::testing::KeepMasksPruner;
using ::structprune::testing::MaskWithout;
using ::structprune::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// fc1 (3 -> 4) -> relu -> fc2 (4 -> 2), fc1 prepared with row 1 masked (its bias moved aside
// under a hook).
GraphModule PreparedModel(KeepMasksPruner& pruner) {
  GraphBuilder b(5);
  b.AddModule("fc1", LinearAttrs{.in_features = 3, .out_features = 4});
  b.AddModule("fc2", LinearAttrs{.in_features = 4, .out_features = 2});
  b.Output(b.Call("fc2", b.Call(OpKind::kRelu, b.Call("fc1", b.Input("x")))));
  GraphModule model = *b.Build();
  EXPECT_TRUE(pruner.Prepare(model, ConfigFor({"fc1.weight"})).ok());
  EXPECT_TRUE(pruner.SetMask("fc1.weight", MaskWithout(4, {1})).ok());
  return model;
}

TEST(PrunePlanCommit, AFailingEditLeavesTheModelUnchanged) {
  KeepMasksPruner pruner;
  GraphModule model = PreparedModel(pruner);
  const testing::ModelSnapshot before = testing::TakeSnapshot(model);
  PrunePlan plan(model, {});
  SP_ASSERT_OK(plan.Slice("fc1.weight", 0, {0, 2, 3}));
  SP_ASSERT_OK(plan.Slice("fc2.weight", 1, {0, 2, 3}));
  // Applied after the slices: fc1 and fc2 are staged and edited by then.
  plan.SetAttr("no_such_module", "bias", true);
  EXPECT_THAT(plan.Commit(model),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("attribute edit of unknown module 'no_such_module'")));
  EXPECT_TRUE(testing::SameAsSnapshot(before, model));
  const Module& fc1 = *model.root().FindModule("fc1");
  EXPECT_TRUE(fc1.IsParametrized("weight"));  // still prepared: mask, hook and moved bias
  EXPECT_EQ(fc1.forward_hooks().size(), 1u);
  EXPECT_EQ(fc1.parameter("bias"), nullptr);
}

TEST(PrunePlanCommit, EditsTheModulesInPlace) {
  KeepMasksPruner pruner;
  GraphModule model = PreparedModel(pruner);
  const Module* fc1 = model.root().FindModule("fc1");
  const Module* fc2 = model.root().FindModule("fc2");
  PrunePlan plan(model, {});
  SP_ASSERT_OK(plan.Slice("fc1.weight", 0, {0, 2, 3}));
  SP_ASSERT_OK(plan.Slice("fc1.bias", 0, {0, 2, 3}));
  SP_ASSERT_OK(plan.Slice("fc2.weight", 1, {0, 2, 3}));
  SP_ASSERT_OK(plan.Commit(model));
  EXPECT_EQ(model.root().FindModule("fc1"), fc1);
  EXPECT_EQ(model.root().FindModule("fc2"), fc2);
  EXPECT_THAT(fc1->parameter("weight")->shape(), ElementsAre(3, 3));
  EXPECT_THAT(fc1->parameter("bias")->shape(), ElementsAre(3));
  EXPECT_THAT(fc2->parameter("weight")->shape(), ElementsAre(2, 3));
  EXPECT_EQ(GetIntAttr(fc1->attrs(), "out_features", 0).value_or(-1), 3);
  EXPECT_EQ(GetIntAttr(fc2->attrs(), "in_features", 0).value_or(-1), 3);
  EXPECT_TRUE(testing::IsCleanPrunedModel(model));
}

TEST(PrunePlanCommit, CommitsOnlyToTheModelItWasMadeFrom) {
  KeepMasksPruner pruner;
  GraphModule model = PreparedModel(pruner);
  KeepMasksPruner other_pruner;
  GraphModule other = PreparedModel(other_pruner);
  const testing::ModelSnapshot before = testing::TakeSnapshot(other);
  PrunePlan plan(model, {});
  SP_ASSERT_OK(plan.Slice("fc1.weight", 0, {0, 2, 3}));
  EXPECT_THAT(plan.Commit(other), StatusIs(absl::StatusCode::kInternal,
                                           "a prune plan commits only to the model it was made from"));
  EXPECT_TRUE(testing::SameAsSnapshot(before, other));
}

// Slices of one tensor along two dims apply whichever dim was planned first; the same slice
// planned twice is one slice, a different one is refused.
TEST(PrunePlanSlice, DimsInAnyOrderAndRepeatsAgree) {
  KeepMasksPruner pruner;
  GraphModule model = PreparedModel(pruner);
  PrunePlan plan(model, {});
  SP_ASSERT_OK(plan.Slice("fc2.weight", 1, {0, 2, 3}));
  SP_ASSERT_OK(plan.Slice("fc2.weight", 0, {1}));
  SP_ASSERT_OK(plan.Slice("fc2.weight", 1, {0, 2, 3}));
  EXPECT_THAT(plan.Slice("fc2.weight", 1, {0, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'fc2.weight' dim 1 would be sliced two ways (keep [0, 2, 3] vs [0, 1])")));
  const Tensor fc2_weight = *model.root().FindModule("fc2")->parameter("weight");
  SP_ASSERT_OK(plan.Commit(model));
  const Tensor& sliced = *model.root().FindModule("fc2")->parameter("weight");
  ASSERT_THAT(sliced.shape(), ElementsAre(1, 3));
  EXPECT_THAT(std::vector<float>(sliced.data<float>(), sliced.data<float>() + 3),
              ElementsAre(fc2_weight.data<float>()[4], fc2_weight.data<float>()[6], fc2_weight.data<float>()[7]));
}

}  // namespace
}  // namespace structprune
