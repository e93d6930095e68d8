#include "pruning/structured_sparsifier.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
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

absl::Status BaseStructuredSparsifier::AttachMasks() {
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
