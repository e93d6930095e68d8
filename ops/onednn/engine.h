// The oneDNN CPU engine and stream, and dnnl::error -> absl::Status. Files under ops/onednn/
// are the only ones that include dnnl.hpp.
#ifndef STRUCTPRUNE_OPS_ONEDNN_ENGINE_H_
#define STRUCTPRUNE_OPS_ONEDNN_ENGINE_H_

#include <functional>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace structprune::internal {

dnnl::engine& CpuEngine();
// One stream per thread: streams are not thread-safe.
dnnl::stream& CpuStream();
// oneDNN's OpenMP runtime takes its thread count from the calling thread: set it before
// creating primitives (they size their work split by it) and before running them.
void SetOnednnThreads(int num_threads);
// Runs fn(thread, team) for thread = 0 .. team - 1 at once on oneDNN's own OpenMP threads
// (no extra thread competes with its spinning workers); oneDNN calls inside run on their
// caller's thread. team is num_threads, or fewer when the OpenMP runtime gives fewer (called
// inside another parallel region: 1). `fn` must not throw. BarrierOnOnednnThreads() inside
// `fn` waits for the whole team.
void RunOnOnednnThreads(int num_threads, const std::function<void(int thread, int team)>& fn);
void BarrierOnOnednnThreads();

// Runs `fn`, turning a dnnl::error into Unimplemented (primitive creation: the caller falls
// back to the reference kernel) or Internal (execution).
template <typename Fn>
absl::Status CallOnednn(absl::string_view what, absl::StatusCode code, Fn&& fn) {
  try {
    fn();
    return absl::OkStatus();
  } catch (const dnnl::error& e) {
    return absl::Status(code, absl::StrCat("oneDNN ", what, ": ", e.what()));
  }
}

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_OPS_ONEDNN_ENGINE_H_
