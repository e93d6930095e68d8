// Module: a node of the module tree (like nn.Module) with named parameters, buffers, child
// modules, parametrizations and forward hooks. Tensors are addressed by fully qualified
// names such as "seq.0.weight".
#ifndef STRUCTPRUNE_GRAPH_MODULE_H_
#define STRUCTPRUNE_GRAPH_MODULE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"
#include "graph/attr.h"
#include "graph/parametrize.h"
#include "ops/registry.h"

namespace structprune {

class Module {
 public:
  Module(OpKind kind, AttrMap attrs) : kind_(kind), attrs_(std::move(attrs)) {}
  static std::unique_ptr<Module> Sequential() {
    return std::make_unique<Module>(OpKind::kSequential, AttrMap{});
  }

  OpKind kind() const { return kind_; }
  const AttrMap& attrs() const { return attrs_; }
  AttrMap& mutable_attrs() { return attrs_; }

  // Parameters and buffers keep registration order (PyTorch's state_dict order).
  // SetParameter adds or replaces; the stored tensor is the "original" under parametrizations.
  void SetParameter(const std::string& name, Tensor value);
  void SetBuffer(const std::string& name, Tensor value);
  bool RemoveParameter(const std::string& name);
  bool HasParameter(absl::string_view name) const;
  bool HasBuffer(absl::string_view name) const;
  // The stored tensor (no parametrization applied); nullptr when absent.
  const Tensor* parameter(absl::string_view name) const;
  Tensor* mutable_parameter(absl::string_view name);
  const Tensor* buffer(absl::string_view name) const;
  const std::vector<std::pair<std::string, Tensor>>& parameters() const { return params_; }
  const std::vector<std::pair<std::string, Tensor>>& buffers() const { return buffers_; }

  // The parameter as the forward pass sees it: stored value through every parametrization,
  // or the buffer. NotFound when the module has neither.
  absl::StatusOr<Tensor> Effective(absl::string_view name) const;

  // Parametrizations of a parameter, applied in registration order.
  void RegisterParametrization(const std::string& tensor_name,
                               std::shared_ptr<const Parametrization> p);
  bool IsParametrized(absl::string_view tensor_name) const;
  bool IsParametrized() const { return !parametrizations_.empty(); }
  const std::vector<std::shared_ptr<const Parametrization>>* parametrizations(
      absl::string_view tensor_name) const;
  // Drops the parametrizations of `tensor_name`; with `leave_parametrized` the stored value
  // becomes the effective one first (PyTorch's remove_parametrizations semantics).
  absl::Status RemoveParametrizations(absl::string_view tensor_name, bool leave_parametrized);

  void AddForwardHook(std::shared_ptr<const ForwardHook> hook) { hooks_.push_back(std::move(hook)); }
  const std::vector<std::shared_ptr<const ForwardHook>>& forward_hooks() const { return hooks_; }
  void ClearForwardHooks() { hooks_.clear(); }
  // Drops every parametrization without applying it (the stored values stay as they are).
  void ClearParametrizations() { parametrizations_.clear(); }

  // Children keep insertion order. AddChild replaces a child of the same name.
  Module& AddChild(const std::string& name, std::unique_ptr<Module> child);
  Module* child(absl::string_view name) const;
  const std::vector<std::pair<std::string, std::unique_ptr<Module>>>& children() const {
    return children_;
  }

  // Lookup by dotted path relative to this module; "" is this module itself.
  Module* FindModule(absl::string_view fqn) const;
  // Splits "seq.0.weight" into the owning module and "weight". NotFound naming the FQN.
  absl::StatusOr<std::pair<Module*, std::string>> FindTensorOwner(absl::string_view fqn) const;

  // Every (FQN, module) pair below and including this one, depth first, this one as "".
  std::vector<std::pair<std::string, const Module*>> NamedModules() const;
  // Every (FQN, stored parameter) pair, in state_dict order.
  std::vector<std::pair<std::string, Tensor>> NamedParameters() const;
  int64_t NumParameters() const;

  // Copy of the module tree, every tensor cloned; parametrizations and hooks shared (they are
  // immutable).
  std::unique_ptr<Module> Clone() const;

 private:
  OpKind kind_;
  AttrMap attrs_;
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::vector<std::shared_ptr<const Parametrization>>>>
      parametrizations_;
  std::vector<std::shared_ptr<const ForwardHook>> hooks_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
  // Name -> child, for modules with more than kIndexedChildren children (a Sequential of
  // thousands of layers). Smaller ones are searched in children_ itself: no table of their own
  // to allocate, and a lookup reads one array instead of a hash table and then the array.
  static constexpr size_t kIndexedChildren = 8;
  absl::flat_hash_map<std::string, Module*> child_index_;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_MODULE_H_
