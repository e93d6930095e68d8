#include "pruning/verify.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/index_select.h"
#include "core/rng.h"
#include "core/status_macros.h"
#include "graph/interpreter.h"

namespace structprune {

std::string VerifyResult::ToString() const {
  return absl::StrFormat("%s: max |diff| %.3g at output scale %.3g", equivalent ? "equivalent" : "DIFFERENT",
                         max_abs_diff, output_scale);
}

absl::StatusOr<std::vector<Tensor>> RestrictToKept(std::vector<Tensor> outputs, const PruneReport& report) {
  for (const OutputChange& change : report.output_changes) {
    if (change.output_index < 0 || change.output_index >= static_cast<int64_t>(outputs.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("output change names output ", change.output_index));
    }
    Tensor& t = outputs[change.output_index];
    const int64_t dim = change.dim < 0 ? change.dim + t.dim() : change.dim;
    if (dim < 0 || dim >= t.dim()) {
      return absl::InvalidArgumentError(absl::StrCat("output change names dim ", change.dim));
    }
    if (change.keep_per_slice.empty()) {
      SP_ASSIGN_OR_RETURN(t, SelectAlongDim(t, dim, change.keep));
      continue;
    }
    if (dim == 0 || static_cast<int64_t>(change.keep_per_slice.size()) != t.size(0)) {
      return absl::InvalidArgumentError("keep_per_slice does not match dim 0");
    }
    Tensor stacked;
    for (int64_t i = 0; i < t.size(0); ++i) {
      SP_ASSIGN_OR_RETURN(Tensor slice, SelectAlongDim(t, 0, {i}));
      SP_ASSIGN_OR_RETURN(slice, SelectAlongDim(slice, dim, change.keep_per_slice[i]));
      if (!stacked.defined()) {
        Shape shape = slice.shape();
        shape[0] = t.size(0);
        stacked = Tensor::Zeros(shape);
      }
      if (slice.numel() * t.size(0) != stacked.numel()) {
        return absl::InvalidArgumentError("slices keep different counts");
      }
      std::copy_n(slice.data<float>(), slice.numel(), stacked.data<float>() + i * slice.numel());
    }
    t = stacked;
  }
  return outputs;
}

absl::StatusOr<VerifyResult> VerifyEquivalence(const GraphModule& masked, const GraphModule& pruned,
                                               const std::vector<Shape>& input_shapes,
                                               const PruneReport& report, VerifyOptions options) {
  SP_ASSIGN_OR_RETURN(auto run_masked, Interpreter::Create(masked, input_shapes));
  SP_ASSIGN_OR_RETURN(auto run_pruned, Interpreter::Create(pruned, input_shapes));
  Rng rng(options.seed);
  VerifyResult result;
  for (int trial = 0; trial < options.trials; ++trial) {
    std::vector<Tensor> inputs;
    for (const Shape& s : input_shapes) inputs.push_back(rng.NormalTensor(s));
    SP_ASSIGN_OR_RETURN(std::vector<Tensor> a, run_masked->Run(inputs));
    SP_ASSIGN_OR_RETURN(std::vector<Tensor> b, run_pruned->Run(inputs));
    if (a.size() != b.size()) {
      return absl::InvalidArgumentError(absl::StrCat("masked model has ", a.size(), " outputs, pruned ", b.size()));
    }
    SP_ASSIGN_OR_RETURN(a, RestrictToKept(std::move(a), report));
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].shape() != b[i].shape()) {
        return absl::InvalidArgumentError(absl::StrCat("output ", i, ": masked ", ShapeToString(a[i].shape()),
                                                       " vs pruned ", ShapeToString(b[i].shape())));
      }
      if (a[i].dtype() != DType::kFloat32 || b[i].dtype() != DType::kFloat32) {
        // Bool / int64 outputs (dropout's mask, max pooling's indices) must agree exactly.
        if (!a[i].Equals(b[i])) result.max_abs_diff = std::numeric_limits<float>::infinity();
        continue;
      }
      SP_ASSIGN_OR_RETURN(TensorDiff d, CompareTensors(b[i], a[i]));
      result.max_abs_diff = std::max(result.max_abs_diff, d.max_abs);
      result.output_scale = std::max(result.output_scale, d.max_ref);
    }
  }
  result.equivalent = result.max_abs_diff <= options.tolerance * std::max(1.0f, result.output_scale);
  return result;
}

}  // namespace structprune
