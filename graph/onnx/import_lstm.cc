// Import of LSTM stacks as PyTorch 1.13 writes nn.LSTM: one ONNX LSTM per layer, each output
// Y [T, 1, B, H] squeezed to [T, B, H] and fed to the next layer, zero initial states built
// with Shape/Gather/Unsqueeze/Concat/Expand, the layers' Y_h / Y_c concatenated into h_n / c_n,
// and Transposes around the stack for batch_first. Also ONNX's own forms: the last Y read as it
// is (nn.LSTM's output reshaped), and one batch-major layer (layout=1: batch_first, Y_h / Y_c
// transposed).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "graph/onnx/import_patterns.h"
#include "graph/onnx/scope_names.h"
#include "ops/lstm.h"
#include "ops/reshape.h"
#include "ops/transpose.h"

namespace structprune::internal {
namespace {

// ONNX gate blocks are i, o, f, c; PyTorch's are i, f, g, o: PyTorch block k is ONNX block
// kOnnxBlockOf[k].
constexpr int kOnnxBlockOf[4] = {0, 2, 3, 1};

// rows [4H, cols] in ONNX gate order -> PyTorch gate order. `src` points at 4H * cols floats.
Tensor ReorderGates(const float* src, int64_t hidden, int64_t cols) {
  Tensor out = Tensor::Zeros({4 * hidden, cols});
  for (int k = 0; k < 4; ++k) {
    std::copy_n(src + kOnnxBlockOf[k] * hidden * cols, hidden * cols,
                out.data<float>() + k * hidden * cols);
  }
  return out;
}

// sequence_lens (input 4) is accepted when every entry is the full sequence length, which
// makes it a no-op; anything else (shorter sequences, a length not known at import) is refused.
absl::Status CheckFullSequenceLengths(const OnnxGraph& g, const onnx::NodeProto& n,
                                      bool batch_major) {
  const OnnxConstant* lens = g.Constant(In(n, 4));
  if (lens == nullptr || lens->tensor.dtype() != DType::kInt64) {
    return Unsupported(n, "sequence_lens must be a constant integer tensor");
  }
  const Shape* x = g.ShapeOf(In(n, 0));
  const int64_t T = x != nullptr && x->size() == 3 ? (*x)[batch_major ? 1 : 0] : -1;
  const int64_t B = x != nullptr && x->size() == 3 ? (*x)[batch_major ? 0 : 1] : -1;
  if (T < 0) return Unsupported(n, "sequence_lens needs X's static sequence length");
  if (lens->tensor.dim() != 1 || (B >= 0 && lens->tensor.numel() != B)) {
    return InvalidNode(n,
                       absl::StrCat("sequence_lens has shape ", ShapeToString(lens->tensor.shape()),
                                    ", expected [", B, "]"));
  }
  for (int64_t len : lens->tensor.values<int64_t>()) {
    if (len != T) {
      return Unsupported(
          n, absl::StrCat("sequence_lens entry ", len, " is not the sequence length ", T,
                          "; only full-length sequences are supported"));
    }
  }
  return absl::OkStatus();
}

struct Layer {
  const onnx::NodeProto* node = nullptr;
  int index = -1;
  int64_t input_size = 0;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // PyTorch layout; biases undefined without B
  Tensor peephole;  // [3H] blocks i, f, o (from P's i, o, f); undefined without P
  std::string w_name;
  bool zero_state = true;
  bool batch_major = false;  // layout=1: X [B, T, I], Y [B, T, 1, H], Y_h / Y_c [B, 1, H]
};

absl::StatusOr<Layer> ReadLayer(const OnnxGraph& g, int index) {
  const onnx::NodeProto& n = g.node(index);
  Layer layer;
  layer.node = &n;
  layer.index = index;
  SP_ASSIGN_OR_RETURN(std::string direction, StringAttr(n, "direction", "forward"));
  if (direction != "forward") return Unsupported(n, absl::StrCat("direction '", direction, "'"));
  SP_ASSIGN_OR_RETURN(std::vector<std::string> acts, StringsAttr(n, "activations"));
  if (!acts.empty() && acts != std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}) {
    return Unsupported(n, absl::StrCat("activations [", absl::StrJoin(acts, ", "), "]"));
  }
  if (FindAttr(n, "clip") != nullptr) return Unsupported(n, "clip is not supported");
  SP_ASSIGN_OR_RETURN(int64_t input_forget, IntAttr(n, "input_forget", 0));
  SP_ASSIGN_OR_RETURN(int64_t layout, IntAttr(n, "layout", 0));
  if (input_forget != 0) return Unsupported(n, "input_forget=1 is not supported");
  if (layout != 0 && layout != 1) return InvalidNode(n, absl::StrCat("layout ", layout));
  layer.batch_major = layout == 1;
  if (n.input_size() < 3) return InvalidNode(n, "LSTM needs X, W and R");
  if (g.Constant(In(n, 0)) != nullptr) return Unsupported(n, "input X is a constant");
  SP_ASSIGN_OR_RETURN(const Tensor* w, RequireFloatConstant(g, n, 1, "W"));
  SP_ASSIGN_OR_RETURN(const Tensor* r, RequireFloatConstant(g, n, 2, "R"));
  if (w->dim() != 3 || r->dim() != 3 || w->shape()[0] != 1 || r->shape()[0] != 1 ||
      w->shape()[1] % 4 != 0 || w->shape()[1] == 0) {
    return InvalidNode(n, absl::StrCat("W ", ShapeToString(w->shape()), " and R ",
                                       ShapeToString(r->shape()), " are not [1, 4H, *]"));
  }
  const int64_t hidden = w->shape()[1] / 4;
  SP_ASSIGN_OR_RETURN(int64_t hidden_attr, IntAttr(n, "hidden_size", hidden));
  if (hidden_attr != hidden || r->shape()[1] != 4 * hidden || r->shape()[2] != hidden) {
    return InvalidNode(n,
                       absl::StrCat("hidden_size ", hidden_attr, " disagrees with W ",
                                    ShapeToString(w->shape()), " / R ", ShapeToString(r->shape())));
  }
  layer.input_size = w->shape()[2];
  layer.weight_ih = ReorderGates(w->data<float>(), hidden, layer.input_size);
  layer.weight_hh = ReorderGates(r->data<float>(), hidden, hidden);
  layer.w_name = In(n, 1);
  if (n.input_size() > 3 && !In(n, 3).empty()) {
    SP_ASSIGN_OR_RETURN(const Tensor* b, RequireFloatConstant(g, n, 3, "B"));
    if (b->numel() != 8 * hidden) {
      return InvalidNode(
          n, absl::StrCat("B ", ShapeToString(b->shape()), " is not [1, ", 8 * hidden, "]"));
    }
    SP_ASSIGN_OR_RETURN(layer.bias_ih,
                        ReorderGates(b->data<float>(), hidden, 1).Reshape({4 * hidden}));
    SP_ASSIGN_OR_RETURN(
        layer.bias_hh,
        ReorderGates(b->data<float>() + 4 * hidden, hidden, 1).Reshape({4 * hidden}));
  }
  if (n.input_size() > 4 && !In(n, 4).empty()) {
    SP_RETURN_IF_ERROR(CheckFullSequenceLengths(g, n, layer.batch_major));
  }
  if (n.input_size() > 7 && !In(n, 7).empty()) {
    SP_ASSIGN_OR_RETURN(const Tensor* peep, RequireFloatConstant(g, n, 7, "P"));
    if (peep->numel() != 3 * hidden) {
      return InvalidNode(
          n, absl::StrCat("P ", ShapeToString(peep->shape()), " is not [1, ", 3 * hidden, "]"));
    }
    // P's blocks are i, o, f; ours i, f, o.
    layer.peephole = Tensor::Zeros({3 * hidden});
    const float* src = peep->data<float>();
    float* dst = layer.peephole.data<float>();
    std::copy_n(src, hidden, dst);
    std::copy_n(src + 2 * hidden, hidden, dst + hidden);
    std::copy_n(src + hidden, hidden, dst + 2 * hidden);
  }
  for (int i : {5, 6}) {
    if (i < n.input_size() && !In(n, i).empty() && !g.IsKnownZero(In(n, i)))
      layer.zero_state = false;
  }
  if (layer.batch_major && !layer.zero_state) {
    return Unsupported(n, "layout=1 with initial_h / initial_c is not supported");
  }
  return layer;
}

int64_t Hidden(const Layer& l) { return l.weight_hh.shape()[1]; }

bool IsShape(const OnnxGraph& g, int node) { return g.node(node).op_type() == "Shape"; }

// The nodes reading `value` other than Shape (which reads only its shape).
std::vector<int> DataConsumers(const OnnxGraph& g, const std::string& value) {
  std::vector<int> out;
  for (int c : g.Consumers(value)) {
    if (!IsShape(g, c)) out.push_back(c);
  }
  return out;
}

// The single data consumer of `value` when it is an `op_type` node and `value` is no graph
// output; -1 otherwise.
int SoleConsumer(const OnnxGraph& g, const std::string& value, absl::string_view op_type) {
  std::vector<int> c = DataConsumers(g, value);
  if (c.size() != 1 || g.IsGraphOutput(value) || g.node(c[0]).op_type() != op_type) return -1;
  return c[0];
}

bool IsSqueezeOfAxis1(const OnnxGraph& g, const onnx::NodeProto& n) {
  std::vector<int64_t> axes;
  if (n.input_size() >= 2) {
    const OnnxConstant* c = g.Constant(In(n, 1));
    if (c == nullptr || c->tensor.dtype() != DType::kInt64) return false;
    auto v = c->tensor.values<int64_t>();
    axes.assign(v.begin(), v.end());
  } else {
    absl::StatusOr<std::vector<int64_t>> a = IntsAttr(n, "axes", {});
    if (!a.ok()) return false;
    axes = *a;
  }
  return axes == std::vector<int64_t>{1} || axes == std::vector<int64_t>{-3};
}

bool IsBatchTranspose(const OnnxGraph& g, int node) {
  if (node < 0 || g.node(node).op_type() != "Transpose") return false;
  absl::StatusOr<std::vector<int64_t>> perm = IntsAttr(g.node(node), "perm", {});
  return perm.ok() && *perm == std::vector<int64_t>{1, 0, 2};
}

// Layers of one nn.LSTM share its scope ("/lstm/LSTM", "/lstm/LSTM_1") or, in our own
// export, the weight prefix ("lstm.weight_ih_l0", "lstm.weight_ih_l1").
bool SameModule(const Layer& a, const Layer& b, int64_t b_index) {
  std::optional<std::string> sa = ScopeFqnFromNodeName(a.node->name());
  std::optional<std::string> sb = ScopeFqnFromNodeName(b.node->name());
  if (sa && sb && !sa->empty() && *sa == *sb) return true;
  const std::string suffix_a = ".weight_ih_l0", suffix_b = absl::StrCat(".weight_ih_l", b_index);
  const std::string& na = a.w_name;
  const std::string& nb = b.w_name;
  return na.size() > suffix_a.size() && nb.size() > suffix_b.size() &&
         na.compare(na.size() - suffix_a.size(), suffix_a.size(), suffix_a) == 0 &&
         nb.compare(nb.size() - suffix_b.size(), suffix_b.size(), suffix_b) == 0 &&
         na.substr(0, na.size() - suffix_a.size()) == nb.substr(0, nb.size() - suffix_b.size());
}

// h_n (or c_n) of the stack from each layer's `output` (1: Y_h, 2: Y_c): the value itself for
// one layer, else the Concat(axis 0) of all layers' values in order. "" when unused; an error
// when a layer's value is used some other way.
absl::StatusOr<std::string> StateOutput(const OnnxGraph& g, const std::vector<Layer>& layers,
                                        int output, std::vector<int>& nodes) {
  auto value = [&](const Layer& l) {
    return output < l.node->output_size() ? Out(*l.node, output) : std::string();
  };
  if (layers.size() == 1) {
    const std::string v = value(layers[0]);
    return v.empty() || (g.Consumers(v).empty() && !g.IsGraphOutput(v)) ? std::string() : v;
  }
  int concat = -1;
  for (const Layer& l : layers) {
    const std::string v = value(l);
    if (v.empty()) continue;
    std::vector<int> c = g.Consumers(v);
    if (c.empty() && !g.IsGraphOutput(v)) continue;
    if (c.size() != 1 || g.IsGraphOutput(v) || g.node(c[0]).op_type() != "Concat" ||
        (concat >= 0 && concat != c[0])) {
      return Unsupported(*l.node, absl::StrCat("output '", v, "' is used outside the layer stack"));
    }
    concat = c[0];
  }
  if (concat < 0) return std::string();
  const onnx::NodeProto& cat = g.node(concat);
  absl::StatusOr<int64_t> axis = IntAttr(cat, "axis", -1);
  bool in_order = cat.input_size() == static_cast<int>(layers.size()) && axis.ok() && *axis == 0;
  for (size_t k = 0; in_order && k < layers.size(); ++k) in_order = In(cat, k) == value(layers[k]);
  if (!in_order) {
    return Unsupported(cat, "expected the Concat(axis=0) of every LSTM layer's state, in order");
  }
  nodes.push_back(concat);
  return Out(cat, 0);
}

// ONNX's Y from nn.LSTM's output [d0, d1, H] ([T, B, H], or [B, T, H] batch-major): the
// direction axis (size 1) inserted at 1 ([T, 1, B, H]) or 2 ([B, T, 1, H]), a reshape whose
// target takes d0 and d1 from X's static shape (at most one of them unknown: -1).
absl::StatusOr<ImportCall> InsertDirectionAxis(const OnnxGraph& g, const Layer& first,
                                               const std::string& x) {
  const Shape* shape = g.ShapeOf(x);
  const int64_t d0 = shape != nullptr && shape->size() == 3 ? (*shape)[0] : -1;
  const int64_t d1 = shape != nullptr && shape->size() == 3 ? (*shape)[1] : -1;
  if (d0 < 0 && d1 < 0) {
    return Unsupported(*first.node,
                       "output Y read without a Squeeze needs X's static sequence length or "
                       "batch size");
  }
  const int64_t h = Hidden(first);
  std::vector<int64_t> target =
      first.batch_major ? std::vector<int64_t>{d0, d1, 1, h} : std::vector<int64_t>{d0, 1, d1, h};
  return ImportCall{OpKind::kReshape, ReshapeAttrs{.shape = std::move(target)}.ToAttrs()};
}

}  // namespace

MatchResult MatchLstm(const OnnxGraph& g, int anchor) {
  SP_ASSIGN_OR_RETURN(Layer first, ReadLayer(g, anchor));
  std::vector<Layer> layers = {first};
  std::vector<int> nodes = {anchor};
  // Follow Y -> Squeeze(1) -> next layer's X while the next layer belongs to the same module.
  std::string output;    // [T, B, H] of the last layer ("" when only the states are used)
  std::string direct_y;  // the last layer's Y when read as it is (with its direction axis)
  while (true) {
    const Layer& cur = layers.back();
    const std::string& y = Out(*cur.node, 0);
    if (y.empty() || (DataConsumers(g, y).empty() && !g.IsGraphOutput(y))) break;
    const int squeeze = SoleConsumer(g, y, "Squeeze");
    if (cur.batch_major || squeeze < 0 || !IsSqueezeOfAxis1(g, g.node(squeeze))) {
      direct_y = y;
      break;
    }
    nodes.push_back(squeeze);
    output = Out(g.node(squeeze), 0);
    const int next = SoleConsumer(g, output, "LSTM");
    if (next < 0 || In(g.node(next), 0) != output || !first.zero_state) break;
    absl::StatusOr<Layer> layer = ReadLayer(g, next);
    if (!layer.ok() || !layer->zero_state || layer->batch_major ||
        layer->input_size != Hidden(cur) || Hidden(*layer) != Hidden(cur) ||
        layer->bias_ih.defined() != first.bias_ih.defined() ||
        layer->peephole.defined() != first.peephole.defined() ||
        !SameModule(first, *layer, static_cast<int64_t>(layers.size()))) {
      break;
    }
    layers.push_back(*std::move(layer));
    nodes.push_back(next);
  }

  // batch_first: layout=1, or Transpose(perm [1, 0, 2]) before the stack and after its
  // (squeezed) output.
  std::string x = In(*first.node, 0);
  bool batch_first = first.batch_major;
  const int in_transpose = g.Producer(x);
  if (!batch_first && direct_y.empty() && IsBatchTranspose(g, in_transpose) &&
      !g.IsFolded(in_transpose) && DataConsumers(g, x).size() == 1 && !g.IsGraphOutput(x)) {
    batch_first = true;
    nodes.push_back(in_transpose);
    x = In(g.node(in_transpose), 0);
    if (!output.empty()) {
      const int out_transpose = SoleConsumer(g, output, "Transpose");
      if (!IsBatchTranspose(g, out_transpose)) {
        return Unsupported(*first.node, "a batch-first LSTM output is used without its Transpose");
      }
      nodes.push_back(out_transpose);
      output = Out(g.node(out_transpose), 0);
    }
  }
  if (g.Constant(x) != nullptr) return Unsupported(*first.node, "input X is a constant");

  ImportOp op;
  op.kind = OpKind::kLstm;
  const int64_t hidden = Hidden(first);
  op.attrs = LstmAttrs{.input_size = first.input_size,
                       .hidden_size = hidden,
                       .num_layers = static_cast<int64_t>(layers.size()),
                       .bias = first.bias_ih.defined(),
                       .batch_first = batch_first,
                       .peepholes = first.peephole.defined()}
                 .ToAttrs();
  op.inputs = {x};
  if (!first.zero_state) {
    // One layer with a given initial state: h0 and c0 [1, B, H] are the module's inputs 1, 2.
    for (int i : {5, 6}) {
      if (i >= first.node->input_size() || In(*first.node, i).empty() ||
          g.Constant(In(*first.node, i)) != nullptr) {
        return Unsupported(*first.node, "initial_h and initial_c must both be given, or be zeros");
      }
      op.inputs.push_back(In(*first.node, i));
    }
  }
  if (!output.empty()) op.outputs.push_back({output, {0}});
  if (!direct_y.empty()) {
    SP_ASSIGN_OR_RETURN(ImportCall unsqueeze, InsertDirectionAxis(g, first, x));
    op.outputs.push_back({direct_y, {0}, {std::move(unsqueeze)}});
  }
  SP_ASSIGN_OR_RETURN(std::string h, StateOutput(g, layers, 1, nodes));
  SP_ASSIGN_OR_RETURN(std::string c, StateOutput(g, layers, 2, nodes));
  // Batch-major Y_h / Y_c [B, 1, H] are h_n / c_n [1, B, H] transposed.
  std::vector<ImportCall> state_then;
  if (first.batch_major) state_then.push_back({OpKind::kTranspose, TransposeAttrs{}.ToAttrs()});
  if (!h.empty()) op.outputs.push_back({h, {1, 0}, state_then});
  if (!c.empty()) op.outputs.push_back({c, {1, 1}, state_then});
  for (size_t k = 0; k < layers.size(); ++k) {
    Layer& l = layers[k];
    op.tensors.push_back({absl::StrCat("weight_ih_l", k), l.weight_ih, false, l.w_name});
    op.tensors.push_back({absl::StrCat("weight_hh_l", k), l.weight_hh, false, In(*l.node, 2)});
    if (l.bias_ih.defined()) {
      op.tensors.push_back({absl::StrCat("bias_ih_l", k), l.bias_ih, false, ""});
      op.tensors.push_back({absl::StrCat("bias_hh_l", k), l.bias_hh, false, ""});
    }
    if (l.peephole.defined()) {
      op.tensors.push_back({absl::StrCat("peephole_l", k), l.peephole, false, In(*l.node, 7)});
    }
  }
  op.nodes = nodes;
  return op;
}

}  // namespace structprune::internal
