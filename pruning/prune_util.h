// Small lookups the prune functions share: a node's attributes, a module's parametrization
// of a given type, its bias hook, a planned tensor by name.
#ifndef STRUCTPRUNE_PRUNING_PRUNE_UTIL_H_
#define STRUCTPRUNE_PRUNING_PRUNE_UTIL_H_

#include <utility>

#include "absl/strings/string_view.h"
#include "graph/module.h"
#include "pruning/parametrization.h"
#include "pruning/plan.h"

namespace structprune::internal {

// Module attributes for call_module nodes, keyword arguments for call_function nodes.
inline const AttrMap& AttrsOf(const PrunePlan& plan, const Node& node) {
  return node.kind() == NodeKind::kCallModule ? plan.ModuleOf(node).attrs() : node.attrs();
}

template <typename P>
const P* FindParametrization(const Module& m, absl::string_view tensor_name) {
  if (const auto* list = m.parametrizations(tensor_name)) {
    for (const auto& p : *list) {
      if (auto* typed = dynamic_cast<const P*>(p.get())) return typed;
    }
  }
  return nullptr;
}

inline const BiasHook* FindBiasHook(const Module& m) {
  for (const auto& h : m.forward_hooks()) {
    if (auto* b = dynamic_cast<const BiasHook*>(h.get())) return b;
  }
  return nullptr;
}

// "seq.0.weight" -> {"seq.0", "weight"}; a name without a dot belongs to the root ("").
inline std::pair<absl::string_view, absl::string_view> SplitTensorFqn(absl::string_view fqn) {
  const size_t dot = fqn.rfind('.');
  if (dot == absl::string_view::npos) return {"", fqn};
  return {fqn.substr(0, dot), fqn.substr(dot + 1)};
}

// Tensor `name` of a prepared module, parameter or buffer; a bias also while it sits under
// "_bias" (until Commit restores it). nullptr when absent.
inline const Tensor* PreparedTensor(const Module& m, absl::string_view name) {
  if (const Tensor* t = m.parameter(name)) return t;
  if (const Tensor* t = m.buffer(name)) return t;
  return name == "bias" ? m.parameter(kMovedBias) : nullptr;
}

// The value a masked output channel of a prepared Linear/Conv2d holds: its moved-aside bias,
// or 0 when the bias is pruned or absent.
inline float MaskedChannelValue(const Module& m, int64_t channel) {
  const BiasHook* hook = FindBiasHook(m);
  const Tensor* bias = m.parameter(kMovedBias);
  const bool prune_bias = hook == nullptr || hook->prune_bias();
  return (!prune_bias && bias != nullptr) ? bias->data<float>()[channel] : 0.0f;
}

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_PRUNING_PRUNE_UTIL_H_
