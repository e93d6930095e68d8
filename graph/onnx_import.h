// ONNX -> GraphModule: reads a model exported by PyTorch (opset 13 to 17) or another exporter
// into the module tree and graph, modules named by their PyTorch FQNs. Errors name the ONNX
// node or field; a malformed or hostile file is an error, never a crash.
#ifndef STRUCTPRUNE_GRAPH_ONNX_IMPORT_H_
#define STRUCTPRUNE_GRAPH_ONNX_IMPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/shape.h"
#include "graph/graph_module.h"

namespace structprune {

struct OnnxModel {
  GraphModule model;
  // The graph inputs (placeholders, in order; each placeholder's target is its ONNX name) and
  // their shapes from the file: -1 for a symbolic dimension, empty when the file has none.
  std::vector<std::string> input_names;
  std::vector<Shape> input_shapes;
  // The graph outputs, in the order of the output node's flattened results.
  std::vector<std::string> output_names;
  int64_t opset = 0;
  // Every ONNX initializer that became a module tensor -> that tensor's FQN: "seq.0.weight" ->
  // "seq.0.weight", "onnx::MatMul_12" -> "seq.1.weight". Tensors are stored in PyTorch's layout
  // (a MatMul weight is transposed back to [out, in], LSTM gates reordered to i, f, g, o).
  std::map<std::string, std::string> tensor_fqns;
};

// Imports the model. Modules take the FQN of their weights ("seq.0.weight" -> "seq.0"), else
// of the PyTorch scope in the node name ("/seq/seq.1/MatMul" -> "seq.1"); parameterless ops
// whose scope is a module of their own become modules (nn.ReLU), the others functional calls
// (F.relu). Errors:
//   NotFound         the file does not exist;
//   InvalidArgument  "not a valid ONNX model: ..." for empty, truncated or garbage bytes, an
//                    unsorted or inconsistent graph, bad tensors or attributes (naming them);
//   Unimplemented    "node '<name>' (<op>) is not supported; supported: ...", an opset outside
//                    13..17, or a supported op with a form we cannot express (asymmetric pads).
absl::StatusOr<OnnxModel> ImportOnnx(const std::string& path);
absl::StatusOr<OnnxModel> ImportOnnxFromBytes(absl::string_view bytes);

// A tensor name a user may give for an imported model: one of its FQNs, or an ONNX
// initializer name (see tensor_fqns). NotFound naming `name` otherwise.
absl::StatusOr<std::string> ResolveTensorFqn(const OnnxModel& model, absl::string_view name);

// The ONNX op types the importer reads as anchors of its patterns: "Add, AveragePool, ...".
std::string SupportedOnnxOps();

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_ONNX_IMPORT_H_
