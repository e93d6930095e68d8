#include "ops/transpose.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/eigen.h"
#include "core/status_macros.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::OpError;

// The input viewed as [outer, D0, mid, D1, inner] with D0 / D1 the swapped dims (d0 < d1).
struct TransposePlan {
  int64_t outer = 1, d0 = 1, mid = 1, d1 = 1, inner = 1;
  Shape out;
};

absl::StatusOr<TransposePlan> PlanTranspose(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, 1));
  const Shape& in = call.inputs[0].shape;
  const int64_t rank = std::max<int64_t>(static_cast<int64_t>(in.size()), 1);
  int64_t dims[2];
  const char* names[2] = {"dim0", "dim1"};
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<int64_t> d = GetIntAttr(*call.attrs, names[i], i);
    if (!d.ok()) return internal::WithOpContext(call, d.status());
    if (*d < -rank || *d >= rank) {
      return OpError(call, absl::StrCat(names[i], " ", *d, " is out of range [", -rank, ", ",
                                        rank - 1, "] for input ", ShapeToString(in)));
    }
    dims[i] = *d < 0 ? *d + rank : *d;
  }
  TransposePlan p;
  p.out = in;
  if (in.empty() || dims[0] == dims[1]) {  // a copy
    p.inner = NumElements(in);
    return p;
  }
  const int64_t lo = std::min(dims[0], dims[1]), hi = std::max(dims[0], dims[1]);
  std::swap(p.out[lo], p.out[hi]);
  for (int64_t d = 0; d < lo; ++d) p.outer *= in[d];
  p.d0 = in[lo];
  for (int64_t d = lo + 1; d < hi; ++d) p.mid *= in[d];
  p.d1 = in[hi];
  for (int64_t d = hi + 1; d < static_cast<int64_t>(in.size()); ++d) p.inner *= in[d];
  return p;
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(TransposePlan p, PlanTranspose(call));
  return ValueInfo::Of(p.out);
}

class TransposeKernel : public Kernel {
 public:
  explicit TransposeKernel(TransposePlan p) : p_(std::move(p)) {}

  // dst [outer, D1, mid, D0, inner][o, j, m, i, :] = src [outer, D0, mid, D1, inner][o, i, m, j,
  // :].
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const float* src = inputs[0]->tensor.data<float>();
    float* dst = output.tensor.data<float>();
    const int64_t block = p_.d0 * p_.mid * p_.d1 * p_.inner;
    for (int64_t o = 0; o < p_.outer; ++o) {
      const float* s = src + o * block;
      float* d = dst + o * block;
      if (p_.mid == 1 && p_.inner == 1) {  // a matrix transpose
        AsMatrix(d, p_.d1, p_.d0) = AsMatrix(s, p_.d0, p_.d1).transpose();
        continue;
      }
      for (int64_t i = 0; i < p_.d0; ++i) {
        for (int64_t m = 0; m < p_.mid; ++m) {
          for (int64_t j = 0; j < p_.d1; ++j) {
            std::memcpy(d + ((j * p_.mid + m) * p_.d0 + i) * p_.inner,
                        s + ((i * p_.mid + m) * p_.d1 + j) * p_.inner,
                        static_cast<size_t>(p_.inner) * sizeof(float));
          }
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  TransposePlan p_;
};

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(TransposePlan p, PlanTranspose(call));
  return std::make_unique<TransposeKernel>(std::move(p));
}

}  // namespace

AttrMap TransposeAttrs::ToAttrs() const { return {{"dim0", dim0}, {"dim1", dim1}}; }

const OpDef kTransposeOp = {&Infer, &Create, nullptr};

}  // namespace structprune
