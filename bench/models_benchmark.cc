// Forward latency of whole networks, dense and pruned at 25/50/75 % channel sparsity, at 1 and 2
// threads: the seed README's MLP, ResNet-18, MobileNetV2 and a 2-layer LSTM -> Linear. Each
// model is pruned once (outside any timing) and planned once; the loop times RunInto, which
// allocates nothing in steady state. scripts/compare.sh puts these models next to PyTorch and
// ONNX Runtime.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/rng.h"
#include "core/status_macros.h"
#include "graph/builder.h"
#include "graph/interpreter.h"
#include "graph/model_stats.h"
#include "ops/linear.h"
#include "ops/lstm.h"
#include "pruning/pruners/lstm_saliency_pruner.h"
#include "pruning/pruners/saliency_pruner.h"
#include "tests/testing/zoo_models.h"

namespace structprune {
namespace {

enum class Net { kMlp, kResNet18, kMobileNetV2, kLstm };

// The seed README's MLP: Linear 700 -> 500 -> 800 -> 600 -> 4 with ReLUs between (seq.0,
// seq.2, seq.4, seq.6 as nn.Sequential names them).
absl::StatusOr<GraphModule> Mlp() {
  const int64_t widths[] = {700, 500, 800, 600, 4};
  GraphBuilder b(0);
  Node* x = b.Input("x");
  for (int i = 0; i < 4; ++i) {
    const std::string fqn = absl::StrCat("seq.", 2 * i);
    b.AddModule(fqn, LinearAttrs{.in_features = widths[i], .out_features = widths[i + 1]});
    x = b.Call(fqn, x);
    if (i < 3) x = b.Call(OpKind::kRelu, x);
  }
  b.Output(x);
  return b.Build();
}

// nn.LSTM(64, 256, num_layers=2) -> output[0] -> fc Linear(256, 10); input [T, B, 64].
absl::StatusOr<GraphModule> LstmLinear() {
  GraphBuilder b(0);
  b.AddModule("lstm", LstmAttrs{.input_size = 64, .hidden_size = 256, .num_layers = 2});
  b.AddModule("fc", LinearAttrs{.in_features = 256, .out_features = 10});
  b.Output(b.Call("fc", b.GetItem(b.Call("lstm", b.Input("x")), 0)));
  return b.Build();
}

struct NetSpec {
  absl::StatusOr<GraphModule> (*build)();
  Shape input;
  std::string classifier;  // the last Linear: its outputs are the model's, never configured
};

NetSpec SpecOf(Net net) {
  switch (net) {
    case Net::kMlp:
      return {&Mlp, {128, 700}, "seq.6"};
    case Net::kResNet18:
      return {[] { return testing::ResNet18(); }, {1, 3, 224, 224}, "fc"};
    case Net::kMobileNetV2:
      return {[] { return testing::MobileNetV2(); }, {1, 3, 224, 224}, "classifier.1"};
    case Net::kLstm:
      return {&LstmLinear, {32, 8, 64}, "fc"};
  }
  return {};
}

// Every channel producer except the classifier: Linear and Conv2d weights (depthwise convs
// follow their dependency group, they produce no channels of their own) and each LSTM layer's
// weight_ih_lk (one mask per layer, whole hidden units).
SparsityConfig ProducerConfig(const GraphModule& model, const std::string& classifier) {
  SparsityConfig config;
  for (const auto& [fqn, m] : model.root().NamedModules()) {
    if (fqn == classifier) continue;
    if (m->kind() == OpKind::kLinear ||
        (m->kind() == OpKind::kConv2d && GetIntAttr(m->attrs(), "groups", 1).value_or(1) == 1)) {
      config.push_back({{kTensorFqn, fqn + ".weight"}});
    } else if (m->kind() == OpKind::kLstm) {
      const int64_t layers = GetIntAttr(m->attrs(), "num_layers", 1).value_or(1);
      for (int64_t k = 0; k < layers; ++k) {
        config.push_back({{kTensorFqn, absl::StrCat(fqn, ".weight_ih_l", k)}});
      }
    }
  }
  return config;
}

// Prepare + Step + Prune at `sparsity_level`: L1 saliency over dependency groups (as the zoo
// tests and `structprune prune` do); the LSTM through the seed's pattern table with
// LSTMSaliencyPruner, one score per hidden unit.
absl::Status Prune(Net net, double sparsity_level, GraphModule& model) {
  const NetSpec spec = SpecOf(net);
  const Options defaults = {{kSparsityLevel, sparsity_level}};
  std::unique_ptr<BaseStructuredSparsifier> pruner;
  if (net == Net::kLstm) {
    pruner = std::make_unique<LSTMSaliencyPruner>(defaults);
  } else {
    pruner = std::make_unique<SaliencyPruner>(defaults);
    pruner->SetInputShapes({spec.input});
  }
  SP_RETURN_IF_ERROR(pruner->Prepare(model, ProducerConfig(model, spec.classifier)));
  SP_RETURN_IF_ERROR(pruner->Step());
  return pruner->Prune().status();
}

struct PreparedNet {
  GraphModule model;
  ModelStats stats;
};

// Built and pruned once per (network, sparsity); the thread counts share it.
absl::StatusOr<const PreparedNet*> Prepared(Net net, int sparsity_percent) {
  static auto* cache = new std::map<std::pair<Net, int>, std::unique_ptr<PreparedNet>>();
  auto& slot = (*cache)[{net, sparsity_percent}];
  if (slot == nullptr) {
    const NetSpec spec = SpecOf(net);
    SP_ASSIGN_OR_RETURN(GraphModule model, spec.build());
    if (sparsity_percent > 0) SP_RETURN_IF_ERROR(Prune(net, sparsity_percent / 100.0, model));
    SP_ASSIGN_OR_RETURN(ModelStats stats, ComputeModelStats(model, {spec.input}));
    slot = std::make_unique<PreparedNet>(PreparedNet{std::move(model), std::move(stats)});
  }
  return slot.get();
}

// Args: sparsity percent, threads.
void BM_Forward(benchmark::State& state, Net net) {
  const int sparsity_percent = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  const NetSpec spec = SpecOf(net);
  absl::StatusOr<const PreparedNet*> prepared = Prepared(net, sparsity_percent);
  if (!prepared.ok()) {
    state.SkipWithError(prepared.status().ToString().c_str());
    return;
  }
  absl::StatusOr<std::unique_ptr<Interpreter>> interpreter = Interpreter::Create(
      (*prepared)->model, {spec.input}, InterpreterOptions{.num_threads = threads});
  if (!interpreter.ok()) {
    state.SkipWithError(interpreter.status().ToString().c_str());
    return;
  }
  Rng rng(7);
  const std::vector<Tensor> inputs = {rng.NormalTensor(spec.input)};
  std::vector<Tensor> outputs;
  // One untimed pass sizes `outputs` and warms the primitive caches.
  if (absl::Status s = (*interpreter)->RunInto(inputs, outputs); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  for (auto _ : state) {
    if (absl::Status s = (*interpreter)->RunInto(inputs, outputs); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  const auto flops = static_cast<double>((*prepared)->stats.flops);
  state.counters["FLOPs/pass"] = flops;
  state.counters["params"] = static_cast<double>((*prepared)->stats.params);
  state.counters["FLOPS"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

// Sparsity 0 (dense), 25, 50, 75 % at 1 and 2 threads.
void SparsityAndThreads(benchmark::internal::Benchmark* b) {
  b->ArgsProduct({{0, 25, 50, 75}, {1, 2}})->ArgNames({"sparsity", "threads"});
  b->UseRealTime()->Unit(benchmark::kMillisecond);  // the work runs on oneDNN's threads
}
BENCHMARK_CAPTURE(BM_Forward, MLP, Net::kMlp)->Apply(SparsityAndThreads);
BENCHMARK_CAPTURE(BM_Forward, ResNet18, Net::kResNet18)->Apply(SparsityAndThreads);
BENCHMARK_CAPTURE(BM_Forward, MobileNetV2, Net::kMobileNetV2)->Apply(SparsityAndThreads);
BENCHMARK_CAPTURE(BM_Forward, LSTM, Net::kLstm)->Apply(SparsityAndThreads);

}  // namespace
}  // namespace structprune
