#include "core/index_select.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace structprune {
namespace {

// to[o, j] = from[o, keep[j]] for elements of type T (a trivially copyable stand-in of the
// element's size), reading through memcpy so any dtype of that size is copied bit for bit.
template <typename T>
void GatherElements(const std::byte* from, std::byte* to, int64_t outer, int64_t extent,
                    const std::vector<int64_t>& keep) {
  const auto n = static_cast<int64_t>(keep.size());
  for (int64_t o = 0; o < outer; ++o) {
    const std::byte* row = from + o * extent * static_cast<int64_t>(sizeof(T));
    std::byte* out = to + o * n * static_cast<int64_t>(sizeof(T));
    for (int64_t j = 0; j < n; ++j) {
      T v;
      std::memcpy(&v, row + keep[j] * static_cast<int64_t>(sizeof(T)), sizeof(T));
      std::memcpy(out + j * static_cast<int64_t>(sizeof(T)), &v, sizeof(T));
    }
  }
}

}  // namespace

absl::StatusOr<Tensor> SelectAlongDim(const Tensor& src, int64_t dim,
                                      const std::vector<int64_t>& keep) {
  if (dim < 0 || dim >= src.dim()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dim ", dim, " out of range for shape ", ShapeToString(src.shape())));
  }
  const int64_t extent = src.size(dim);
  for (int64_t k : keep) {
    if (k < 0 || k >= extent) {
      return absl::InvalidArgumentError(absl::StrCat("index ", k, " out of range [0, ", extent,
                                                     ") along dim ", dim));
    }
  }
  // View as [outer, extent, inner] and copy the kept middle slices.
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= src.size(d);
  for (int64_t d = dim + 1; d < src.dim(); ++d) inner *= src.size(d);
  Shape shape = src.shape();
  shape[dim] = static_cast<int64_t>(keep.size());
  Tensor dst = Tensor::Zeros(shape, src.dtype());
  const size_t elem = DTypeSize(src.dtype());
  const size_t slice_bytes = static_cast<size_t>(inner) * elem;
  const auto* from = reinterpret_cast<const std::byte*>(src.data<char>());
  auto* to = reinterpret_cast<std::byte*>(dst.data<char>());
  if (slice_bytes == sizeof(float)) {
    // Columns of a matrix (and 4-byte entries of any last dim): one element per index, copied
    // as one, not through a memcpy call each.
    GatherElements<uint32_t>(from, to, outer, extent, keep);
  } else if (slice_bytes == 1) {
    GatherElements<uint8_t>(from, to, outer, extent, keep);
  } else {
    for (int64_t o = 0; o < outer; ++o) {
      for (size_t j = 0; j < keep.size(); ++j) {
        std::memcpy(to + (o * keep.size() + j) * slice_bytes,
                    from + (o * extent + keep[j]) * slice_bytes, slice_bytes);
      }
    }
  }
  return dst;
}

std::vector<int64_t> MaskToIndices(const Tensor& mask) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < mask.numel(); ++i) {
    bool on = mask.dtype() == DType::kBool ? mask.data<bool>()[i] : mask.data<float>()[i] != 0.0f;
    if (on) out.push_back(i);
  }
  return out;
}

}  // namespace structprune
