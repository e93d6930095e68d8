// Pruning through dependency groups: removes coupled channels from every member of their
// group (producers, BatchNorms, depthwise convs, consumers' columns) in one plan, folding
// each removed channel's constant into the consumers' biases where that is exact.
#ifndef STRUCTPRUNE_PRUNING_GROUP_PRUNE_H_
#define STRUCTPRUNE_PRUNING_GROUP_PRUNE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "pruning/dependency_groups.h"
#include "pruning/plan.h"

namespace structprune {

// Group channel c of a group is pruned when any of the group's producers (weight FQN ->
// row mask) masks a row of c. `dg` must be the analysis of the very model the plan was made
// for (it refers to that graph's nodes).
// Records slices, bias folds and one report record per masked producer.
absl::Status PlanGroupPrune(const DependencyGraph& dg, const std::map<std::string, Tensor>& producer_masks,
                            PrunePlan& plan);

// Per group (indexed like dg.groups), which channels the producers' masks prune (OR over
// producers); empty for groups without a masked producer.
std::vector<std::vector<bool>> PrunedGroupChannels(const DependencyGraph& dg,
                                                   const std::map<std::string, Tensor>& producer_masks);

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_GROUP_PRUNE_H_
