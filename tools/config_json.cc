#include "tools/config_json.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace structprune {
namespace {

using nlohmann::json;

// "config group 1 ('seq.0.weight')", "config group 1", or "defaults": the entry errors name.
std::string GroupWhere(size_t index, absl::string_view name) {
  return name.empty() ? absl::StrCat("config group ", index)
                      : absl::StrCat("config group ", index, " ('", name, "')");
}

absl::Status EntryError(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

// A mask array: 0/1 or false/true entries -> 1-D bool tensor (1 = keep).
absl::StatusOr<Tensor> MaskFromJson(const json& value, absl::string_view where) {
  if (!value.is_array()) {
    return EntryError(where,
                      absl::StrCat("'mask' must be an array of 0/1, got ", value.type_name()));
  }
  std::vector<bool> keep;
  keep.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const json& entry = value[i];
    if (entry.is_boolean()) {
      keep.push_back(entry.get<bool>());
    } else if (entry.is_number() && (entry.get<double>() == 0.0 || entry.get<double>() == 1.0)) {
      keep.push_back(entry.get<double>() == 1.0);
    } else {
      return EntryError(
          where, absl::StrCat("'mask' entry ", i, " is ", entry.dump(), ", expected 0 or 1"));
    }
  }
  if (keep.empty()) return EntryError(where, "'mask' is empty");
  return Tensor::FromBools({static_cast<int64_t>(keep.size())}, keep);
}

// One option value, with the checks of the well-known keys. `in_group`: masks are allowed.
absl::StatusOr<OptionValue> OptionFromJson(const std::string& key, const json& value,
                                           absl::string_view where, bool in_group) {
  if (key == kMask) {
    if (!in_group) return EntryError(where, "'mask' belongs in a group: a mask is per tensor");
    SP_ASSIGN_OR_RETURN(Tensor mask, MaskFromJson(value, where));
    return mask;
  }
  OptionValue result;
  if (value.is_boolean()) {
    result = value.get<bool>();
  } else if (value.is_number()) {
    result = value.get<double>();
  } else if (value.is_string()) {
    result = value.get<std::string>();
  } else {
    return EntryError(where, absl::StrCat("'", key, "' must be a number, bool or string, got ",
                                          value.type_name()));
  }
  const double* number = std::get_if<double>(&result);
  if (key == kSparsityLevel) {
    if (number == nullptr) return EntryError(where, "'sparsity_level' must be a number");
    if (!(*number >= 0.0 && *number <= 1.0)) {
      return EntryError(where, absl::StrCat("sparsity_level must be in [0, 1], got ", *number));
    }
  } else if (key == "max_group_sparsity") {
    if (number == nullptr || !(*number >= 0.0 && *number <= 1.0)) {
      return EntryError(where, "'max_group_sparsity' must be a number in [0, 1]");
    }
  } else if (key == "round_to") {
    if (number == nullptr || *number < 1.0 || std::floor(*number) != *number) {
      return EntryError(where,
                        absl::StrCat("'round_to' must be an integer >= 1, got ", value.dump()));
    }
  } else if (key == kPruneBias || key == "global_pruning") {
    if (!std::holds_alternative<bool>(result)) {
      return EntryError(where,
                        absl::StrCat("'", key, "' must be true or false, got ", value.dump()));
    }
  }
  return result;
}

absl::StatusOr<Options> DefaultsFromJson(const json& value) {
  if (!value.is_object()) {
    return EntryError("defaults", absl::StrCat("expected an object, got ", value.type_name()));
  }
  Options defaults;
  for (const auto& [key, v] : value.items()) {
    if (key == kTensorFqn) return EntryError("defaults", "'tensor_fqn' belongs in a group");
    SP_ASSIGN_OR_RETURN(defaults[key], OptionFromJson(key, v, "defaults", /*in_group=*/false));
  }
  return defaults;
}

absl::StatusOr<Options> GroupFromJson(size_t index, const json& value,
                                      const TensorNameResolver& resolve) {
  if (!value.is_object()) {
    return EntryError(GroupWhere(index, ""),
                      absl::StrCat("expected an object, got ", value.type_name()));
  }
  auto fqn_it = value.find(kTensorFqn);
  if (fqn_it == value.end()) return EntryError(GroupWhere(index, ""), "missing 'tensor_fqn'");
  if (!fqn_it->is_string()) {
    return EntryError(GroupWhere(index, ""),
                      absl::StrCat("'tensor_fqn' must be a string, got ", fqn_it->type_name()));
  }
  const std::string name = fqn_it->get<std::string>();
  std::string fqn = name;
  if (resolve) {
    absl::StatusOr<std::string> resolved = resolve(name);
    if (!resolved.ok()) {
      return absl::Status(resolved.status().code(),
                          absl::StrCat(GroupWhere(index, ""), ": ", resolved.status().message()));
    }
    fqn = *resolved;
  }
  const std::string where = GroupWhere(index, name);
  Options group;
  group[kTensorFqn] = fqn;
  for (const auto& [key, v] : value.items()) {
    if (key == kTensorFqn) continue;
    SP_ASSIGN_OR_RETURN(group[key], OptionFromJson(key, v, where, /*in_group=*/true));
  }
  return group;
}

}  // namespace

absl::StatusOr<ConfigFile> ParseConfigJson(absl::string_view text,
                                           const TensorNameResolver& resolve) {
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    // what() reads "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    absl::string_view what = e.what();
    if (absl::StartsWith(what, "[json.exception.")) what = what.substr(what.find(']') + 1);
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON: ", absl::StripLeadingAsciiWhitespace(what)));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a JSON object with \"defaults\" and/or \"groups\", got ", root.type_name()));
  }
  ConfigFile config;
  for (const auto& [key, value] : root.items()) {
    if (key == "defaults") {
      SP_ASSIGN_OR_RETURN(config.defaults, DefaultsFromJson(value));
    } else if (key == "groups") {
      if (!value.is_array()) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"groups\" must be an array of objects, got ", value.type_name()));
      }
      SparsityConfig groups;
      for (size_t i = 0; i < value.size(); ++i) {
        SP_ASSIGN_OR_RETURN(Options group, GroupFromJson(i, value[i], resolve));
        groups.push_back(std::move(group));
      }
      config.groups = std::move(groups);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown key \"", key, "\" (expected \"defaults\" and/or \"groups\")"));
    }
  }
  return config;
}

absl::StatusOr<ConfigFile> ReadConfigJson(const std::string& path,
                                          const TensorNameResolver& resolve) {
  std::error_code ec;
  std::ifstream in;
  if (std::filesystem::is_regular_file(path, ec)) in.open(path, std::ios::binary);
  if (!in.is_open()) return absl::NotFoundError(absl::StrCat("cannot read CONFIG '", path, "'"));
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<ConfigFile> config = ParseConfigJson(text.str(), resolve);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat("'", path, "': ", config.status().message()));
  }
  return config;
}

}  // namespace structprune
