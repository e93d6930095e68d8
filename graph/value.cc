#include "graph/value.h"

namespace structprune {

std::string ValueInfo::ToString() const {
  if (!is_tuple) {
    // Float tensors print as their shape ("[2, 3]"), others with their dtype ("bool[2, 3]").
    return dtype == DType::kFloat32 ? ShapeToString(shape)
                                    : DTypeName(dtype) + ShapeToString(shape);
  }
  std::string out = "(";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i].ToString();
  return out + ")";
}

Value Value::Allocate(const ValueInfo& info) {
  Value v;
  v.is_tuple = info.is_tuple;
  if (!info.is_tuple) {
    v.tensor = Tensor::Zeros(info.shape, info.dtype);
    return v;
  }
  for (const ValueInfo& item : info.items) v.items.push_back(Allocate(item));
  return v;
}

void Value::Flatten(std::vector<Tensor>& out) const {
  if (!is_tuple) {
    out.push_back(tensor);
    return;
  }
  for (const Value& item : items) item.Flatten(out);
}

}  // namespace structprune
