#include "core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace structprune {
namespace {

std::shared_ptr<std::byte> AllocateAligned(size_t nbytes) {
  // Round up so vector kernels may read whole cache lines; at least one line so data() is valid.
  size_t rounded = std::max<size_t>(Tensor::kAlignment,
                                    (nbytes + Tensor::kAlignment - 1) / Tensor::kAlignment *
                                        Tensor::kAlignment);
  // Plain calloc plus manual alignment: glibc's memalign is several times slower for the many
  // small tensors a pruning pass creates.
  void* raw = std::calloc(rounded + Tensor::kAlignment, 1);
  if (raw == nullptr) throw std::bad_alloc();
  const uintptr_t address = reinterpret_cast<uintptr_t>(raw);
  auto* aligned = reinterpret_cast<std::byte*>((address + Tensor::kAlignment - 1) &
                                               ~(uintptr_t{Tensor::kAlignment} - 1));
  return std::shared_ptr<std::byte>(aligned, [raw](std::byte*) { std::free(raw); });
}

}  // namespace

std::string DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kBool: return "bool";
    case DType::kInt64: return "int64";
  }
  return "unknown";
}

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return 4;
    case DType::kBool: return 1;
    case DType::kInt64: return 8;
  }
  return 1;
}

Tensor Tensor::Zeros(const Shape& shape, DType dtype) {
  return Tensor(AllocateAligned(NumElements(shape) * DTypeSize(dtype)), shape, dtype);
}

Tensor Tensor::Full(const Shape& shape, float value) {
  Tensor t = Zeros(shape);
  std::fill_n(t.data<float>(), t.numel(), value);
  return t;
}

absl::StatusOr<Tensor> Tensor::FromVector(const Shape& shape, absl::Span<const float> values) {
  for (int64_t d : shape) {
    if (d < 0) return absl::InvalidArgumentError("negative dimension in shape " + ShapeToString(shape));
  }
  if (static_cast<int64_t>(values.size()) != NumElements(shape)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "shape %s needs %d values, got %d", ShapeToString(shape), NumElements(shape), values.size()));
  }
  Tensor t = Zeros(shape);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

absl::StatusOr<Tensor> Tensor::FromBools(const Shape& shape, const std::vector<bool>& values) {
  if (static_cast<int64_t>(values.size()) != NumElements(shape)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "shape %s needs %d values, got %d", ShapeToString(shape), NumElements(shape), values.size()));
  }
  Tensor t = Zeros(shape, DType::kBool);
  for (size_t i = 0; i < values.size(); ++i) t.data<bool>()[i] = values[i];
  return t;
}

absl::StatusOr<Tensor> Tensor::Reshape(const Shape& shape) const {
  if (NumElements(shape) != numel()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot reshape ", ShapeToString(shape_), " to ",
                                                   ShapeToString(shape)));
  }
  return Tensor(storage_, shape, dtype_);
}

Tensor Tensor::Clone() const {
  if (!defined()) return Tensor();
  Tensor t = Zeros(shape_, dtype_);
  std::memcpy(t.storage_.get(), storage_.get(), nbytes());
  return t;
}

bool Tensor::Equals(const Tensor& other) const {
  if (defined() != other.defined()) return false;
  if (!defined()) return true;
  return dtype_ == other.dtype_ && shape_ == other.shape_ &&
         std::memcmp(storage_.get(), other.storage_.get(), nbytes()) == 0;
}

std::string Tensor::DebugString(int64_t max_values) const {
  if (!defined()) return "Tensor(undefined)";
  std::string out = absl::StrCat("Tensor(", DTypeName(dtype_), ", ", ShapeToString(shape_), ", [");
  int64_t n = std::min(numel(), max_values);
  for (int64_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    switch (dtype_) {
      case DType::kFloat32: absl::StrAppend(&out, data<float>()[i]); break;
      case DType::kBool: absl::StrAppend(&out, data<bool>()[i] ? 1 : 0); break;
      case DType::kInt64: absl::StrAppend(&out, data<int64_t>()[i]); break;
    }
  }
  if (numel() > n) out += ", ...";
  return out + "])";
}

absl::StatusOr<TensorDiff> CompareTensors(const Tensor& a, const Tensor& b) {
  if (a.dtype() != DType::kFloat32 || b.dtype() != DType::kFloat32) {
    return absl::InvalidArgumentError("CompareTensors needs float32 tensors");
  }
  if (a.shape() != b.shape()) {
    return absl::InvalidArgumentError(absl::StrCat("shape mismatch: ", ShapeToString(a.shape()),
                                                   " vs ", ShapeToString(b.shape())));
  }
  TensorDiff diff;
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i) {
    float d = std::fabs(pa[i] - pb[i]);
    if (std::isnan(d)) d = std::isnan(pa[i]) && std::isnan(pb[i]) ? 0.0f : INFINITY;
    diff.max_abs = std::max(diff.max_abs, d);
    diff.max_ref = std::max(diff.max_ref, std::fabs(pb[i]));
  }
  return diff;
}

}  // namespace structprune
