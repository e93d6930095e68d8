// FLOPs per layer: 2 per multiply-add for the layers that multiply, one per output element
// elsewhere.
#include "graph/model_stats.h"

#include <gtest/gtest.h>

#include "graph/builder.h"
#include "ops/linear.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

TEST(ModelStats, MatmulCountsTwoFlopsPerMultiplyAdd) {
  // fc: [2, 3] x W^T [3, 4]; matmul: [2, 4] x w [4, 5]; relu: one per element.
  GraphBuilder b(1);
  b.AddModule("fc", LinearAttrs{.in_features = 3, .out_features = 4, .bias = false});
  b.root().SetBuffer("w", Tensor::Zeros({4, 5}));
  Node* h = b.Call(OpKind::kMatmul, {b.Call("fc", b.Input("x")), b.GetAttr("w")});
  b.Output(b.Call(OpKind::kRelu, h));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  SP_ASSERT_OK_AND_ASSIGN(ModelStats stats, ComputeModelStats(model, {{2, 3}}));
  ASSERT_EQ(stats.layers.size(), 3u);
  EXPECT_EQ(stats.layers[0].flops, 2 * 2 * 4 * 3);
  EXPECT_EQ(stats.layers[1].op, "matmul");
  EXPECT_EQ(stats.layers[1].flops, 2 * 2 * 5 * 4);
  EXPECT_EQ(stats.layers[2].flops, 2 * 5);
  EXPECT_EQ(stats.flops, 48 + 80 + 10);
  EXPECT_EQ(stats.params, 12);  // the buffer w is no parameter
}

}  // namespace
}  // namespace structprune
