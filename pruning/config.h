// Sparsifier configuration: groups keyed by tensor_fqn with typed options (the seed's Python
// dicts), plus validation against a model.
#ifndef STRUCTPRUNE_PRUNING_CONFIG_H_
#define STRUCTPRUNE_PRUNING_CONFIG_H_

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "graph/module.h"

namespace structprune {

// An option value: number, bool, string or mask (bool tensor, 1 = keep).
using OptionValue = std::variant<double, bool, std::string, Tensor>;
using Options = std::map<std::string, OptionValue, std::less<>>;

// Well-known option keys.
inline constexpr char kTensorFqn[] = "tensor_fqn";
inline constexpr char kSparsityLevel[] = "sparsity_level";
inline constexpr char kPruneBias[] = "prune_bias";
inline constexpr char kMask[] = "mask";

// One configured tensor: the seed's `{"tensor_fqn": ..., **options}` after defaults are merged.
struct ConfigGroup {
  std::string tensor_fqn;  // "seq.0.weight", "lstm.weight_ih_l0"
  std::string module_fqn;  // "seq.0"
  std::string tensor_name; // "weight"
  Options options;         // defaults, then the group's own keys

  // Typed readers; InvalidArgument naming the tensor and the key on a wrong type.
  absl::StatusOr<double> GetNumber(absl::string_view key, double default_value) const;
  absl::StatusOr<bool> GetBool(absl::string_view key, bool default_value) const;
  const Tensor* GetMask() const;  // the explicit `mask` option, if any
};

// The config as users write it: a list of option maps, each with kTensorFqn (a string).
using SparsityConfig = std::vector<Options>;

// Merges defaults into each group and checks it against `root`: tensor_fqn present and a
// string, the tensor exists (NotFound naming it), belongs to a Linear/Conv2d/LSTM weight
// (InvalidArgument otherwise), sparsity_level in [0, 1], a mask of the right length and
// type, no tensor configured twice. Errors name the offending entry.
absl::StatusOr<std::vector<ConfigGroup>> ResolveConfig(const SparsityConfig& config,
                                                       const Options& defaults,
                                                       const Module& root);

// The number of prunable channels of a configured weight: rows for Linear/Conv2d, hidden
// units for an LSTM layer's weight_ih_lk. InvalidArgument for other tensors.
absl::StatusOr<int64_t> PrunableChannels(const Module& module, absl::string_view tensor_name);

// True for LSTM layer weights the structured pruner masks ("weight_ih_l0", ...), with k.
std::optional<int64_t> LstmLayerOfWeight(absl::string_view tensor_name);

}  // namespace structprune

#endif  // STRUCTPRUNE_PRUNING_CONFIG_H_
