#include "graph/graph_module.h"

namespace structprune {

std::vector<std::string> GraphModule::InputNames() const {
  std::vector<std::string> names;
  for (const Node* n : graph_.placeholders()) names.push_back(n->name());
  return names;
}

}  // namespace structprune
