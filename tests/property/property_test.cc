// Property suite (issue 7): thousands of random graphs (tests/testing/random_graph.h) pruned
// at random (tests/testing/prune_properties.h): failures leave the model unchanged, pruned
// equals masked, ONNX round trips, parameters never grow. One TEST per graph family so ctest
// runs them in parallel; case seed s belongs to family s % kNumGraphFamilies.
//
//   SP_PROPERTY_SEED=N      replay case N alone, printing its graph and prune setup
//   SP_PROPERTY_VERBOSE=1   print every case (graph, prune setup, outcome)
//   SP_PROPERTY_CASES=N     cases per family instead of the default
//   SP_PROPERTY_SECONDS=S   run each family for S seconds (with SP_PROPERTY_CASES: whichever
//                           ends first)
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/printer.h"
#include "tests/testing/choice_source.h"
#include "tests/testing/prune_properties.h"
#include "tests/testing/random_graph.h"

namespace structprune {
namespace {

using ::structprune::testing::CheckPruneProperties;
using ::structprune::testing::GraphFamily;
using ::structprune::testing::GraphFamilyName;
using ::structprune::testing::kNumGraphFamilies;
using ::structprune::testing::PropertyOutcome;
using ::structprune::testing::RandomGraph;
using ::structprune::testing::RngChoiceSource;

constexpr int kMaxReportedFailures = 5;  // per family: enough to see a pattern, not a flood

struct Counts {
  int64_t cases = 0;
  int64_t pruned = 0;
  int64_t shrunk = 0;    // pruned cases that removed parameters
  int64_t rejected = 0;  // a stage returned a status (and left the model as it was)
  int64_t onnx = 0;      // ONNX round trips compared
  int64_t failed = 0;    // cases violating a property
  void operator+=(const Counts& o) {
    cases += o.cases;
    pruned += o.pruned;
    shrunk += o.shrunk;
    rejected += o.rejected;
    onnx += o.onnx;
    failed += o.failed;
  }
};

std::string CountsToString(const Counts& c) {
  return absl::StrCat(c.cases, " cases, ", c.pruned, " pruned (", c.shrunk, " smaller), ",
                      c.rejected, " rejected with status, ", c.onnx, " ONNX round trips, ",
                      c.failed, " failing");
}

Counts& SuiteCounts() {
  static Counts counts;
  return counts;
}

// The suite's total once every test of this binary has run (one line, whatever the filter).
class SummaryEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (SuiteCounts().cases > 0)
      std::cout << "property suite: " << CountsToString(SuiteCounts()) << "\n";
  }
};
[[maybe_unused]] ::testing::Environment* const kSummary =
    ::testing::AddGlobalTestEnvironment(new SummaryEnvironment);

std::optional<int64_t> EnvInt(const char* name) {
  const char* value = std::getenv(name);
  int64_t n = 0;
  if (value == nullptr || !absl::SimpleAtoi(value, &n)) return std::nullopt;
  return n;
}

// Runs case `seed`: generates its graph, prunes it and checks every property. A violation
// prints what replays it.
void RunCase(uint64_t seed, GraphFamily family, bool verbose, Counts& counts) {
  ++counts.cases;
  const auto start = std::chrono::steady_clock::now();
  RngChoiceSource choices(seed);
  absl::StatusOr<RandomGraph> graph = testing::GenerateRandomGraph(choices, family);
  if (!graph.ok()) {
    ++counts.failed;
    ADD_FAILURE() << "seed " << seed << ": " << graph.status();
    return;
  }
  const std::string printed = GraphToString(graph->model);
  const std::string description = graph->description;
  const PropertyOutcome out = CheckPruneProperties(*graph, choices, seed);
  ++(out.pruned ? counts.pruned : counts.rejected);
  counts.shrunk += out.shrunk;
  counts.onnx += out.onnx_checked;
  const std::string details =
      absl::StrCat("--- graph: ", description, printed, "--- prune: ", out.setup, "\n--- ",
                   out.pruned ? "pruned" : "rejected: " + out.rejection, "\n");
  if (verbose) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::cout << "seed " << seed << " (" << ms.count() << " ms)\n" << details;
  }
  if (out.violations.empty()) return;
  ++counts.failed;
  ADD_FAILURE() << "seed " << seed << " violates a property (replay: SP_PROPERTY_SEED=" << seed
                << " ./property_test)\n"
                << absl::StrJoin(out.violations, "\n") << "\n"
                << details;
}

void RunFamily(GraphFamily family, int64_t default_cases) {
  const int64_t f = static_cast<int64_t>(family);
  Counts counts;
  if (std::optional<int64_t> replay = EnvInt("SP_PROPERTY_SEED")) {
    if (*replay % kNumGraphFamilies != f) {
      GTEST_SKIP() << "seed " << *replay << " is no " << GraphFamilyName(family) << " case";
    }
    RunCase(static_cast<uint64_t>(*replay), family, /*verbose=*/true, counts);
  } else {
    const std::optional<int64_t> seconds = EnvInt("SP_PROPERTY_SECONDS");
    const bool verbose = EnvInt("SP_PROPERTY_VERBOSE").value_or(0) != 0;
    const int64_t cases = EnvInt("SP_PROPERTY_CASES").value_or(seconds ? INT64_MAX : default_cases);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(seconds.value_or(0));
    for (int64_t i = 0; i < cases && counts.failed < kMaxReportedFailures; ++i) {
      if (seconds && std::chrono::steady_clock::now() >= deadline) break;
      RunCase(static_cast<uint64_t>(i * kNumGraphFamilies + f), family, verbose, counts);
    }
    if (counts.failed >= kMaxReportedFailures) {
      std::cout << "stopped after " << counts.failed << " failing cases\n";
    }
  }
  std::cout << "[property] " << GraphFamilyName(family) << ": " << CountsToString(counts) << "\n";
  ::testing::Test::RecordProperty("cases", std::to_string(counts.cases));
  ::testing::Test::RecordProperty("pruned", std::to_string(counts.pruned));
  ::testing::Test::RecordProperty("rejected", std::to_string(counts.rejected));
  SuiteCounts() += counts;
}

// Default case counts: 4900 cases, 35 to 40 s on two cores (Release) in one process as under
// ctest -j2 (oneDNN's threads use both cores anyway); twice that on a busy machine. Conv
// families cost the most: oneDNN primitives are created afresh for every case.
TEST(PruneProperty, LinearChains) { RunFamily(GraphFamily::kLinearChain, 1500); }
TEST(PruneProperty, ConvChains) { RunFamily(GraphFamily::kConvChain, 700); }
TEST(PruneProperty, Pools) { RunFamily(GraphFamily::kPools, 600); }
TEST(PruneProperty, Dags) { RunFamily(GraphFamily::kDag, 600); }
TEST(PruneProperty, Lstms) { RunFamily(GraphFamily::kLstm, 1500); }

}  // namespace
}  // namespace structprune
