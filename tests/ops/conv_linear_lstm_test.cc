// Linear, Conv2d and LSTM beyond the PyTorch goldens: fast kernels against the reference on
// realistic shapes, and the errors bad shapes produce.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "graph/builder.h"
#include "graph/interpreter.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/lstm.h"
#include "ops/onednn/engine.h"
#include "ops/onednn/lstm_split.h"
#include "tests/testing/golden.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::AllClose;
using ::structprune::testing::StatusIs;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

absl::StatusOr<GraphModule> SingleModule(OpKind kind, const AttrMap& attrs, int num_inputs = 1) {
  GraphBuilder b(/*seed=*/3);
  b.AddModule("layer", kind, attrs);
  std::vector<Node*> inputs;
  for (int i = 0; i < num_inputs; ++i) inputs.push_back(b.Input(absl::StrCat("x", i)));
  b.Output(b.Call("layer", inputs));
  return b.Build();
}

struct ConvCase {
  const char* name;
  Conv2dAttrs attrs;
  Shape input;
};
// ctest shows the case by name rather than as raw bytes.
void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

class Conv2dFastVsReference : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2dFastVsReference, Agree) {
  const ConvCase& c = GetParam();
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SingleModule(OpKind::kConv2d, c.attrs.ToAttrs()));
  Rng rng(11);
  Tensor x = rng.NormalTensor(c.input);
  SP_ASSERT_OK_AND_ASSIGN(auto fast, RunModel(model, {x}));
  SP_ASSERT_OK_AND_ASSIGN(auto ref, RunModel(model, {x}, {.reference_kernels = true}));
  // Both sum IC*KH*KW products in float, in different orders: 1e-4 relative.
  EXPECT_TRUE(AllClose(fast[0], ref[0], 1e-4, 1e-4));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2dFastVsReference,
    ::testing::Values(
        ConvCase{"resnet_stem", {.in_channels = 3, .out_channels = 16, .kernel_size = {7, 7},
                                 .stride = {2, 2}, .padding = {3, 3}}, {1, 3, 32, 32}},
        ConvCase{"basic3x3", {.in_channels = 16, .out_channels = 32, .kernel_size = {3, 3},
                              .padding = {1, 1}}, {2, 16, 14, 14}},
        ConvCase{"depthwise", {.in_channels = 32, .out_channels = 32, .kernel_size = {3, 3},
                               .stride = {2, 2}, .padding = {1, 1}, .groups = 32}, {1, 32, 15, 15}},
        ConvCase{"pointwise_nobias", {.in_channels = 24, .out_channels = 40,
                                      .kernel_size = {1, 1}, .bias = false}, {1, 24, 9, 9}},
        ConvCase{"dilated_uneven_stride", {.in_channels = 8, .out_channels = 8,
                                           .kernel_size = {3, 2}, .stride = {2, 3},
                                           .padding = {2, 1}, .dilation = {2, 1}}, {1, 8, 13, 11}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Conv2d, ChannelMismatchNamesTheLayer) {
  SP_ASSERT_OK_AND_ASSIGN(
      GraphModule model,
      SingleModule(OpKind::kConv2d, Conv2dAttrs{.in_channels = 3, .out_channels = 4, .kernel_size = {3, 3}}.ToAttrs()));
  EXPECT_THAT(Interpreter::Create(model, {{1, 5, 8, 8}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Conv2d 'layer': input [1, 5, 8, 8] has 5 channels, weight expects 3")));
  EXPECT_THAT(Interpreter::Create(model, {{3, 8}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Conv2d 'layer': input must be 3-D [C, H, W] or 4-D [N, C, H, W], got [3, 8]")));
  EXPECT_THAT(Interpreter::Create(model, {{1, 3, 2, 2}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is smaller than the dilated kernel [3, 3]")));
}

TEST(Conv2d, GroupsMustDivideChannels) {
  GraphBuilder b;
  EXPECT_EQ(b.AddModule("c", Conv2dAttrs{.in_channels = 6, .out_channels = 4, .kernel_size = {1, 1},
                                         .groups = 4}),
            nullptr);
  EXPECT_THAT(b.Build(), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("Conv2d 'c': groups=4 must divide in_channels=6")));
}

TEST(Conv2d, WrongWeightShapeIsReported) {
  SP_ASSERT_OK_AND_ASSIGN(
      GraphModule model,
      SingleModule(OpKind::kConv2d, Conv2dAttrs{.in_channels = 3, .out_channels = 4, .kernel_size = {3, 3}}.ToAttrs()));
  model.root().FindModule("layer")->SetParameter("weight", Tensor::Zeros({4, 3, 1, 1}));
  EXPECT_THAT(Interpreter::Create(model, {{1, 3, 8, 8}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Conv2d 'layer': weight has shape [4, 3, 1, 1], expected [4, 3, 3, 3]")));
}

TEST(Linear, FeatureMismatchNamesTheLayer) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model,
                          SingleModule(OpKind::kLinear, LinearAttrs{.in_features = 4, .out_features = 2}.ToAttrs()));
  EXPECT_THAT(Interpreter::Create(model, {{3, 5}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Linear 'layer': input [3, 5] has 5 features, weight expects 4")));
}

TEST(Linear, MatchesHandComputedValues) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model,
                          SingleModule(OpKind::kLinear, LinearAttrs{.in_features = 2, .out_features = 2}.ToAttrs()));
  Module* m = model.root().FindModule("layer");
  m->SetParameter("weight", *Tensor::FromVector({2, 2}, {1, 2, 3, 4}));
  m->SetParameter("bias", *Tensor::FromVector({2}, {0.5f, -1}));
  SP_ASSERT_OK_AND_ASSIGN(auto out, RunModel(model, {*Tensor::FromVector({1, 2}, {1, -1})}));
  EXPECT_THAT(out[0].values<float>(), ::testing::ElementsAre(-0.5f, -2.0f));
}

TEST(Lstm, PeepholesMatchHandComputedValues) {
  // H = I = 1, no bias; x = [1, -2] over T = 2. Gates (PyTorch order i, f, g, o) read
  // W_ih = [0.5, -0.5, 1, 0.25], W_hh = [0.1, 0.2, -0.3, 0.4]; peepholes p_i, p_f, p_o =
  // [0.3, -0.2, 0.5]: i and f see c_{t-1}, o sees c_t. Expected h_t, c_t in double.
  SP_ASSERT_OK_AND_ASSIGN(
      GraphModule model,
      SingleModule(OpKind::kLstm,
                   LstmAttrs{.input_size = 1, .hidden_size = 1, .bias = false, .peepholes = true}
                       .ToAttrs()));
  Module* m = model.root().FindModule("layer");
  ASSERT_NE(m->parameter("peephole_l0"), nullptr);  // zeros initially: a plain LSTM
  EXPECT_THAT(m->parameter("peephole_l0")->values<float>(), ::testing::Each(0.0f));
  m->SetParameter("weight_ih_l0", *Tensor::FromVector({4, 1}, {0.5f, -0.5f, 1.0f, 0.25f}));
  m->SetParameter("weight_hh_l0", *Tensor::FromVector({4, 1}, {0.1f, 0.2f, -0.3f, 0.4f}));
  m->SetParameter("peephole_l0", *Tensor::FromVector({3}, {0.3f, -0.2f, 0.5f}));
  SP_ASSERT_OK_AND_ASSIGN(auto out, RunModel(model, {*Tensor::FromVector({2, 1, 1}, {1, -2})}));
  // out = (output [T, B, H], h_n, c_n); 1e-6: float32 recurrence.
  EXPECT_THAT(out[0].values<float>(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{0.27345256f, 0.01985461f}));
  EXPECT_NEAR(out[2].data<float>()[0], 0.04853224f, 1e-6);
  // Without peepholes the same weights give h = [0.24818687, 0.03433346].
  m->SetParameter("peephole_l0", Tensor::Zeros({3}));
  SP_ASSERT_OK_AND_ASSIGN(out, RunModel(model, {*Tensor::FromVector({2, 1, 1}, {1, -2})}));
  EXPECT_THAT(out[0].values<float>(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{0.24818687f, 0.03433346f}));
}

TEST(Lstm, StateShapeErrorsNameTheLayer) {
  SP_ASSERT_OK_AND_ASSIGN(
      GraphModule model,
      SingleModule(OpKind::kLstm, LstmAttrs{.input_size = 4, .hidden_size = 3, .num_layers = 2}.ToAttrs(), 3));
  EXPECT_THAT(Interpreter::Create(model, {{5, 2, 4}, {1, 2, 3}, {2, 2, 3}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("LSTM 'layer': h0 has shape [1, 2, 3], expected [2, 2, 3]")));
  EXPECT_THAT(Interpreter::Create(model, {{5, 2, 7}, {2, 2, 3}, {2, 2, 3}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("LSTM 'layer': input [5, 2, 7] has 7 features, input_size is 4")));
}

TEST(Lstm, BatchFirstEqualsTimeMajorTransposed) {
  LstmAttrs attrs{.input_size = 3, .hidden_size = 5, .num_layers = 2};
  SP_ASSERT_OK_AND_ASSIGN(GraphModule time_major, SingleModule(OpKind::kLstm, attrs.ToAttrs()));
  attrs.batch_first = true;
  SP_ASSERT_OK_AND_ASSIGN(GraphModule batch_first, SingleModule(OpKind::kLstm, attrs.ToAttrs()));
  Rng rng(5);
  const int64_t T = 6, B = 2, I = 3, H = 5;
  Tensor x = rng.NormalTensor({T, B, I});
  Tensor xb = Tensor::Zeros({B, T, I});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < I; ++i) xb.data<float>()[(b * T + t) * I + i] = x.data<float>()[(t * B + b) * I + i];
  SP_ASSERT_OK_AND_ASSIGN(auto a, RunModel(time_major, {x}));
  SP_ASSERT_OK_AND_ASSIGN(auto c, RunModel(batch_first, {xb}));
  ASSERT_EQ(a.size(), 3u);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        EXPECT_FLOAT_EQ(a[0].data<float>()[(t * B + b) * H + h], c[0].data<float>()[(b * T + t) * H + h]);
  // h_n stays [L, B, H] either way (oneDNN may order the sums differently per layout).
  EXPECT_TRUE(AllClose(a[1], c[1], 1e-6, 1e-7));
}

struct LstmThreadCase {
  int64_t layers, steps, batch;
  bool with_state, batched, batch_first = false;
  int64_t hidden = 9;
  int threads = 2;
};

internal::LstmGeometry GeometryOf(const LstmThreadCase& c, int64_t input_size) {
  return {.T = c.steps, .B = c.batched ? c.batch : 1, .I = input_size, .H = c.hidden, .L = c.layers,
          .batched = c.batched, .batch_first = c.batch_first, .has_state = c.with_state};
}

// The LSTM on c.threads threads against the reference and the one-thread path, with the same
// bits on a second run, and on a fresh interpreter nested in another parallel region (where the
// runtime gives it one thread).
void ExpectThreadsMatchReference(const LstmThreadCase& c, int64_t I) {
  const int64_t H = c.hidden;
  const std::string name =
      absl::StrCat("L=", c.layers, " T=", c.steps, " B=", c.batch, " H=", H, c.with_state ? " state" : "",
                   c.batched ? "" : " unbatched", c.batch_first ? " batch_first" : "", " threads=", c.threads);
  SP_ASSERT_OK_AND_ASSIGN(
      GraphModule model,
      SingleModule(OpKind::kLstm,
                   LstmAttrs{.input_size = I, .hidden_size = H, .num_layers = c.layers, .batch_first = c.batch_first}
                       .ToAttrs(),
                   c.with_state ? 3 : 1));
  Rng rng(17);
  const Shape x_shape = !c.batched ? Shape{c.steps, I} : c.batch_first ? Shape{c.batch, c.steps, I} : Shape{c.steps, c.batch, I};
  const Shape state_shape = c.batched ? Shape{c.layers, c.batch, H} : Shape{c.layers, H};
  std::vector<Tensor> inputs = {rng.NormalTensor(x_shape)};
  if (c.with_state) {
    inputs.push_back(rng.NormalTensor(state_shape));
    inputs.push_back(rng.NormalTensor(state_shape));
  }
  SP_ASSERT_OK_AND_ASSIGN(auto ref, RunModel(model, inputs, {.reference_kernels = true}));
  SP_ASSERT_OK_AND_ASSIGN(auto one, RunModel(model, inputs, {.num_threads = 1}));
  std::vector<Shape> shapes;
  for (const Tensor& t : inputs) shapes.push_back(t.shape());
  SP_ASSERT_OK_AND_ASSIGN(auto threaded, Interpreter::Create(model, shapes, {.num_threads = c.threads}));
  SP_ASSERT_OK_AND_ASSIGN(auto many, threaded->Run(inputs));
  SP_ASSERT_OK_AND_ASSIGN(auto again, threaded->Run(inputs));
  ASSERT_EQ(many.size(), 3u) << name;
  absl::StatusOr<std::vector<Tensor>> nested;
  SP_ASSERT_OK_AND_ASSIGN(auto fresh, Interpreter::Create(model, shapes, {.num_threads = c.threads}));
  internal::RunOnOnednnThreads(2, [&](int thread, int) {
    if (thread == 0) nested = fresh->Run(inputs);
  });
  ASSERT_TRUE(nested.ok()) << nested.status();
  for (size_t k = 0; k < many.size(); ++k) {
    // Sums in another order (oneDNN's blocking, the threads' column split): float rounding.
    EXPECT_TRUE(AllClose(many[k], ref[k], 1e-5, 1e-6)) << name << ", output " << k;
    EXPECT_TRUE(AllClose(many[k], one[k], 1e-5, 1e-6)) << name << ", output " << k;
    EXPECT_TRUE(AllClose(many[k], again[k], 0, 0)) << name << ", output " << k;
    EXPECT_TRUE(AllClose((*nested)[k], ref[k], 1e-5, 1e-6)) << name << ", nested, output " << k;
  }
}

// Stacked layers too small for the split kernel run on two threads as a wavefront over chunks of
// the sequence (layer l on chunk k while layer l+1 is on chunk k-1), the state handed from chunk
// to chunk: with and without initial state, unbatched, batch-first, for sequences the chunks do
// not divide. On four threads each layer's steps split their GEMMs.
TEST(Lstm, TwoThreadWavefrontMatchesReference) {
  for (LstmThreadCase c :
       {LstmThreadCase{2, 32, 8, false, true}, LstmThreadCase{3, 7, 2, true, true}, LstmThreadCase{2, 5, 1, true, false},
        LstmThreadCase{4, 2, 3, false, true}, LstmThreadCase{2, 11, 3, true, true, true},
        LstmThreadCase{3, 9, 1, false, true, true}}) {
    for (const int threads : {2, 4}) {
      c.threads = threads;
      ASSERT_FALSE(internal::SplitLstmTakes(GeometryOf(c, 6), c.threads));
      ExpectThreadsMatchReference(c, 6);
    }
  }
}

// Layers with enough work per step split their hidden units between the threads: each thread's
// units' four gates, cell and h, one barrier per step. Hidden sizes the threads do not divide
// (161, 449 on 2 threads, 200 on 3), a batch-first input, an unbatched one, initial state, three
// layers, one step.
TEST(Lstm, SplitHiddenUnitsMatchReference) {
  for (const LstmThreadCase& c : {
           LstmThreadCase{2, 32, 8, false, true, false, 256},
           LstmThreadCase{2, 9, 8, false, true, true, 160},
           LstmThreadCase{2, 6, 1, false, false, false, 449},
           LstmThreadCase{2, 6, 8, true, true, false, 161},
           LstmThreadCase{2, 5, 8, true, true, true, 160},
           LstmThreadCase{3, 4, 8, false, true, false, 160},
           LstmThreadCase{2, 1, 8, false, true, false, 160},
           LstmThreadCase{1, 1, 8, true, true, false, 160},
           LstmThreadCase{2, 4, 8, true, true, false, 200, 3},
       }) {
    ASSERT_TRUE(internal::SplitLstmTakes(GeometryOf(c, 16), c.threads));
    ExpectThreadsMatchReference(c, 16);
  }
}

}  // namespace
}  // namespace structprune
