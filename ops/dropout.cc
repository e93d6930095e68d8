#include "ops/dropout.h"

#include <algorithm>

#include "core/status_macros.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::OpError;

absl::StatusOr<bool> ReadReturnMask(const OpCall& call) {
  absl::StatusOr<bool> return_mask = GetBoolAttr(*call.attrs, "return_mask", false);
  if (!return_mask.ok()) return internal::WithOpContext(call, return_mask.status());
  return *return_mask;
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, 1));
  absl::StatusOr<double> p = GetFloatAttr(*call.attrs, "p", 0.5);
  if (!p.ok()) return internal::WithOpContext(call, p.status());
  if (*p < 0.0 || *p > 1.0) {
    return OpError(call, absl::StrCat("dropout probability has to be between 0 and 1, got ", *p));
  }
  // nn.Dropout in eval is the identity. F.dropout's own default is training=True, but traced
  // inference graphs pass self.training; an explicit true would be random.
  absl::StatusOr<bool> training = GetBoolAttr(*call.attrs, "training", false);
  if (!training.ok()) return internal::WithOpContext(call, training.status());
  if (*training) {
    return internal::WithOpContext(
        call, absl::UnimplementedError("training-mode dropout is not supported (inference only)"));
  }
  SP_ASSIGN_OR_RETURN(bool return_mask, ReadReturnMask(call));
  if (!return_mask) return call.inputs[0];
  return ValueInfo::Tuple({call.inputs[0], ValueInfo::Of(call.inputs[0].shape, DType::kBool)});
}

class DropoutKernel : public Kernel {
 public:
  explicit DropoutKernel(bool return_mask) : return_mask_(return_mask) {}

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    if (!return_mask_) {
      output = *inputs[0];
      return absl::OkStatus();
    }
    output.items[0] = *inputs[0];
    Tensor& mask = output.items[1].tensor;
    std::fill_n(mask.data<bool>(), mask.numel(), true);
    return absl::OkStatus();
  }

 private:
  bool return_mask_;
};

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(bool return_mask, ReadReturnMask(call));
  return std::make_unique<DropoutKernel>(return_mask);
}

}  // namespace

AttrMap DropoutAttrs::ToAttrs() const {
  AttrMap a = {{"p", p}};
  if (return_mask) a["return_mask"] = true;
  return a;
}

const OpDef kDropoutOp = {&Infer, &Create, nullptr};

}  // namespace structprune
