// The pruning pass (Prepare + Step + Prune) on chains and residual networks of 10 to 30,000
// layers: it must grow linearly (patterns are indexed by their first op, dependency groups are
// built in one walk, plans are committed once, per-group state is indexed by group).
// Complexity(oN) fits the growth. The time per layer still rises from 1,000 to
// 10,000 layers, where the pass's working set leaves the CPU caches, and so does that of the
// least pass (BM_PruneLinearChainMinimal, the yardstick: on the development VM 1.6x, the real
// passes 1.7-1.9x); scripts/pruning_scaling.sh counts the instructions per layer (constant)
// and the simulated cache misses. The counters say what the pass asks of the heap:
// `peak_bytes` is the most heap the pass held above what the unpruned model and pruner already
// held, `allocs/layer` how many blocks it asked for (bench/heap_counter.h counts every malloc
// of this process, tensor storage included), `faults/layer` how many fresh pages it touched
// (about none: the heap is kept warm) and `cold_faults/layer` how many a process's first pass
// touches.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>

#include "bench/heap_counter.h"
#include "bench/pruning_models.h"

namespace structprune {
namespace {

using bench::AllButHead;
using bench::KeepHeapWarm;

using Clock = std::chrono::steady_clock;

// Minor page faults of this process so far: first touches of fresh heap pages, which cost
// ~14 us each on the development VM.
int64_t PageFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}
double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// One pass (Prepare + Step + Prune) on a fresh model: phase times and heap use.
struct PassStats {
  absl::Status status;
  double seconds[3] = {0, 0, 0};  // prepare, step, prune
  int64_t peak_bytes = 0;
  int64_t allocations = 0;
  int64_t page_faults = 0;
};

PassStats RunPass(GraphModule& model, BaseStructuredSparsifier& pruner, const SparsityConfig& config) {
  PassStats stats;
  const int64_t live_before = bench::LiveHeapBytes();
  const int64_t allocations_before = bench::HeapAllocations();
  const int64_t faults_before = PageFaults();
  bench::ResetHeapPeak();
  const auto t0 = Clock::now();
  stats.status = pruner.Prepare(model, config);
  const auto t1 = Clock::now();
  if (stats.status.ok()) stats.status = pruner.Step();
  const auto t2 = Clock::now();
  if (stats.status.ok()) stats.status = pruner.Prune().status();
  const auto t3 = Clock::now();
  stats.seconds[0] = Seconds(t1 - t0);
  stats.seconds[1] = Seconds(t2 - t1);
  stats.seconds[2] = Seconds(t3 - t2);
  stats.peak_bytes = bench::PeakHeapBytes() - live_before;
  stats.allocations = bench::HeapAllocations() - allocations_before;
  stats.page_faults = PageFaults() - faults_before;
  return stats;
}

// Times Prepare + Step + Prune on a fresh model per iteration; building the model and pruner
// and destroying them afterwards are not timed. One untimed pass first: every size is timed
// with the heap pages the pass needs already mapped (a process's first pass also pays the
// page faults, `cold_faults/layer`; the 10,000-layer case would otherwise be the only one
// timed cold, as it runs once).
void TimePruningPass(
    benchmark::State& state, const std::function<GraphModule()>& build,
    const std::function<std::unique_ptr<BaseStructuredSparsifier>()>& make_pruner) {
  const int64_t layers = state.range(0);
  KeepHeapWarm();
  const SparsityConfig config = AllButHead(build());
  int64_t cold_faults = 0;
  {
    GraphModule model = build();
    cold_faults = RunPass(model, *make_pruner(), config).page_faults;
  }
  PassStats total;
  for (auto _ : state) {
    state.PauseTiming();
    auto model = std::make_unique<GraphModule>(build());
    std::unique_ptr<BaseStructuredSparsifier> pruner = make_pruner();
    state.ResumeTiming();
    const PassStats pass = RunPass(*model, *pruner, config);
    state.PauseTiming();
    for (int i = 0; i < 3; ++i) total.seconds[i] += pass.seconds[i];
    total.peak_bytes = std::max(total.peak_bytes, pass.peak_bytes);
    total.allocations += pass.allocations;
    total.page_faults += pass.page_faults;
    pruner.reset();
    model.reset();
    state.ResumeTiming();
    if (!pass.status.ok()) {
      state.SkipWithError(pass.status.ToString().c_str());
      break;
    }
  }
  state.SetComplexityN(layers);
  const double iterations = static_cast<double>(std::max<int64_t>(state.iterations(), 1));
  const double per_layer = 1.0 / static_cast<double>(layers);
  state.counters["prepare_ms"] = 1e3 * total.seconds[0] / iterations;
  state.counters["step_ms"] = 1e3 * total.seconds[1] / iterations;
  state.counters["prune_ms"] = 1e3 * total.seconds[2] / iterations;
  state.counters["layers/s"] = benchmark::Counter(static_cast<double>(layers),
                                                  benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_bytes"] =
      benchmark::Counter(static_cast<double>(total.peak_bytes), benchmark::Counter::kDefaults,
                         benchmark::Counter::OneK::kIs1024);
  state.counters["peak_bytes/layer"] = static_cast<double>(total.peak_bytes) * per_layer;
  state.counters["allocs/layer"] = static_cast<double>(total.allocations) / iterations * per_layer;
  state.counters["faults/layer"] = static_cast<double>(total.page_faults) / iterations * per_layer;
  state.counters["cold_faults/layer"] = static_cast<double>(cold_faults) * per_layer;
}

// The seed's pattern table on a chain: no dependency groups.
void BM_PruneLinearChain(benchmark::State& state) {
  TimePruningPass(state, [&] { return bench::LinearChain(state.range(0)); }, bench::MakeChainPruner);
}

// Dependency groups across residual adds, L1 saliency scored over each group, 25 % pruned.
void BM_PruneLinearResidual(benchmark::State& state) {
  TimePruningPass(state, [&] { return bench::LinearResidualNet(state.range(0)); }, bench::MakeResidualPruner);
}

// For scale: the least work a pass pruning the chain does (bench::RunMinimalChainPass), timed
// the same way. Its time per layer also rises from 1,000 to 10,000 layers, by the machine's
// share of the growth above.
void BM_PruneLinearChainMinimal(benchmark::State& state) {
  const int64_t layers = state.range(0);
  KeepHeapWarm();
  {
    GraphModule warm_up = bench::LinearChain(layers);
    if (!bench::RunMinimalChainPass(warm_up).ok()) state.SkipWithError("minimal pass failed");
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto model = std::make_unique<GraphModule>(bench::LinearChain(layers));
    state.ResumeTiming();
    const absl::Status status = bench::RunMinimalChainPass(*model);
    state.PauseTiming();
    model.reset();
    state.ResumeTiming();
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  state.SetComplexityN(layers);
  state.counters["layers/s"] = benchmark::Counter(static_cast<double>(layers),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

// 10, 100, 1,000 and 10,000 layers; Google Benchmark fits time = k * layers.
void LayerCounts(benchmark::internal::Benchmark* b) {
  b->ArgName("layers")->RangeMultiplier(10)->Range(10, 10000)->Arg(30000)->Complexity(benchmark::oN);
  b->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_PruneLinearChain)->Apply(LayerCounts);
BENCHMARK(BM_PruneLinearResidual)->Apply(LayerCounts);
BENCHMARK(BM_PruneLinearChainMinimal)->Apply(LayerCounts);

}  // namespace
}  // namespace structprune
