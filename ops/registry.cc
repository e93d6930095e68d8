#include "ops/registry.h"

#include "ops/activations.h"
#include "ops/conv2d.h"
#include "ops/dropout.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/lstm.h"
#include "ops/matmul.h"
#include "ops/norms.h"
#include "ops/pool3d.h"
#include "ops/pooling.h"
#include "ops/reshape.h"
#include "ops/shape_ops.h"
#include "ops/transpose.h"

namespace structprune {
namespace {

struct OpEntry {
  OpKind kind;
  absl::string_view module_name;
  absl::string_view functional_name;
  const OpDef* def;
};

constexpr OpEntry kOps[] = {
#define SP_OP(kind, module_name, functional_name, def) \
  {OpKind::kind, module_name, functional_name, def},
#include "ops/op_list.def"
#undef SP_OP
};

constexpr OpKind kAllOps[] = {
#define SP_OP(kind, module_name, functional_name, def) OpKind::kind,
#include "ops/op_list.def"
#undef SP_OP
};

const OpEntry& Entry(OpKind kind) { return kOps[static_cast<int>(kind)]; }

}  // namespace

absl::string_view OpModuleName(OpKind kind) { return Entry(kind).module_name; }
absl::string_view OpFunctionalName(OpKind kind) { return Entry(kind).functional_name; }
absl::string_view OpName(OpKind kind) {
  return Entry(kind).module_name.empty() ? Entry(kind).functional_name : Entry(kind).module_name;
}
const OpDef* FindOpDef(OpKind kind) { return Entry(kind).def; }

std::optional<OpKind> FindOpByModuleName(absl::string_view name) {
  for (const OpEntry& e : kOps) {
    if (!name.empty() && e.module_name == name) return e.kind;
  }
  return std::nullopt;
}

std::optional<OpKind> FindOpByFunctionalName(absl::string_view name) {
  for (const OpEntry& e : kOps) {
    if (!name.empty() && e.functional_name == name) return e.kind;
  }
  return std::nullopt;
}

bool IsActivation(OpKind kind) { return Entry(kind).def == &kActivationOp; }

absl::Span<const OpKind> AllOps() { return kAllOps; }

}  // namespace structprune
