// `structprune bench`: steady-state forward latency (median, p90) and throughput on random
// inputs of the model's shapes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/rng.h"
#include "graph/interpreter.h"
#include "tools/cli_common.h"

ABSL_FLAG(int32_t, threads, 1, "intra-op threads");
ABSL_FLAG(int32_t, iters, 50, "timed forward passes");
ABSL_FLAG(int32_t, warmup, 5, "untimed forward passes first");
ABSL_FLAG(bool, json, false,
          "print only {\"median_ms\": .., \"p90_ms\": .., \"throughput\": ..} on stdout");

namespace structprune::cli {
namespace {

constexpr char kCommand[] = "bench";

struct BenchFlags {
  std::string model_path;
  int threads;
  int iters;
  int warmup;
  bool json;
};

// Nearest-rank percentile of sorted samples: the smallest value with at least p% at or below.
double Percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

int RunBench(const BenchFlags& flags) {
  Progress(kCommand, absl::StrCat("importing ", flags.model_path));
  absl::StatusOr<LoadedModel> loaded = LoadModel(flags.model_path);
  if (!loaded.ok()) return Fail(kCommand, loaded.status());
  absl::StatusOr<std::unique_ptr<Interpreter>> interp = Interpreter::Create(
      loaded->onnx.model, loaded->input_shapes, InterpreterOptions{.num_threads = flags.threads});
  if (!interp.ok()) return Fail(kCommand, interp.status());
  Rng rng(7);
  std::vector<Tensor> inputs;
  for (const Shape& s : loaded->input_shapes) inputs.push_back(rng.NormalTensor(s));
  std::vector<Tensor> outputs;  // reused: RunInto allocates nothing in steady state
  for (int i = 0; i < flags.warmup; ++i) {
    if (absl::Status s = (*interp)->RunInto(inputs, outputs); !s.ok()) return Fail(kCommand, s);
  }
  Progress(kCommand, absl::StrCat("timing ", flags.iters, " forward passes"));
  std::vector<double> ms;
  ms.reserve(flags.iters);
  double total_ms = 0;
  for (int i = 0; i < flags.iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    absl::Status s = (*interp)->RunInto(inputs, outputs);
    const auto t1 = std::chrono::steady_clock::now();
    if (!s.ok()) return Fail(kCommand, s);
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    total_ms += ms.back();
  }
  std::sort(ms.begin(), ms.end());
  const double median =
      ms.size() % 2 ? ms[ms.size() / 2] : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;
  const double p90 = Percentile(ms, 90);
  // Forward passes per second over the timed passes.
  const double throughput =
      total_ms > 0 ? 1000.0 * static_cast<double>(flags.iters) / total_ms : 0.0;
  if (flags.json) {
    std::printf("{\"median_ms\": %.4f, \"p90_ms\": %.4f, \"throughput\": %.2f}\n", median, p90,
                throughput);
    return kExitOk;
  }
  std::vector<std::string> shapes;
  for (const Shape& s : loaded->input_shapes) shapes.push_back(ShapeToString(s));
  std::printf("%s: inputs %s, %d thread(s), %d timed passes after %d warm-up\n",
              flags.model_path.c_str(), absl::StrJoin(shapes, ", ").c_str(), flags.threads,
              flags.iters, flags.warmup);
  std::printf("  latency median %.4f ms, p90 %.4f ms\n", median, p90);
  std::printf("  throughput     %.2f inferences/s\n", throughput);
  return kExitOk;
}

}  // namespace

const CommandSpec& BenchCommand() {
  static const CommandSpec* spec = new CommandSpec{
      .name = kCommand,
      .synopsis = "bench MODEL.onnx [--threads N] [--iters N] [--warmup N] [--json]",
      .summary =
          "Times forward passes on random inputs of the model's shapes (symbolic dimensions as\n"
          "1): median and p90 latency in milliseconds, throughput in inferences per second.",
      .flags = {{"threads", "N"}, {"iters", "N"}, {"warmup", "N"}, {"json", ""}},
      .aliases = {},
      .min_positional = 1,
      .max_positional = 1,
      .positional_name = "MODEL.onnx"};
  return *spec;
}

int BenchMain(const std::vector<std::string>& argv) {
  absl::StatusOr<ParsedArgs> args = ParseArgs(BenchCommand(), argv);
  if (!args.ok()) return Fail(kCommand, args.status());
  if (args->help) {
    std::fputs(HelpText(BenchCommand()).c_str(), stdout);
    return kExitOk;
  }
  const BenchFlags flags{.model_path = args->positional[0],
                         .threads = absl::GetFlag(FLAGS_threads),
                         .iters = absl::GetFlag(FLAGS_iters),
                         .warmup = absl::GetFlag(FLAGS_warmup),
                         .json = absl::GetFlag(FLAGS_json)};
  // Bounds keep a typo from asking for billions of passes or threads.
  for (const auto& [name, value, lo, hi] : {std::tuple{"--threads", flags.threads, 1, 1024},
                                            std::tuple{"--iters", flags.iters, 1, 10000000},
                                            std::tuple{"--warmup", flags.warmup, 0, 10000000}}) {
    if (value < lo || value > hi) {
      return Fail(kCommand, absl::InvalidArgumentError(absl::StrCat(name, " must be in [", lo, ", ",
                                                                    hi, "], got ", value)));
    }
  }
  return RunBench(flags);
}

}  // namespace structprune::cli
