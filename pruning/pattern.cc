#include "pruning/pattern.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace structprune {
namespace {

bool IsCall(const Node& n) {
  return n.kind() == NodeKind::kCallModule || n.kind() == NodeKind::kCallFunction;
}

OpMatcher AnyOf(std::string description, std::vector<OpKind> kinds) {
  return {std::move(description), [kinds](const Node& n) {
            if (!IsCall(n)) return false;
            for (OpKind k : kinds) {
              if (n.op() == k) return true;
            }
            return false;
          },
          std::nullopt};
}

}  // namespace

OpMatcher CallModule(OpKind kind) {
  return {std::string(OpName(kind)),
          [kind](const Node& n) { return n.kind() == NodeKind::kCallModule && n.op() == kind; }, kind};
}

OpMatcher CallFunction(OpKind kind) {
  return {std::string(OpFunctionalName(kind)),
          [kind](const Node& n) { return n.kind() == NodeKind::kCallFunction && n.op() == kind; }, kind};
}

OpMatcher ModuleOrFunction(OpKind kind) {
  return {std::string(OpName(kind)), [kind](const Node& n) { return IsCall(n) && n.op() == kind; }, kind};
}

OpMatcher AnyActivation() {
  return {"AnyActivation", [](const Node& n) { return IsCall(n) && IsActivation(n.op()); }, std::nullopt};
}

OpMatcher AnyPool2d() { return AnyOf("AnyPool2d", {OpKind::kMaxPool2d, OpKind::kAvgPool2d}); }

OpMatcher AnyAdaptivePool2d() {
  return AnyOf("AnyAdaptivePool2d", {OpKind::kAdaptiveAvgPool2d, OpKind::kAdaptiveMaxPool2d});
}

OpMatcher AnyFlatten() { return AnyOf("Flatten", {OpKind::kFlatten}); }

OpMatcher GetItem(int64_t index) {
  return {absl::StrCat("getitem(", index, ")"),
          [index](const Node& n) {
            if (!n.IsCallTo(OpKind::kGetItem)) return false;
            auto i = GetIntAttr(n.attrs(), "index", 0);
            return i.ok() && *i == index;
          },
          OpKind::kGetItem};
}

OpMatcher GraphOutput() {
  return {"output", [](const Node& n) { return n.kind() == NodeKind::kOutput; }, std::nullopt};
}

std::string Pattern::Describe() const {
  return absl::StrJoin(ops, " -> ", [](std::string* out, const OpMatcher& m) { out->append(m.description); });
}

}  // namespace structprune
