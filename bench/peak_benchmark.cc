// This machine's single-precision peak, as scripts/compare.sh reports it: oneDNN's SGEMM
// (dnnl_sgemm, row-major C = A * B) on square problems, at 1 and 2 threads. The FLOPS rate
// counts 2 * n^3 per call; compare.sh takes the best over sizes and repetitions (on a busy
// machine the long 2048 calls are the likeliest to be preempted).
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.h>

#include <cstdint>
#include <vector>

#include "core/rng.h"

// oneDNN's OpenMP runtime (libgomp), declared as ops/onednn/engine.cc does.
extern "C" void omp_set_num_threads(int num_threads);

namespace structprune {
namespace {

// Args: n, threads.
void BM_Sgemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  omp_set_num_threads(static_cast<int>(state.range(1)));
  Rng rng(1);
  // a, b, c [n, n], row-major.
  const Tensor a = rng.NormalTensor({n, n});
  const Tensor b = rng.NormalTensor({n, n});
  std::vector<float> c(static_cast<size_t>(n * n));
  auto sgemm = [&] {
    return dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data<float>(), n, b.data<float>(), n, 0.0f,
                      c.data(), n);
  };
  if (sgemm() != dnnl_success) {  // also the warm-up: oneDNN's JIT kernels are built here
    state.SkipWithError("dnnl_sgemm failed");
    return;
  }
  for (auto _ : state) {
    sgemm();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOPS"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Sgemm)
    ->ArgsProduct({{512, 1024, 2048}, {1, 2}})
    ->ArgNames({"n", "threads"})
    ->UseRealTime()  // the work runs on OpenMP's threads
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace structprune
