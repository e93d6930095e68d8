// Folding of the small ops exporters emit around real layers (shape arithmetic, Constant,
// Transpose of a weight): evaluated once at import so the patterns see plain constants.
#include <algorithm>
#include <cstring>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "graph/onnx/onnx_graph.h"

namespace structprune::internal {
namespace {

using Folded = std::optional<std::vector<Tensor>>;

absl::Status FoldError(const onnx::NodeProto& node, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(NodeLabel(node), ": ", message));
}

std::vector<int64_t> Strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

// out[i] = src[source(i)] for every element of `out_shape`, copying bytes of src's dtype.
Tensor Gathered(const Tensor& src, const Shape& out_shape,
                const std::function<int64_t(const std::vector<int64_t>&)>& source) {
  Tensor out = Tensor::Zeros(out_shape, src.dtype());
  const size_t elem = DTypeSize(src.dtype());
  const int64_t n = out.numel();
  std::vector<int64_t> index(out_shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(out.data<char>() + i * elem, src.data<char>() + source(index) * elem, elem);
    for (int d = static_cast<int>(index.size()) - 1; d >= 0; --d) {
      if (++index[d] < out_shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

// NumPy broadcasting of two shapes; nullopt when they do not broadcast.
std::optional<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Index into `in` (right-aligned, broadcast) of the element at `index` of the output.
int64_t BroadcastSource(const Shape& in, const std::vector<int64_t>& in_strides,
                        const std::vector<int64_t>& index) {
  int64_t offset = 0;
  const size_t skip = index.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) {
    if (in[d] != 1) offset += index[skip + d] * in_strides[d];
  }
  return offset;
}

bool TooLarge(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return true;
    if (d > 0 && n > kMaxFoldedElements / d) return true;
    n *= d;
  }
  return false;
}

absl::StatusOr<std::vector<int64_t>> IntValues(const onnx::NodeProto& node, const Tensor* t,
                                               absl::string_view what) {
  if (t == nullptr || t->dtype() != DType::kInt64) {
    return FoldError(node, absl::StrCat(what, " must be an int64 tensor"));
  }
  auto v = t->values<int64_t>();
  return std::vector<int64_t>(v.begin(), v.end());
}

absl::StatusOr<int64_t> NormalizeAxis(const onnx::NodeProto& node, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return FoldError(node, absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  return axis < 0 ? axis + rank : axis;
}

absl::StatusOr<Tensor> ConstantValue(const onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    if (a.name() == "value") return TensorFromProto(a.t(), NodeLabel(node));
    if (a.name() == "value_float") return Tensor::Scalar(a.f());
    if (a.name() == "value_floats") {
      std::vector<float> v(a.floats().begin(), a.floats().end());
      return Tensor::FromVector({static_cast<int64_t>(v.size())}, v);
    }
    if (a.name() == "value_int" || a.name() == "value_ints") {
      const bool scalar = a.name() == "value_int";
      Shape shape = scalar ? Shape{} : Shape{a.ints_size()};
      Tensor t = Tensor::Zeros(shape, DType::kInt64);
      if (scalar) {
        t.data<int64_t>()[0] = a.i();
      } else {
        for (int i = 0; i < a.ints_size(); ++i) t.data<int64_t>()[i] = a.ints(i);
      }
      return t;
    }
  }
  return absl::UnimplementedError(
      absl::StrCat(NodeLabel(node), ": only tensor, float and int values are supported"));
}

absl::StatusOr<Tensor> CastTo(const onnx::NodeProto& node, const Tensor& src, int64_t to) {
  const std::optional<DType> held = DTypeForTensorProtoType(static_cast<int32_t>(to));
  if (!held) {
    return absl::UnimplementedError(absl::StrCat(NodeLabel(node), ": cast to ",
                                                 TensorProtoTypeName(static_cast<int32_t>(to))));
  }
  const DType dtype = *held;
  Tensor out = Tensor::Zeros(src.shape(), dtype);
  for (int64_t i = 0; i < src.numel(); ++i) {
    double v = src.dtype() == DType::kFloat32 ? src.data<float>()[i]
               : src.dtype() == DType::kInt64 ? static_cast<double>(src.data<int64_t>()[i])
                                              : (src.data<bool>()[i] ? 1.0 : 0.0);
    switch (dtype) {
      case DType::kFloat32:
        out.data<float>()[i] = static_cast<float>(v);
        break;
      case DType::kInt64:
        out.data<int64_t>()[i] = static_cast<int64_t>(v);
        break;
      case DType::kBool:
        out.data<bool>()[i] = v != 0.0;
        break;
    }
  }
  return out;
}

absl::StatusOr<Folded> FoldBinary(const onnx::NodeProto& node, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.dtype() == DType::kBool) return Folded();
  std::optional<Shape> shape = BroadcastShapes(a.shape(), b.shape());
  if (!shape) {
    return FoldError(node, absl::StrCat("shapes ", ShapeToString(a.shape()), " and ",
                                        ShapeToString(b.shape()), " do not broadcast"));
  }
  if (TooLarge(*shape)) return Folded();
  const std::string& op = node.op_type();
  const auto sa = Strides(a.shape()), sb = Strides(b.shape());
  Tensor out = Tensor::Zeros(*shape, a.dtype());
  std::vector<int64_t> index(shape->size(), 0);
  for (int64_t i = 0; i < out.numel(); ++i) {
    const int64_t ia = BroadcastSource(a.shape(), sa, index),
                  ib = BroadcastSource(b.shape(), sb, index);
    if (a.dtype() == DType::kFloat32) {
      const float x = a.data<float>()[ia], y = b.data<float>()[ib];
      out.data<float>()[i] = op == "Add"   ? x + y
                             : op == "Sub" ? x - y
                             : op == "Mul" ? x * y
                                           : x / y;
    } else {
      const int64_t x = a.data<int64_t>()[ia], y = b.data<int64_t>()[ib];
      if (op == "Div" && y == 0) return FoldError(node, "integer division by zero");
      out.data<int64_t>()[i] = op == "Add"   ? x + y
                               : op == "Sub" ? x - y
                               : op == "Mul" ? x * y
                                             : x / y;
    }
    for (int d = static_cast<int>(index.size()) - 1; d >= 0; --d) {
      if (++index[d] < (*shape)[d]) break;
      index[d] = 0;
    }
  }
  return Folded(std::vector<Tensor>{std::move(out)});
}

}  // namespace

absl::StatusOr<Folded> FoldNode(const onnx::NodeProto& node, absl::Span<const Tensor* const> inputs,
                                const Shape* input_shape) {
  const std::string& op = node.op_type();
  auto one = [](Tensor t) { return Folded(std::vector<Tensor>{std::move(t)}); };
  auto input = [&](size_t i) -> const Tensor* { return i < inputs.size() ? inputs[i] : nullptr; };

  if (op == "Constant") {
    SP_ASSIGN_OR_RETURN(Tensor t, ConstantValue(node));
    return one(std::move(t));
  }
  if (op == "Identity") {
    if (input(0) == nullptr) return Folded();
    return one(*input(0));
  }
  if (op == "Shape") {
    if (input_shape == nullptr) return Folded();
    for (int64_t d : *input_shape) {
      if (d < 0) return Folded();  // a dynamic dimension: computed at run time
    }
    const int64_t rank = static_cast<int64_t>(input_shape->size());
    SP_ASSIGN_OR_RETURN(int64_t start, IntAttr(node, "start", 0));
    SP_ASSIGN_OR_RETURN(int64_t end, IntAttr(node, "end", rank));
    start = std::clamp(start < 0 ? start + rank : start, int64_t{0}, rank);
    end = std::clamp(end < 0 ? end + rank : end, int64_t{0}, rank);
    Tensor t = Tensor::Zeros({std::max<int64_t>(0, end - start)}, DType::kInt64);
    for (int64_t i = start; i < end; ++i) t.data<int64_t>()[i - start] = (*input_shape)[i];
    return one(std::move(t));
  }
  if (op == "ConstantOfShape") {
    SP_ASSIGN_OR_RETURN(std::vector<int64_t> dims, IntValues(node, input(0), "input 'input'"));
    Shape shape(dims.begin(), dims.end());
    if (TooLarge(shape)) return Folded();
    Tensor fill = Tensor::Scalar(0.0f);
    if (const onnx::AttributeProto* a = FindAttr(node, "value")) {
      SP_ASSIGN_OR_RETURN(fill, TensorFromProto(a->t(), NodeLabel(node)));
      if (fill.numel() != 1) return FoldError(node, "value must hold one element");
    }
    return one(Gathered(fill, shape, [](const std::vector<int64_t>&) { return int64_t{0}; }));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] == nullptr && i < 2 && op != "Squeeze" && op != "Unsqueeze") return Folded();
  }
  if (input(0) == nullptr) return Folded();
  if (op == "Cast") {
    SP_ASSIGN_OR_RETURN(int64_t to, IntAttr(node, "to", 0));
    SP_ASSIGN_OR_RETURN(Tensor t, CastTo(node, *input(0), to));
    return one(std::move(t));
  }
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    if (inputs.size() != 2) return Folded();
    return FoldBinary(node, *input(0), *input(1));
  }
  const Tensor& x = *input(0);
  const int64_t rank = x.dim();
  if (op == "Reshape") {
    SP_ASSIGN_OR_RETURN(std::vector<int64_t> dims, IntValues(node, input(1), "input 'shape'"));
    SP_ASSIGN_OR_RETURN(int64_t allowzero, IntAttr(node, "allowzero", 0));
    Shape shape;
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < dims.size(); ++i) {
      int64_t d = dims[i];
      if (d == 0 && allowzero == 0) {
        if (static_cast<int64_t>(i) >= rank) return FoldError(node, "0 copies a missing dimension");
        d = x.shape()[i];
      }
      if (d == -1) {
        if (infer >= 0) return FoldError(node, "more than one -1 in the target shape");
        infer = static_cast<int64_t>(i);
        d = 1;
      } else if (d < 0 || d > (int64_t{1} << 40)) {
        return FoldError(node, absl::StrCat("invalid target dimension ", d));
      } else {
        if (d > 0 && known > kMaxFoldedElements / d) return Folded();
        known *= d;
      }
      shape.push_back(d);
    }
    if (infer >= 0) {
      if (known == 0 || x.numel() % known != 0)
        return FoldError(node, "cannot infer the -1 dimension");
      shape[infer] = x.numel() / known;
    }
    absl::StatusOr<Tensor> t = x.Reshape(shape);
    if (!t.ok()) return FoldError(node, t.status().message());
    return one(t->Clone());
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    std::vector<int64_t> axes;
    if (input(1) != nullptr) {
      SP_ASSIGN_OR_RETURN(axes, IntValues(node, input(1), "input 'axes'"));
    } else {
      SP_ASSIGN_OR_RETURN(axes, IntsAttr(node, "axes", {}));
    }
    Shape shape;
    if (op == "Unsqueeze") {
      const int64_t out_rank = rank + static_cast<int64_t>(axes.size());
      std::vector<bool> is_new(out_rank, false);
      for (int64_t a : axes) {
        SP_ASSIGN_OR_RETURN(a, NormalizeAxis(node, a, out_rank));
        if (is_new[a]) return FoldError(node, "repeated axis");
        is_new[a] = true;
      }
      int64_t k = 0;
      for (int64_t i = 0; i < out_rank; ++i) shape.push_back(is_new[i] ? 1 : x.shape()[k++]);
    } else {
      std::vector<bool> drop(rank, axes.empty());
      for (int64_t a : axes) {
        SP_ASSIGN_OR_RETURN(a, NormalizeAxis(node, a, rank));
        if (x.shape()[a] != 1) return FoldError(node, "cannot squeeze a dimension that is not 1");
        drop[a] = true;
      }
      for (int64_t i = 0; i < rank; ++i) {
        if (!(drop[i] && x.shape()[i] == 1)) shape.push_back(x.shape()[i]);
      }
    }
    SP_ASSIGN_OR_RETURN(Tensor t, x.Reshape(shape));
    return one(t.Clone());
  }
  if (op == "Gather") {
    SP_ASSIGN_OR_RETURN(int64_t axis, IntAttr(node, "axis", 0));
    SP_ASSIGN_OR_RETURN(axis, NormalizeAxis(node, axis, rank));
    SP_ASSIGN_OR_RETURN(std::vector<int64_t> indices, IntValues(node, input(1), "input 'indices'"));
    for (int64_t& i : indices) {
      if (i < -x.shape()[axis] || i >= x.shape()[axis])
        return FoldError(node, "index out of range");
      if (i < 0) i += x.shape()[axis];
    }
    Shape shape(x.shape().begin(), x.shape().begin() + axis);
    shape.insert(shape.end(), input(1)->shape().begin(), input(1)->shape().end());
    shape.insert(shape.end(), x.shape().begin() + axis + 1, x.shape().end());
    if (TooLarge(shape)) return Folded();
    const auto strides = Strides(x.shape());
    const int64_t index_rank = input(1)->dim();
    return one(Gathered(x, shape, [&](const std::vector<int64_t>& idx) {
      int64_t offset = 0, flat = 0;
      for (int64_t d = 0; d < axis; ++d) offset += idx[d] * strides[d];
      for (int64_t d = 0; d < index_rank; ++d) flat = flat * input(1)->shape()[d] + idx[axis + d];
      offset += indices[flat] * strides[axis];
      for (int64_t d = axis + 1; d < rank; ++d) offset += idx[d - 1 + index_rank] * strides[d];
      return offset;
    }));
  }
  if (op == "Concat") {
    SP_ASSIGN_OR_RETURN(int64_t axis, IntAttr(node, "axis", 0));
    SP_ASSIGN_OR_RETURN(axis, NormalizeAxis(node, axis, rank));
    Shape shape = x.shape();
    shape[axis] = 0;
    std::vector<int64_t> starts;
    for (const Tensor* t : inputs) {
      if (t == nullptr || t->dtype() != x.dtype() || t->dim() != rank) {
        return FoldError(node, "inputs differ in type or rank");
      }
      for (int64_t d = 0; d < rank; ++d) {
        if (d != axis && t->shape()[d] != x.shape()[d])
          return FoldError(node, "inputs differ in shape");
      }
      starts.push_back(shape[axis]);
      shape[axis] += t->shape()[axis];
    }
    if (TooLarge(shape)) return Folded();
    Tensor out = Tensor::Zeros(shape, x.dtype());
    for (size_t k = 0; k < inputs.size(); ++k) {
      const Tensor& t = *inputs[k];
      const auto strides = Strides(t.shape());
      Tensor part = Gathered(t, t.shape(), [&](const std::vector<int64_t>& idx) {
        int64_t o = 0;
        for (int64_t d = 0; d < rank; ++d) o += idx[d] * strides[d];
        return o;
      });
      // Copy `part` into `out` at offset starts[k] along axis.
      const auto out_strides = Strides(shape);
      const size_t elem = DTypeSize(x.dtype());
      std::vector<int64_t> idx(rank, 0);
      for (int64_t i = 0; i < part.numel(); ++i) {
        int64_t o = 0;
        for (int64_t d = 0; d < rank; ++d)
          o += (idx[d] + (d == axis ? starts[k] : 0)) * out_strides[d];
        std::memcpy(out.data<char>() + o * elem, part.data<char>() + i * elem, elem);
        for (int64_t d = rank - 1; d >= 0; --d) {
          if (++idx[d] < t.shape()[d]) break;
          idx[d] = 0;
        }
      }
    }
    return one(std::move(out));
  }
  if (op == "Expand") {
    SP_ASSIGN_OR_RETURN(std::vector<int64_t> dims, IntValues(node, input(1), "input 'shape'"));
    std::optional<Shape> shape = BroadcastShapes(x.shape(), Shape(dims.begin(), dims.end()));
    if (!shape) return FoldError(node, "the target shape does not broadcast");
    if (TooLarge(*shape)) return Folded();
    const auto strides = Strides(x.shape());
    return one(Gathered(x, *shape, [&](const std::vector<int64_t>& idx) {
      return BroadcastSource(x.shape(), strides, idx);
    }));
  }
  if (op == "Transpose") {
    std::vector<int64_t> default_perm;
    for (int64_t d = rank - 1; d >= 0; --d) default_perm.push_back(d);
    SP_ASSIGN_OR_RETURN(std::vector<int64_t> perm, IntsAttr(node, "perm", default_perm));
    if (static_cast<int64_t>(perm.size()) != rank)
      return FoldError(node, "perm has the wrong length");
    std::vector<bool> seen(rank, false);
    Shape shape;
    for (int64_t p : perm) {
      if (p < 0 || p >= rank || seen[p]) return FoldError(node, "perm is not a permutation");
      seen[p] = true;
      shape.push_back(x.shape()[p]);
    }
    const auto strides = Strides(x.shape());
    return one(Gathered(x, shape, [&](const std::vector<int64_t>& idx) {
      int64_t o = 0;
      for (int64_t d = 0; d < rank; ++d) o += idx[d] * strides[perm[d]];
      return o;
    }));
  }
  return Folded();
}

}  // namespace structprune::internal
