#include "pruning/dependency_groups.h"

#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "graph/interpreter.h"

namespace structprune {
namespace {

// Channels are tracked as elements: every producer output channel (and every channel the
// analysis cannot attribute to a producer) is one element; coupled elements are united.
class UnionFind {
 public:
  int Add() {
    parent_.push_back(static_cast<int>(parent_.size()));
    return parent_.back();
  }
  int Find(int x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void Union(int a, int b) { parent_[Find(a)] = Find(b); }
  int size() const { return static_cast<int>(parent_.size()); }

 private:
  std::vector<int> parent_;
};

// What a node's output carries along its channel dim: one element per position.
struct Channels {
  bool known = false;
  int64_t dim = 1;           // the channel dim of the value
  std::vector<int> elements;
};

class Analyzer {
 public:
  Analyzer(const GraphModule& model, const Interpreter& plan) : model_(model), plan_(plan) {}

  absl::StatusOr<DependencyGraph> Run();

 private:
  const Shape* ShapeOf(const Node& n) const {
    const ValueInfo* info = plan_.InfoOf(n.name());
    return info == nullptr || info->is_tuple ? nullptr : &info->shape;
  }
  // Fresh elements, one per channel.
  std::vector<int> Fresh(int64_t n, const std::string& blocked_reason) {
    std::vector<int> out;
    for (int64_t i = 0; i < n; ++i) {
      out.push_back(uf_.Add());
      entries_.emplace_back();
      blocked_.push_back(blocked_reason);
    }
    return out;
  }
  void Block(const Channels& c, const std::string& reason) {
    if (!c.known) return;
    for (int e : c.elements) {
      if (blocked_[e].empty()) blocked_[e] = reason;
    }
  }
  void AddEntry(int element, std::string fqn, int64_t dim, int64_t index) {
    entries_[element].push_back({std::move(fqn), dim, index});
  }
  // Per-channel tensors of a pass-through module (BatchNorm stats, PReLU slopes).
  void AddPerChannel(const Channels& c, const Module& m, const std::string& fqn) {
    for (const auto& [name, t] : m.parameters()) {
      if (t.dim() == 1 && t.size(0) == static_cast<int64_t>(c.elements.size())) {
        for (size_t k = 0; k < c.elements.size(); ++k) AddEntry(c.elements[k], fqn + "." + name, 0, k);
      }
    }
    for (const auto& [name, t] : m.buffers()) {
      if (t.dim() == 1 && t.size(0) == static_cast<int64_t>(c.elements.size())) {
        for (size_t k = 0; k < c.elements.size(); ++k) AddEntry(c.elements[k], fqn + "." + name, 0, k);
      }
    }
  }
  Channels Visit(const Node& node, const std::vector<const Channels*>& args);

  const GraphModule& model_;
  const Interpreter& plan_;
  UnionFind uf_;
  std::vector<std::vector<ChannelEntry>> entries_;  // per element
  std::vector<std::string> blocked_;                 // per element, "" when free
  std::vector<std::pair<std::string, std::vector<int>>> producers_;  // weight fqn -> row elements
};

int64_t ChannelDimOf(const Shape& s) { return s.size() >= 3 ? 1 : static_cast<int64_t>(s.size()) - 1; }

Channels Analyzer::Visit(const Node& node, const std::vector<const Channels*>& args) {
  const Shape* shape = ShapeOf(node);
  auto opaque = [&](const std::string& why) {
    for (const Channels* a : args) Block(*a, why);
    Channels out;
    if (shape != nullptr && !shape->empty()) {
      out.known = true;
      out.dim = ChannelDimOf(*shape);
      out.elements = Fresh((*shape)[out.dim], why);
    }
    return out;
  };
  const std::string where = absl::StrCat("'", node.name(), "' (", OpName(node.op()), ")");
  if (node.kind() == NodeKind::kPlaceholder) return opaque(absl::StrCat("model input '", node.name(), "'"));
  if (node.kind() == NodeKind::kGetAttr) return Channels{};
  const Module* module = node.kind() == NodeKind::kCallModule ? model_.root().FindModule(node.target()) : nullptr;
  const OpKind op = node.op();
  const Channels& in = args.empty() ? Channels{} : *args[0];
  // Pass-through ops keep channels where they are.
  const bool pass_through = IsActivation(op) || op == OpKind::kMaxPool2d || op == OpKind::kAvgPool2d ||
                            op == OpKind::kAdaptiveAvgPool2d || op == OpKind::kAdaptiveMaxPool2d ||
                            op == OpKind::kIdentity || op == OpKind::kDropout || op == OpKind::kBatchNorm2d;
  // F.prelu passes channels only when its slopes are one shared value or a 1-D parameter read
  // with get_attr (sliced with the channels). A weight of 2+ dims broadcasts element-wise: a
  // pruned channel's constant would vary along other dims, and nothing slices it per channel.
  bool sliceable_slopes = true;
  if (op == OpKind::kPrelu && node.kind() == NodeKind::kCallFunction && node.args().size() == 2) {
    const Shape* slope_shape = ShapeOf(*node.args()[1]);
    const Node& slope = *node.args()[1];
    auto owner = slope.kind() == NodeKind::kGetAttr ? model_.root().FindTensorOwner(slope.target())
                                                    : absl::NotFoundError("");
    const bool parameter = owner.ok() && owner->first->parameter(owner->second) != nullptr;
    sliceable_slopes = slope_shape != nullptr && slope_shape->size() <= 1 &&
                       (NumElements(*slope_shape) == 1 || parameter);
  }
  if (pass_through && sliceable_slopes && in.known && shape != nullptr && in.dim == ChannelDimOf(*shape)) {
    if (module != nullptr) AddPerChannel(in, *module, node.target());
    if (op == OpKind::kPrelu && node.kind() == NodeKind::kCallFunction && args.size() == 2 &&
        node.args()[1]->kind() == NodeKind::kGetAttr) {
      auto owner = model_.root().FindTensorOwner(node.args()[1]->target());
      if (owner.ok()) {
        const Tensor* w = owner->first->parameter(owner->second);
        if (w != nullptr && w->numel() == static_cast<int64_t>(in.elements.size())) {
          for (size_t k = 0; k < in.elements.size(); ++k) AddEntry(in.elements[k], node.args()[1]->target(), 0, k);
        }
      }
    }
    return in;
  }
  if (op == OpKind::kLinear && module != nullptr && in.known) {
    const std::string fqn = node.target();
    if (in.dim != static_cast<int64_t>(shape->size()) - 1) {
      Block(in, absl::StrCat(where, " reads another dim than the channels"));
    } else {
      for (size_t k = 0; k < in.elements.size(); ++k) AddEntry(in.elements[k], fqn + ".weight", 1, k);
    }
    Channels out{true, static_cast<int64_t>(shape->size()) - 1, Fresh(shape->back(), "")};
    for (size_t r = 0; r < out.elements.size(); ++r) {
      AddEntry(out.elements[r], fqn + ".weight", 0, r);
      if (module->parameter("bias") || module->parameter("_bias")) AddEntry(out.elements[r], fqn + ".bias", 0, r);
    }
    producers_.emplace_back(fqn + ".weight", out.elements);
    return out;
  }
  if (op == OpKind::kConv2d && module != nullptr && in.known && in.dim == ChannelDimOf(*shape)) {
    const std::string fqn = node.target();
    const int64_t groups = GetIntAttr(module->attrs(), "groups", 1).value_or(1);
    const int64_t oc = (*shape)[in.dim];
    const int64_t ic = static_cast<int64_t>(in.elements.size());
    const bool has_bias = module->parameter("bias") || module->parameter("_bias");
    if (groups == 1) {
      for (int64_t k = 0; k < ic; ++k) AddEntry(in.elements[k], fqn + ".weight", 1, k);
      Channels out{true, in.dim, Fresh(oc, "")};
      for (int64_t r = 0; r < oc; ++r) {
        AddEntry(out.elements[r], fqn + ".weight", 0, r);
        if (has_bias) AddEntry(out.elements[r], fqn + ".bias", 0, r);
      }
      producers_.emplace_back(fqn + ".weight", out.elements);
      return out;
    }
    if (groups == ic && oc == ic) {
      // Depthwise: output channel k is input channel k filtered; they go together.
      for (int64_t k = 0; k < ic; ++k) {
        AddEntry(in.elements[k], fqn + ".weight", 0, k);
        if (has_bias) AddEntry(in.elements[k], fqn + ".bias", 0, k);
      }
      return in;
    }
    return opaque(absl::StrCat(where, " is a grouped conv (groups=", groups, ")"));
  }
  if (op == OpKind::kFlatten && in.known && shape != nullptr) {
    const Shape& src = *ShapeOf(*node.args()[0]);
    const int64_t start = GetIntAttr(node.kind() == NodeKind::kCallModule ? module->attrs() : node.attrs(),
                                      "start_dim", node.kind() == NodeKind::kCallModule ? 1 : 0)
                              .value_or(-99);
    const int64_t end = GetIntAttr(node.kind() == NodeKind::kCallModule ? module->attrs() : node.attrs(),
                                   "end_dim", -1)
                            .value_or(-99);
    if (start == 1 && (end == -1 || end == static_cast<int64_t>(src.size()) - 1) && in.dim == 1 && src.size() >= 2) {
      // [N, C, H, W] -> [N, C*H*W]: channel c owns h*w consecutive columns.
      const int64_t per = NumElements(src) / (src[0] * src[1]);
      Channels out{true, 1, {}};
      for (int e : in.elements) out.elements.insert(out.elements.end(), per, e);
      return out;
    }
    return opaque(absl::StrCat(where, " flattens the channel dim with others"));
  }
  if (op == OpKind::kAdd && args.size() == 2 && args[0]->known && args[1]->known &&
      args[0]->dim == args[1]->dim && args[0]->elements.size() == args[1]->elements.size()) {
    // A residual sum: channel k of both operands is one channel.
    for (size_t k = 0; k < args[0]->elements.size(); ++k) uf_.Union(args[0]->elements[k], args[1]->elements[k]);
    return *args[0];
  }
  if (op == OpKind::kCat && shape != nullptr) {
    const int64_t rank = static_cast<int64_t>(shape->size());
    int64_t dim = GetIntAttr(node.attrs(), "dim", 0).value_or(0);
    if (dim < 0) dim += rank;
    bool all_known = true;
    for (const Channels* a : args) all_known &= a->known && a->dim == ChannelDimOf(*shape);
    if (all_known && dim == ChannelDimOf(*shape)) {
      Channels out{true, dim, {}};
      for (const Channels* a : args) out.elements.insert(out.elements.end(), a->elements.begin(), a->elements.end());
      return out;
    }
    return opaque(absl::StrCat(where, " concatenates along dim ", dim));
  }
  return opaque(absl::StrCat("channels cannot be sliced through ", where));
}

absl::StatusOr<DependencyGraph> Analyzer::Run() {
  absl::flat_hash_map<const Node*, Channels> channels;
  for (const Node* node : model_.graph().nodes()) {
    std::vector<const Channels*> args;
    static const Channels kUnknown;
    for (const Node* a : node->args()) {
      auto it = channels.find(a);
      args.push_back(it == channels.end() ? &kUnknown : &it->second);
    }
    if (node->kind() == NodeKind::kOutput) {
      for (const Channels* a : args) Block(*a, "reaches a model output");
      continue;
    }
    if (node->IsCallTo(OpKind::kLstm) || node->IsCallTo(OpKind::kGetItem) || node->IsCallTo(OpKind::kLayerNorm)) {
      // LSTM chains are the pattern table's job; LayerNorm statistics span the channels.
      for (const Channels* a : args) Block(*a, absl::StrCat("'", node->name(), "' (", OpName(node->op()), ")"));
      channels[node] = Channels{};
      const Shape* shape = ShapeOf(*node);
      if (shape != nullptr && !shape->empty()) {
        channels[node] = Channels{true, static_cast<int64_t>(shape->size()) - 1,
                                  Fresh(shape->back(), absl::StrCat("output of '", node->name(), "'"))};
      }
      continue;
    }
    channels[node] = Visit(*node, args);
  }
  // Groups: producers whose channels are coupled (directly or through others) form one group;
  // group channel c = one element root.
  UnionFind producer_sets;
  absl::flat_hash_map<int, int> producer_of_root;
  for (size_t p = 0; p < producers_.size(); ++p) {
    producer_sets.Add();
    for (int e : producers_[p].second) {
      auto [it, inserted] = producer_of_root.try_emplace(uf_.Find(e), static_cast<int>(p));
      if (!inserted) producer_sets.Union(static_cast<int>(p), it->second);
    }
  }
  DependencyGraph graph;
  absl::flat_hash_map<int, int> group_of_set;         // producer set root -> group
  absl::flat_hash_map<int, int> group_of_root;        // element root -> group
  absl::flat_hash_map<int, int64_t> channel_of_root;  // element root -> channel within its group
  for (size_t p = 0; p < producers_.size(); ++p) {
    const auto& [fqn, rows] = producers_[p];
    auto [git, fresh] = group_of_set.try_emplace(producer_sets.Find(static_cast<int>(p)),
                                                  static_cast<int>(graph.groups.size()));
    if (fresh) graph.groups.emplace_back();
    const int group = git->second;
    ChannelGroup& g = graph.groups[group];
    g.producers.push_back(fqn);
    DependencyGraph::RowMap map{group, {}};
    for (int e : rows) {
      const int root = uf_.Find(e);
      if (!channel_of_root.contains(root)) {
        channel_of_root[root] = g.size();
        group_of_root[root] = group;
        g.entries.emplace_back();
        g.blocked.emplace_back();
      }
      map.channel_of_row.push_back(channel_of_root[root]);
    }
    graph.producer_rows[fqn] = std::move(map);
  }
  for (const auto& [node, c] : channels) {
    if (!c.known) continue;
    DependencyGraph::NodeChannels nc{c.dim, {}};
    for (int e : c.elements) {
      const int root = uf_.Find(e);
      auto it = channel_of_root.find(root);
      nc.positions.push_back(it == channel_of_root.end() ? DependencyGraph::GroupChannel{}
                                                         : DependencyGraph::GroupChannel{group_of_root[root], it->second});
    }
    graph.node_channels[node->name()] = std::move(nc);
  }
  // Entries and blocks of every element land on its channel.
  for (int e = 0; e < uf_.size(); ++e) {
    auto it = channel_of_root.find(uf_.Find(e));
    if (it == channel_of_root.end()) continue;
    ChannelGroup& g = graph.groups[group_of_root[uf_.Find(e)]];
    auto& list = g.entries[it->second];
    // Moved, not copied: the analyzer is done with them (a large residual group holds an entry
    // per consumer of each of its channels).
    list.insert(list.end(), std::make_move_iterator(entries_[e].begin()),
                std::make_move_iterator(entries_[e].end()));
    if (g.blocked[it->second].empty()) g.blocked[it->second] = blocked_[e];
  }
  return graph;
}

}  // namespace

int64_t ChannelGroup::NumPrunable() const {
  int64_t n = 0;
  for (const std::string& b : blocked) n += b.empty();
  return n;
}

const ChannelGroup* DependencyGraph::GroupOf(const std::string& weight_fqn) const {
  auto it = producer_rows.find(weight_fqn);
  return it == producer_rows.end() ? nullptr : &groups[it->second.group];
}

std::string DependencyGraph::ToString() const {
  std::string out;
  for (size_t i = 0; i < groups.size(); ++i) {
    const ChannelGroup& g = groups[i];
    absl::StrAppend(&out, "group ", i, ": ", g.size(), " channels (", g.NumPrunable(), " prunable), producers [",
                    absl::StrJoin(g.producers, ", "), "]");
    for (const std::string& b : g.blocked) {
      if (!b.empty()) {
        absl::StrAppend(&out, "; blocked: ", b);
        break;
      }
    }
    out += "\n";
  }
  return out;
}

absl::StatusOr<DependencyGraph> BuildDependencyGraph(const GraphModule& model,
                                                     const std::vector<Shape>& input_shapes) {
  SP_ASSIGN_OR_RETURN(auto plan, Interpreter::Create(model, input_shapes, {.plan_only = true}));
  Analyzer analyzer(model, *plan);
  return analyzer.Run();
}

}  // namespace structprune
