// Import matchers for the norms: BatchNormalization -> BatchNorm2d, LayerNormalization (opset
// 17) and PyTorch's decomposed LayerNorm (opsets 13 to 16) -> LayerNorm.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "graph/onnx/import_patterns.h"
#include "ops/norms.h"

namespace structprune::internal {
namespace {

bool AllEqual(const Tensor& t, float v) {
  for (float x : t.values<float>()) {
    if (x != v) return false;
  }
  return true;
}

// A constant the exporter made up (not a stored parameter) with every element `v`: how
// BatchNorm(affine=False) and LayerNorm(elementwise_affine=False) come out.
bool IsSyntheticFill(const OnnxGraph& g, const std::string& value, float v) {
  const OnnxConstant* c = FloatConstant(g, value);
  return c != nullptr && !c->is_initializer && AllEqual(c->tensor, v);
}

// `t` as a tensor of `shape`: same element count, or one value broadcast.
std::optional<Tensor> AsShape(const Tensor& t, const Shape& shape) {
  if (t.numel() == 1) return Tensor::Full(shape, t.data<float>()[0]);
  absl::StatusOr<Tensor> r = t.Reshape(shape);
  if (!r.ok()) return std::nullopt;
  return *r;
}

// Builds the LayerNorm op over the last `k` dims of `x`.
absl::StatusOr<std::optional<ImportOp>> LayerNormOp(const Subgraph& s, const std::string& x,
                                                    int64_t k, float eps, const std::string& weight,
                                                    const std::string& bias) {
  const OnnxGraph& g = s.graph();
  const onnx::NodeProto& n = s.anchor();
  const OnnxConstant* w = weight.empty() ? nullptr : FloatConstant(g, weight);
  const OnnxConstant* b = bias.empty() ? nullptr : FloatConstant(g, bias);
  Shape normalized;
  const Shape* in = g.ShapeOf(x);
  if (in != nullptr && static_cast<int64_t>(in->size()) >= k &&
      std::all_of(in->end() - k, in->end(), [](int64_t d) { return d >= 0; })) {
    normalized.assign(in->end() - k, in->end());
  } else if (w != nullptr && w->tensor.dim() == k) {
    normalized = w->tensor.shape();
  } else {
    return Unsupported(n, "the normalized shape is unknown (no static input shape)");
  }
  const bool affine = !(weight.empty() || (IsSyntheticFill(g, weight, 1.0f) &&
                                           (bias.empty() || IsSyntheticFill(g, bias, 0.0f))));
  LayerNormAttrs attrs{
      .normalized_shape = std::vector<int64_t>(normalized.begin(), normalized.end()),
      .eps = eps,
      .elementwise_affine = affine,
      .bias = affine && !bias.empty()};
  ImportOp op = MakeOp(s, OpKind::kLayerNorm, x, attrs.ToAttrs());
  if (affine) {
    std::optional<Tensor> wt = AsShape(w->tensor, normalized);
    if (!wt) return std::nullopt;
    op.tensors.push_back({"weight", *std::move(wt), false, weight});
    if (b != nullptr) {
      std::optional<Tensor> bt = AsShape(b->tensor, normalized);
      if (!bt) return std::nullopt;
      op.tensors.push_back({"bias", *std::move(bt), false, bias});
    }
  }
  return op;
}

// The trailing-dims count k of ReduceMean axes, or nullopt when they are not the last k dims.
std::optional<int64_t> TrailingAxes(std::vector<int64_t> axes, const Shape* shape) {
  if (axes.empty()) return std::nullopt;
  const int64_t rank = shape ? static_cast<int64_t>(shape->size()) : -1;
  for (int64_t& a : axes) {
    if (a >= 0) {
      if (rank < 0) return std::nullopt;
      a -= rank;
    }
  }
  std::sort(axes.begin(), axes.end());
  const int64_t k = static_cast<int64_t>(axes.size());
  for (int64_t i = 0; i < k; ++i) {
    if (axes[i] != i - k) return std::nullopt;
  }
  return k;
}

}  // namespace

MatchResult MatchBatchNorm(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() != 5) return InvalidNode(n, "BatchNormalization needs 5 inputs");
  if (g.Constant(In(n, 0)) != nullptr) return Unsupported(n, "input X is a constant");
  // training_mode=1 (opset 14 on): Y from the batch's statistics, outputs 1 and 2 the running
  // statistics updated with momentum (BatchNorm2d's onnx_training_mode).
  SP_ASSIGN_OR_RETURN(int64_t training, IntAttr(n, "training_mode", 0));
  if (training != 0 && training != 1) {
    return InvalidNode(n, absl::StrCat("training_mode must be 0 or 1, got ", training));
  }
  // Before opset 14 the outputs choose the mode: Y alone is inference, Y with the running
  // and saved statistics is training. Before opset 9, spatial=0 normalizes per activation.
  if (g.opset() < 14) {
    for (int i = 1; i < n.output_size(); ++i) {
      if (!Out(n, i).empty()) {
        return Unsupported(n,
                           absl::StrCat("with ", n.output_size(), " outputs at opset ", g.opset(),
                                        " it runs in training mode; supported: "
                                        "the inference form (output Y only)"));
      }
    }
  }
  if (g.opset() < 9) {
    SP_ASSIGN_OR_RETURN(int64_t spatial, IntAttr(n, "spatial", 1));
    if (spatial != 1) return Unsupported(n, "spatial=0 (per-activation statistics)");
  }
  if (training == 0) {
    for (int i = 1; i < n.output_size(); ++i) SP_RETURN_IF_ERROR(RequireUnusedOutput(g, n, i));
  } else if (n.output_size() > 3) {
    return InvalidNode(n, absl::StrCat("training_mode=1 has at most 3 outputs (Y, running_mean, "
                                       "running_var), got ",
                                       n.output_size()));
  }
  const Shape* in = g.ShapeOf(In(n, 0));
  if (in != nullptr && in->size() != 4) {
    return Unsupported(
        n, absl::StrCat("only 4-D inputs (BatchNorm2d) are supported, got ", ShapeToString(*in)));
  }
  const char* roles[] = {"scale", "B", "input_mean", "input_var"};
  const Tensor* t[4];
  for (int i = 0; i < 4; ++i) {
    SP_ASSIGN_OR_RETURN(t[i], RequireFloatConstant(g, n, i + 1, roles[i]));
    if (t[i]->dim() != 1 || t[i]->numel() != t[0]->numel()) {
      return InvalidNode(n, absl::StrCat(roles[i], " has shape ", ShapeToString(t[i]->shape()),
                                         "; expected [", t[0]->numel(), "]"));
    }
  }
  SP_ASSIGN_OR_RETURN(float eps, FloatAttr(n, "epsilon", 1e-5f));
  SP_ASSIGN_OR_RETURN(float momentum, FloatAttr(n, "momentum", 0.9f));
  const bool affine = !(IsSyntheticFill(g, In(n, 1), 1.0f) && IsSyntheticFill(g, In(n, 2), 0.0f));
  BatchNorm2dAttrs attrs{.num_features = t[0]->numel(),
                         .eps = eps,
                         .momentum = 1.0 - momentum,  // ONNX keeps the old mean's share
                         .affine = affine,
                         .track_running_stats = true,
                         .onnx_training_mode = training == 1};
  ImportOp op = MakeOp(s, OpKind::kBatchNorm2d, In(n, 0), attrs.ToAttrs());
  if (training == 1) {
    op.outputs.clear();
    for (int i = 0; i < n.output_size(); ++i) {
      if (!Out(n, i).empty()) op.outputs.push_back({Out(n, i), {i}});
    }
  }
  if (affine) {
    op.tensors.push_back({"weight", *t[0], false, In(n, 1)});
    op.tensors.push_back({"bias", *t[1], false, In(n, 2)});
  }
  op.tensors.push_back({"running_mean", *t[2], true, In(n, 3)});
  op.tensors.push_back({"running_var", *t[3], true, In(n, 4)});
  return op;
}

MatchResult MatchLayerNorm(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() < 2) return InvalidNode(n, "LayerNormalization needs X and Scale");
  if (g.Constant(In(n, 0)) != nullptr) return Unsupported(n, "input X is a constant");
  SP_ASSIGN_OR_RETURN(int64_t axis, IntAttr(n, "axis", -1));
  SP_ASSIGN_OR_RETURN(float eps, FloatAttr(n, "epsilon", 1e-5f));
  SP_RETURN_IF_ERROR(RequireFloatConstant(g, n, 1, "Scale").status());
  const std::string bias = n.input_size() >= 3 ? In(n, 2) : "";
  if (!bias.empty()) SP_RETURN_IF_ERROR(RequireFloatConstant(g, n, 2, "B").status());
  int64_t k = -axis;
  if (axis >= 0) {
    const Shape* in = g.ShapeOf(In(n, 0));
    if (in == nullptr) return Unsupported(n, "a non-negative axis needs the input's rank");
    k = static_cast<int64_t>(in->size()) - axis;
  }
  if (k < 1) return InvalidNode(n, absl::StrCat("axis ", axis, " is out of range"));
  SP_ASSIGN_OR_RETURN(std::optional<ImportOp> op, LayerNormOp(s, In(n, 0), k, eps, In(n, 1), bias));
  if (!op) return InvalidNode(n, "Scale and B do not have the normalized shape");
  // Mean and InvStdDev in use: the layer returns (y, mean, rstd).
  bool stats_used = false;
  for (int i = 1; i < n.output_size() && i < 3; ++i) {
    stats_used = stats_used || !RequireUnusedOutput(g, n, i).ok();
  }
  if (stats_used) {
    op->attrs["return_stats"] = true;
    op->outputs.clear();
    for (int i = 0; i < n.output_size() && i < 3; ++i) {
      if (!Out(n, i).empty()) op->outputs.push_back({Out(n, i), {i}});
    }
  }
  return op;
}

MatchResult MatchDecomposedLayerNorm(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  auto is_const = [&](const std::string& v) { return FloatConstant(g, v) != nullptr; };
  std::string weight, bias;
  const onnx::NodeProto* div = nullptr;
  if (n.op_type() == "Add") {  // Add(Mul(Div, weight), bias)
    const int b = FindOperand(n, is_const);
    if (b < 0) return std::nullopt;
    bias = In(n, b);
    const onnx::NodeProto* mul = s.Take(In(n, 1 - b), "Mul");
    if (mul == nullptr) return std::nullopt;
    const int w = FindOperand(*mul, is_const);
    if (w < 0) return std::nullopt;
    weight = In(*mul, w);
    div = s.Take(In(*mul, 1 - w), "Div");
  } else if (n.op_type() == "Mul") {  // Mul(Div, weight)
    const int w = FindOperand(n, is_const);
    if (w < 0) return std::nullopt;
    weight = In(n, w);
    div = s.Take(In(n, 1 - w), "Div");
  } else {
    div = &n;
  }
  if (div == nullptr || div->input_size() != 2) return std::nullopt;
  // Div(Sub(x, ReduceMean(x)), Sqrt(Add(ReduceMean(Pow(Sub, 2)), eps)))
  const std::string& centered = In(*div, 0);
  const onnx::NodeProto* sub = s.Take(centered, "Sub");
  const onnx::NodeProto* sqrt = s.Take(In(*div, 1), "Sqrt");
  if (sub == nullptr || sqrt == nullptr || sub->input_size() != 2) return std::nullopt;
  const std::string& x = In(*sub, 0);
  const onnx::NodeProto* mean = s.Take(In(*sub, 1), "ReduceMean");
  const onnx::NodeProto* add_eps = s.Take(In(*sqrt, 0), "Add");
  if (mean == nullptr || add_eps == nullptr || mean->input_size() != 1 || In(*mean, 0) != x) {
    return std::nullopt;
  }
  const int e =
      FindOperand(*add_eps, [&](const std::string& v) { return ScalarConstant(g, v).has_value(); });
  if (e < 0) return std::nullopt;
  const float eps = *ScalarConstant(g, In(*add_eps, e));
  const onnx::NodeProto* var = s.Take(In(*add_eps, 1 - e), "ReduceMean");
  if (var == nullptr || var->input_size() != 1) return std::nullopt;
  const onnx::NodeProto* pow = s.Take(In(*var, 0), "Pow");
  if (pow == nullptr || pow->input_size() != 2 || In(*pow, 0) != centered ||
      !IsScalarConstant(g, In(*pow, 1), 2.0)) {
    return std::nullopt;
  }
  if (!s.Closed() || g.Constant(x) != nullptr) return std::nullopt;
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> axes_mean, IntsAttr(*mean, "axes", {}));
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> axes_var, IntsAttr(*var, "axes", {}));
  SP_ASSIGN_OR_RETURN(int64_t keep_mean, IntAttr(*mean, "keepdims", 1));
  SP_ASSIGN_OR_RETURN(int64_t keep_var, IntAttr(*var, "keepdims", 1));
  const Shape* in = g.ShapeOf(x);
  std::optional<int64_t> k = TrailingAxes(axes_mean, in);
  if (!k || TrailingAxes(axes_var, in) != k || keep_mean != 1 || keep_var != 1) return std::nullopt;
  return LayerNormOp(s, x, *k, eps, weight, bias);
}

}  // namespace structprune::internal
