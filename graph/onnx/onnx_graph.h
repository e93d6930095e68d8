// OnnxGraph: an ONNX GraphProto indexed for pattern matching: who produces and who reads each
// value, which values are constants (initializers, Constant nodes, folded shape arithmetic),
// static shapes (our own inference, shape_inference.cc), and which nodes the outputs depend on.
#ifndef STRUCTPRUNE_GRAPH_ONNX_ONNX_GRAPH_H_
#define STRUCTPRUNE_GRAPH_ONNX_ONNX_GRAPH_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tensor.h"
#include "graph/onnx/proto.h"

namespace structprune::internal {

// The opsets the exporter writes; the importer reads from kMinImportOpset (op_versions.h) up.
inline constexpr int64_t kMinOnnxOpset = 13;
inline constexpr int64_t kMaxOnnxOpset = 17;

// A value known while importing.
struct OnnxConstant {
  Tensor tensor;
  bool is_initializer = false;  // stored in the file (a parameter), not computed by nodes
};

// The dim names of a value's shape in the file, one per dim: its dim_param for a symbolic dim,
// "<value>_dim_<d>" for a symbolic dim without one, "" for a fixed dim (-1 and not -1 in
// ShapeOf); empty without a shape.
std::vector<std::string> DimParamsOf(const onnx::ValueInfoProto& info);

class OnnxGraph {
 public:
  // Indexes `model`, which must outlive the result. Checks the default-domain opset
  // (Unimplemented outside 1..17, or for an op older than the importer reads: CheckOpVersion)
  // and that every value is defined once, before it is read
  // (InvalidArgument naming the node and value); reads the initializers (errors name them);
  // folds constant nodes and infers static shapes from the graph inputs'.
  static absl::StatusOr<std::unique_ptr<OnnxGraph>> Create(const onnx::ModelProto& model);

  const onnx::GraphProto& graph() const { return *graph_; }
  int64_t opset() const { return opset_; }
  int num_nodes() const { return graph_->node_size(); }
  const onnx::NodeProto& node(int i) const { return graph_->node(i); }

  // Index of the node producing `value`; -1 for inputs, initializers and unknown names.
  int Producer(absl::string_view value) const;
  // The live, non-folded nodes reading `value` (a node reading it twice appears once).
  const std::vector<int>& Consumers(absl::string_view value) const;
  bool IsGraphOutput(absl::string_view value) const { return outputs_.contains(value); }
  // A graph input without an initializer: a model input.
  bool IsModelInput(absl::string_view value) const { return model_inputs_.contains(value); }
  // nullptr when `value` is not known at import time.
  const OnnxConstant* Constant(absl::string_view value) const;
  // Static shape (-1 for an unknown dim); nullptr when even the rank is unknown.
  const Shape* ShapeOf(absl::string_view value) const;
  // Whether some graph output depends on the node.
  bool IsLive(int node) const { return live_[node]; }
  // Whether all of the node's outputs are constants.
  bool IsFolded(int node) const { return folded_[node]; }
  // All elements zero: a zero constant, a ConstantOfShape of zeros, or a Slice / Expand / ...
  // of one, whose shape is computed at run time (an LSTM's zero initial state).
  bool IsKnownZero(absl::string_view value) const;
  // TensorProto::INT8 or UINT8 for a value holding 8-bit integers: an 8-bit graph input and
  // what Add, Clip, MaxPool (output 0) and Identity compute from one. The engine holds them in
  // float32, which is exact for them (eight_bit_values.cc). 0 for any other value.
  int32_t EightBitType(absl::string_view value) const;

 private:
  OnnxGraph() = default;
  absl::Status Index(const onnx::ModelProto& model);
  void RecordInputShapes();
  // Folds constant nodes and infers the static shapes of the others, in one forward pass.
  absl::Status Propagate();
  void ComputeLiveness();
  // Finds the 8-bit values; Unimplemented naming the node when a live node other than the ops
  // above reads one (eight_bit_values.cc).
  absl::Status RecordEightBitValues();
  bool IsKnownZero(absl::string_view value, int depth) const;

  const onnx::GraphProto* graph_ = nullptr;
  int64_t opset_ = 0;
  absl::flat_hash_map<std::string, int> producer_;
  absl::flat_hash_map<std::string, std::vector<int>> consumers_;
  absl::flat_hash_set<std::string> outputs_;
  absl::flat_hash_set<std::string> model_inputs_;
  absl::flat_hash_map<std::string, OnnxConstant> constants_;
  absl::flat_hash_map<std::string, Shape> shapes_;
  absl::flat_hash_map<std::string, int32_t> eight_bit_;
  std::vector<bool> live_;
  std::vector<bool> folded_;
};

// Folds one node whose inputs are all known (`inputs[i]` null for an absent optional input).
// `input_shape` is the static shape of input 0 (for Shape). Returns the outputs, or nullopt
// when the op is not one we fold or the result would exceed kMaxFoldedElements.
// InvalidArgument naming the node for inconsistent data (an index out of range, ...).
inline constexpr int64_t kMaxFoldedElements = int64_t{1} << 26;
absl::StatusOr<std::optional<std::vector<Tensor>>> FoldNode(const onnx::NodeProto& node,
                                                            absl::Span<const Tensor* const> inputs,
                                                            const Shape* input_shape);

// Output shapes of `node` from its inputs' static shapes (nullptr: unknown) and constant
// values (nullptr: not constant); nullopt for an output it cannot tell. Never fails: hostile
// attributes give unknown shapes (graph/onnx/shape_inference.cc).
std::vector<std::optional<Shape>> InferNodeShapes(const onnx::NodeProto& node,
                                                  absl::Span<const Shape* const> input_shapes,
                                                  absl::Span<const Tensor* const> input_constants);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_GRAPH_ONNX_ONNX_GRAPH_H_
