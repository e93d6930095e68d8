// Graph inputs bound to values before import: ONNX's backend node tests (and some exporters) pass
// weights as graph inputs, while the importer reads weights as constants. Finds the inputs read
// where the matchers need a constant, and turns given values into initializers.
#ifndef STRUCTPRUNE_GRAPH_ONNX_CONSTANT_INPUTS_H_
#define STRUCTPRUNE_GRAPH_ONNX_CONSTANT_INPUTS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/tensor.h"
#include "graph/onnx/proto.h"
#include "graph/onnx_import.h"

namespace structprune::internal {

// The graph inputs without an initializer, in file order; `is_weight` when some default-domain
// node reads the input where IsConstantOperand holds.
std::vector<OnnxGraphInput> GraphInputsOf(const onnx::ModelProto& model);

// Adds an initializer holding each value, named after its graph input, so that the input is a
// constant from then on. InvalidArgument naming the input when the name is no graph input (or
// has an initializer already), or the value's dtype or shape disagrees with the input's
// declared type.
absl::Status BindConstantInputs(const std::map<std::string, Tensor>& values,
                                onnx::ModelProto& model);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_GRAPH_ONNX_CONSTANT_INPUTS_H_
