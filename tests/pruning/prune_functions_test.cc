// The pattern-mode prune functions refuse to slice through what they cannot: F.prelu with a
// weight that broadcasts element-wise (ONNX PRelu's slope) is not per channel.
#include "pruning/prune_functions.h"

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
using ::testing::HasSubstr;

TEST(PruneFunctions, DoNotPruneThroughPreluWithABroadcastWeight) {
  // fc1 -> prelu(., slope [1, 4]) -> fc2: 4 slopes, one per column of [N, 4], like a
  // per-channel slope, but of 2 dims: element-wise, so the chain is refused, the model kept.
  GraphBuilder b(3);
  b.AddModule("fc1", LinearAttrs{.in_features = 3, .out_features = 4});
  b.AddModule("fc2", LinearAttrs{.in_features = 4, .out_features = 2});
  b.root().SetParameter("slope", Tensor::Full({1, 4}, 0.1f));
  Node* h = b.Call(OpKind::kPrelu, {b.Call("fc1", b.Input("x")), b.GetAttr("slope")});
  b.Output(b.Call("fc2", h));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  KeepMasksPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"fc1.weight"})));
  SP_ASSERT_OK(pruner.SetMask("fc1.weight", MaskWithout(4, {1})));
  const testing::ModelSnapshot before = testing::TakeSnapshot(model);
  EXPECT_THAT(pruner.Prune(),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("cannot prune through 'prelu' (prelu): its weight [1, 4] "
                                 "broadcasts element-wise, not per channel")));
  EXPECT_TRUE(testing::SameAsSnapshot(before, model));
}

}  // namespace
}  // namespace structprune
