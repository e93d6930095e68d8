#include "tools/demo.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "absl/strings/str_format.h"
#include "graph/builder.h"
#include "graph/interpreter.h"
#include "graph/printer.h"
#include "ops/conv2d.h"
#include "ops/linear.h"

namespace structprune {
namespace {

// A small image classifier: conv-relu-pool, conv-relu, adaptive pool, flatten, MLP head.
absl::StatusOr<GraphModule> BuildDemoModel() {
  GraphBuilder b(/*seed=*/42);
  b.AddModule("features.0", Conv2dAttrs{.in_channels = 3, .out_channels = 32,
                                        .kernel_size = {3, 3}, .padding = {1, 1}});
  b.AddModule("features.1", OpKind::kRelu);
  b.AddModule("features.2", OpKind::kMaxPool2d, {{"kernel_size", int64_t{2}}});
  b.AddModule("features.3", Conv2dAttrs{.in_channels = 32, .out_channels = 64,
                                        .kernel_size = {3, 3}, .padding = {1, 1}});
  b.AddModule("features.4", OpKind::kRelu);
  b.AddModule("pool", OpKind::kAdaptiveAvgPool2d, {{"output_size", std::vector<int64_t>{2, 2}}});
  b.AddModule("classifier.0", LinearAttrs{.in_features = 256, .out_features = 128});
  b.AddModule("classifier.1", OpKind::kRelu);
  b.AddModule("classifier.2", LinearAttrs{.in_features = 128, .out_features = 10});
  Node* x = b.Input("x");
  for (const char* fqn : {"features.0", "features.1", "features.2", "features.3", "features.4", "pool"}) {
    x = b.Call(fqn, x);
  }
  x = b.Flatten(x, 1);
  for (const char* fqn : {"classifier.0", "classifier.1", "classifier.2"}) x = b.Call(fqn, x);
  b.Output(x);
  return b.Build();
}

}  // namespace

int RunDemo() {
  absl::StatusOr<GraphModule> model = BuildDemoModel();
  if (!model.ok()) {
    std::fprintf(stderr, "demo: %s\n", model.status().ToString().c_str());
    return 2;
  }
  const Shape input_shape = {8, 3, 32, 32};
  auto interp = Interpreter::Create(*model, {input_shape});
  if (!interp.ok()) {
    std::fprintf(stderr, "demo: %s\n", interp.status().ToString().c_str());
    return 2;
  }
  std::printf("structprune demo: built-in CNN, input %s\n\n", ShapeToString(input_shape).c_str());
  std::printf("%-16s %-28s %-18s %10s\n", "node", "op", "output", "params");
  for (const Node* n : model->graph().nodes()) {
    if (n->kind() != NodeKind::kCallModule && n->kind() != NodeKind::kCallFunction) continue;
    int64_t params = 0;
    if (n->kind() == NodeKind::kCallModule) {
      for (const auto& [name, t] : model->root().FindModule(n->target())->parameters()) {
        params += t.numel();
      }
    }
    const ValueInfo* info = (*interp)->InfoOf(n->name());
    std::printf("%-16s %-28s %-18s %10lld\n", n->name().c_str(),
                std::string(OpName(n->op())).c_str(), info ? info->ToString().c_str() : "?",
                static_cast<long long>(params));
  }
  Rng rng(7);
  Tensor input = rng.NormalTensor(input_shape);
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto out = (*interp)->Run({input});
    auto t1 = std::chrono::steady_clock::now();
    if (!out.ok()) {
      std::fprintf(stderr, "demo: %s\n", out.status().ToString().c_str());
      return 2;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("\nparameters: %lld\nforward latency (median of %zu): %.3f ms\n",
              static_cast<long long>(model->NumParameters()), ms.size(), ms[ms.size() / 2]);
  return 0;
}

}  // namespace structprune
