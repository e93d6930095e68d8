#include "pruning/group_prune.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "ops/activations.h"
#include "ops/pooling.h"
#include "pruning/prune_util.h"

namespace structprune {
namespace {

using GroupChannel = DependencyGraph::GroupChannel;

// A pruned channel's value at one node output: constant per channel while `exact`.
struct PositionValue {
  bool pruned = false;
  float value = 0.0f;
  bool exact = true;
};

// Where a consumer reads a pruned channel: its constant goes into the consumer's bias.
struct FoldSite {
  const Node* consumer;
  int64_t column;  // input position the consumer reads the channel at
  GroupChannel channel;
  float value;
};

class GroupPlanner {
 public:
  GroupPlanner(const DependencyGraph& dg, const std::map<std::string, Tensor>& masks, PrunePlan& plan)
      : dg_(dg), masks_(masks), plan_(plan), pruned_(PrunedGroupChannels(dg, masks)), reasons_(pruned_.size()) {
    for (size_t g = 0; g < pruned_.size(); ++g) reasons_[g].resize(pruned_[g].size());
  }

  absl::Status Run();

 private:
  bool IsPruned(const GroupChannel& gc) const {
    return gc.group >= 0 && !pruned_[gc.group].empty() && pruned_[gc.group][gc.channel];
  }
  void MarkInexact(const GroupChannel& gc, const std::string& why) {
    if (IsPruned(gc) && reasons_[gc.group][gc.channel].empty()) reasons_[gc.group][gc.channel] = why;
  }
  absl::StatusOr<std::vector<PositionValue>> Evaluate(const Node& node, const std::vector<GroupChannel>& positions);
  absl::Status PlanEdits();

  const DependencyGraph& dg_;
  const std::map<std::string, Tensor>& masks_;
  PrunePlan& plan_;
  // By group (vectors, not maps: every channel of every slice asks, and a 10,000-layer net
  // has thousands of groups).
  std::vector<std::vector<bool>> pruned_;
  std::vector<std::vector<std::string>> reasons_;  // why a pruned channel cannot go ("" = it can)
  // By node index: each evaluated node's per-position values (none for nodes without channel info).
  std::vector<std::optional<std::vector<PositionValue>>> values_;
  std::vector<FoldSite> folds_;
  std::map<std::string, int64_t, std::less<>> depthwise_;  // depthwise conv module -> channel count
};

absl::StatusOr<std::vector<PositionValue>> GroupPlanner::Evaluate(const Node& node,
                                                                  const std::vector<GroupChannel>& positions) {
  std::vector<PositionValue> out(positions.size());
  for (size_t k = 0; k < positions.size(); ++k) out[k].pruned = IsPruned(positions[k]);
  // Named only in reasons, which are rare: not built per node.
  auto where = [&node] { return absl::StrCat("'", node.name(), "'"); };
  auto input = [&](size_t i) -> const std::vector<PositionValue>* {
    if (i >= node.args().size()) return nullptr;
    const auto& values = values_[node.args()[i]->index()];
    return values ? &*values : nullptr;
  };
  auto copy_input = [&](const std::vector<PositionValue>* in) {
    if (in == nullptr || in->size() != out.size()) {
      for (size_t k = 0; k < out.size(); ++k) {
        out[k].exact = false;
        MarkInexact(positions[k], absl::StrCat(where(), " is not understood channel by channel"));
      }
      return;
    }
    for (size_t k = 0; k < out.size(); ++k) {
      out[k].value = (*in)[k].value;
      out[k].exact = (*in)[k].exact;
    }
  };
  if (node.kind() != NodeKind::kCallModule && node.kind() != NodeKind::kCallFunction) return out;
  const Module* module = node.kind() == NodeKind::kCallModule ? &plan_.ModuleOf(node) : nullptr;
  const OpKind op = node.op();
  const AttrMap& attrs = internal::AttrsOf(plan_, node);

  // Consumer role: a Linear / Conv2d reads the pruned channels of its input.
  if ((op == OpKind::kLinear || op == OpKind::kConv2d) && module != nullptr) {
    SP_ASSIGN_OR_RETURN(int64_t groups, GetIntAttr(attrs, "groups", 1));
    const auto* in = input(0);
    const DependencyGraph::NodeChannels* in_pos = dg_.ChannelsOf(*node.args()[0]);
    const bool depthwise = op == OpKind::kConv2d && groups > 1;
    if (in != nullptr && in_pos != nullptr && !depthwise) {
      bool padded = false;
      if (op == OpKind::kConv2d) {
        SP_ASSIGN_OR_RETURN(auto padding, GetPairAttr(attrs, "padding", {0, 0}));
        padded = padding[0] > 0 || padding[1] > 0;
      }
      for (size_t k = 0; k < in->size(); ++k) {
        const PositionValue& v = (*in)[k];
        if (!v.pruned) continue;
        const GroupChannel& gc = in_pos->positions[k];
        if (!v.exact) continue;  // reason already recorded upstream
        if (padded && v.value != 0.0f) {
          MarkInexact(gc, absl::StrCat("a nonzero constant channel enters zero-padded '", node.target(), "'"));
        }
        if (v.value != 0.0f) folds_.push_back({&node, static_cast<int64_t>(k), gc, v.value});
      }
    }
    // Producer role: masked rows hold their masked bias; depthwise rows follow their input.
    const bool masked = internal::FindParametrization<FakeStructuredSparsity>(*module, "weight") != nullptr;
    if (depthwise) depthwise_[node.target()] = static_cast<int64_t>(positions.size());
    for (size_t k = 0; k < out.size(); ++k) {
      if (!out[k].pruned) continue;
      out[k].value = internal::MaskedChannelValue(*module, k);
      if (!masked) {
        out[k].exact = false;
        MarkInexact(positions[k], absl::StrCat("'", node.target(), "' carries the channel but is not masked"));
      }
    }
    return out;
  }
  const auto* in = input(0);
  if (op == OpKind::kBatchNorm2d && module != nullptr) {
    copy_input(in);
    SP_ASSIGN_OR_RETURN(double eps, GetFloatAttr(attrs, "eps", 1e-5));
    SP_ASSIGN_OR_RETURN(Tensor w, module->Effective("weight"));
    SP_ASSIGN_OR_RETURN(Tensor b, module->Effective("bias"));
    const Tensor* mean = module->buffer("running_mean");
    const Tensor* var = module->buffer("running_var");
    for (size_t k = 0; k < out.size(); ++k) {
      if (!out[k].pruned) continue;
      // Eval BatchNorm maps a constant channel to a constant.
      const double scale = w.data<float>()[k] / std::sqrt(static_cast<double>(var->data<float>()[k]) + eps);
      out[k].value = static_cast<float>((out[k].value - mean->data<float>()[k]) * scale + b.data<float>()[k]);
    }
    return out;
  }
  if (IsActivation(op)) {
    copy_input(in);
    SP_ASSIGN_OR_RETURN(ActivationParams params, ReadActivationParams(op, attrs));
    Tensor slope;
    if (op == OpKind::kPrelu) {
      if (module != nullptr) {
        SP_ASSIGN_OR_RETURN(slope, module->Effective("weight"));
      } else if (node.args().size() == 2 && node.args()[1]->kind() == NodeKind::kGetAttr) {
        SP_ASSIGN_OR_RETURN(auto owner, plan_.model().root().FindTensorOwner(node.args()[1]->target()));
        SP_ASSIGN_OR_RETURN(slope, owner.first->Effective(owner.second));
      }
    }
    for (size_t k = 0; k < out.size(); ++k) {
      if (!out[k].pruned) continue;
      const float w = slope.defined() ? slope.data<float>()[slope.numel() == 1 ? 0 : k] : 0.25f;
      out[k].value = ApplyActivationScalar(op, params, out[k].value, w);
    }
    return out;
  }
  if (op == OpKind::kAvgPool2d) {
    copy_input(in);
    SP_ASSIGN_OR_RETURN(internal::PoolParams pool, internal::ReadPoolParams(op, attrs));
    const bool varies = internal::AvgPoolVariesOnConstant(pool);
    for (size_t k = 0; k < out.size(); ++k) {
      if (out[k].pruned && varies && out[k].value != 0.0f && out[k].exact) {
        out[k].exact = false;
        MarkInexact(positions[k], absl::StrCat(where(), " averages over zero padding (or a divisor override)"));
      }
    }
    return out;
  }
  if (op == OpKind::kFlatten && in != nullptr && !in->empty() && out.size() % in->size() == 0) {
    const size_t per = out.size() / in->size();
    for (size_t k = 0; k < out.size(); ++k) {
      out[k].value = (*in)[k / per].value;
      out[k].exact = (*in)[k / per].exact;
    }
    return out;
  }
  if (op == OpKind::kAdd) {
    const auto* b = input(1);
    copy_input(in);
    if (b == nullptr || b->size() != out.size()) return out;
    for (size_t k = 0; k < out.size(); ++k) {
      out[k].value += (*b)[k].value;
      out[k].exact = out[k].exact && (*b)[k].exact;
    }
    return out;
  }
  if (op == OpKind::kCat) {
    std::vector<PositionValue> joined;
    for (size_t i = 0; i < node.args().size(); ++i) {
      const auto* part = input(i);
      if (part == nullptr) {
        joined.clear();
        break;
      }
      joined.insert(joined.end(), part->begin(), part->end());
    }
    copy_input(joined.empty() ? nullptr : &joined);
    return out;
  }
  // Max/adaptive pools, identity, dropout: a constant channel stays that constant.
  copy_input(in);
  return out;
}

absl::Status GroupPlanner::Run() {
  values_.resize(plan_.model().graph().size());
  for (const Node* node : plan_.model().graph().nodes()) {
    const DependencyGraph::NodeChannels* channels = dg_.ChannelsOf(*node);
    if (channels == nullptr) continue;  // no channel info (tuples, model outputs)
    SP_ASSIGN_OR_RETURN(values_[node->index()], Evaluate(*node, channels->positions));
  }
  return PlanEdits();
}

absl::Status GroupPlanner::PlanEdits() {
  std::vector<std::vector<bool>> forced_keep(pruned_.size());  // by group: kept so no producer ends up empty
  auto removable = [&](const GroupChannel& gc) {
    if (!IsPruned(gc) || !dg_.groups[gc.group].blocked[gc.channel].empty()) return false;
    if (!forced_keep[gc.group].empty() && forced_keep[gc.group][gc.channel]) return false;
    return plan_.options().approximate || reasons_[gc.group][gc.channel].empty();
  };
  // No producer loses every row: a layer of width 0 cannot run. A group's producers may own
  // disjoint channels (the parts of a cat), so each one that would end up empty keeps its
  // first row.
  for (const auto& [fqn, rows] : dg_.producer_rows) {
    if (pruned_[rows.group].empty() || rows.channel_of_row.empty()) continue;
    bool any_left = false;
    for (int64_t c : rows.channel_of_row) any_left = any_left || !removable({rows.group, static_cast<int32_t>(c)});
    if (any_left) continue;
    const int64_t first = rows.channel_of_row.front();
    if (forced_keep[rows.group].empty()) forced_keep[rows.group].resize(pruned_[rows.group].size());
    forced_keep[rows.group][first] = true;
    reasons_[rows.group][first] = "pruning every channel would leave the layer empty";
  }
  // Folds into consumers' biases: delta[o] = value * sum of W[o, column (, kh, kw)].
  // Per consumer node, in the order of their first fold; its masked weight read once.
  struct Delta {
    const Node* consumer;
    Tensor weight;
    Tensor delta;
  };
  absl::flat_hash_map<const Node*, size_t> delta_of;
  std::vector<Delta> deltas;
  for (const FoldSite& f : folds_) {
    if (!removable(f.channel)) continue;
    auto [at, fresh] = delta_of.try_emplace(f.consumer, deltas.size());
    if (fresh) {
      SP_ASSIGN_OR_RETURN(Tensor w, plan_.ModuleOf(*f.consumer).Effective("weight"));
      deltas.push_back({f.consumer, w, Tensor::Zeros({w.size(0)})});
    }
    const Tensor& w = deltas[at->second].weight;
    Tensor& delta = deltas[at->second].delta;
    const int64_t O = w.size(0), row = w.numel() / O, per_col = row / w.size(1);
    for (int64_t o = 0; o < O; ++o) {
      const float* p = w.data<float>() + o * row + f.column * per_col;
      double s = 0;
      for (int64_t i = 0; i < per_col; ++i) s += p[i];
      delta.data<float>()[o] += static_cast<float>(s * f.value);
    }
  }
  for (const Delta& d : deltas) SP_RETURN_IF_ERROR(plan_.AddToBias(d.consumer->target(), d.delta));
  // Slices: per tensor dim, the indices of removed channels go (a tensor read at several
  // places: the union). In the analysis's order so plans come out the same every run.
  absl::flat_hash_map<std::pair<int32_t, int32_t>, size_t> removed_of;  // (tensor, dim) ->
  std::vector<std::pair<std::pair<int32_t, int32_t>, std::vector<bool>>> removed;
  for (const DependencyGraph::TensorSlices& s : dg_.slices) {
    std::vector<bool>* flags = nullptr;
    for (size_t k = 0; k < s.channel_of_index.size(); ++k) {
      if (!removable(s.channel_of_index[k])) continue;
      if (flags == nullptr) {
        auto [at, fresh] = removed_of.try_emplace(std::pair(s.tensor, s.dim), removed.size());
        if (fresh) removed.emplace_back(std::pair(s.tensor, s.dim), std::vector<bool>());
        flags = &removed[at->second].second;
        flags->resize(std::max(flags->size(), s.channel_of_index.size()), false);
      }
      (*flags)[k] = true;
    }
  }
  for (const auto& [key, flags] : removed) {
    const std::string& fqn = dg_.tensor_names[key.first];
    const int64_t dim = key.second;
    const auto [module_fqn, name] = internal::SplitTensorFqn(fqn);
    const Module* m = plan_.model().root().FindModule(module_fqn);
    const Tensor* t = m == nullptr ? nullptr : internal::PreparedTensor(*m, name);
    if (t == nullptr) return absl::InternalError(absl::StrCat("dependency groups name unknown tensor '", fqn, "'"));
    std::vector<int64_t> keep;
    keep.reserve(t->size(dim));
    for (int64_t i = 0; i < t->size(dim); ++i) {
      if (static_cast<size_t>(i) >= flags.size() || !flags[i]) keep.push_back(i);
    }
    const int64_t n = static_cast<int64_t>(keep.size());
    SP_RETURN_IF_ERROR(plan_.Slice(fqn, dim, std::move(keep)));
    // A depthwise conv keeps groups == channels.
    if (dim == 0 && name == "weight" && depthwise_.count(module_fqn)) {
      const std::string module(module_fqn);
      plan_.SetAttr(module, "groups", n);
      plan_.SetAttr(module, "in_channels", n);
      plan_.SetAttr(module, "out_channels", n);
    }
  }
  // One report record per masked producer.
  plan_.report().layers.reserve(plan_.report().layers.size() + masks_.size());
  for (const auto& [fqn, mask] : masks_) {
    auto rows = dg_.producer_rows.find(fqn);
    if (rows == dg_.producer_rows.end()) continue;
    const int g = rows->second.group;
    LayerPruneRecord r;
    r.tensor_fqn = fqn;
    r.module_fqn = fqn.substr(0, fqn.rfind('.'));
    r.pattern = absl::StrCat("dependency group ", g);
    r.channels_before = mask.numel();
    for (int64_t row = 0; row < mask.numel(); ++row) {
      const GroupChannel gc{g, static_cast<int32_t>(rows->second.channel_of_row[row])};
      if (removable(gc)) {
        r.channels_pruned.push_back(row);
        if (!reasons_[g][gc.channel].empty()) {
          r.channels_removed_inexactly.push_back(row);
          r.inexact_reason = reasons_[g][gc.channel];
        }
      } else if (IsPruned(gc)) {
        r.channels_kept_for_exactness.push_back(row);
        const std::string& blocked = dg_.groups[g].blocked[gc.channel];
        r.kept_reason = blocked.empty() ? reasons_[g][gc.channel] : blocked;
      }
    }
    r.channels_after = r.channels_before - static_cast<int64_t>(r.channels_pruned.size());
    plan_.MarkHandled(fqn);
    plan_.report().layers.push_back(std::move(r));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::vector<bool>> PrunedGroupChannels(const DependencyGraph& dg,
                                                   const std::map<std::string, Tensor>& producer_masks) {
  std::vector<std::vector<bool>> out(dg.groups.size());
  for (const auto& [fqn, rows] : dg.producer_rows) {
    auto it = producer_masks.find(fqn);
    if (it == producer_masks.end()) continue;
    auto& channels = out[rows.group];
    if (channels.empty()) channels.assign(dg.groups[rows.group].size(), false);
    for (int64_t r = 0; r < it->second.numel(); ++r) {
      if (!it->second.data<bool>()[r]) channels[rows.channel_of_row[r]] = true;
    }
  }
  return out;
}

absl::Status PlanGroupPrune(const DependencyGraph& dg, const std::map<std::string, Tensor>& producer_masks,
                            PrunePlan& plan) {
  GroupPlanner planner(dg, producer_masks, plan);
  return planner.Run();
}

}  // namespace structprune
