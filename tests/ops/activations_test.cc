// The 21 activations: kernel and ApplyActivationScalar against formulas written out here in
// double, PyTorch's corner cases, and the errors.
#include "ops/activations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/rng.h"
#include "graph/module.h"
#include "ops/registry.h"
#include "tests/testing/op_runner.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::InferOp;
using ::structprune::testing::MakeModule;
using ::structprune::testing::RunOp;
using ::structprune::testing::StatusIs;
using ::structprune::testing::TensorValue;
using ::testing::HasSubstr;

struct ActivationCase {
  std::string name;
  OpKind kind;
  AttrMap attrs;
  std::function<double(double)> reference;
};
// ctest shows the case by name rather than as raw bytes.
void PrintTo(const ActivationCase& c, std::ostream* os) { *os << c.name; }

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Each formula from its PyTorch documentation, independently of ops/activations.cc.
std::vector<ActivationCase> Cases() {
  const double kSeluAlpha = 1.6732632423543772, kSeluScale = 1.0507009873554805;
  return {
      {"ReLU", OpKind::kRelu, {}, [](double x) { return x > 0 ? x : 0.0; }},
      {"RReLU",
       OpKind::kRrelu,
       {},
       [](double x) { return x >= 0 ? x : x * (1.0 / 8 + 1.0 / 3) / 2; }},
      {"RReLU_0_1_0_3",
       OpKind::kRrelu,
       {{"lower", 0.1}, {"upper", 0.3}},
       [](double x) { return x >= 0 ? x : 0.2 * x; }},
      {"Hardtanh", OpKind::kHardtanh, {}, [](double x) { return std::clamp(x, -1.0, 1.0); }},
      {"Hardtanh_m2_3",
       OpKind::kHardtanh,
       {{"min_val", -2.0}, {"max_val", 3.0}},
       [](double x) { return std::clamp(x, -2.0, 3.0); }},
      {"ReLU6", OpKind::kRelu6, {}, [](double x) { return std::clamp(x, 0.0, 6.0); }},
      {"Sigmoid", OpKind::kSigmoid, {}, Sigmoid},
      {"Hardsigmoid",
       OpKind::kHardsigmoid,
       {},
       [](double x) { return x <= -3  ? 0.0
                             : x >= 3 ? 1.0
                                      : x / 6 + 0.5; }},
      // ONNX's HardSigmoid default (0.2, 0.5) and test_hardsigmoid's (0.5, 0.6).
      {"Hardsigmoid_0_2_0_5",
       OpKind::kHardsigmoid,
       {{"alpha", 0.2}, {"beta", 0.5}},
       [](double x) { return std::clamp(0.2 * x + 0.5, 0.0, 1.0); }},
      {"Hardsigmoid_0_5_0_6",
       OpKind::kHardsigmoid,
       {{"alpha", 0.5}, {"beta", 0.6}},
       [](double x) { return std::clamp(0.5 * x + 0.6, 0.0, 1.0); }},
      {"Tanh", OpKind::kTanh, {}, [](double x) { return std::tanh(x); }},
      {"SiLU", OpKind::kSilu, {}, [](double x) { return x * Sigmoid(x); }},
      {"Mish",
       OpKind::kMish,
       {},
       [](double x) { return x * std::tanh(std::log(1 + std::exp(x))); }},
      {"Hardswish",
       OpKind::kHardswish,
       {},
       [](double x) { return x <= -3  ? 0.0
                             : x >= 3 ? x
                                      : x * (x + 3) / 6; }},
      {"ELU", OpKind::kElu, {}, [](double x) { return x > 0 ? x : std::exp(x) - 1; }},
      {"ELU_0_5",
       OpKind::kElu,
       {{"alpha", 0.5}},
       [](double x) { return x > 0 ? x : 0.5 * (std::exp(x) - 1); }},
      {"CELU_2",
       OpKind::kCelu,
       {{"alpha", 2.0}},
       [](double x) { return std::max(0.0, x) + std::min(0.0, 2 * (std::exp(x / 2) - 1)); }},
      {"SELU",
       OpKind::kSelu,
       {},
       [=](double x) { return kSeluScale * (x > 0 ? x : kSeluAlpha * (std::exp(x) - 1)); }},
      {"SELU_2_3",  // ONNX's test_selu: alpha 2, gamma 3
       OpKind::kSelu,
       {{"alpha", 2.0}, {"scale", 3.0}},
       [](double x) { return 3 * (x > 0 ? x : 2 * (std::exp(x) - 1)); }},
      {"Hardshrink", OpKind::kHardshrink, {}, [](double x) { return std::abs(x) > 0.5 ? x : 0.0; }},
      {"Hardshrink_1",
       OpKind::kHardshrink,
       {{"lambd", 1.0}},
       [](double x) { return std::abs(x) > 1.0 ? x : 0.0; }},
      {"LeakyReLU", OpKind::kLeakyRelu, {}, [](double x) { return x > 0 ? x : 0.01 * x; }},
      {"LeakyReLU_0_2",
       OpKind::kLeakyRelu,
       {{"negative_slope", 0.2}},
       [](double x) { return x > 0 ? x : 0.2 * x; }},
      {"LogSigmoid", OpKind::kLogSigmoid, {}, [](double x) { return std::log(Sigmoid(x)); }},
      {"Softplus",
       OpKind::kSoftplus,
       {},
       [](double x) { return x > 20 ? x : std::log(1 + std::exp(x)); }},
      {"Softplus_beta2_threshold5",
       OpKind::kSoftplus,
       {{"beta", 2.0}, {"threshold", 5.0}},
       [](double x) { return 2 * x > 5 ? x : std::log(1 + std::exp(2 * x)) / 2; }},
      {"PReLU", OpKind::kPrelu, {}, [](double x) { return x > 0 ? x : 0.25 * x; }},
      {"Softsign", OpKind::kSoftsign, {}, [](double x) { return x / (1 + std::abs(x)); }},
      {"Tanhshrink", OpKind::kTanhshrink, {}, [](double x) { return x - std::tanh(x); }},
      {"GELU",
       OpKind::kGelu,
       {},
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {"GELU_tanh",
       OpKind::kGelu,
       {{"approximate", std::string("tanh")}},
       [](double x) {
         return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
       }},
  };
}

const std::vector<float> kPoints = {-25.0f, -3.5f, -3.0f, -1.0f, -0.5f, -0.25f, 0.0f, 0.3f,
                                    0.5f,   1.0f,  2.4f,  2.6f,  3.0f,  7.0f,   25.0f};

Tensor PointsTensor() { return *Tensor::FromVector({3, 5}, kPoints); }

class ActivationTest : public ::testing::TestWithParam<ActivationCase> {};

TEST_P(ActivationTest, ModuleFormMatchesFormula) {
  const ActivationCase& c = GetParam();
  SP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Module> m, MakeModule(c.kind, c.attrs));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(c.kind, c.attrs, m.get(), {PointsTensor()}));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{3, 5}));
  for (size_t i = 0; i < kPoints.size(); ++i) {
    const double expected = c.reference(kPoints[i]);
    // float32 evaluation against a double formula: a few ulp.
    EXPECT_NEAR(out[0].data<float>()[i], expected, 1e-6 + 1e-6 * std::abs(expected))
        << c.name << "(" << kPoints[i] << ")";
  }
}

TEST_P(ActivationTest, FunctionalFormMatchesModuleForm) {
  const ActivationCase& c = GetParam();
  SP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Module> m, MakeModule(c.kind, c.attrs));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> module_out,
                          RunOp(c.kind, c.attrs, m.get(), {PointsTensor()}));
  std::vector<Tensor> inputs = {PointsTensor()};
  if (c.kind == OpKind::kPrelu) inputs.push_back(Tensor::Full({1}, 0.25f));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> fn_out, RunOp(c.kind, c.attrs, nullptr, inputs));
  EXPECT_TRUE(fn_out[0].Equals(module_out[0])) << c.name;
}

TEST_P(ActivationTest, ScalarFunctionIsTheKernel) {
  const ActivationCase& c = GetParam();
  SP_ASSERT_OK_AND_ASSIGN(ActivationParams params, ReadActivationParams(c.kind, c.attrs));
  SP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Module> m, MakeModule(c.kind, c.attrs));
  Rng rng(7);
  Tensor x = rng.NormalTensor({64}, 0.0f, 4.0f);
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(c.kind, c.attrs, m.get(), {x}));
  for (int64_t i = 0; i < x.numel(); ++i) {
    // Bias folding relies on the scalar function being bit-identical to the kernel.
    EXPECT_EQ(ApplyActivationScalar(c.kind, params, x.data<float>()[i]), out[0].data<float>()[i])
        << c.name << "(" << x.data<float>()[i] << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(All, ActivationTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Activations, TableCoversAllTwentyOne) {
  std::set<OpKind> covered;
  for (const ActivationCase& c : Cases()) covered.insert(c.kind);
  int count = 0;
  for (OpKind kind : AllOps()) {
    if (!IsActivation(kind)) continue;
    ++count;
    EXPECT_TRUE(covered.count(kind)) << OpModuleName(kind);
  }
  EXPECT_EQ(count, 21);
}

TEST(Activations, DefaultsArePyTorchs) {
  ActivationParams p;
  EXPECT_EQ(p.negative_slope, 0.01);
  EXPECT_EQ(p.min_val, -1.0);
  EXPECT_EQ(p.max_val, 1.0);
  EXPECT_EQ(p.alpha, 1.0);
  EXPECT_EQ(p.lambd, 0.5);
  EXPECT_EQ(p.beta, 1.0);
  EXPECT_EQ(p.threshold, 20.0);
  EXPECT_EQ(p.lower, 1.0 / 8.0);
  EXPECT_EQ(p.upper, 1.0 / 3.0);
  EXPECT_FALSE(p.approximate_tanh);
  EXPECT_EQ(p.num_parameters, 1);
  EXPECT_EQ(p.init, 0.25);
  SP_ASSERT_OK_AND_ASSIGN(ActivationParams relu6, ReadActivationParams(OpKind::kRelu6, {}));
  EXPECT_EQ(relu6.min_val, 0.0);
  EXPECT_EQ(relu6.max_val, 6.0);
}

TEST(Softplus, AboveThresholdReturnsXItself) {
  const AttrMap attrs = {{"beta", 2.0}, {"threshold", 5.0}};
  SP_ASSERT_OK_AND_ASSIGN(ActivationParams p, ReadActivationParams(OpKind::kSoftplus, attrs));
  // beta * 2.6 = 5.2 > 5: exactly x, although log1p(exp(5.2)) / 2 = 2.60275...
  EXPECT_EQ(ApplyActivationScalar(OpKind::kSoftplus, p, 2.6f), 2.6f);
  // beta * 2.4 = 4.8 <= 5: the smooth branch.
  EXPECT_NEAR(ApplyActivationScalar(OpKind::kSoftplus, p, 2.4f), std::log1p(std::exp(4.8)) / 2,
              1e-6);
}

TEST(Softplus, ActivationOfZeroIsLogTwo) {  // act(0) != 0: what bias folding must carry
  SP_ASSERT_OK_AND_ASSIGN(ActivationParams p, ReadActivationParams(OpKind::kSoftplus, {}));
  EXPECT_NEAR(ApplyActivationScalar(OpKind::kSoftplus, p, 0.0f), std::log(2.0), 1e-7);
}

TEST(LogSigmoid, IsStableForLargeMagnitudes) {
  ActivationParams p;
  EXPECT_NEAR(ApplyActivationScalar(OpKind::kLogSigmoid, p, -100.0f), -100.0f, 1e-5);
  EXPECT_NEAR(ApplyActivationScalar(OpKind::kLogSigmoid, p, 100.0f), 0.0f, 1e-30);
}

TEST(RRelu, EvalUsesMeanOfBoundsAsSlope) {
  SP_ASSERT_OK_AND_ASSIGN(ActivationParams p, ReadActivationParams(OpKind::kRrelu, {}));
  EXPECT_FLOAT_EQ(ApplyActivationScalar(OpKind::kRrelu, p, -2.0f),
                  -2.0f * (1.0f / 8 + 1.0f / 3) / 2);
}

TEST(RRelu, TrainingModeIsUnimplemented) {
  EXPECT_THAT(
      InferOp(OpKind::kRrelu, {{"training", true}}, nullptr, {TensorValue(Tensor::Zeros({2}))}),
      StatusIs(absl::StatusCode::kUnimplemented,
               "RReLU 'node': training-mode RReLU (random slopes) is not supported"));
}

TEST(RRelu, RejectsLowerAboveUpper) {
  EXPECT_THAT(ReadActivationParams(OpKind::kRrelu, {{"lower", 0.5}, {"upper", 0.25}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "lower (0.5) must be less than or equal to upper (0.25)"));
}

TEST(Celu, RejectsZeroAlpha) {
  EXPECT_THAT(
      InferOp(OpKind::kCelu, {{"alpha", 0.0}}, nullptr, {TensorValue(Tensor::Zeros({2}))}),
      StatusIs(absl::StatusCode::kInvalidArgument, "CELU 'node': alpha cannot be 0 for CELU"));
}

TEST(Gelu, RejectsUnknownApproximation) {
  EXPECT_THAT(InferOp(OpKind::kGelu, {{"approximate", std::string("erf")}}, nullptr,
                      {TensorValue(Tensor::Zeros({2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "GELU 'node': approximate must be \"none\" or \"tanh\", got \"erf\""));
}

TEST(Activations, WrongAttributeTypeNamesNodeAndAttribute) {
  EXPECT_THAT(InferOp(OpKind::kLeakyRelu, {{"negative_slope", std::string("x")}}, nullptr,
                      {TensorValue(Tensor::Zeros({2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("LeakyReLU 'node': attribute 'negative_slope'")));
}

TEST(Activations, TupleInputIsAnError) {
  Value tuple = testing::TupleValue({TensorValue(Tensor::Zeros({2}))});
  EXPECT_THAT(
      InferOp(OpKind::kRelu, {}, nullptr, {tuple}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ReLU 'node': input 0 is a tuple")));
}

TEST(Hardtanh, ModuleRequiresMaxAboveMin) {
  const AttrMap attrs = {{"min_val", 1.0}, {"max_val", -1.0}};
  Module m(OpKind::kHardtanh, attrs);
  EXPECT_THAT(InferOp(OpKind::kHardtanh, attrs, &m, {TensorValue(Tensor::Zeros({2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Hardtanh 'node': max_val (-1) must be greater than min_val (1)"));
}

TEST(Hardtanh, FunctionalWithMinAboveMaxClampsLikePyTorch) {
  // F.hardtanh(x, 1, -1) is min(max(x, 1), -1) = -1 everywhere.
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kHardtanh, {{"min_val", 1.0}, {"max_val", -1.0}}, nullptr,
                                {*Tensor::FromVector({3}, {0.5f, 2.0f, -3.0f})}));
  EXPECT_THAT(out[0].values<float>(), ::testing::ElementsAre(-1.0f, -1.0f, -1.0f));
}

TEST(Activations, PropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (OpKind kind : {OpKind::kRelu, OpKind::kRelu6, OpKind::kHardtanh, OpKind::kLeakyRelu,
                      OpKind::kHardsigmoid, OpKind::kHardswish, OpKind::kLogSigmoid, OpKind::kElu,
                      OpKind::kHardshrink, OpKind::kGelu}) {
    SP_ASSERT_OK_AND_ASSIGN(ActivationParams p, ReadActivationParams(kind, {}));
    EXPECT_TRUE(std::isnan(ApplyActivationScalar(kind, p, nan))) << OpModuleName(kind);
  }
}

TEST(Activations, AcceptScalarAndEmptyInputs) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> scalar,
                          RunOp(OpKind::kSigmoid, {}, nullptr, {Tensor::Scalar(0.0f)}));
  EXPECT_EQ(scalar[0].shape(), Shape{});
  EXPECT_EQ(scalar[0].data<float>()[0], 0.5f);
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> empty,
                          RunOp(OpKind::kTanh, {}, nullptr, {Tensor::Zeros({2, 0, 3})}));
  EXPECT_EQ(empty[0].shape(), (Shape{2, 0, 3}));
}

TEST(Activations, ApplyScalarOfNonActivationIsIdentity) {
  EXPECT_EQ(ApplyActivationScalar(OpKind::kLinear, ActivationParams{}, -3.0f), -3.0f);
}

// ---------------------------------------------------------------------------------------------
// PReLU

TEST(Prelu, InitModuleFillsNumParametersWithInit) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kPrelu, {{"num_parameters", int64_t{3}}, {"init", 0.1}}));
  const Tensor* w = m->parameter("weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape(), Shape{3});
  EXPECT_THAT(w->values<float>(), ::testing::Each(0.1f));
}

TEST(Prelu, PerChannelSlopeAppliesAlongDim1) {
  Module m(OpKind::kPrelu, {{"num_parameters", int64_t{3}}});
  m.SetParameter("weight", *Tensor::FromVector({3}, {0.1f, 0.2f, 0.3f}));
  // x [2, 3, 2]: every element -1 except the positive ones at n=1.
  Tensor x = Tensor::Full({2, 3, 2}, -1.0f);
  for (int i = 6; i < 12; i += 2) x.data<float>()[i] = 4.0f;
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kPrelu, m.attrs(), &m, {x}));
  EXPECT_THAT(out[0].values<float>(),
              ::testing::ElementsAre(-0.1f, -0.1f, -0.2f, -0.2f, -0.3f, -0.3f,  //
                                     4.0f, -0.1f, 4.0f, -0.2f, 4.0f, -0.3f));
}

TEST(Prelu, FunctionalTakesWeightAsSecondInput) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kPrelu, {}, nullptr,
                                {*Tensor::FromVector({1, 2, 2}, {-1.0f, 2.0f, -3.0f, -4.0f}),
                                 *Tensor::FromVector({2}, {0.5f, -1.0f})}));
  EXPECT_THAT(out[0].values<float>(), ::testing::ElementsAre(-0.5f, 2.0f, 3.0f, 4.0f));
}

TEST(Prelu, SharedSlopeOnOneDimInput) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kPrelu, {}, nullptr,
            {*Tensor::FromVector({3}, {-1.0f, -2.0f, 3.0f}), Tensor::Scalar(0.5f)}));
  EXPECT_THAT(out[0].values<float>(), ::testing::ElementsAre(-0.5f, -1.0f, 3.0f));
}

TEST(Prelu, OneDimInputHasOneChannelLikePyTorch) {
  // PyTorch: "Mismatch of parameter numbers and input channel size. Found parameter
  // numbers = 3 and channel size = 1." A 1-D input has no channel dimension.
  EXPECT_THAT(InferOp(OpKind::kPrelu, {}, nullptr,
                      {TensorValue(Tensor::Zeros({3})), TensorValue(Tensor::Zeros({3}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "PReLU 'node': weight has 3 parameters, but input [3] has no channel "
                       "dimension (fewer than 2 dims), so it must have 1"));
}

TEST(Prelu, RejectsSlopeCountOtherThanOneOrChannels) {
  Module m(OpKind::kPrelu, {{"num_parameters", int64_t{3}}});
  m.SetParameter("weight", Tensor::Full({3}, 0.25f));
  EXPECT_THAT(InferOp(OpKind::kPrelu, m.attrs(), &m, {TensorValue(Tensor::Zeros({2, 4, 5}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "PReLU 'node': weight has 3 parameters, but input [2, 4, 5] has 4 "
                       "channels (dim 1); it must have 1 or 4"));
}

TEST(Prelu, ModuleWeightMustMatchNumParameters) {
  Module m(OpKind::kPrelu, {{"num_parameters", int64_t{4}}});
  m.SetParameter("weight", Tensor::Full({3}, 0.25f));
  EXPECT_THAT(InferOp(OpKind::kPrelu, m.attrs(), &m, {TensorValue(Tensor::Zeros({2, 4, 5}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "PReLU 'node': weight has shape [3], expected [4]"));
}

TEST(Prelu, FunctionalWeightOfTwoDimsBroadcastsElementWise) {
  // ONNX PRelu's slope: [1, 3] against [2, 3] is one slope per column, not per channel (dim 1).
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kPrelu, {}, nullptr,
            {*Tensor::FromVector({2, 3}, {-1.0f, 2.0f, -3.0f, 4.0f, -5.0f, -6.0f}),
             *Tensor::FromVector({1, 3}, {0.1f, 0.2f, 0.3f})}));
  // FloatEq: 0.3f * -3 is not the float nearest to -0.9.
  EXPECT_THAT(out[0].values<float>(),
              ::testing::Pointwise(::testing::FloatEq(),
                                   std::vector<float>{-0.1f, 2.0f, -0.9f, 4.0f, -1.0f, -1.8f}));
  // [2, 1, 2] against [2, 2, 2]: the middle dim broadcasts.
  SP_ASSERT_OK_AND_ASSIGN(out, RunOp(OpKind::kPrelu, {}, nullptr,
                                     {Tensor::Full({2, 2, 2}, -1.0f),
                                      *Tensor::FromVector({2, 1, 2}, {1.0f, 2.0f, 3.0f, 4.0f})}));
  EXPECT_THAT(out[0].values<float>(),
              ::testing::ElementsAre(-1.0f, -2.0f, -1.0f, -2.0f, -3.0f, -4.0f, -3.0f, -4.0f));
}

TEST(Prelu, FunctionalRejectsTwoDimWeightThatDoesNotBroadcast) {
  EXPECT_THAT(InferOp(OpKind::kPrelu, {}, nullptr,
                      {TensorValue(Tensor::Zeros({2, 3})), TensorValue(Tensor::Zeros({2, 2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "PReLU 'node': weight [2, 2] does not broadcast to input [2, 3] (a weight "
                       "of 2+ dims broadcasts element-wise)"));
  // Never the other way: a weight with more dims than the input.
  EXPECT_THAT(InferOp(OpKind::kPrelu, {}, nullptr,
                      {TensorValue(Tensor::Zeros({3})), TensorValue(Tensor::Zeros({1, 3}))}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not broadcast")));
}

TEST(Prelu, FunctionalNeedsTheWeightInput) {
  EXPECT_THAT(InferOp(OpKind::kPrelu, {}, nullptr, {TensorValue(Tensor::Zeros({2, 3}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("PReLU 'node': expects 2 input(s), got 1")));
}

}  // namespace
}  // namespace structprune
