#include "pruning/prune_functions.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/index_select.h"
#include "core/status_macros.h"
#include "ops/activations.h"
#include "ops/pooling.h"
#include "pruning/config.h"
#include "pruning/parametrization.h"
#include "pruning/prune_util.h"

namespace structprune {
namespace {

using internal::AttrsOf;
using internal::FindParametrization;

// A pruned channel's value as it flows down the chain: constant per channel while `exact`.
struct ChannelValue {
  float value = 0.0f;
  bool exact = true;
};

std::vector<int64_t> Range(int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// Position of `node` among the flattened model outputs (an LSTM yields 3 tensors, its
// getitem(1) state 2).
int64_t FlatOutputIndex(const Graph& graph, const Node& node) {
  int64_t index = 0;
  for (const Node* arg : graph.output()->args()) {
    if (arg == &node) return index;
    if (arg->IsCallTo(OpKind::kLstm)) {
      index += 3;
    } else if (arg->IsCallTo(OpKind::kGetItem) && !arg->args().empty() && arg->args()[0]->IsCallTo(OpKind::kLstm)) {
      auto i = GetIntAttr(arg->attrs(), "index", 0);
      index += (i.ok() && *i == 1) ? 2 : 1;
    } else {
      index += 1;
    }
  }
  return -1;
}

// Every chain node (but the consumer) that is also a model output: that output keeps only
// the surviving channels along `dim`.
void RecordOutputUses(const Match& match, int64_t dim, const std::vector<int64_t>& keep, PrunePlan& plan) {
  const Graph& graph = plan.model().graph();
  for (size_t i = 0; i + 1 < match.nodes.size(); ++i) {
    for (const Node* user : match.nodes[i]->users()) {
      if (user->kind() != NodeKind::kOutput) continue;
      int64_t dim_here = dim;
      // Past a flatten a conv channel owns a run of columns; only the per-channel layout
      // before it is described here.
      if (match.nodes[i]->IsCallTo(OpKind::kFlatten)) continue;
      if (match.nodes[i]->IsCallTo(OpKind::kLstm)) continue;  // tuple: its state is recorded separately
      plan.report().output_changes.push_back({FlatOutputIndex(graph, *match.nodes[i]), dim_here, keep, {}});
      break;
    }
  }
}

// Pushes each channel's constant through one pass-through node.
// `per_channel` collects tensors indexed by the channel (per-channel PReLU slopes) that must
// lose the pruned channels too.
absl::Status Propagate(const PrunePlan& plan, const Node& node, std::vector<ChannelValue>& values,
                       std::string& inexact_reason, std::vector<std::string>& per_channel) {
  const OpKind op = node.op();
  const AttrMap& attrs = AttrsOf(plan, node);
  if (IsActivation(op)) {
    SP_ASSIGN_OR_RETURN(ActivationParams params, ReadActivationParams(op, attrs));
    Tensor slope;
    if (op == OpKind::kPrelu) {
      std::string slope_fqn;
      if (node.kind() == NodeKind::kCallModule) {
        slope_fqn = node.target() + ".weight";
      } else if (node.args().size() == 2 && node.args()[1]->kind() == NodeKind::kGetAttr) {
        slope_fqn = node.args()[1]->target();
      } else {
        return absl::UnimplementedError(absl::StrCat("prelu '", node.name(), "': its weight must come from get_attr"));
      }
      SP_ASSIGN_OR_RETURN(auto owner, plan.model().root().FindTensorOwner(slope_fqn));
      SP_ASSIGN_OR_RETURN(slope, owner.first->Effective(owner.second));
      if (slope.dim() > 1) {  // F.prelu's element-wise broadcast form (ONNX PRelu)
        return absl::UnimplementedError(absl::StrCat("cannot prune through '", node.name(), "' (prelu): its weight ",
                                                     ShapeToString(slope.shape()),
                                                     " broadcasts element-wise, not per channel"));
      }
      // The slopes index dim 1: the pruned channels of a Conv2d ([N, C, H, W]) and of a Linear
      // on [N, F]. On [N, T, F] they index T, which this chain cannot see (patterns know no
      // shapes): a PReLU(num_parameters=T) with T == F would be sliced as if per feature.
      // Dependency-group mode knows the shapes and keeps such channels.
      if (slope.numel() != 1 && slope.numel() != static_cast<int64_t>(values.size())) {
        return absl::InvalidArgumentError(absl::StrCat("'", node.name(), "' has ", slope.numel(), " slopes for ",
                                                       values.size(), " channels"));
      }
      if (slope.numel() > 1) per_channel.push_back(slope_fqn);
    }
    for (size_t j = 0; j < values.size(); ++j) {
      float w = 0.25f;
      if (slope.defined()) w = slope.data<float>()[slope.numel() == 1 ? 0 : j];
      values[j].value = ApplyActivationScalar(op, params, values[j].value, w);
    }
    return absl::OkStatus();
  }
  if (op == OpKind::kAvgPool2d) {
    // A constant channel stays constant unless windows count zero padding or use a custom
    // divisor: then border outputs differ from the interior.
    SP_ASSIGN_OR_RETURN(internal::PoolParams pool, internal::ReadPoolParams(op, attrs));
    if (internal::AvgPoolVariesOnConstant(pool)) {
      for (ChannelValue& v : values) {
        if (v.value != 0.0f && v.exact) {
          v.exact = false;
          inexact_reason = absl::StrCat("'", node.name(), "' averages over zero padding (or a divisor override)");
        }
      }
    }
    return absl::OkStatus();
  }
  // Max pools (padding acts as -inf), adaptive pools and flatten keep constants constant.
  if (op == OpKind::kMaxPool2d || op == OpKind::kAdaptiveAvgPool2d || op == OpKind::kAdaptiveMaxPool2d ||
      op == OpKind::kFlatten || op == OpKind::kIdentity || op == OpKind::kDropout) {
    return absl::OkStatus();
  }
  return absl::UnimplementedError(absl::StrCat("cannot prune through '", node.name(), "' (", OpName(op), ")"));
}

// A grouped conv's output channels come in `groups` equal runs, run g reading input group g.
// Rows can only go when every run loses as many as the others (the runs stay equal and in
// place), so pruned channels past the smallest loss move back to `keep` and `kept_exact`
// (from the end of their run). True when any did.
bool BalanceGroups(int64_t C, int64_t groups, std::vector<int64_t>& keep, std::vector<int64_t>& pruned,
                   std::vector<int64_t>& kept_exact, std::vector<int64_t>& removed_inexact) {
  const int64_t per_group = C / groups;
  std::vector<std::vector<int64_t>> pruned_in(groups);
  for (int64_t j : pruned) pruned_in[j / per_group].push_back(j);
  size_t fewest = pruned.size();
  for (const auto& p : pruned_in) fewest = std::min(fewest, p.size());
  bool moved = false;
  for (auto& p : pruned_in) {
    while (p.size() > fewest) {
      const int64_t j = p.back();
      p.pop_back();
      pruned.erase(std::find(pruned.begin(), pruned.end(), j));
      auto inexact = std::find(removed_inexact.begin(), removed_inexact.end(), j);
      if (inexact != removed_inexact.end()) removed_inexact.erase(inexact);
      keep.push_back(j);
      kept_exact.push_back(j);
      moved = true;
    }
  }
  std::sort(kept_exact.begin(), kept_exact.end());
  return moved;
}

absl::Status CheckFlatten(const PrunePlan& plan, const Node& node) {
  if (!node.IsCallTo(OpKind::kFlatten)) return absl::OkStatus();
  const AttrMap& attrs = AttrsOf(plan, node);
  SP_ASSIGN_OR_RETURN(int64_t start, GetIntAttr(attrs, "start_dim", node.kind() == NodeKind::kCallModule ? 1 : 0));
  SP_ASSIGN_OR_RETURN(int64_t end, GetIntAttr(attrs, "end_dim", -1));
  if (start != 1 || end != -1) {
    return absl::UnimplementedError(absl::StrCat("'", node.name(), "': pruning through flatten needs start_dim=1, end_dim=-1"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PruneProducerChain(const Match& match, PrunePlan& plan) {
  const Node& producer_node = *match.nodes.front();
  const Node& last = *match.nodes.back();
  const Module& producer = plan.ModuleOf(producer_node);
  const std::string& fqn = producer_node.target();
  const auto* sparsity = FindParametrization<FakeStructuredSparsity>(producer, "weight");
  if (sparsity == nullptr) return absl::OkStatus();  // not configured: nothing to prune
  const Tensor& mask = sparsity->mask();
  const int64_t C = mask.numel();

  // The constant a masked channel holds at the producer's output: its bias, or 0 when the
  // bias is pruned (or absent).
  const Tensor* bias = producer.parameter(kMovedBias);
  std::vector<ChannelValue> values(C);
  for (int64_t j = 0; j < C; ++j) values[j].value = internal::MaskedChannelValue(producer, j);
  std::string inexact_reason;
  std::vector<std::string> per_channel;
  for (size_t i = 1; i + 1 < match.nodes.size(); ++i) {
    SP_RETURN_IF_ERROR(CheckFlatten(plan, *match.nodes[i]));
    SP_RETURN_IF_ERROR(Propagate(plan, *match.nodes[i], values, inexact_reason, per_channel));
  }

  // Consumer: how many input columns each channel owns, and whether zero padding breaks
  // folding a nonzero constant. Its stored weight has the shape of the weight it computes
  // with (parametrizations mask, they never reshape); the values are read only to fold.
  const Module* consumer = nullptr;
  int64_t cols_per_channel = 1;
  bool padded_consumer = false;
  if (last.kind() == NodeKind::kCallModule) {
    consumer = &plan.ModuleOf(last);
    const Tensor* stored = internal::PreparedTensor(*consumer, "weight");
    if (stored == nullptr) return consumer->Effective("weight").status();  // NotFound, naming it
    const int64_t in = stored->size(1);
    if (consumer->kind() == OpKind::kConv2d) {
      SP_ASSIGN_OR_RETURN(int64_t groups, GetIntAttr(consumer->attrs(), "groups", 1));
      if (groups != 1) {
        return absl::UnimplementedError(absl::StrCat("'", last.target(), "' is a grouped conv (groups=", groups,
                                                     "); pruning its input needs dependency groups"));
      }
      SP_ASSIGN_OR_RETURN(auto padding, GetPairAttr(consumer->attrs(), "padding", {0, 0}));
      padded_consumer = padding[0] > 0 || padding[1] > 0;
    }
    if (in % C != 0 || (in != C && consumer->kind() != OpKind::kLinear)) {
      return absl::InvalidArgumentError(absl::StrCat("'", last.target(), "' has ", in, " input features, which do not map onto the ",
                                                     C, " channels of '", fqn, "'"));
    }
    cols_per_channel = in / C;
  }

  std::vector<int64_t> keep, pruned, kept_exact, removed_inexact;
  for (int64_t j = 0; j < C; ++j) {
    if (mask.data<bool>()[j]) {
      keep.push_back(j);
      continue;
    }
    bool exact = values[j].exact;
    if (exact && padded_consumer && values[j].value != 0.0f) {
      exact = false;
      inexact_reason = absl::StrCat("a nonzero constant channel enters zero-padded '", last.target(), "'");
    }
    if (!exact && !plan.options().approximate) {
      kept_exact.push_back(j);
      keep.push_back(j);
      continue;
    }
    if (!exact) removed_inexact.push_back(j);
    pruned.push_back(j);
  }
  if (keep.empty() && C > 0) {
    // A layer of width 0 cannot run: the first channel stays.
    keep.push_back(0);
    kept_exact.insert(kept_exact.begin(), 0);
    pruned.erase(std::find(pruned.begin(), pruned.end(), 0));
    if (!removed_inexact.empty() && removed_inexact.front() == 0) removed_inexact.erase(removed_inexact.begin());
    inexact_reason = "pruning every channel would leave the layer empty";
  }
  if (producer.kind() == OpKind::kConv2d) {
    SP_ASSIGN_OR_RETURN(int64_t groups, GetIntAttr(producer.attrs(), "groups", 1));
    if (groups > 1 && BalanceGroups(C, groups, keep, pruned, kept_exact, removed_inexact)) {
      absl::StrAppend(&inexact_reason, inexact_reason.empty() ? "" : "; ", "grouped conv (groups=", groups,
                      "): every group must lose as many channels as the others");
    }
  }
  std::sort(keep.begin(), keep.end());

  SP_RETURN_IF_ERROR(plan.Slice(fqn + ".weight", 0, keep));
  for (const std::string& tensor : per_channel) SP_RETURN_IF_ERROR(plan.Slice(tensor, 0, keep));
  if (bias != nullptr || producer.parameter("bias") != nullptr) SP_RETURN_IF_ERROR(plan.Slice(fqn + ".bias", 0, keep));
  if (consumer != nullptr) {
    const std::string& consumer_fqn = last.target();
    if (std::any_of(pruned.begin(), pruned.end(), [&](int64_t j) { return values[j].value != 0.0f; })) {
      // Fold: delta[o] = sum over removed j of value_j * sum of W[o, columns of j (, kh, kw)].
      SP_ASSIGN_OR_RETURN(const Tensor consumer_weight, consumer->Effective("weight"));
      const int64_t O = consumer_weight.size(0);
      const int64_t row = consumer_weight.numel() / O;  // in * KH * KW (or in)
      const int64_t per_col = row / consumer_weight.size(1);
      Tensor delta = Tensor::Zeros({O});
      for (int64_t j : pruned) {
        if (values[j].value == 0.0f) continue;
        for (int64_t o = 0; o < O; ++o) {
          const float* w = consumer_weight.data<float>() + o * row + j * cols_per_channel * per_col;
          double s = 0;
          for (int64_t k = 0; k < cols_per_channel * per_col; ++k) s += w[k];
          delta.data<float>()[o] += static_cast<float>(s * values[j].value);
        }
      }
      SP_RETURN_IF_ERROR(plan.AddToBias(consumer_fqn, delta));
    }
    std::vector<int64_t> cols;
    for (int64_t j : keep) {
      for (int64_t k = 0; k < cols_per_channel; ++k) cols.push_back(j * cols_per_channel + k);
    }
    SP_RETURN_IF_ERROR(plan.Slice(consumer_fqn + ".weight", 1, cols));
  }
  RecordOutputUses(match, producer.kind() == OpKind::kConv2d ? -3 : -1, keep, plan);
  plan.MarkHandled(fqn + ".weight");
  LayerPruneRecord record;
  record.module_fqn = fqn;
  record.tensor_fqn = fqn + ".weight";
  record.channels_before = C;
  record.channels_after = static_cast<int64_t>(keep.size());
  record.channels_pruned = pruned;
  record.channels_kept_for_exactness = kept_exact;
  if (!kept_exact.empty()) record.kept_reason = inexact_reason;
  record.channels_removed_inexactly = removed_inexact;
  if (!removed_inexact.empty()) record.inexact_reason = inexact_reason;
  plan.report().layers.push_back(std::move(record));
  return absl::OkStatus();
}

absl::Status PruneLstmChain(const Match& match, PrunePlan& plan) {
  const Node& lstm_node = *match.nodes.front();
  const Module& lstm = plan.ModuleOf(lstm_node);
  const std::string& fqn = lstm_node.target();
  const Node& consumer = *match.nodes.back();
  const Node* norm = match.nodes.size() == 4 ? match.nodes[2] : nullptr;
  SP_ASSIGN_OR_RETURN(int64_t layers, GetIntAttr(lstm.attrs(), "num_layers", 1));
  SP_ASSIGN_OR_RETURN(int64_t H, GetIntAttr(lstm.attrs(), "hidden_size", 0));
  SP_ASSIGN_OR_RETURN(bool has_bias, GetBoolAttr(lstm.attrs(), "bias", true));

  std::vector<std::vector<int64_t>> keep(layers), removed(layers);
  bool any_mask = false;
  for (int64_t k = 0; k < layers; ++k) {
    const std::string name = absl::StrCat("weight_ih_l", k);
    const auto* sparsity = FindParametrization<LstmUnitSparsity>(lstm, name);
    any_mask |= sparsity != nullptr;
    for (int64_t j = 0; j < H; ++j) {
      (sparsity == nullptr || sparsity->mask().data<bool>()[j] ? keep : removed)[k].push_back(j);
    }
  }
  if (!any_mask) return absl::OkStatus();
  // A layer of hidden_size 0 cannot run: a layer losing every unit keeps its first.
  std::vector<std::vector<int64_t>> kept_exact(layers);
  std::string kept_reason;
  for (int64_t k = 0; k < layers; ++k) {
    if (!keep[k].empty() || removed[k].empty()) continue;
    keep[k].push_back(removed[k].front());
    kept_exact[k].push_back(removed[k].front());
    removed[k].erase(removed[k].begin());
    kept_reason = "pruning every unit would leave the layer empty";
  }
  if (lstm_node.args().size() > 1) {
    return absl::UnimplementedError(absl::StrCat("LSTM '", fqn, "' is called with an initial state; a pruned unit's state "
                                                 "would not stay zero"));
  }
  // The state (h_n, c_n) loses the pruned units too: it may only be returned, whole or as
  // h_n / c_n, never read by another layer (nothing here slices that layer).
  for (const Node* user : lstm_node.users()) {
    auto index = GetIntAttr(user->attrs(), "index", 0);
    if (!user->IsCallTo(OpKind::kGetItem) || !index.ok() || *index != 1) continue;
    for (const Node* item : user->users()) {
      std::vector<const Node*> readers = {item};
      if (item->IsCallTo(OpKind::kGetItem)) readers.assign(item->users().begin(), item->users().end());
      for (const Node* reader : readers) {
        if (reader->kind() == NodeKind::kOutput) continue;
        return absl::UnimplementedError(absl::StrCat("LSTM '", fqn, "': its state (h_n, c_n) is read by '",
                                                     reader->name(), "', which pruning hidden units would not fit"));
      }
    }
  }
  for (int64_t k = 1; k < layers; ++k) {
    if (keep[k].size() != keep[0].size()) {
      return absl::InvalidArgumentError(absl::StrCat("LSTM '", fqn, "': layers keep different numbers of hidden units (layer 0: ",
                                                     keep[0].size(), ", layer ", k, ": ", keep[k].size(),
                                                     "); nn.LSTM has one hidden_size"));
    }
  }
  std::string inexact_reason;
  std::vector<std::vector<int64_t>> removed_inexact(layers);
  if (norm != nullptr && !removed[0].empty()) {
    const std::string why = absl::StrCat("removing hidden units changes the statistics of LayerNorm '", norm->target(),
                                         "' (and all LSTM layers share one hidden_size)");
    if (plan.options().approximate) {
      inexact_reason = why;
      removed_inexact = removed;
    } else {
      kept_reason = why;
      for (int64_t k = 0; k < layers; ++k) {
        kept_exact[k].insert(kept_exact[k].end(), removed[k].begin(), removed[k].end());
        std::sort(kept_exact[k].begin(), kept_exact[k].end());
        keep[k] = Range(H);
        removed[k].clear();
      }
    }
  }
  for (int64_t k = 0; k < layers; ++k) {
    std::vector<int64_t> rows;
    for (int64_t gate = 0; gate < 4; ++gate) {
      for (int64_t j : keep[k]) rows.push_back(gate * H + j);
    }
    const std::string suffix = absl::StrCat("_l", k);
    SP_RETURN_IF_ERROR(plan.Slice(fqn + ".weight_ih" + suffix, 0, rows));
    SP_RETURN_IF_ERROR(plan.Slice(fqn + ".weight_hh" + suffix, 0, rows));
    SP_RETURN_IF_ERROR(plan.Slice(fqn + ".weight_hh" + suffix, 1, keep[k]));
    if (has_bias) {
      SP_RETURN_IF_ERROR(plan.Slice(fqn + ".bias_ih" + suffix, 0, rows));
      SP_RETURN_IF_ERROR(plan.Slice(fqn + ".bias_hh" + suffix, 0, rows));
    }
    if (k + 1 < layers) SP_RETURN_IF_ERROR(plan.Slice(fqn + absl::StrCat(".weight_ih_l", k + 1), 1, keep[k]));
    plan.MarkHandled(fqn + ".weight_ih" + suffix);
    LayerPruneRecord record;
    record.module_fqn = fqn;
    record.tensor_fqn = fqn + ".weight_ih" + suffix;
    record.channels_before = H;
    record.channels_after = static_cast<int64_t>(keep[k].size());
    record.channels_pruned = removed[k];
    record.channels_kept_for_exactness = kept_exact[k];
    record.kept_reason = kept_exact[k].empty() ? "" : kept_reason;
    record.channels_removed_inexactly = removed_inexact[k];
    record.inexact_reason = removed_inexact[k].empty() ? "" : inexact_reason;
    plan.report().layers.push_back(std::move(record));
  }
  const std::vector<int64_t>& last_keep = keep[layers - 1];
  if (norm != nullptr) {
    const Module& ln = plan.ModuleOf(*norm);
    SP_ASSIGN_OR_RETURN(auto shape, GetIntsAttr(ln.attrs(), "normalized_shape", {}));
    if (shape.size() != 1) {
      return absl::UnimplementedError(absl::StrCat("LayerNorm '", norm->target(), "' must normalize the last dim only"));
    }
    if (ln.parameter("weight") != nullptr) SP_RETURN_IF_ERROR(plan.Slice(norm->target() + ".weight", 0, last_keep));
    if (ln.parameter("bias") != nullptr) SP_RETURN_IF_ERROR(plan.Slice(norm->target() + ".bias", 0, last_keep));
    plan.SetAttr(norm->target(), "normalized_shape", std::vector<int64_t>{static_cast<int64_t>(last_keep.size())});
  }
  SP_RETURN_IF_ERROR(plan.Slice(consumer.target() + ".weight", 1, last_keep));
  RecordOutputUses(match, -1, last_keep, plan);
  // The state (h_n, c_n), or h_n or c_n alone, as a model output: layer k keeps its own
  // surviving units.
  for (const Node* user : lstm_node.users()) {
    if (!user->IsCallTo(OpKind::kGetItem)) continue;
    auto index = GetIntAttr(user->attrs(), "index", 0);
    if (!index.ok() || *index != 1) continue;
    const int64_t flat = FlatOutputIndex(plan.model().graph(), *user);
    if (flat >= 0) {
      plan.report().output_changes.push_back({flat, -1, {}, keep});
      plan.report().output_changes.push_back({flat + 1, -1, {}, keep});
    }
    for (const Node* item : user->users()) {
      if (!item->IsCallTo(OpKind::kGetItem)) continue;
      const int64_t item_flat = FlatOutputIndex(plan.model().graph(), *item);
      if (item_flat >= 0) plan.report().output_changes.push_back({item_flat, -1, {}, keep});
    }
  }
  return absl::OkStatus();
}

}  // namespace structprune
