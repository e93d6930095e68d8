// The pattern-mode prune functions refuse to slice through what they cannot: F.prelu with a
// weight that broadcasts element-wise (ONNX PRelu's slope) is not per channel, and no pattern
// holds matmul, reshape or transpose.
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

// Prepares fc1 of `model` (4 rows) in pattern mode with row 1 masked; Prune() must fail as
// `status_matcher` says and leave the model as it was.
template <typename StatusMatcher>
void ExpectPruneRefused(GraphModule& model, StatusMatcher status_matcher) {
  KeepMasksPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"fc1.weight"})));
  SP_ASSERT_OK(pruner.SetMask("fc1.weight", MaskWithout(4, {1})));
  const testing::ModelSnapshot before = testing::TakeSnapshot(model);
  EXPECT_THAT(pruner.Prune(), status_matcher);
  EXPECT_TRUE(testing::SameAsSnapshot(before, model));
}

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
  ExpectPruneRefused(model, StatusIs(absl::StatusCode::kUnimplemented,
                                     HasSubstr("cannot prune through 'prelu' (prelu): its weight "
                                               "[1, 4] broadcasts element-wise, not per channel")));
}

TEST(PruneFunctions, NoPatternSlicesThroughMatmulReshapeOrTranspose) {
  // fc1 -> <op> -> fc2: no pattern of the table holds these ops, so a configured fc1 is an
  // error naming it and the model is kept (dependency-group mode blocks the channels instead).
  struct Case {
    OpKind op;
    AttrMap attrs;
  };
  for (const Case& c : {Case{OpKind::kReshape, {{"shape", std::vector<int64_t>{-1, 4}}}},
                        Case{OpKind::kTranspose, {{"dim0", int64_t{0}}, {"dim1", int64_t{1}}}},
                        Case{OpKind::kMatmul, {}}}) {
    SCOPED_TRACE(OpName(c.op));
    GraphBuilder b(3);
    b.AddModule("fc1", LinearAttrs{.in_features = 4, .out_features = 4});
    b.AddModule("fc2", LinearAttrs{.in_features = 4, .out_features = 2});
    b.root().SetBuffer("w", Tensor::Full({4, 4}, 0.5f));
    Node* h = b.Call("fc1", b.Input("x"));
    h = c.op == OpKind::kMatmul ? b.Call(c.op, {h, b.GetAttr("w")}) : b.Call(c.op, h, c.attrs);
    b.Output(b.Call("fc2", h));
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
    ExpectPruneRefused(model, StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("cannot prune 'fc1.weight': no pruning pattern "
                                                 "matches")));
  }
}

}  // namespace
}  // namespace structprune
