// The properties every prune must keep, checked on one random prune of a random graph (shared
// by tests/property and the fuzzers):
//   (a) Prepare / Step / Prune succeed, or fail with a non-OK, non-Internal status and leave
//       the model as it was (graph, parameters, masks and hooks); a prepared model whose masks
//       keep everything computes what the model did;
//   (b) a pruned model computes what the masked model did and keeps no mask or hook;
//   (c) ONNX export -> import computes what the exported model does;
//   (d) pruning never adds parameters.
#ifndef STRUCTPRUNE_TESTS_TESTING_PRUNE_PROPERTIES_H_
#define STRUCTPRUNE_TESTS_TESTING_PRUNE_PROPERTIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tests/testing/choice_source.h"
#include "tests/testing/random_graph.h"

namespace structprune::testing {

struct PropertyOutcome {
  bool pruned = false;        // Prune() succeeded
  bool shrunk = false;        // ... and removed parameters
  std::string rejection;      // otherwise the stage and status that stopped it
  bool onnx_checked = false;  // exported and imported back; false for an op ONNX cannot express
  std::string setup;          // pruner, options and config, one per line
  std::vector<std::string> violations;  // empty when every property holds
};

// Draws from `choices` a pruner (random masks, SaliencyPruner, FPGMPruner (L1/L2),
// LSTMSaliencyPruner, the seed tests' row-one and one-third pruners), a config (the default, or
// a random subset of the prunable tensors with their own levels, prune_bias or masks, now and
// then one invalid entry), pattern or dependency-group mode (round_to, global pruning,
// max_group_sparsity, ignored_layers) and exact or approximate pruning; runs prepare -> step ->
// prune on `graph.model` in place and checks the properties. `seed` draws the test inputs.
PropertyOutcome CheckPruneProperties(RandomGraph& graph, ChoiceSource& choices, uint64_t seed);

}  // namespace structprune::testing

#endif  // STRUCTPRUNE_TESTS_TESTING_PRUNE_PROPERTIES_H_
