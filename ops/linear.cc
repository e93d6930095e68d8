#include "ops/linear.h"

#include "core/eigen.h"
#include "core/status_macros.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::ExpectParameter;
using internal::OpError;

using internal::LinearParams;

absl::StatusOr<LinearParams> ReadParams(const OpCall& call) {
  LinearParams p;
  const AttrMap& a = *call.attrs;
  SP_ASSIGN_OR_RETURN(p.in_features, GetIntAttr(a, "in_features", -1));
  SP_ASSIGN_OR_RETURN(p.out_features, GetIntAttr(a, "out_features", -1));
  SP_ASSIGN_OR_RETURN(bool has_bias, GetBoolAttr(a, "bias", true));
  if (p.in_features < 0 || p.out_features < 0) {
    return OpError(call, "in_features and out_features must be set and non-negative");
  }
  SP_ASSIGN_OR_RETURN(p.weight, ExpectParameter(call, "weight", {p.out_features, p.in_features}));
  // The bias attribute says whether the layer was built with one; a pruning bias hook may have
  // moved it aside, so a missing parameter is fine.
  if (has_bias && call.module->HasParameter("bias")) {
    SP_ASSIGN_OR_RETURN(p.bias, ExpectParameter(call, "bias", {p.out_features}));
  }
  return p;
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, 1));
  SP_ASSIGN_OR_RETURN(LinearParams p, ReadParams(call));
  const Shape& in = call.inputs[0].shape;
  if (in.empty()) return OpError(call, "input must have at least 1 dimension, got a scalar");
  if (in.back() != p.in_features) {
    return OpError(call, absl::StrCat("input ", ShapeToString(in), " has ", in.back(),
                                      " features, weight expects ", p.in_features));
  }
  Shape out = in;
  out.back() = p.out_features;
  return ValueInfo::Of(out);
}

class LinearKernel : public Kernel {
 public:
  explicit LinearKernel(LinearParams p) : p_(std::move(p)) {}

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const Tensor& src = inputs[0]->tensor;
    const int64_t N = src.numel() / std::max<int64_t>(p_.in_features, 1);
    auto x = AsMatrix(src, N, p_.in_features);
    auto w = AsMatrix(p_.weight, p_.out_features, p_.in_features);
    auto y = AsMatrix(output.tensor, N, p_.out_features);
    y.noalias() = x * w.transpose();
    if (p_.bias.defined()) {
      y.rowwise() += ConstVectorMap(p_.bias.data<float>(), p_.out_features).transpose();
    }
    return absl::OkStatus();
  }

 private:
  LinearParams p_;
};

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(LinearParams p, ReadParams(call));
  return std::make_unique<LinearKernel>(std::move(p));
}

absl::Status InitModule(Module& m, Rng& rng) {
  SP_ASSIGN_OR_RETURN(int64_t in, GetIntAttr(m.attrs(), "in_features", 0));
  SP_ASSIGN_OR_RETURN(int64_t out, GetIntAttr(m.attrs(), "out_features", 0));
  SP_ASSIGN_OR_RETURN(bool bias, GetBoolAttr(m.attrs(), "bias", true));
  // PyTorch: kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in)); the bias likewise.
  double bound = in > 0 ? 1.0 / std::sqrt(static_cast<double>(in)) : 0.0;
  m.SetParameter("weight", internal::UniformInit(rng, {out, in}, bound));
  if (bias) m.SetParameter("bias", internal::UniformInit(rng, {out}, bound));
  return absl::OkStatus();
}

}  // namespace

OpKind LinearAttrs::Kind() { return OpKind::kLinear; }

AttrMap LinearAttrs::ToAttrs() const {
  return {{"in_features", in_features}, {"out_features", out_features}, {"bias", bias}};
}

const OpDef kLinearOp = {&Infer, &Create, &InitModule};

namespace internal {
absl::StatusOr<LinearParams> ReadLinearParams(const OpCall& call) { return ReadParams(call); }
}  // namespace internal

}  // namespace structprune
