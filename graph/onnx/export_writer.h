// OnnxWriter: the ONNX graph being exported: nodes with PyTorch-style scoped names
// ("/seq/seq.0/Gemm"), values, initializers (named by tensor FQN) and Constant nodes.
// export_ops.cc writes each op of our graph with it.
#ifndef STRUCTPRUNE_GRAPH_ONNX_EXPORT_WRITER_H_
#define STRUCTPRUNE_GRAPH_ONNX_EXPORT_WRITER_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "core/tensor.h"
#include "graph/graph_module.h"
#include "graph/onnx/proto.h"
#include "graph/value.h"

namespace structprune::internal {

// What one of our nodes became: an ONNX value, or a tuple of them (LSTM).
struct ExportValue {
  std::string name;  // when !is_tuple
  bool is_tuple = false;
  std::vector<ExportValue> items;
};

class OnnxWriter {
 public:
  OnnxWriter(onnx::GraphProto& graph, int64_t opset) : graph_(graph), opset_(opset) {}
  int64_t opset() const { return opset_; }

  // Appends node `op_type` in scope `scope` ("/seq/seq.0" or "" for the root) reading
  // `inputs` ("" for an absent optional input) and defining `num_outputs` values named
  // "<node name>_output_<i>".
  onnx::NodeProto& AddNode(const std::string& op_type, const std::string& scope,
                           const std::vector<std::string>& inputs, int num_outputs = 1);
  // The output name of a node added with AddNode.
  static const std::string& Out(const onnx::NodeProto& node, int i = 0) { return node.output(i); }
  // Adds initializer `name` (once: a module called twice shares it) and returns the name.
  std::string Initializer(const std::string& name, const Tensor& value);
  // A Constant node in `scope` holding `value`; returns its output.
  std::string Constant(const std::string& scope, const Tensor& value);
  std::string ScalarConstant(const std::string& scope, float value) {
    return Constant(scope, Tensor::Scalar(value));
  }
  std::string IntsConstant(const std::string& scope, const std::vector<int64_t>& values);

 private:
  onnx::GraphProto& graph_;
  int64_t opset_;
  absl::flat_hash_map<std::string, int> node_names_;
  absl::flat_hash_set<std::string> initializers_;
};

// Everything export_ops.cc needs to write one node of our graph.
struct ExportCall {
  const Node* node;
  OpKind kind;
  const Module* module;              // call_module; nullptr for a function
  const AttrMap* attrs;              // the module's attributes or the call's keyword arguments
  std::string fqn;                   // call_module: the module's FQN
  std::string scope;                 // "/seq/seq.0" for call_module "seq.0"; "" for functions
  std::vector<ExportValue> args;     // the arguments' values
  std::vector<ValueInfo> arg_infos;  // their planned shapes
};

// Writes `call`; returns its value. Unimplemented naming the node for what ONNX (at the
// writer's opset) cannot express.
absl::StatusOr<ExportValue> ExportOp(OnnxWriter& w, const ExportCall& call);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_GRAPH_ONNX_EXPORT_WRITER_H_
