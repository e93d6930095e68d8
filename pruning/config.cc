#include "pruning/config.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace structprune {
namespace {

absl::Status EntryError(size_t index, absl::string_view fqn, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("config group ", index, fqn.empty() ? "" : absl::StrCat(" ('", fqn, "')"), ": ", what));
}

}  // namespace

std::optional<int64_t> LstmLayerOfWeight(absl::string_view tensor_name) {
  if (!absl::ConsumePrefix(&tensor_name, "weight_ih_l")) return std::nullopt;
  int64_t layer;
  if (!absl::SimpleAtoi(tensor_name, &layer) || layer < 0) return std::nullopt;
  return layer;
}

absl::StatusOr<int64_t> PrunableChannels(const Module& module, absl::string_view tensor_name) {
  switch (module.kind()) {
    case OpKind::kLinear:
    case OpKind::kConv2d:
      if (tensor_name == "weight" && module.parameter("weight") != nullptr) {
        return module.parameter("weight")->size(0);
      }
      break;
    case OpKind::kLstm:
      if (LstmLayerOfWeight(tensor_name) && module.parameter(tensor_name) != nullptr) {
        return module.parameter(tensor_name)->size(0) / 4;
      }
      break;
    default:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", tensor_name, "' of a ", OpName(module.kind()),
      " is not prunable: structured pruning masks Linear/Conv2d 'weight' or LSTM 'weight_ih_l<k>'"));
}

absl::StatusOr<double> ConfigGroup::GetNumber(absl::string_view key, double default_value) const {
  auto it = options.find(key);
  if (it == options.end()) return default_value;
  if (const double* v = std::get_if<double>(&it->second)) return *v;
  return absl::InvalidArgumentError(absl::StrCat("'", tensor_fqn, "': option '", key, "' must be a number"));
}

absl::StatusOr<bool> ConfigGroup::GetBool(absl::string_view key, bool default_value) const {
  auto it = options.find(key);
  if (it == options.end()) return default_value;
  if (const bool* v = std::get_if<bool>(&it->second)) return *v;
  return absl::InvalidArgumentError(absl::StrCat("'", tensor_fqn, "': option '", key, "' must be a bool"));
}

const Tensor* ConfigGroup::GetMask() const {
  auto it = options.find(kMask);
  return it == options.end() ? nullptr : std::get_if<Tensor>(&it->second);
}

absl::StatusOr<std::vector<ConfigGroup>> ResolveConfig(const SparsityConfig& config,
                                                       const Options& defaults,
                                                       const Module& root) {
  std::vector<ConfigGroup> groups;
  std::set<std::string> seen;
  for (size_t i = 0; i < config.size(); ++i) {
    auto fqn_it = config[i].find(kTensorFqn);
    if (fqn_it == config[i].end()) return EntryError(i, "", "missing 'tensor_fqn'");
    const std::string* fqn = std::get_if<std::string>(&fqn_it->second);
    if (fqn == nullptr) return EntryError(i, "", "'tensor_fqn' must be a string");
    ConfigGroup g;
    g.tensor_fqn = *fqn;
    auto owner = root.FindTensorOwner(*fqn);
    if (!owner.ok()) {
      return absl::NotFoundError(absl::StrCat("config group ", i, ": no tensor named '", *fqn, "' in the model"));
    }
    g.tensor_name = owner->second;
    g.module_fqn = fqn->size() > g.tensor_name.size() ? fqn->substr(0, fqn->size() - g.tensor_name.size() - 1) : "";
    auto channels = PrunableChannels(*owner->first, g.tensor_name);
    if (!channels.ok()) return EntryError(i, *fqn, channels.status().message());
    if (!seen.insert(*fqn).second) return EntryError(i, *fqn, "tensor configured twice");
    g.options = defaults;
    for (const auto& [key, value] : config[i]) {
      if (key != kTensorFqn) g.options[key] = value;
    }
    g.options.erase(kTensorFqn);
    auto level = g.GetNumber(kSparsityLevel, 0.0);
    if (!level.ok()) return EntryError(i, *fqn, "'sparsity_level' must be a number");
    if (!(*level >= 0.0 && *level <= 1.0)) {
      return EntryError(i, *fqn, absl::StrCat("sparsity_level must be in [0, 1], got ", *level));
    }
    if (!g.GetBool(kPruneBias, true).ok()) return EntryError(i, *fqn, "'prune_bias' must be a bool");
    if (auto it = g.options.find(kMask); it != g.options.end()) {
      const Tensor* mask = std::get_if<Tensor>(&it->second);
      if (mask == nullptr || mask->dtype() != DType::kBool || mask->dim() != 1) {
        return EntryError(i, *fqn, "'mask' must be a 1-D bool mask");
      }
      const bool lstm = owner->first->kind() == OpKind::kLstm;
      // An LSTM mask is per hidden unit, or the seed's per-row layout (4 gate blocks).
      if (mask->numel() != *channels && !(lstm && mask->numel() == 4 * *channels)) {
        return EntryError(i, *fqn, absl::StrCat("mask has ", mask->numel(), " entries, expected ",
                                                *channels, lstm ? absl::StrCat(" (or ", 4 * *channels, ")") : ""));
      }
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

}  // namespace structprune
