// Channel dependency groups: which output channels of which layers must be removed together
// (a residual add couples its operands' channels, a depthwise conv its input and output,
// BatchNorm follows its conv, cat concatenates, flatten maps a channel to h*w columns), and
// every tensor entry removing one touches. Beyond chains: what real networks need.
#ifndef STRUCTPRUNE_PRUNING_DEPENDENCY_GROUPS_H_
#define STRUCTPRUNE_PRUNING_DEPENDENCY_GROUPS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph_module.h"

namespace structprune {

// One slice of one tensor that a channel owns: `tensor_fqn[..., index (along dim), ...]`.
struct ChannelEntry {
  std::string tensor_fqn;
  int64_t dim;
  int64_t index;
  bool operator==(const ChannelEntry&) const = default;
};

// A set of producers whose output channels are coupled; channel c of the group is removed
// from all of them (and from every consumer and per-channel tensor) at once.
struct ChannelGroup {
  std::vector<std::string> producers;  // weight FQNs (Linear/Conv2d rows), graph order
  // entries[c]: every tensor slice that removing coupled channel c touches.
  std::vector<std::vector<ChannelEntry>> entries;
  // blocked[c]: channel c may not be removed (it reaches a model output or input, or an op
  // that cannot be sliced), with the first reason found.
  std::vector<std::string> blocked;
  int64_t size() const { return static_cast<int64_t>(entries.size()); }
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
  // What each node's output carries along its channel dim: per position, the group channel
  // (group -1 for channels no producer group owns). Nodes without channel info are absent.
  struct GroupChannel {
    int group = -1;
    int64_t channel = -1;
  };
  struct NodeChannels {
    int64_t dim;
    std::vector<GroupChannel> positions;
  };
  std::map<std::string, NodeChannels> node_channels;  // by node name

  // The group a producer belongs to; nullptr when it is not a producer.
  const ChannelGroup* GroupOf(const std::string& weight_fqn) const;
  std::string ToString() const;
};

// Analyzes `model` for inputs of `input_shapes` (errors as Interpreter::Create).
absl::StatusOr<DependencyGraph> BuildDependencyGraph(const GraphModule& model,
                                                     const std::vector<Shape>& input_shapes);

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_DEPENDENCY_GROUPS_H_
