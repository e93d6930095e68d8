// Import matchers for the layers and structural ops: Gemm / MatMul(+Add) -> Linear, Conv ->
// Conv2d, pools, Flatten / Reshape -> flatten, Add, Concat, Identity / Dropout.
#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "graph/onnx/import_patterns.h"
#include "ops/conv2d.h"
#include "ops/dropout.h"
#include "ops/linear.h"
#include "ops/matmul.h"
#include "ops/pool3d.h"
#include "ops/pooling.h"
#include "ops/reshape.h"
#include "ops/shape_ops.h"
#include "ops/transpose.h"

namespace structprune::internal {
namespace {

// weights [rows, cols] -> [cols, rows]
Tensor Transpose2d(const Tensor& t) {
  const int64_t rows = t.shape()[0], cols = t.shape()[1];
  Tensor out = Tensor::Zeros({cols, rows});
  const float* src = t.data<float>();
  float* dst = out.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  }
  return out;
}

Tensor Scaled(const Tensor& t, float factor) {
  Tensor out = t.Clone();
  if (factor != 1.0f) {
    for (float& v : out.values<float>()) v *= factor;
  }
  return out;
}

bool IsGraphValue(const OnnxGraph& g, const std::string& v) {
  return !v.empty() && g.Constant(v) == nullptr;
}

// A bias of `n` entries as a 1-D tensor when `t` is [n], [1, n], ... or a single value
// (broadcast to n); nullopt otherwise.
std::optional<Tensor> BiasVector(const Tensor& t, int64_t n) {
  if (t.numel() == 1) return Tensor::Full({n}, t.data<float>()[0]);
  if (t.numel() != n || t.dim() == 0 || t.shape().back() != n) return std::nullopt;
  absl::StatusOr<Tensor> r = t.Reshape({n});
  if (!r.ok()) return std::nullopt;
  return *r;
}

// The weight of MatMul(x, B) as Linear's [out, in], named after the stored tensor: B itself
// ([in, out], transposed here) or, for our exporter's MatMul(x, Transpose(W)), W ([out, in]).
struct MatMulWeight {
  Tensor weight;
  std::string onnx_name;
};
std::optional<MatMulWeight> MatMulWeightOf(const OnnxGraph& g, const onnx::NodeProto& mm) {
  if (mm.input_size() != 2 || !IsGraphValue(g, In(mm, 0))) return std::nullopt;
  const OnnxConstant* b = FloatConstant(g, In(mm, 1));
  if (b == nullptr || b->tensor.dim() != 2) return std::nullopt;
  const int p = g.Producer(In(mm, 1));
  if (p >= 0 && g.node(p).op_type() == "Transpose" && g.node(p).input_size() == 1) {
    const OnnxConstant* w = FloatConstant(g, In(g.node(p), 0));
    if (w != nullptr && w->tensor.dim() == 2) return MatMulWeight{w->tensor, In(g.node(p), 0)};
  }
  return MatMulWeight{Transpose2d(b->tensor), In(mm, 1)};
}

ImportOp LinearOp(const Subgraph& s, const std::string& x, MatMulWeight w,
                  std::optional<Tensor> bias, const std::string& bias_name) {
  const int64_t out = w.weight.shape()[0], in = w.weight.shape()[1];
  ImportOp op = MakeOp(
      s, OpKind::kLinear, x,
      LinearAttrs{.in_features = in, .out_features = out, .bias = bias.has_value()}.ToAttrs());
  op.tensors.push_back({"weight", std::move(w.weight), false, w.onnx_name});
  if (bias) op.tensors.push_back({"bias", *std::move(bias), false, bias_name});
  return op;
}

// The window of a 1-D or 2-D window op (`rank` spatial dims in the first `rank` entries):
// pads [begin..., end...] per side, auto_pad SAME_* resolved from the input's static shape
// (SAME_UPPER puts an odd total's extra pixel at the end, SAME_LOWER at the beginning). Pools
// also take 3-D windows.
struct Window {
  using Axes = std::array<int64_t, 3>;
  int rank = 2;
  Axes kernel{}, stride{1, 1, 1}, padding{}, padding_end{}, dilation{1, 1, 1};
  bool symmetric() const { return padding == padding_end; }
};
// The first two entries of a window field (2-D ops' attributes).
std::array<int64_t, 2> Pair(const Window::Axes& a) { return {a[0], a[1]}; }
absl::StatusOr<Window> ReadWindow(const OnnxGraph& g, const onnx::NodeProto& n,
                                  std::vector<int64_t> kernel, bool has_dilations,
                                  int max_rank = 2) {
  Window w;
  const int rank = static_cast<int>(kernel.size());
  if (rank < 1 || rank > max_rank) {
    return Unsupported(n, absl::StrCat("only ", max_rank == 3 ? "1-D to 3-D" : "1-D and 2-D",
                                       " windows are supported, kernel_shape is [",
                                       absl::StrJoin(kernel, ", "), "]"));
  }
  w.rank = rank;
  const std::vector<int64_t> ones(rank, 1);
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> strides, IntsAttr(n, "strides", ones));
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> dilations, IntsAttr(n, "dilations", ones));
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> pads,
                      IntsAttr(n, "pads", std::vector<int64_t>(2 * rank, 0)));
  SP_ASSIGN_OR_RETURN(std::string auto_pad, StringAttr(n, "auto_pad", "NOTSET"));
  if (static_cast<int>(strides.size()) != rank || static_cast<int>(dilations.size()) != rank ||
      static_cast<int>(pads.size()) != 2 * rank) {
    return InvalidNode(
        n, absl::StrCat("strides and dilations need ", rank, " values and pads ", 2 * rank));
  }
  if (!has_dilations && dilations != ones) {
    return Unsupported(n, "dilations are not supported");
  }
  for (int i = 0; i < rank; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1) {
      return InvalidNode(n, "kernel_shape, strides and dilations must be positive");
    }
  }
  if (auto_pad == "VALID") {
    std::fill(pads.begin(), pads.end(), 0);
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const Shape* in = g.ShapeOf(In(n, 0));
    if (in == nullptr || static_cast<int>(in->size()) != rank + 2 ||
        std::any_of(in->begin() + 2, in->end(), [](int64_t d) { return d < 0; })) {
      return Unsupported(n, absl::StrCat("auto_pad ", auto_pad, " needs the input's static shape"));
    }
    for (int i = 0; i < rank; ++i) {
      const int64_t size = (*in)[2 + i];
      const int64_t out = (size + strides[i] - 1) / strides[i];
      const int64_t total =
          std::max<int64_t>(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size);
      const int64_t small = total / 2, large = total - total / 2;
      pads[i] = auto_pad == "SAME_UPPER" ? small : large;
      pads[i + rank] = auto_pad == "SAME_UPPER" ? large : small;
    }
  } else if (auto_pad != "NOTSET") {
    return InvalidNode(n, absl::StrCat("unknown auto_pad '", auto_pad, "'"));
  }
  for (int i = 0; i < rank; ++i) {
    if (pads[i] < 0 || pads[i + rank] < 0) return InvalidNode(n, "negative pads");
  }
  for (int i = 0; i < rank; ++i) {
    w.kernel[i] = kernel[i];
    w.stride[i] = strides[i];
    w.padding[i] = pads[i];
    w.padding_end[i] = pads[i + rank];
    w.dilation[i] = dilations[i];
  }
  return w;
}

// Conv2d pads symmetrically (PyTorch's padding).
absl::Status RequireSymmetricPads(const onnx::NodeProto& n, const Window& w) {
  if (w.symmetric()) return absl::OkStatus();
  return Unsupported(
      n, absl::StrCat("asymmetric pads [", w.padding[0], ", ", w.padding[1], ", ", w.padding_end[0],
                      ", ", w.padding_end[1], "] cannot be expressed as PyTorch padding"));
}

// The target of Reshape(x, target) with 0 for "the same dim of x": a constant, or the
// Concat of constants and Unsqueeze(Gather(Shape(x), i)) at position i that PyTorch writes for
// x.view(x.size(0), -1) with a dynamic batch.
std::optional<std::vector<int64_t>> ReshapeTarget(const OnnxGraph& g, const std::string& target,
                                                  const std::string& x) {
  auto ints = [](const Tensor& t) -> std::optional<std::vector<int64_t>> {
    if (t.dtype() != DType::kInt64 || t.dim() > 1) return std::nullopt;
    auto v = t.values<int64_t>();
    return std::vector<int64_t>(v.begin(), v.end());
  };
  if (const OnnxConstant* c = g.Constant(target)) return ints(c->tensor);
  const int p = g.Producer(target);
  if (p < 0 || g.node(p).op_type() != "Concat") return std::nullopt;
  std::vector<int64_t> out;
  for (const std::string& piece : g.node(p).input()) {
    if (const OnnxConstant* c = g.Constant(piece)) {
      std::optional<std::vector<int64_t>> v = ints(c->tensor);
      if (!v) return std::nullopt;
      out.insert(out.end(), v->begin(), v->end());
      continue;
    }
    // Unsqueeze(Gather(Shape(x), i), [0]) at position i.
    const int u = g.Producer(piece);
    if (u < 0 || g.node(u).op_type() != "Unsqueeze" || g.node(u).input_size() < 1)
      return std::nullopt;
    const int gather = g.Producer(In(g.node(u), 0));
    if (gather < 0 || g.node(gather).op_type() != "Gather" || g.node(gather).input_size() != 2) {
      return std::nullopt;
    }
    const int shape = g.Producer(In(g.node(gather), 0));
    const OnnxConstant* index = g.Constant(In(g.node(gather), 1));
    if (shape < 0 || g.node(shape).op_type() != "Shape" || g.node(shape).input_size() != 1 ||
        In(g.node(shape), 0) != x || FindAttr(g.node(shape), "start") != nullptr ||
        index == nullptr || index->tensor.dtype() != DType::kInt64 || index->tensor.numel() != 1 ||
        index->tensor.data<int64_t>()[0] != static_cast<int64_t>(out.size())) {
      return std::nullopt;
    }
    out.push_back(0);
  }
  return out;
}

// The widths of a zero-filling Pad over all dims: its `pads` input (opset 11 on) or attribute
// (before), with no axes input; nullopt for another Pad.
std::optional<std::vector<int64_t>> ZeroPadWidths(const OnnxGraph& g, const onnx::NodeProto& pad) {
  absl::StatusOr<std::string> mode = StringAttr(pad, "mode", "constant");
  if (!mode.ok() || *mode != "constant" || pad.input_size() < 1) return std::nullopt;
  if (g.opset() < 11) {  // Pad-2: pads and value are attributes
    absl::StatusOr<std::vector<int64_t>> pads = IntsAttr(pad, "pads", {});
    absl::StatusOr<float> value = FloatAttr(pad, "value", 0.0f);
    if (!pads.ok() || !value.ok() || *value != 0.0f) return std::nullopt;
    return *pads;
  }
  const OnnxConstant* pads = pad.input_size() >= 2 ? g.Constant(In(pad, 1)) : nullptr;
  const bool zero_value =
      pad.input_size() < 3 || In(pad, 2).empty() || IsScalarConstant(g, In(pad, 2), 0.0);
  const bool no_axes = pad.input_size() < 4 || In(pad, 3).empty();
  if (pads == nullptr || pads->tensor.dtype() != DType::kInt64 || !zero_value || !no_axes) {
    return std::nullopt;
  }
  auto v = pads->tensor.values<int64_t>();
  return std::vector<int64_t>(v.begin(), v.end());
}

// ONNX's rule for pools: each pad below the window's extent, so every window holds an element.
absl::Status RequirePoolPadsBelowExtent(const onnx::NodeProto& n, const Window& w) {
  std::vector<int64_t> pads, extent;
  bool ok = true;
  for (int i = 0; i < w.rank; ++i) {
    extent.push_back(w.dilation[i] * (w.kernel[i] - 1) + 1);
    ok = ok && w.padding[i] < extent.back() && w.padding_end[i] < extent.back();
  }
  if (ok) return absl::OkStatus();
  for (int i = 0; i < w.rank; ++i) pads.push_back(w.padding[i]);
  for (int i = 0; i < w.rank; ++i) pads.push_back(w.padding_end[i]);
  return InvalidNode(
      n, absl::StrCat("pads [", absl::StrJoin(pads, ", "), "] must be below the window's extent [",
                      absl::StrJoin(extent, ", "), "]"));
}

// A pool's padding: PyTorch's symmetric `padding` when it is at most half the kernel (what
// nn.MaxPool2d accepts), else per-side `pads` (asymmetric, or up to the window's extent - 1).
bool FitsPyTorchPadding(const Window& w) {
  for (int i = 0; i < w.rank; ++i) {
    if (w.padding[i] > w.kernel[i] / 2) return false;
  }
  return w.symmetric();
}

// The pool op of window `win`: MaxPool1d / AvgPool1d for 1-D windows, else MaxPool2d /
// AvgPool2d, with PyTorch's padding where it fits and per-side pads otherwise.
AttrMap PoolAttrs(const Window& win, bool is_max, bool ceil_mode, bool count_include_pad) {
  const bool fits = FitsPyTorchPadding(win);
  if (win.rank == 1) {
    Pool1dAttrs a{.kernel_size = win.kernel[0],
                  .stride = win.stride[0],
                  .padding = fits ? win.padding[0] : 0,
                  .dilation = win.dilation[0],
                  .pads = fits ? std::array<int64_t, 2>{0, 0}
                               : std::array<int64_t, 2>{win.padding[0], win.padding_end[0]},
                  .ceil_mode = ceil_mode,
                  .count_include_pad = count_include_pad};
    return a.ToAttrs(is_max ? OpKind::kMaxPool1d : OpKind::kAvgPool1d);
  }
  if (win.rank == 3) {
    Pool3dAttrs a{.kernel_size = win.kernel,
                  .stride = win.stride,
                  .padding = fits ? win.padding : Window::Axes{0, 0, 0},
                  .dilation = win.dilation,
                  .ceil_mode = ceil_mode,
                  .count_include_pad = count_include_pad};
    if (!fits) {
      a.pads = {win.padding[0],     win.padding[1],     win.padding[2],
                win.padding_end[0], win.padding_end[1], win.padding_end[2]};
    }
    return a.ToAttrs(is_max ? OpKind::kMaxPool3d : OpKind::kAvgPool3d);
  }
  const PoolPads pads =
      fits ? PoolPads{0, 0, 0, 0}
           : PoolPads{win.padding[0], win.padding[1], win.padding_end[0], win.padding_end[1]};
  const std::array<int64_t, 2> padding = fits ? Pair(win.padding) : std::array<int64_t, 2>{0, 0};
  if (is_max) {
    return MaxPool2dAttrs{.kernel_size = Pair(win.kernel),
                          .stride = Pair(win.stride),
                          .padding = padding,
                          .pads = pads,
                          .dilation = Pair(win.dilation),
                          .ceil_mode = ceil_mode}
        .ToAttrs();
  }
  return AvgPool2dAttrs{.kernel_size = Pair(win.kernel),
                        .stride = Pair(win.stride),
                        .padding = padding,
                        .pads = pads,
                        .ceil_mode = ceil_mode,
                        .count_include_pad = count_include_pad}
      .ToAttrs();
}

OpKind PoolKind(const Window& win, bool is_max) {
  if (win.rank == 1) return is_max ? OpKind::kMaxPool1d : OpKind::kAvgPool1d;
  if (win.rank == 3) return is_max ? OpKind::kMaxPool3d : OpKind::kAvgPool3d;
  return is_max ? OpKind::kMaxPool2d : OpKind::kAvgPool2d;
}

absl::Status RequireGraphValue(const OnnxGraph& g, const onnx::NodeProto& n, int index) {
  if (index >= n.input_size() || In(n, index).empty()) {
    return InvalidNode(n, absl::StrCat("missing input ", index));
  }
  if (!IsGraphValue(g, In(n, index))) {
    return Unsupported(n, absl::StrCat("input '", In(n, index), "' is a constant"));
  }
  return absl::OkStatus();
}

// Reshape(x, target) as torch.reshape(x, shape): ONNX's 0 copies the input's dim (its size must
// be static there) unless allowzero, -1 stays -1.
MatchResult GeneralReshape(const Subgraph& s, const std::vector<int64_t>& target, bool allowzero,
                           const Shape* in) {
  const onnx::NodeProto& n = s.anchor();
  std::vector<int64_t> shape = target;
  int infer = 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowzero) {
      if (in == nullptr || i >= in->size() || (*in)[i] < 0) {
        return Unsupported(n, absl::StrCat("shape entry ", i,
                                           " is 0 (copy the input's dim), but that dim of the "
                                           "input is not static"));
      }
      shape[i] = (*in)[i];
    }
    if (shape[i] < -1) return InvalidNode(n, absl::StrCat("invalid target dimension ", shape[i]));
    infer += shape[i] == -1;
  }
  if (infer > 1) return InvalidNode(n, "the target shape has more than one -1");
  if (allowzero && infer == 1 && std::find(shape.begin(), shape.end(), 0) != shape.end()) {
    return InvalidNode(n, "allowzero=1 with both 0 and -1 in the target shape");
  }
  return MakeOp(s, OpKind::kReshape, In(n, 0), ReshapeAttrs{.shape = shape}.ToAttrs());
}

}  // namespace

MatchResult MatchGemm(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() < 2) return InvalidNode(n, "Gemm needs inputs A and B");
  SP_RETURN_IF_ERROR(RequireGraphValue(g, n, 0));
  SP_ASSIGN_OR_RETURN(int64_t trans_a, IntAttr(n, "transA", 0));
  SP_ASSIGN_OR_RETURN(int64_t trans_b, IntAttr(n, "transB", 0));
  SP_ASSIGN_OR_RETURN(float alpha, FloatAttr(n, "alpha", 1.0f));
  SP_ASSIGN_OR_RETURN(float beta, FloatAttr(n, "beta", 1.0f));
  SP_ASSIGN_OR_RETURN(const Tensor* b, RequireFloatConstant(g, n, 1, "weight B"));
  if (b->dim() != 2)
    return InvalidNode(n, absl::StrCat("B must be 2-D, got ", ShapeToString(b->shape())));
  // Linear's weight is [out, in] = alpha * B' transposed, where B' = transB ? B^T : B.
  MatMulWeight w{Scaled(trans_b ? *b : Transpose2d(*b), alpha), In(n, 1)};
  const int64_t out_features = w.weight.shape()[0];
  std::optional<Tensor> bias;
  std::string bias_name;
  const Tensor* matrix_bias = nullptr;  // C of shape [M, N] (or [M, 1]): added after the Linear
  if (n.input_size() >= 3 && !In(n, 2).empty()) {
    SP_ASSIGN_OR_RETURN(const Tensor* c, RequireFloatConstant(g, n, 2, "bias C"));
    bias = BiasVector(*c, out_features);
    if (bias) {
      bias = Scaled(*bias, beta);
      bias_name = In(n, 2);
    } else if (c->dim() == 2 && (c->shape()[1] == out_features || c->shape()[1] == 1)) {
      matrix_bias = c;
    } else {
      return InvalidNode(n, absl::StrCat("bias C of shape ", ShapeToString(c->shape()),
                                         " does not broadcast to [M, ", out_features, "]"));
    }
  }
  ImportOp op = LinearOp(s, In(n, 0), std::move(w), std::move(bias), bias_name);
  // transA=1: Linear(A.t()).
  if (trans_a != 0) op.first.push_back({OpKind::kTranspose, TransposeAttrs{}.ToAttrs(), ""});
  if (matrix_bias != nullptr) {
    // add(Linear(x), beta * C); a scaled C is a tensor of its own.
    const std::string name = beta == 1.0f ? In(n, 2) : absl::StrCat(In(n, 2), "_scaled");
    op.constants.push_back({name, Scaled(*matrix_bias, beta), true, name});
    op.then.push_back({OpKind::kAdd, {}, name});
  }
  return op;
}

MatchResult MatchMatMulAdd(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& add = s.anchor();
  const int mm_index = FindOperand(add, [&](const std::string& v) {
    const int p = g.Producer(v);
    return p >= 0 && !g.IsFolded(p) && g.node(p).op_type() == "MatMul";
  });
  if (mm_index < 0) return std::nullopt;
  const std::string& bias_name = In(add, 1 - mm_index);
  const OnnxConstant* bias_c = FloatConstant(g, bias_name);
  if (bias_c == nullptr) return std::nullopt;
  const onnx::NodeProto* mm = s.Take(In(add, mm_index), "MatMul");
  std::optional<MatMulWeight> w = MatMulWeightOf(g, *mm);
  if (!w || !s.Closed()) return std::nullopt;
  // The bias broadcasts along the last dim only: [out] (or [1, .., out] no longer than the
  // product, when its rank is known).
  const Shape* out_shape = g.ShapeOf(In(add, mm_index));
  if (bias_c->tensor.dim() > 1 &&
      (out_shape == nullptr || static_cast<int64_t>(out_shape->size()) < bias_c->tensor.dim())) {
    return std::nullopt;
  }
  std::optional<Tensor> bias = BiasVector(bias_c->tensor, w->weight.shape()[0]);
  if (!bias) return std::nullopt;
  return LinearOp(s, In(*mm, 0), *std::move(w), std::move(bias), bias_name);
}

MatchResult MatchMatMul(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() != 2) return InvalidNode(n, "MatMul needs inputs A and B");
  std::optional<MatMulWeight> w = MatMulWeightOf(g, n);
  if (w) return LinearOp(s, In(n, 0), *std::move(w), std::nullopt, "");
  // Any other MatMul is torch.matmul, a constant operand read with get_attr.
  ImportOp op = MakeOp(s, OpKind::kMatmul, In(n, 0));
  op.inputs.push_back(In(n, 1));
  for (int i = 0; i < 2; ++i) {
    if (In(n, i).empty()) return InvalidNode(n, absl::StrCat("missing input ", i));
    if (IsGraphValue(g, In(n, i)) || AddConstantOperand(g, In(n, i), op)) continue;
    return Unsupported(n, absl::StrCat("input '", In(n, i), "' is a constant but not float"));
  }
  return op;
}

MatchResult MatchConv(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() < 2) return InvalidNode(n, "Conv needs inputs X and W");
  SP_RETURN_IF_ERROR(RequireGraphValue(g, n, 0));
  SP_ASSIGN_OR_RETURN(const Tensor* w, RequireFloatConstant(g, n, 1, "weight W"));
  if (w->dim() != 4) {
    return Unsupported(
        n, absl::StrCat("only 2-D convolutions are supported; W is ", ShapeToString(w->shape())));
  }
  const std::vector<int64_t> kernel = {w->shape()[2], w->shape()[3]};
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> kernel_attr, IntsAttr(n, "kernel_shape", kernel));
  if (kernel_attr != kernel) {
    return InvalidNode(n, absl::StrCat("kernel_shape [", absl::StrJoin(kernel_attr, ", "),
                                       "] disagrees with W ", ShapeToString(w->shape())));
  }
  SP_ASSIGN_OR_RETURN(Window win, ReadWindow(g, n, kernel, /*has_dilations=*/true));
  SP_RETURN_IF_ERROR(RequireSymmetricPads(n, win));
  SP_ASSIGN_OR_RETURN(int64_t groups, IntAttr(n, "group", 1));
  const int64_t out_channels = w->shape()[0];
  if (groups < 1 || out_channels % groups != 0) {
    return InvalidNode(n, absl::StrCat("group ", groups, " does not divide the ", out_channels,
                                       " output channels"));
  }
  const bool has_bias = n.input_size() >= 3 && !In(n, 2).empty();
  Conv2dAttrs attrs{.in_channels = w->shape()[1] * groups,
                    .out_channels = out_channels,
                    .kernel_size = Pair(win.kernel),
                    .stride = Pair(win.stride),
                    .padding = Pair(win.padding),
                    .dilation = Pair(win.dilation),
                    .groups = groups,
                    .bias = has_bias};
  ImportOp op = MakeOp(s, OpKind::kConv2d, In(n, 0), attrs.ToAttrs());
  op.tensors.push_back({"weight", *w, false, In(n, 1)});
  if (has_bias) {
    SP_ASSIGN_OR_RETURN(const Tensor* b, RequireFloatConstant(g, n, 2, "bias B"));
    if (b->numel() != out_channels || b->dim() != 1) {
      return InvalidNode(n, absl::StrCat("bias ", ShapeToString(b->shape()), " does not match ",
                                         out_channels, " output channels"));
    }
    op.tensors.push_back({"bias", *b, false, In(n, 2)});
  }
  return op;
}

MatchResult MatchMaxPool(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  SP_RETURN_IF_ERROR(RequireGraphValue(g, n, 0));
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, IntsAttr(n, "kernel_shape", {}));
  SP_ASSIGN_OR_RETURN(Window win, ReadWindow(g, n, kernel, /*has_dilations=*/true, 3));
  SP_RETURN_IF_ERROR(RequirePoolPadsBelowExtent(n, win));
  SP_ASSIGN_OR_RETURN(int64_t ceil_mode, IntAttr(n, "ceil_mode", 0));
  AttrMap attrs = PoolAttrs(win, /*is_max=*/true, ceil_mode != 0, /*count_include_pad=*/false);
  if (!OutputUsed(g, n, 1)) return MakeOp(s, PoolKind(win, true), In(n, 0), std::move(attrs));
  // Indices: positions in the whole input tensor, as the pool computes them with flat_indices;
  // within a plane row-major (storage_order 0) or column-major (1).
  if (win.rank == 3) return Unsupported(n, "output 1 (Indices) of a 3-D MaxPool is not supported");
  SP_ASSIGN_OR_RETURN(int64_t storage_order, IntAttr(n, "storage_order", 0));
  if (storage_order != 0 && storage_order != 1) {
    return InvalidNode(n, absl::StrCat("storage_order must be 0 or 1, got ", storage_order));
  }
  attrs["return_indices"] = true;
  attrs["flat_indices"] = true;
  if (storage_order == 1) attrs["column_major_indices"] = true;
  ImportOp op = MakeOp(s, PoolKind(win, true), In(n, 0), std::move(attrs));
  op.outputs = {{Out(n, 0), {0}}, {Out(n, 1), {1}}};
  return op;
}

MatchResult MatchAveragePool(const OnnxGraph& g, int anchor) {
  const onnx::NodeProto& n = g.node(anchor);
  SP_RETURN_IF_ERROR(RequireGraphValue(g, n, 0));
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, IntsAttr(n, "kernel_shape", {}));
  SP_ASSIGN_OR_RETURN(Window win, ReadWindow(g, n, kernel, /*has_dilations=*/false, 3));
  SP_RETURN_IF_ERROR(RequirePoolPadsBelowExtent(n, win));
  SP_ASSIGN_OR_RETURN(int64_t ceil_mode, IntAttr(n, "ceil_mode", 0));
  SP_ASSIGN_OR_RETURN(int64_t count_include_pad, IntAttr(n, "count_include_pad", 0));
  // PyTorch writes AvgPool1d/2d(padding=p, count_include_pad=True) as a zero Pad of the
  // spatial dims followed by an unpadded AveragePool: the padded zeros are then real elements.
  Subgraph with_pad(g, anchor);
  const Window::Axes zero = {0, 0, 0};
  if (const onnx::NodeProto* pad = with_pad.Take(In(n, 0), "Pad");
      pad != nullptr && win.padding == zero && win.padding_end == zero) {
    // p: [N, C, spatial begins..., N, C, spatial ends...]
    std::optional<std::vector<int64_t>> p = ZeroPadWidths(g, *pad);
    const size_t r = static_cast<size_t>(win.rank) + 2;
    bool fits = p && p->size() == 2 * r && with_pad.Closed() && IsGraphValue(g, In(*pad, 0)) &&
                (*p)[0] == 0 && (*p)[1] == 0 && (*p)[r] == 0 && (*p)[r + 1] == 0;
    Window padded = win;
    for (int i = 0; fits && i < win.rank; ++i) {
      padded.padding[i] = (*p)[2 + i];
      padded.padding_end[i] = (*p)[r + 2 + i];
      fits = padded.padding[i] >= 0 && padded.padding_end[i] >= 0;
    }
    // Zero padding the pool counts: PyTorch's padding, or per-side pads.
    if (fits && RequirePoolPadsBelowExtent(n, padded).ok()) {
      return MakeOp(
          with_pad, PoolKind(win, false), In(*pad, 0),
          PoolAttrs(padded, /*is_max=*/false, ceil_mode != 0, /*count_include_pad=*/true));
    }
  }
  return MakeOp(Subgraph(g, anchor), PoolKind(win, false), In(n, 0),
                PoolAttrs(win, /*is_max=*/false, ceil_mode != 0, count_include_pad != 0));
}

MatchResult MatchGlobalPool(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  SP_RETURN_IF_ERROR(RequireGraphValue(g, n, 0));
  const Shape* in = g.ShapeOf(In(n, 0));
  if (in != nullptr && in->size() != 4) {
    return Unsupported(n, absl::StrCat("only 4-D inputs are supported, got ", ShapeToString(*in)));
  }
  const OpKind kind =
      n.op_type() == "GlobalMaxPool" ? OpKind::kAdaptiveMaxPool2d : OpKind::kAdaptiveAvgPool2d;
  return MakeOp(s, kind, In(n, 0), AdaptivePool2dAttrs{.output_size = {1, 1}}.ToAttrs());
}

MatchResult MatchFlatten(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  SP_RETURN_IF_ERROR(RequireGraphValue(g, n, 0));
  SP_ASSIGN_OR_RETURN(int64_t axis, IntAttr(n, "axis", 1));
  const Shape* in = g.ShapeOf(In(n, 0));
  const int64_t rank = in != nullptr ? static_cast<int64_t>(in->size()) : -1;
  if (axis < 0 && rank >= 0) axis += rank;
  // ONNX Flatten always gives 2-D [d0 * .. * d(axis-1), d(axis) * .. * d(rank-1)]: nn.Flatten
  // for axis 1, else torch.flatten of the dims after axis (when more than one), then of those
  // before it (when more than one).
  if (axis == 1) {
    return MakeOp(s, OpKind::kFlatten, In(n, 0),
                  FlattenAttrs{.start_dim = 1, .end_dim = -1}.ToAttrs());
  }
  // Axis 0 gives [1, N], axis rank [N, 1]: a new dim of size 1, torch.reshape.
  if (axis == 0 || (rank >= 0 && axis == rank)) {
    ImportOp op = MakeOp(
        s, OpKind::kReshape, In(n, 0),
        ReshapeAttrs{.shape = axis == 0 ? std::vector<int64_t>{1, -1} : std::vector<int64_t>{-1, 1}}
            .ToAttrs());
    return op;
  }
  if (rank < 0 || axis < 1 || axis >= rank) {
    return Unsupported(
        n, absl::StrCat("axis ", axis, rank >= 0 ? absl::StrCat(" of a ", rank, "-D input") : "",
                        " is not supported; supported: axis 0, 1, or 1 < axis <= rank with the "
                        "input's static rank"));
  }
  const FlattenAttrs inner{.start_dim = axis, .end_dim = -1};
  const FlattenAttrs outer{.start_dim = 0, .end_dim = axis - 1};
  ImportOp op =
      MakeOp(s, OpKind::kFlatten, In(n, 0), axis + 1 < rank ? inner.ToAttrs() : outer.ToAttrs());
  op.functional_only = true;  // torch.flatten, not nn.Flatten
  if (axis + 1 < rank) op.then.push_back({OpKind::kFlatten, outer.ToAttrs(), ""});
  return op;
}

MatchResult MatchReshape(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() != 2) return InvalidNode(n, "Reshape needs inputs data and shape");
  SP_RETURN_IF_ERROR(RequireGraphValue(g, n, 0));
  std::optional<std::vector<int64_t>> target = ReshapeTarget(g, In(n, 1), In(n, 0));
  if (!target) {
    return Unsupported(n, "the target shape must be a constant (or x.size(i) and constants)");
  }
  SP_ASSIGN_OR_RETURN(int64_t allowzero, IntAttr(n, "allowzero", 0));
  const Shape* in = g.ShapeOf(In(n, 0));
  // x.view(x.size(0), .., x.size(k - 1), -1) is torch.flatten(x, k) whatever the sizes.
  const int64_t k = static_cast<int64_t>(target->size()) - 1;
  if (in != nullptr && allowzero == 0 && k >= 0 && k < static_cast<int64_t>(in->size()) &&
      target->back() == -1 &&
      std::all_of(target->begin(), target->end() - 1, [](int64_t d) { return d == 0; })) {
    ImportOp op = MakeOp(s, OpKind::kFlatten, In(n, 0),
                         FlattenAttrs{.start_dim = k, .end_dim = -1}.ToAttrs());
    op.functional_only = true;
    if (k + 1 == static_cast<int64_t>(in->size())) op.alias = true;  // flattens one dim: no-op
    return op;
  }
  bool static_in = in != nullptr;
  for (int64_t d = 0; static_in && d < static_cast<int64_t>(in->size()); ++d) {
    static_in = (*in)[d] >= 0;
  }
  if (!static_in) return GeneralReshape(s, *target, allowzero != 0, in);
  // The output shape: 0 copies the input's dim (unless allowzero), -1 takes the rest.
  Shape out;
  int64_t known = 1, infer = -1;
  const std::vector<int64_t>& dims = *target;
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = dims[i];
    if (d == 0 && allowzero == 0) {
      if (i >= in->size()) return InvalidNode(n, "0 copies a dimension the input does not have");
      d = (*in)[i];
    }
    if (d == -1 && infer < 0) {
      infer = static_cast<int64_t>(i);
      out.push_back(1);
      continue;
    }
    if (d < 0 || d > (int64_t{1} << 40) || (d > 0 && known > (int64_t{1} << 40) / d)) {
      return InvalidNode(n, absl::StrCat("invalid target dimension ", d));
    }
    known *= d;
    out.push_back(d);
  }
  int64_t numel = 1;
  for (int64_t d : *in) {
    if (d > 0 && numel > (int64_t{1} << 40) / d) return Unsupported(n, "the input is too large");
    numel *= d;
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0) return InvalidNode(n, "cannot infer the -1 dimension");
    out[infer] = numel / known;
  }
  if (NumElements(out) != numel) {
    return InvalidNode(
        n, absl::StrCat("cannot reshape ", ShapeToString(*in), " to ", ShapeToString(out)));
  }
  if (out == *in) {
    ImportOp op = MakeOp(s, OpKind::kIdentity, In(n, 0));
    op.alias = true;
    return op;
  }
  // out = in[:start] + [prod(in[start:rank - tail])] + in[rank - tail:], a torch.flatten.
  const int64_t rank_in = static_cast<int64_t>(in->size()),
                rank_out = static_cast<int64_t>(out.size());
  if (rank_out < rank_in) {
    int64_t start = 0;
    while (start < rank_out - 1 && (*in)[start] == out[start]) ++start;
    for (int64_t tail = rank_out - start - 1; tail >= 0; --tail) {
      bool ok = true;
      for (int64_t j = 1; j <= tail; ++j) ok = ok && (*in)[rank_in - j] == out[rank_out - j];
      int64_t merged = 1;
      for (int64_t d = start; d < rank_in - tail; ++d) merged *= (*in)[d];
      if (ok && start + 1 + tail == rank_out && merged == out[start]) {
        ImportOp op = MakeOp(s, OpKind::kFlatten, In(n, 0),
                             FlattenAttrs{.start_dim = start, .end_dim = -(tail + 1)}.ToAttrs());
        op.functional_only = true;
        return op;
      }
    }
  }
  return GeneralReshape(s, *target, allowzero != 0, in);
}

MatchResult MatchTranspose(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  SP_RETURN_IF_ERROR(RequireGraphValue(g, n, 0));
  const Shape* in = g.ShapeOf(In(n, 0));
  std::vector<int64_t> reversed;
  if (in != nullptr) {
    for (int64_t d = static_cast<int64_t>(in->size()) - 1; d >= 0; --d) reversed.push_back(d);
  }
  if (FindAttr(n, "perm") == nullptr && in == nullptr) {
    return Unsupported(n, "the default perm (reversed dims) needs the input's static rank");
  }
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> perm, IntsAttr(n, "perm", reversed));
  const int64_t rank = static_cast<int64_t>(perm.size());
  if (in != nullptr && static_cast<int64_t>(in->size()) != rank) {
    return InvalidNode(n,
                       absl::StrCat("perm has ", rank, " entries for a ", in->size(), "-D input"));
  }
  // torch.transpose swaps two dims: perm must be the identity but at two positions.
  std::vector<int64_t> moved;
  for (int64_t d = 0; d < rank; ++d) {
    if (perm[d] < 0 || perm[d] >= rank) {
      return InvalidNode(n, absl::StrCat("perm [", absl::StrJoin(perm, ", "), "] is invalid"));
    }
    if (perm[d] != d) moved.push_back(d);
  }
  if (moved.empty()) {
    ImportOp op = MakeOp(s, OpKind::kIdentity, In(n, 0));
    op.alias = true;
    return op;
  }
  if (moved.size() != 2 || perm[moved[0]] != moved[1] || perm[moved[1]] != moved[0]) {
    return Unsupported(n, absl::StrCat("perm [", absl::StrJoin(perm, ", "),
                                       "] is not a swap of two dims (torch.transpose)"));
  }
  return MakeOp(s, OpKind::kTranspose, In(n, 0),
                TransposeAttrs{.dim0 = moved[0], .dim1 = moved[1]}.ToAttrs());
}

MatchResult MatchAdd(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() != 2) return InvalidNode(n, "Add needs two inputs");
  ImportOp op = MakeOp(s, OpKind::kAdd, In(n, 0));
  op.inputs.push_back(In(n, 1));
  // A constant operand (other than a Linear's bias) is read with get_attr.
  for (int i = 0; i < 2; ++i) {
    if (In(n, i).empty()) return InvalidNode(n, absl::StrCat("missing input ", i));
    if (IsGraphValue(g, In(n, i)) || AddConstantOperand(g, In(n, i), op)) continue;
    return Unsupported(n, absl::StrCat("Add with a constant operand ('", In(n, i),
                                       "') that is not float is not supported"));
  }
  if (op.constants.size() == 2) return Unsupported(n, "both operands are constants");
  // 8-bit integer operands (held in float32): the sum wraps like ONNX's integer Add.
  if (const int32_t type = g.EightBitType(Out(n, 0)); type != 0) {
    op.attrs["wrap_to"] = std::string(type == onnx::TensorProto::INT8 ? "int8" : "uint8");
  }
  return op;
}

MatchResult MatchConcat(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  if (n.input_size() < 1) return InvalidNode(n, "Concat needs inputs");
  const onnx::AttributeProto* axis = FindAttr(n, "axis");
  if (axis == nullptr) return InvalidNode(n, "attribute 'axis' is required");
  SP_ASSIGN_OR_RETURN(int64_t dim, IntAttr(n, "axis", 0));
  for (int i = 0; i < n.input_size(); ++i) SP_RETURN_IF_ERROR(RequireGraphValue(g, n, i));
  ImportOp op = MakeOp(s, OpKind::kCat, In(n, 0), {{"dim", dim}});
  op.inputs.assign(n.input().begin(), n.input().end());
  return op;
}

MatchResult MatchIdentity(const OnnxGraph& g, int anchor) {
  Subgraph s(g, anchor);
  const onnx::NodeProto& n = s.anchor();
  SP_RETURN_IF_ERROR(RequireGraphValue(g, n, 0));
  if (n.op_type() == "Dropout") {
    // Dropout-12 takes ratio and training_mode as inputs (before, ratio is an attribute and
    // an inference run is the identity). Training with ratio 0 is the identity too.
    bool training = false;
    if (n.input_size() >= 3 && !In(n, 2).empty()) {
      const OnnxConstant* t = g.Constant(In(n, 2));
      if (t == nullptr || t->tensor.dtype() != DType::kBool || t->tensor.numel() != 1) {
        return Unsupported(n, "training_mode must be a constant boolean");
      }
      training = t->tensor.data<bool>()[0];
    }
    const bool mask_used = OutputUsed(g, n, 1);
    if (mask_used && g.opset() < 10) {
      // Before opset 10 the mask is a float tensor.
      return Unsupported(n, absl::StrCat("output 1 ('", Out(n, 1),
                                         "'), the mask, is read only from opset 10 (bool)"));
    }
    // The ratio (an input from opset 12, an attribute before) matters in training and is kept
    // for export with the mask; an inference Dropout without its mask never reads it.
    float ratio = 0.5f;
    if (training || mask_used) {
      SP_ASSIGN_OR_RETURN(ratio, FloatAttr(n, "ratio", 0.5f));
      if (n.input_size() >= 2 && !In(n, 1).empty()) {
        std::optional<float> r = ScalarConstant(g, In(n, 1));
        if (!r) return Unsupported(n, "ratio must be a float scalar constant");
        ratio = *r;
      }
      training = training && ratio != 0.0f;
    }
    if (training || mask_used) {
      // Training: a random mask, numpy's stream when the node has a seed. Inference: the mask
      // keeps every element, dropout(x, return_mask=True) -> (x, all-true mask).
      if (training && (ratio < 0.0f || ratio >= 1.0f)) {
        return InvalidNode(n, absl::StrCat("ratio must lie in [0, 1), got ", ratio));
      }
      DropoutAttrs attrs{.p = ratio, .training = training, .return_mask = mask_used};
      if (training && FindAttr(n, "seed") != nullptr) {
        SP_ASSIGN_OR_RETURN(int64_t seed, IntAttr(n, "seed", 0));
        attrs.seed = seed;
      }
      ImportOp op = MakeOp(s, OpKind::kDropout, In(n, 0), attrs.ToAttrs());
      op.functional_only = true;
      if (mask_used) op.outputs = {{Out(n, 0), {0}}, {Out(n, 1), {1}}};
      return op;
    }
  }
  ImportOp op = MakeOp(s, OpKind::kIdentity, In(n, 0));
  op.alias = true;
  return op;
}

}  // namespace structprune::internal
