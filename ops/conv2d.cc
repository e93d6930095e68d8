#include "ops/conv2d.h"

#include <cmath>

#include "core/status_macros.h"
#include "ops/onednn/conv.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::OpError;

using internal::Conv2dParams;

absl::StatusOr<Conv2dAttrs> ReadAttrs(const OpCall& call) {
  const AttrMap& a = *call.attrs;
  Conv2dAttrs c;
  SP_ASSIGN_OR_RETURN(c.in_channels, GetIntAttr(a, "in_channels", -1));
  SP_ASSIGN_OR_RETURN(c.out_channels, GetIntAttr(a, "out_channels", -1));
  SP_ASSIGN_OR_RETURN(c.kernel_size, GetPairAttr(a, "kernel_size", {-1, -1}));
  SP_ASSIGN_OR_RETURN(c.stride, GetPairAttr(a, "stride", {1, 1}));
  SP_ASSIGN_OR_RETURN(c.dilation, GetPairAttr(a, "dilation", {1, 1}));
  SP_ASSIGN_OR_RETURN(c.groups, GetIntAttr(a, "groups", 1));
  SP_ASSIGN_OR_RETURN(c.bias, GetBoolAttr(a, "bias", true));
  auto padding_mode = GetStringAttr(a, "padding", "");
  if (padding_mode.ok() && !padding_mode->empty()) {
    // padding="valid" is no padding; "same" pads d*(k-1)/2 per side (stride 1 only).
    if (*padding_mode == "valid") {
      c.padding = {0, 0};
    } else if (*padding_mode == "same") {
      for (int i = 0; i < 2; ++i) {
        int64_t total = c.dilation[i] * (c.kernel_size[i] - 1);
        if (c.stride[i] != 1) return OpError(call, "padding='same' needs stride 1");
        if (total % 2 != 0) {
          return absl::UnimplementedError(absl::StrCat(
              "Conv2d '", call.name, "': padding='same' with an even kernel pads asymmetrically"));
        }
        c.padding[i] = total / 2;
      }
    } else {
      return OpError(call, absl::StrCat("padding must be ints, 'same' or 'valid', got '",
                                        *padding_mode, "'"));
    }
  } else {
    SP_ASSIGN_OR_RETURN(c.padding, GetPairAttr(a, "padding", {0, 0}));
  }
  if (c.in_channels <= 0 || c.out_channels <= 0) {
    return OpError(call, "in_channels and out_channels must be positive");
  }
  if (c.kernel_size[0] <= 0 || c.kernel_size[1] <= 0) return OpError(call, "kernel_size must be positive");
  if (c.stride[0] <= 0 || c.stride[1] <= 0) return OpError(call, "stride must be positive");
  if (c.dilation[0] <= 0 || c.dilation[1] <= 0) return OpError(call, "dilation must be positive");
  if (c.padding[0] < 0 || c.padding[1] < 0) return OpError(call, "padding must be non-negative");
  if (c.groups <= 0 || c.in_channels % c.groups != 0 || c.out_channels % c.groups != 0) {
    return OpError(call, absl::StrCat("groups=", c.groups, " must divide in_channels=",
                                      c.in_channels, " and out_channels=", c.out_channels));
  }
  return c;
}

absl::StatusOr<Conv2dParams> ReadParams(const OpCall& call) {
  Conv2dParams p;
  SP_ASSIGN_OR_RETURN(p.attrs, internal::WithOpContextOr(call, ReadAttrs(call)));
  const Conv2dAttrs& c = p.attrs;
  SP_ASSIGN_OR_RETURN(p.weight, internal::ExpectParameter(
                                    call, "weight",
                                    {c.out_channels, c.in_channels / c.groups, c.kernel_size[0],
                                     c.kernel_size[1]}));
  if (c.bias && call.module->HasParameter("bias")) {
    SP_ASSIGN_OR_RETURN(p.bias, internal::ExpectParameter(call, "bias", {c.out_channels}));
  }
  return p;
}

absl::StatusOr<Conv2dGeometry> Geometry(const OpCall& call, const Conv2dAttrs& c) {
  const Shape& in = call.inputs[0].shape;
  if (in.size() != 3 && in.size() != 4) {
    return OpError(call, absl::StrCat("input must be 3-D [C, H, W] or 4-D [N, C, H, W], got ",
                                      ShapeToString(in)));
  }
  const bool batched = in.size() == 4;
  Conv2dGeometry g;
  g.N = batched ? in[0] : 1;
  g.IC = in[batched ? 1 : 0];
  g.IH = in[batched ? 2 : 1];
  g.IW = in[batched ? 3 : 2];
  if (g.IC != c.in_channels) {
    return OpError(call, absl::StrCat("input ", ShapeToString(in), " has ", g.IC,
                                      " channels, weight expects ", c.in_channels));
  }
  g.OC = c.out_channels;
  g.KH = c.kernel_size[0];
  g.KW = c.kernel_size[1];
  g.SH = c.stride[0];
  g.SW = c.stride[1];
  g.PH = c.padding[0];
  g.PW = c.padding[1];
  g.DH = c.dilation[0];
  g.DW = c.dilation[1];
  g.groups = c.groups;
  const int64_t eff_h = g.DH * (g.KH - 1) + 1, eff_w = g.DW * (g.KW - 1) + 1;
  if (g.IH + 2 * g.PH < eff_h || g.IW + 2 * g.PW < eff_w) {
    return OpError(call, absl::StrCat("input ", ShapeToString(in), " padded by [", g.PH, ", ",
                                      g.PW, "] is smaller than the dilated kernel [", eff_h, ", ",
                                      eff_w, "]"));
  }
  g.OH = (g.IH + 2 * g.PH - eff_h) / g.SH + 1;
  g.OW = (g.IW + 2 * g.PW - eff_w) / g.SW + 1;
  return g;
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, 1));
  SP_ASSIGN_OR_RETURN(Conv2dParams p, ReadParams(call));
  SP_ASSIGN_OR_RETURN(Conv2dGeometry g, Geometry(call, p.attrs));
  if (call.inputs[0].shape.size() == 3) return ValueInfo::Of({g.OC, g.OH, g.OW});
  return ValueInfo::Of({g.N, g.OC, g.OH, g.OW});
}

// Direct convolution; the reference the oneDNN path is tested against.
class ReferenceConv2dKernel : public Kernel {
 public:
  ReferenceConv2dKernel(Conv2dGeometry g, Tensor weight, Tensor bias)
      : g_(g), weight_(std::move(weight)), bias_(std::move(bias)) {}

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const Conv2dGeometry& g = g_;
    const float* src = inputs[0]->tensor.data<float>();  // [N, IC, IH, IW]
    const float* w = weight_.data<float>();              // [OC, IC/G, KH, KW]
    float* dst = output.tensor.data<float>();            // [N, OC, OH, OW]
    const int64_t icg = g.IC / g.groups, ocg = g.OC / g.groups;
    for (int64_t n = 0; n < g.N; ++n) {
      for (int64_t oc = 0; oc < g.OC; ++oc) {
        const int64_t ic0 = (oc / ocg) * icg;
        const float b = bias_.defined() ? bias_.data<float>()[oc] : 0.0f;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            float acc = 0.0f;
            for (int64_t ic = 0; ic < icg; ++ic) {
              const float* plane = src + ((n * g.IC) + ic0 + ic) * g.IH * g.IW;
              const float* wk = w + ((oc * icg) + ic) * g.KH * g.KW;
              for (int64_t kh = 0; kh < g.KH; ++kh) {
                const int64_t ih = oh * g.SH - g.PH + kh * g.DH;
                if (ih < 0 || ih >= g.IH) continue;
                for (int64_t kw = 0; kw < g.KW; ++kw) {
                  const int64_t iw = ow * g.SW - g.PW + kw * g.DW;
                  if (iw < 0 || iw >= g.IW) continue;
                  acc += plane[ih * g.IW + iw] * wk[kh * g.KW + kw];
                }
              }
            }
            dst[((n * g.OC + oc) * g.OH + oh) * g.OW + ow] = acc + b;
          }
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  Conv2dGeometry g_;
  Tensor weight_, bias_;
};

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(Conv2dParams p, ReadParams(call));
  SP_ASSIGN_OR_RETURN(Conv2dGeometry g, Geometry(call, p.attrs));
  if (!call.reference_kernels) {
    auto fast = internal::CreateOnednnConv2d(g, p.weight, p.bias);
    if (fast.ok()) return fast;
    if (fast.status().code() != absl::StatusCode::kUnimplemented) return fast.status();
  }
  return std::make_unique<ReferenceConv2dKernel>(g, p.weight, p.bias);
}

absl::Status InitModule(Module& m, Rng& rng) {
  const AttrMap& a = m.attrs();
  SP_ASSIGN_OR_RETURN(int64_t ic, GetIntAttr(a, "in_channels", 0));
  SP_ASSIGN_OR_RETURN(int64_t oc, GetIntAttr(a, "out_channels", 0));
  SP_ASSIGN_OR_RETURN(auto k, GetPairAttr(a, "kernel_size", {1, 1}));
  SP_ASSIGN_OR_RETURN(int64_t groups, GetIntAttr(a, "groups", 1));
  SP_ASSIGN_OR_RETURN(bool bias, GetBoolAttr(a, "bias", true));
  if (groups <= 0 || ic % groups != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("groups=", groups, " must divide in_channels=", ic));
  }
  // kaiming_uniform(a=sqrt(5)) on fan_in = IC/groups * KH * KW gives U(-1/sqrt(fan_in), ..).
  const int64_t fan_in = ic / groups * k[0] * k[1];
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  m.SetParameter("weight", internal::UniformInit(rng, {oc, ic / groups, k[0], k[1]}, bound));
  if (bias) m.SetParameter("bias", internal::UniformInit(rng, {oc}, bound));
  return absl::OkStatus();
}

}  // namespace

OpKind Conv2dAttrs::Kind() { return OpKind::kConv2d; }

AttrMap Conv2dAttrs::ToAttrs() const {
  auto pair = [](const std::array<int64_t, 2>& p) { return std::vector<int64_t>{p[0], p[1]}; };
  return {{"in_channels", in_channels},   {"out_channels", out_channels},
          {"kernel_size", pair(kernel_size)}, {"stride", pair(stride)},
          {"padding", pair(padding)},     {"dilation", pair(dilation)},
          {"groups", groups},             {"bias", bias}};
}

const OpDef kConv2dOp = {&Infer, &Create, &InitModule};

namespace internal {
absl::StatusOr<Conv2dParams> ReadConv2dParams(const OpCall& call) { return ReadParams(call); }
absl::StatusOr<Conv2dGeometry> Conv2dGeometryOf(const OpCall& call, const Conv2dAttrs& attrs) {
  return Geometry(call, attrs);
}
}  // namespace internal

}  // namespace structprune
