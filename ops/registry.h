// OpKind, op names and the OpDef table, generated from op_list.def.
#ifndef STRUCTPRUNE_OPS_REGISTRY_H_
#define STRUCTPRUNE_OPS_REGISTRY_H_

#include <optional>
#include "absl/strings/string_view.h"

#include "ops/op_def.h"

namespace structprune {

enum class OpKind : int {
#define SP_OP(kind, module_name, functional_name, def) kind,
#include "ops/op_list.def"
#undef SP_OP
};

// "Conv2d" (module form) or "conv2d" (functional form); "" when that form does not exist.
absl::string_view OpModuleName(OpKind kind);
absl::string_view OpFunctionalName(OpKind kind);
// The module name when there is one, else the functional name.
absl::string_view OpName(OpKind kind);
// nullptr for containers (Sequential).
const OpDef* FindOpDef(OpKind kind);
std::optional<OpKind> FindOpByModuleName(absl::string_view name);
std::optional<OpKind> FindOpByFunctionalName(absl::string_view name);
bool IsActivation(OpKind kind);
// Every op kind, in op_list.def order.
absl::Span<const OpKind> AllOps();

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_REGISTRY_H_
