// Fuzzes graph building and pruning: the bytes choose a random graph (tests/testing/
// random_graph.h, through BytesChoiceSource: short inputs give small graphs, exhausted bytes
// choose defaults) and then a prune of it (tests/testing/prune_properties.h: pruner, config,
// masks, mode). The graph must build and run; prepare/step/prune may fail with a status, but
// every property of the suite in tests/property must hold. A violation prints the graph and
// aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/rng.h"
#include "graph/interpreter.h"
#include "graph/printer.h"
#include "tests/testing/choice_source.h"
#include "tests/testing/prune_properties.h"
#include "tests/testing/random_graph.h"

namespace structprune::testing {
namespace {

[[noreturn]] void Fail(const std::string& what, const std::string& details) {
  std::fprintf(stderr, "%s\n%s\n", what.c_str(), details.c_str());
  std::abort();
}

void FuzzOne(absl::string_view bytes) {
  BytesChoiceSource choices(bytes);
  absl::StatusOr<RandomGraph> graph = GenerateRandomGraph(choices);
  // The generator promises a model that builds and plans, whatever the bytes.
  if (!graph.ok()) Fail("the generated graph is invalid", graph.status().ToString());
  const std::string details = graph->description + GraphToString(graph->model);
  Rng rng(bytes.size());
  std::vector<Tensor> inputs;
  for (const Shape& s : graph->input_shapes) inputs.push_back(rng.NormalTensor(s));
  if (absl::Status s = RunModel(graph->model, inputs).status(); !s.ok()) {
    Fail("the generated graph does not run: " + s.ToString(), details);
  }
  const PropertyOutcome out = CheckPruneProperties(*graph, choices, /*seed=*/bytes.size());
  if (!out.violations.empty()) {
    Fail("a pruning property is violated:\n" + absl::StrJoin(out.violations, "\n"),
         details + "--- prune: " + out.setup);
  }
}

}  // namespace
}  // namespace structprune::testing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  structprune::testing::FuzzOne(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
