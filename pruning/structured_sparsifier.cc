#include "pruning/structured_sparsifier.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

namespace {

// The bias moves aside and a BiasHook adds it back masked (prune_bias) or whole.
void MoveBiasUnderHook(Module& m, const Tensor& mask, bool prune_bias) {
  if (const Tensor* bias = m.parameter("bias")) {
    m.SetParameter(kMovedBias, *bias);
    m.RemoveParameter("bias");
  }
  m.AddForwardHook(std::make_shared<BiasHook>(mask, prune_bias));
}

}  // namespace

absl::StatusOr<std::vector<BaseStructuredSparsifier::FollowerMask>> BaseStructuredSparsifier::PlanGroupMasks() {
  std::vector<FollowerMask> followers;
  SP_ASSIGN_OR_RETURN(DependencyGraph dg, BuildDependencyGraph(*model_, input_shapes_));
  // A configured depthwise conv is no producer: it follows its input's group.
  std::vector<ConfigGroup> kept;
  for (ConfigGroup& g : groups_) {
    const Module& m = *model_->root().FindModule(g.module_fqn);
    if (m.kind() == OpKind::kConv2d && !dg.producer_rows.count(g.tensor_fqn) &&
        GetIntAttr(m.attrs(), "groups", 1).value_or(1) > 1) {
      masks_.erase(g.tensor_fqn);
      continue;
    }
    kept.push_back(std::move(g));
  }
  groups_ = std::move(kept);
  // `ignored_layers` (module FQNs, comma-separated): their groups keep every channel, even
  // channels a coupled, configured producer would lose.
  std::set<int> ignored;
  if (auto it = defaults().find("ignored_layers"); it != defaults().end()) {
    const std::string* list = std::get_if<std::string>(&it->second);
    if (list == nullptr) return absl::InvalidArgumentError("option 'ignored_layers' must be a string of module FQNs");
    for (absl::string_view fqn : absl::StrSplit(*list, ',', absl::SkipEmpty())) {
      auto rows = dg.producer_rows.find(absl::StrCat(absl::StripAsciiWhitespace(fqn), ".weight"));
      if (rows == dg.producer_rows.end()) {
        return absl::NotFoundError(absl::StrCat("ignored layer '", fqn, "' is not a Linear/Conv2d producer"));
      }
      ignored.insert(rows->second.group);
    }
    kept.clear();
    for (ConfigGroup& g : groups_) {
      auto rows = dg.producer_rows.find(g.tensor_fqn);
      if (rows != dg.producer_rows.end() && ignored.count(rows->second.group)) {
        masks_.erase(g.tensor_fqn);
        continue;
      }
      kept.push_back(std::move(g));
    }
    groups_ = std::move(kept);
  }
  // Groups that hold a configured producer: the index in groups_ of the first one, whose
  // options the group takes (-1: not configured).
  std::vector<int> configured(dg.groups.size(), -1);
  for (size_t i = 0; i < groups_.size(); ++i) {
    auto rows = dg.producer_rows.find(groups_[i].tensor_fqn);
    if (rows != dg.producer_rows.end() && configured[rows->second.group] < 0) {
      configured[rows->second.group] = static_cast<int>(i);
    }
  }
  // Every other producer of those groups is masked with them.
  for (size_t group = 0; group < configured.size(); ++group) {
    if (configured[group] < 0) continue;
    for (const std::string& fqn : dg.groups[group].producers) {
      if (masks_.count(fqn)) continue;
      ConfigGroup implicit;
      implicit.tensor_fqn = fqn;
      implicit.module_fqn = fqn.substr(0, fqn.rfind('.'));
      implicit.tensor_name = "weight";
      implicit.options = groups_[configured[group]].options;
      implicit.options.erase(kMask);
      SP_ASSIGN_OR_RETURN(masks_[fqn], BaseSparsifier::InitialMask(*model_->root().FindModule(implicit.module_fqn), implicit));
      groups_.push_back(std::move(implicit));
    }
  }
  group_sizes_.clear();
  group_blocked_.clear();
  for (const ChannelGroup& g : dg.groups) {
    group_sizes_.push_back(g.size());
    std::vector<bool> blocked;
    for (const std::string& why : g.blocked) blocked.push_back(!why.empty());
    group_blocked_.push_back(std::move(blocked));
  }
  coupled_.clear();
  producer_channels_.clear();
  for (const auto& [fqn, rows] : dg.producer_rows) {
    if (configured[rows.group] < 0) continue;
    CoupledMask coupled{masks_.at(fqn), {}, true};
    for (int64_t c : rows.channel_of_row) coupled.channel_of_index.emplace_back(rows.group, c);
    coupled_.push_back(std::move(coupled));
    producer_channels_[fqn] = {rows.group, rows.channel_of_row};
  }
  // BatchNorms and depthwise convs carrying a configured group's channels are masked with it.
  // A module called at several nodes is masked once, at its first (a second bias hook would add
  // its bias twice); Prune() refuses to slice it.
  std::set<const Module*> masked_modules;
  for (const Node* node : model_->graph().nodes()) {
    if (node->kind() != NodeKind::kCallModule) continue;
    Module& m = *model_->root().FindModule(node->target());
    const bool depthwise = m.kind() == OpKind::kConv2d && GetIntAttr(m.attrs(), "groups", 1).value_or(1) > 1;
    if (m.kind() != OpKind::kBatchNorm2d && !depthwise) continue;
    if (masked_modules.count(&m)) continue;
    const DependencyGraph::NodeChannels* nc = dg.ChannelsOf(*node);
    if (nc == nullptr || nc->positions.empty()) continue;
    auto prune_bias_of = [&](int group) {
      const Options& options = groups_[configured[group]].options;
      auto it = options.find(kPruneBias);
      const bool* b = it == options.end() ? nullptr : std::get_if<bool>(&it->second);
      return b == nullptr || *b;
    };
    // Entries of configured groups follow them; a BatchNorm only follows groups with
    // prune_bias, a depthwise conv's bias hook takes one prune_bias for all its entries.
    CoupledMask coupled{Tensor::Zeros({static_cast<int64_t>(nc->positions.size())}, DType::kBool), {}, false};
    std::optional<bool> prune_bias;
    bool follows = false;
    for (const auto& p : nc->positions) {
      const bool configured_group = p.group >= 0 && configured[p.group] >= 0;
      const bool follow = configured_group && (depthwise || prune_bias_of(p.group));
      if (follow && depthwise) {
        if (prune_bias.has_value() && *prune_bias != prune_bias_of(p.group)) {
          return absl::UnimplementedError(absl::StrCat(
              "depthwise conv '", node->target(), "' carries channels of dependency groups with different prune_bias"));
        }
        prune_bias = prune_bias_of(p.group);
      }
      follows = follows || follow;
      coupled.channel_of_index.emplace_back(follow ? p.group : -1, follow ? p.channel : -1);
    }
    if (!follows) continue;
    std::fill_n(coupled.mask.data<bool>(), coupled.mask.numel(), true);
    followers.push_back({&m, coupled.mask, prune_bias.value_or(true)});
    masked_modules.insert(&m);
    coupled_.push_back(std::move(coupled));
  }
  dependency_graph_ = std::move(dg);
  return followers;
}

void BaseStructuredSparsifier::OnMasksChanged() {
  if (coupled_.empty()) return;
  // A channel pruned by any producer of its group is pruned in every coupled mask.
  std::vector<std::vector<bool>> pruned(group_sizes_.size());
  for (size_t g = 0; g < group_sizes_.size(); ++g) pruned[g].assign(group_sizes_[g], false);
  for (const CoupledMask& c : coupled_) {
    if (!c.producer) continue;  // BatchNorm / depthwise masks only follow
    for (size_t i = 0; i < c.channel_of_index.size(); ++i) {
      const auto [group, channel] = c.channel_of_index[i];
      if (group >= 0 && !c.mask.data<bool>()[i]) pruned[group][channel] = true;
    }
  }
  for (CoupledMask& c : coupled_) {
    for (size_t i = 0; i < c.channel_of_index.size(); ++i) {
      const auto [group, channel] = c.channel_of_index[i];
      c.mask.data<bool>()[i] = group < 0 || !pruned[group][channel];
    }
  }
}

absl::Status BaseStructuredSparsifier::AttachMasks() {
  // Everything that can fail is decided before the model changes (Prepare() relies on it).
  std::vector<FollowerMask> followers;
  if (uses_dependency_groups()) {
    SP_ASSIGN_OR_RETURN(followers, PlanGroupMasks());
  }
  std::vector<bool> prune_bias;
  for (const ConfigGroup& g : groups_) {
    SP_ASSIGN_OR_RETURN(bool b, g.GetBool(kPruneBias, true));
    prune_bias.push_back(b);
  }
  for (size_t i = 0; i < groups_.size(); ++i) {
    const ConfigGroup& g = groups_[i];
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
    m.RegisterParametrization(g.tensor_name, std::make_shared<FakeStructuredSparsity>(mask));
    MoveBiasUnderHook(m, mask, prune_bias[i]);
  }
  for (const FollowerMask& f : followers) {
    if (f.module->kind() == OpKind::kBatchNorm2d) {
      // With prune_bias a masked channel reads 0 after the norm, so zero-padded convs after it stay exact.
      for (const char* name : {"weight", "bias"}) {
        if (f.module->HasParameter(name)) {
          f.module->RegisterParametrization(name, std::make_shared<FakeStructuredSparsity>(f.mask));
        }
      }
    } else {  // depthwise conv
      f.module->RegisterParametrization("weight", std::make_shared<FakeStructuredSparsity>(f.mask));
      MoveBiasUnderHook(*f.module, f.mask, f.prune_bias);
    }
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
  // Configured producers by module FQN (the first group of each): only chains starting at one
  // of them are pruned. Keys view groups_, which stays as it is until the end.
  absl::flat_hash_map<absl::string_view, const ConfigGroup*> configured;
  for (const ConfigGroup& g : groups_) configured.try_emplace(g.module_fqn, &g);
  if (uses_dependency_groups()) {
    // Linear/Conv2d producers go through their dependency groups; LSTMs keep their patterns.
    if (!dependency_graph_) {
      SP_ASSIGN_OR_RETURN(dependency_graph_, BuildDependencyGraph(*model_, input_shapes_));
    }
    // Freed once planned, before Commit allocates (rebuilt above if Prune is called again).
    const DependencyGraph dg = *std::exchange(dependency_graph_, std::nullopt);
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
    if (node->kind() != NodeKind::kCallModule) continue;
    auto group = configured.find(node->target());
    if (group == configured.end()) continue;
    const size_t first_record = plan.report().layers.size();
    auto result = matcher.MatchAt(*node);
    if (!result) {
      std::string why;  // matched again to say why: the message costs more than a match
      matcher.MatchAt(*node, &why);
      return absl::InvalidArgumentError(absl::StrCat("cannot prune '", group->second->tensor_fqn,
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
  PruneReport report = std::move(plan.report());
  report.params_after = model_->NumParameters();
  // The sparsifier is done with this model: masks are gone.
  model_ = nullptr;
  groups_.clear();
  masks_.clear();
  dependency_graph_.reset();
  return report;
}

absl::Status BaseStructuredSparsifier::SquashMask() {
  if (model_ == nullptr) return absl::FailedPreconditionError("SquashMask() before Prepare()");
  PrunePlan plan(*model_, {});
  return plan.Commit(*model_);  // no edits: only masks baked, biases restored, hooks removed
}

absl::Status BaseStructuredSparsifier::Step() {
  if (!uses_dependency_groups() || producer_channels_.empty()) return BaseSparsifier::Step();
  if (model_ == nullptr) return absl::FailedPreconditionError("Step() before Prepare()");
  // Importance per group channel, summed over producers (each normalized by its mean row score).
  struct GroupState {
    std::vector<double> importance;
    const ConfigGroup* config = nullptr;  // first configured producer: options
  };
  std::vector<GroupState> groups(group_sizes_.size());  // by group; config null: not scored
  std::map<std::string, Tensor> per_tensor;  // tensors scored by UpdateMask instead
  for (const ConfigGroup& g : groups_) {
    const Module& m = *model_->root().FindModule(g.module_fqn);
    auto pc = producer_channels_.find(g.tensor_fqn);
    absl::StatusOr<std::vector<double>> scores =
        pc == producer_channels_.end() ? absl::UnimplementedError("") : ChannelScores(m, g);
    if (!scores.ok()) {
      if (scores.status().code() != absl::StatusCode::kUnimplemented) return scores.status();
      Tensor mask = masks_.at(g.tensor_fqn).Clone();
      SP_RETURN_IF_ERROR(UpdateMask(m, g, mask));
      per_tensor[g.tensor_fqn] = mask;
      continue;
    }
    const auto& [group, channel_of_row] = pc->second;
    GroupState& state = groups[group];
    if (state.importance.empty()) state.importance.assign(group_sizes_[group], 0.0);
    if (state.config == nullptr) state.config = &g;
    double mean = 0;
    for (double v : *scores) mean += v;
    mean = scores->empty() ? 1.0 : mean / scores->size();
    for (size_t r = 0; r < scores->size(); ++r) {
      state.importance[channel_of_row[r]] += mean > 0 ? (*scores)[r] / mean : 0.0;
    }
  }
  // Choose pruned channels: per group, or one threshold across groups.
  SP_ASSIGN_OR_RETURN(bool global, [&]() -> absl::StatusOr<bool> {
    auto it = defaults().find("global_pruning");
    if (it == defaults().end()) return false;
    if (const bool* b = std::get_if<bool>(&it->second)) return *b;
    return absl::InvalidArgumentError("option 'global_pruning' must be a bool");
  }());
  std::vector<std::vector<bool>> pruned(groups.size());  // empty for groups not scored
  std::vector<std::tuple<double, int, int64_t>> candidates;  // (importance, group, channel)
  double global_level = 0;
  int64_t global_prunable = 0;
  for (int group = 0; group < static_cast<int>(groups.size()); ++group) {
    GroupState& state = groups[group];
    if (state.config == nullptr) continue;
    SP_ASSIGN_OR_RETURN(double level, state.config->GetNumber(kSparsityLevel, -1.0));
    if (level < 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", state.config->tensor_fqn, "': no sparsity_level configured"));
    }
    std::vector<int64_t> order;
    for (int64_t c = 0; c < group_sizes_[group]; ++c) {
      if (!group_blocked_[group][c]) order.push_back(c);
    }
    std::stable_sort(order.begin(), order.end(),
                     // An init-capture: clang before 16 cannot capture a structured binding.
                     [&importance = state.importance](int64_t a, int64_t b) {
                       return importance[a] < importance[b];
                     });
    pruned[group].assign(group_sizes_[group], false);
    if (global) {
      for (int64_t c : order) candidates.emplace_back(state.importance[c] , group, c);
      global_level = level;
      global_prunable += static_cast<int64_t>(order.size());
      continue;
    }
    const int64_t count = static_cast<int64_t>(static_cast<double>(order.size()) * level);
    for (int64_t i = 0; i < count; ++i) pruned[group][order[i]] = true;
  }
  if (global) {
    SP_ASSIGN_OR_RETURN(double cap, [&]() -> absl::StatusOr<double> {
      auto it = defaults().find("max_group_sparsity");
      if (it == defaults().end()) return 0.9;
      if (const double* d = std::get_if<double>(&it->second)) return *d;
      return absl::InvalidArgumentError("option 'max_group_sparsity' must be a number");
    }());
    std::stable_sort(candidates.begin(), candidates.end());
    int64_t budget = static_cast<int64_t>(static_cast<double>(global_prunable) * global_level);
    std::vector<int64_t> taken(groups.size(), 0);
    for (const auto& [importance, group, channel] : candidates) {
      if (budget == 0) break;
      if (taken[group] + 1 > static_cast<int64_t>(cap * static_cast<double>(group_sizes_[group]))) continue;
      pruned[group][channel] = true;
      ++taken[group];
      --budget;
    }
  }
  // round_to: the channels left stay a multiple of N (the most important pruned ones return).
  for (int group = 0; group < static_cast<int>(groups.size()); ++group) {
    const GroupState& state = groups[group];
    if (state.config == nullptr) continue;
    SP_ASSIGN_OR_RETURN(double round_to, state.config->GetNumber("round_to", 1.0));
    const int64_t n = static_cast<int64_t>(round_to);
    if (n <= 1) continue;
    std::vector<bool>& p = pruned[group];
    int64_t left = std::count(p.begin(), p.end(), false);
    const int64_t target = std::min<int64_t>(group_sizes_[group], (left + n - 1) / n * n);
    std::vector<int64_t> back;
    for (int64_t c = 0; c < group_sizes_[group]; ++c) {
      if (p[c]) back.push_back(c);
    }
    std::stable_sort(back.begin(), back.end(),
                     // An init-capture: clang before 16 cannot capture a structured binding.
                     [&importance = state.importance](int64_t a, int64_t b) {
                       return importance[a] > importance[b];
                     });
    for (size_t i = 0; left < target && i < back.size(); ++i, ++left) p[back[i]] = false;
  }
  // Commit: every mask at once.
  for (auto& [fqn, mask] : per_tensor) std::memcpy(masks_.at(fqn).data<bool>(), mask.data<bool>(), mask.nbytes());
  for (const auto& [fqn, pc] : producer_channels_) {
    const std::vector<bool>& group_pruned = pruned[pc.first];
    if (group_pruned.empty()) continue;
    Tensor& mask = masks_.at(fqn);
    for (size_t r = 0; r < pc.second.size(); ++r) mask.data<bool>()[r] = !group_pruned[pc.second[r]];
  }
  OnMasksChanged();
  return absl::OkStatus();
}

}  // namespace structprune
