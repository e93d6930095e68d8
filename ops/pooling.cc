#include "ops/pooling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/status_macros.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::OpError;
using Pair = std::array<int64_t, 2>;

std::string PairToString(const Pair& p) { return absl::StrCat("[", p[0], ", ", p[1], "]"); }

// Floor division for b > 0 (PyTorch's div_rtn): the output-size numerator can be negative.
int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

using internal::PoolParams;

// stride: absent or [] (PyTorch's None) means kernel_size.
absl::StatusOr<Pair> ReadStride(const AttrMap& a, const Pair& kernel) {
  auto it = a.find("stride");
  if (it == a.end()) return kernel;
  if (const auto* v = std::get_if<std::vector<int64_t>>(&it->second); v != nullptr && v->empty()) {
    return kernel;
  }
  return GetPairAttr(a, "stride", kernel);
}

// A 1-D window attribute: an int or a list of one int.
absl::StatusOr<int64_t> ReadSingle(const AttrMap& a, absl::string_view name,
                                   int64_t default_value) {
  auto it = a.find(name);
  if (it == a.end()) return default_value;
  if (const auto* v = std::get_if<std::vector<int64_t>>(&it->second);
      v != nullptr && v->size() == 1) {
    return (*v)[0];
  }
  if (const auto* v = std::get_if<int64_t>(&it->second)) return *v;
  return absl::InvalidArgumentError(absl::StrCat("attribute '", name,
                                                 "' must be an int or a list of 1 int, got ",
                                                 AttrValueToString(it->second)));
}

// MaxPool1d / AvgPool1d as a 2-D window of height 1.
absl::Status ReadAttrs1d(const AttrMap& a, PoolParams& p) {
  SP_ASSIGN_OR_RETURN(int64_t kernel, ReadSingle(a, "kernel_size", 0));
  p.kernel = {1, kernel};
  auto stride = a.find("stride");
  const auto* list =
      stride == a.end() ? nullptr : std::get_if<std::vector<int64_t>>(&stride->second);
  if (stride == a.end() || (list != nullptr && list->empty())) {
    p.stride = p.kernel;
  } else {
    SP_ASSIGN_OR_RETURN(int64_t s, ReadSingle(a, "stride", 0));
    p.stride = {1, s};
  }
  SP_ASSIGN_OR_RETURN(int64_t padding, ReadSingle(a, "padding", 0));
  p.padding = p.padding_end = {0, padding};
  if (p.is_max) {
    SP_ASSIGN_OR_RETURN(int64_t dilation, ReadSingle(a, "dilation", 1));
    p.dilation = {1, dilation};
  }
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> pads, GetIntsAttr(a, "pads", {}));
  if (pads.empty()) return absl::OkStatus();
  if (pads.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("pads must be [left, right], got ", pads.size(), " values"));
  }
  if (padding != 0) return absl::InvalidArgumentError("give padding or pads, not both");
  p.has_pads = true;
  p.padding = {0, pads[0]};
  p.padding_end = {0, pads[1]};
  return absl::OkStatus();
}

// `pads` {top, left, bottom, right} of a 2-D pool, when given.
absl::Status ReadPads2d(const AttrMap& a, PoolParams& p) {
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> pads, GetIntsAttr(a, "pads", {}));
  if (pads.empty()) return absl::OkStatus();
  if (pads.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("pads must be [top, left, bottom, right], got ", pads.size(), " values"));
  }
  if (p.padding != Pair{0, 0}) return absl::InvalidArgumentError("give padding or pads, not both");
  p.has_pads = true;
  p.padding = {pads[0], pads[1]};
  p.padding_end = {pads[2], pads[3]};
  return absl::OkStatus();
}

bool Is1d(OpKind kind) { return kind == OpKind::kMaxPool1d || kind == OpKind::kAvgPool1d; }

// Reads attributes only; the messages name the attribute (Infer adds the node).
absl::StatusOr<PoolParams> ReadAttrs(OpKind kind, const AttrMap& a) {
  PoolParams p;
  p.is_max = kind == OpKind::kMaxPool2d || kind == OpKind::kAdaptiveMaxPool2d ||
             kind == OpKind::kMaxPool1d;
  p.is_adaptive = kind == OpKind::kAdaptiveAvgPool2d || kind == OpKind::kAdaptiveMaxPool2d;
  p.is_1d = Is1d(kind);
  if (p.is_max) {
    SP_ASSIGN_OR_RETURN(p.return_indices, GetBoolAttr(a, "return_indices", false));
    SP_ASSIGN_OR_RETURN(p.flat_indices, GetBoolAttr(a, "flat_indices", false));
    SP_ASSIGN_OR_RETURN(p.column_major_indices, GetBoolAttr(a, "column_major_indices", false));
    if (p.is_adaptive && p.return_indices) {
      return absl::UnimplementedError("return_indices=true is not supported by adaptive pooling");
    }
    if ((p.flat_indices || p.column_major_indices) && !p.return_indices) {
      return absl::InvalidArgumentError(
          absl::StrCat(p.flat_indices ? "flat_indices" : "column_major_indices",
                       "=true needs return_indices=true"));
    }
  }
  if (p.is_adaptive) {
    if (!a.contains("output_size")) return absl::InvalidArgumentError("output_size is required");
    SP_ASSIGN_OR_RETURN(p.output_size, GetPairAttr(a, "output_size", {0, 0}));
    return p;
  }
  if (!a.contains("kernel_size")) return absl::InvalidArgumentError("kernel_size is required");
  SP_ASSIGN_OR_RETURN(p.ceil_mode, GetBoolAttr(a, "ceil_mode", false));
  if (p.is_1d) {
    SP_RETURN_IF_ERROR(ReadAttrs1d(a, p));
  } else {
    SP_ASSIGN_OR_RETURN(p.kernel, GetPairAttr(a, "kernel_size", {0, 0}));
    SP_ASSIGN_OR_RETURN(p.stride, ReadStride(a, p.kernel));
    SP_ASSIGN_OR_RETURN(p.padding, GetPairAttr(a, "padding", {0, 0}));
    p.padding_end = p.padding;
    if (p.is_max) {
      SP_ASSIGN_OR_RETURN(p.dilation, GetPairAttr(a, "dilation", {1, 1}));
    }
    SP_RETURN_IF_ERROR(ReadPads2d(a, p));
  }
  if (!p.is_max) {
    SP_ASSIGN_OR_RETURN(p.count_include_pad, GetBoolAttr(a, "count_include_pad", true));
    SP_ASSIGN_OR_RETURN(p.divisor_override, GetIntAttr(a, "divisor_override", 0));
  }
  return p;
}

absl::StatusOr<PoolParams> ReadParams(const OpCall& call) {
  absl::StatusOr<PoolParams> p = ReadAttrs(call.kind, *call.attrs);
  if (!p.ok()) return internal::WithOpContext(call, p.status());
  return p;
}

using internal::PoolOutputSize;

absl::Status CheckWindow(const OpCall& call, const PoolParams& p) {
  // A 1-D pool's values are the width entries.
  auto str = [&](const Pair& v) { return p.is_1d ? absl::StrCat(v[1]) : PairToString(v); };
  if (p.kernel[0] <= 0 || p.kernel[1] <= 0) {
    return OpError(call, absl::StrCat("kernel_size must be positive, got ", str(p.kernel)));
  }
  if (p.stride[0] <= 0 || p.stride[1] <= 0) {
    return OpError(call, absl::StrCat("stride must be positive, got ", str(p.stride)));
  }
  if (p.dilation[0] <= 0 || p.dilation[1] <= 0) {
    return OpError(call, absl::StrCat("dilation must be positive, got ", str(p.dilation)));
  }
  if (p.has_pads) {
    // ONNX's rule: a pad below the window's extent, so that every window holds an element.
    const Pair extent = {p.dilation[0] * (p.kernel[0] - 1) + 1,
                         p.dilation[1] * (p.kernel[1] - 1) + 1};
    for (int d = 0; d < 2; ++d) {
      if (p.padding[d] < 0 || p.padding_end[d] < 0 || p.padding[d] >= extent[d] ||
          p.padding_end[d] >= extent[d]) {
        const std::string pads = p.is_1d
                                     ? absl::StrCat("[", p.padding[1], ", ", p.padding_end[1], "]")
                                     : absl::StrCat("[", p.padding[0], ", ", p.padding[1], ", ",
                                                    p.padding_end[0], ", ", p.padding_end[1], "]");
        return OpError(call, absl::StrCat("pads ", pads,
                                          " must be non-negative and below the window's extent ",
                                          str(extent)));
      }
    }
    return absl::OkStatus();
  }
  if (p.padding[0] < 0 || p.padding[1] < 0) {
    return OpError(call, absl::StrCat("padding must be non-negative, got ", str(p.padding)));
  }
  // PyTorch compares with the kernel size, not the dilated extent.
  if (p.padding[0] > p.kernel[0] / 2 || p.padding[1] > p.kernel[1] / 2) {
    return OpError(call, absl::StrCat("pad should be at most half of kernel size, but got padding ",
                                      str(p.padding), " and kernel_size ", str(p.kernel)));
  }
  return absl::OkStatus();
}

// Input [N, C, H, W] or [C, H, W]: C, H and W must be non-zero (N may be 0). 1-D: [N, C, L] or
// [C, L].
absl::Status CheckInput(const OpCall& call) {
  const Shape& in = call.inputs[0].shape;
  if (Is1d(call.kind)) {
    if ((in.size() != 2 && in.size() != 3) || in[in.size() - 2] == 0 || in.back() == 0) {
      return OpError(call,
                     absl::StrCat("input must be 2-D or 3-D [N, C, L] with non-zero C and L, got ",
                                  ShapeToString(in)));
    }
    return absl::OkStatus();
  }
  if (in.size() != 3 && in.size() != 4) {
    return OpError(call,
                   absl::StrCat("input must be 3-D or 4-D [N, C, H, W], got ", ShapeToString(in)));
  }
  for (size_t d = in.size() - 3; d < in.size(); ++d) {
    if (in[d] == 0) {
      return OpError(call,
                     absl::StrCat("input must have non-zero C, H and W, got ", ShapeToString(in)));
    }
  }
  return absl::OkStatus();
}

// A 1-D pool's input [*, L] seen as [*, 1, L]; 2-D inputs as they are.
Shape As2d(const PoolParams& p, const Shape& in) {
  if (!p.is_1d) return in;
  Shape s = in;
  s.insert(s.end() - 1, 1);
  return s;
}

// {OH, OW} of a 2-D view (As2d); the caller has checked the window and the input.
Pair OutputSize(const PoolParams& p, const Shape& in) {
  const int64_t IH = in[in.size() - 2], IW = in[in.size() - 1];
  if (p.is_adaptive) return p.output_size;
  return {PoolOutputSize(IH, p.kernel[0], p.padding[0], p.padding_end[0], p.stride[0],
                         p.dilation[0], p.ceil_mode),
          PoolOutputSize(IW, p.kernel[1], p.padding[1], p.padding_end[1], p.stride[1],
                         p.dilation[1], p.ceil_mode)};
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, 1));
  SP_ASSIGN_OR_RETURN(PoolParams p, ReadParams(call));
  if (p.is_adaptive) {
    if (p.output_size[0] < 0 || p.output_size[1] < 0) {
      return OpError(call, absl::StrCat("output_size must be non-negative, got ",
                                        PairToString(p.output_size)));
    }
  } else {
    SP_RETURN_IF_ERROR(CheckWindow(call, p));
  }
  SP_RETURN_IF_ERROR(CheckInput(call));
  const Shape& in = call.inputs[0].shape;
  const Pair out_hw = OutputSize(p, As2d(p, in));
  if (!p.is_adaptive && (out_hw[0] < 1 || out_hw[1] < 1)) {
    return OpError(
        call, absl::StrCat("output size ", p.is_1d ? absl::StrCat(out_hw[1]) : PairToString(out_hw),
                           " is too small for input ", ShapeToString(in)));
  }
  Shape out = in;
  if (!p.is_1d) out[out.size() - 2] = out_hw[0];
  out[out.size() - 1] = out_hw[1];
  if (p.return_indices)
    return ValueInfo::Tuple({ValueInfo::Of(out), ValueInfo::Of(out, DType::kInt64)});
  return ValueInfo::Of(out);
}

using Window = internal::PoolAxisWindow;
using internal::SlidingWindows;

// Adaptive: [floor(o * in / out), ceil((o + 1) * in / out)).
std::vector<Window> AdaptiveWindows(int64_t in, int64_t out) {
  std::vector<Window> windows(out);
  for (int64_t o = 0; o < out; ++o) {
    Window& w = windows[o];
    w.start = o * in / out;
    w.k_end = ((o + 1) * in + out - 1) / out - w.start;
    w.padded_extent = w.k_end;
  }
  return windows;
}

class Pool2dKernel : public Kernel {
 public:
  Pool2dKernel(const PoolParams& p, const Shape& in, const Pair& out_hw)
      : is_max_(p.is_max),
        return_indices_(p.return_indices),
        flat_indices_(p.flat_indices),
        column_major_(p.column_major_indices),
        count_include_pad_(p.count_include_pad),
        divisor_override_(p.divisor_override),
        DH_(p.dilation[0]),
        DW_(p.dilation[1]),
        IH_(in[in.size() - 2]),
        IW_(in[in.size() - 1]),
        OH_(out_hw[0]),
        OW_(out_hw[1]),
        planes_(NumElements(in) / (IH_ * IW_)) {
    if (p.is_adaptive) {
      rows_ = AdaptiveWindows(IH_, OH_);
      cols_ = AdaptiveWindows(IW_, OW_);
    } else {
      rows_ =
          SlidingWindows(IH_, OH_, p.kernel[0], p.stride[0], p.padding[0], p.padding_end[0], DH_);
      cols_ =
          SlidingWindows(IW_, OW_, p.kernel[1], p.stride[1], p.padding[1], p.padding_end[1], DW_);
    }
  }

  // src [planes, IH, IW], dst [planes, OH, OW], planes = N * C (IH = OH = 1 for 1-D); row-major.
  // With return_indices, output (dst, indices) and indices [planes, OH, OW] int64: the argmax's
  // position in its plane (ih * IW + iw, PyTorch's), or in the whole input with flat_indices
  // (plane * IH * IW + ih * IW + iw, ONNX's); column_major_indices counts iw * IH + ih instead
  // (ONNX's storage_order 1).
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const float* src = inputs[0]->tensor.data<float>();
    float* dst = (return_indices_ ? output.items[0].tensor : output.tensor).data<float>();
    int64_t* indices = return_indices_ ? output.items[1].tensor.data<int64_t>() : nullptr;
    for (int64_t plane = 0; plane < planes_; ++plane) {
      const float* s = src + plane * IH_ * IW_;
      float* d = dst + plane * OH_ * OW_;
      const int64_t base = flat_indices_ ? plane * IH_ * IW_ : 0;
      for (int64_t oh = 0; oh < OH_; ++oh) {
        const Window& r = rows_[oh];
        for (int64_t ow = 0; ow < OW_; ++ow) {
          if (!is_max_) {
            d[oh * OW_ + ow] = AverageOf(s, r, cols_[ow]);
            continue;
          }
          int64_t at = 0;
          d[oh * OW_ + ow] = MaxOf(s, r, cols_[ow], at);
          if (column_major_) at = at % IW_ * IH_ + at / IW_;
          if (indices != nullptr) indices[plane * OH_ * OW_ + oh * OW_ + ow] = base + at;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  // PyTorch's rule: NaN wins (once seen, nothing compares greater; a later NaN wins again); the
  // maximum's position in the plane goes to `at`.
  float MaxOf(const float* s, const Window& r, const Window& c, int64_t& at) const {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t kh = r.k_begin; kh < r.k_end; ++kh) {
      const int64_t row = (r.start + kh * DH_) * IW_ + c.start;
      for (int64_t kw = c.k_begin; kw < c.k_end; ++kw) {
        const float v = s[row + kw * DW_];
        if (v > m || std::isnan(v)) {
          m = v;
          at = row + kw * DW_;
        }
      }
    }
    return m;
  }

  // Dilation is 1 for average pooling.
  float AverageOf(const float* s, const Window& r, const Window& c) const {
    const int64_t count = (r.k_end - r.k_begin) * (c.k_end - c.k_begin);
    if (count == 0) return 0.0f;
    float sum = 0.0f;
    for (int64_t kh = r.k_begin; kh < r.k_end; ++kh) {
      const int64_t row = (r.start + kh) * IW_ + c.start;
      for (int64_t kw = c.k_begin; kw < c.k_end; ++kw) sum += s[row + kw];
    }
    int64_t divisor = count;
    if (divisor_override_ != 0) {
      divisor = divisor_override_;
    } else if (count_include_pad_) {
      divisor = r.padded_extent * c.padded_extent;
    }
    return sum / static_cast<float>(divisor);
  }

  bool is_max_, return_indices_, flat_indices_, column_major_, count_include_pad_;
  int64_t divisor_override_;
  int64_t DH_, DW_, IH_, IW_, OH_, OW_, planes_;
  std::vector<Window> rows_, cols_;  // one per output row / column
};

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(PoolParams p, ReadParams(call));
  const Shape in = As2d(p, call.inputs[0].shape);
  return std::make_unique<Pool2dKernel>(p, in, OutputSize(p, in));
}

std::vector<int64_t> ToList(const Pair& p) { return {p[0], p[1]}; }

}  // namespace

AttrMap MaxPool2dAttrs::ToAttrs() const {
  AttrMap a = {{"kernel_size", ToList(kernel_size)},
               {"padding", ToList(padding)},
               {"dilation", ToList(dilation)},
               {"ceil_mode", ceil_mode}};
  if (stride != Pair{0, 0}) a["stride"] = ToList(stride);
  if (pads != PoolPads{0, 0, 0, 0}) a["pads"] = std::vector<int64_t>(pads.begin(), pads.end());
  if (return_indices) a["return_indices"] = true;
  if (flat_indices) a["flat_indices"] = true;
  if (column_major_indices) a["column_major_indices"] = true;
  return a;
}

AttrMap AvgPool2dAttrs::ToAttrs() const {
  AttrMap a = {{"kernel_size", ToList(kernel_size)},
               {"padding", ToList(padding)},
               {"ceil_mode", ceil_mode},
               {"count_include_pad", count_include_pad}};
  if (stride != Pair{0, 0}) a["stride"] = ToList(stride);
  if (pads != PoolPads{0, 0, 0, 0}) a["pads"] = std::vector<int64_t>(pads.begin(), pads.end());
  if (divisor_override != 0) a["divisor_override"] = divisor_override;
  return a;
}

AttrMap Pool1dAttrs::ToAttrs(OpKind kind) const {
  AttrMap a = {{"kernel_size", kernel_size}, {"padding", padding}, {"ceil_mode", ceil_mode}};
  if (stride != 0) a["stride"] = stride;
  if (pads != Pair{0, 0}) a["pads"] = ToList(pads);
  if (kind == OpKind::kMaxPool1d) {
    a["dilation"] = dilation;
    if (return_indices) a["return_indices"] = true;
    if (flat_indices) a["flat_indices"] = true;
    if (column_major_indices) a["column_major_indices"] = true;
  } else {
    a["count_include_pad"] = count_include_pad;
  }
  return a;
}

AttrMap AdaptivePool2dAttrs::ToAttrs() const { return {{"output_size", ToList(output_size)}}; }

const OpDef kMaxPool2dOp = {&Infer, &Create, nullptr};
const OpDef kAvgPool2dOp = {&Infer, &Create, nullptr};
const OpDef kMaxPool1dOp = {&Infer, &Create, nullptr};
const OpDef kAvgPool1dOp = {&Infer, &Create, nullptr};
const OpDef kAdaptiveAvgPool2dOp = {&Infer, &Create, nullptr};
const OpDef kAdaptiveMaxPool2dOp = {&Infer, &Create, nullptr};

namespace internal {
// PyTorch's pooling_output_shape (with the two pads apart): floor (or ceil) of the window
// count, and with ceil_mode the last window must start inside the input or its left padding.
int64_t PoolOutputSize(int64_t in, int64_t kernel, int64_t pad_begin, int64_t pad_end,
                       int64_t stride, int64_t dilation, bool ceil_mode) {
  const int64_t span =
      in + pad_begin + pad_end - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = FloorDiv(span, stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return out;
}

std::vector<PoolAxisWindow> SlidingWindows(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                           int64_t pad_begin, int64_t pad_end, int64_t dilation) {
  std::vector<PoolAxisWindow> windows(out);
  for (int64_t o = 0; o < out; ++o) {
    PoolAxisWindow& w = windows[o];
    w.start = o * stride - pad_begin;
    w.k_begin = w.start < 0 ? (-w.start + dilation - 1) / dilation : 0;
    w.k_end = std::min(kernel, FloorDiv(in - 1 - w.start, dilation) + 1);
    w.k_end = std::max(w.k_end, w.k_begin);
    w.padded_extent = std::min(w.start + kernel, in + pad_end) - w.start;
  }
  return windows;
}

absl::StatusOr<PoolParams> ReadPoolParams(OpKind kind, const AttrMap& attrs) {
  return ReadAttrs(kind, attrs);
}

bool AvgPoolVariesOnConstant(const PoolParams& p) {
  const bool padded = p.padding != Pair{0, 0} || p.padding_end != Pair{0, 0};
  return (p.count_include_pad && (padded || p.ceil_mode)) || p.divisor_override != 0;
}
}  // namespace internal

}  // namespace structprune
