// PyTorch 1.13's scoped ONNX node names ("/layer1/layer1.0/conv1/Conv") <-> module FQNs
// ("layer1.0.conv1"). Each scope component is the module's name from its last non-numeric
// atom on ("layer1.0", "conv1", "seq.0.0"), or its whole FQN when every atom is numeric.
#ifndef STRUCTPRUNE_GRAPH_ONNX_SCOPE_NAMES_H_
#define STRUCTPRUNE_GRAPH_ONNX_SCOPE_NAMES_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace structprune::internal {

// The FQN of the module whose forward emitted the node: "/seq/seq.1/MatMul" -> "seq.1",
// "/Relu" -> "" (the root module). nullopt when `node_name` is not a PyTorch scoped name.
std::optional<std::string> ScopeFqnFromNodeName(absl::string_view node_name);

// The scope path PyTorch writes for module `fqn`: "layer1.0.conv1" -> "/layer1/layer1.0/conv1",
// "" -> "". Inverse of ScopeFqnFromNodeName for node names "<path>/<OpType>".
std::string ScopePathFromFqn(absl::string_view fqn);

// Non-empty, dot-separated, no empty atom.
bool IsValidFqn(absl::string_view fqn);

// A module name made of `text`: characters other than [A-Za-z0-9_] become '_'.
std::string SanitizeModuleName(absl::string_view text);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_GRAPH_ONNX_SCOPE_NAMES_H_
