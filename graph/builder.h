// GraphBuilder: builds a GraphModule in the shape of a PyTorch module: declare the modules
// (like __init__), then write the forward with Call/Function. Errors are collected and
// returned by Build(), so a forward reads straight through.
//
//   GraphBuilder b;
//   b.AddModule("seq.0", LinearAttrs{.in_features = 7, .out_features = 5});
//   Node* x = b.Input("x");
//   x = b.Call(OpKind::kRelu, b.Call("seq.0", x));
//   b.Output(x);
//   absl::StatusOr<GraphModule> model = b.Build();
#ifndef STRUCTPRUNE_GRAPH_BUILDER_H_
#define STRUCTPRUNE_GRAPH_BUILDER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/rng.h"
#include "graph/graph_module.h"

namespace structprune {

class GraphBuilder {
 public:
  // `seed` drives parameter initialization, so equal seeds build equal models.
  explicit GraphBuilder(uint64_t seed = 0);

  // Adds a module at `fqn`; missing parents ("seq" of "seq.0") become Sequential containers.
  // Parameters are initialized with PyTorch's distributions. Returns nullptr (and records
  // the error) on a duplicate FQN or bad attributes.
  Module* AddModule(const std::string& fqn, OpKind kind, AttrMap attrs = {});
  // For typed attribute structs with ToAttrs() and Kind(): LinearAttrs, Conv2dAttrs, ...
  template <typename Attrs>
  Module* AddModule(const std::string& fqn, const Attrs& attrs) {
    return AddModule(fqn, Attrs::Kind(), attrs.ToAttrs());
  }

  Node* Input(const std::string& name);
  // Calls the module at `fqn` (NotFound recorded when it does not exist).
  Node* Call(const std::string& fqn, std::vector<Node*> args);
  Node* Call(const std::string& fqn, Node* x) { return Call(fqn, std::vector<Node*>{x}); }
  // Functional call: F.relu, F.max_pool2d, torch.flatten, add, cat, getitem, ...
  Node* Call(OpKind function, std::vector<Node*> args, AttrMap attrs = {});
  Node* Call(OpKind function, Node* x, AttrMap attrs = {}) {
    return Call(function, std::vector<Node*>{x}, std::move(attrs));
  }
  Node* Add(Node* a, Node* b) { return Call(OpKind::kAdd, {a, b}); }
  Node* Cat(std::vector<Node*> xs, int64_t dim) { return Call(OpKind::kCat, std::move(xs), {{"dim", dim}}); }
  Node* GetItem(Node* x, int64_t index) { return Call(OpKind::kGetItem, {x}, {{"index", index}}); }
  // torch.flatten(x, start_dim, end_dim).
  Node* Flatten(Node* x, int64_t start_dim = 0, int64_t end_dim = -1) {
    return Call(OpKind::kFlatten, {x}, {{"start_dim", start_dim}, {"end_dim", end_dim}});
  }
  // A parameter or buffer as a value (e.g. the weight of F.prelu).
  Node* GetAttr(const std::string& tensor_fqn);
  void Output(std::vector<Node*> results);
  void Output(Node* result) { Output(std::vector<Node*>{result}); }

  // Direct access for tests that build modules by hand.
  Module& root() { return *root_; }
  Rng& rng() { return rng_; }

  // The model, linted; or the first error recorded while building.
  absl::StatusOr<GraphModule> Build();

 private:
  bool CheckArgs(const std::vector<Node*>& args);
  void Fail(absl::Status s);

  Rng rng_;
  std::unique_ptr<Module> root_;
  Graph graph_;
  absl::Status status_;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_BUILDER_H_
