// Random GraphModules for property tests and fuzzers, built with GraphBuilder from every
// supported op: Linear and Conv2d chains (grouped and depthwise convs, BatchNorm2d, the 21
// activations in module and functional form, max/avg pools with padding, ceil_mode and
// count_include_pad, adaptive pool + flatten + linear heads), DAGs (residual adds, cats,
// fan-out, extra outputs) and LSTM (-> LayerNorm) -> Linear. Shapes stay small, so one case
// plans and runs in about a millisecond.
#ifndef STRUCTPRUNE_TESTS_TESTING_RANDOM_GRAPH_H_
#define STRUCTPRUNE_TESTS_TESTING_RANDOM_GRAPH_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/shape.h"
#include "graph/graph_module.h"
#include "tests/testing/choice_source.h"

namespace structprune::testing {

enum class GraphFamily {
  kLinearChain,  // Linear -> activations / LayerNorm / dropout -> Linear ...
  kConvChain,    // Conv2d -> BatchNorm2d -> activation -> pool ..., then a head
  kPools,        // conv chains where most stages pool and the head is adaptive
  kDag,          // residual adds, cats, fan-out and extra outputs (conv or linear)
  kLstm,         // LSTM -> getitem -> (LayerNorm) -> Linear, state outputs, initial state
};
inline constexpr int kNumGraphFamilies = 5;
absl::string_view GraphFamilyName(GraphFamily family);

struct RandomGraph {
  GraphFamily family;
  GraphModule model;
  std::vector<Shape> input_shapes;  // one per placeholder, in order
  std::string description;          // one line per layer with its output shape
};

// Draws the family (unless given) and then a model from `choices`. Every sequence of choices
// gives a model that plans and runs on `input_shapes`; Internal (a generator bug) otherwise,
// with the description.
absl::StatusOr<RandomGraph> GenerateRandomGraph(ChoiceSource& choices,
                                                std::optional<GraphFamily> family = std::nullopt);

}  // namespace structprune::testing

#endif  // STRUCTPRUNE_TESTS_TESTING_RANDOM_GRAPH_H_
