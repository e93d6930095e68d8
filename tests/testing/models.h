// The seed's test networks (PyTorch's torch/testing/_internal/common_pruning.py) built with
// GraphBuilder: the FQNs, layer arguments, registration order and forward dataflow are exactly
// those in the docstring of tests/golden/generate_golden.py, so a fixture's state_dict loads
// into them by name and their outputs match PyTorch's.
#ifndef STRUCTPRUNE_TESTS_TESTING_MODELS_H_
#define STRUCTPRUNE_TESTS_TESTING_MODELS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "graph/attr.h"
#include "graph/graph_module.h"

namespace structprune::testing {

// `seed` drives parameter initialization (PyTorch's distributions): equal seeds, equal models.
// Every builder's graph has one input "x".

// Linear chains: input [*, 7] -> output [*, 10].
absl::StatusOr<GraphModule> SimpleLinear(uint64_t seed = 0);
absl::StatusOr<GraphModule> LinearBias(uint64_t seed = 0);
absl::StatusOr<GraphModule> LinearActivation(uint64_t seed = 0);
// act1 is registered (a module of the tree) but never called, as upstream.
absl::StatusOr<GraphModule> LinearActivationFunctional(uint64_t seed = 0);

// The five wide conv networks, input [N, 1, H, W]. Every channel count except the image's
// single input channel is divided (integer division, as the generator's `c // width_divisor`)
// by `width_divisor`: 32 -> 8, 64 -> 16, 48 -> 12, 52 -> 13 for the goldens' 4.
// The builders return InvalidArgument unless 1 <= width_divisor <= 32 (every width >= 1).
absl::StatusOr<GraphModule> SimpleConv2d(int width_divisor = 1, uint64_t seed = 0);
absl::StatusOr<GraphModule> Conv2dBias(int width_divisor = 1, uint64_t seed = 0);
absl::StatusOr<GraphModule> Conv2dActivation(int width_divisor = 1, uint64_t seed = 0);
absl::StatusOr<GraphModule> Conv2dPadBias(int width_divisor = 1, uint64_t seed = 0);
absl::StatusOr<GraphModule> Conv2dPool(int width_divisor = 1, uint64_t seed = 0);

// Upstream widths (3, 5, 7, 11 channels), input [N, 1, 28, 28] -> output [N, 13].
// Functional: F.max_pool2d, AdaptiveAvgPool2d((1, 1)), torch.flatten(x, 1), fc Linear(11, 13).
absl::StatusOr<GraphModule> Conv2dPoolFlattenFunctional(uint64_t seed = 0);
// Module Flatten after AdaptiveAvgPool2d((2, 2)), fc Linear(44, 13).
absl::StatusOr<GraphModule> Conv2dPoolFlatten(uint64_t seed = 0);

// LSTM(input_dim, hidden_dim, num_layers) -> Linear(hidden_dim, output_dim); input [T, B, I].
// Outputs (decoded [T, B, output_dim], output [T, B, hidden_dim]).
absl::StatusOr<GraphModule> LSTMLinearModel(int64_t input_dim, int64_t hidden_dim,
                                            int64_t output_dim, int64_t num_layers,
                                            uint64_t seed = 0);
// LSTM -> LayerNorm(hidden_dim) -> Linear. Outputs (x [T, B, output_dim], (h_n, c_n)), i.e.
// three tensors once flattened: x, h_n [L, B, H], c_n [L, B, H].
absl::StatusOr<GraphModule> LSTMLayerNormLinearModel(int64_t input_dim, int64_t hidden_dim,
                                                     int64_t output_dim, int64_t num_layers,
                                                     uint64_t seed = 0);

// The builder for a fixture's `model` and `args` (tests/golden/models/*.json): a class name
// above with its constructor arguments under the generator's names (width_divisor; input_dim,
// hidden_dim, output_dim, num_layers, all required for the LSTM models). The fixture file
// names "LSTMLinearModel_2layer" / "LSTMLayerNormLinearModel_1layer" are accepted too: they
// default to the goldens' dims (8, 8, 4) and the suffix's layer count.
// NotFound for an unknown name; InvalidArgument naming the argument for a missing, unknown or
// wrongly typed one.
absl::StatusOr<GraphModule> BuildSeedModel(const std::string& name, const AttrMap& args,
                                           uint64_t seed = 0);

}  // namespace structprune::testing

#endif  // STRUCTPRUNE_TESTS_TESTING_MODELS_H_
