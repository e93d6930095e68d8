// Node: one operation of the FX-like graph: its kind, target, args, attributes and users.
#ifndef STRUCTPRUNE_GRAPH_NODE_H_
#define STRUCTPRUNE_GRAPH_NODE_H_

#include <string>
#include <vector>

#include "graph/attr.h"
#include "ops/registry.h"

namespace structprune {

enum class NodeKind { kPlaceholder, kCallModule, kCallFunction, kGetAttr, kOutput };

absl::string_view NodeKindName(NodeKind kind);  // "placeholder", "call_module", ...

class Node {
 public:
  NodeKind kind() const { return kind_; }
  // Unique within the graph: "x", "seq_0", "relu_1".
  const std::string& name() const { return name_; }
  // Position in its graph's order (the graph keeps it current), for analyses that keep
  // per-node results in arrays; -1 before the node joins a graph.
  int index() const { return index_; }
  // call_module / get_attr: the module or tensor FQN; call_function: the function name.
  const std::string& target() const { return target_; }
  // call_module: the module's kind; call_function: the function. Unset otherwise.
  OpKind op() const { return op_; }
  const std::vector<Node*>& args() const { return args_; }
  const std::vector<Node*>& users() const { return users_; }
  // call_function keyword arguments (negative_slope, dim, index, ...).
  const AttrMap& attrs() const { return attrs_; }
  AttrMap& mutable_attrs() { return attrs_; }

  bool IsCallTo(OpKind op) const {
    return (kind_ == NodeKind::kCallModule || kind_ == NodeKind::kCallFunction) && op_ == op;
  }

 private:
  friend class Graph;
  NodeKind kind_ = NodeKind::kPlaceholder;
  int index_ = -1;
  std::string name_;
  std::string target_;
  OpKind op_ = OpKind::kSequential;
  std::vector<Node*> args_;
  std::vector<Node*> users_;
  AttrMap attrs_;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_NODE_H_
