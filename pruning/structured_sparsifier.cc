#include "pruning/structured_sparsifier.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "pruning/dependency_groups.h"
#include "pruning/group_prune.h"
#include "pruning/matcher.h"
#include "pruning/parametrization.h"

namespace structprune {

BaseStructuredSparsifier::BaseStructuredSparsifier(Options defaults, std::vector<Pattern> patterns)
    : BaseSparsifier([&] {
        defaults.try_emplace(kPruneBias, true);
        return defaults;
      }()),
      patterns_(std::move(patterns)) {}

absl::StatusOr<Tensor> BaseStructuredSparsifier::InitialMask(const Module& module,
                                                             const ConfigGroup& group) const {
  SP_ASSIGN_OR_RETURN(Tensor mask, BaseSparsifier::InitialMask(module, group));
  if (module.kind() != OpKind::kLstm) return mask;
  SP_ASSIGN_OR_RETURN(int64_t H, PrunableChannels(module, group.tensor_name));
  if (mask.numel() == H) return mask;
  // The seed's per-row layout: four gate blocks (i, f, g, o) that must agree per unit.
  Tensor units = Tensor::Zeros({H}, DType::kBool);
  for (int64_t j = 0; j < H; ++j) {
    const bool keep = mask.data<bool>()[j];
    for (int64_t gate = 1; gate < 4; ++gate) {
      if (mask.data<bool>()[gate * H + j] != keep) {
        return absl::InvalidArgumentError(absl::StrCat(
            "'", group.tensor_fqn, "': mask of ", 4 * H, " rows disagrees between gate blocks for hidden unit ", j,
            "; an LSTM unit is pruned as a whole (give one entry per unit, ", H, " in all)"));
      }
    }
    units.data<bool>()[j] = keep;
  }
  return units;
}

absl::Status BaseStructuredSparsifier::AttachGroupMasks() {
  SP_ASSIGN_OR_RETURN(DependencyGraph dg, BuildDependencyGraph(*model_, input_shapes_));
  // Groups that hold a configured producer, with that producer's options.
  std::map<int, Options> configured;
  for (const ConfigGroup& g : groups_) {
    auto rows = dg.producer_rows.find(g.tensor_fqn);
    if (rows != dg.producer_rows.end()) configured.try_emplace(rows->second.group, g.options);
  }
  // Every other producer of those groups is masked with them.
  for (const auto& [group, options] : configured) {
    for (const std::string& fqn : dg.groups[group].producers) {
      if (masks_.count(fqn)) continue;
      ConfigGroup implicit;
      implicit.tensor_fqn = fqn;
      implicit.module_fqn = fqn.substr(0, fqn.rfind('.'));
      implicit.tensor_name = "weight";
      implicit.options = options;
      implicit.options.erase(kMask);
      SP_ASSIGN_OR_RETURN(masks_[fqn], BaseSparsifier::InitialMask(*model_->root().FindModule(implicit.module_fqn), implicit));
      groups_.push_back(std::move(implicit));
    }
  }
  group_sizes_.clear();
  for (const ChannelGroup& g : dg.groups) group_sizes_.push_back(g.size());
  coupled_.clear();
  for (const auto& [fqn, rows] : dg.producer_rows) {
    if (configured.count(rows.group)) coupled_.push_back({masks_.at(fqn), rows.group, rows.channel_of_row});
  }
  // BatchNorms and depthwise convs carrying a configured group's channels are masked with it.
  for (const Node* node : model_->graph().nodes()) {
    if (node->kind() != NodeKind::kCallModule) continue;
    Module& m = *model_->root().FindModule(node->target());
    const bool depthwise = m.kind() == OpKind::kConv2d && GetIntAttr(m.attrs(), "groups", 1).value_or(1) > 1;
    if (m.kind() != OpKind::kBatchNorm2d && !depthwise) continue;
    auto nc = dg.node_channels.find(node->name());
    if (nc == dg.node_channels.end() || nc->second.positions.empty()) continue;
    const int group = nc->second.positions[0].group;
    if (!configured.count(group)) continue;
    CoupledMask coupled{Tensor::Zeros({static_cast<int64_t>(nc->second.positions.size())}, DType::kBool), group, {}};
    for (const auto& p : nc->second.positions) {
      if (p.group != group) return absl::InternalError(absl::StrCat("'", node->target(), "' mixes dependency groups"));
      coupled.channel_of_index.push_back(p.channel);
    }
    std::fill_n(coupled.mask.data<bool>(), coupled.mask.numel(), true);
    const bool prune_bias = std::get_if<bool>(&configured[group][kPruneBias]) == nullptr ||
                            std::get<bool>(configured[group][kPruneBias]);
    if (m.kind() == OpKind::kBatchNorm2d) {
      // With prune_bias a masked channel reads 0 after the norm, so zero-padded convs after it stay exact.
      if (prune_bias) {
        for (const char* name : {"weight", "bias"}) {
          if (m.HasParameter(name)) m.RegisterParametrization(name, std::make_shared<FakeStructuredSparsity>(coupled.mask));
        }
      }
    } else {
      m.RegisterParametrization("weight", std::make_shared<FakeStructuredSparsity>(coupled.mask));
      if (const Tensor* bias = m.parameter("bias")) {
        m.SetParameter(kMovedBias, *bias);
        m.RemoveParameter("bias");
      }
      m.AddForwardHook(std::make_shared<BiasHook>(coupled.mask, prune_bias));
    }
    coupled_.push_back(std::move(coupled));
  }
  return absl::OkStatus();
}

void BaseStructuredSparsifier::OnMasksChanged() {
  if (coupled_.empty()) return;
  // A channel pruned by any producer of its group is pruned in every coupled mask.
  std::vector<std::vector<bool>> pruned(group_sizes_.size());
  for (size_t g = 0; g < group_sizes_.size(); ++g) pruned[g].assign(group_sizes_[g], false);
  for (const CoupledMask& c : coupled_) {
    for (size_t i = 0; i < c.channel_of_index.size(); ++i) {
      if (!c.mask.data<bool>()[i]) pruned[c.group][c.channel_of_index[i]] = true;
    }
  }
  for (CoupledMask& c : coupled_) {
    for (size_t i = 0; i < c.channel_of_index.size(); ++i) {
      c.mask.data<bool>()[i] = !pruned[c.group][c.channel_of_index[i]];
    }
  }
}

absl::Status BaseStructuredSparsifier::AttachMasks() {
  if (uses_dependency_groups()) SP_RETURN_IF_ERROR(AttachGroupMasks());
  for (const ConfigGroup& g : groups_) {
    Module& m = *model_->root().FindModule(g.module_fqn);
    const Tensor& mask = masks_.at(g.tensor_fqn);
    if (m.kind() == OpKind::kLstm) {
      // Whole units: gate rows of every tensor of the layer, and the unit's weight_hh column.
      const std::string layer = g.tensor_name.substr(std::string("weight_ih").size());  // "_l0"
      m.RegisterParametrization(g.tensor_name, std::make_shared<LstmUnitSparsity>(mask, false));
      m.RegisterParametrization("weight_hh" + layer, std::make_shared<LstmUnitSparsity>(mask, true));
      for (const char* b : {"bias_ih", "bias_hh"}) {
        if (m.HasParameter(b + layer)) {
          m.RegisterParametrization(b + layer, std::make_shared<LstmUnitSparsity>(mask, false));
        }
      }
      continue;
    }
    SP_ASSIGN_OR_RETURN(bool prune_bias, g.GetBool(kPruneBias, true));
    m.RegisterParametrization(g.tensor_name, std::make_shared<FakeStructuredSparsity>(mask));
    if (const Tensor* bias = m.parameter("bias")) {
      m.SetParameter(kMovedBias, *bias);
      m.RemoveParameter("bias");
    }
    m.AddForwardHook(std::make_shared<BiasHook>(mask, prune_bias));
  }
  OnMasksChanged();
  return absl::OkStatus();
}

absl::StatusOr<PruneReport> BaseStructuredSparsifier::Prune(PruneOptions options) {
  if (model_ == nullptr) return absl::FailedPreconditionError("Prune() before Prepare()");
  PrunePlan plan(*model_, options);
  plan.report().approximate = options.approximate;
  plan.report().params_before = model_->NumParameters();
  PatternMatcher matcher(patterns_);
  // Configured producers by module FQN: only chains starting at one of them are pruned.
  std::map<std::string, std::vector<const ConfigGroup*>> configured;
  for (const ConfigGroup& g : groups_) configured[g.module_fqn].push_back(&g);
  if (uses_dependency_groups()) {
    // Linear/Conv2d producers go through their dependency groups; LSTMs keep their patterns.
    SP_ASSIGN_OR_RETURN(DependencyGraph dg, BuildDependencyGraph(*model_, input_shapes_));
    std::map<std::string, Tensor> producer_masks;
    for (const ConfigGroup& g : groups_) {
      if (dg.producer_rows.count(g.tensor_fqn)) {
        producer_masks[g.tensor_fqn] = masks_.at(g.tensor_fqn);
        configured.erase(g.module_fqn);
      }
    }
    SP_RETURN_IF_ERROR(PlanGroupPrune(dg, producer_masks, plan));
  }
  for (const Node* node : model_->graph().nodes()) {
    if (node->kind() != NodeKind::kCallModule || !configured.count(node->target())) continue;
    std::string why;
    const size_t first_record = plan.report().layers.size();
    auto result = matcher.MatchAt(*node, &why);
    if (!result) {
      return absl::InvalidArgumentError(absl::StrCat("cannot prune '", configured[node->target()][0]->tensor_fqn,
                                                     "': no pruning pattern matches: ", why));
    }
    absl::Status s = result->pattern->prune(result->match, plan);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("pruning '", node->target(), "' [", result->pattern->Describe(),
                                                 "]: ", s.message()));
    }
    for (size_t i = first_record; i < plan.report().layers.size(); ++i) {
      plan.report().layers[i].pattern = result->pattern->Describe();
    }
  }
  for (const ConfigGroup& g : groups_) {
    if (!plan.Handled(g.tensor_fqn)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", g.tensor_fqn, "' still carries a mask after pruning: its module is never called in the graph"));
    }
  }
  SP_RETURN_IF_ERROR(plan.Commit(*model_));
  PruneReport report = plan.report();
  report.params_after = model_->NumParameters();
  // The sparsifier is done with this model: masks are gone.
  model_ = nullptr;
  groups_.clear();
  masks_.clear();
  return report;
}

absl::Status BaseStructuredSparsifier::SquashMask() {
  if (model_ == nullptr) return absl::FailedPreconditionError("SquashMask() before Prepare()");
  PrunePlan plan(*model_, {});
  return plan.Commit(*model_);  // no edits: only masks baked, biases restored, hooks removed
}

}  // namespace structprune
