// Interpreter: runs a GraphModule forward on the CPU. Create() plans shapes, builds kernels
// and packs weights (reading parameters through their parametrizations); Run() only computes
// and calls the modules' forward hooks.
#ifndef STRUCTPRUNE_GRAPH_INTERPRETER_H_
#define STRUCTPRUNE_GRAPH_INTERPRETER_H_

#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph_module.h"
#include "graph/value.h"
#include "ops/op_def.h"

namespace structprune {

struct InterpreterOptions {
  int num_threads = 1;             // intra-op threads (results are deterministic for a count)
  bool reference_kernels = false;  // plain loop/Eigen kernels only (tests compare the two)
  bool fuse = true;                // fused oneDNN regions (ops/onednn/region.h)
  bool plan_only = false;          // shapes only (InfoOf): no kernels; Run fails
};

class Interpreter {
 public:
  // Plans the model for inputs of `input_shapes` (one per placeholder). Errors name the node
  // and the shapes involved (InvalidArgument), or the missing module (NotFound). The
  // interpreter sees parameters as they are now and keeps a pointer to `model` for its
  // forward hooks: `model` must outlive it, and after editing weights create a new one.
  static absl::StatusOr<std::unique_ptr<Interpreter>> Create(const GraphModule& model,
                                                             std::vector<Shape> input_shapes,
                                                             InterpreterOptions options = {});

  // Runs one forward pass; returns the output node's tensors flattened depth first (owned by
  // the caller). InvalidArgument when an input's count or shape differs from the plan.
  absl::StatusOr<std::vector<Tensor>> Run(absl::Span<const Tensor> inputs);
  // Same, copying the results into `outputs`, whose tensors are reused when their shapes
  // already fit: no allocation in steady state (benchmarks, serving loops).
  absl::Status RunInto(absl::Span<const Tensor> inputs, std::vector<Tensor>& outputs);

  // The planned shape of every node's result, by node name; or by node of the graph this
  // interpreter was made from, while that graph is unchanged (an array read, for analyses that
  // ask for every node; nullptr for a node not at its planned position).
  const ValueInfo* InfoOf(absl::string_view node_name) const;
  const ValueInfo* InfoOf(const Node& node) const;
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }

 private:
  struct Step {
    const Node* node;
    const Module* module;             // call_module only
    std::unique_ptr<Kernel> kernel;   // call_module / call_function
    std::vector<int> arg_slots;       // indices into values_
    int slot;
  };
  // A call node after shape inference, before its kernel exists.
  struct PlannedCall {
    const Node* node;
    const Module* module;  // call_module only
    OpCall call;
    std::vector<int> arg_slots;
    int slot;
  };
  // Region plans stop looking further once this many values would leave a region.
  static constexpr int kMaxEscapes = 16;

  Interpreter() = default;
  absl::Status BuildSteps(const std::vector<PlannedCall>& calls, const InterpreterOptions& options);
  std::vector<std::pair<size_t, size_t>> PlanRegions(const std::vector<PlannedCall>& calls,
                                                     const std::vector<bool>& eligible) const;
  // Adds one step running calls[begin..end] fused; false when oneDNN declined the region.
  absl::StatusOr<bool> AddRegionStep(const std::vector<PlannedCall>& calls, size_t begin,
                                     size_t end, const InterpreterOptions& options);

  std::vector<Shape> input_shapes_;
  bool plan_only_ = false;
  std::vector<Step> steps_;
  std::vector<ValueInfo> infos_;
  std::vector<Value> buffers_;  // one pre-allocated result per node
  std::vector<Value> values_;   // what each node produced in the current run
  std::vector<int> input_slots_;
  std::vector<int> output_slots_;
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, size_t> slot_by_name_;
};

// Convenience: plan for the inputs' shapes and run once.
absl::StatusOr<std::vector<Tensor>> RunModel(const GraphModule& model,
                                             absl::Span<const Tensor> inputs,
                                             InterpreterOptions options = {});

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_INTERPRETER_H_
