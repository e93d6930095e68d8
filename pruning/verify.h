// Equivalence check: the pruned model must compute what the masked (prepared) model did, on
// random inputs, to float tolerance (max |diff| <= tolerance * max(1, output scale)).
#ifndef STRUCTPRUNE_PRUNING_VERIFY_H_
#define STRUCTPRUNE_PRUNING_VERIFY_H_

#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph_module.h"
#include "pruning/report.h"

namespace structprune {

struct VerifyOptions {
  int trials = 3;
  uint64_t seed = 1234;
  double tolerance = 1e-4;  // relative to max(1, largest |masked output|)
};

struct VerifyResult {
  bool equivalent = false;
  float max_abs_diff = 0.0f;  // over every trial and output
  float output_scale = 0.0f;  // largest |masked output|
  std::string ToString() const;
};

// The masked model's outputs restricted to what the pruned model keeps: every output listed
// in `report.output_changes` loses the pruned channels. InvalidArgument for a change that does
// not fit the outputs.
absl::StatusOr<std::vector<Tensor>> RestrictToKept(std::vector<Tensor> masked_outputs, const PruneReport& report);

// Runs `masked` and `pruned` on the same standard-normal inputs of `input_shapes`. Outputs
// listed in `report.output_changes` are compared on their kept channels. InvalidArgument
// when a model cannot run on those shapes or outputs differ in shape unexplained.
absl::StatusOr<VerifyResult> VerifyEquivalence(const GraphModule& masked, const GraphModule& pruned,
                                               const std::vector<Shape>& input_shapes,
                                               const PruneReport& report, VerifyOptions options = {});

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_VERIFY_H_
