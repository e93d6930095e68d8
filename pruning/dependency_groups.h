// Channel dependency groups: which output channels of which layers must be removed together
// (a residual add couples its operands' channels, a depthwise conv its input and output,
// BatchNorm follows its conv, cat concatenates, flatten maps a channel to h*w columns), and
// every tensor entry removing one touches. Beyond chains: what real networks need.
#ifndef STRUCTPRUNE_PRUNING_DEPENDENCY_GROUPS_H_
#define STRUCTPRUNE_PRUNING_DEPENDENCY_GROUPS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "graph/graph_module.h"

namespace structprune {

// One slice of one tensor that a channel owns: `tensor_fqn[..., index (along dim), ...]`.
struct NamedEntry {
  std::string tensor_fqn;
  int64_t dim;
  int64_t index;
  bool operator==(const NamedEntry&) const = default;
};

// A set of producers whose output channels are coupled; channel c of the group is removed
// from all of them (and from every consumer and per-channel tensor) at once.
struct ChannelGroup {
  std::vector<std::string> producers;  // weight FQNs (Linear/Conv2d rows), graph order
  // blocked[c]: channel c may not be removed (it reaches a model output or input, or an op
  // that cannot be sliced), with the first reason found.
  std::vector<std::string> blocked;

  int64_t size() const { return static_cast<int64_t>(blocked.size()); }
  int64_t NumPrunable() const;
};

struct DependencyGraph {
  std::vector<ChannelGroup> groups;
  // Producer weight FQN -> its group, and the group channel of each of its rows.
  struct RowMap {
    int group;
    std::vector<int64_t> channel_of_row;
  };
  std::map<std::string, RowMap> producer_rows;
  // A channel of a group (group -1: a channel no producer group owns).
  struct GroupChannel {
    int32_t group = -1;
    int32_t channel = -1;
  };
  // What each node's output carries along its channel dim, per position.
  struct NodeChannels {
    int64_t dim = -1;  // -1: no channel info (tuples, model outputs)
    std::vector<GroupChannel> positions;
  };
  // By node index of the analyzed model (valid while its graph is unchanged): an array, as
  // every node of a 10,000-layer net is looked up.
  std::vector<NodeChannels> node_channels;
  // The channels of `node`, a node of the analyzed graph; nullptr when it has no channel info.
  const NodeChannels* ChannelsOf(const Node& node) const {
    const size_t i = static_cast<size_t>(node.index());
    return i < node_channels.size() && node_channels[i].dim >= 0 ? &node_channels[i] : nullptr;
  }
  // Every tensor dim whose entries belong to group channels, seen from the tensor: removing a
  // channel removes index k along `dim` of tensor_names[tensor] wherever channel_of_index[k]
  // is that channel. Tensor-major and index-compact because a 10,000-layer residual net has
  // hundreds of thousands of (channel, tensor entry) pairs. A tensor read at two places has
  // two slices.
  struct TensorSlices {
    int32_t tensor;
    int32_t dim;
    std::vector<GroupChannel> channel_of_index;
  };
  std::vector<TensorSlices> slices;
  std::vector<std::string> tensor_names;

  // The group a producer belongs to; nullptr when it is not a producer.
  const ChannelGroup* GroupOf(const std::string& weight_fqn) const;
  // Every tensor entry removing channel c of `group` touches (a scan of `slices`).
  std::vector<NamedEntry> NamedEntries(const ChannelGroup& group, int64_t c) const;
  std::string ToString() const;
};

// Analyzes `model` for inputs of `input_shapes` (errors as Interpreter::Create).
absl::StatusOr<DependencyGraph> BuildDependencyGraph(const GraphModule& model,
                                                     const std::vector<Shape>& input_shapes);

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_DEPENDENCY_GROUPS_H_
