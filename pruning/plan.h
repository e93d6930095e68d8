// PrunePlan: the edits every match asks for, recorded and validated against the prepared
// model, then committed at once so the model ends up fully pruned or untouched.
#ifndef STRUCTPRUNE_PRUNING_PLAN_H_
#define STRUCTPRUNE_PRUNING_PLAN_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "graph/graph_module.h"
#include "pruning/report.h"

namespace structprune {

struct PruneOptions {
  // Also remove masked channels whose removal is not exact (folding their constant anyway);
  // the report lists them.
  bool approximate = false;
};

class PrunePlan {
 public:
  PrunePlan(const GraphModule& model, PruneOptions options);

  const GraphModule& model() const { return model_; }
  const PruneOptions& options() const { return options_; }
  // The module a call_module node targets (the node must be one).
  const Module& ModuleOf(const Node& node) const { return *model_.root().FindModule(node.target()); }

  // Keep only `keep` (ascending) along `dim` of `tensor_fqn` at commit. InvalidArgument when
  // an earlier match sliced the same dim differently (two producers disagree); Unimplemented
  // when the graph uses the tensor at several places (a module called twice, or also read
  // with get_attr): the edit made for one use would break the others.
  absl::Status Slice(const std::string& tensor_fqn, int64_t dim, std::vector<int64_t> keep);
  // Adds `delta` (one value per output channel, before slicing) to the module's bias at
  // commit, creating the bias when the module has none. Unimplemented for a bias used at
  // several places, as Slice.
  absl::Status AddToBias(const std::string& module_fqn, const Tensor& delta);
  // Sets a module attribute at commit (shape attributes are re-derived from the weights anyway).
  void SetAttr(const std::string& module_fqn, const std::string& name, AttrValue value);
  // Marks a configured tensor as handled by a match.
  void MarkHandled(const std::string& tensor_fqn) { handled_.insert(tensor_fqn); }
  bool Handled(const std::string& tensor_fqn) const { return handled_.count(tensor_fqn) > 0; }

  PruneReport& report() { return report_; }
  const PruneReport& report() const { return report_; }

  // Applies every edit to `model` (the model the plan was made from, else InternalError): masks
  // baked into weights, moved-aside biases restored as the masked model saw them, hooks removed,
  // bias folds added, tensors sliced, shape attributes updated. Every new tensor is computed
  // before any module changes, so on error `model` is unchanged; on success its modules are
  // edited in place (pointers to them stay valid).
  absl::Status Commit(GraphModule& model) const;

 private:
  // Unimplemented when the graph uses `tensor_fqn` (of module `module_fqn`) more than once.
  absl::Status CheckSingleUse(absl::string_view module_fqn, absl::string_view tensor_fqn) const;

  // One tensor's slices: what each sliced dim keeps (ascending dims).
  struct TensorSlices {
    std::string fqn;
    Module* module;
    std::string name;
    absl::InlinedVector<std::pair<int64_t, std::vector<int64_t>>, 2> dims;
  };
  // The rows (dim 0) the plan keeps of tensor `name` of `m`; nullptr when it slices no rows.
  const std::vector<int64_t>* RowsKept(const Module& m, absl::string_view name) const;

  const GraphModule& model_;
  PruneOptions options_;
  // Use counts keyed by views of the graph's own target strings (the graph outlives the plan).
  absl::flat_hash_map<absl::string_view, int> calls_;      // module fqn -> call_module nodes
  absl::flat_hash_map<absl::string_view, int> get_attrs_;  // tensor fqn -> get_attr nodes
  // Sliced tensors in first-slice order (the order the matches ran, so Commit walks the model
  // in graph order), found by the address of the prepared tensor: one flat array and one flat
  // index, where a tree keyed by FQN cost a node per tensor and a string compare per level.
  std::vector<TensorSlices> slices_;
  absl::flat_hash_map<const Tensor*, size_t> slice_of_;
  std::map<std::string, Tensor> bias_deltas_;  // module fqn -> delta
  std::map<std::string, AttrMap> attrs_;
  absl::flat_hash_set<std::string> handled_;
  PruneReport report_;
};

// Re-derives a module's shape attributes (in/out features, channels, hidden size,
// normalized_shape, num_features) from its parameters after slicing.
void SyncShapeAttrs(Module& module);

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_PLAN_H_
