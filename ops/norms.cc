#include "ops/norms.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/status_macros.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::ExpectParameter;
using internal::OpError;

std::string ListToString(const std::vector<int64_t>& v) {
  return ShapeToString(Shape(v.begin(), v.end()));
}

// ---------------------------------------------------------------------------------------------
// LayerNorm

struct LayerNormParams {
  Shape normalized_shape;
  double eps = 1e-5;
  bool return_stats = false;  // result (y, mean, rstd)
  Tensor weight;  // module form; undefined when absent (functional: read from the inputs)
  Tensor bias;
};

absl::StatusOr<LayerNormParams> ReadLayerNormAttrs(const OpCall& call) {
  LayerNormParams p;
  const AttrMap& a = *call.attrs;
  absl::StatusOr<std::vector<int64_t>> shape = GetIntsAttr(a, "normalized_shape", {});
  if (!shape.ok()) return internal::WithOpContext(call, shape.status());
  absl::StatusOr<double> eps = GetFloatAttr(a, "eps", 1e-5);
  if (!eps.ok()) return internal::WithOpContext(call, eps.status());
  absl::StatusOr<bool> return_stats = GetBoolAttr(a, "return_stats", false);
  if (!return_stats.ok()) return internal::WithOpContext(call, return_stats.status());
  p.return_stats = *return_stats;
  if (shape->empty()) {
    return OpError(call, "normalized_shape must have at least 1 element");
  }
  for (int64_t d : *shape) {
    if (d < 0) {
      return OpError(
          call, absl::StrCat("normalized_shape must be non-negative, got ", ListToString(*shape)));
    }
  }
  p.normalized_shape.assign(shape->begin(), shape->end());
  p.eps = *eps;
  return p;
}

// Module form: the attributes and the effective weight / bias, shape-checked.
absl::StatusOr<LayerNormParams> ReadLayerNormParams(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(LayerNormParams p, ReadLayerNormAttrs(call));
  if (call.module == nullptr) return p;
  absl::StatusOr<bool> affine = GetBoolAttr(*call.attrs, "elementwise_affine", true);
  if (!affine.ok()) return internal::WithOpContext(call, affine.status());
  absl::StatusOr<bool> has_bias = GetBoolAttr(*call.attrs, "bias", true);
  if (!has_bias.ok()) return internal::WithOpContext(call, has_bias.status());
  if (*affine) {
    SP_ASSIGN_OR_RETURN(p.weight, ExpectParameter(call, "weight", p.normalized_shape));
    // As for Linear, a bias moved aside (by a pruning hook) reads as none.
    if (*has_bias && call.module->HasParameter("bias")) {
      SP_ASSIGN_OR_RETURN(p.bias, ExpectParameter(call, "bias", p.normalized_shape));
    }
  }
  return p;
}

absl::StatusOr<ValueInfo> LayerNormInfer(const OpCall& call) {
  const bool functional = call.module == nullptr;
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, functional ? 3 : 1));
  SP_ASSIGN_OR_RETURN(LayerNormParams p, ReadLayerNormParams(call));
  const Shape& in = call.inputs[0].shape;
  const Shape& ns = p.normalized_shape;
  const bool matches =
      in.size() >= ns.size() && std::equal(ns.begin(), ns.end(), in.end() - ns.size());
  if (!matches) {
    return OpError(call, absl::StrCat("input ", ShapeToString(in), " does not end with ",
                                      "normalized_shape ", ShapeToString(ns)));
  }
  static constexpr const char* kInputNames[] = {"input", "weight", "bias"};
  for (size_t i = 1; i < call.inputs.size(); ++i) {
    if (call.inputs[i].shape != ns) {
      return OpError(call, absl::StrCat(kInputNames[i], " (input ", i, ") has shape ",
                                        ShapeToString(call.inputs[i].shape),
                                        ", expected normalized_shape ", ShapeToString(ns)));
    }
  }
  if (!p.return_stats) return ValueInfo::Of(in);
  // mean, rstd: the input's shape with the normalized dims kept as 1.
  Shape stats(in.begin(), in.end() - ns.size());
  stats.resize(in.size(), 1);
  const ValueInfo y = ValueInfo::Of(in), stat = ValueInfo::Of(std::move(stats));
  return ValueInfo::Tuple({y, stat, stat});
}

class LayerNormKernel : public Kernel {
 public:
  LayerNormKernel(LayerNormParams p, int64_t rows)
      : p_(std::move(p)), rows_(rows), cols_(NumElements(p_.normalized_shape)) {}

  // src, dst [rows, cols], cols = prod(normalized_shape); weight, bias [cols]; with
  // return_stats mean, rstd [rows].
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const Tensor& weight = inputs.size() > 1 ? inputs[1]->tensor : p_.weight;
    const Tensor& bias = inputs.size() > 2 ? inputs[2]->tensor : p_.bias;
    const float* w = weight.defined() ? weight.data<float>() : nullptr;
    const float* b = bias.defined() ? bias.data<float>() : nullptr;
    const float* src = inputs[0]->tensor.data<float>();
    float* dst = (p_.return_stats ? output.items[0].tensor : output.tensor).data<float>();
    float* mean_out = p_.return_stats ? output.items[1].tensor.data<float>() : nullptr;
    float* rstd_out = p_.return_stats ? output.items[2].tensor.data<float>() : nullptr;
    for (int64_t r = 0; r < rows_; ++r) {
      const float* x = src + r * cols_;
      float* y = dst + r * cols_;
      // Two passes in double: the mean, then the biased variance around it.
      double sum = 0.0;
      for (int64_t i = 0; i < cols_; ++i) sum += x[i];
      const double mean = sum / static_cast<double>(cols_);
      double sq = 0.0;
      for (int64_t i = 0; i < cols_; ++i) sq += (x[i] - mean) * (x[i] - mean);
      const double rstd = 1.0 / std::sqrt(sq / static_cast<double>(cols_) + p_.eps);
      if (mean_out != nullptr) {
        mean_out[r] = static_cast<float>(mean);
        rstd_out[r] = static_cast<float>(rstd);
      }
      for (int64_t i = 0; i < cols_; ++i) {
        float v = static_cast<float>((x[i] - mean) * rstd);
        if (w != nullptr) v *= w[i];
        if (b != nullptr) v += b[i];
        y[i] = v;
      }
    }
    return absl::OkStatus();
  }

 private:
  LayerNormParams p_;
  int64_t rows_, cols_;
};

absl::StatusOr<std::unique_ptr<Kernel>> LayerNormCreate(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(LayerNormParams p, ReadLayerNormParams(call));
  const int64_t cols = NumElements(p.normalized_shape);
  const int64_t rows = cols == 0 ? 0 : NumElements(call.inputs[0].shape) / cols;
  return std::make_unique<LayerNormKernel>(std::move(p), rows);
}

absl::Status LayerNormInit(Module& m, Rng& rng) {
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> shape, GetIntsAttr(m.attrs(), "normalized_shape", {}));
  SP_ASSIGN_OR_RETURN(bool affine, GetBoolAttr(m.attrs(), "elementwise_affine", true));
  SP_ASSIGN_OR_RETURN(bool bias, GetBoolAttr(m.attrs(), "bias", true));
  const Shape ns(shape.begin(), shape.end());
  if (affine) {
    m.SetParameter("weight", Tensor::Full(ns, 1.0f));
    if (bias) m.SetParameter("bias", Tensor::Zeros(ns));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// BatchNorm2d (eval) and F.batch_norm

using internal::BatchNormParams;

// Module form: attributes, the effective parameters and the running statistics.
absl::Status ReadModuleParams(const OpCall& call, BatchNormParams& p) {
  const AttrMap& a = *call.attrs;
  absl::StatusOr<int64_t> num_features = GetIntAttr(a, "num_features", -1);
  if (!num_features.ok()) return internal::WithOpContext(call, num_features.status());
  absl::StatusOr<bool> affine = GetBoolAttr(a, "affine", true);
  if (!affine.ok()) return internal::WithOpContext(call, affine.status());
  absl::StatusOr<bool> track = GetBoolAttr(a, "track_running_stats", true);
  if (!track.ok()) return internal::WithOpContext(call, track.status());
  if (*num_features < 0) return OpError(call, "num_features must be set and non-negative");
  p.channels = *num_features;
  const Shape c = {p.channels};
  if (*affine) {
    SP_ASSIGN_OR_RETURN(p.weight, ExpectParameter(call, "weight", c));
    // As for Linear, a bias moved aside (by a pruning hook) reads as none.
    if (call.module->HasParameter("bias")) {
      SP_ASSIGN_OR_RETURN(p.bias, ExpectParameter(call, "bias", c));
    }
  }
  absl::StatusOr<bool> onnx_training = GetBoolAttr(a, "onnx_training_mode", false);
  if (!onnx_training.ok()) return internal::WithOpContext(call, onnx_training.status());
  absl::StatusOr<double> momentum = GetFloatAttr(a, "momentum", 0.1);
  if (!momentum.ok()) return internal::WithOpContext(call, momentum.status());
  if (*track) {
    SP_ASSIGN_OR_RETURN(p.running_mean, ExpectParameter(call, "running_mean", c));
    SP_ASSIGN_OR_RETURN(p.running_var, ExpectParameter(call, "running_var", c));
  } else {
    p.batch_stats = true;  // eval without running statistics: PyTorch uses the batch's
  }
  if (*onnx_training) {
    if (!*track) {
      return OpError(call, "onnx_training_mode needs running statistics (track_running_stats)");
    }
    if (!(*momentum >= 0.0 && *momentum <= 1.0)) {
      return OpError(call, absl::StrCat("momentum must lie in [0, 1], got ", *momentum));
    }
    p.onnx_training_mode = true;
    p.batch_stats = true;
    p.momentum = *momentum;
  }
  return absl::OkStatus();
}

absl::StatusOr<BatchNormParams> ReadParams(const OpCall& call) {
  BatchNormParams p;
  absl::StatusOr<double> eps = GetFloatAttr(*call.attrs, "eps", 1e-5);
  if (!eps.ok()) return internal::WithOpContext(call, eps.status());
  p.eps = *eps;
  if (call.module != nullptr) {
    SP_RETURN_IF_ERROR(ReadModuleParams(call, p));
  } else {
    absl::StatusOr<bool> training = GetBoolAttr(*call.attrs, "training", false);
    if (!training.ok()) return internal::WithOpContext(call, training.status());
    p.batch_stats = *training;
    const Shape& in = call.inputs[0].shape;
    p.channels = in.size() >= 2 ? in[1] : 0;
  }
  return p;
}

absl::StatusOr<ValueInfo> BatchNormInfer(const OpCall& call) {
  const bool functional = call.module == nullptr;
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, functional ? 3 : 1, functional ? 5 : 1));
  const Shape& in = call.inputs[0].shape;
  if (functional && in.size() < 2) {
    return OpError(call, absl::StrCat("input must have at least 2 dimensions [N, C, *], got ",
                                      ShapeToString(in)));
  }
  if (!functional && in.size() != 4) {
    return OpError(call, absl::StrCat("input must be 4-D [N, C, H, W], got ", ShapeToString(in)));
  }
  SP_ASSIGN_OR_RETURN(BatchNormParams p, ReadParams(call));
  if (in[1] != p.channels) {
    return OpError(call, absl::StrCat("input ", ShapeToString(in), " has ", in[1],
                                      " channels, num_features is ", p.channels));
  }
  static constexpr const char* kInputNames[] = {"input", "running_mean", "running_var", "weight",
                                                "bias"};
  for (size_t i = 1; i < call.inputs.size(); ++i) {
    if (call.inputs[i].shape != Shape{p.channels}) {
      return OpError(call, absl::StrCat(kInputNames[i], " (input ", i, ") has shape ",
                                        ShapeToString(call.inputs[i].shape), ", expected [",
                                        p.channels, "] for input ", ShapeToString(in)));
    }
  }
  if (p.batch_stats && NumElements(in) / std::max<int64_t>(p.channels, 1) <= 1) {
    return OpError(call, absl::StrCat("expected more than 1 value per channel to compute batch "
                                      "statistics, got input ",
                                      ShapeToString(in)));
  }
  if (p.onnx_training_mode) {
    return ValueInfo::Tuple(
        {ValueInfo::Of(in), ValueInfo::Of({p.channels}), ValueInfo::Of({p.channels})});
  }
  return ValueInfo::Of(in);
}

class BatchNormKernel : public Kernel {
 public:
  BatchNormKernel(BatchNormParams p, const Shape& in)
      : p_(std::move(p)),
        N_(in[0]),
        C_(in[1]),
        inner_(C_ * N_ == 0 ? 0 : NumElements(in) / (N_ * C_)),
        scale_(C_),
        shift_(C_) {
    // Module form with running statistics: the per-channel affine map is fixed.
    if (!p_.batch_stats && p_.running_mean.defined()) {
      ComputeAffine(p_.running_mean.data<float>(), p_.running_var.data<float>(), Data(p_.weight),
                    Data(p_.bias));
    }
  }

  // src, dst [N, C, inner]: y = x * scale[c] + shift[c].
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const float* src = inputs[0]->tensor.data<float>();
    if (p_.batch_stats) {
      const float* weight = inputs.size() > 3 ? inputs[3]->tensor.data<float>() : Data(p_.weight);
      const float* bias = inputs.size() > 4 ? inputs[4]->tensor.data<float>() : Data(p_.bias);
      BatchStatistics(src);
      if (p_.onnx_training_mode) UpdateRunningStatistics(output);
      ComputeAffine(shift_.data(), scale_.data(), weight, bias);  // mean, var -> scale, shift
    } else if (inputs.size() > 1) {
      ComputeAffine(inputs[1]->tensor.data<float>(), inputs[2]->tensor.data<float>(),
                    inputs.size() > 3 ? inputs[3]->tensor.data<float>() : nullptr,
                    inputs.size() > 4 ? inputs[4]->tensor.data<float>() : nullptr);
    }
    float* dst = (p_.onnx_training_mode ? output.items[0].tensor : output.tensor).data<float>();
    for (int64_t n = 0; n < N_; ++n) {
      for (int64_t c = 0; c < C_; ++c) {
        const int64_t base = (n * C_ + c) * inner_;
        const float a = scale_[c], b = shift_[c];
        for (int64_t i = 0; i < inner_; ++i) dst[base + i] = src[base + i] * a + b;
      }
    }
    return absl::OkStatus();
  }

 private:
  static const float* Data(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

  // PyTorch's eval form: invstd = 1 / sqrt(var + eps), scale = invstd * w,
  // shift = b - mean * scale (float). `mean` and `var` may alias shift_ and scale_.
  void ComputeAffine(const float* mean, const float* var, const float* weight, const float* bias) {
    for (int64_t c = 0; c < C_; ++c) {
      const float m = mean[c];
      const float invstd = 1.0f / std::sqrt(var[c] + static_cast<float>(p_.eps));
      const float a = invstd * (weight != nullptr ? weight[c] : 1.0f);
      scale_[c] = a;
      shift_[c] = (bias != nullptr ? bias[c] : 0.0f) - m * a;
    }
  }

  // Per-channel mean (into shift_) and biased variance (into scale_) over N and H, W; two
  // passes in double.
  void BatchStatistics(const float* src) {
    const double count = static_cast<double>(N_ * inner_);
    for (int64_t c = 0; c < C_; ++c) {
      double sum = 0.0;
      for (int64_t n = 0; n < N_; ++n) {
        const float* x = src + (n * C_ + c) * inner_;
        for (int64_t i = 0; i < inner_; ++i) sum += x[i];
      }
      const double mean = sum / count;
      double sq = 0.0;
      for (int64_t n = 0; n < N_; ++n) {
        const float* x = src + (n * C_ + c) * inner_;
        for (int64_t i = 0; i < inner_; ++i) sq += (x[i] - mean) * (x[i] - mean);
      }
      shift_[c] = static_cast<float>(mean);
      scale_[c] = static_cast<float>(sq / count);
    }
  }

  // ONNX's update, from the batch mean (shift_) and biased variance (scale_) BatchStatistics
  // left: running' = running * (1 - momentum) + batch * momentum, momentum in PyTorch's sense
  // (ONNX's momentum attribute is 1 - it). Computed in double, rounded to float.
  void UpdateRunningStatistics(Value& output) {
    const float* mean = p_.running_mean.data<float>();
    const float* var = p_.running_var.data<float>();
    float* mean_out = output.items[1].tensor.data<float>();
    float* var_out = output.items[2].tensor.data<float>();
    const double m = p_.momentum;
    for (int64_t c = 0; c < C_; ++c) {
      mean_out[c] = static_cast<float>(mean[c] * (1.0 - m) + shift_[c] * m);
      var_out[c] = static_cast<float>(var[c] * (1.0 - m) + scale_[c] * m);
    }
  }

  BatchNormParams p_;
  int64_t N_, C_, inner_;
  std::vector<float> scale_, shift_;  // [C], sized once here; Run never allocates
};

absl::StatusOr<std::unique_ptr<Kernel>> BatchNormCreate(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(BatchNormParams p, ReadParams(call));
  return std::make_unique<BatchNormKernel>(std::move(p), call.inputs[0].shape);
}

absl::Status BatchNormInit(Module& m, Rng& rng) {
  SP_ASSIGN_OR_RETURN(int64_t c, GetIntAttr(m.attrs(), "num_features", 0));
  SP_ASSIGN_OR_RETURN(bool affine, GetBoolAttr(m.attrs(), "affine", true));
  SP_ASSIGN_OR_RETURN(bool track, GetBoolAttr(m.attrs(), "track_running_stats", true));
  if (affine) {
    m.SetParameter("weight", Tensor::Full({c}, 1.0f));
    m.SetParameter("bias", Tensor::Zeros({c}));
  }
  if (track) {
    m.SetBuffer("running_mean", Tensor::Zeros({c}));
    m.SetBuffer("running_var", Tensor::Full({c}, 1.0f));
  }
  return absl::OkStatus();
}

}  // namespace

AttrMap LayerNormAttrs::ToAttrs() const {
  AttrMap a = {{"normalized_shape", normalized_shape},
               {"eps", eps},
               {"elementwise_affine", elementwise_affine},
               {"bias", bias}};
  if (return_stats) a["return_stats"] = true;
  return a;
}

AttrMap BatchNorm2dAttrs::ToAttrs() const {
  AttrMap a = {{"num_features", num_features},
               {"eps", eps},
               {"momentum", momentum},
               {"affine", affine},
               {"track_running_stats", track_running_stats}};
  if (onnx_training_mode) a["onnx_training_mode"] = true;
  return a;
}

const OpDef kLayerNormOp = {&LayerNormInfer, &LayerNormCreate, &LayerNormInit};
const OpDef kBatchNorm2dOp = {&BatchNormInfer, &BatchNormCreate, &BatchNormInit};

namespace internal {
absl::StatusOr<BatchNormParams> ReadBatchNormParams(const OpCall& call) { return ReadParams(call); }
}  // namespace internal

}  // namespace structprune
