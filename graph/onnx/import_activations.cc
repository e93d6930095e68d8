// Import matchers for the 21 activations: the ONNX ops that are one activation, and the
// subgraphs PyTorch 1.13 writes for the others (SiLU = x * Sigmoid(x), GELU with Erf, ...).
#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "graph/onnx/import_patterns.h"
#include "graph/onnx/scope_names.h"

namespace structprune::internal {
namespace {

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

bool Near(double a, double b) { return std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b)); }

// For a two-input node with `x` as one operand: the other operand (x again for x * x).
std::optional<std::string> OtherThan(const onnx::NodeProto& n, const std::string& x) {
  if (n.input_size() != 2) return std::nullopt;
  if (In(n, 0) == x) return In(n, 1);
  if (In(n, 1) == x) return In(n, 0);
  return std::nullopt;
}

// Runs `attempt(s, i)` for i = 0 and 1 (which operand of the anchor is x), each on a fresh
// subgraph, until one matches or fails.
template <typename Attempt>
MatchResult EitherOperand(const OnnxGraph& g, int anchor, Attempt attempt) {
  if (g.node(anchor).input_size() != 2) return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    Subgraph s(g, anchor);
    MatchResult r = attempt(s, i);
    if (!r.ok() || r->has_value()) return r;
  }
  return std::nullopt;
}

// The other operand of a two-input node one of whose operands is the scalar `value`.
std::optional<std::string> OtherThanScalar(const OnnxGraph& g, const onnx::NodeProto& n,
                                           double value) {
  const int i = FindOperand(n, [&](const std::string& v) { return IsScalarConstant(g, v, value); });
  if (i < 0) return std::nullopt;
  return In(n, 1 - i);
}

MatchResult Finish(const Subgraph& s, OpKind kind, const std::string& x, AttrMap attrs = {}) {
  if (!s.Closed() || s.graph().Constant(x) != nullptr) return std::nullopt;
  return MakeOp(s, kind, x, std::move(attrs));
}

// Mul(x, F(x)) for the one-input op `f`: SiLU, Hardswish.
MatchResult MulOfSelf(const OnnxGraph& g, int anchor, absl::string_view f, OpKind kind) {
  const onnx::NodeProto& n = g.node(anchor);
  for (int i = 0; i < 2 && n.input_size() == 2; ++i) {
    Subgraph s(g, anchor);
    const onnx::NodeProto* inner = s.Take(In(n, i), f);
    if (inner == nullptr || inner->input_size() < 1 || In(*inner, 0) != In(n, 1 - i)) continue;
    if (kind == OpKind::kHardswish) {
      absl::StatusOr<float> alpha = FloatAttr(*inner, "alpha", 0.2f);
      absl::StatusOr<float> beta = FloatAttr(*inner, "beta", 0.5f);
      if (!alpha.ok() || !beta.ok() || !Near(*alpha, 1.0 / 6.0) || !Near(*beta, 0.5)) continue;
    }
    return Finish(s, kind, In(n, 1 - i));
  }
  return std::nullopt;
}

}  // namespace

MatchResult MatchSimpleActivation(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  const std::string& op = n.op_type();
  if (n.input_size() < 1) return InvalidNode(n, "missing input");
  const std::string& x = In(n, 0);
  if (g.Constant(x) != nullptr) return Unsupported(n, "the input is a constant");
  if (op == "Relu") return MakeOp(s, OpKind::kRelu, x);
  if (op == "Sigmoid") return MakeOp(s, OpKind::kSigmoid, x);
  if (op == "Tanh") return MakeOp(s, OpKind::kTanh, x);
  if (op == "HardSwish") return MakeOp(s, OpKind::kHardswish, x);
  if (op == "Softsign") return MakeOp(s, OpKind::kSoftsign, x);
  // ONNX Softplus has no threshold; PyTorch's default (20) changes the result by < 3e-9.
  if (op == "Softplus") return MakeOp(s, OpKind::kSoftplus, x);
  if (op == "LeakyRelu") {
    SP_ASSIGN_OR_RETURN(float alpha, FloatAttr(n, "alpha", 0.01f));
    return MakeOp(s, OpKind::kLeakyRelu, x, {{"negative_slope", static_cast<double>(alpha)}});
  }
  if (op == "Elu" || op == "Celu") {
    SP_ASSIGN_OR_RETURN(float alpha, FloatAttr(n, "alpha", 1.0f));
    return MakeOp(s, op == "Elu" ? OpKind::kElu : OpKind::kCelu, x,
                  {{"alpha", static_cast<double>(alpha)}});
  }
  // Constants other than PyTorch's become attributes (nn.SELU / nn.Hardsigmoid have none).
  if (op == "Selu") {
    SP_ASSIGN_OR_RETURN(float alpha, FloatAttr(n, "alpha", static_cast<float>(kSeluAlpha)));
    SP_ASSIGN_OR_RETURN(float gamma, FloatAttr(n, "gamma", static_cast<float>(kSeluScale)));
    if (Near(alpha, kSeluAlpha) && Near(gamma, kSeluScale)) return MakeOp(s, OpKind::kSelu, x);
    return MakeOp(s, OpKind::kSelu, x,
                  {{"alpha", static_cast<double>(alpha)}, {"scale", static_cast<double>(gamma)}});
  }
  if (op == "HardSigmoid") {
    SP_ASSIGN_OR_RETURN(float alpha, FloatAttr(n, "alpha", 0.2f));
    SP_ASSIGN_OR_RETURN(float beta, FloatAttr(n, "beta", 0.5f));
    if (Near(alpha, 1.0 / 6.0) && Near(beta, 0.5)) return MakeOp(s, OpKind::kHardsigmoid, x);
    return MakeOp(s, OpKind::kHardsigmoid, x,
                  {{"alpha", static_cast<double>(alpha)}, {"beta", static_cast<double>(beta)}});
  }
  if (op == "Shrink") {
    SP_ASSIGN_OR_RETURN(float lambd, FloatAttr(n, "lambd", 0.5f));
    SP_ASSIGN_OR_RETURN(float bias, FloatAttr(n, "bias", 0.0f));
    if (bias != 0.0f) return Unsupported(n, "only bias=0 (Hardshrink) is supported");
    return MakeOp(s, OpKind::kHardshrink, x, {{"lambd", static_cast<double>(lambd)}});
  }
  return std::nullopt;
}

MatchResult MatchClip(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() < 1) return InvalidNode(n, "missing input");
  // A missing bound is ONNX's default, float's lowest / max.
  std::optional<double> bounds[2];
  for (int i = 0; i < 2; ++i) {
    const char* name = i == 0 ? "min" : "max";
    if (g.opset() < 11) {  // Clip-6: the bounds are attributes
      if (FindAttr(n, name) == nullptr) continue;
      SP_ASSIGN_OR_RETURN(float v, FloatAttr(n, name, 0.0f));
      bounds[i] = v;
      continue;
    }
    if (i + 1 >= n.input_size() || In(n, i + 1).empty()) continue;
    std::optional<float> v = ScalarConstant(g, In(n, i + 1));
    const OnnxConstant* bound = g.Constant(In(n, i + 1));
    if (!v && g.EightBitType(In(n, 0)) != 0 && bound != nullptr &&
        bound->tensor.dtype() == DType::kInt64 && bound->tensor.numel() == 1) {
      // An 8-bit Clip's bounds are 8-bit integers (read as int64), exact in float.
      v = static_cast<float>(bound->tensor.data<int64_t>()[0]);
    }
    if (!v) {
      return Unsupported(
          n, absl::StrCat("bound '", In(n, i + 1), "' must be a float scalar constant"));
    }
    bounds[i] = *v;
  }
  if (!bounds[0] && !bounds[1]) {  // Clip(x) = x
    if (!s.Closed() || g.Constant(In(n, 0)) != nullptr) return std::nullopt;
    ImportOp op = MakeOp(s, OpKind::kIdentity, In(n, 0));
    op.alias = true;
    return op;
  }
  if (bounds[0] == 0.0 && bounds[1] == 6.0) return Finish(s, OpKind::kRelu6, In(n, 0));
  if (bounds[0] == 0.0 && !bounds[1]) return Finish(s, OpKind::kRelu, In(n, 0));
  const double lo = bounds[0].value_or(std::numeric_limits<float>::lowest());
  const double hi = bounds[1].value_or(std::numeric_limits<float>::max());
  return Finish(s, OpKind::kHardtanh, In(n, 0), {{"min_val", lo}, {"max_val", hi}});
}

MatchResult MatchReluClip(const OnnxGraph& g, int anchor) {
  // F.relu6 as PyTorch 1.13 writes it: Relu then Clip(0, 6), in the same scope.
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() != 3 || !IsScalarConstant(g, In(n, 1), 0.0) ||
      !IsScalarConstant(g, In(n, 2), 6.0)) {
    return std::nullopt;
  }
  const onnx::NodeProto* relu = s.Take(In(n, 0), "Relu");
  if (relu == nullptr || ScopeFqnFromNodeName(relu->name()) != ScopeFqnFromNodeName(n.name())) {
    return std::nullopt;
  }
  return Finish(s, OpKind::kRelu6, In(*relu, 0));
}

namespace {

// PRelu whose slope is not per channel: F.prelu(x, slope) with the slope read by get_attr and
// given 2+ dims (leading 1s up to the input's rank, or [1, k]), the engine's element-wise
// broadcast form.
MatchResult BroadcastPRelu(const Subgraph& s, const Tensor& slope, const Shape* in) {
  const onnx::NodeProto& n = s.anchor();
  const size_t rank = in != nullptr ? in->size() : std::max<size_t>(slope.shape().size(), 2);
  if (rank < 2 || slope.shape().size() > rank) {
    return Unsupported(
        n, absl::StrCat("slope ", ShapeToString(slope.shape()), " does not broadcast to the input",
                        in != nullptr ? absl::StrCat(" ", ShapeToString(*in)) : "",
                        " (an input of 2+ dims is supported)"));
  }
  Shape shape(rank - slope.shape().size(), 1);
  shape.insert(shape.end(), slope.shape().begin(), slope.shape().end());
  SP_ASSIGN_OR_RETURN(Tensor weight, slope.Reshape(shape));
  ImportOp op = MakeOp(s, OpKind::kPrelu, In(n, 0));
  op.functional_only = true;
  op.inputs.push_back(In(n, 1));
  op.constants.push_back({In(n, 1), weight, true, In(n, 1)});
  return op;
}

}  // namespace

MatchResult MatchPRelu(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() != 2) return InvalidNode(n, "PRelu needs X and slope");
  if (g.Constant(In(n, 0)) != nullptr) return Unsupported(n, "the input is a constant");
  SP_ASSIGN_OR_RETURN(const Tensor* slope, RequireFloatConstant(g, n, 1, "slope"));
  // PyTorch's slope is per channel (dim 1): ONNX slope [C, 1, .., 1] against [N, C, ...].
  const int64_t channels = slope->numel();
  if (channels > 1) {
    bool trailing_ones = slope->shape()[0] == channels;
    for (int64_t d = 1; d < slope->dim(); ++d)
      trailing_ones = trailing_ones && slope->shape()[d] == 1;
    const Shape* in = g.ShapeOf(In(n, 0));
    const bool aligned =
        in == nullptr ? slope->dim() >= 1 : static_cast<int64_t>(in->size()) == slope->dim() + 1;
    if (!trailing_ones || !aligned) return BroadcastPRelu(s, *slope, g.ShapeOf(In(n, 0)));
  }
  ImportOp op = MakeOp(s, OpKind::kPrelu, In(n, 0), {{"num_parameters", channels}});
  SP_ASSIGN_OR_RETURN(Tensor weight, slope->Reshape({channels}));
  op.tensors.push_back({"weight", weight, false, In(n, 1)});
  return op;
}

MatchResult MatchSilu(const OnnxGraph& g, int anchor) {
  return MulOfSelf(g, anchor, "Sigmoid", OpKind::kSilu);
}

MatchResult MatchHardswishMul(const OnnxGraph& g, int anchor) {
  return MulOfSelf(g, anchor, "HardSigmoid", OpKind::kHardswish);
}

MatchResult MatchMish(const OnnxGraph& g, int anchor) {
  // Mul(x, Tanh(Softplus(x)))
  return EitherOperand(g, anchor, [&](Subgraph& s, int i) -> MatchResult {
    const std::string& x = In(s.anchor(), i);
    const onnx::NodeProto* tanh = s.Take(In(s.anchor(), 1 - i), "Tanh");
    const onnx::NodeProto* softplus = tanh ? s.Take(In(*tanh, 0), "Softplus") : nullptr;
    if (softplus == nullptr || In(*softplus, 0) != x) return std::nullopt;
    return Finish(s, OpKind::kMish, x);
  });
}

// Both GELU forms: Mul(Mul(x, Add(inner, 1)), 0.5), `inner` made by an `inner_op` node that
// `feeds_from_x` checks (it takes further nodes into the subgraph), in either operand order.
template <typename FeedsFromX>
MatchResult MatchGeluForm(const OnnxGraph& g, int anchor, const char* inner_op,
                          const char* approximate, FeedsFromX feeds_from_x) {
  std::optional<std::string> m = OtherThanScalar(g, g.node(anchor), 0.5);
  if (!m) return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    Subgraph s(g, anchor);
    const onnx::NodeProto* mul = s.Take(*m, "Mul");
    if (mul == nullptr || mul->input_size() != 2) return std::nullopt;
    const std::string& x = In(*mul, i);
    const onnx::NodeProto* add = s.Take(In(*mul, 1 - i), "Add");
    std::optional<std::string> e = add ? OtherThanScalar(g, *add, 1.0) : std::nullopt;
    const onnx::NodeProto* inner = e ? s.Take(*e, inner_op) : nullptr;
    if (inner == nullptr || !feeds_from_x(s, *inner, x)) continue;
    return Finish(s, OpKind::kGelu, x, {{"approximate", std::string(approximate)}});
  }
  return std::nullopt;
}

MatchResult MatchGeluErf(const OnnxGraph& g, int anchor) {
  // Mul(Mul(x, Add(Erf(Div(x, sqrt(2))), 1)), 0.5)
  return MatchGeluForm(g, anchor, "Erf", "none",
                       [&](Subgraph& s, const onnx::NodeProto& erf, const std::string& x) {
                         const onnx::NodeProto* div = s.Take(In(erf, 0), "Div");
                         return div != nullptr && div->input_size() == 2 && In(*div, 0) == x &&
                                IsScalarConstant(g, In(*div, 1), std::sqrt(2.0));
                       });
}

MatchResult MatchGeluTanh(const OnnxGraph& g, int anchor) {
  // Mul(0.5, Mul(x, Add(1, Tanh(Mul(sqrt(2/pi), Add(x, Mul(0.044715, Mul(x, Mul(x, x)))))))))
  return MatchGeluForm(
      g, anchor, "Tanh", "tanh",
      [&](Subgraph& s, const onnx::NodeProto& tanh, const std::string& x) {
        const onnx::NodeProto* scale = s.Take(In(tanh, 0), "Mul");
        std::optional<std::string> inner =
            scale ? OtherThanScalar(g, *scale, std::sqrt(2.0 / M_PI)) : std::nullopt;
        const onnx::NodeProto* add0 = inner ? s.Take(*inner, "Add") : nullptr;
        std::optional<std::string> c = add0 ? OtherThan(*add0, x) : std::nullopt;
        const onnx::NodeProto* cubic = c ? s.Take(*c, "Mul") : nullptr;
        std::optional<std::string> cube_v =
            cubic ? OtherThanScalar(g, *cubic, 0.044715) : std::nullopt;
        const onnx::NodeProto* cube = cube_v ? s.Take(*cube_v, "Mul") : nullptr;
        std::optional<std::string> sq = cube ? OtherThan(*cube, x) : std::nullopt;
        const onnx::NodeProto* square = sq ? s.Take(*sq, "Mul") : nullptr;
        return square != nullptr && square->input_size() == 2 && In(*square, 0) == x &&
               In(*square, 1) == x;
      });
}

MatchResult MatchSoftsignDiv(const OnnxGraph& g, int anchor) {
  // Div(x, Add(Abs(x), 1))
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() != 2) return std::nullopt;
  const onnx::NodeProto* add = s.Take(In(n, 1), "Add");
  std::optional<std::string> a = add ? OtherThanScalar(g, *add, 1.0) : std::nullopt;
  const onnx::NodeProto* abs = a ? s.Take(*a, "Abs") : nullptr;
  if (abs == nullptr || In(*abs, 0) != In(n, 0)) return std::nullopt;
  return Finish(s, OpKind::kSoftsign, In(n, 0));
}

MatchResult MatchSoftplusBeta(const OnnxGraph& g, int anchor) {
  // Div(Softplus(Mul(x, beta)), beta): F.softplus(x, beta) for beta != 1.
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() != 2) return std::nullopt;
  std::optional<float> beta = ScalarConstant(g, In(n, 1));
  const onnx::NodeProto* softplus = beta ? s.Take(In(n, 0), "Softplus") : nullptr;
  const onnx::NodeProto* mul = softplus ? s.Take(In(*softplus, 0), "Mul") : nullptr;
  if (mul == nullptr) return std::nullopt;
  std::optional<std::string> x = OtherThanScalar(g, *mul, *beta);
  if (!x) return std::nullopt;
  return Finish(s, OpKind::kSoftplus, *x, {{"beta", static_cast<double>(*beta)}});
}

MatchResult MatchLogSigmoidLog(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto* sigmoid = s.Take(In(s.anchor(), 0), "Sigmoid");
  if (sigmoid == nullptr) return std::nullopt;
  return Finish(s, OpKind::kLogSigmoid, In(*sigmoid, 0));
}

MatchResult MatchLogSigmoidNeg(const OnnxGraph& g, int anchor) {
  // Neg(Softplus(Neg(x))) = log(sigmoid(x)), the stable form our exporter writes.
  Subgraph s(g, anchor);
  const onnx::NodeProto* softplus = s.Take(In(s.anchor(), 0), "Softplus");
  const onnx::NodeProto* neg = softplus ? s.Take(In(*softplus, 0), "Neg") : nullptr;
  if (neg == nullptr) return std::nullopt;
  return Finish(s, OpKind::kLogSigmoid, In(*neg, 0));
}

MatchResult MatchTanhshrink(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() != 2) return std::nullopt;
  const onnx::NodeProto* tanh = s.Take(In(n, 1), "Tanh");
  if (tanh == nullptr || In(*tanh, 0) != In(n, 0)) return std::nullopt;
  return Finish(s, OpKind::kTanhshrink, In(n, 0));
}

MatchResult MatchHardshrinkWhere(const OnnxGraph& g, int anchor) {
  // Where(Or(Cast(Greater(x, l)), Cast(Less(x, -l))), x, 0)
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() != 3 || !IsScalarConstant(g, In(n, 2), 0.0)) return std::nullopt;
  const std::string& x = In(n, 1);
  const onnx::NodeProto* either = s.Take(In(n, 0), "Or");
  if (either == nullptr || either->input_size() != 2) return std::nullopt;
  std::optional<float> upper, lower;
  for (const std::string& v : either->input()) {
    std::string cmp_v = v;
    if (const onnx::NodeProto* cast = s.Take(v, "Cast")) cmp_v = In(*cast, 0);
    const onnx::NodeProto* cmp = s.Take(cmp_v, "Greater");
    if (cmp == nullptr) cmp = s.Take(cmp_v, "Less");
    if (cmp == nullptr || cmp->input_size() != 2 || In(*cmp, 0) != x) return std::nullopt;
    (cmp->op_type() == "Greater" ? upper : lower) = ScalarConstant(g, In(*cmp, 1));
  }
  if (!upper || !lower || *lower != -*upper) return std::nullopt;
  return Finish(s, OpKind::kHardshrink, x, {{"lambd", static_cast<double>(*upper)}});
}

}  // namespace structprune::internal
