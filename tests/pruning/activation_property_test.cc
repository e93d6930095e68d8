// Property: for every one of the 21 activations, in module and functional form, between two
// Linears and between two Conv2ds (the consumer unpadded, so folding is exact), with
// prune_bias true and false, pruning random rows of the producer gives a model that computes
// what the masked model computed. Biases are random and nonzero, so with prune_bias false
// every pruned channel carries act(bias) into the next layer's bias, and with prune_bias true
// act(0), which is nonzero for Sigmoid, Hardsigmoid, LogSigmoid and Softplus.
//
//   x -> producer (Linear 6->8 | Conv2d 3->8, 3x3, pad 1) -> act -> consumer (Linear 8->5 |
//        Conv2d 8->5, 3x3, no pad) -> out
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/rng.h"
#include "core/status_macros.h"
#include "graph/builder.h"
#include "graph/printer.h"
#include "ops/activations.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "pruning/structured_sparsifier.h"
#include "pruning/verify.h"
#include "tests/testing/prune_helpers.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::ConfigFor;
using ::structprune::testing::IsCleanPrunedModel;
using ::structprune::testing::KeepMasksPruner;
using ::structprune::testing::ParamShape;
using ::structprune::testing::PrepareMaskPruneVerify;
using ::structprune::testing::PruneRun;
using ::testing::IsEmpty;

constexpr int64_t kChannels = 8;  // producer outputs
constexpr int64_t kPruned = 3;    // random rows masked per case

std::vector<OpKind> Activations() {
  std::vector<OpKind> out;
  for (OpKind k : AllOps()) {
    if (IsActivation(k)) out.push_back(k);
  }
  return out;
}

enum class Layer { kLinear, kConv };

struct Case {
  OpKind act;
  bool functional;
  Layer layer;
  bool prune_bias;
};

std::string CaseName(const Case& c) {
  return absl::StrCat(OpModuleName(c.act), c.functional ? "_Functional" : "_Module",
                      c.layer == Layer::kLinear ? "_Linear" : "_Conv2d",
                      c.prune_bias ? "_PruneBias" : "_KeepBias");
}
// ctest shows the case by name rather than as raw bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << CaseName(c); }

// A value of magnitude in [0.3, 1.5) with a random sign: never zero, and on both sides of the
// kinks of Hardshrink (0.5), Hardtanh (1) and ReLU (0).
float NonzeroValue(Rng& rng) {
  const float v = rng.Uniform(0.3f, 1.5f);
  return rng.Uniform() < 0.5f ? -v : v;
}

// `prelu_parameters`: PReLU's num_parameters (1, the seed's default, or kChannels).
absl::StatusOr<GraphModule> BuildCase(const Case& c, uint64_t seed, int64_t prelu_parameters = 1) {
  GraphBuilder b(seed);
  if (c.layer == Layer::kLinear) {
    b.AddModule("producer", LinearAttrs{.in_features = 6, .out_features = kChannels});
    b.AddModule("consumer", LinearAttrs{.in_features = kChannels, .out_features = 5});
  } else {
    b.AddModule(
        "producer",
        Conv2dAttrs{
            .in_channels = 3, .out_channels = kChannels, .kernel_size = {3, 3}, .padding = {1, 1}});
    b.AddModule(
        "consumer",
        Conv2dAttrs{
            .in_channels = kChannels, .out_channels = 5, .kernel_size = {3, 3}, .padding = {0, 0}});
  }
  // The activation module: called in module form; in functional form only PReLU's is
  // registered, to hold the weight F.prelu reads through get_attr.
  AttrMap act_attrs;
  if (c.act == OpKind::kPrelu) act_attrs["num_parameters"] = prelu_parameters;
  if (!c.functional || c.act == OpKind::kPrelu) b.AddModule("act", c.act, act_attrs);

  Node* x = b.Input("x");
  Node* h = b.Call("producer", x);
  if (!c.functional) {
    h = b.Call("act", h);
  } else if (c.act == OpKind::kPrelu) {
    h = b.Call(OpKind::kPrelu, {h, b.GetAttr("act.weight")});
  } else {
    h = b.Call(c.act, h);
  }
  b.Output(b.Call("consumer", h));
  SP_ASSIGN_OR_RETURN(GraphModule model, b.Build());

  // Random weights, nonzero biases, and per-channel PReLU slopes (some negative).
  Rng rng(seed * 7919 + 1);
  for (const char* fqn : {"producer", "consumer"}) {
    Module* m = model.root().FindModule(fqn);
    m->SetParameter("weight", rng.NormalTensor(m->parameter("weight")->shape(), 0.0f, 0.5f));
    Tensor bias = Tensor::Zeros(m->parameter("bias")->shape());
    for (float& v : bias.values<float>()) v = NonzeroValue(rng);
    m->SetParameter("bias", bias);
  }
  if (Module* act = model.root().FindModule("act"); act != nullptr && c.act == OpKind::kPrelu) {
    act->SetParameter("weight", rng.UniformTensor({prelu_parameters}, -0.5f, 1.0f));
  }
  return model;
}

std::vector<int64_t> RandomRows(uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> order(kChannels);
  for (int64_t i = 0; i < kChannels; ++i) order[i] = i;
  for (int64_t i = 0; i < kPruned; ++i)
    std::swap(order[i], order[i + rng.UniformInt(kChannels - i)]);
  std::vector<int64_t> rows(order.begin(), order.begin() + kPruned);
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (OpKind act : Activations()) {
    for (bool functional : {false, true}) {
      for (Layer layer : {Layer::kLinear, Layer::kConv}) {
        for (bool prune_bias : {true, false}) cases.push_back({act, functional, layer, prune_bias});
      }
    }
  }
  return cases;
}

TEST(ActivationProperty, CoversTheSeedsTwentyOneActivations) {
  std::vector<std::string> names;
  for (OpKind k : Activations()) names.push_back(std::string(OpModuleName(k)));
  EXPECT_THAT(names,
              ::testing::UnorderedElementsAre(
                  "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh", "SiLU",
                  "Mish", "Hardswish", "ELU", "CELU", "SELU", "Hardshrink", "LeakyReLU",
                  "LogSigmoid", "Softplus", "PReLU", "Softsign", "Tanhshrink", "GELU"));
  EXPECT_EQ(AllCases().size(), 21u * 2 * 2 * 2);  // 168 cases below
}

class ActivationProperty : public ::testing::TestWithParam<Case> {};

TEST_P(ActivationProperty, PrunedEqualsMasked) {
  const Case& c = GetParam();
  const uint64_t seed = static_cast<uint64_t>(c.act) * 8 + c.functional * 4 +
                        (c.layer == Layer::kConv) * 2 + c.prune_bias + 1;
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildCase(c, seed));
  SCOPED_TRACE(GraphToString(model));
  const std::vector<int64_t> rows = RandomRows(seed + 17);
  const std::vector<Shape> inputs =
      c.layer == Layer::kLinear ? std::vector<Shape>{{4, 6}} : std::vector<Shape>{{2, 3, 7, 7}};

  KeepMasksPruner pruner({{kPruneBias, c.prune_bias}});
  SP_ASSERT_OK_AND_ASSIGN(PruneRun run,
                          PrepareMaskPruneVerify(pruner, model,
                                                 {.config = ConfigFor({"producer.weight"}),
                                                  .pruned = {{"producer.weight", rows}},
                                                  .input_shapes = inputs}));
  EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString() << "\n" << run.report.ToString();
  EXPECT_TRUE(IsCleanPrunedModel(model));
  ASSERT_EQ(run.report.layers.size(), 1u);
  EXPECT_EQ(run.report.layers[0].channels_pruned, rows);
  EXPECT_THAT(run.report.layers[0].channels_kept_for_exactness, IsEmpty());
  const int64_t kept = kChannels - kPruned;
  if (c.layer == Layer::kLinear) {
    EXPECT_EQ(ParamShape(model, "producer.weight"), ShapeToString({kept, 6}));
    EXPECT_EQ(ParamShape(model, "consumer.weight"), ShapeToString({5, kept}));
  } else {
    EXPECT_EQ(ParamShape(model, "producer.weight"), ShapeToString({kept, 3, 3, 3}));
    EXPECT_EQ(ParamShape(model, "consumer.weight"), ShapeToString({5, kept, 3, 3}));
  }
  EXPECT_EQ(ParamShape(model, "producer.bias"), ShapeToString({kept}));
  EXPECT_EQ(ParamShape(model, "consumer.bias"), ShapeToString({5}));
  if (c.act == OpKind::kPrelu) EXPECT_EQ(ParamShape(model, "act.weight"), "[1]");
}

INSTANTIATE_TEST_SUITE_P(AllActivations, ActivationProperty, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return CaseName(info.param);
                         });

// PReLU(num_parameters=8) has one slope per producer channel: pruning the channels must
// slice the slopes with them (module form: the module's weight; functional form: the
// get_attr'd weight), or the pruned model cannot run.
TEST(ActivationProperty, PerChannelPreluSlopesAreSlicedWithTheirChannels) {
  for (bool functional : {false, true}) {
    for (Layer layer : {Layer::kLinear, Layer::kConv}) {
      for (bool prune_bias : {true, false}) {
        const Case c{OpKind::kPrelu, functional, layer, prune_bias};
        SCOPED_TRACE(CaseName(c));
        SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildCase(c, 5, kChannels));
        const Tensor slopes = model.root().FindModule("act")->parameter("weight")->Clone();
        const std::vector<int64_t> rows = {1, 4, 6};
        const std::vector<Shape> inputs =
            layer == Layer::kLinear ? std::vector<Shape>{{4, 6}} : std::vector<Shape>{{2, 3, 7, 7}};
        KeepMasksPruner pruner({{kPruneBias, prune_bias}});
        auto run = PrepareMaskPruneVerify(pruner, model,
                                          {.config = ConfigFor({"producer.weight"}),
                                           .pruned = {{"producer.weight", rows}},
                                           .input_shapes = inputs});
        ASSERT_THAT(run, testing::IsOk());
        EXPECT_TRUE(run->verify.equivalent) << run->verify.ToString();
        ASSERT_EQ(ParamShape(model, "act.weight"), "[5]");
        const Tensor& after = *model.root().FindModule("act")->parameter("weight");
        const std::vector<int64_t> kept = {0, 2, 3, 5, 7};
        for (size_t i = 0; i < kept.size(); ++i) {
          EXPECT_EQ(after.data<float>()[i], slopes.data<float>()[kept[i]]) << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace structprune
