// Per-layer statistics of a model for given input shapes: output shape, parameters and
// FLOPs (2 per multiply-add for Linear/Conv2d/LSTM/matmul, one per output element elsewhere).
#ifndef STRUCTPRUNE_GRAPH_MODEL_STATS_H_
#define STRUCTPRUNE_GRAPH_MODEL_STATS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph_module.h"

namespace structprune {

struct LayerStats {
  std::string node;    // node name
  std::string target;  // module FQN or function name
  std::string op;      // "Conv2d", "relu", ...
  std::string output;  // "[8, 32, 16, 16]"
  int64_t params = 0;
  int64_t flops = 0;
};

struct ModelStats {
  std::vector<LayerStats> layers;
  int64_t params = 0;  // every parameter of the module tree
  int64_t flops = 0;
};

// Plans the model for `input_shapes` (errors as Interpreter::Create) and counts.
absl::StatusOr<ModelStats> ComputeModelStats(const GraphModule& model, const std::vector<Shape>& input_shapes);

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_MODEL_STATS_H_
