// Shape: the dimensions of a tensor, outermost first.
#ifndef STRUCTPRUNE_CORE_SHAPE_H_
#define STRUCTPRUNE_CORE_SHAPE_H_

#include <cstdint>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_join.h"

namespace structprune {

using Shape = absl::InlinedVector<int64_t, 4>;

inline int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// "[8, 3, 3, 3]", the form every error message uses.
inline std::string ShapeToString(const Shape& shape) {
  return "[" + absl::StrJoin(shape, ", ") + "]";
}

}  // namespace structprune

#endif  // STRUCTPRUNE_CORE_SHAPE_H_
