#include "graph/printer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace structprune {
namespace {

std::string Args(const Node& node) {
  return absl::StrJoin(node.args(), ", ",
                       [](std::string* out, const Node* a) { absl::StrAppend(out, "%", a->name()); });
}

std::string Label(const GraphModule& model, const Node& node) {
  switch (node.kind()) {
    case NodeKind::kPlaceholder: return "placeholder";
    case NodeKind::kGetAttr: return absl::StrCat("get_attr[", node.target(), "]");
    case NodeKind::kOutput: return "output";
    case NodeKind::kCallModule: {
      const Module* m = model.root().FindModule(node.target());
      return absl::StrCat("call_module[", node.target(), ": ",
                          m ? ModuleToString(*m) : "<missing>", "]");
    }
    case NodeKind::kCallFunction: {
      std::string s = absl::StrCat("call_function[", node.target());
      if (!node.attrs().empty()) {
        absl::StrAppend(&s, "(",
                        absl::StrJoin(node.attrs(), ", ",
                                      [](std::string* out, const auto& kv) {
                                        absl::StrAppend(out, kv.first, "=",
                                                        AttrValueToString(kv.second));
                                      }),
                        ")");
      }
      return s + "]";
    }
  }
  return "";
}

}  // namespace

std::string ModuleToString(const Module& module) {
  return absl::StrCat(OpName(module.kind()), "(",
                      absl::StrJoin(module.attrs(), ", ",
                                    [](std::string* out, const auto& kv) {
                                      absl::StrAppend(out, kv.first, "=",
                                                      AttrValueToString(kv.second));
                                    }),
                      ")");
}

std::string GraphToString(const GraphModule& model) {
  std::string out =
      absl::StrCat("graph(", absl::StrJoin(model.InputNames(), ", "), "):\n");
  for (const Node* n : model.graph().nodes()) {
    if (n->kind() == NodeKind::kPlaceholder) continue;
    if (n->kind() == NodeKind::kOutput) {
      absl::StrAppend(&out, "    return (", Args(*n), ")\n");
      continue;
    }
    absl::StrAppend(&out, "    %", n->name(), " = ", Label(model, *n), "(", Args(*n), ")\n");
  }
  return out;
}

std::string GraphToDot(const GraphModule& model) {
  std::string out = "digraph structprune {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n";
  for (const Node* n : model.graph().nodes()) {
    std::string label = absl::StrCat(n->name(), "\\n", Label(model, *n));
    absl::StrAppend(&out, "  \"", n->name(), "\" [label=\"",
                    absl::StrReplaceAll(label, {{"\"", "\\\""}}), "\"];\n");
    for (const Node* a : n->args()) {
      absl::StrAppend(&out, "  \"", a->name(), "\" -> \"", n->name(), "\";\n");
    }
  }
  return out + "}\n";
}

}  // namespace structprune
