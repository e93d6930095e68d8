// Channel dependency analysis on small networks with residual adds, cat, depthwise convs,
// BatchNorm and flatten -> linear.
#include "pruning/dependency_groups.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "graph/builder.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

Conv2dAttrs Conv(int64_t in, int64_t out, int64_t k = 3, int64_t groups = 1) {
  return {.in_channels = in, .out_channels = out, .kernel_size = {k, k}, .padding = {k / 2, k / 2},
          .groups = groups};
}

void AddBn(GraphBuilder& b, const std::string& fqn, int64_t c) {
  b.AddModule(fqn, OpKind::kBatchNorm2d, {{"num_features", c}});
}

// stem -> bn -> relu -> [conv_a -> bn_a -> relu -> conv_b -> bn_b] + identity -> relu -> head
absl::StatusOr<GraphModule> BasicBlock() {
  GraphBuilder b(3);
  b.AddModule("stem", Conv(3, 8));
  AddBn(b, "bn", 8);
  b.AddModule("conv_a", Conv(8, 8));
  AddBn(b, "bn_a", 8);
  b.AddModule("conv_b", Conv(8, 8));
  AddBn(b, "bn_b", 8);
  b.AddModule("head", Conv(8, 4, 1));
  Node* x = b.Call(OpKind::kRelu, b.Call("bn", b.Call("stem", b.Input("x"))));
  Node* y = b.Call(OpKind::kRelu, b.Call("bn_a", b.Call("conv_a", x)));
  y = b.Call("bn_b", b.Call("conv_b", y));
  b.Output(b.Call("head", b.Call(OpKind::kRelu, b.Add(y, x))));
  return b.Build();
}

TEST(DependencyGraph, ResidualAddCouplesTheStemAndTheBlockOutput) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BasicBlock());
  SP_ASSERT_OK_AND_ASSIGN(DependencyGraph g, BuildDependencyGraph(model, {{1, 3, 8, 8}}));
  ASSERT_EQ(g.groups.size(), 3u) << g.ToString();
  const ChannelGroup* residual = g.GroupOf("stem.weight");
  ASSERT_NE(residual, nullptr);
  EXPECT_EQ(residual, g.GroupOf("conv_b.weight"));
  EXPECT_NE(residual, g.GroupOf("conv_a.weight"));
  EXPECT_THAT(residual->producers, ElementsAre("stem.weight", "conv_b.weight"));
  EXPECT_EQ(residual->size(), 8);
  EXPECT_EQ(residual->NumPrunable(), 8);
  // Stem row 5 and conv_b row 5 are one channel; removing it touches all of these.
  const int64_t c = g.producer_rows.at("stem.weight").channel_of_row[5];
  EXPECT_EQ(g.producer_rows.at("conv_b.weight").channel_of_row[5], c);
  EXPECT_THAT(g.NamedEntries(*residual, c),
              UnorderedElementsAre(
                  NamedEntry{"stem.weight", 0, 5}, NamedEntry{"stem.bias", 0, 5},
                  NamedEntry{"bn.weight", 0, 5}, NamedEntry{"bn.bias", 0, 5},
                  NamedEntry{"bn.running_mean", 0, 5}, NamedEntry{"bn.running_var", 0, 5},
                  NamedEntry{"conv_a.weight", 1, 5}, NamedEntry{"conv_b.weight", 0, 5},
                  NamedEntry{"conv_b.bias", 0, 5}, NamedEntry{"bn_b.weight", 0, 5},
                  NamedEntry{"bn_b.bias", 0, 5}, NamedEntry{"bn_b.running_mean", 0, 5},
                  NamedEntry{"bn_b.running_var", 0, 5}, NamedEntry{"head.weight", 1, 5}));
  // The head feeds the model output: its channels stay.
  const ChannelGroup* head = g.GroupOf("head.weight");
  EXPECT_EQ(head->NumPrunable(), 0);
  EXPECT_THAT(head->blocked[0], HasSubstr("model output"));
}

TEST(DependencyGraph, CatConcatenatesAndDepthwiseFollowsItsProducer) {
  GraphBuilder b(4);
  b.AddModule("a", Conv(3, 4));
  b.AddModule("b", Conv(3, 6));
  b.AddModule("dw", Conv(10, 10, 3, /*groups=*/10));
  b.AddModule("pw", Conv(10, 5, 1));
  b.AddModule("pool", OpKind::kAdaptiveAvgPool2d, {{"output_size", std::vector<int64_t>{2, 2}}});
  b.AddModule("fc", LinearAttrs{.in_features = 20, .out_features = 2});
  Node* x = b.Input("x");
  Node* cat = b.Cat({b.Call("a", x), b.Call("b", x)}, 1);
  Node* y = b.Call("pw", b.Call(OpKind::kRelu6, b.Call("dw", cat)));
  b.Output(b.Call("fc", b.Flatten(b.Call("pool", y), 1)));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  SP_ASSERT_OK_AND_ASSIGN(DependencyGraph g, BuildDependencyGraph(model, {{1, 3, 6, 6}}));
  const ChannelGroup* ga = g.GroupOf("a.weight");
  const ChannelGroup* gb = g.GroupOf("b.weight");
  ASSERT_NE(ga, gb);
  // b's channel 2 is input channel 6 of the depthwise conv and of pw.
  EXPECT_THAT(g.NamedEntries(*gb, g.producer_rows.at("b.weight").channel_of_row[2]),
              UnorderedElementsAre(NamedEntry{"b.weight", 0, 2}, NamedEntry{"b.bias", 0, 2},
                                   NamedEntry{"dw.weight", 0, 6}, NamedEntry{"dw.bias", 0, 6},
                                   NamedEntry{"pw.weight", 1, 6}));
  // pw's channel 1 owns fc columns 4..7 after the 2x2 pool and flatten.
  const ChannelGroup* gpw = g.GroupOf("pw.weight");
  EXPECT_THAT(g.NamedEntries(*gpw, 1), UnorderedElementsAre(NamedEntry{"pw.weight", 0, 1}, NamedEntry{"pw.bias", 0, 1},
                                                    NamedEntry{"fc.weight", 1, 4}, NamedEntry{"fc.weight", 1, 5},
                                                    NamedEntry{"fc.weight", 1, 6}, NamedEntry{"fc.weight", 1, 7}));
  EXPECT_EQ(gpw->NumPrunable(), 5);
}

TEST(DependencyGraph, GroupedConvAndFanOutToOutputBlock) {
  GraphBuilder b(5);
  b.AddModule("a", Conv(4, 8));
  b.AddModule("grouped", Conv(8, 8, 3, /*groups=*/2));
  b.AddModule("c", Conv(4, 6));
  Node* x = b.Input("x");
  Node* c = b.Call("c", x);
  b.Output({b.Call("grouped", b.Call("a", x)), b.Call(OpKind::kRelu, c)});
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  SP_ASSERT_OK_AND_ASSIGN(DependencyGraph g, BuildDependencyGraph(model, {{1, 4, 5, 5}}));
  EXPECT_EQ(g.GroupOf("a.weight")->NumPrunable(), 0);
  EXPECT_THAT(g.GroupOf("a.weight")->blocked[0], HasSubstr("grouped conv (groups=2)"));
  EXPECT_THAT(g.GroupOf("c.weight")->blocked[0], HasSubstr("model output"));
  EXPECT_EQ(g.GroupOf("grouped.weight"), nullptr);  // not a producer whose channels we own
}

TEST(DependencyGraph, PreluPassesChannelsOnlyWithAOneDimSlopeParameter) {
  // a -> prelu(., slope) -> b. A slope of 2+ dims broadcasts element-wise (ONNX PRelu): [1, 1,
  // 1, 4] has 4 values like a per-channel slope, but they index the last dim.
  struct Case {
    Shape slope;
    bool parameter;
    int64_t prunable;
  };
  for (const Case& c : {Case{{4}, true, 4}, Case{{1}, false, 4}, Case{{4}, false, 0},
                        Case{{1, 1, 1, 4}, true, 0}}) {
    SCOPED_TRACE(absl::StrCat(ShapeToString(c.slope), c.parameter ? " parameter" : " buffer"));
    GraphBuilder b(5);
    b.AddModule("a", Conv(3, 4, 1));
    b.AddModule("b", Conv(4, 2, 1));
    if (c.parameter) {
      b.root().SetParameter("slope", Tensor::Full(c.slope, 0.1f));
    } else {
      b.root().SetBuffer("slope", Tensor::Full(c.slope, 0.1f));
    }
    Node* h = b.Call(OpKind::kPrelu, {b.Call("a", b.Input("x")), b.GetAttr("slope")});
    b.Output(b.Call("b", h));
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
    SP_ASSERT_OK_AND_ASSIGN(DependencyGraph g, BuildDependencyGraph(model, {{1, 3, 4, 4}}));
    EXPECT_EQ(g.GroupOf("a.weight")->NumPrunable(), c.prunable) << g.ToString();
    if (c.prunable == 0) {
      EXPECT_THAT(g.GroupOf("a.weight")->blocked[0],
                  HasSubstr("channels cannot be sliced through 'prelu'"));
    }
  }
}

}  // namespace
}  // namespace structprune
