// Graph: owns its nodes in topological order and keeps args/users consistent.
#ifndef STRUCTPRUNE_GRAPH_GRAPH_H_
#define STRUCTPRUNE_GRAPH_GRAPH_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "graph/node.h"

namespace structprune {

class Module;

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  // Appending creators (before the output node when there is one). Names are made unique
  // from `name_hint` ("relu", "relu_1", ...).
  Node* AddPlaceholder(const std::string& name);
  Node* AddCallModule(const std::string& target, OpKind module_kind, std::vector<Node*> args);
  Node* AddCallFunction(OpKind function, std::vector<Node*> args, AttrMap attrs = {});
  Node* AddGetAttr(const std::string& target);
  // Sets (or replaces) the output node's args.
  Node* SetOutput(std::vector<Node*> results);

  // Inserts a call_function node right after `anchor` (before `anchor`'s position + 1).
  Node* InsertCallFunctionAfter(Node* anchor, OpKind function, std::vector<Node*> args,
                                AttrMap attrs = {});
  // Every use of `old_node` now uses `new_node` instead (as in FX, a `new_node` that itself
  // uses `old_node` ends up using itself: rewire its args afterwards).
  void ReplaceAllUsesWith(Node* old_node, Node* new_node);
  // Replaces argument `index` of `node`.
  void ReplaceArg(Node* node, size_t index, Node* new_arg);
  // FailedPrecondition when the node still has users; InvalidArgument when it is not in this graph.
  absl::Status Erase(Node* node);

  // In topological (insertion) order; the reference is valid until the graph changes.
  const std::vector<Node*>& nodes() const { return order_; }
  size_t size() const { return order_.size(); }
  std::vector<Node*> placeholders() const;
  Node* output() const { return output_; }
  Node* FindNode(absl::string_view name) const;
  // Whether `node` is one of this graph's nodes.
  bool Contains(const Node* node) const;

  // Well-formedness: topological order, args and users agree, one output node at the end,
  // call_module targets exist with the recorded kind, get_attr targets exist, names unique.
  // InvalidArgument naming the first offending node.
  absl::Status Lint(const Module& root) const;

  // Deep copy of the nodes (same names, targets and order).
  Graph Clone() const;

 private:
  // Inserts `node` at position `pos` of the graph order.
  Node* Append(std::unique_ptr<Node> node, size_t pos);
  std::string UniqueName(std::string hint);
  static std::unique_ptr<Node> MakeCallFunction(OpKind function, std::vector<Node*> args, AttrMap attrs);
  // Where appending creators insert: before the output node (always last) when there is one.
  size_t BeforeOutput() const { return output_ ? order_.size() - 1 : order_.size(); }
  void Link(Node* node);
  // Sets index_ of the nodes at positions `from` and later.
  void Renumber(size_t from);

  std::vector<std::unique_ptr<Node>> owned_;  // every node, in creation order
  // Graph order, kept as one array because every analysis walks it (a list would cost a cache
  // miss per node on large graphs, and a copy per walk).
  std::vector<Node*> order_;
  Node* output_ = nullptr;
  absl::flat_hash_map<std::string, Node*> by_name_;
  absl::flat_hash_map<std::string, int> name_counts_;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_GRAPH_H_
