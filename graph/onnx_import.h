// ONNX -> GraphModule: reads a model exported by PyTorch (opsets up to 17) or another exporter
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
#include "core/tensor.h"
#include "graph/graph_module.h"

namespace structprune {

struct OnnxModel {
  GraphModule model;
  // The graph inputs (placeholders, in order; each placeholder's target is its ONNX name) and
  // their shapes from the file: -1 for a symbolic dimension, empty when the file has none.
  std::vector<std::string> input_names;
  std::vector<Shape> input_shapes;
  // Per input and dim, the name of a symbolic dimension (dim_param "batch"; an unnamed one
  // becomes "<input>_dim_<d>"), "" for a fixed one: what keeps an export dynamic
  // (OnnxExportOptions::input_dim_params).
  std::vector<std::vector<std::string>> input_dim_params;
  // The graph outputs, in the order of the output node's flattened results, and their dim
  // names as for the inputs (empty for an output without a shape in the file).
  std::vector<std::string> output_names;
  std::vector<std::vector<std::string>> output_dim_params;
  int64_t opset = 0;
  // Every ONNX initializer that became a module tensor -> that tensor's FQN: "seq.0.weight" ->
  // "seq.0.weight", "onnx::MatMul_12" -> "seq.1.weight". Tensors are stored in PyTorch's layout
  // (a MatMul weight is transposed back to [out, in], LSTM gates reordered to i, f, g, o).
  std::map<std::string, std::string> tensor_fqns;
  // Per input / output: "INT8" or "UINT8" for an 8-bit integer tensor, which the model holds
  // in float32 (exact for them; Add wraps modulo 2^8): give such an input as a float32 tensor of
  // its integers, and read such an output's float32 values as that type. "" for the others.
  std::vector<std::string> input_eight_bit_types;
  std::vector<std::string> output_eight_bit_types;
};

struct OnnxImportOptions {
  // Graph inputs imported as constants, name -> value, as if the file stored them as
  // initializers: they are no longer model inputs, and a weight read from one becomes a module
  // tensor. For files that pass weights as graph inputs (ONNX's backend node tests);
  // ReadOnnxGraphInputs says which inputs are read as weights (`structprune run` binds those).
  std::map<std::string, Tensor> constant_inputs;
};

// Imports the model. Modules take the FQN of their weights ("seq.0.weight" -> "seq.0"), else
// of the PyTorch scope in the node name ("/seq/seq.1/MatMul" -> "seq.1"); parameterless ops
// whose scope is a module of their own become modules (nn.ReLU), the others functional calls
// (F.relu). Errors:
//   NotFound         the file does not exist;
//   InvalidArgument  "not a valid ONNX model: ..." for empty, truncated or garbage bytes, an
//                    unsorted or inconsistent graph, bad tensors or attributes (naming them);
//                    a constant input that is no graph input or disagrees with its type;
//   Unimplemented    "node '<name>' (<op>) is not supported; supported: ...", an opset outside
//                    1..17 or older than the node's op is read at (most ops: 7), or a supported
//                    op with a form we cannot express (asymmetric pads, a weight that is a
//                    graph input and not bound).
absl::StatusOr<OnnxModel> ImportOnnx(const std::string& path,
                                     const OnnxImportOptions& options = {});
absl::StatusOr<OnnxModel> ImportOnnxFromBytes(absl::string_view bytes,
                                              const OnnxImportOptions& options = {});

// A graph input of an ONNX file (an input without an initializer).
struct OnnxGraphInput {
  std::string name;
  // Read where the importer needs a constant: a weight, bias, statistic, bound, ratio or target
  // shape (Conv's W and B, Gemm's B and C, BatchNormalization's inputs 1..4, Clip's min / max,
  // LSTM's W / R / B, Reshape's shape, ...). Such an input imports only when bound
  // (OnnxImportOptions::constant_inputs).
  bool is_weight = false;
};
// The file's graph inputs in order, without importing it. Errors as ImportOnnx's for the file.
absl::StatusOr<std::vector<OnnxGraphInput>> ReadOnnxGraphInputs(const std::string& path);

// A tensor name a user may give for an imported model: one of its FQNs, or an ONNX
// initializer name (see tensor_fqns). NotFound naming `name` otherwise.
absl::StatusOr<std::string> ResolveTensorFqn(const OnnxModel& model, absl::string_view name);

// The ONNX op types the importer reads as anchors of its patterns: "Add, AveragePool, ...".
std::string SupportedOnnxOps();

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_ONNX_IMPORT_H_
