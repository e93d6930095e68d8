// Helpers shared by op definitions: error messages that name the node, input checks,
// PyTorch-style parameter initialization.
#ifndef STRUCTPRUNE_OPS_OP_UTIL_H_
#define STRUCTPRUNE_OPS_OP_UTIL_H_

#include <cmath>
#include "absl/strings/string_view.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/module.h"
#include "ops/op_def.h"
#include "ops/registry.h"

namespace structprune::internal {

// InvalidArgument "Conv2d 'features.3': <message>".
inline absl::Status OpError(const OpCall& call, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat(OpName(call.kind), " '", call.name, "': ", message));
}

// Attribute errors get the node prefix too.
inline absl::Status WithOpContext(const OpCall& call, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(OpName(call.kind), " '", call.name, "': ", s.message()));
}

template <typename T>
absl::StatusOr<T> WithOpContextOr(const OpCall& call, absl::StatusOr<T> v) {
  if (v.ok()) return v;
  if (absl::StrContains(v.status().message(), absl::StrCat("'", call.name, "'"))) return v;
  return WithOpContext(call, v.status());
}

// Checks the call has between min and max inputs, all plain float32 tensors.
inline absl::Status ExpectTensorInputs(const OpCall& call, size_t min, size_t max) {
  if (call.inputs.size() < min || call.inputs.size() > max) {
    return OpError(call, min == max ? absl::StrCat("expects ", min, " input(s), got ", call.inputs.size())
                                    : absl::StrCat("expects ", min, " to ", max, " inputs, got ",
                                                   call.inputs.size()));
  }
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    if (call.inputs[i].is_tuple) {
      return OpError(call, absl::StrCat("input ", i, " is a tuple ", call.inputs[i].ToString(),
                                        "; select a tensor with getitem"));
    }
    if (call.inputs[i].dtype != DType::kFloat32) {
      return OpError(call, absl::StrCat("input ", i, " is a ", call.inputs[i].ToString(),
                                        " tensor; only float32 tensors are supported"));
    }
  }
  return absl::OkStatus();
}

// The module's effective parameter `name` (through parametrizations); an error naming the
// node when the module lacks it or its shape differs from `expected`.
inline absl::StatusOr<Tensor> ExpectParameter(const OpCall& call, absl::string_view name,
                                              const Shape& expected) {
  if (call.module == nullptr) return OpError(call, "functional call has no parameters");
  absl::StatusOr<Tensor> t = call.module->Effective(name);
  if (!t.ok()) return OpError(call, absl::StrCat("missing parameter '", name, "'"));
  if (t->shape() != expected) {
    return OpError(call, absl::StrCat(name, " has shape ", ShapeToString(t->shape()),
                                      ", expected ", ShapeToString(expected)));
  }
  return t;
}

// U(-bound, bound), the distribution PyTorch's default init gives Linear/Conv/LSTM tensors.
inline Tensor UniformInit(Rng& rng, const Shape& shape, double bound) {
  return rng.UniformTensor(shape, static_cast<float>(-bound), static_cast<float>(bound));
}

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_OPS_OP_UTIL_H_
