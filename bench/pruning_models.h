// The networks and pruners the pruning-pass measurements use (bench/pruning_benchmark.cc times
// them, bench/pruning_pass.cc runs one pass for an instruction count): Linear(16, 16) chains
// and residual networks of any depth, and the least pass that prunes a chain, for scale.
#ifndef STRUCTPRUNE_BENCH_PRUNING_MODELS_H_
#define STRUCTPRUNE_BENCH_PRUNING_MODELS_H_

#include <malloc.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/index_select.h"
#include "core/status_macros.h"
#include "graph/builder.h"
#include "ops/linear.h"
#include "pruning/plan.h"
#include "pruning/pruners/saliency_pruner.h"
#include "pruning/structured_sparsifier.h"

namespace structprune::bench {

constexpr int64_t kPruningWidth = 16;

// Prunes the first row of every configured weight.
class FirstRowPruner : public BaseStructuredSparsifier {
 protected:
  absl::Status UpdateMask(const Module&, const ConfigGroup&, Tensor& mask) override {
    mask.data<bool>()[0] = false;
    return absl::OkStatus();
  }
};

// Linear(16, 16) -> ReLU, `layers` times, then a classifier kept out of the config.
inline GraphModule LinearChain(int64_t layers) {
  GraphBuilder b(1);
  Node* x = b.Input("x");
  for (int64_t i = 0; i < layers; ++i) {
    const std::string fqn = absl::StrCat("layers.", i);
    b.AddModule(fqn, LinearAttrs{.in_features = kPruningWidth, .out_features = kPruningWidth});
    x = b.Call(OpKind::kRelu, b.Call(fqn, x));
  }
  b.AddModule("head", LinearAttrs{.in_features = kPruningWidth, .out_features = 4});
  b.Output(b.Call("head", x));
  return *b.Build();
}

// `layers` Linear(16, 16) layers counting stem and head: stem -> ReLU, then (layers - 2) / 2
// residual blocks x = relu(x + fc_b(relu(fc_a(x)))), then the head. The residual channels
// (stem and every fc_b) form one dependency group; each fc_a is a group of its own.
inline GraphModule LinearResidualNet(int64_t layers) {
  GraphBuilder b(1);
  b.AddModule("stem", LinearAttrs{.in_features = kPruningWidth, .out_features = kPruningWidth});
  Node* x = b.Call(OpKind::kRelu, b.Call("stem", b.Input("x")));
  for (int64_t i = 0; i < (layers - 2) / 2; ++i) {
    const std::string block = absl::StrCat("blocks.", i);
    b.AddModule(block + ".fc_a", LinearAttrs{.in_features = kPruningWidth, .out_features = kPruningWidth});
    b.AddModule(block + ".fc_b", LinearAttrs{.in_features = kPruningWidth, .out_features = kPruningWidth});
    Node* y = b.Call(block + ".fc_b", b.Call(OpKind::kRelu, b.Call(block + ".fc_a", x)));
    x = b.Call(OpKind::kRelu, b.Add(x, y));
  }
  b.AddModule("head", LinearAttrs{.in_features = kPruningWidth, .out_features = 4});
  b.Output(b.Call("head", x));
  return *b.Build();
}

// The chain's pruner: the seed's pattern table, no dependency groups.
inline std::unique_ptr<BaseStructuredSparsifier> MakeChainPruner() { return std::make_unique<FirstRowPruner>(); }

// The residual net's pruner: dependency groups across the adds, L1 saliency scored over each
// group, 25 % pruned.
inline std::unique_ptr<BaseStructuredSparsifier> MakeResidualPruner() {
  auto pruner = std::make_unique<SaliencyPruner>(Options{{kSparsityLevel, 0.25}});
  pruner->SetInputShapes({{1, kPruningWidth}});
  return pruner;
}

// The least work any pass pruning the chain does, in the same three sweeps: Prepare finds each
// Linear but the head through the graph and gives it an all-true row mask, Step drops row 0, and
// Prune keeps the other rows of its weight and bias and the matching columns of the next
// layer's weight. No config, patterns, parametrizations, plan, report or all-or-nothing. What
// its time per layer does from 1,000 to 10,000 layers (its data falls out of the caches too)
// is the machine's share of the real pass's growth.
inline absl::Status RunMinimalChainPass(GraphModule& model) {
  std::vector<Module*> layers;
  std::vector<Tensor> masks;
  for (const Node* node : model.graph().nodes()) {
    if (node->kind() != NodeKind::kCallModule) continue;
    layers.push_back(model.root().FindModule(node->target()));
    if (node->target() == "head") break;
    Tensor mask = Tensor::Zeros({layers.back()->parameter("weight")->size(0)}, DType::kBool);
    std::fill_n(mask.data<bool>(), mask.numel(), true);
    masks.push_back(std::move(mask));
  }
  for (Tensor& mask : masks) mask.data<bool>()[0] = false;
  for (size_t i = 0; i < masks.size(); ++i) {
    const std::vector<int64_t> keep = MaskToIndices(masks[i]);
    Module& layer = *layers[i];
    Module& next = *layers[i + 1];
    SP_ASSIGN_OR_RETURN(Tensor weight, SelectRows(*layer.parameter("weight"), keep));
    SP_ASSIGN_OR_RETURN(Tensor bias, SelectRows(*layer.parameter("bias"), keep));
    SP_ASSIGN_OR_RETURN(Tensor next_weight, SelectCols(*next.parameter("weight"), keep));
    layer.SetParameter("weight", std::move(weight));
    layer.SetParameter("bias", std::move(bias));
    next.SetParameter("weight", std::move(next_weight));
    SyncShapeAttrs(layer);  // its rows and (at the step before) its columns are final
  }
  SyncShapeAttrs(*layers.back());
  return absl::OkStatus();
}

// Keeps freed heap in the process for the next pass to reuse, so every pass after the first is
// timed on a warm heap: glibc would otherwise hand the heap's top back to the kernel whenever a
// pass and its model are freed (and mmap large blocks afresh), and the next pass would pay the
// page faults again, as often as glibc's free-order heuristics decide.
inline void KeepHeapWarm() {
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  mallopt(M_MMAP_THRESHOLD, std::numeric_limits<int>::max());
}

// Every weight of the model but the head's.
inline SparsityConfig AllButHead(const GraphModule& model) {
  SparsityConfig config;
  for (const auto& [fqn, m] : model.root().NamedModules()) {
    if (m->kind() == OpKind::kLinear && fqn != "head") config.push_back({{kTensorFqn, fqn + ".weight"}});
  }
  return config;
}

}  // namespace structprune::bench

#endif  // STRUCTPRUNE_BENCH_PRUNING_MODELS_H_
