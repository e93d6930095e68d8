// Tensor: a dtype, a shape and 64-byte aligned, shared, row-major contiguous storage.
// Copies share storage; Clone() makes an independent copy.
#ifndef STRUCTPRUNE_CORE_TENSOR_H_
#define STRUCTPRUNE_CORE_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/shape.h"

namespace structprune {

enum class DType { kFloat32, kBool, kInt64 };

std::string DTypeName(DType dtype);
size_t DTypeSize(DType dtype);

template <typename T>
constexpr DType DTypeOf();
template <>
constexpr DType DTypeOf<float>() { return DType::kFloat32; }
template <>
constexpr DType DTypeOf<bool>() { return DType::kBool; }
template <>
constexpr DType DTypeOf<int64_t>() { return DType::kInt64; }

class Tensor {
 public:
  static constexpr size_t kAlignment = 64;

  // An empty (undefined) tensor: defined() is false.
  Tensor() = default;

  // Zero-filled tensor of `shape`.
  static Tensor Zeros(const Shape& shape, DType dtype = DType::kFloat32);
  static Tensor Full(const Shape& shape, float value);
  // Copies `values` into a new float tensor; InvalidArgument when the count differs from shape.
  static absl::StatusOr<Tensor> FromVector(const Shape& shape, absl::Span<const float> values);
  static absl::StatusOr<Tensor> FromBools(const Shape& shape, const std::vector<bool>& values);
  static Tensor Scalar(float value) { return Full({}, value); }

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  // Size of dimension `d`; negative d counts from the end.
  int64_t size(int64_t d) const { return shape_[d < 0 ? d + dim() : d]; }
  int64_t numel() const { return NumElements(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * DTypeSize(dtype_); }

  template <typename T>
  T* data() { return reinterpret_cast<T*>(storage_.get()); }
  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(storage_.get()); }
  template <typename T>
  absl::Span<T> values() { return absl::MakeSpan(data<T>(), numel()); }
  template <typename T>
  absl::Span<const T> values() const { return absl::MakeConstSpan(data<T>(), numel()); }

  // Same storage, new shape with the same element count (InvalidArgument otherwise).
  absl::StatusOr<Tensor> Reshape(const Shape& shape) const;
  // Independent deep copy.
  Tensor Clone() const;
  // True when both tensors have the same dtype, shape and bytes.
  bool Equals(const Tensor& other) const;
  // Whether the two tensors share storage.
  bool SharesStorageWith(const Tensor& other) const { return storage_ == other.storage_; }

  std::string DebugString(int64_t max_values = 8) const;

 private:
  Tensor(std::shared_ptr<std::byte> storage, Shape shape, DType dtype)
      : storage_(std::move(storage)), shape_(std::move(shape)), dtype_(dtype) {}

  std::shared_ptr<std::byte> storage_;
  Shape shape_;
  DType dtype_ = DType::kFloat32;
};

// Element-wise comparison helpers used by tests, verification and tools.
struct TensorDiff {
  float max_abs = 0.0f;  // max |a - b|
  float max_ref = 0.0f;  // max |b|, the output scale
};
// InvalidArgument when shapes or dtypes differ.
absl::StatusOr<TensorDiff> CompareTensors(const Tensor& a, const Tensor& b);

}  // namespace structprune

#endif  // STRUCTPRUNE_CORE_TENSOR_H_
