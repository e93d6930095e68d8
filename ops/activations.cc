#include "ops/activations.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/status_macros.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::OpError;

// Scalar functions in float, with PyTorch's CPU formulas (same operation order, so results
// agree to the last bits where libm agrees). Each is a functor so the kernel loop inlines it;
// ApplyActivationScalar goes through the very same functors.

struct Relu {  // clamp_min(x, 0): NaN stays NaN
  float operator()(float x) const { return x < 0.0f ? 0.0f : x; }
};
struct LeakyRelu {  // LeakyReLU, RReLU in eval (slope (lower + upper) / 2)
  float slope;
  float operator()(float x) const { return x > 0.0f ? x : x * slope; }
};
struct Clamp {  // Hardtanh, ReLU6: min(max(x, lo), hi), NaN propagates; lo > hi gives hi
  float lo, hi;
  float operator()(float x) const {
    float y = x < lo ? lo : x;
    return y > hi ? hi : y;
  }
};
struct Sigmoid {
  float operator()(float x) const { return 1.0f / (1.0f + std::exp(-x)); }
};
struct Hardsigmoid {  // relu6(x + 3) / 6
  float operator()(float x) const { return std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
};
struct AffineHardsigmoid {  // ONNX's HardSigmoid: max(0, min(1, alpha * x + beta)), NaN stays
  float alpha, beta;
  float operator()(float x) const {
    const float y = alpha * x + beta;
    return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
  }
};
struct Tanh {
  float operator()(float x) const { return std::tanh(x); }
};
struct Silu {  // x * sigmoid(x)
  float operator()(float x) const { return x / (1.0f + std::exp(-x)); }
};
struct Mish {  // x * tanh(softplus(x)), softplus without threshold
  float operator()(float x) const { return x * std::tanh(std::log1p(std::exp(x))); }
};
struct Hardswish {  // x * relu6(x + 3) / 6
  float operator()(float x) const { return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
};
// PyTorch's one ELU kernel: x <= 0 ? expm1(x * input_scale) * alpha * scale : x * scale.
// ELU: scale 1, input_scale 1. CELU: input_scale 1 / alpha, so for x <= 0 it is
// alpha * (exp(x / alpha) - 1), i.e. max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
// SELU: alpha and scale (PyTorch's fixed constants unless given: ONNX's Selu alpha, gamma).
struct Elu {
  float negcoef, poscoef, input_scale;
  float operator()(float x) const {
    return x <= 0.0f ? std::expm1(x * input_scale) * negcoef : x * poscoef;
  }
};
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kHardsigmoidAlpha = 1.0 / 6.0;
constexpr double kHardsigmoidBeta = 0.5;

struct Hardshrink {  // 0 inside [-lambd, lambd], x outside
  float lambd;
  float operator()(float x) const { return (x >= -lambd && x <= lambd) ? 0.0f : x; }
};
struct LogSigmoid {  // -softplus(-x) = min(x, 0) - log1p(exp(-|x|)), stable for large |x|
  float operator()(float x) const {
    return std::min(x, 0.0f) - std::log1p(std::exp(-std::fabs(x)));
  }
};
struct Softplus {  // linear above the threshold: x * beta > threshold ? x : log1p(exp(beta x)) /
                   // beta
  float beta, threshold;
  float operator()(float x) const {
    return x * beta > threshold ? x : std::log1p(std::exp(x * beta)) / beta;
  }
};
struct Softsign {
  float operator()(float x) const { return x / (1.0f + std::fabs(x)); }
};
struct Tanhshrink {
  float operator()(float x) const { return x - std::tanh(x); }
};
struct GeluErf {  // x * Phi(x) = x / 2 * (1 + erf(x / sqrt(2)))
  float operator()(float x) const {
    return x * 0.5f * (1.0f + std::erf(x * static_cast<float>(M_SQRT1_2)));
  }
};
struct GeluTanh {  // x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))
  float operator()(float x) const {
    constexpr float kBeta = static_cast<float>(M_SQRT2 * M_2_SQRTPI * 0.5);  // sqrt(2 / pi)
    constexpr float kKappa = 0.044715f;
    float inner = kBeta * (x + kKappa * x * x * x);
    return 0.5f * x * (1.0f + std::tanh(inner));
  }
};
inline float Prelu(float x, float weight) { return x > 0.0f ? x : weight * x; }

// Calls `visit(f)` with the functor of `kind` (not PReLU: its slope depends on the channel).
template <typename Visit>
auto VisitActivation(OpKind kind, const ActivationParams& p, Visit&& visit) {
  auto f = [](double v) { return static_cast<float>(v); };
  switch (kind) {
    case OpKind::kRelu:
      return visit(Relu{});
    case OpKind::kRrelu:
      return visit(LeakyRelu{f((p.lower + p.upper) / 2.0)});
    case OpKind::kHardtanh:
    case OpKind::kRelu6:
      return visit(Clamp{f(p.min_val), f(p.max_val)});
    case OpKind::kSigmoid:
      return visit(Sigmoid{});
    case OpKind::kHardsigmoid:
      if (p.alpha == kHardsigmoidAlpha && p.beta == kHardsigmoidBeta) return visit(Hardsigmoid{});
      return visit(AffineHardsigmoid{f(p.alpha), f(p.beta)});
    case OpKind::kTanh:
      return visit(Tanh{});
    case OpKind::kSilu:
      return visit(Silu{});
    case OpKind::kMish:
      return visit(Mish{});
    case OpKind::kHardswish:
      return visit(Hardswish{});
    case OpKind::kElu:
      return visit(Elu{f(p.alpha), 1.0f, 1.0f});
    case OpKind::kCelu:
      return visit(Elu{f(p.alpha), 1.0f, f(1.0 / p.alpha)});
    case OpKind::kSelu:
      return visit(Elu{f(p.alpha * p.scale), f(p.scale), 1.0f});
    case OpKind::kHardshrink:
      return visit(Hardshrink{f(p.lambd)});
    case OpKind::kLeakyRelu:
      return visit(LeakyRelu{f(p.negative_slope)});
    case OpKind::kLogSigmoid:
      return visit(LogSigmoid{});
    case OpKind::kSoftplus:
      return visit(Softplus{f(p.beta), f(p.threshold)});
    case OpKind::kSoftsign:
      return visit(Softsign{});
    case OpKind::kTanhshrink:
      return visit(Tanhshrink{});
    case OpKind::kGelu:
      return p.approximate_tanh ? visit(GeluTanh{}) : visit(GeluErf{});
    default:
      return visit(LeakyRelu{f(p.init)});  // PReLU with one slope; unreachable otherwise
  }
}

// Channel layout PReLU uses: dim 1 for inputs of 2+ dims, one channel otherwise.
struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};
ChannelLayout LayoutOf(const Shape& shape) {
  ChannelLayout l;
  if (shape.size() < 2) {
    l.inner = NumElements(shape);
    return l;
  }
  l.outer = shape[0];
  l.channels = shape[1];
  l.inner = NumElements(shape) / std::max<int64_t>(l.outer * l.channels, 1);
  if (l.outer * l.channels == 0) l.inner = 0;
  return l;
}

// PyTorch's slope count rule: 1, or the input's channel count (dim 1).
absl::Status CheckPreluSlopes(const OpCall& call, int64_t num_slopes) {
  if (num_slopes == 1) return absl::OkStatus();
  const Shape& in = call.inputs[0].shape;
  if (in.size() < 2) {
    return OpError(
        call, absl::StrCat("weight has ", num_slopes, " parameters, but input ", ShapeToString(in),
                           " has no channel dimension (fewer than 2 dims), so it "
                           "must have 1"));
  }
  if (in[1] != num_slopes) {
    return OpError(
        call, absl::StrCat("weight has ", num_slopes, " parameters, but input ", ShapeToString(in),
                           " has ", in[1], " channels (dim 1); it must have 1 or ", in[1]));
  }
  return absl::OkStatus();
}

// Functional PReLU with a weight of 2+ dims (torch._prelu_kernel, ONNX PRelu): the weight
// broadcasts to the input (trailing dims aligned, each size equal or 1), never the reverse.
absl::Status CheckBroadcastSlopes(const OpCall& call) {
  const Shape& in = call.inputs[0].shape;
  const Shape& w = call.inputs[1].shape;
  bool fits = w.size() <= in.size();
  for (size_t k = 0; fits && k < w.size(); ++k) {
    const int64_t sw = w[w.size() - 1 - k], si = in[in.size() - 1 - k];
    fits = sw == si || sw == 1;
  }
  if (!fits) {
    return OpError(
        call, absl::StrCat("weight ", ShapeToString(w), " does not broadcast to input ",
                           ShapeToString(in), " (a weight of 2+ dims broadcasts element-wise)"));
  }
  return absl::OkStatus();
}

// The broadcast weight's element stride along each input dim (0 where it has size 1).
std::vector<int64_t> SlopeStrides(const Shape& in, const Shape& w) {
  std::vector<int64_t> strides(in.size(), 0);
  int64_t stride = 1;
  for (size_t k = 0; k < w.size(); ++k) {
    const size_t d = in.size() - 1 - k;
    const int64_t sw = w[w.size() - 1 - k];
    strides[d] = sw == 1 ? 0 : stride;
    stride *= sw;
  }
  return strides;
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  const bool functional_prelu = call.kind == OpKind::kPrelu && call.module == nullptr;
  SP_RETURN_IF_ERROR(
      internal::ExpectTensorInputs(call, functional_prelu ? 2 : 1, functional_prelu ? 2 : 1));
  absl::StatusOr<ActivationParams> p = ReadActivationParams(call.kind, *call.attrs);
  if (!p.ok()) return internal::WithOpContext(call, p.status());
  // nn.Hardtanh asserts max_val > min_val; F.hardtanh just clamps (min(max(x, lo), hi)).
  if (call.kind == OpKind::kHardtanh && call.module != nullptr && !(p->max_val > p->min_val)) {
    return OpError(call, absl::StrCat("max_val (", p->max_val, ") must be greater than min_val (",
                                      p->min_val, ")"));
  }
  if (call.kind == OpKind::kPrelu) {
    if (call.module != nullptr) {
      SP_ASSIGN_OR_RETURN(Tensor weight,
                          internal::ExpectParameter(call, "weight", {p->num_parameters}));
      SP_RETURN_IF_ERROR(CheckPreluSlopes(call, weight.numel()));
    } else {
      const Shape& w = call.inputs[1].shape;
      if (w.size() > 1) {
        SP_RETURN_IF_ERROR(CheckBroadcastSlopes(call));
      } else {
        SP_RETURN_IF_ERROR(CheckPreluSlopes(call, NumElements(w)));
      }
    }
  }
  return ValueInfo::Of(call.inputs[0].shape);
}

class ActivationKernel : public Kernel {
 public:
  ActivationKernel(OpKind kind, ActivationParams params, Tensor prelu_weight, ChannelLayout layout,
                   Shape shape = {}, std::vector<int64_t> slope_strides = {})
      : kind_(kind),
        params_(params),
        prelu_weight_(std::move(prelu_weight)),
        layout_(layout),
        shape_(std::move(shape)),
        slope_strides_(std::move(slope_strides)),
        counter_(shape_.size(), 0) {}

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const Tensor& src_t = inputs[0]->tensor;
    const float* src = src_t.data<float>();
    float* dst = output.tensor.data<float>();
    const int64_t n = src_t.numel();
    if (kind_ == OpKind::kPrelu) {
      const Tensor& w = prelu_weight_.defined() ? prelu_weight_ : inputs[1]->tensor;
      if (!slope_strides_.empty()) {
        RunBroadcastPrelu(src, w.data<float>(), dst);
      } else {
        RunPrelu(src, w.data<float>(), w.numel(), dst);
      }
      return absl::OkStatus();
    }
    VisitActivation(kind_, params_, [&](auto f) {
      for (int64_t i = 0; i < n; ++i) dst[i] = f(src[i]);
    });
    return absl::OkStatus();
  }

 private:
  // src, dst [outer, channels, inner]; weights [channels] or [1].
  void RunPrelu(const float* src, const float* weights, int64_t num_weights, float* dst) const {
    const int64_t C = num_weights == 1 ? 1 : layout_.channels;
    const int64_t inner =
        num_weights == 1 ? layout_.outer * layout_.channels * layout_.inner : layout_.inner;
    const int64_t outer = num_weights == 1 ? 1 : layout_.outer;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t c = 0; c < C; ++c) {
        const float w = weights[c];
        const int64_t base = (o * C + c) * inner;
        for (int64_t i = 0; i < inner; ++i) dst[base + i] = Prelu(src[base + i], w);
      }
    }
  }

  // src, dst `shape_`; weights at offsets given by slope_strides_ (rows of the last dim).
  void RunBroadcastPrelu(const float* src, const float* weights, float* dst) {
    const int64_t numel = NumElements(shape_);
    if (numel == 0) return;
    const size_t k = shape_.size();
    const int64_t n = shape_[k - 1], step = slope_strides_[k - 1];
    std::fill(counter_.begin(), counter_.end(), 0);
    int64_t offset = 0;
    for (int64_t row = 0; row < numel / n; ++row) {
      const float* x = src + row * n;
      float* y = dst + row * n;
      for (int64_t i = 0; i < n; ++i) y[i] = Prelu(x[i], weights[offset + i * step]);
      for (size_t d = k - 1; d-- > 0;) {  // step the outer dims like an odometer
        if (++counter_[d] < shape_[d]) {
          offset += slope_strides_[d];
          break;
        }
        counter_[d] = 0;
        offset -= slope_strides_[d] * (shape_[d] - 1);
      }
    }
  }

  OpKind kind_;
  ActivationParams params_;
  Tensor prelu_weight_;  // module PReLU: [num_parameters]; functional: read from input 1
  ChannelLayout layout_;
  // Functional PReLU with a weight of 2+ dims: the input shape and the weight's strides.
  Shape shape_;
  std::vector<int64_t> slope_strides_;
  std::vector<int64_t> counter_;  // odometer over the outer dims, sized once here
};

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  absl::StatusOr<ActivationParams> p = ReadActivationParams(call.kind, *call.attrs);
  if (!p.ok()) return internal::WithOpContext(call, p.status());
  Tensor prelu_weight;
  if (call.kind == OpKind::kPrelu && call.module != nullptr) {
    SP_ASSIGN_OR_RETURN(prelu_weight, call.module->Effective("weight"));
  }
  if (call.kind == OpKind::kPrelu && call.module == nullptr && call.inputs[1].shape.size() > 1) {
    const Shape& in = call.inputs[0].shape;
    return std::make_unique<ActivationKernel>(call.kind, *p, Tensor(), LayoutOf(in), in,
                                              SlopeStrides(in, call.inputs[1].shape));
  }
  return std::make_unique<ActivationKernel>(call.kind, *p, std::move(prelu_weight),
                                            LayoutOf(call.inputs[0].shape));
}

// Only PReLU has a parameter: weight [num_parameters] filled with `init` (PyTorch: 0.25).
absl::Status InitModule(Module& m, Rng& rng) {
  if (m.kind() != OpKind::kPrelu) return absl::OkStatus();
  SP_ASSIGN_OR_RETURN(ActivationParams p, ReadActivationParams(m.kind(), m.attrs()));
  m.SetParameter("weight", Tensor::Full({p.num_parameters}, static_cast<float>(p.init)));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ActivationParams> ReadActivationParams(OpKind kind, const AttrMap& attrs) {
  ActivationParams p;
  switch (kind) {
    case OpKind::kRrelu: {
      SP_ASSIGN_OR_RETURN(p.lower, GetFloatAttr(attrs, "lower", p.lower));
      SP_ASSIGN_OR_RETURN(p.upper, GetFloatAttr(attrs, "upper", p.upper));
      SP_ASSIGN_OR_RETURN(bool training, GetBoolAttr(attrs, "training", false));
      if (training) {
        return absl::UnimplementedError("training-mode RReLU (random slopes) is not supported");
      }
      if (p.lower > p.upper) {
        return absl::InvalidArgumentError(absl::StrCat(
            "lower (", p.lower, ") must be less than or equal to upper (", p.upper, ")"));
      }
      break;
    }
    case OpKind::kHardtanh: {
      SP_ASSIGN_OR_RETURN(p.min_val, GetFloatAttr(attrs, "min_val", p.min_val));
      SP_ASSIGN_OR_RETURN(p.max_val, GetFloatAttr(attrs, "max_val", p.max_val));
      break;
    }
    case OpKind::kRelu6:
      p.min_val = 0.0;
      p.max_val = 6.0;
      break;
    case OpKind::kElu: {
      SP_ASSIGN_OR_RETURN(p.alpha, GetFloatAttr(attrs, "alpha", p.alpha));
      break;
    }
    case OpKind::kCelu: {
      SP_ASSIGN_OR_RETURN(p.alpha, GetFloatAttr(attrs, "alpha", p.alpha));
      if (p.alpha == 0.0) return absl::InvalidArgumentError("alpha cannot be 0 for CELU");
      break;
    }
    case OpKind::kSelu: {
      SP_ASSIGN_OR_RETURN(p.alpha, GetFloatAttr(attrs, "alpha", kSeluAlpha));
      SP_ASSIGN_OR_RETURN(p.scale, GetFloatAttr(attrs, "scale", p.scale));
      break;
    }
    case OpKind::kHardsigmoid: {
      SP_ASSIGN_OR_RETURN(p.alpha, GetFloatAttr(attrs, "alpha", kHardsigmoidAlpha));
      SP_ASSIGN_OR_RETURN(p.beta, GetFloatAttr(attrs, "beta", kHardsigmoidBeta));
      break;
    }
    case OpKind::kHardshrink: {
      SP_ASSIGN_OR_RETURN(p.lambd, GetFloatAttr(attrs, "lambd", p.lambd));
      break;
    }
    case OpKind::kLeakyRelu: {
      SP_ASSIGN_OR_RETURN(p.negative_slope,
                          GetFloatAttr(attrs, "negative_slope", p.negative_slope));
      break;
    }
    case OpKind::kSoftplus: {
      SP_ASSIGN_OR_RETURN(p.beta, GetFloatAttr(attrs, "beta", p.beta));
      SP_ASSIGN_OR_RETURN(p.threshold, GetFloatAttr(attrs, "threshold", p.threshold));
      break;
    }
    case OpKind::kPrelu: {
      SP_ASSIGN_OR_RETURN(p.num_parameters, GetIntAttr(attrs, "num_parameters", p.num_parameters));
      SP_ASSIGN_OR_RETURN(p.init, GetFloatAttr(attrs, "init", p.init));
      if (p.num_parameters < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("num_parameters must be at least 1, got ", p.num_parameters));
      }
      break;
    }
    case OpKind::kGelu: {
      absl::StatusOr<std::string> approximate = GetStringAttr(attrs, "approximate", "none");
      if (!approximate.ok()) return approximate.status();
      if (*approximate != "none" && *approximate != "tanh") {
        return absl::InvalidArgumentError(
            absl::StrCat("approximate must be \"none\" or \"tanh\", got \"", *approximate, "\""));
      }
      p.approximate_tanh = *approximate == "tanh";
      break;
    }
    default:
      break;  // no parameters
  }
  return p;
}

float ApplyActivationScalar(OpKind kind, const ActivationParams& params, float x,
                            float prelu_weight) {
  if (!IsActivation(kind)) return x;
  if (kind == OpKind::kPrelu) return Prelu(x, prelu_weight);
  return VisitActivation(kind, params, [x](auto f) { return f(x); });
}

const OpDef kActivationOp = {&Infer, &Create, &InitModule};

}  // namespace structprune
