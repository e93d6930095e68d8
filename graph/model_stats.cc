#include "graph/model_stats.h"

#include "core/status_macros.h"
#include "graph/interpreter.h"

namespace structprune {
namespace {

int64_t CountElements(const ValueInfo& info) {
  if (!info.is_tuple) return NumElements(info.shape);
  int64_t n = 0;
  for (const ValueInfo& item : info.items) n += CountElements(item);
  return n;
}

int64_t Flops(const Node& node, const Module* module, const Interpreter& plan) {
  const ValueInfo* out = plan.InfoOf(node.name());
  if (out == nullptr) return 0;
  if (module != nullptr && (node.op() == OpKind::kLinear || node.op() == OpKind::kConv2d)) {
    // Every output element is one dot product over a weight row.
    const Tensor* w = module->parameter("weight");
    const int64_t row = w ? w->numel() / std::max<int64_t>(w->size(0), 1) : 0;
    return 2 * NumElements(out->shape) * row;
  }
  if (module != nullptr && node.op() == OpKind::kLstm) {
    // Per step and layer: gates = x W_ih^T + h W_hh^T over all four gates.
    const ValueInfo& seq = out->items[0];
    const int64_t H = seq.shape.back();
    const int64_t steps_batch = NumElements(seq.shape) / std::max<int64_t>(H, 1);
    int64_t flops = 0;
    for (const auto& [name, t] : module->parameters()) {
      if (name.rfind("weight_", 0) == 0) flops += 2 * steps_batch * t.numel();
    }
    return flops;
  }
  if (node.op() == OpKind::kMatmul && node.args().size() == 2) {
    // Every output element is one dot product over the inner dim (the input's last).
    const ValueInfo* a = plan.InfoOf(node.args()[0]->name());
    const int64_t inner = a != nullptr && !a->shape.empty() ? a->shape.back() : 0;
    return 2 * NumElements(out->shape) * inner;
  }
  return CountElements(*out);
}

}  // namespace

absl::StatusOr<ModelStats> ComputeModelStats(const GraphModule& model, const std::vector<Shape>& input_shapes) {
  SP_ASSIGN_OR_RETURN(auto plan, Interpreter::Create(model, input_shapes, {.plan_only = true}));
  ModelStats stats;
  stats.params = model.NumParameters();
  for (const Node* n : model.graph().nodes()) {
    if (n->kind() != NodeKind::kCallModule && n->kind() != NodeKind::kCallFunction) continue;
    const Module* module = n->kind() == NodeKind::kCallModule ? model.root().FindModule(n->target()) : nullptr;
    LayerStats layer;
    layer.node = n->name();
    layer.target = n->target();
    layer.op = std::string(module ? OpName(n->op()) : OpFunctionalName(n->op()));
    const ValueInfo* info = plan->InfoOf(n->name());
    layer.output = info ? info->ToString() : "?";
    if (module != nullptr) {
      for (const auto& [name, t] : module->parameters()) layer.params += t.numel();
    }
    layer.flops = Flops(*n, module, *plan);
    stats.flops += layer.flops;
    stats.layers.push_back(std::move(layer));
  }
  return stats;
}

}  // namespace structprune
