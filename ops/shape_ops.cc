#include "ops/shape_ops.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/status_macros.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::OpError;

// PyTorch's maybe_wrap_dim: a 0-D tensor accepts dims as if it were 1-D.
absl::StatusOr<int64_t> WrapDim(const OpCall& call, const char* what, int64_t dim,
                                const Shape& shape, std::string_view input) {
  const int64_t rank = std::max<int64_t>(static_cast<int64_t>(shape.size()), 1);
  if (dim < -rank || dim >= rank) {
    return OpError(call, absl::StrCat(what, " ", dim, " is out of range [", -rank, ", ", rank - 1,
                                      "] for ", std::string(input), " ", ShapeToString(shape)));
  }
  return dim < 0 ? dim + rank : dim;
}

// ---------------------------------------------------------------------------------------------
// flatten

absl::StatusOr<Shape> FlattenShape(const OpCall& call) {
  // nn.Flatten starts at dim 1, torch.flatten at dim 0.
  absl::StatusOr<int64_t> start = GetIntAttr(*call.attrs, "start_dim", call.module ? 1 : 0);
  if (!start.ok()) return internal::WithOpContext(call, start.status());
  absl::StatusOr<int64_t> end = GetIntAttr(*call.attrs, "end_dim", -1);
  if (!end.ok()) return internal::WithOpContext(call, end.status());
  const Shape& in = call.inputs[0].shape;
  SP_ASSIGN_OR_RETURN(int64_t s, WrapDim(call, "start_dim", *start, in, "input"));
  SP_ASSIGN_OR_RETURN(int64_t e, WrapDim(call, "end_dim", *end, in, "input"));
  if (s > e) {
    return OpError(call, absl::StrCat("start_dim ", *start, " comes after end_dim ", *end,
                                      " for input ", ShapeToString(in)));
  }
  if (in.empty()) return Shape{1};
  Shape out(in.begin(), in.begin() + s);
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= in[d];
  out.push_back(merged);
  out.insert(out.end(), in.begin() + e + 1, in.end());
  return out;
}

absl::StatusOr<ValueInfo> FlattenInfer(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, 1));
  SP_ASSIGN_OR_RETURN(Shape out, FlattenShape(call));
  return ValueInfo::Of(std::move(out));
}

class FlattenKernel : public Kernel {
 public:
  explicit FlattenKernel(Shape shape) : shape_(std::move(shape)) {}
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    output.is_tuple = false;
    SP_ASSIGN_OR_RETURN(output.tensor, inputs[0]->tensor.Reshape(shape_));  // a view
    return absl::OkStatus();
  }

 private:
  Shape shape_;
};

absl::StatusOr<std::unique_ptr<Kernel>> FlattenCreate(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(Shape out, FlattenShape(call));
  return std::make_unique<FlattenKernel>(std::move(out));
}

// ---------------------------------------------------------------------------------------------
// getitem

absl::StatusOr<size_t> GetItemIndex(const OpCall& call) {
  if (call.inputs.size() != 1) {
    return OpError(call, absl::StrCat("expects 1 input(s), got ", call.inputs.size()));
  }
  const ValueInfo& in = call.inputs[0];
  if (!in.is_tuple) {
    return OpError(call, absl::StrCat("input must be a tuple, got a tensor ", in.ToString()));
  }
  if (!call.attrs->contains("index")) return OpError(call, "attribute 'index' is required");
  absl::StatusOr<int64_t> index = GetIntAttr(*call.attrs, "index", 0);
  if (!index.ok()) return internal::WithOpContext(call, index.status());
  const int64_t n = static_cast<int64_t>(in.items.size());
  if (*index < -n || *index >= n) {
    return OpError(call, absl::StrCat("index ", *index, " is out of range for a tuple of ", n,
                                      " items ", in.ToString()));
  }
  return static_cast<size_t>(*index < 0 ? *index + n : *index);
}

absl::StatusOr<ValueInfo> GetItemInfer(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(size_t index, GetItemIndex(call));
  return call.inputs[0].items[index];
}

class GetItemKernel : public Kernel {
 public:
  explicit GetItemKernel(size_t index) : index_(index) {}
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    output = inputs[0]->items[index_];  // shares the item's tensors
    return absl::OkStatus();
  }

 private:
  size_t index_;
};

absl::StatusOr<std::unique_ptr<Kernel>> GetItemCreate(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(size_t index, GetItemIndex(call));
  return std::make_unique<GetItemKernel>(index);
}

// ---------------------------------------------------------------------------------------------
// cat

// PyTorch's legacy rule: 1-D empty tensors take part in no shape check and add nothing.
bool SkippedByCat(const Shape& s) { return s.size() == 1 && s[0] == 0; }

struct CatPlan {
  Shape out;
  int64_t dim = 0;
};

absl::StatusOr<CatPlan> PlanCat(const OpCall& call) {
  if (call.inputs.empty()) return OpError(call, "expects at least 1 input, got 0");
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, call.inputs.size()));
  absl::StatusOr<int64_t> dim_attr = GetIntAttr(*call.attrs, "dim", 0);
  if (!dim_attr.ok()) return internal::WithOpContext(call, dim_attr.status());
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    if (call.inputs[i].shape.empty()) {
      return OpError(call, absl::StrCat("input ", i,
                                        " is 0-D; zero-dimensional tensors cannot "
                                        "be concatenated"));
    }
  }
  // The reference: the first input that is not skipped (or input 0 when all are).
  size_t ref = 0;
  while (ref < call.inputs.size() && SkippedByCat(call.inputs[ref].shape)) ++ref;
  if (ref == call.inputs.size()) ref = 0;
  const Shape& ref_shape = call.inputs[ref].shape;
  CatPlan plan;
  SP_ASSIGN_OR_RETURN(plan.dim,
                      WrapDim(call, "dim", *dim_attr, ref_shape, absl::StrCat("input ", ref)));
  plan.out = ref_shape;
  plan.out[plan.dim] = 0;
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    const Shape& s = call.inputs[i].shape;
    if (SkippedByCat(s) && i != ref) continue;
    if (s.size() != ref_shape.size()) {
      return OpError(call, absl::StrCat("input ", i, " ", ShapeToString(s), " has ", s.size(),
                                        " dimensions, input ", ref, " ", ShapeToString(ref_shape),
                                        " has ", ref_shape.size()));
    }
    for (size_t d = 0; d < s.size(); ++d) {
      if (static_cast<int64_t>(d) != plan.dim && s[d] != ref_shape[d]) {
        return OpError(call, absl::StrCat("input ", i, " has shape ", ShapeToString(s), ", input ",
                                          ref, " has ", ShapeToString(ref_shape),
                                          ": sizes must match except in dimension ", plan.dim));
      }
    }
    plan.out[plan.dim] += s[plan.dim];
  }
  return plan;
}

absl::StatusOr<ValueInfo> CatInfer(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(CatPlan plan, PlanCat(call));
  return ValueInfo::Of(plan.out);
}

class CatKernel : public Kernel {
 public:
  CatKernel(int64_t outer, std::vector<int64_t> chunks)
      : outer_(outer), chunks_(std::move(chunks)) {}

  // Viewing input i as [outer, chunk_i] and the output as [outer, sum(chunk_i)], row o of the
  // output is rows o of the inputs, one after another.
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    float* dst = output.tensor.data<float>();
    for (int64_t o = 0; o < outer_; ++o) {
      for (size_t i = 0; i < chunks_.size(); ++i) {
        if (chunks_[i] == 0) continue;
        std::memcpy(dst, inputs[i]->tensor.data<float>() + o * chunks_[i],
                    static_cast<size_t>(chunks_[i]) * sizeof(float));
        dst += chunks_[i];
      }
    }
    return absl::OkStatus();
  }

 private:
  int64_t outer_;
  std::vector<int64_t> chunks_;  // elements per outer row, per input (0: skipped)
};

absl::StatusOr<std::unique_ptr<Kernel>> CatCreate(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(CatPlan plan, PlanCat(call));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < plan.dim; ++d) outer *= plan.out[d];
  for (size_t d = plan.dim + 1; d < plan.out.size(); ++d) inner *= plan.out[d];
  std::vector<int64_t> chunks;
  for (const ValueInfo& in : call.inputs) {
    chunks.push_back(SkippedByCat(in.shape) ? 0 : in.shape[plan.dim] * inner);
  }
  return std::make_unique<CatKernel>(outer, std::move(chunks));
}

// ---------------------------------------------------------------------------------------------
// identity

absl::Status CheckIdentity(const OpCall& call) {
  if (call.inputs.size() != 1) {
    return OpError(call, absl::StrCat("expects 1 input(s), got ", call.inputs.size()));
  }
  return absl::OkStatus();  // nn.Identity passes anything through, tuples included
}

absl::StatusOr<ValueInfo> IdentityInfer(const OpCall& call) {
  SP_RETURN_IF_ERROR(CheckIdentity(call));
  return call.inputs[0];
}

class IdentityKernel : public Kernel {
 public:
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    output = *inputs[0];
    return absl::OkStatus();
  }
};

absl::StatusOr<std::unique_ptr<Kernel>> IdentityCreate(const OpCall& call) {
  return std::make_unique<IdentityKernel>();
}

}  // namespace

std::unique_ptr<Kernel> internal::MakeViewKernel(Shape shape) {
  return std::make_unique<FlattenKernel>(std::move(shape));
}

AttrMap FlattenAttrs::ToAttrs() const { return {{"start_dim", start_dim}, {"end_dim", end_dim}}; }

const OpDef kFlattenOp = {&FlattenInfer, &FlattenCreate, nullptr};
const OpDef kGetItemOp = {&GetItemInfer, &GetItemCreate, nullptr};
const OpDef kCatOp = {&CatInfer, &CatCreate, nullptr};
const OpDef kIdentityOp = {&IdentityInfer, &IdentityCreate, nullptr};

}  // namespace structprune
