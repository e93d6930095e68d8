// SelectAlongDim / SelectRows / SelectCols: the one slicing primitive pruning uses.
#ifndef STRUCTPRUNE_CORE_INDEX_SELECT_H_
#define STRUCTPRUNE_CORE_INDEX_SELECT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace structprune {

// New tensor holding the slices `keep` (in the given order) of dimension `dim` of `src`.
// InvalidArgument for a dim out of range or an index outside [0, size(dim)).
absl::StatusOr<Tensor> SelectAlongDim(const Tensor& src, int64_t dim,
                                      const std::vector<int64_t>& keep);

inline absl::StatusOr<Tensor> SelectRows(const Tensor& src, const std::vector<int64_t>& keep) {
  return SelectAlongDim(src, 0, keep);
}
inline absl::StatusOr<Tensor> SelectCols(const Tensor& src, const std::vector<int64_t>& keep) {
  return SelectAlongDim(src, 1, keep);
}

// Indices of the true entries of a bool mask (1 = keep).
std::vector<int64_t> MaskToIndices(const Tensor& mask);

}  // namespace structprune

#endif  // STRUCTPRUNE_CORE_INDEX_SELECT_H_
