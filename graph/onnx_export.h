// GraphModule -> ONNX: a model that onnx.checker accepts (checked on every export), with
// initializers named by tensor FQN ("seq.0.weight"), the current (pruned) shapes, and nodes named
// like PyTorch's exporter ("/seq/seq.0/Gemm") so that ImportOnnx reads it back to the same modules.
#ifndef STRUCTPRUNE_GRAPH_ONNX_EXPORT_H_
#define STRUCTPRUNE_GRAPH_ONNX_EXPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/shape.h"
#include "graph/graph_module.h"
#include "graph/onnx_import.h"

namespace structprune {

struct OnnxExportOptions {
  int64_t opset = 17;  // 13 to 17; below 17 LayerNorm is written decomposed, as PyTorch does
  // Graph input / output names; empty: the placeholders' targets, and "output_0", "output_1",
  // ... for the output node's results flattened depth first.
  std::vector<std::string> input_names;
  std::vector<std::string> output_names;
  // Symbolic dims: input_dim_params[i][d] names dim d of input i ("batch"), "" for a fixed
  // dim; empty (or an input's list empty): every dim written as planned. A named dim is written
  // as that dim_param, unless the exported graph depends on its size (found by exporting again
  // with the dim one larger: a Reshape or pool kernel computed from it), and so is each output
  // dim that follows it. Another output dim that varies takes its name in output_dim_params
  // (used when the output's rank matches), else it is written unknown (no value, no name).
  std::vector<std::vector<std::string>> input_dim_params;
  std::vector<std::vector<std::string>> output_dim_params;
  std::string producer_name = "structprune";
};

// The names, symbolic dims and opset an imported model came with, so that a pruned model keeps
// its interface (a dynamic batch stays dynamic).
OnnxExportOptions ExportOptionsFor(const OnnxModel& model);

// Writes `model` planned for `input_shapes` (one per placeholder, as Interpreter::Create).
// Parameters are written through their parametrizations. Errors:
//   InvalidArgument     bad shapes or options (names or dim names of the wrong count, opset out
//                       of range);
//   FailedPrecondition  a module still has forward hooks (a prepared, unpruned model);
//   Unimplemented       an op ONNX cannot express here (naming the node), e.g. an adaptive
//                       pool whose output size does not divide its input.
absl::StatusOr<std::string> ExportOnnxToBytes(const GraphModule& model,
                                              const std::vector<Shape>& input_shapes,
                                              const OnnxExportOptions& options = {});
absl::Status ExportOnnx(const GraphModule& model, const std::vector<Shape>& input_shapes,
                        const std::string& path, const OnnxExportOptions& options = {});

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_ONNX_EXPORT_H_
