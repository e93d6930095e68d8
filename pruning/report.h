// PruneReport: what Prune() removed, what it kept for exactness and why, and which model
// outputs changed shape.
#ifndef STRUCTPRUNE_PRUNING_REPORT_H_
#define STRUCTPRUNE_PRUNING_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace structprune {

struct LayerPruneRecord {
  std::string module_fqn;   // the producer: "seq.0", "lstm"
  std::string tensor_fqn;   // its configured tensor: "seq.0.weight", "lstm.weight_ih_l1"
  std::string pattern;      // the pattern that matched: "Linear -> AnyActivation -> Linear"
  int64_t channels_before = 0;
  int64_t channels_after = 0;
  std::vector<int64_t> channels_pruned;
  // Masked channels left in place (weights zero, bias as in the masked model) because
  // removing them would not be exact, and why.
  std::vector<int64_t> channels_kept_for_exactness;
  std::string kept_reason;
  // Approximate mode only: masked channels removed although that is not exact, and why.
  std::vector<int64_t> channels_removed_inexactly;
  std::string inexact_reason;
};

// A model output whose channels a pruned producer feeds directly ("output" patterns): the
// pruned model's output equals the masked model's output restricted to `keep` along `dim`.
struct OutputChange {
  int64_t output_index;  // index into the flattened outputs
  int64_t dim;           // may be negative (counted from the end)
  std::vector<int64_t> keep;
  // Instead of `keep`: slice i of dim 0 keeps keep_per_slice[i] along `dim` (an LSTM's
  // h_n/c_n [L, B, H], whose layers may keep different units).
  std::vector<std::vector<int64_t>> keep_per_slice;
};

struct PruneReport {
  bool approximate = false;
  std::vector<LayerPruneRecord> layers;
  std::vector<OutputChange> output_changes;
  int64_t params_before = 0;
  int64_t params_after = 0;

  // Human-readable summary, one line per layer.
  std::string ToString() const;
  // Every channel kept for exactness, "seq.0: [2, 5] (reason)"; empty when none.
  std::vector<std::string> KeptForExactness() const;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_REPORT_H_
