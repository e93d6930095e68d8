// Fused oneDNN regions (ops/onednn/region.h) compute what the node-by-node kernels compute:
// every generated graph runs both ways on the same inputs.
#include <iostream>
#include <optional>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "core/rng.h"
#include "graph/builder.h"
#include "graph/interpreter.h"
#include "ops/conv2d.h"
#include "graph/printer.h"
#include "tests/testing/choice_source.h"
#include "tests/testing/golden.h"
#include "tests/testing/random_graph.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::GenerateRandomGraph;
using ::structprune::testing::RandomGraph;
using ::structprune::testing::RngChoiceSource;

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
