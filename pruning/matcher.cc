#include "pruning/matcher.h"

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace structprune {
namespace {

bool IsLstmStateUser(const Node& producer, const Node& user) {
  if (!producer.IsCallTo(OpKind::kLstm) || !user.IsCallTo(OpKind::kGetItem)) return false;
  auto index = GetIntAttr(user.attrs(), "index", 0);
  return index.ok() && (*index == 1 || *index == -1);
}

// The user the chain continues with, or nullptr (saying why in `why`, when given) when there
// is not exactly one.
const Node* NextInChain(const Node& cur, const OpMatcher& want, std::string* why) {
  // The graph output may read any node of the chain: that output then loses the pruned
  // channels too (the prune functions record it). It continues the chain only as "output".
  absl::InlinedVector<const Node*, 2> candidates;
  const Node* output = nullptr;
  for (const Node* u : cur.users()) {
    if (u->kind() == NodeKind::kOutput) {
      output = u;
    } else if (!IsLstmStateUser(cur, *u)) {
      candidates.push_back(u);
    }
  }
  if (candidates.empty() && output != nullptr) candidates.push_back(output);
  if (candidates.size() != 1) {
    if (why == nullptr) return nullptr;
    *why = candidates.empty()
              ? absl::StrCat("'", cur.name(), "' has no user")
              : absl::StrCat("'", cur.name(), "' feeds ", candidates.size(), " nodes (",
                             absl::StrJoin(candidates, ", ",
                                           [](std::string* out, const Node* n) {
                                             absl::StrAppend(out, "'", n->name(), "'");
                                           }),
                             "); pruning through fan-out needs dependency groups");
    return nullptr;
  }
  if (!want.matches(*candidates[0])) {
    if (why == nullptr) return nullptr;
    *why = absl::StrCat("'", candidates[0]->name(), "' after '", cur.name(), "' is not ",
                       want.description);
    return nullptr;
  }
  return candidates[0];
}

}  // namespace

PatternMatcher::PatternMatcher(const std::vector<Pattern>& patterns) : patterns_(patterns) {
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (patterns[i].ops.empty()) continue;
    if (patterns[i].ops[0].key) {
      by_first_op_[*patterns[i].ops[0].key].push_back(i);
    } else {
      unindexed_.push_back(i);
    }
  }
}

std::optional<PatternMatcher::Result> PatternMatcher::MatchAt(const Node& node, std::string* why) const {
  std::vector<size_t> candidates = unindexed_;
  if (node.kind() == NodeKind::kCallModule || node.kind() == NodeKind::kCallFunction) {
    auto it = by_first_op_.find(node.op());
    if (it != by_first_op_.end()) candidates.insert(candidates.end(), it->second.begin(), it->second.end());
  }
  std::optional<Result> best;
  size_t best_depth = 0;
  std::string best_why;
  if (why != nullptr) best_why = absl::StrCat("no pattern starts with '", node.name(), "'");
  for (size_t index : candidates) {
    const Pattern& p = patterns_[index];
    if (!p.ops[0].matches(node)) continue;
    Match m{{&node}};
    std::string reason;
    const Node* cur = &node;
    for (size_t i = 1; i < p.ops.size() && cur != nullptr; ++i) {
      cur = NextInChain(*cur, p.ops[i], why != nullptr ? &reason : nullptr);
      if (cur != nullptr) m.nodes.push_back(cur);
    }
    if (cur != nullptr) {
      if (!best || p.ops.size() > best->pattern->ops.size() ||
          (p.ops.size() == best->pattern->ops.size() && index < static_cast<size_t>(best->pattern - patterns_.data()))) {
        best = Result{&p, std::move(m)};
      }
    } else if (why != nullptr && m.nodes.size() >= best_depth) {
      best_depth = m.nodes.size();
      best_why = reason;
    }
  }
  if (!best && why != nullptr) *why = best_why;
  return best;
}

}  // namespace structprune
