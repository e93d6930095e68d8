#include "ops/onednn/engine.h"

#include <algorithm>

// oneDNN's own OpenMP runtime (libgomp, which Debian's libdnnl links). Declared here rather
// than through <omp.h> so that no compiler needs its OpenMP headers for this one call.
extern "C" int omp_get_max_threads(void);
extern "C" void omp_set_num_threads(int num_threads);

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

}  // namespace structprune::internal
