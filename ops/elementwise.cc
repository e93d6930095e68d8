#include "ops/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/eigen.h"
#include "core/status_macros.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::OpError;

// The broadcast shape of a and b (NumPy rules, trailing dims aligned).
absl::StatusOr<Shape> BroadcastShape(const OpCall& call, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Dimension i of the output, counted from the front; size 1 where an input has no such dim.
    const int64_t sa = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
    const int64_t sb = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
    if (sa != sb && sa != 1 && sb != 1) {
      return OpError(call, absl::StrCat("shapes ", ShapeToString(a), " and ", ShapeToString(b),
                                        " do not broadcast: sizes ", sa, " and ", sb,
                                        " in output dimension ", i));
    }
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

absl::StatusOr<double> ReadAlpha(const OpCall& call) {
  absl::StatusOr<double> alpha = GetFloatAttr(*call.attrs, "alpha", 1.0);
  if (!alpha.ok()) return internal::WithOpContext(call, alpha.status());
  return alpha;
}

// The wrap_to attribute: 0 (none), 8 bits unsigned (uint8) or signed (int8).
enum class Wrap { kNone, kUint8, kInt8 };

absl::StatusOr<Wrap> ReadWrap(const OpCall& call) {
  absl::StatusOr<std::string> wrap = GetStringAttr(*call.attrs, "wrap_to", "");
  if (!wrap.ok()) return internal::WithOpContext(call, wrap.status());
  if (wrap->empty()) return Wrap::kNone;
  if (*wrap == "uint8") return Wrap::kUint8;
  if (*wrap == "int8") return Wrap::kInt8;
  return OpError(call, absl::StrCat("wrap_to must be \"int8\" or \"uint8\", got \"", *wrap, "\""));
}

absl::StatusOr<ValueInfo> AddInfer(const OpCall& call) {
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 2, 2));
  SP_RETURN_IF_ERROR(ReadAlpha(call).status());
  SP_RETURN_IF_ERROR(ReadWrap(call).status());
  SP_ASSIGN_OR_RETURN(Shape out, BroadcastShape(call, call.inputs[0].shape, call.inputs[1].shape));
  return ValueInfo::Of(std::move(out));
}

// The output walked as nested loops (outermost first): dims of size 1 dropped and adjacent dims
// merged where both inputs step through them contiguously (or both broadcast), so equal shapes
// become one flat loop and [N, C, H, W] + [1, C, 1, 1] becomes [N, C, H*W] with strides
// a: (C*HW, HW, 1), b: (0, 1, 0).
struct LoopNest {
  std::vector<int64_t> sizes, a_strides, b_strides;
};

// Element strides of `s` viewed with `rank` dims (leading 1s), 0 along broadcast dims.
std::vector<int64_t> BroadcastStrides(const Shape& s, size_t rank) {
  std::vector<int64_t> strides(rank, 0);
  int64_t stride = 1;
  for (size_t k = 0; k < s.size(); ++k) {
    const size_t src_d = s.size() - 1 - k;  // innermost first
    const size_t d = rank - 1 - k;
    strides[d] = s[src_d] == 1 ? 0 : stride;
    stride *= s[src_d];
  }
  return strides;
}

LoopNest PlanLoops(const Shape& a, const Shape& b, const Shape& out) {
  const std::vector<int64_t> sa = BroadcastStrides(a, out.size());
  const std::vector<int64_t> sb = BroadcastStrides(b, out.size());
  LoopNest nest;
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;
    if (!nest.sizes.empty()) {
      // Merge into the previous (outer) dim when both inputs step `stride * size` across it.
      int64_t& size = nest.sizes.back();
      const bool merge_a = nest.a_strides.back() == sa[d] * out[d];
      const bool merge_b = nest.b_strides.back() == sb[d] * out[d];
      if (merge_a && merge_b) {
        size *= out[d];
        nest.a_strides.back() = sa[d];
        nest.b_strides.back() = sb[d];
        continue;
      }
    }
    nest.sizes.push_back(out[d]);
    nest.a_strides.push_back(sa[d]);
    nest.b_strides.push_back(sb[d]);
  }
  return nest;
}

class AddKernel : public Kernel {
 public:
  AddKernel(float alpha, Wrap wrap, LoopNest nest, int64_t numel)
      : alpha_(alpha),
        wrap_(wrap),
        nest_(std::move(nest)),
        numel_(numel),
        counter_(nest_.sizes.size(), 0) {}

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    Sum(inputs, output);
    if (wrap_ != Wrap::kNone) WrapToEightBits(output.tensor.data<float>());
    return absl::OkStatus();
  }

 private:
  // The sum of two 8-bit integers (at most 2 * 255 in magnitude) is exact in float32; its low 8
  // bits are the wrapped result, read as unsigned or as two's complement.
  void WrapToEightBits(float* y) const {
    for (int64_t i = 0; i < numel_; ++i) {
      const uint8_t bits = static_cast<uint8_t>(static_cast<int64_t>(std::nearbyint(y[i])) & 0xff);
      y[i] = wrap_ == Wrap::kUint8 ? static_cast<float>(bits)
                                   : static_cast<float>(static_cast<int8_t>(bits));
    }
  }

  void Sum(absl::Span<const Value* const> inputs, Value& output) {
    const float* a = inputs[0]->tensor.data<float>();
    const float* b = inputs[1]->tensor.data<float>();
    float* y = output.tensor.data<float>();
    if (numel_ == 0) return;
    const size_t k = nest_.sizes.size();
    if (k == 0) {  // every dim has size 1
      y[0] = a[0] + alpha_ * b[0];
      return;
    }
    const int64_t n = nest_.sizes[k - 1];
    const int64_t inner_a = nest_.a_strides[k - 1], inner_b = nest_.b_strides[k - 1];
    std::fill(counter_.begin(), counter_.end(), 0);
    int64_t offset_a = 0, offset_b = 0;
    for (int64_t o = 0; o < numel_ / n; ++o) {
      Inner(a + offset_a, inner_a, b + offset_b, inner_b, y + o * n, n);
      // Step the outer dims like an odometer.
      for (size_t d = k - 1; d-- > 0;) {
        if (++counter_[d] < nest_.sizes[d]) {
          offset_a += nest_.a_strides[d];
          offset_b += nest_.b_strides[d];
          break;
        }
        counter_[d] = 0;
        offset_a -= nest_.a_strides[d] * (nest_.sizes[d] - 1);
        offset_b -= nest_.b_strides[d] * (nest_.sizes[d] - 1);
      }
    }
  }

  // y[i] = a[i * sa] + alpha * b[i * sb], strides 0 or 1.
  void Inner(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n) const {
    if (sa == 1 && sb == 1) {
      auto ya = Eigen::Map<Eigen::ArrayXf>(y, n);
      auto aa = Eigen::Map<const Eigen::ArrayXf>(a, n);
      auto ba = Eigen::Map<const Eigen::ArrayXf>(b, n);
      if (alpha_ == 1.0f) {
        ya = aa + ba;
      } else {
        ya = aa + alpha_ * ba;
      }
    } else if (sa == 1) {
      const float bv = alpha_ * b[0];
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] + bv;
    } else if (sb == 1) {
      const float av = a[0];
      for (int64_t i = 0; i < n; ++i) y[i] = av + alpha_ * b[i];
    } else {
      std::fill_n(y, n, a[0] + alpha_ * b[0]);
    }
  }

  float alpha_;
  Wrap wrap_;
  LoopNest nest_;
  int64_t numel_;
  std::vector<int64_t> counter_;  // odometer over the outer dims, sized once here
};

absl::StatusOr<std::unique_ptr<Kernel>> AddCreate(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(double alpha, ReadAlpha(call));
  SP_ASSIGN_OR_RETURN(Wrap wrap, ReadWrap(call));
  const Shape& a = call.inputs[0].shape;
  const Shape& b = call.inputs[1].shape;
  SP_ASSIGN_OR_RETURN(Shape out, BroadcastShape(call, a, b));
  return std::make_unique<AddKernel>(static_cast<float>(alpha), wrap, PlanLoops(a, b, out),
                                     NumElements(out));
}

}  // namespace

const OpDef kAddOp = {&AddInfer, &AddCreate, nullptr};

}  // namespace structprune
