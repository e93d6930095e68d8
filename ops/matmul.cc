#include "ops/matmul.h"

#include <algorithm>
#include <vector>

#include "core/eigen.h"
#include "core/status_macros.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::OpError;

// The product as batches of [M, K] x [K, N]: `batch` the broadcast batch dims, the operands'
// strides over them (0 along a broadcast dim), and the output shape torch.matmul gives.
struct MatmulPlan {
  int64_t M = 1, K = 1, N = 1;
  Shape batch;
  std::vector<int64_t> a_strides, b_strides;  // elements, per batch dim
  Shape out;
};

absl::StatusOr<MatmulPlan> PlanMatmul(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 2, 2));
  const Shape& a = call.inputs[0].shape;
  const Shape& b = call.inputs[1].shape;
  if (a.empty() || b.empty()) {
    return OpError(call, absl::StrCat("both arguments need at least 1 dimension, got ",
                                      ShapeToString(a), " and ", ShapeToString(b)));
  }
  // A 1-D input is [1, K] (a row), a 1-D other [K, 1] (a column); the output drops that dim.
  Shape a2 = a, b2 = b;
  if (a.size() == 1) a2.insert(a2.begin(), 1);
  if (b.size() == 1) b2.push_back(1);
  MatmulPlan p;
  p.M = a2[a2.size() - 2];
  p.K = a2.back();
  p.N = b2.back();
  if (b2[b2.size() - 2] != p.K) {
    return OpError(call, absl::StrCat("shapes ", ShapeToString(a), " and ", ShapeToString(b),
                                      " cannot be multiplied: input has ", p.K,
                                      " columns, other has ", b2[b2.size() - 2], " rows"));
  }
  const size_t a_batch = a2.size() - 2, b_batch = b2.size() - 2;
  const size_t rank = std::max(a_batch, b_batch);
  p.batch.resize(rank);
  p.a_strides.assign(rank, 0);
  p.b_strides.assign(rank, 0);
  int64_t a_stride = p.M * p.K, b_stride = p.K * p.N;
  for (size_t k = 0; k < rank; ++k) {  // batch dims, innermost first
    const size_t d = rank - 1 - k;
    const int64_t sa = k < a_batch ? a2[a_batch - 1 - k] : 1;
    const int64_t sb = k < b_batch ? b2[b_batch - 1 - k] : 1;
    if (sa != sb && sa != 1 && sb != 1) {
      return OpError(call, absl::StrCat("batch dims of ", ShapeToString(a), " and ",
                                        ShapeToString(b), " do not broadcast: sizes ", sa, " and ",
                                        sb, " in batch dimension ", d));
    }
    p.batch[d] = sa == 1 ? sb : sa;
    p.a_strides[d] = sa == 1 ? 0 : a_stride;
    p.b_strides[d] = sb == 1 ? 0 : b_stride;
    a_stride *= sa;
    b_stride *= sb;
  }
  p.out = p.batch;
  if (a.size() > 1) p.out.push_back(p.M);
  if (b.size() > 1) p.out.push_back(p.N);
  return p;
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(MatmulPlan p, PlanMatmul(call));
  return ValueInfo::Of(p.out);
}

class MatmulKernel : public Kernel {
 public:
  // a_offsets / b_offsets: where each output batch's operands start (empty: one GEMM of the
  // input viewed as [batch * M, K], when `other` is one matrix for every batch).
  MatmulKernel(MatmulPlan p, std::vector<int64_t> a_offsets, std::vector<int64_t> b_offsets)
      : p_(std::move(p)), a_offsets_(std::move(a_offsets)), b_offsets_(std::move(b_offsets)) {}

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const float* a = inputs[0]->tensor.data<float>();
    const float* b = inputs[1]->tensor.data<float>();
    float* y = output.tensor.data<float>();
    if (a_offsets_.empty()) {
      const int64_t rows = NumElements(p_.batch) * p_.M;
      Multiply(a, b, y, rows);
      return absl::OkStatus();
    }
    for (size_t i = 0; i < a_offsets_.size(); ++i) {
      Multiply(a + a_offsets_[i], b + b_offsets_[i], y + static_cast<int64_t>(i) * p_.M * p_.N,
               p_.M);
    }
    return absl::OkStatus();
  }

 private:
  // y [rows, N] = a [rows, K] x b [K, N], row-major.
  void Multiply(const float* a, const float* b, float* y, int64_t rows) const {
    auto dst = AsMatrix(y, rows, p_.N);
    if (p_.K == 0) {
      dst.setZero();
      return;
    }
    dst.noalias() = AsMatrix(a, rows, p_.K) * AsMatrix(b, p_.K, p_.N);
  }

  MatmulPlan p_;
  std::vector<int64_t> a_offsets_, b_offsets_;
};

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(MatmulPlan p, PlanMatmul(call));
  const bool one_other =
      std::all_of(p.b_strides.begin(), p.b_strides.end(), [](int64_t s) { return s == 0; });
  bool input_dense = true;  // the input holds every batch (no broadcast dim)
  for (size_t d = 0; d < p.batch.size(); ++d)
    input_dense = input_dense && (p.a_strides[d] != 0 || p.batch[d] == 1);
  std::vector<int64_t> a_offsets, b_offsets;
  if (!(one_other && input_dense)) {
    // Walk the batch dims like an odometer, innermost fastest.
    const int64_t count = NumElements(p.batch);
    std::vector<int64_t> counter(p.batch.size(), 0);
    int64_t oa = 0, ob = 0;
    for (int64_t i = 0; i < count; ++i) {
      a_offsets.push_back(oa);
      b_offsets.push_back(ob);
      for (size_t d = p.batch.size(); d-- > 0;) {
        if (++counter[d] < p.batch[d]) {
          oa += p.a_strides[d];
          ob += p.b_strides[d];
          break;
        }
        counter[d] = 0;
        oa -= p.a_strides[d] * (p.batch[d] - 1);
        ob -= p.b_strides[d] * (p.batch[d] - 1);
      }
    }
  }
  return std::make_unique<MatmulKernel>(std::move(p), std::move(a_offsets), std::move(b_offsets));
}

}  // namespace

const OpDef kMatmulOp = {&Infer, &Create, nullptr};

}  // namespace structprune
