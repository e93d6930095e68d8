// Fuzzes ParseConfigJson (CONFIG.json): any text gives a config or a status,
// never a crash, and a config that parses holds what the contract promises
// (each group a tensor_fqn the resolver gave, sparsity levels in [0, 1], masks
// non-empty 1-D bool tensors).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tools/config_json.h"

namespace structprune {
namespace {

// Knows the tensors of a small model by FQN, and one by its ONNX initializer
// name.
absl::StatusOr<std::string> Resolve(absl::string_view name) {
  if (name == "onnx::MatMul_12") return std::string("seq.1.weight");
  for (absl::string_view fqn : {"seq.0.weight", "seq.1.weight", "conv2d1.weight", "fc.weight"}) {
    if (name == fqn) return std::string(fqn);
  }
  return absl::NotFoundError(absl::StrCat("no tensor named '", name, "'"));
}

void Check(bool ok, const char *what) {
  if (ok) return;
  std::fprintf(stderr, "ParseConfigJson broke its contract: %s\n", what);
  std::abort();
}

void CheckOptions(const Options &options, bool in_group) {
  for (const auto &[key, value] : options) {
    if (key == kSparsityLevel) {
      const double *level = std::get_if<double>(&value);
      Check(level != nullptr && *level >= 0.0 && *level <= 1.0, "sparsity_level");
    } else if (key == kMask) {
      const Tensor *mask = std::get_if<Tensor>(&value);
      Check(in_group && mask != nullptr && mask->dtype() == DType::kBool &&
                mask->shape().size() == 1 && mask->shape()[0] > 0,
            "mask");
    } else if (key == kTensorFqn) {
      const std::string *fqn = std::get_if<std::string>(&value);
      Check(in_group && fqn != nullptr && Resolve(*fqn).ok(), "tensor_fqn");
    }
  }
}

}  // namespace
}  // namespace structprune

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace structprune;
  const absl::string_view text(reinterpret_cast<const char *>(data), size);
  (void)ParseConfigJson(text);
  absl::StatusOr<ConfigFile> config = ParseConfigJson(text, &Resolve);
  if (!config.ok()) return 0;
  CheckOptions(config->defaults, /*in_group=*/false);
  if (config->groups) {
    for (const Options &group : *config->groups) {
      Check(group.contains(kTensorFqn), "a group without tensor_fqn");
      CheckOptions(group, /*in_group=*/true);
    }
  }
  return 0;
}
