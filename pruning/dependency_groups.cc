#include "pruning/dependency_groups.h"

#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
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

// What a node's output carries along its channel dim: one element per position, as a range
// of the analyzer's element list (shared by pass-through ops instead of copied per node).
struct Channels {
  bool known = false;
  int64_t dim = 1;  // the channel dim of the value
  int32_t begin = 0;
  int32_t count = 0;
};

class Analyzer {
 public:
  Analyzer(const GraphModule& model, const Interpreter& plan) : model_(model), plan_(plan) {}

  absl::StatusOr<DependencyGraph> Run();

 private:
  const Shape* ShapeOf(const Node& n) const {
    const ValueInfo* info = plan_.InfoOf(n);
    return info == nullptr || info->is_tuple ? nullptr : &info->shape;
  }
  // Blocking reasons are numbered; elements hold the number (-1: not blocked).
  int Reason(std::string why) {
    reasons_.push_back(std::move(why));
    return static_cast<int>(reasons_.size()) - 1;
  }
  // Element k of a value's channels (valid while the list is not appended to).
  int Element(const Channels& c, int64_t k) const { return elements_[c.begin + k]; }
  // Appends `n` positions that `element(i)` fills; returns them as a known value along `dim`.
  template <typename ElementOf>
  Channels Append(int64_t dim, int64_t n, ElementOf element) {
    Channels out{true, dim, static_cast<int32_t>(elements_.size()), static_cast<int32_t>(n)};
    for (int64_t i = 0; i < n; ++i) elements_.push_back(element(i));
    return out;
  }
  // Fresh elements, one per channel.
  Channels Fresh(int64_t dim, int64_t n, int blocked_reason) {
    return Append(dim, n, [&](int64_t) {
      blocked_.push_back(blocked_reason);
      return uf_.Add();
    });
  }
  void Block(const Channels& c, int reason) {
    if (!c.known) return;
    for (int64_t k = 0; k < c.count; ++k) {
      int& blocked = blocked_[Element(c, k)];
      if (blocked < 0) blocked = reason;
    }
  }
  void Block(const Channels& c, std::string why) {
    if (c.known) Block(c, Reason(std::move(why)));
  }
  int32_t TensorId(const std::string& fqn) {
    auto [it, fresh] = tensor_ids_.try_emplace(fqn, static_cast<int32_t>(tensor_names_.size()));
    if (fresh) tensor_names_.push_back(fqn);
    return it->second;
  }
  // `tensor` slices [..., k, ...] along `dim` belong to element k of `c`, for every k.
  void AddEntries(const Channels& c, const std::string& tensor, int64_t dim) {
    raw_slices_.push_back({TensorId(tensor), static_cast<int32_t>(dim), c.begin, c.count});
  }
  // Per-channel tensors of a pass-through module (BatchNorm stats, PReLU slopes).
  void AddPerChannel(const Channels& c, const Module& m, const std::string& fqn) {
    for (const auto& [name, t] : m.parameters()) {
      if (t.dim() == 1 && t.size(0) == c.count) AddEntries(c, fqn + "." + name, 0);
    }
    for (const auto& [name, t] : m.buffers()) {
      if (t.dim() == 1 && t.size(0) == c.count) AddEntries(c, fqn + "." + name, 0);
    }
  }
  Channels Visit(const Node& node, absl::Span<const Channels* const> args);

  const GraphModule& model_;
  const Interpreter& plan_;
  UnionFind uf_;
  std::vector<int> elements_;  // every value's channel elements, appended in graph order
  struct RawSlices {
    int32_t tensor;
    int32_t dim;
    int32_t begin;  // index k of the slice belongs to elements_[begin + k]
    int32_t count;
  };
  std::vector<RawSlices> raw_slices_;
  std::vector<int> blocked_;                               // per element: reason, -1 when free
  std::vector<std::string> reasons_;
  absl::flat_hash_map<std::string, int32_t> tensor_ids_;
  std::vector<std::string> tensor_names_;
  std::vector<std::pair<std::string, Channels>> producers_;  // weight fqn -> row elements
};

int64_t ChannelDimOf(const Shape& s) { return s.size() >= 3 ? 1 : static_cast<int64_t>(s.size()) - 1; }

Channels Analyzer::Visit(const Node& node, absl::Span<const Channels* const> args) {
  const Shape* shape = ShapeOf(node);
  auto opaque = [&](std::string why) {
    const int reason = Reason(std::move(why));
    for (const Channels* a : args) Block(*a, reason);
    Channels out;
    if (shape != nullptr && !shape->empty()) out = Fresh(ChannelDimOf(*shape), (*shape)[ChannelDimOf(*shape)], reason);
    return out;
  };
  auto where = [&] { return absl::StrCat("'", node.name(), "' (", OpName(node.op()), ")"); };
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
  const bool functional_prelu =
      op == OpKind::kPrelu && node.kind() == NodeKind::kCallFunction && node.args().size() == 2;
  const Tensor* slope_parameter = nullptr;  // the slopes as a parameter read with get_attr
  bool sliceable_slopes = true;
  if (functional_prelu) {
    const Node& slope = *node.args()[1];
    if (slope.kind() == NodeKind::kGetAttr) {
      auto owner = model_.root().FindTensorOwner(slope.target());
      if (owner.ok()) slope_parameter = owner->first->parameter(owner->second);
    }
    const Shape* slope_shape = ShapeOf(slope);
    sliceable_slopes = slope_shape != nullptr && slope_shape->size() <= 1 &&
                       (NumElements(*slope_shape) == 1 || slope_parameter != nullptr);
  }
  if (pass_through && sliceable_slopes && in.known && shape != nullptr && in.dim == ChannelDimOf(*shape)) {
    if (module != nullptr) AddPerChannel(in, *module, node.target());
    if (slope_parameter != nullptr && slope_parameter->numel() == in.count) AddEntries(in, node.args()[1]->target(), 0);
    return in;
  }
  if (op == OpKind::kLinear && module != nullptr && in.known) {
    const std::string fqn = node.target();
    if (in.dim != static_cast<int64_t>(shape->size()) - 1) {
      Block(in, absl::StrCat(where(), " reads another dim than the channels"));
    } else {
      AddEntries(in, fqn + ".weight", 1);
    }
    const Channels out = Fresh(static_cast<int64_t>(shape->size()) - 1, shape->back(), -1);
    AddEntries(out, fqn + ".weight", 0);
    if (module->parameter("bias") || module->parameter("_bias")) AddEntries(out, fqn + ".bias", 0);
    producers_.emplace_back(fqn + ".weight", out);
    return out;
  }
  if (op == OpKind::kConv2d && module != nullptr && in.known && in.dim == ChannelDimOf(*shape)) {
    const std::string fqn = node.target();
    const int64_t groups = GetIntAttr(module->attrs(), "groups", 1).value_or(1);
    const int64_t oc = (*shape)[in.dim];
    const int64_t ic = in.count;
    const bool has_bias = module->parameter("bias") || module->parameter("_bias");
    if (groups == 1) {
      AddEntries(in, fqn + ".weight", 1);
      const Channels out = Fresh(in.dim, oc, -1);
      AddEntries(out, fqn + ".weight", 0);
      if (has_bias) AddEntries(out, fqn + ".bias", 0);
      producers_.emplace_back(fqn + ".weight", out);
      return out;
    }
    if (groups == ic && oc == ic) {
      // Depthwise: output channel k is input channel k filtered; they go together.
      AddEntries(in, fqn + ".weight", 0);
      if (has_bias) AddEntries(in, fqn + ".bias", 0);
      return in;
    }
    return opaque(absl::StrCat(where(), " is a grouped conv (groups=", groups, ")"));
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
      return Append(1, in.count * per, [&](int64_t i) { return Element(in, i / per); });
    }
    return opaque(absl::StrCat(where(), " flattens the channel dim with others"));
  }
  if (op == OpKind::kAdd && args.size() == 2 && args[0]->known && args[1]->known &&
      args[0]->dim == args[1]->dim && args[0]->count == args[1]->count) {
    // A residual sum: channel k of both operands is one channel.
    for (int64_t k = 0; k < args[0]->count; ++k) uf_.Union(Element(*args[0], k), Element(*args[1], k));
    return *args[0];
  }
  if (op == OpKind::kCat && shape != nullptr) {
    const int64_t rank = static_cast<int64_t>(shape->size());
    int64_t dim = GetIntAttr(node.attrs(), "dim", 0).value_or(0);
    if (dim < 0) dim += rank;
    bool all_known = true;
    for (const Channels* a : args) all_known &= a->known && a->dim == ChannelDimOf(*shape);
    if (all_known && dim == ChannelDimOf(*shape)) {
      int64_t total = 0;
      for (const Channels* a : args) total += a->count;
      size_t part = 0;
      int64_t offset = 0;  // of `part` in the concatenation
      return Append(dim, total, [&](int64_t i) {
        while (i - offset >= args[part]->count) offset += args[part++]->count;
        return Element(*args[part], i - offset);
      });
    }
    return opaque(absl::StrCat(where(), " concatenates along dim ", dim));
  }
  return opaque(absl::StrCat("channels cannot be sliced through ", where()));
}

absl::StatusOr<DependencyGraph> Analyzer::Run() {
  // By node index (graph order): what each node's output carries; unknown until visited.
  std::vector<Channels> channels(model_.graph().size());
  for (const Node* node : model_.graph().nodes()) {
    absl::InlinedVector<const Channels*, 4> args;
    for (const Node* a : node->args()) args.push_back(&channels[a->index()]);
    if (node->kind() == NodeKind::kOutput) {
      for (const Channels* a : args) Block(*a, "reaches a model output");
      continue;
    }
    if (node->IsCallTo(OpKind::kLstm) || node->IsCallTo(OpKind::kGetItem) || node->IsCallTo(OpKind::kLayerNorm)) {
      // LSTM chains are the pattern table's job; LayerNorm statistics span the channels.
      const int reason = Reason(absl::StrCat("'", node->name(), "' (", OpName(node->op()), ")"));
      for (const Channels* a : args) Block(*a, reason);
      const Shape* shape = ShapeOf(*node);
      if (shape != nullptr && !shape->empty()) {
        channels[node->index()] = Fresh(static_cast<int64_t>(shape->size()) - 1, shape->back(),
                                        Reason(absl::StrCat("output of '", node->name(), "'")));
      }
      continue;
    }
    channels[node->index()] = Visit(*node, args);
  }
  // Groups: producers whose channels are coupled (directly or through others) form one group;
  // group channel c = one element root.
  UnionFind producer_sets;
  absl::flat_hash_map<int, int> producer_of_root;
  for (size_t p = 0; p < producers_.size(); ++p) {
    producer_sets.Add();
    for (int64_t k = 0; k < producers_[p].second.count; ++k) {
      auto [it, inserted] = producer_of_root.try_emplace(uf_.Find(Element(producers_[p].second, k)), static_cast<int>(p));
      if (!inserted) producer_sets.Union(static_cast<int>(p), it->second);
    }
  }
  DependencyGraph graph;
  absl::flat_hash_map<int, int> group_of_set;  // producer set root -> group
  // Element root -> its group and channel within the group (-1: no producer owns it).
  std::vector<int> group_of_root(uf_.size(), -1);
  std::vector<int32_t> channel_of_root(uf_.size(), -1);
  for (size_t p = 0; p < producers_.size(); ++p) {
    const auto& [fqn, rows] = producers_[p];
    auto [git, fresh] = group_of_set.try_emplace(producer_sets.Find(static_cast<int>(p)),
                                                  static_cast<int>(graph.groups.size()));
    if (fresh) graph.groups.emplace_back();
    const int group = git->second;
    ChannelGroup& g = graph.groups[group];
    g.producers.push_back(fqn);
    DependencyGraph::RowMap map{group, {}};
    map.channel_of_row.reserve(rows.count);
    for (int64_t k = 0; k < rows.count; ++k) {
      const int root = uf_.Find(Element(rows, k));
      if (channel_of_root[root] < 0) {
        channel_of_root[root] = static_cast<int32_t>(g.size());
        group_of_root[root] = group;
        g.blocked.emplace_back();
      }
      map.channel_of_row.push_back(channel_of_root[root]);
    }
    graph.producer_rows[fqn] = std::move(map);
  }
  graph.node_channels.resize(model_.graph().size());
  for (const Node* node : model_.graph().nodes()) {  // graph order: nodes and elements in memory order
    const Channels& c = channels[node->index()];
    if (!c.known) continue;
    DependencyGraph::NodeChannels nc{c.dim, {}};
    nc.positions.reserve(c.count);
    for (int64_t k = 0; k < c.count; ++k) {
      const int root = uf_.Find(Element(c, k));
      nc.positions.push_back({group_of_root[root], channel_of_root[root]});  // (-1, -1) when unowned
    }
    graph.node_channels[node->index()] = std::move(nc);
  }
  // The first block of any of a channel's elements blocks the channel.
  for (int e = 0; e < uf_.size(); ++e) {
    const int root = uf_.Find(e);
    if (channel_of_root[root] < 0 || blocked_[e] < 0) continue;
    std::string& blocked = graph.groups[group_of_root[root]].blocked[channel_of_root[root]];
    if (blocked.empty()) blocked = reasons_[blocked_[e]];
  }
  // Tensor slices: elements become group channels; slices no group owns any of are dropped.
  for (RawSlices& raw : raw_slices_) {
    DependencyGraph::TensorSlices slices{raw.tensor, raw.dim, {}};
    slices.channel_of_index.reserve(raw.count);
    bool owned = false;
    for (int32_t k = 0; k < raw.count; ++k) {
      const int root = uf_.Find(elements_[raw.begin + k]);
      owned = owned || channel_of_root[root] >= 0;
      slices.channel_of_index.push_back({group_of_root[root], channel_of_root[root]});
    }
    if (owned) graph.slices.push_back(std::move(slices));
  }
  graph.tensor_names = std::move(tensor_names_);
  return graph;
}

}  // namespace

int64_t ChannelGroup::NumPrunable() const {
  int64_t n = 0;
  for (const std::string& b : blocked) n += b.empty();
  return n;
}

std::vector<NamedEntry> DependencyGraph::NamedEntries(const ChannelGroup& group, int64_t c) const {
  const int g = static_cast<int>(&group - groups.data());
  std::vector<NamedEntry> out;
  for (const TensorSlices& s : slices) {
    for (size_t k = 0; k < s.channel_of_index.size(); ++k) {
      if (s.channel_of_index[k].group == g && s.channel_of_index[k].channel == c) {
        out.push_back({tensor_names[s.tensor], s.dim, static_cast<int64_t>(k)});
      }
    }
  }
  return out;
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
