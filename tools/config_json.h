// CONFIG.json for `structprune prune`: the seed's Python config as JSON (SPEC section 7),
// {"defaults": {...}, "groups": [{"tensor_fqn": ..., "sparsity_level": ..., "mask": [1, 0]}]},
// read into the pruner's defaults and a SparsityConfig.
#ifndef STRUCTPRUNE_TOOLS_CONFIG_JSON_H_
#define STRUCTPRUNE_TOOLS_CONFIG_JSON_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pruning/config.h"

namespace structprune {

struct ConfigFile {
  Options defaults;  // the "defaults" object; empty when absent
  // The "groups" list, tensor names resolved to FQNs; nullopt when the key is absent (then
  // every supported layer is configured).
  std::optional<SparsityConfig> groups;
};

// Maps a tensor name as the user wrote it (an FQN or, for an ONNX model, an initializer name)
// to its FQN; an error status names the tensor. ResolveTensorFqn of an OnnxModel fits.
using TensorNameResolver = std::function<absl::StatusOr<std::string>(absl::string_view)>;

// Parses CONFIG.json text. Values: numbers -> double, true/false -> bool, strings -> string,
// "mask" (groups only) -> 1-D bool Tensor from an array of 0/1 (or true/false). Well-known
// keys are checked here: sparsity_level a number in [0, 1], prune_bias a bool, round_to an
// integer >= 1, tensor_fqn a string (required in every group). `resolve` (optional) maps
// each tensor_fqn; the mask's length against the model is checked later, by ResolveConfig.
// InvalidArgument naming the entry ("config group 1 ('seq.0.weight'): ...", "defaults: ...")
// for anything else; NotFound "config group 1: ..." when `resolve` does not know a name.
absl::StatusOr<ConfigFile> ParseConfigJson(absl::string_view text,
                                           const TensorNameResolver& resolve = nullptr);

// Reads and parses the file: NotFound "cannot read CONFIG 'path'" when it cannot be opened;
// otherwise as ParseConfigJson, the message prefixed with "'path': ".
absl::StatusOr<ConfigFile> ReadConfigJson(const std::string& path,
                                          const TensorNameResolver& resolve = nullptr);

}  // namespace structprune

#endif  // STRUCTPRUNE_TOOLS_CONFIG_JSON_H_
