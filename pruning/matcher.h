// PatternMatcher: finds the pattern that starts at a node. Patterns are indexed by their
// first matcher's op, so matching one node looks at a few patterns, not the whole table.
#ifndef STRUCTPRUNE_PRUNING_MATCHER_H_
#define STRUCTPRUNE_PRUNING_MATCHER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pruning/pattern.h"

namespace structprune {

class PatternMatcher {
 public:
  explicit PatternMatcher(const std::vector<Pattern>& patterns);

  struct Result {
    const Pattern* pattern;
    Match match;
  };
  // The longest pattern whose chain starts at `node` (ties: table order). Each step follows
  // the single user of the previous node; a node used by several nodes (fan-out) ends the
  // chain, except an LSTM's other getitem users (its state). When nothing matches, `why`
  // (if given) says how far the best attempt got, naming the nodes.
  std::optional<Result> MatchAt(const Node& node, std::string* why = nullptr) const;

 private:
  const std::vector<Pattern>& patterns_;
  std::map<OpKind, std::vector<size_t>> by_first_op_;
  std::vector<size_t> unindexed_;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_MATCHER_H_
