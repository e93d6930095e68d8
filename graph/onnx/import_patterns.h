// The ONNX import patterns: each matches one ONNX subgraph (a node, or the several nodes an
// exporter writes for one PyTorch op) and says what it becomes: one module call, one function
// call, or an alias of its input. The table (import_table.cc) is the one list of supported forms.
#ifndef STRUCTPRUNE_GRAPH_ONNX_IMPORT_PATTERNS_H_
#define STRUCTPRUNE_GRAPH_ONNX_IMPORT_PATTERNS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tensor.h"
#include "graph/attr.h"
#include "graph/onnx/onnx_graph.h"
#include "ops/registry.h"

namespace structprune::internal {

// A module tensor in PyTorch's layout, and the ONNX value it was read from.
struct ImportTensor {
  std::string local_name;  // "weight", "running_mean", "weight_ih_l1"
  Tensor value;
  bool is_buffer = false;
  std::string onnx_name;  // "" when assembled from several values (LSTM biases)
};

// A function call applied to an op's result: call(result) or, with `constant`, call(result,
// constant) where `constant` names an entry of the op's `constants`.
struct ImportCall {
  OpKind kind;
  AttrMap attrs;
  std::string constant = "";
};

// An ONNX value the op defines, and where it sits in the op's result: {} the result itself,
// {0} / {1, 0} / {1, 1} the LSTM's output / h_n / c_n (getitem paths); `then`: function calls
// applied in turn to that item for this value only (an ONNX LSTM's Y is nn.LSTM's output with
// a direction axis inserted: a reshape).
struct ImportOutput {
  std::string value;
  std::vector<int64_t> path;
  std::vector<ImportCall> then = {};
};

struct ImportOp {
  OpKind kind = OpKind::kIdentity;
  AttrMap attrs;                    // PyTorch's attribute names
  bool alias = false;               // Identity / Dropout: every output is inputs[0]
  bool functional_only = false;     // never a module (a Reshape is torch.flatten, not nn.Flatten)
  std::vector<std::string> inputs;  // graph values, never constants
  std::vector<ImportOutput> outputs;
  std::vector<ImportTensor> tensors;  // non-empty: the op is a module holding them
  std::vector<int> nodes;  // the ONNX nodes consumed; nodes[0] is the anchor, which names the op
  // Function calls applied in turn to the result, for a form that is several PyTorch calls:
  // ONNX Flatten(axis=2) is torch.flatten(torch.flatten(x, 2), 0, 1).
  std::vector<ImportCall> then;
  // Function calls applied in turn to inputs[0] before the op: Gemm(transA=1) is
  // Linear(x.t()).
  std::vector<ImportCall> first;
  // Constant operands read with get_attr, as torch.matmul(x, self.w) reads a tensor attribute:
  // an input (or ImportCall::constant) equal to an entry's onnx_name is that tensor, stored as
  // a buffer of the root module. Only for function calls.
  std::vector<ImportTensor> constants;
};

using MatchResult = absl::StatusOr<std::optional<ImportOp>>;
// Tries to match at node `anchor`. nullopt: no match (try the next pattern). An error: the
// subgraph is this pattern's but cannot be imported (asymmetric pads, ...); it names the node.
using MatchFn = MatchResult (*)(const OnnxGraph& g, int anchor);

struct ImportPattern {
  const char* anchor_op;  // op type of the anchor node
  const char* form;       // the subgraph, for documentation and messages
  // false: anchored at the node producing the result (matched walking producers, downstream
  // first); true: anchored at the first node (LSTM stacks, matched before the others).
  bool forward;
  MatchFn match;
};

// THE table, in priority order (longer forms before their parts).
absl::Span<const ImportPattern> ImportPatterns();
// The anchor op types of the table, sorted and unique: "Add, AveragePool, ...".
std::string SupportedOnnxOpList();
// Whether the matchers read input `input` of a default-domain `op_type` node as a constant
// (Conv's W and B, Gemm's B and C, Clip's bounds, Reshape's shape, ...): a graph input read
// there imports only when bound to a value (OnnxImportOptions::constant_inputs).
bool IsConstantOperand(absl::string_view op_type, int input);

// ---------------------------------------------------------------------------------------------
// Helpers for the matchers.

// The nodes of a candidate subgraph and the values internal to it.
class Subgraph {
 public:
  Subgraph(const OnnxGraph& g, int anchor) : g_(g), nodes_{anchor} {}
  const OnnxGraph& graph() const { return g_; }
  const onnx::NodeProto& anchor() const { return g_.node(nodes_.front()); }
  // The node producing `value` when its op type is `op_type`; it joins the subgraph and
  // `value` becomes internal. nullptr (nothing recorded) otherwise.
  const onnx::NodeProto* Take(const std::string& value, absl::string_view op_type);
  // Every internal value is read only by the subgraph's nodes and is no graph output.
  bool Closed() const;
  const std::vector<int>& nodes() const { return nodes_; }

 private:
  const OnnxGraph& g_;
  std::vector<int> nodes_;
  std::vector<std::string> internal_;
};

// A float constant's value when it holds exactly one element.
std::optional<float> ScalarConstant(const OnnxGraph& g, const std::string& value);
// A scalar constant equal to `expected` within a relative 1e-6 (exporters round constants
// through float32).
bool IsScalarConstant(const OnnxGraph& g, const std::string& value, double expected);
// A float32 constant; nullptr otherwise.
const OnnxConstant* FloatConstant(const OnnxGraph& g, const std::string& value);
// For a two-input node: the index (0 or 1) of the input for which `pred` holds, trying 0 first;
// -1 when neither does.
template <typename Pred>
int FindOperand(const onnx::NodeProto& node, Pred pred) {
  if (node.input_size() != 2) return -1;
  if (pred(node.input(0))) return 0;
  if (pred(node.input(1))) return 1;
  return -1;
}

// Records the float constant `value` as a get_attr operand of `op` (once); false when `value`
// is no float constant.
bool AddConstantOperand(const OnnxGraph& g, const std::string& value, ImportOp& op);

// A one-input function/module op reading `x` and defining the anchor's first output.
ImportOp MakeOp(const Subgraph& s, OpKind kind, const std::string& x, AttrMap attrs = {});

// Unimplemented / InvalidArgument "node '<name>' (<op>): <message>".
absl::Status Unsupported(const onnx::NodeProto& node, absl::string_view message);
absl::Status InvalidNode(const onnx::NodeProto& node, absl::string_view message);
// InvalidArgument unless input `index` of `node` is a float constant; returns it.
absl::StatusOr<const Tensor*> RequireFloatConstant(const OnnxGraph& g, const onnx::NodeProto& node,
                                                   int index, absl::string_view role);
// Whether output `index` of `node` is read by a live node or is a graph output.
bool OutputUsed(const OnnxGraph& g, const onnx::NodeProto& node, int index);
// Unimplemented when output `index` of `node` is used (OutputUsed).
absl::Status RequireUnusedOutput(const OnnxGraph& g, const onnx::NodeProto& node, int index);

// ---------------------------------------------------------------------------------------------
// The matchers (import_layers.cc, import_norms.cc, import_activations.cc, import_lstm.cc).

MatchResult MatchGemm(const OnnxGraph& g, int anchor);
MatchResult MatchMatMulAdd(const OnnxGraph& g, int anchor);
MatchResult MatchMatMul(const OnnxGraph& g, int anchor);
MatchResult MatchConv(const OnnxGraph& g, int anchor);
MatchResult MatchMaxPool(const OnnxGraph& g, int anchor);
MatchResult MatchAveragePool(const OnnxGraph& g, int anchor);
MatchResult MatchGlobalPool(const OnnxGraph& g, int anchor);
MatchResult MatchFlatten(const OnnxGraph& g, int anchor);
MatchResult MatchReshape(const OnnxGraph& g, int anchor);
MatchResult MatchTranspose(const OnnxGraph& g, int anchor);
MatchResult MatchAdd(const OnnxGraph& g, int anchor);
MatchResult MatchConcat(const OnnxGraph& g, int anchor);
MatchResult MatchIdentity(const OnnxGraph& g, int anchor);

MatchResult MatchBatchNorm(const OnnxGraph& g, int anchor);
MatchResult MatchLayerNorm(const OnnxGraph& g, int anchor);
MatchResult MatchDecomposedLayerNorm(const OnnxGraph& g, int anchor);

MatchResult MatchSimpleActivation(const OnnxGraph& g, int anchor);
MatchResult MatchClip(const OnnxGraph& g, int anchor);
MatchResult MatchReluClip(const OnnxGraph& g, int anchor);
MatchResult MatchPRelu(const OnnxGraph& g, int anchor);
MatchResult MatchSilu(const OnnxGraph& g, int anchor);
MatchResult MatchMish(const OnnxGraph& g, int anchor);
MatchResult MatchHardswishMul(const OnnxGraph& g, int anchor);
MatchResult MatchGeluErf(const OnnxGraph& g, int anchor);
MatchResult MatchGeluTanh(const OnnxGraph& g, int anchor);
MatchResult MatchSoftsignDiv(const OnnxGraph& g, int anchor);
MatchResult MatchSoftplusBeta(const OnnxGraph& g, int anchor);
MatchResult MatchLogSigmoidLog(const OnnxGraph& g, int anchor);
MatchResult MatchLogSigmoidNeg(const OnnxGraph& g, int anchor);
MatchResult MatchTanhshrink(const OnnxGraph& g, int anchor);
MatchResult MatchHardshrinkWhere(const OnnxGraph& g, int anchor);

MatchResult MatchLstm(const OnnxGraph& g, int anchor);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_GRAPH_ONNX_IMPORT_PATTERNS_H_
