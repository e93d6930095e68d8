// Reading the PyTorch golden fixtures written by tests/golden/generate_golden.py, comparing
// tensors at a stated tolerance, and small hand-written input tensors.
#ifndef STRUCTPRUNE_TESTS_TESTING_GOLDEN_H_
#define STRUCTPRUNE_TESTS_TESTING_GOLDEN_H_

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "graph/attr.h"
#include "graph/module.h"

namespace structprune::testing {

struct GoldenCase {
  std::string name;  // file name without .json
  std::string op;    // module class name or functional name
  std::string form;  // "module" or "functional"
  std::string model; // model fixtures: the network's name
  AttrMap attrs;
  AttrMap args;      // model fixtures: constructor arguments (width_divisor, ...)
  std::vector<std::pair<std::string, Tensor>> params;  // state_dict order
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;
  double rtol = 1e-5;
  double atol = 1e-6;
};

// Fixture paths (sorted) under tests/golden/<subdir>/.
std::vector<std::string> GoldenFiles(const std::string& subdir);
absl::StatusOr<GoldenCase> LoadGolden(const std::string& path);

// Copies the fixture's tensors into `root` by FQN (parameters, or buffers such as
// running_mean); NotFound for a name the model lacks, InvalidArgument on a shape mismatch.
absl::Status LoadState(const std::vector<std::pair<std::string, Tensor>>& state, Module& root);

// A float tensor of `shape` holding `values` (row-major); a failed expectation and an
// undefined tensor when they do not match.
Tensor Values(const Shape& shape, std::vector<float> values);
// A float tensor of `shape` holding start, start + 1, ... in row-major order.
Tensor Iota(const Shape& shape, float start = 0.0f);

// |actual - expected| <= atol + rtol * |expected| element-wise, like torch.allclose.
::testing::AssertionResult AllClose(const Tensor& actual, const Tensor& expected, double rtol,
                                    double atol);

}  // namespace structprune::testing

#endif  // STRUCTPRUNE_TESTS_TESTING_GOLDEN_H_
