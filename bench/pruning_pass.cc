// One pruning pass (Prepare + Step + Prune) on one network, for measurements a timer cannot
// make: scripts/pruning_scaling.sh runs it under callgrind, which counts the instructions
// executed inside RunPruningPass (and simulates the caches), to show the pass's work per layer
// is the same at 1,000 and at 30,000 layers. Also prints the pass's wall time.
//
// Usage: pruning_pass chain|residual|minimal LAYERS [REPEATS]
// (minimal: RunMinimalChainPass on the chain, the least work a pass does, for scale)
// With REPEATS > 1 the first pass is a warm-up (untimed) and each later pass is printed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench/pruning_models.h"

namespace structprune::bench {

// Not inlined: callgrind's --toggle-collect counts from its entry to its return.
__attribute__((noinline)) absl::Status RunPruningPass(GraphModule& model, BaseStructuredSparsifier& pruner,
                                                      const SparsityConfig& config) {
  if (absl::Status s = pruner.Prepare(model, config); !s.ok()) return s;
  if (absl::Status s = pruner.Step(); !s.ok()) return s;
  return pruner.Prune().status();
}
__attribute__((noinline)) absl::Status RunPruningPassMinimal(GraphModule& model) { return RunMinimalChainPass(model); }

int Main(int argc, char** argv) {
  const bool chain = argc >= 3 && std::strcmp(argv[1], "chain") == 0;
  const bool residual = argc >= 3 && std::strcmp(argv[1], "residual") == 0;
  const bool minimal = argc >= 3 && std::strcmp(argv[1], "minimal") == 0;
  const int64_t layers = argc >= 3 ? std::atoll(argv[2]) : 0;
  const int repeats = argc >= 4 ? std::atoi(argv[3]) : 1;
  if ((!chain && !residual && !minimal) || layers < 4 || repeats < 1 || argc > 4) {
    std::fprintf(stderr, "usage: pruning_pass chain|residual|minimal LAYERS(>=4) [REPEATS]\n");
    return 2;
  }
  KeepHeapWarm();
  for (int r = 0; r < repeats; ++r) {
    GraphModule model = residual ? LinearResidualNet(layers) : LinearChain(layers);
    const SparsityConfig config = AllButHead(model);
    std::unique_ptr<BaseStructuredSparsifier> pruner = residual ? MakeResidualPruner() : MakeChainPruner();
    const auto start = std::chrono::steady_clock::now();
    const absl::Status status = minimal ? RunPruningPassMinimal(model) : RunPruningPass(model, *pruner, config);
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    if (!status.ok()) {
      std::fprintf(stderr, "pruning failed: %s\n", status.ToString().c_str());
      return 1;
    }
    if (repeats == 1 || r > 0) {
      std::printf("%s %lld layers: %.1f ms, %.2f us/layer\n", argv[1], static_cast<long long>(layers), us / 1e3,
                  us / static_cast<double>(layers));
    }
  }
  return 0;
}

}  // namespace structprune::bench

int main(int argc, char** argv) { return structprune::bench::Main(argc, argv); }
