#include "pruning/unprunable_ops.h"

#include "absl/strings/str_cat.h"
#include "graph/module.h"

namespace structprune {
namespace {

// The variant of `node` pruning refuses, or "" when there is none.
std::string UnprunableVariant(const GraphModule& model, const Node& node) {
  if (node.kind() != NodeKind::kCallModule && node.kind() != NodeKind::kCallFunction) return "";
  // Looked up only for the ops below, not for every node.
  auto attrs = [&]() -> const AttrMap& {
    const Module* module =
        node.kind() == NodeKind::kCallModule ? model.root().FindModule(node.target()) : nullptr;
    return module != nullptr ? module->attrs() : node.attrs();
  };
  auto flag = [&](absl::string_view name) {
    return GetBoolAttr(attrs(), name, false).value_or(true);
  };
  switch (node.op()) {
    case OpKind::kDropout:
      return flag("training") ? "training-mode dropout (a random mask)" : "";
    case OpKind::kBatchNorm2d:
      return flag("onnx_training_mode")
                 ? "training mode (onnx_training_mode: it returns the running statistics)"
                 : "";
    case OpKind::kLstm:
      return flag("peepholes") ? "peepholes (ONNX LSTM's P: the peephole weights are not sliced)"
                               : "";
    case OpKind::kAdd:
      return attrs().contains("wrap_to") ? "wrap_to (8-bit integer values, not float32 channels)"
                                       : "";
    default:
      return "";
  }
}

}  // namespace

absl::Status CheckNoUnprunableOps(const GraphModule& model) {
  for (const Node* node : model.graph().nodes()) {
    const std::string variant = UnprunableVariant(model, *node);
    if (!variant.empty()) {
      return absl::UnimplementedError(absl::StrCat("cannot prune a model calling '", node->name(),
                                                   "' (", OpName(node->op()), ") with ", variant));
    }
  }
  return absl::OkStatus();
}

}  // namespace structprune
