#include "tools/demo.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "absl/strings/str_format.h"
#include "graph/builder.h"
#include "graph/interpreter.h"
#include "graph/model_stats.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "pruning/pruners/saliency_pruner.h"
#include "pruning/verify.h"

namespace structprune {
namespace {

constexpr double kSparsity = 0.5;

// A small image classifier: conv-relu-pool, conv-relu-pool, conv-relu, adaptive pool,
// flatten, MLP head.
absl::StatusOr<GraphModule> BuildDemoModel() {
  GraphBuilder b(/*seed=*/42);
  b.AddModule("features.0", Conv2dAttrs{.in_channels = 3, .out_channels = 64, .kernel_size = {3, 3}});
  b.AddModule("features.1", OpKind::kRelu);
  b.AddModule("features.2", OpKind::kMaxPool2d, {{"kernel_size", int64_t{2}}});
  b.AddModule("features.3", Conv2dAttrs{.in_channels = 64, .out_channels = 128, .kernel_size = {3, 3}});
  b.AddModule("features.4", OpKind::kRelu);
  b.AddModule("features.5", OpKind::kMaxPool2d, {{"kernel_size", int64_t{2}}});
  b.AddModule("features.6", Conv2dAttrs{.in_channels = 128, .out_channels = 256, .kernel_size = {3, 3}});
  b.AddModule("features.7", OpKind::kRelu);
  b.AddModule("pool", OpKind::kAdaptiveAvgPool2d, {{"output_size", std::vector<int64_t>{2, 2}}});
  b.AddModule("classifier.0", LinearAttrs{.in_features = 1024, .out_features = 512});
  b.AddModule("classifier.1", OpKind::kRelu);
  b.AddModule("classifier.2", LinearAttrs{.in_features = 512, .out_features = 10});
  Node* x = b.Input("x");
  for (int i = 0; i < 8; ++i) x = b.Call(absl::StrFormat("features.%d", i), x);
  x = b.Flatten(b.Call("pool", x), 1);
  for (const char* fqn : {"classifier.0", "classifier.1", "classifier.2"}) x = b.Call(fqn, x);
  b.Output(x);
  return b.Build();
}

// Median forward latency in milliseconds.
absl::StatusOr<double> MedianLatencyMs(const GraphModule& model, const Shape& input_shape) {
  auto interp = Interpreter::Create(model, {input_shape});
  if (!interp.ok()) return interp.status();
  Rng rng(7);
  Tensor input = rng.NormalTensor(input_shape);
  std::vector<Tensor> outputs;
  std::vector<double> ms;
  for (int i = 0; i < 23; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    absl::Status s = (*interp)->RunInto({input}, outputs);
    auto t1 = std::chrono::steady_clock::now();
    if (!s.ok()) return s;
    if (i >= 3) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "structprune demo: %s\n", s.ToString().c_str());
  return 2;
}

}  // namespace

int RunDemo() {
  absl::StatusOr<GraphModule> model = BuildDemoModel();
  if (!model.ok()) return Fail(model.status());
  const Shape input_shape = {8, 3, 32, 32};
  auto before = ComputeModelStats(*model, {input_shape});
  if (!before.ok()) return Fail(before.status());
  auto dense_ms = MedianLatencyMs(*model, input_shape);
  if (!dense_ms.ok()) return Fail(dense_ms.status());

  // Every layer but the classifier's output, 50% of channels by L1 norm.
  SaliencyPruner pruner({{kSparsityLevel, kSparsity}});
  SparsityConfig config;
  for (const char* fqn : {"features.0", "features.3", "features.6", "classifier.0"}) {
    config.push_back({{kTensorFqn, std::string(fqn) + ".weight"}});
  }
  if (absl::Status s = pruner.Prepare(*model, config); !s.ok()) return Fail(s);
  if (absl::Status s = pruner.Step(); !s.ok()) return Fail(s);
  GraphModule masked = model->Clone();
  auto report = pruner.Prune();
  if (!report.ok()) return Fail(report.status());
  auto verify = VerifyEquivalence(masked, *model, {input_shape}, *report);
  if (!verify.ok()) return Fail(verify.status());
  auto after = ComputeModelStats(*model, {input_shape});
  if (!after.ok()) return Fail(after.status());
  auto pruned_ms = MedianLatencyMs(*model, input_shape);
  if (!pruned_ms.ok()) return Fail(pruned_ms.status());

  std::printf("structprune demo: built-in CNN, input %s, %.0f%% of channels pruned by L1 saliency\n\n",
              ShapeToString(input_shape).c_str(), kSparsity * 100);
  std::printf("%-14s %-18s %-18s %-18s %12s %12s\n", "layer", "op", "output before", "output after",
              "params", "MFLOPs");
  for (size_t i = 0; i < before->layers.size(); ++i) {
    const LayerStats& a = before->layers[i];
    const LayerStats& b = after->layers[i];
    std::printf("%-14s %-18s %-18s %-18s %5lld->%-6lld %5.1f->%-6.1f\n", a.node.c_str(), a.op.c_str(),
                a.output.c_str(), b.output.c_str(), static_cast<long long>(a.params),
                static_cast<long long>(b.params), a.flops / 1e6, b.flops / 1e6);
  }
  std::printf("\n%-22s %14s %14s %10s\n", "", "dense", "pruned", "ratio");
  std::printf("%-22s %14lld %14lld %9.2fx\n", "parameters", static_cast<long long>(before->params),
              static_cast<long long>(after->params), static_cast<double>(before->params) / after->params);
  std::printf("%-22s %14.1f %14.1f %9.2fx\n", "MFLOPs", before->flops / 1e6, after->flops / 1e6,
              static_cast<double>(before->flops) / after->flops);
  std::printf("%-22s %14.3f %14.3f %9.2fx\n", "latency (median, ms)", *dense_ms, *pruned_ms, *dense_ms / *pruned_ms);
  std::printf("\nequivalence (pruned vs masked, %s): %s\n", "3 random inputs", verify->ToString().c_str());
  const auto kept = report->KeptForExactness();
  std::printf("channels kept for exactness: %s\n", kept.empty() ? "none" : "");
  for (const std::string& line : kept) std::printf("  %s\n", line.c_str());
  return verify->equivalent ? 0 : 1;
}

}  // namespace structprune
