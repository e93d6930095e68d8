// BaseSparsifier: the seed's sparsifier life cycle. Prepare() resolves the config and
// attaches masks, Step() asks the virtual UpdateMask() for new masks, StateDict() and
// LoadStateDict() round-trip them, SquashMask() bakes them into the weights.
#ifndef STRUCTPRUNE_PRUNING_SPARSIFIER_H_
#define STRUCTPRUNE_PRUNING_SPARSIFIER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "graph/graph_module.h"
#include "pruning/config.h"

namespace structprune {

struct SparsifierState {
  std::map<std::string, Tensor> masks;  // tensor_fqn -> bool mask
  std::vector<ConfigGroup> groups;
};

class BaseSparsifier {
 public:
  // `defaults` fill keys a config group leaves out (sparsity_level, prune_bias, ...).
  explicit BaseSparsifier(Options defaults = {}) : defaults_(std::move(defaults)) {}
  virtual ~BaseSparsifier() = default;
  BaseSparsifier(const BaseSparsifier&) = delete;
  BaseSparsifier& operator=(const BaseSparsifier&) = delete;

  // Attaches to `model` (not owned: it must outlive the sparsifier). Without a config every
  // supported tensor is configured (MakeConfigFromModel). Errors (InvalidArgument/NotFound
  // naming the config entry; FailedPrecondition when already prepared; Unimplemented naming
  // the node for the ops CheckNoUnprunableOps refuses) leave the model as it was.
  absl::Status Prepare(GraphModule& model, std::optional<SparsityConfig> config = std::nullopt);

  // Calls UpdateMask for every group when mask update is enabled (the default). All masks
  // change or none does.
  virtual absl::Status Step();
  void EnableMaskUpdate(bool enabled) { enable_mask_update_ = enabled; }

  // The seed's make_config_from_model: one group per supported tensor in module order.
  virtual SparsityConfig MakeConfigFromModel(const Module& root) const;

  const Options& defaults() const { return defaults_; }
  const std::vector<ConfigGroup>& groups() const { return groups_; }
  bool prepared() const { return model_ != nullptr; }
  // The current mask of a configured tensor; NotFound otherwise.
  absl::StatusOr<Tensor> GetMask(absl::string_view tensor_fqn) const;
  // Replaces a configured tensor's mask (same length, bool); errors name the tensor.
  absl::Status SetMask(absl::string_view tensor_fqn, const Tensor& mask);

  SparsifierState StateDict() const;
  // Copies masks from `state`; every mask must belong to a configured tensor and have its
  // length. All or nothing.
  absl::Status LoadStateDict(const SparsifierState& state);

  // Bakes every mask into its weights and removes the parametrizations (and hooks).
  virtual absl::Status SquashMask();

 protected:
  // Attaches parametrizations/hooks for the resolved groups; masks_ already hold the
  // initial masks. Called once by Prepare on the user's model: on error it must not have
  // changed the model (decide everything that can fail first, then edit).
  virtual absl::Status AttachMasks() = 0;
  // Computes `group`'s new mask into `mask` (its current value on entry).
  virtual absl::Status UpdateMask(const Module& module, const ConfigGroup& group, Tensor& mask) = 0;
  // Called after masks change (Step, SetMask, LoadStateDict): subclasses keep coupled masks
  // consistent here.
  virtual void OnMasksChanged() {}
  // Initial mask of a group: the `mask` option (possibly reshaped by subclasses) or all ones.
  virtual absl::StatusOr<Tensor> InitialMask(const Module& module, const ConfigGroup& group) const;

  GraphModule* model_ = nullptr;
  std::vector<ConfigGroup> groups_;
  // tensor_fqn -> bool mask; storage shared with parametrizations. A flat hash table: it is
  // looked up per group in every phase, where a tree cost a string compare per level.
  absl::flat_hash_map<std::string, Tensor> masks_;

 private:
  Options defaults_;
  bool enable_mask_update_ = true;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_SPARSIFIER_H_
