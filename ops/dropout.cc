#include "ops/dropout.h"

#include <algorithm>
#include <random>

#include "core/status_macros.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::OpError;

struct DropoutParams {
  double p = 0.5;
  bool training = false;
  std::optional<uint32_t> seed;
  bool return_mask = false;
};

absl::StatusOr<DropoutParams> ReadParams(const OpCall& call) {
  DropoutParams d;
  const AttrMap& a = *call.attrs;
  SP_ASSIGN_OR_RETURN(d.p, internal::WithOpContextOr(call, GetFloatAttr(a, "p", 0.5)));
  if (d.p < 0.0 || d.p > 1.0) {
    return OpError(call, absl::StrCat("dropout probability has to be between 0 and 1, got ", d.p));
  }
  // nn.Dropout in eval is the identity. F.dropout's own default is training=True, but traced
  // inference graphs pass self.training.
  SP_ASSIGN_OR_RETURN(d.training,
                      internal::WithOpContextOr(call, GetBoolAttr(a, "training", false)));
  SP_ASSIGN_OR_RETURN(d.return_mask,
                      internal::WithOpContextOr(call, GetBoolAttr(a, "return_mask", false)));
  if (a.contains("seed")) {
    SP_ASSIGN_OR_RETURN(int64_t seed, internal::WithOpContextOr(call, GetIntAttr(a, "seed", 0)));
    if (seed < 0 || seed > int64_t{0xffffffff}) {
      return OpError(call, absl::StrCat("seed must lie in [0, 2^32 - 1] (numpy's legacy seeding), "
                                        "got ",
                                        seed));
    }
    d.seed = static_cast<uint32_t>(seed);
  }
  return d;
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, 1));
  SP_ASSIGN_OR_RETURN(DropoutParams d, ReadParams(call));
  if (!d.return_mask) return call.inputs[0];
  return ValueInfo::Tuple({call.inputs[0], ValueInfo::Of(call.inputs[0].shape, DType::kBool)});
}

// The next uniform double in [0, 1) of numpy's legacy RandomState: 53 bits from two 32-bit
// MT19937 draws (27 high bits of the first, 26 of the second).
double NextNumpyDouble(std::mt19937& engine) {
  const uint32_t a = static_cast<uint32_t>(engine()) >> 5;
  const uint32_t b = static_cast<uint32_t>(engine()) >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

class DropoutKernel : public Kernel {
 public:
  explicit DropoutKernel(DropoutParams d) : d_(d) {}

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    if (!d_.training) {
      if (!d_.return_mask) {
        output = *inputs[0];
        return absl::OkStatus();
      }
      output.items[0] = *inputs[0];
      Tensor& mask = output.items[1].tensor;
      std::fill_n(mask.data<bool>(), mask.numel(), true);
      return absl::OkStatus();
    }
    const Tensor& src = inputs[0]->tensor;
    float* dst = (d_.return_mask ? output.items[0].tensor : output.tensor).data<float>();
    bool* keep = d_.return_mask ? output.items[1].tensor.data<bool>() : nullptr;
    // init_genrand(seed), the seeding of both numpy's RandomState(int) and std::mt19937(int).
    std::mt19937 engine(d_.seed.has_value() ? *d_.seed : std::random_device{}());
    // ONNX's reference scales by the float32 1 / (1 - p); p = 1 keeps nothing.
    const float p = static_cast<float>(d_.p);
    const float scale = d_.p < 1.0 ? 1.0f / (1.0f - p) : 0.0f;
    const float* x = src.data<float>();
    for (int64_t i = 0; i < src.numel(); ++i) {
      const bool k = NextNumpyDouble(engine) >= d_.p;
      dst[i] = k ? x[i] * scale : 0.0f;
      if (keep != nullptr) keep[i] = k;
    }
    return absl::OkStatus();
  }

 private:
  DropoutParams d_;
};

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(DropoutParams d, ReadParams(call));
  return std::make_unique<DropoutKernel>(d);
}

}  // namespace

AttrMap DropoutAttrs::ToAttrs() const {
  AttrMap a = {{"p", p}};
  if (training) a["training"] = true;
  if (seed.has_value()) a["seed"] = *seed;
  if (return_mask) a["return_mask"] = true;
  return a;
}

const OpDef kDropoutOp = {&Infer, &Create, nullptr};

}  // namespace structprune
