// The pruning pass (Prepare + Step + Prune) on chains of 10 to 10,000 layers: it must grow
// linearly (patterns are indexed by their first op, plans are committed once).
#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "graph/builder.h"
#include "ops/linear.h"
#include "pruning/structured_sparsifier.h"

namespace structprune {
namespace {

// Prunes the first row of every configured weight.
class FirstRowPruner : public BaseStructuredSparsifier {
 protected:
  absl::Status UpdateMask(const Module&, const ConfigGroup&, Tensor& mask) override {
    mask.data<bool>()[0] = false;
    return absl::OkStatus();
  }
};

// Linear(16, 16) -> ReLU, `layers` times, then a classifier kept out of the config.
GraphModule LinearChain(int64_t layers) {
  GraphBuilder b(1);
  Node* x = b.Input("x");
  for (int64_t i = 0; i < layers; ++i) {
    const std::string fqn = absl::StrCat("layers.", i);
    b.AddModule(fqn, LinearAttrs{.in_features = 16, .out_features = 16});
    x = b.Call(OpKind::kRelu, b.Call(fqn, x));
  }
  b.AddModule("head", LinearAttrs{.in_features = 16, .out_features = 4});
  b.Output(b.Call("head", x));
  return *b.Build();
}

void BM_PruneLinearChain(benchmark::State& state) {
  const int64_t layers = state.range(0);
  SparsityConfig config;
  for (int64_t i = 0; i < layers; ++i) config.push_back({{kTensorFqn, absl::StrCat("layers.", i, ".weight")}});
  for (auto _ : state) {
    state.PauseTiming();
    GraphModule model = LinearChain(layers);
    FirstRowPruner pruner;
    state.ResumeTiming();
    if (!pruner.Prepare(model, config).ok() || !pruner.Step().ok() || !pruner.Prune().ok()) {
      state.SkipWithError("pruning failed");
      break;
    }
  }
  state.SetComplexityN(layers);
  state.counters["layers/s"] = benchmark::Counter(static_cast<double>(layers), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PruneLinearChain)->ArgName("layers")->RangeMultiplier(10)->Range(10, 10000)->Complexity(benchmark::oN)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace structprune
