// GraphModule = module tree + graph: what users build, prune, run and save.
#ifndef STRUCTPRUNE_GRAPH_GRAPH_MODULE_H_
#define STRUCTPRUNE_GRAPH_GRAPH_MODULE_H_

#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/module.h"

namespace structprune {

class GraphModule {
 public:
  GraphModule(std::unique_ptr<Module> root, Graph graph)
      : root_(std::move(root)), graph_(std::move(graph)) {}
  GraphModule(GraphModule&&) = default;
  GraphModule& operator=(GraphModule&&) = default;

  Module& root() { return *root_; }
  const Module& root() const { return *root_; }
  Graph& graph() { return graph_; }
  const Graph& graph() const { return graph_; }

  // See Graph::Lint.
  absl::Status Lint() const { return graph_.Lint(*root_); }
  // Placeholder names in order: the model's inputs.
  std::vector<std::string> InputNames() const;
  int64_t NumParameters() const { return root_->NumParameters(); }
  // Deep copy (tensors cloned), for all-or-nothing edits: edit the copy, then move it in.
  GraphModule Clone() const { return GraphModule(root_->Clone(), graph_.Clone()); }

 private:
  std::unique_ptr<Module> root_;
  Graph graph_;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_GRAPH_MODULE_H_
