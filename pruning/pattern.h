// Pruning patterns: a chain of op matchers starting at a masked producer, and the prune
// function that plans the edits for a match. The default table lives in
// default_patterns.cc; users add rows of the same kind.
#ifndef STRUCTPRUNE_PRUNING_PATTERN_H_
#define STRUCTPRUNE_PRUNING_PATTERN_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "graph/graph_module.h"
#include "ops/registry.h"

namespace structprune {

class PrunePlan;

// Matches one node. `key` is the op a first matcher is indexed by (nullopt: scanned at
// every node).
struct OpMatcher {
  std::string description;
  std::function<bool(const Node&)> matches;
  std::optional<OpKind> key;
};

OpMatcher CallModule(OpKind kind);        // a module of this kind
OpMatcher CallFunction(OpKind kind);      // a functional call of this kind
OpMatcher ModuleOrFunction(OpKind kind);  // either form
OpMatcher AnyActivation();                // any of the 21, module or functional form
OpMatcher AnyPool2d();                    // Max/AvgPool2d, module or functional form
OpMatcher AnyAdaptivePool2d();            // AdaptiveAvg/MaxPool2d, module or functional form
OpMatcher AnyFlatten();                   // nn.Flatten or torch.flatten
OpMatcher GetItem(int64_t index);         // getitem with this index
OpMatcher GraphOutput();                  // the graph's output node (the seed's "output")

// A match: node i matched matcher i.
struct Match {
  std::vector<const Node*> nodes;
};

// Plans the edits of one match into `plan`; never mutates the model. An error aborts Prune().
using PruneFn = std::function<absl::Status(const Match&, PrunePlan&)>;

struct Pattern {
  std::vector<OpMatcher> ops;
  PruneFn prune;
  std::string Describe() const;  // "Linear -> AnyActivation -> Linear"
};

// The seed's default table, complete (see default_patterns.cc).
std::vector<Pattern> DefaultPatterns();

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_PATTERN_H_
