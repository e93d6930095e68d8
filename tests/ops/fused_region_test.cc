// Fused oneDNN regions (ops/onednn/region.h) compute what the node-by-node kernels compute:
// every generated graph runs both ways on the same inputs.
#include <iostream>
#include <optional>
#include <utility>

#include "core/rng.h"
#include "gmock/gmock.h"
#include "graph/builder.h"
#include "graph/interpreter.h"
#include "graph/printer.h"
#include "gtest/gtest.h"
#include "ops/conv2d.h"
#include "ops/dropout.h"
#include "ops/onednn/region.h"
#include "ops/pooling.h"
#include "tests/testing/choice_source.h"
#include "tests/testing/golden.h"
#include "tests/testing/op_runner.h"
#include "tests/testing/random_graph.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::GenerateRandomGraph;
using ::structprune::testing::RandomGraph;
using ::structprune::testing::RngChoiceSource;
using ::structprune::testing::Values;

// Seed's random graph and inputs for it; nullopt when the generator declines the seed.
std::optional<std::pair<RandomGraph, std::vector<Tensor>>> RandomCase(uint64_t seed) {
  RngChoiceSource choices(seed);
  absl::StatusOr<RandomGraph> g = GenerateRandomGraph(choices);
  if (!g.ok()) return std::nullopt;
  Rng rng(seed);
  std::vector<Tensor> inputs;
  for (const Shape& s : g->input_shapes) inputs.push_back(rng.UniformTensor(s, -2.f, 2.f));
  return std::make_pair(*std::move(g), std::move(inputs));
}

TEST(FusedRegion, RandomGraphsMatchNodeByNodeKernels) {
  int compared = 0;
  const char* only = getenv("SP_FUSED_SEED");  // replay one seed
  for (uint64_t seed = only ? atoi(only) : 0; seed < (only ? atoi(only) + 1 : 600); ++seed) {
    auto c = RandomCase(seed);
    if (!c) continue;
    const auto& [g, inputs] = *c;
    absl::StatusOr<std::vector<Tensor>> fused = RunModel(g.model, inputs, {.fuse = true});
    absl::StatusOr<std::vector<Tensor>> plain = RunModel(g.model, inputs, {.fuse = false});
    ASSERT_EQ(fused.ok(), plain.ok()) << "seed " << seed;
    if (!plain.ok()) continue;
    ASSERT_EQ(fused->size(), plain->size());
    for (size_t k = 0; k < plain->size(); ++k) {
      EXPECT_TRUE(::structprune::testing::AllClose((*fused)[k], (*plain)[k], 1e-4, 1e-5))
          << "seed " << seed << " output " << k << "\n" << g.description;
    }
    if (HasFailure() && getenv("SP_ALL") == nullptr) return;
    ++compared;
  }
  std::cout << "fused regions: " << compared << " random graphs compared\n";
  EXPECT_GT(compared, 400);
}

// Found by the graph-builder fuzzer: a conv padded in H only, then a residual add.
TEST(FusedRegion, ConvPaddedInOneDimThenAdd) {
  for (int64_t k : {1, 2, 3}) {
    for (auto pad : {std::array<int64_t, 2>{1, 0}, {0, 1}, {1, 1}, {2, 0}, {2, 1}, {3, 1}}) {
      for (bool relu : {false, true}) {
        GraphBuilder b(5);
        b.AddModule("conv", Conv2dAttrs{.in_channels = 1, .out_channels = 2, .kernel_size = {k, k},
                                        .padding = pad});
        Node* x = b.Input("x");
        Node* y = b.Input("y");
        Node* c = b.Call("conv", x);
        if (relu) c = b.Call(OpKind::kRelu, c);
        b.Output(b.Add(c, y));
        SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
        const int64_t oh = 5 + 2 * pad[0] - k + 1, ow = 6 + 2 * pad[1] - k + 1;
        Rng rng(3);
        std::vector<Tensor> in = {rng.UniformTensor({2, 1, 5, 6}, -1, 1),
                                  rng.UniformTensor({2, 2, oh, ow}, -1, 1)};
        SP_ASSERT_OK_AND_ASSIGN(auto fused, RunModel(model, in, {.fuse = true}));
        SP_ASSERT_OK_AND_ASSIGN(auto plain, RunModel(model, in, {.fuse = false}));
        EXPECT_TRUE(::structprune::testing::AllClose(fused[0], plain[0], 1e-5, 1e-6))
            << "kernel " << k << " padding " << pad[0] << "," << pad[1] << " relu " << relu;
      }
    }
  }
}

// Pools with per-side pads (ONNX's asymmetric and wide padding) between convs: oneDNN's
// padding_l / padding_r in a region, or the node-by-node kernel where the region refuses.
TEST(FusedRegion, PoolsWithPerSidePads) {
  const std::vector<PoolPads> all_pads = {{0, 0, 1, 1}, {1, 1, 0, 0}, {0, 1, 1, 0},
                                          {2, 2, 2, 2}, {2, 0, 1, 2}, {0, 0, 0, 2}};
  for (bool is_max : {false, true}) {
    for (const PoolPads& pads : all_pads) {
      for (bool ceil_mode : {false, true}) {
        for (bool include_pad : {false, true}) {
          if (is_max && include_pad) continue;
          const AttrMap attrs = is_max ? MaxPool2dAttrs{.kernel_size = {3, 3},
                                                        .stride = {2, 1},
                                                        .pads = pads,
                                                        .ceil_mode = ceil_mode}
                                             .ToAttrs()
                                       : AvgPool2dAttrs{.kernel_size = {3, 3},
                                                        .stride = {2, 1},
                                                        .pads = pads,
                                                        .ceil_mode = ceil_mode,
                                                        .count_include_pad = include_pad}
                                             .ToAttrs();
          GraphBuilder b(5);
          b.AddModule("conv1",
                      Conv2dAttrs{.in_channels = 2, .out_channels = 3, .kernel_size = {1, 1}});
          b.AddModule("conv2",
                      Conv2dAttrs{.in_channels = 3, .out_channels = 2, .kernel_size = {1, 1}});
          Node* h = b.Call(OpKind::kRelu, b.Call("conv1", b.Input("x")));
          h = b.Call(is_max ? OpKind::kMaxPool2d : OpKind::kAvgPool2d, h, attrs);
          b.Output(b.Call("conv2", h));
          SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
          Rng rng(4);
          const std::vector<Tensor> in = {rng.UniformTensor({2, 2, 7, 6}, -2, 2)};
          SP_ASSERT_OK_AND_ASSIGN(auto fused, RunModel(model, in, {.fuse = true}));
          SP_ASSERT_OK_AND_ASSIGN(auto plain, RunModel(model, in, {.fuse = false}));
          // The region takes the pool unless counting padding would differ from oneDNN's.
          const OpCall call = ::structprune::testing::MakeOpCall(
              is_max ? OpKind::kMaxPool2d : OpKind::kAvgPool2d, attrs, nullptr,
              {::structprune::testing::TensorValue(Tensor::Zeros({2, 3, 7, 6}))});
          SP_ASSERT_OK_AND_ASSIGN(ValueInfo out, FindOpDef(call.kind)->infer(call));
          if (!ceil_mode || !include_pad) EXPECT_TRUE(internal::RegionSupports(call, out.shape));
          // 1e-5: oneDNN sums the window in another order.
          EXPECT_TRUE(::structprune::testing::AllClose(fused[0], plain[0], 1e-5, 1e-6))
              << AttrMapToString(attrs);
        }
      }
    }
  }
}

TEST(FusedRegion, PoolWithIndicesAndDropoutWithMaskStayOutside) {
  // conv -> relu -> max_pool2d(return_indices) -> getitem 0 -> conv, getitem 1 an output; and a
  // dropout returning its mask: neither tuple op is taken by a region (oneDNN computes no
  // indices), and the fused run matches the node-by-node one.
  const AttrMap pool = MaxPool2dAttrs{.kernel_size = {2, 2}, .return_indices = true}.ToAttrs();
  EXPECT_FALSE(internal::RegionSupports(
      ::structprune::testing::MakeOpCall(
          OpKind::kMaxPool2d, pool, nullptr,
          {::structprune::testing::TensorValue(Tensor::Zeros({1, 3, 6, 6}))}),
      {1, 3, 3, 3}));
  GraphBuilder b(5);
  b.AddModule("conv1", Conv2dAttrs{.in_channels = 2, .out_channels = 3, .kernel_size = {1, 1}});
  b.AddModule("conv2", Conv2dAttrs{.in_channels = 3, .out_channels = 2, .kernel_size = {1, 1}});
  Node* h = b.Call(OpKind::kRelu, b.Call("conv1", b.Input("x")));
  Node* p = b.Call(OpKind::kMaxPool2d, h, pool);
  Node* d = b.Call(OpKind::kDropout, b.GetItem(p, 0), {{"p", 0.5}, {"return_mask", true}});
  b.Output({b.Call("conv2", b.GetItem(d, 0)), b.GetItem(p, 1), b.GetItem(d, 1)});
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  Rng rng(7);
  const std::vector<Tensor> in = {rng.UniformTensor({2, 2, 6, 6}, -2, 2)};
  SP_ASSERT_OK_AND_ASSIGN(auto fused, RunModel(model, in, {.fuse = true}));
  SP_ASSERT_OK_AND_ASSIGN(auto plain, RunModel(model, in, {.fuse = false}));
  ASSERT_EQ(fused.size(), 3u);
  EXPECT_TRUE(::structprune::testing::AllClose(fused[0], plain[0], 1e-5, 1e-6));
  EXPECT_TRUE(fused[1].Equals(plain[1]));
  EXPECT_EQ(fused[1].dtype(), DType::kInt64);
  EXPECT_EQ(fused[2].dtype(), DType::kBool);
  EXPECT_THAT(fused[2].values<bool>(), ::testing::Each(true));
}

TEST(FusedRegion, TrainingDropoutStaysOutside) {
  // conv1 -> dropout(training, seed 0) -> conv2: a region taking the dropout as the identity
  // would differ from the node-by-node run (the seeded mask is the same on every run).
  const AttrMap drop = DropoutAttrs{.p = 0.5, .training = true, .seed = 0}.ToAttrs();
  const Value x = ::structprune::testing::TensorValue(Tensor::Zeros({1, 3, 4, 4}));
  EXPECT_FALSE(internal::RegionSupports(
      ::structprune::testing::MakeOpCall(OpKind::kDropout, drop, nullptr, {x}), {1, 3, 4, 4}));
  GraphBuilder b(5);
  b.AddModule("conv1", Conv2dAttrs{.in_channels = 2, .out_channels = 3, .kernel_size = {1, 1}});
  b.AddModule("conv2", Conv2dAttrs{.in_channels = 3, .out_channels = 2, .kernel_size = {1, 1}});
  b.Output(b.Call("conv2", b.Call(OpKind::kDropout, b.Call("conv1", b.Input("x")), drop)));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  Rng rng(7);
  const std::vector<Tensor> in = {rng.UniformTensor({2, 2, 6, 6}, -2, 2)};
  SP_ASSERT_OK_AND_ASSIGN(auto fused, RunModel(model, in, {.fuse = true}));
  SP_ASSERT_OK_AND_ASSIGN(auto plain, RunModel(model, in, {.fuse = false}));
  EXPECT_TRUE(::structprune::testing::AllClose(fused[0], plain[0], 1e-5, 1e-6));
}

TEST(FusedRegion, EightBitAddStaysOutside) {
  // x + y with wrap_to uint8 after a conv: a region would add in float without wrapping.
  const AttrMap wrap = {{"wrap_to", std::string("uint8")}};
  const Value x = ::structprune::testing::TensorValue(Tensor::Zeros({1, 3, 4, 4}));
  EXPECT_FALSE(internal::RegionSupports(
      ::structprune::testing::MakeOpCall(OpKind::kAdd, wrap, nullptr, {x, x}), {1, 3, 4, 4}));
  GraphBuilder b(5);
  Node* a = b.Call(OpKind::kRelu, b.Input("a"));
  b.Output(b.Call(OpKind::kAdd, {a, b.Input("b")}, wrap));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  const std::vector<Tensor> in = {Values({1, 4}, {200, 3, -1, 255}),
                                  Values({1, 4}, {100, 4, 1, 2})};
  SP_ASSERT_OK_AND_ASSIGN(auto fused, RunModel(model, in, {.fuse = true}));
  EXPECT_THAT(fused[0].values<float>(), ::testing::ElementsAre(44, 7, 1, 1));
}

// At a fixed thread count a model computes the same bits every run (oneDNN's work split
// depends only on the count).
TEST(FusedRegion, TwoThreadsAreDeterministic) {
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto c = RandomCase(seed);
    if (!c) continue;
    const auto& [g, inputs] = *c;
    absl::StatusOr<std::unique_ptr<Interpreter>> interp =
        Interpreter::Create(g.model, g.input_shapes, {.num_threads = 2});
    ASSERT_TRUE(interp.ok()) << interp.status();
    absl::StatusOr<std::vector<Tensor>> first = (*interp)->Run(inputs);
    absl::StatusOr<std::vector<Tensor>> second = (*interp)->Run(inputs);
    ASSERT_TRUE(first.ok() && second.ok());
    for (size_t k = 0; k < first->size(); ++k) {
      EXPECT_TRUE(::structprune::testing::AllClose((*first)[k], (*second)[k], 0, 0)) << "seed " << seed;
    }
  }
}

}  // namespace
}  // namespace structprune
