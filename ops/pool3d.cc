#include "ops/pool3d.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "ops/op_util.h"
#include "ops/pooling.h"

namespace structprune {
namespace {

using internal::OpError;
using internal::Pool3dParams;
using internal::PoolAxisWindow;
using Triple = std::array<int64_t, 3>;

std::string TripleToString(const Triple& t) {
  return absl::StrCat("[", absl::StrJoin(t, ", "), "]");
}

// An int (every axis) or a list of 3 ints; absent: `default_value`.
absl::StatusOr<Triple> ReadTriple(const AttrMap& a, absl::string_view name,
                                  const Triple& default_value) {
  auto it = a.find(name);
  if (it == a.end()) return default_value;
  if (const auto* v = std::get_if<int64_t>(&it->second)) return Triple{*v, *v, *v};
  if (const auto* v = std::get_if<std::vector<int64_t>>(&it->second);
      v != nullptr && v->size() == 3) {
    return Triple{(*v)[0], (*v)[1], (*v)[2]};
  }
  return absl::InvalidArgumentError(absl::StrCat("attribute '", name,
                                                 "' must be an int or a list of 3 ints, got ",
                                                 AttrValueToString(it->second)));
}

absl::StatusOr<Pool3dParams> ReadAttrs(OpKind kind, const AttrMap& a) {
  Pool3dParams p;
  p.is_max = kind == OpKind::kMaxPool3d;
  if (!a.contains("kernel_size")) return absl::InvalidArgumentError("kernel_size is required");
  SP_ASSIGN_OR_RETURN(p.kernel, ReadTriple(a, "kernel_size", {}));
  // stride: absent or [] (PyTorch's None) means kernel_size.
  p.stride = p.kernel;
  auto stride = a.find("stride");
  const auto* list =
      stride == a.end() ? nullptr : std::get_if<std::vector<int64_t>>(&stride->second);
  if (stride != a.end() && !(list != nullptr && list->empty())) {
    SP_ASSIGN_OR_RETURN(p.stride, ReadTriple(a, "stride", {}));
  }
  SP_ASSIGN_OR_RETURN(p.padding, ReadTriple(a, "padding", {0, 0, 0}));
  p.padding_end = p.padding;
  SP_ASSIGN_OR_RETURN(p.ceil_mode, GetBoolAttr(a, "ceil_mode", false));
  if (p.is_max) {
    SP_ASSIGN_OR_RETURN(p.dilation, ReadTriple(a, "dilation", {1, 1, 1}));
    SP_ASSIGN_OR_RETURN(bool return_indices, GetBoolAttr(a, "return_indices", false));
    if (return_indices) return absl::UnimplementedError("return_indices=true is not supported");
  } else {
    SP_ASSIGN_OR_RETURN(p.count_include_pad, GetBoolAttr(a, "count_include_pad", true));
    SP_ASSIGN_OR_RETURN(p.divisor_override, GetIntAttr(a, "divisor_override", 0));
  }
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> pads, GetIntsAttr(a, "pads", {}));
  if (pads.empty()) return p;
  if (pads.size() != 6) {
    return absl::InvalidArgumentError(
        absl::StrCat("pads must be [d, h, w begins, d, h, w ends], got ", pads.size(), " values"));
  }
  if (p.padding != Triple{0, 0, 0})
    return absl::InvalidArgumentError("give padding or pads, not both");
  p.has_pads = true;
  p.padding = {pads[0], pads[1], pads[2]};
  p.padding_end = {pads[3], pads[4], pads[5]};
  return p;
}

absl::StatusOr<Pool3dParams> ReadParams(const OpCall& call) {
  absl::StatusOr<Pool3dParams> p = ReadAttrs(call.kind, *call.attrs);
  if (!p.ok()) return internal::WithOpContext(call, p.status());
  return p;
}

absl::Status CheckWindow(const OpCall& call, const Pool3dParams& p) {
  for (int d = 0; d < 3; ++d) {
    if (p.kernel[d] <= 0)
      return OpError(call, "kernel_size must be positive, got " + TripleToString(p.kernel));
    if (p.stride[d] <= 0)
      return OpError(call, "stride must be positive, got " + TripleToString(p.stride));
    if (p.dilation[d] <= 0)
      return OpError(call, "dilation must be positive, got " + TripleToString(p.dilation));
  }
  for (int d = 0; d < 3; ++d) {
    if (p.has_pads) {
      const int64_t extent = p.dilation[d] * (p.kernel[d] - 1) + 1;
      if (p.padding[d] < 0 || p.padding_end[d] < 0 || p.padding[d] >= extent ||
          p.padding_end[d] >= extent) {
        return OpError(call, absl::StrCat("pads ", TripleToString(p.padding), " + ",
                                          TripleToString(p.padding_end),
                                          " must be non-negative and below the window's extent"));
      }
    } else if (p.padding[d] < 0 || p.padding[d] > p.kernel[d] / 2) {
      return OpError(
          call, absl::StrCat(
                    "pad should be non-negative and at most half of kernel size, but got padding ",
                    TripleToString(p.padding), " and kernel_size ", TripleToString(p.kernel)));
    }
  }
  return absl::OkStatus();
}

// {OD, OH, OW}; the caller has checked the window and the input.
Triple OutputSize(const Pool3dParams& p, const Shape& in) {
  Triple out;
  for (int d = 0; d < 3; ++d) {
    out[d] = internal::PoolOutputSize(in[in.size() - 3 + d], p.kernel[d], p.padding[d],
                                      p.padding_end[d], p.stride[d], p.dilation[d], p.ceil_mode);
  }
  return out;
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, 1));
  SP_ASSIGN_OR_RETURN(Pool3dParams p, ReadParams(call));
  SP_RETURN_IF_ERROR(CheckWindow(call, p));
  const Shape& in = call.inputs[0].shape;
  if ((in.size() != 4 && in.size() != 5) ||
      std::any_of(in.end() - 4, in.end(), [](int64_t d) { return d == 0; })) {
    return OpError(
        call,
        absl::StrCat("input must be 4-D or 5-D [N, C, D, H, W] with non-zero C, D, H and W, got ",
                     ShapeToString(in)));
  }
  const Triple out_dhw = OutputSize(p, in);
  if (out_dhw[0] < 1 || out_dhw[1] < 1 || out_dhw[2] < 1) {
    return OpError(call, absl::StrCat("output size ", TripleToString(out_dhw),
                                      " is too small for input ", ShapeToString(in)));
  }
  Shape out = in;
  for (int d = 0; d < 3; ++d) out[out.size() - 3 + d] = out_dhw[d];
  return ValueInfo::Of(out);
}

class Pool3dKernel : public Kernel {
 public:
  Pool3dKernel(const Pool3dParams& p, const Shape& in, const Triple& out)
      : p_(p),
        in_{in[in.size() - 3], in[in.size() - 2], in[in.size() - 1]},
        out_(out),
        planes_(NumElements(in) / (in_[0] * in_[1] * in_[2])) {
    for (int d = 0; d < 3; ++d) {
      axes_[d] = internal::SlidingWindows(in_[d], out_[d], p.kernel[d], p.stride[d], p.padding[d],
                                          p.padding_end[d], p.dilation[d]);
    }
  }

  // src [planes, D, H, W] -> dst [planes, OD, OH, OW], row-major.
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const float* src = inputs[0]->tensor.data<float>();
    float* dst = output.tensor.data<float>();
    const int64_t in_plane = in_[0] * in_[1] * in_[2];
    for (int64_t plane = 0; plane < planes_; ++plane) {
      const float* s = src + plane * in_plane;
      for (int64_t od = 0; od < out_[0]; ++od) {
        for (int64_t oh = 0; oh < out_[1]; ++oh) {
          for (int64_t ow = 0; ow < out_[2]; ++ow) {
            *dst++ = p_.is_max ? MaxOf(s, axes_[0][od], axes_[1][oh], axes_[2][ow])
                               : AverageOf(s, axes_[0][od], axes_[1][oh], axes_[2][ow]);
          }
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  // PyTorch's rule: NaN wins.
  float MaxOf(const float* s, const PoolAxisWindow& a, const PoolAxisWindow& b,
              const PoolAxisWindow& c) const {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t kd = a.k_begin; kd < a.k_end; ++kd) {
      const int64_t d = a.start + kd * p_.dilation[0];
      for (int64_t kh = b.k_begin; kh < b.k_end; ++kh) {
        const int64_t row = (d * in_[1] + b.start + kh * p_.dilation[1]) * in_[2] + c.start;
        for (int64_t kw = c.k_begin; kw < c.k_end; ++kw) {
          const float v = s[row + kw * p_.dilation[2]];
          if (v > m || std::isnan(v)) m = v;
        }
      }
    }
    return m;
  }

  // Dilation is 1 for average pooling.
  float AverageOf(const float* s, const PoolAxisWindow& a, const PoolAxisWindow& b,
                  const PoolAxisWindow& c) const {
    const int64_t count = (a.k_end - a.k_begin) * (b.k_end - b.k_begin) * (c.k_end - c.k_begin);
    if (count == 0) return 0.0f;
    float sum = 0.0f;
    for (int64_t kd = a.k_begin; kd < a.k_end; ++kd) {
      for (int64_t kh = b.k_begin; kh < b.k_end; ++kh) {
        const int64_t row = ((a.start + kd) * in_[1] + b.start + kh) * in_[2] + c.start;
        for (int64_t kw = c.k_begin; kw < c.k_end; ++kw) sum += s[row + kw];
      }
    }
    int64_t divisor = count;
    if (p_.divisor_override != 0) {
      divisor = p_.divisor_override;
    } else if (p_.count_include_pad) {
      divisor = a.padded_extent * b.padded_extent * c.padded_extent;
    }
    return sum / static_cast<float>(divisor);
  }

  Pool3dParams p_;
  Triple in_, out_;
  int64_t planes_;
  std::array<std::vector<PoolAxisWindow>, 3> axes_;  // per axis, one window per output index
};

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(Pool3dParams p, ReadParams(call));
  return std::make_unique<Pool3dKernel>(p, call.inputs[0].shape,
                                        OutputSize(p, call.inputs[0].shape));
}

std::vector<int64_t> ToList(const Triple& t) { return {t[0], t[1], t[2]}; }

}  // namespace

AttrMap Pool3dAttrs::ToAttrs(OpKind kind) const {
  AttrMap a = {
      {"kernel_size", ToList(kernel_size)}, {"padding", ToList(padding)}, {"ceil_mode", ceil_mode}};
  if (stride != Triple{0, 0, 0}) a["stride"] = ToList(stride);
  if (pads != std::array<int64_t, 6>{}) a["pads"] = std::vector<int64_t>(pads.begin(), pads.end());
  if (kind == OpKind::kMaxPool3d) {
    a["dilation"] = ToList(dilation);
  } else {
    a["count_include_pad"] = count_include_pad;
    if (divisor_override != 0) a["divisor_override"] = divisor_override;
  }
  return a;
}

const OpDef kMaxPool3dOp = {&Infer, &Create, nullptr};
const OpDef kAvgPool3dOp = {&Infer, &Create, nullptr};

namespace internal {
absl::StatusOr<Pool3dParams> ReadPool3dParams(OpKind kind, const AttrMap& attrs) {
  return ReadAttrs(kind, attrs);
}
}  // namespace internal

}  // namespace structprune
