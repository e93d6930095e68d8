// Static shapes of ONNX values for the ops the importer reads and the ops exporters put around
// them. Our own, not onnx::shape_inference: that one divides by hostile attributes (a zero
// stride) and crashes. Anything unexpected gives "unknown", never an error: the matchers treat
// unknown shapes conservatively and the interpreter validates the imported model.
#include <algorithm>
#include <limits>

#include "graph/onnx/onnx_graph.h"

namespace structprune::internal {
namespace {

using Shapes = std::vector<std::optional<Shape>>;
constexpr int64_t kMaxDim = int64_t{1} << 40;     // larger dims are treated as unknown
constexpr int64_t kMaxWindow = int64_t{1} << 20;  // kernel, stride, dilation, pads

// a * b for a, b >= 0, saturating at kMaxDim.
int64_t SatMul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kMaxDim / b ? kMaxDim : std::min(a * b, kMaxDim);
}

std::optional<Shape> Broadcast(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else if (da < 0 || db < 0) {
      out[i] = std::max(da, db);  // the known one (an unknown dim must match it or be 1)
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::vector<int64_t>> Ints(const Tensor* t) {
  if (t == nullptr || t->dtype() != DType::kInt64 || t->dim() > 1) return std::nullopt;
  auto v = t->values<int64_t>();
  return std::vector<int64_t>(v.begin(), v.end());
}

std::vector<int64_t> IntsOr(const onnx::NodeProto& n, const char* name, std::vector<int64_t> dflt) {
  absl::StatusOr<std::vector<int64_t>> v = IntsAttr(n, name, std::move(dflt));
  return v.ok() ? *v : std::vector<int64_t>{};
}

int64_t IntOr(const onnx::NodeProto& n, const char* name, int64_t dflt) {
  absl::StatusOr<int64_t> v = IntAttr(n, name, dflt);
  return v.ok() ? *v : std::numeric_limits<int64_t>::min();
}

// Output size of a window op along one dim (-1 when the input size is unknown).
int64_t WindowOut(int64_t in, int64_t kernel, int64_t stride, int64_t pad_total, int64_t dilation,
                  bool ceil_mode) {
  if (in < 0) return -1;
  const int64_t span = in + pad_total - ((kernel - 1) * dilation + 1);
  if (span < 0) return -2;  // invalid
  const int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // ONNX drops a last window that starts in the end padding.
  if (ceil_mode && (out - 1) * stride >= in + pad_total / 2) return out - 1;
  return out;
}

// Output shape of a window op with 1 to 3 spatial dims ([N, C, L] to [N, C, D, H, W] input);
// kernel_shape defaults to `kernel` (Conv: W's spatial dims).
std::optional<Shape> WindowShape(const onnx::NodeProto& n, const Shape& x, int64_t out_channels,
                                 const std::vector<int64_t>& kernel_default = {}) {
  if (x.size() < 3 || x.size() > 5) return std::nullopt;
  const size_t rank = x.size() - 2;
  const std::vector<int64_t> ones(rank, 1);
  std::vector<int64_t> kernel = IntsOr(n, "kernel_shape", kernel_default);
  const std::vector<int64_t> strides = IntsOr(n, "strides", ones);
  const std::vector<int64_t> dilations = IntsOr(n, "dilations", ones);
  std::vector<int64_t> pads = IntsOr(n, "pads", std::vector<int64_t>(2 * rank, 0));
  const int64_t ceil_mode = IntOr(n, "ceil_mode", 0);
  absl::StatusOr<std::string> auto_pad = StringAttr(n, "auto_pad", "NOTSET");
  if (kernel.size() != rank || strides.size() != rank || dilations.size() != rank ||
      pads.size() != 2 * rank || !auto_pad.ok() ||
      (*auto_pad != "NOTSET" && *auto_pad != "VALID" && *auto_pad != "SAME_UPPER" &&
       *auto_pad != "SAME_LOWER")) {
    return std::nullopt;
  }
  const bool same = *auto_pad == "SAME_UPPER" || *auto_pad == "SAME_LOWER";
  if (*auto_pad != "NOTSET") std::fill(pads.begin(), pads.end(), 0);
  Shape out = x;
  out[1] = out_channels;
  for (size_t i = 0; i < rank; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || pads[i] < 0 || pads[i + rank] < 0 ||
        kernel[i] > kMaxWindow || strides[i] > kMaxWindow || dilations[i] > kMaxWindow ||
        pads[i] > kMaxWindow || pads[i + rank] > kMaxWindow) {
      return std::nullopt;
    }
    if (same) {  // SAME_*: ceil(in / stride) windows
      out[2 + i] = x[2 + i] < 0 ? -1 : (x[2 + i] + strides[i] - 1) / strides[i];
      continue;
    }
    out[2 + i] = WindowOut(x[2 + i], kernel[i], strides[i], pads[i] + pads[i + rank], dilations[i],
                           ceil_mode == 1);
    if (out[2 + i] < -1) return std::nullopt;
  }
  return out;
}

bool IsElementwiseUnary(const std::string& op) {
  static const char* kOps[] = {
      "Relu",      "Sigmoid",  "Tanh",     "LeakyRelu", "Elu",  "Celu",   "Selu", "HardSigmoid",
      "HardSwish", "Softplus", "Softsign", "Erf",       "Abs",  "Neg",    "Log",  "Exp",
      "Sqrt",      "Cast",     "Identity", "Dropout",   "Clip", "Shrink", "Not",  "Reciprocal"};
  return std::find(std::begin(kOps), std::end(kOps), op) != std::end(kOps);
}

bool IsElementwiseBinary(const std::string& op) {
  static const char* kOps[] = {"Add",     "Sub",  "Mul",   "Div", "Pow", "PRelu",
                               "Greater", "Less", "Equal", "Or",  "And"};
  return std::find(std::begin(kOps), std::end(kOps), op) != std::end(kOps);
}

std::optional<int64_t> Axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

}  // namespace

std::vector<std::optional<Shape>> InferNodeShapes(const onnx::NodeProto& n,
                                                  absl::Span<const Shape* const> in,
                                                  absl::Span<const Tensor* const> constants) {
  Shapes out(n.output_size());
  auto shape = [&](int i) -> const Shape* {
    return i < static_cast<int>(in.size()) ? in[i] : nullptr;
  };
  auto constant = [&](int i) -> const Tensor* {
    return i < static_cast<int>(constants.size()) ? constants[i] : nullptr;
  };
  const std::string& op = n.op_type();
  const Shape* x = shape(0);
  if (out.empty()) return out;
  if (IsElementwiseUnary(op)) {
    if (x) out[0] = *x;
    return out;
  }
  if (IsElementwiseBinary(op)) {
    if (x && shape(1)) out[0] = Broadcast(*x, *shape(1));
    return out;
  }
  if (op == "Where") {
    if (shape(0) && shape(1) && shape(2)) {
      std::optional<Shape> ab = Broadcast(*shape(0), *shape(1));
      if (ab) out[0] = Broadcast(*ab, *shape(2));
    }
    return out;
  }
  if (x == nullptr && op != "Concat") return out;
  const int64_t rank = x ? static_cast<int64_t>(x->size()) : 0;
  if (op == "Conv") {
    const Shape* w = shape(1);
    if (w && w->size() == 4) out[0] = WindowShape(n, *x, (*w)[0], {(*w)[2], (*w)[3]});
  } else if (op == "MaxPool" || op == "AveragePool") {
    if (rank >= 3 && rank <= 5) out[0] = WindowShape(n, *x, (*x)[1]);
  } else if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
    if (rank >= 3) {
      Shape s = *x;
      std::fill(s.begin() + 2, s.end(), 1);
      out[0] = s;
    }
  } else if (op == "Pad") {
    std::optional<std::vector<int64_t>> pads = Ints(constant(1));
    if (pads && static_cast<int64_t>(pads->size()) == 2 * rank) {
      Shape s = *x;
      for (int64_t d = 0; d < rank; ++d) {
        if (std::abs((*pads)[d]) > kMaxWindow || std::abs((*pads)[d + rank]) > kMaxWindow)
          return out;
        if (s[d] >= 0) s[d] += (*pads)[d] + (*pads)[d + rank];
        if (s[d] < -1) return out;
        if (s[d] < -1 || std::abs((*pads)[d]) > kMaxDim || std::abs((*pads)[d + rank]) > kMaxDim) {
          return out;
        }
      }
      out[0] = s;
    }
  } else if (op == "Gemm") {
    const Shape* b = shape(1);
    if (rank == 2 && b && b->size() == 2) {
      const int64_t trans_a = IntOr(n, "transA", 0), trans_b = IntOr(n, "transB", 0);
      out[0] = Shape{(*x)[trans_a ? 1 : 0], (*b)[trans_b ? 0 : 1]};
    }
  } else if (op == "MatMul") {
    const Shape* b = shape(1);
    if (b && b->size() == 2 && rank >= 1) {
      Shape s = *x;
      if (rank == 1) {
        s = {(*b)[1]};
      } else {
        s.back() = (*b)[1];
      }
      out[0] = s;
    }
  } else if (op == "Flatten") {
    std::optional<int64_t> axis = Axis(IntOr(n, "axis", 1), rank + 1);
    if (axis) {
      int64_t a = 1, b = 1;
      for (int64_t d = 0; d < rank; ++d) {
        int64_t& part = d < *axis ? a : b;
        part = (*x)[d] < 0 || part < 0 ? -1 : SatMul(part, (*x)[d]);
      }
      out[0] = Shape{a, b};
    }
  } else if (op == "Reshape") {
    std::optional<std::vector<int64_t>> target = Ints(constant(1));
    if (!target) return out;
    Shape s;
    int64_t known = 1, infer = -1;
    bool all_known = true;
    for (size_t i = 0; i < target->size(); ++i) {
      int64_t d = (*target)[i];
      if (d == 0 && IntOr(n, "allowzero", 0) == 0)
        d = static_cast<int64_t>(i) < rank ? (*x)[i] : -2;
      if (d == -1 && infer < 0) {
        infer = static_cast<int64_t>(i);
      } else if (d < -1 || d > kMaxDim) {
        return out;
      } else if (d == -1) {
        all_known = false;  // a second -1, or an unknown copied dim
      } else {
        known = SatMul(known, d);
      }
      s.push_back(d);
    }
    if (infer >= 0) {
      int64_t total = 1;
      for (int64_t d : *x) total = SatMul(total, std::max<int64_t>(d, 0));
      bool x_known = std::all_of(x->begin(), x->end(), [](int64_t d) { return d >= 0; });
      s[infer] = x_known && all_known && known > 0 && total % known == 0 ? total / known : -1;
    }
    out[0] = s;
  } else if (op == "Transpose") {
    std::vector<int64_t> perm = IntsOr(n, "perm", {});
    if (perm.empty()) {
      for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
    }
    if (static_cast<int64_t>(perm.size()) != rank) return out;
    Shape s;
    for (int64_t p : perm) {
      if (p < 0 || p >= rank) return out;
      s.push_back((*x)[p]);
    }
    out[0] = s;
  } else if (op == "Squeeze" || op == "Unsqueeze") {
    std::optional<std::vector<int64_t>> axes =
        n.input_size() > 1 ? Ints(constant(1)) : std::optional(IntsOr(n, "axes", {}));
    if (!axes) return out;
    if (op == "Squeeze") {
      Shape s;
      std::vector<bool> drop(rank, axes->empty());
      for (int64_t a : *axes) {
        std::optional<int64_t> ax = Axis(a, rank);
        if (!ax) return out;
        drop[*ax] = true;
      }
      for (int64_t d = 0; d < rank; ++d) {
        if (!(drop[d] && (!axes->empty() || (*x)[d] == 1))) s.push_back((*x)[d]);
      }
      out[0] = s;
    } else {
      const int64_t out_rank = rank + static_cast<int64_t>(axes->size());
      std::vector<bool> is_new(out_rank, false);
      for (int64_t a : *axes) {
        std::optional<int64_t> ax = Axis(a, out_rank);
        if (!ax) return out;
        is_new[*ax] = true;
      }
      Shape s;
      int64_t k = 0;
      for (int64_t d = 0; d < out_rank; ++d) s.push_back(is_new[d] ? 1 : k < rank ? (*x)[k++] : -1);
      out[0] = s;
    }
  } else if (op == "Concat") {
    Shape s;
    for (int i = 0; i < n.input_size(); ++i) {
      if (shape(i) == nullptr) return out;
      if (i == 0) {
        s = *shape(0);
        continue;
      }
      std::optional<int64_t> axis = Axis(IntOr(n, "axis", 0), static_cast<int64_t>(s.size()));
      if (!axis || shape(i)->size() != s.size()) return out;
      const int64_t d = (*shape(i))[*axis];
      s[*axis] = s[*axis] < 0 || d < 0 ? -1 : std::min(s[*axis] + d, kMaxDim);
    }
    if (n.input_size() > 0) out[0] = s;
  } else if (op == "BatchNormalization" || op == "LayerNormalization") {
    out[0] = *x;
  } else if (op == "ReduceMean") {
    std::vector<int64_t> axes = IntsOr(n, "axes", {});
    const bool keep = IntOr(n, "keepdims", 1) == 1;
    std::vector<bool> reduce(rank, axes.empty());
    for (int64_t a : axes) {
      std::optional<int64_t> ax = Axis(a, rank);
      if (!ax) return out;
      reduce[*ax] = true;
    }
    Shape s;
    for (int64_t d = 0; d < rank; ++d) {
      if (!reduce[d]) {
        s.push_back((*x)[d]);
      } else if (keep) {
        s.push_back(1);
      }
    }
    out[0] = s;
  } else if (op == "LSTM") {
    const int64_t hidden = IntOr(n, "hidden_size", -1);
    if (rank == 3 && hidden > 0 && hidden <= kMaxDim && IntOr(n, "layout", 0) == 0) {
      out[0] = Shape{(*x)[0], 1, (*x)[1], hidden};
      if (out.size() > 1) out[1] = Shape{1, (*x)[1], hidden};
      if (out.size() > 2) out[2] = Shape{1, (*x)[1], hidden};
    }
  } else if (op == "Expand") {
    std::optional<std::vector<int64_t>> target = Ints(constant(1));
    if (target) {
      for (int64_t d : *target) {
        if (d < 0 || d > kMaxDim) return out;
      }
      out[0] = Broadcast(*x, Shape(target->begin(), target->end()));
    }
  } else if (op == "Shape") {
    out[0] = Shape{rank};
  }
  return out;
}

}  // namespace structprune::internal
