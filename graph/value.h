// Value: what a node produces, a tensor or a tuple (LSTM's (output, (h, c))). ValueInfo is
// its shape-only twin used while planning.
#ifndef STRUCTPRUNE_GRAPH_VALUE_H_
#define STRUCTPRUNE_GRAPH_VALUE_H_

#include <string>
#include <vector>

#include "core/shape.h"
#include "core/tensor.h"

namespace structprune {

struct ValueInfo {
  Shape shape;                  // when !is_tuple
  bool is_tuple = false;
  std::vector<ValueInfo> items;  // when is_tuple
  // when !is_tuple. Ops compute in float32; a few results are bool or int64 (dropout's mask,
  // max pooling's indices), which only getitem and the graph output read.
  DType dtype = DType::kFloat32;

  static ValueInfo Of(Shape s, DType dtype = DType::kFloat32) {
    return ValueInfo{std::move(s), false, {}, dtype};
  }
  static ValueInfo Tuple(std::vector<ValueInfo> items) { return ValueInfo{{}, true, std::move(items)}; }
  std::string ToString() const;
};

struct Value {
  Tensor tensor;  // when !is_tuple
  bool is_tuple = false;
  std::vector<Value> items;

  // Zero-filled value of `info`'s structure, shapes and dtypes.
  static Value Allocate(const ValueInfo& info);
  // The tensors in depth-first order.
  void Flatten(std::vector<Tensor>& out) const;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_VALUE_H_
