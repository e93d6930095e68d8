// Text form of a graph (the one tests compare) and Graphviz DOT.
#ifndef STRUCTPRUNE_GRAPH_PRINTER_H_
#define STRUCTPRUNE_GRAPH_PRINTER_H_

#include <string>

#include "graph/graph_module.h"

namespace structprune {

// One line per node, e.g.
//   graph(x):
//     %seq_0 = call_module[seq.0: Linear(in_features=7, out_features=5)](%x)
//     %relu = call_function[relu](%seq_0)
//     return (%seq_0)
std::string GraphToString(const GraphModule& model);

// digraph with one box per node and an edge per argument.
std::string GraphToDot(const GraphModule& model);

// "Linear(in_features=7, out_features=5, bias=true)".
std::string ModuleToString(const Module& module);

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_PRINTER_H_
