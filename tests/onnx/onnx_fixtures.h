// Shared helpers of the ONNX tests: the fixtures of tests/golden/onnx/ (written by
// tests/golden/generate_onnx.py) and running an imported model on them.
#ifndef STRUCTPRUNE_TESTS_ONNX_ONNX_FIXTURES_H_
#define STRUCTPRUNE_TESTS_ONNX_ONNX_FIXTURES_H_

#include <gmock/gmock.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/tensor.h"
#include "graph/onnx_tensor.h"

namespace structprune::testing {

// A StatusOr that is OK and holds a value equal to `expected`.
MATCHER_P(OkAndEq, expected, "is OK and equals " + ::testing::PrintToString(expected)) {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  *result_listener << "holds " << ::testing::PrintToString(*arg);
  return *arg == expected;
}

inline std::string OnnxFixtureDir() { return std::string(SP_GOLDEN_DIR) + "/onnx"; }
inline std::string OnnxModelPath(const std::string& name) {
  return absl::StrCat(OnnxFixtureDir(), "/", name, "/model.onnx");
}

// The case folders (every folder but bad/), sorted.
inline std::vector<std::string> OnnxCaseNames() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(OnnxFixtureDir())) {
    if (e.is_directory() && e.path().filename() != "bad") names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct OnnxCase {
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;  // PyTorch's, flattened depth first
};

inline absl::StatusOr<OnnxCase> LoadOnnxCase(const std::string& name) {
  const std::string dir = absl::StrCat(OnnxFixtureDir(), "/", name);
  OnnxCase c;
  SP_ASSIGN_OR_RETURN(Tensor x, ReadTensorProtoFile(dir + "/input_0.pb"));
  c.inputs.push_back(x);
  for (int i = 0; std::filesystem::exists(absl::StrCat(dir, "/output_", i, ".pb")); ++i) {
    SP_ASSIGN_OR_RETURN(Tensor y, ReadTensorProtoFile(absl::StrCat(dir, "/output_", i, ".pb")));
    c.outputs.push_back(y);
  }
  return c;
}

}  // namespace structprune::testing

#endif  // STRUCTPRUNE_TESTS_ONNX_ONNX_FIXTURES_H_
