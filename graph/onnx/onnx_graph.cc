#include "graph/onnx/onnx_graph.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "graph/onnx/op_versions.h"

namespace structprune::internal {
namespace {

const std::vector<int> kNoConsumers;

bool IsDefaultDomain(absl::string_view domain) { return domain.empty() || domain == "ai.onnx"; }

// Symbolic and absurd (> 2^40) dims are unknown.
bool IsKnownDim(const onnx::TensorShapeProto::Dimension& d) {
  return d.has_dim_value() && d.dim_value() >= 0 && d.dim_value() <= (int64_t{1} << 40);
}

bool HasTensorShape(const onnx::ValueInfoProto& info) {
  return info.type().has_tensor_type() && info.type().tensor_type().has_shape();
}

// Static shape of a ValueInfoProto; nullopt without a tensor shape.
std::optional<Shape> ShapeOfValueInfo(const onnx::ValueInfoProto& info) {
  if (!HasTensorShape(info)) return std::nullopt;
  Shape shape;
  for (const auto& d : info.type().tensor_type().shape().dim()) {
    shape.push_back(IsKnownDim(d) ? d.dim_value() : -1);
  }
  return shape;
}

}  // namespace

std::vector<std::string> DimParamsOf(const onnx::ValueInfoProto& info) {
  std::vector<std::string> names;
  if (!HasTensorShape(info)) return names;
  for (const auto& d : info.type().tensor_type().shape().dim()) {
    if (IsKnownDim(d)) {
      names.push_back("");
    } else if (d.has_dim_param() && !d.dim_param().empty()) {
      names.push_back(d.dim_param());
    } else {
      names.push_back(absl::StrCat(info.name(), "_dim_", names.size()));
    }
  }
  return names;
}

absl::StatusOr<std::unique_ptr<OnnxGraph>> OnnxGraph::Create(const onnx::ModelProto& model) {
  std::unique_ptr<OnnxGraph> g(new OnnxGraph());
  SP_RETURN_IF_ERROR(g->Index(model));
  g->RecordInputShapes();
  SP_RETURN_IF_ERROR(g->Propagate());
  g->ComputeLiveness();
  SP_RETURN_IF_ERROR(g->RecordEightBitValues());
  return g;
}

absl::Status OnnxGraph::Index(const onnx::ModelProto& model) {
  bool found_opset = false;
  for (const auto& op : model.opset_import()) {
    if (IsDefaultDomain(op.domain())) {
      opset_ = op.version();
      found_opset = true;
    }
  }
  if (!found_opset) {
    return absl::InvalidArgumentError(
        "not a valid ONNX model: opset_import has no entry for the default domain");
  }
  if (opset_ < kMinImportOpset || opset_ > kMaxOnnxOpset) {
    return absl::UnimplementedError(absl::StrCat("opset ", opset_, " is not supported (",
                                                 kMinImportOpset, " to ", kMaxOnnxOpset, ")"));
  }
  graph_ = &model.graph();
  const onnx::GraphProto& g = *graph_;
  if (g.output_size() == 0) {
    return absl::InvalidArgumentError("not a valid ONNX model: the graph has no outputs");
  }

  absl::flat_hash_set<std::string> defined;
  for (const onnx::TensorProto& init : g.initializer()) {
    if (init.name().empty()) {
      return absl::InvalidArgumentError("not a valid ONNX model: an initializer has no name");
    }
    if (!defined.insert(init.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a valid ONNX model: initializer '", init.name(), "' is defined twice"));
    }
    SP_ASSIGN_OR_RETURN(Tensor t,
                        TensorFromProto(init, absl::StrCat("initializer '", init.name(), "'")));
    shapes_[init.name()] = t.shape();
    constants_[init.name()] = OnnxConstant{std::move(t), true};
  }
  for (const onnx::ValueInfoProto& in : g.input()) {
    if (constants_.contains(in.name())) continue;  // an initializer listed as input (IR < 4)
    if (in.name().empty() || !defined.insert(in.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("not a valid ONNX model: graph input '",
                                                     in.name(), "' is empty or defined twice"));
    }
    model_inputs_.insert(in.name());
  }
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    if (IsDefaultDomain(n.domain())) SP_RETURN_IF_ERROR(CheckOpVersion(n, opset_));
    for (const std::string& in : n.input()) {
      if (!in.empty() && !defined.contains(in)) {
        return absl::InvalidArgumentError(absl::StrCat(
            NodeLabel(n), " reads '", in,
            "', which no earlier node, graph input or initializer defines (nodes must be "
            "topologically sorted)"));
      }
    }
    for (const std::string& out : n.output()) {
      if (out.empty()) continue;
      if (!defined.insert(out).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(NodeLabel(n), ": output '", out, "' is already defined"));
      }
      producer_[out] = i;
    }
  }
  for (const onnx::ValueInfoProto& out : g.output()) {
    if (!defined.contains(out.name())) {
      return absl::InvalidArgumentError(absl::StrCat("not a valid ONNX model: graph output '",
                                                     out.name(), "' is never computed"));
    }
    outputs_.insert(out.name());
  }
  return absl::OkStatus();
}

void OnnxGraph::RecordInputShapes() {
  for (const onnx::ValueInfoProto& in : graph_->input()) {
    if (!model_inputs_.contains(in.name())) continue;
    std::optional<Shape> s = ShapeOfValueInfo(in);
    if (s) shapes_[in.name()] = *std::move(s);
  }
}

absl::Status OnnxGraph::Propagate() {
  const onnx::GraphProto& g = *graph_;
  folded_.assign(g.node_size(), false);
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    if (!IsDefaultDomain(n.domain())) continue;
    std::vector<const Tensor*> inputs;
    bool known = true;
    for (int k = 0; k < n.input_size(); ++k) {
      const std::string& in = In(n, k);
      if (in.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      const OnnxConstant* c = Constant(in);
      // Shape reads only its input's (static) shape.
      if (c == nullptr && !(n.op_type() == "Shape" && k == 0)) {
        known = false;
        break;
      }
      inputs.push_back(c ? &c->tensor : nullptr);
    }
    const Shape* shape0 = n.input_size() > 0 ? ShapeOf(In(n, 0)) : nullptr;
    std::optional<std::vector<Tensor>> outs;
    if (known) {
      SP_ASSIGN_OR_RETURN(outs, FoldNode(n, inputs, shape0));
    }
    if (!outs.has_value()) {
      std::vector<const Shape*> in_shapes;
      std::vector<const Tensor*> in_constants;
      for (const std::string& in : n.input()) {
        in_shapes.push_back(in.empty() ? nullptr : ShapeOf(in));
        const OnnxConstant* c = in.empty() ? nullptr : Constant(in);
        in_constants.push_back(c ? &c->tensor : nullptr);
      }
      std::vector<std::optional<Shape>> shapes = InferNodeShapes(n, in_shapes, in_constants);
      for (int k = 0; k < n.output_size() && k < static_cast<int>(shapes.size()); ++k) {
        if (!Out(n, k).empty() && shapes[k]) shapes_[Out(n, k)] = *std::move(shapes[k]);
      }
      continue;
    }
    // An Identity of a stored tensor is that tensor under another name (PyTorch dedups equal
    // initializers this way).
    const bool stored = n.op_type() == "Identity" && Constant(In(n, 0))->is_initializer;
    for (int k = 0; k < n.output_size() && k < static_cast<int>(outs->size()); ++k) {
      if (Out(n, k).empty()) continue;
      shapes_[Out(n, k)] = (*outs)[k].shape();
      constants_[Out(n, k)] = OnnxConstant{std::move((*outs)[k]), stored};
    }
    folded_[i] = true;
  }
  return absl::OkStatus();
}

void OnnxGraph::ComputeLiveness() {
  const onnx::GraphProto& g = *graph_;
  live_.assign(g.node_size(), false);
  absl::flat_hash_set<std::string> needed(outputs_.begin(), outputs_.end());
  for (int i = g.node_size() - 1; i >= 0; --i) {
    const onnx::NodeProto& n = g.node(i);
    bool live = false;
    for (const std::string& out : n.output()) live = live || needed.contains(out);
    if (!live) continue;
    live_[i] = true;
    if (folded_[i]) continue;  // its outputs are known; its inputs are not needed for them
    for (const std::string& in : n.input()) {
      if (!in.empty()) needed.insert(in);
    }
  }
  for (int i = 0; i < g.node_size(); ++i) {
    if (!live_[i] || folded_[i]) continue;
    const onnx::NodeProto& n = g.node(i);
    for (const std::string& in : n.input()) {
      if (in.empty()) continue;
      std::vector<int>& c = consumers_[in];
      if (c.empty() || c.back() != i) c.push_back(i);
    }
  }
}

int OnnxGraph::Producer(absl::string_view value) const {
  auto it = producer_.find(value);
  return it == producer_.end() ? -1 : it->second;
}

const std::vector<int>& OnnxGraph::Consumers(absl::string_view value) const {
  auto it = consumers_.find(value);
  return it == consumers_.end() ? kNoConsumers : it->second;
}

const OnnxConstant* OnnxGraph::Constant(absl::string_view value) const {
  auto it = constants_.find(value);
  return it == constants_.end() ? nullptr : &it->second;
}

const Shape* OnnxGraph::ShapeOf(absl::string_view value) const {
  auto it = shapes_.find(value);
  return it == shapes_.end() ? nullptr : &it->second;
}

bool OnnxGraph::IsKnownZero(absl::string_view value) const { return IsKnownZero(value, 0); }

bool OnnxGraph::IsKnownZero(absl::string_view value, int depth) const {
  auto all_zero = [](const Tensor& t) {
    if (t.dtype() != DType::kFloat32) return false;
    for (float v : t.values<float>()) {
      if (v != 0.0f) return false;
    }
    return true;
  };
  if (const OnnxConstant* c = Constant(value)) return all_zero(c->tensor);
  const int p = Producer(value);
  if (p < 0 || depth > 16) return false;
  const onnx::NodeProto& n = node(p);
  const std::string& op = n.op_type();
  if (op == "ConstantOfShape") {
    const onnx::AttributeProto* a = FindAttr(n, "value");
    if (a == nullptr) return true;  // default: float 0
    absl::StatusOr<Tensor> t = TensorFromProto(a->t(), "value");
    return t.ok() && all_zero(*t);
  }
  // Ops that only move or copy elements of their first input.
  if (op == "Expand" || op == "Slice" || op == "Gather" || op == "Reshape" || op == "Squeeze" ||
      op == "Unsqueeze" || op == "Identity" || op == "Transpose" || op == "Tile") {
    return n.input_size() >= 1 && IsKnownZero(In(n, 0), depth + 1);
  }
  if (op == "Concat") {
    for (const std::string& in : n.input()) {
      if (!IsKnownZero(in, depth + 1)) return false;
    }
    return n.input_size() > 0;
  }
  return false;
}

}  // namespace structprune::internal
