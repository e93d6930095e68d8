#include "ops/reshape.h"

#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"

namespace structprune {
namespace {

using internal::OpError;

// PyTorch's infer_size: the output shape, the -1 resolved.
absl::StatusOr<Shape> ReshapeShape(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, 1));
  if (!call.attrs->contains("shape")) return OpError(call, "attribute 'shape' is required");
  absl::StatusOr<std::vector<int64_t>> target = GetIntsAttr(*call.attrs, "shape", {});
  if (!target.ok()) return internal::WithOpContext(call, target.status());
  const int64_t numel = NumElements(call.inputs[0].shape);
  const std::string requested = absl::StrCat("[", absl::StrJoin(*target, ", "), "]");
  Shape out(target->begin(), target->end());
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0)
        return OpError(call, absl::StrCat("shape ", requested, " has more than one -1"));
      infer = static_cast<int>(i);
    } else if (out[i] < 0) {
      return OpError(call, absl::StrCat("shape ", requested, " has the invalid size ", out[i]));
    } else {
      known *= out[i];
    }
  }
  if (infer >= 0 && known != 0 && numel % known == 0) out[infer] = numel / known;
  if ((infer >= 0 && (known == 0 || numel % known != 0)) || (infer < 0 && known != numel)) {
    return OpError(call,
                   absl::StrCat("shape ", requested, " is invalid for input ",
                                ShapeToString(call.inputs[0].shape), " of ", numel, " elements"));
  }
  return out;
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(Shape out, ReshapeShape(call));
  return ValueInfo::Of(std::move(out));
}

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(Shape out, ReshapeShape(call));
  return internal::MakeViewKernel(std::move(out));
}

}  // namespace

AttrMap ReshapeAttrs::ToAttrs() const { return {{"shape", shape}}; }

const OpDef kReshapeOp = {&Infer, &Create, nullptr};

}  // namespace structprune
