#include "graph/graph.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "graph/module.h"

namespace structprune {

absl::string_view NodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kPlaceholder: return "placeholder";
    case NodeKind::kCallModule: return "call_module";
    case NodeKind::kCallFunction: return "call_function";
    case NodeKind::kGetAttr: return "get_attr";
    case NodeKind::kOutput: return "output";
  }
  return "unknown";
}

std::string Graph::UniqueName(std::string hint) {
  hint = absl::StrReplaceAll(hint, {{".", "_"}});
  if (hint.empty()) hint = "node";
  std::string name = hint;
  int& count = name_counts_[hint];
  while (by_name_.contains(name)) name = absl::StrCat(hint, "_", ++count);
  return name;
}

void Graph::Renumber(size_t from) {
  for (size_t i = from; i < order_.size(); ++i) order_[i]->index_ = static_cast<int>(i);
}

void Graph::Link(Node* node) {
  for (Node* arg : node->args_) arg->users_.push_back(node);
}

Node* Graph::Append(std::unique_ptr<Node> node, size_t pos) {
  Node* raw = node.get();
  raw->name_ = UniqueName(raw->name_);
  by_name_[raw->name_] = raw;
  order_.insert(order_.begin() + static_cast<std::ptrdiff_t>(pos), raw);
  owned_.push_back(std::move(node));
  Renumber(pos);
  Link(raw);
  return raw;
}

namespace {

std::unique_ptr<Node> MakeNode() { return std::unique_ptr<Node>(new Node()); }

}  // namespace

std::unique_ptr<Node> Graph::MakeCallFunction(OpKind function, std::vector<Node*> args, AttrMap attrs) {
  auto n = MakeNode();
  n->kind_ = NodeKind::kCallFunction;
  n->name_ = std::string(OpFunctionalName(function));
  n->target_ = n->name_;
  n->op_ = function;
  n->args_ = std::move(args);
  n->attrs_ = std::move(attrs);
  return n;
}

Node* Graph::AddPlaceholder(const std::string& name) {
  auto n = MakeNode();
  n->kind_ = NodeKind::kPlaceholder;
  n->name_ = name;
  n->target_ = name;
  return Append(std::move(n), BeforeOutput());
}

Node* Graph::AddCallModule(const std::string& target, OpKind module_kind, std::vector<Node*> args) {
  auto n = MakeNode();
  n->kind_ = NodeKind::kCallModule;
  n->name_ = target;
  n->target_ = target;
  n->op_ = module_kind;
  n->args_ = std::move(args);
  return Append(std::move(n), BeforeOutput());
}

Node* Graph::AddCallFunction(OpKind function, std::vector<Node*> args, AttrMap attrs) {
  return Append(MakeCallFunction(function, std::move(args), std::move(attrs)), BeforeOutput());
}

Node* Graph::AddGetAttr(const std::string& target) {
  auto n = MakeNode();
  n->kind_ = NodeKind::kGetAttr;
  n->name_ = target;
  n->target_ = target;
  return Append(std::move(n), BeforeOutput());
}

Node* Graph::SetOutput(std::vector<Node*> results) {
  if (output_ == nullptr) {
    auto n = MakeNode();
    n->kind_ = NodeKind::kOutput;
    n->name_ = "output";
    n->target_ = "output";
    n->args_ = std::move(results);
    output_ = Append(std::move(n), order_.size());
    return output_;
  }
  for (Node* arg : output_->args_) {
    auto& u = arg->users_;
    u.erase(std::find(u.begin(), u.end(), output_));
  }
  output_->args_ = std::move(results);
  Link(output_);
  return output_;
}

Node* Graph::InsertCallFunctionAfter(Node* anchor, OpKind function, std::vector<Node*> args,
                                     AttrMap attrs) {
  auto n = MakeCallFunction(function, std::move(args), std::move(attrs));
  // An anchor outside the graph, or the output node itself, inserts before the output.
  const bool append = !Contains(anchor) || anchor == output_;
  return Append(std::move(n), append ? BeforeOutput() : static_cast<size_t>(anchor->index_) + 1);
}

void Graph::ReplaceAllUsesWith(Node* old_node, Node* new_node) {
  std::vector<Node*> users = old_node->users_;
  for (Node* user : users) {
    for (size_t i = 0; i < user->args_.size(); ++i) {
      if (user->args_[i] == old_node) ReplaceArg(user, i, new_node);
    }
  }
}

void Graph::ReplaceArg(Node* node, size_t index, Node* new_arg) {
  Node* old_arg = node->args_[index];
  auto& u = old_arg->users_;
  u.erase(std::find(u.begin(), u.end(), node));
  node->args_[index] = new_arg;
  new_arg->users_.push_back(node);
}

bool Graph::Contains(const Node* node) const {
  return node != nullptr && node->index_ >= 0 && static_cast<size_t>(node->index_) < order_.size() &&
         order_[node->index_] == node;
}

absl::Status Graph::Erase(Node* node) {
  if (!Contains(node)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot erase node '", node == nullptr ? "" : node->name_,
                                                   "': it is not in this graph"));
  }
  if (!node->users_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot erase node '", node->name_, "': it still has ", node->users_.size(),
                     " user(s), first '", node->users_[0]->name_, "'"));
  }
  for (Node* arg : node->args_) {
    auto& u = arg->users_;
    u.erase(std::find(u.begin(), u.end(), node));
  }
  if (node == output_) output_ = nullptr;
  by_name_.erase(node->name_);
  const size_t pos = static_cast<size_t>(node->index_);
  order_.erase(order_.begin() + static_cast<std::ptrdiff_t>(pos));
  std::erase_if(owned_, [&](const auto& n) { return n.get() == node; });
  Renumber(pos);
  return absl::OkStatus();
}

std::vector<Node*> Graph::placeholders() const {
  std::vector<Node*> out;
  for (Node* n : order_) {
    if (n->kind_ == NodeKind::kPlaceholder) out.push_back(n);
  }
  return out;
}

Node* Graph::FindNode(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

absl::Status Graph::Lint(const Module& root) const {
  auto fail = [](const Node* n, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("graph lint: node '", n->name_, "': ", what));
  };
  absl::flat_hash_set<const Node*> seen;
  absl::flat_hash_set<absl::string_view> names;
  seen.reserve(order_.size());
  names.reserve(order_.size());
  for (const Node* n : order_) {
    if (!names.insert(n->name_).second) return fail(n, "duplicate name");
    for (const Node* arg : n->args_) {
      if (arg == nullptr) return fail(n, "null argument");
      if (!seen.contains(arg)) {
        return fail(n, absl::StrCat("uses '", arg->name_, "' before it is defined (not topological)"));
      }
      if (std::count(arg->users_.begin(), arg->users_.end(), n) == 0) {
        return fail(n, absl::StrCat("is not listed among the users of its argument '", arg->name_, "'"));
      }
    }
    for (const Node* user : n->users_) {
      if (std::count(user->args_.begin(), user->args_.end(), n) == 0) {
        return fail(n, absl::StrCat("lists '", user->name_, "' as a user, which does not use it"));
      }
    }
    switch (n->kind_) {
      case NodeKind::kPlaceholder:
        if (!n->args_.empty()) return fail(n, "placeholder with arguments");
        break;
      case NodeKind::kCallModule: {
        const Module* m = root.FindModule(n->target_);
        if (m == nullptr || n->target_.empty()) {
          return fail(n, absl::StrCat("call_module target '", n->target_, "' does not exist"));
        }
        if (m->kind() != n->op_) {
          return fail(n, absl::StrCat("target '", n->target_, "' is a ", OpName(m->kind()),
                                      ", node expects ", OpName(n->op_)));
        }
        if (FindOpDef(m->kind()) == nullptr) {
          return fail(n, absl::StrCat("target '", n->target_, "' is a container and cannot be called"));
        }
        break;
      }
      case NodeKind::kCallFunction:
        if (OpFunctionalName(n->op_).empty()) {
          return fail(n, absl::StrCat(OpName(n->op_), " has no functional form"));
        }
        break;
      case NodeKind::kGetAttr:
        if (!root.FindTensorOwner(n->target_).ok()) {
          return fail(n, absl::StrCat("get_attr target '", n->target_, "' does not exist"));
        }
        break;
      case NodeKind::kOutput:
        if (n != output_ || n != order_.back()) return fail(n, "output must be the last node");
        break;
    }
    seen.insert(n);
  }
  if (output_ == nullptr) return absl::InvalidArgumentError("graph lint: graph has no output node");
  return absl::OkStatus();
}

Graph Graph::Clone() const {
  Graph copy;
  absl::flat_hash_map<const Node*, Node*> remap;
  copy.owned_.reserve(order_.size());
  copy.order_.reserve(order_.size());
  for (const Node* original : order_) {
    auto n = MakeNode();
    n->kind_ = original->kind_;
    n->name_ = original->name_;
    n->target_ = original->target_;
    n->op_ = original->op_;
    n->attrs_ = original->attrs_;
    for (const Node* arg : original->args_) n->args_.push_back(remap.at(arg));
    Node* raw = n.get();
    raw->index_ = static_cast<int>(copy.order_.size());
    copy.order_.push_back(raw);
    copy.owned_.push_back(std::move(n));
    copy.by_name_[raw->name_] = raw;
    copy.Link(raw);
    remap[original] = raw;
    if (original == output_) copy.output_ = raw;
  }
  copy.name_counts_ = name_counts_;
  return copy;
}

}  // namespace structprune
