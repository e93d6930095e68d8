#include "ops/onednn/engine.h"

#include <algorithm>

// oneDNN's own OpenMP runtime (libgomp, which Debian's libdnnl links). Declared here rather
// than through <omp.h> so that no compiler needs its OpenMP headers for this one call.
extern "C" int omp_get_max_threads(void);
extern "C" void omp_set_num_threads(int num_threads);
extern "C" int omp_get_thread_num(void);
extern "C" int omp_get_num_threads(void);
// libgomp's entry points for `#pragma omp parallel` and `#pragma omp barrier` (its stable ABI;
// this file is compiled without -fopenmp).
extern "C" void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags);
extern "C" void GOMP_barrier(void);

namespace structprune::internal {

dnnl::engine& CpuEngine() {
  static dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

dnnl::stream& CpuStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

void SetOnednnThreads(int num_threads) {
  const int n = std::max(1, num_threads);
  if (omp_get_max_threads() != n) omp_set_num_threads(n);
}

void RunOnOnednnThreads(int num_threads, const std::function<void(int, int)>& fn) {
  using Job = std::function<void(int, int)>;
  GOMP_parallel([](void* job) { (*static_cast<const Job*>(job))(omp_get_thread_num(), omp_get_num_threads()); },
                const_cast<Job*>(&fn), static_cast<unsigned>(std::max(1, num_threads)), 0);
}

void BarrierOnOnednnThreads() { GOMP_barrier(); }

}  // namespace structprune::internal
