// LayerNorm and BatchNorm2d (eval): values against the formulas in double, initialization,
// the functional forms, and the errors.
#include "ops/norms.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "graph/module.h"
#include "graph/parametrize.h"
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
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::Pointwise;

Tensor FromValues(const Shape& shape, std::vector<float> values) {
  return *Tensor::FromVector(shape, values);
}

// (x - mean) / sqrt(var + eps) over `row`, biased variance, in double.
std::vector<double> Normalize(const std::vector<double>& row, double eps) {
  double mean = 0, var = 0;
  for (double v : row) mean += v;
  mean /= row.size();
  for (double v : row) var += (v - mean) * (v - mean);
  var /= row.size();
  std::vector<double> out;
  for (double v : row) out.push_back((v - mean) / std::sqrt(var + eps));
  return out;
}

// ---------------------------------------------------------------------------------------------
// LayerNorm

TEST(LayerNorm, InitCreatesOnesWeightAndZerosBias) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kLayerNorm, LayerNormAttrs{.normalized_shape = {2, 3}}.ToAttrs()));
  ASSERT_NE(m->parameter("weight"), nullptr);
  ASSERT_NE(m->parameter("bias"), nullptr);
  EXPECT_EQ(m->parameter("weight")->shape(), (Shape{2, 3}));
  EXPECT_THAT(m->parameter("weight")->values<float>(), Each(1.0f));
  EXPECT_THAT(m->parameter("bias")->values<float>(), Each(0.0f));
}

TEST(LayerNorm, InitWithoutAffineOrBiasCreatesLess) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> no_affine,
      MakeModule(OpKind::kLayerNorm,
                 LayerNormAttrs{.normalized_shape = {4}, .elementwise_affine = false}.ToAttrs()));
  EXPECT_TRUE(no_affine->parameters().empty());
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> no_bias,
      MakeModule(OpKind::kLayerNorm,
                 LayerNormAttrs{.normalized_shape = {4}, .bias = false}.ToAttrs()));
  EXPECT_TRUE(no_bias->HasParameter("weight"));
  EXPECT_FALSE(no_bias->HasParameter("bias"));
}

TEST(LayerNorm, NormalizesLastDimWithBiasedVarianceThenScalesAndShifts) {
  Module m(OpKind::kLayerNorm, LayerNormAttrs{.normalized_shape = {4}}.ToAttrs());
  m.SetParameter("weight", FromValues({4}, {1, 2, 1, 2}));
  m.SetParameter("bias", FromValues({4}, {0, 0, 1, 1}));
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kLayerNorm, m.attrs(), &m, {FromValues({2, 4}, {1, 2, 3, 4, -1, -1, 5, 5})}));
  // Row 0: mean 2.5, var 1.25. Row 1: mean 2, var 9.
  const double s0 = 1 / std::sqrt(1.25 + 1e-5), s1 = 1 / std::sqrt(9 + 1e-5);
  const std::vector<float> expected = {
      static_cast<float>(-1.5 * s0),    static_cast<float>(-0.5 * s0 * 2),
      static_cast<float>(0.5 * s0 + 1), static_cast<float>(1.5 * s0 * 2 + 1),
      static_cast<float>(-3 * s1),      static_cast<float>(-3 * s1 * 2),
      static_cast<float>(3 * s1 + 1),   static_cast<float>(3 * s1 * 2 + 1)};
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-6f), expected));
}

TEST(LayerNorm, NormalizesOverTrailingDims) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kLayerNorm, LayerNormAttrs{.normalized_shape = {2, 3}}.ToAttrs()));
  std::vector<float> x = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kLayerNorm, m->attrs(), m.get(),
                                                         {FromValues({2, 2, 3}, x)}));
  std::vector<float> expected;
  for (int r = 0; r < 2; ++r) {
    for (double v : Normalize({x.begin() + 6 * r, x.begin() + 6 * r + 6}, 1e-5)) {
      expected.push_back(static_cast<float>(v));
    }
  }
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-6f), expected));
}

TEST(LayerNorm, StaysAccurateForLargeMeanSmallSpread) {
  // Mean 1000, spread 0.5: a one-pass E[x^2] - E[x]^2 in float would lose the variance.
  std::vector<float> x;
  for (int i = 0; i < 16; ++i) x.push_back(1000.0f + 0.0625f * static_cast<float>(i - 8));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kLayerNorm, {{"normalized_shape", int64_t{16}}}, nullptr,
                                {FromValues({16}, x)}));
  std::vector<float> expected;
  for (double v : Normalize({x.begin(), x.end()}, 1e-5)) expected.push_back(static_cast<float>(v));
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-5f), expected));
}

TEST(LayerNorm, EpsMattersForSmallVariance) {
  // Var 1e-4 with eps 1e-2: (x - mean) / sqrt(0.0101).
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kLayerNorm, {{"normalized_shape", int64_t{2}}, {"eps", 1e-2}}, nullptr,
            {FromValues({2}, {0.01f, -0.01f})}));
  EXPECT_THAT(out[0].values<float>(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{0.0995037f, -0.0995037f}));
}

TEST(LayerNorm, FunctionalTakesOptionalWeightAndBiasInputs) {
  const AttrMap attrs = {{"normalized_shape", std::vector<int64_t>{2}}};
  const Tensor x = FromValues({2, 2}, {0, 2, 5, 3});
  const float n = static_cast<float>(1 / std::sqrt(1 + 1e-5));  // |x - mean| = sqrt(var) = 1
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> plain,
                          RunOp(OpKind::kLayerNorm, attrs, nullptr, {x}));
  EXPECT_THAT(plain[0].values<float>(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{-n, n, n, -n}));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> scaled,
                          RunOp(OpKind::kLayerNorm, attrs, nullptr, {x, FromValues({2}, {2, 3})}));
  EXPECT_THAT(scaled[0].values<float>(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{-2 * n, 3 * n, 2 * n, -3 * n}));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> shifted,
                          RunOp(OpKind::kLayerNorm, attrs, nullptr,
                                {x, FromValues({2}, {2, 3}), FromValues({2}, {10, 20})}));
  EXPECT_THAT(shifted[0].values<float>(),
              Pointwise(FloatNear(1e-5f),
                        std::vector<float>{10 - 2 * n, 20 + 3 * n, 10 + 2 * n, 20 - 3 * n}));
}

// Goldens: torch.native_layer_norm(x, normalized_shape, None, None, 1e-5) (PyTorch 1.13).
TEST(LayerNorm, ReturnStatsGivesMeanAndRstdWithNormalizedDimsKeptAsOne) {
  const Tensor x = FromValues({2, 2, 2}, {1, 2, 4, 7, 0, -1, 3, 3});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kLayerNorm,
                                                         LayerNormAttrs{.normalized_shape = {2, 2},
                                                                        .elementwise_affine = false,
                                                                        .return_stats = true}
                                                             .ToAttrs(),
                                                         nullptr, {x}));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].shape(), (Shape{2, 1, 1}));
  EXPECT_EQ(out[2].shape(), (Shape{2, 1, 1}));
  // 1e-6: float32 rounding of values computed in double.
  EXPECT_THAT(out[0].values<float>(),
              Pointwise(FloatNear(1e-6f),
                        std::vector<float>{-1.0910884f, -0.6546530f, 0.2182177f, 1.5275239f,
                                           -0.7001389f, -1.2602501f, 0.9801946f, 0.9801946f}));
  EXPECT_THAT(out[1].values<float>(), ElementsAre(3.5f, 1.25f));
  EXPECT_THAT(out[2].values<float>(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{0.4364354f, 0.5601112f}));
  // Over the last dim only: [2, 2, 1]; a constant row has rstd 1 / sqrt(eps).
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> last,
      RunOp(OpKind::kLayerNorm, {{"normalized_shape", int64_t{2}}, {"return_stats", true}}, nullptr,
            {x}));
  EXPECT_EQ(last[1].shape(), (Shape{2, 2, 1}));
  EXPECT_THAT(last[1].values<float>(), ElementsAre(1.5f, 5.5f, -0.5f, 3.0f));
  // 1e-3 relative: 1 / sqrt(eps) = 316.2278 in float32.
  EXPECT_THAT(
      last[2].values<float>(),
      Pointwise(FloatNear(1e-3f), std::vector<float>{1.99996f, 0.666665f, 1.99996f, 316.2278f}));
  SP_ASSERT_OK_AND_ASSIGN(
      ValueInfo info,
      InferOp(OpKind::kLayerNorm, {{"normalized_shape", int64_t{2}}, {"return_stats", true}},
              nullptr, {TensorValue(x)}));
  EXPECT_EQ(info.ToString(), ValueInfo::Tuple({ValueInfo::Of({2, 2, 2}), ValueInfo::Of({2, 2, 1}),
                                               ValueInfo::Of({2, 2, 1})})
                                 .ToString());
}

TEST(LayerNorm, ReturnStatsIsWrittenOnlyWhenSet) {
  const LayerNormAttrs plain{.normalized_shape = {4}};
  EXPECT_FALSE(plain.ToAttrs().contains("return_stats"));
  const LayerNormAttrs with_stats{.normalized_shape = {4}, .return_stats = true};
  EXPECT_EQ(with_stats.ToAttrs().at("return_stats"), AttrValue(true));
}

TEST(LayerNormErrors, InputMustEndWithNormalizedShape) {
  EXPECT_THAT(InferOp(OpKind::kLayerNorm, {{"normalized_shape", int64_t{4}}}, nullptr,
                      {TensorValue(Tensor::Zeros({2, 3}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "LayerNorm 'node': input [2, 3] does not end with normalized_shape [4]"));
  EXPECT_THAT(InferOp(OpKind::kLayerNorm, {{"normalized_shape", std::vector<int64_t>{2, 2, 3}}},
                      nullptr, {TensorValue(Tensor::Zeros({2, 3}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "LayerNorm 'node': input [2, 3] does not end with normalized_shape "
                       "[2, 2, 3]"));
}

TEST(LayerNormErrors, NormalizedShapeMustBeNonEmpty) {
  EXPECT_THAT(InferOp(OpKind::kLayerNorm, {}, nullptr, {TensorValue(Tensor::Zeros({2, 3}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "LayerNorm 'node': normalized_shape must have at least 1 element"));
}

TEST(LayerNormErrors, ParameterShapesMustMatch) {
  Module m(OpKind::kLayerNorm, LayerNormAttrs{.normalized_shape = {4}}.ToAttrs());
  m.SetParameter("weight", Tensor::Full({3}, 1.0f));
  EXPECT_THAT(InferOp(OpKind::kLayerNorm, m.attrs(), &m, {TensorValue(Tensor::Zeros({2, 4}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "LayerNorm 'node': weight has shape [3], expected [4]"));
  EXPECT_THAT(InferOp(OpKind::kLayerNorm, {{"normalized_shape", int64_t{4}}}, nullptr,
                      {TensorValue(Tensor::Zeros({2, 4})), TensorValue(Tensor::Zeros({4})),
                       TensorValue(Tensor::Zeros({2, 2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "LayerNorm 'node': bias (input 2) has shape [2, 2], expected "
                       "normalized_shape [4]"));
}

TEST(LayerNormErrors, ModuleNeedsItsWeight) {
  Module m(OpKind::kLayerNorm, LayerNormAttrs{.normalized_shape = {4}}.ToAttrs());
  EXPECT_THAT(
      InferOp(OpKind::kLayerNorm, m.attrs(), &m, {TensorValue(Tensor::Zeros({2, 4}))}),
      StatusIs(absl::StatusCode::kInvalidArgument, "LayerNorm 'node': missing parameter 'weight'"));
}

// ---------------------------------------------------------------------------------------------
// BatchNorm2d

TEST(BatchNorm2d, InitCreatesParametersAndRunningStatistics) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kBatchNorm2d, BatchNorm2dAttrs{.num_features = 3}.ToAttrs()));
  EXPECT_THAT(m->parameter("weight")->values<float>(), ElementsAre(1, 1, 1));
  EXPECT_THAT(m->parameter("bias")->values<float>(), ElementsAre(0, 0, 0));
  ASSERT_NE(m->buffer("running_mean"), nullptr);
  ASSERT_NE(m->buffer("running_var"), nullptr);
  EXPECT_THAT(m->buffer("running_mean")->values<float>(), ElementsAre(0, 0, 0));
  EXPECT_THAT(m->buffer("running_var")->values<float>(), ElementsAre(1, 1, 1));
  EXPECT_EQ(m->parameters().size(), 2u);  // running statistics are buffers
}

TEST(BatchNorm2d, EvalUsesRunningStatisticsPerChannel) {
  Module m(OpKind::kBatchNorm2d, BatchNorm2dAttrs{.num_features = 2}.ToAttrs());
  m.SetParameter("weight", FromValues({2}, {2.0f, -1.0f}));
  m.SetParameter("bias", FromValues({2}, {0.5f, 0.0f}));
  m.SetBuffer("running_mean", FromValues({2}, {1.0f, -1.0f}));
  m.SetBuffer("running_var", FromValues({2}, {4.0f, 0.25f}));
  // x [2, 2, 1, 2]: (n, c) rows {0, 2}, {1, -3}, {5, 1}, {-1, 0}.
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kBatchNorm2d, m.attrs(), &m,
                                {FromValues({2, 2, 1, 2}, {0, 2, 1, -3, 5, 1, -1, 0})}));
  auto c0 = [](double x) { return static_cast<float>((x - 1) / std::sqrt(4 + 1e-5) * 2 + 0.5); };
  auto c1 = [](double x) { return static_cast<float>((x + 1) / std::sqrt(0.25 + 1e-5) * -1); };
  EXPECT_THAT(out[0].values<float>(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{c0(0), c0(2), c1(1), c1(-3), c0(5),
                                                             c0(1), c1(-1), c1(0)}));
}

// Zeros entry 1 of a tensor, like a pruning mask.
class ZeroEntryOne : public Parametrization {
 public:
  std::string Name() const override { return "ZeroEntryOne"; }
  absl::StatusOr<Tensor> Apply(const Tensor& original) const override {
    Tensor t = original.Clone();
    t.data<float>()[1] = 0.0f;
    return t;
  }
};

TEST(BatchNorm2d, ReadsParametersThroughParametrizations) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kBatchNorm2d, BatchNorm2dAttrs{.num_features = 2}.ToAttrs()));
  m->SetParameter("bias", FromValues({2}, {0.5f, 0.75f}));
  m->RegisterParametrization("weight", std::make_shared<ZeroEntryOne>());
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kBatchNorm2d, m->attrs(), m.get(),
                                                         {FromValues({1, 2, 1, 2}, {1, 2, 3, 4})}));
  // Channel 1 has weight 0: it is its bias everywhere.
  const float s = static_cast<float>(1 / std::sqrt(1 + 1e-5));
  EXPECT_THAT(
      out[0].values<float>(),
      Pointwise(FloatNear(1e-6f), std::vector<float>{s + 0.5f, 2 * s + 0.5f, 0.75f, 0.75f}));
}

TEST(BatchNorm2d, WithoutAffineOnlyNormalizes) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kBatchNorm2d,
                 BatchNorm2dAttrs{.num_features = 1, .affine = false}.ToAttrs()));
  EXPECT_TRUE(m->parameters().empty());
  m->SetBuffer("running_mean", FromValues({1}, {1.0f}));
  m->SetBuffer("running_var", FromValues({1}, {3.0f}));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kBatchNorm2d, m->attrs(), m.get(),
                                                         {FromValues({1, 1, 1, 2}, {3, -1})}));
  const float s = static_cast<float>(2 / std::sqrt(3 + 1e-5));
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-6f), std::vector<float>{s, -s}));
}

TEST(BatchNorm2d, WithoutRunningStatisticsUsesBatchStatisticsLikePyTorchEval) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kBatchNorm2d,
                 BatchNorm2dAttrs{.num_features = 2, .track_running_stats = false}.ToAttrs()));
  EXPECT_FALSE(m->HasBuffer("running_mean"));
  // Channel 0 over N, H, W: {1, 2, 3, 4}; channel 1: {10, 10, 14, 14}.
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kBatchNorm2d, m->attrs(), m.get(),
                                {FromValues({2, 2, 1, 2}, {1, 2, 10, 10, 3, 4, 14, 14})}));
  const std::vector<double> c0 = Normalize({1, 2, 3, 4}, 1e-5);
  const std::vector<double> c1 = Normalize({10, 10, 14, 14}, 1e-5);
  const std::vector<float> expected = {static_cast<float>(c0[0]), static_cast<float>(c0[1]),
                                       static_cast<float>(c1[0]), static_cast<float>(c1[1]),
                                       static_cast<float>(c0[2]), static_cast<float>(c0[3]),
                                       static_cast<float>(c1[2]), static_cast<float>(c1[3])};
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-5f), expected));
}

TEST(BatchNorm2d, FunctionalBatchNormTakesStatisticsAsInputs) {
  // F.batch_norm(x, running_mean, running_var, weight, bias) on a 2-D input [N, C].
  const Tensor x = FromValues({2, 2}, {1, 2, 3, 4});
  const Tensor mean = FromValues({2}, {1, 0});
  const Tensor var = FromValues({2}, {1, 4});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kBatchNorm2d, {{"eps", 0.0}}, nullptr,
                                {x, mean, var, FromValues({2}, {2, 1}), FromValues({2}, {0, 1})}));
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-6f), std::vector<float>{0, 2, 4, 3}));
  // training=True normalizes with the batch's statistics instead.
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> train,
      RunOp(OpKind::kBatchNorm2d, {{"eps", 0.0}, {"training", true}}, nullptr, {x, mean, var}));
  EXPECT_THAT(train[0].values<float>(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{-1, -1, 1, 1}));
}

TEST(BatchNorm2d, OnnxTrainingModeUpdatesRunningStatisticsWithBiasedBatchVariance) {
  // ONNX BatchNormalization(training_mode=1, momentum=0.9) is momentum 0.1 here.
  Module m(
      OpKind::kBatchNorm2d,
      BatchNorm2dAttrs{.num_features = 2, .eps = 0.0, .momentum = 0.1, .onnx_training_mode = true}
          .ToAttrs());
  m.SetParameter("weight", FromValues({2}, {2.0f, 1.0f}));
  m.SetParameter("bias", FromValues({2}, {1.0f, 0.0f}));
  m.SetBuffer("running_mean", FromValues({2}, {0.0f, 10.0f}));
  m.SetBuffer("running_var", FromValues({2}, {1.0f, 2.0f}));
  // x [2, 2, 1, 2]. Channel 0 over N, H, W: {1, 3, 5, 7}: mean 4, biased variance 5 (the
  // unbiased one, PyTorch's running update, would be 20/3). Channel 1: {0, 0, 0, 2}: mean 0.5,
  // biased variance 0.75.
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kBatchNorm2d, m.attrs(), &m,
                                {FromValues({2, 2, 1, 2}, {1, 3, 0, 0, 5, 7, 0, 2})}));
  ASSERT_EQ(out.size(), 3u);
  auto c0 = [](double x) { return static_cast<float>((x - 4) / std::sqrt(5.0) * 2 + 1); };
  auto c1 = [](double x) { return static_cast<float>((x - 0.5) / std::sqrt(0.75)); };
  EXPECT_THAT(out[0].values<float>(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{c0(1), c0(3), c1(0), c1(0), c0(5),
                                                             c0(7), c1(0), c1(2)}));
  // running' = 0.9 * running + 0.1 * batch.
  EXPECT_THAT(out[1].values<float>(), Pointwise(FloatNear(1e-6f), std::vector<float>{0.4f, 9.05f}));
  EXPECT_THAT(out[2].values<float>(),
              Pointwise(FloatNear(1e-6f), std::vector<float>{1.4f, 1.875f}));
  // The module's buffers stay as they were.
  EXPECT_THAT(m.buffer("running_mean")->values<float>(), ElementsAre(0.0f, 10.0f));
}

TEST(BatchNorm2dErrors, OnnxTrainingModeNeedsRunningStatistics) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kBatchNorm2d,
                 BatchNorm2dAttrs{
                     .num_features = 3, .track_running_stats = false, .onnx_training_mode = true}
                     .ToAttrs()));
  EXPECT_THAT(InferOp(OpKind::kBatchNorm2d, m->attrs(), m.get(),
                      {TensorValue(Tensor::Zeros({2, 3, 2, 2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "BatchNorm2d 'node': onnx_training_mode needs running statistics "
                       "(track_running_stats)"));
}

TEST(BatchNorm2dErrors, ModuleInputMustBe4D) {
  Module m(OpKind::kBatchNorm2d, BatchNorm2dAttrs{.num_features = 3}.ToAttrs());
  EXPECT_THAT(InferOp(OpKind::kBatchNorm2d, m.attrs(), &m, {TensorValue(Tensor::Zeros({3, 4, 4}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "BatchNorm2d 'node': input must be 4-D [N, C, H, W], got [3, 4, 4]"));
}

TEST(BatchNorm2dErrors, ChannelsMustMatchNumFeatures) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kBatchNorm2d, BatchNorm2dAttrs{.num_features = 3}.ToAttrs()));
  EXPECT_THAT(InferOp(OpKind::kBatchNorm2d, m->attrs(), m.get(),
                      {TensorValue(Tensor::Zeros({2, 4, 5, 5}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "BatchNorm2d 'node': input [2, 4, 5, 5] has 4 channels, num_features is 3"));
}

TEST(BatchNorm2dErrors, ParameterShapesMustMatch) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kBatchNorm2d, BatchNorm2dAttrs{.num_features = 3}.ToAttrs()));
  m->SetBuffer("running_var", Tensor::Full({2}, 1.0f));
  EXPECT_THAT(InferOp(OpKind::kBatchNorm2d, m->attrs(), m.get(),
                      {TensorValue(Tensor::Zeros({2, 3, 5, 5}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "BatchNorm2d 'node': running_var has shape [2], expected [3]"));
  EXPECT_THAT(InferOp(OpKind::kBatchNorm2d, {}, nullptr,
                      {TensorValue(Tensor::Zeros({2, 3})), TensorValue(Tensor::Zeros({4})),
                       TensorValue(Tensor::Zeros({3}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "BatchNorm2d 'node': running_mean (input 1) has shape [4], expected [3] for "
                       "input [2, 3]"));
}

TEST(BatchNorm2dErrors, BatchStatisticsNeedMoreThanOneValuePerChannel) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Module> m,
      MakeModule(OpKind::kBatchNorm2d,
                 BatchNorm2dAttrs{.num_features = 3, .track_running_stats = false}.ToAttrs()));
  EXPECT_THAT(InferOp(OpKind::kBatchNorm2d, m->attrs(), m.get(),
                      {TensorValue(Tensor::Zeros({1, 3, 1, 1}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "BatchNorm2d 'node': expected more than 1 value per channel to compute "
                       "batch statistics, got input [1, 3, 1, 1]"));
}

TEST(BatchNorm2dErrors, FunctionalNeedsRunningStatistics) {
  EXPECT_THAT(InferOp(OpKind::kBatchNorm2d, {}, nullptr, {TensorValue(Tensor::Zeros({2, 3}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("BatchNorm2d 'node': expects 3 to 5 inputs, got 1")));
}

TEST(NormAttrs, ToAttrsUsesPyTorchNamesAndDefaults) {
  const AttrMap ln = LayerNormAttrs{.normalized_shape = {8}}.ToAttrs();
  EXPECT_EQ(ln.at("normalized_shape"), AttrValue(std::vector<int64_t>{8}));
  EXPECT_EQ(ln.at("eps"), AttrValue(1e-5));
  EXPECT_EQ(ln.at("elementwise_affine"), AttrValue(true));
  const AttrMap bn = BatchNorm2dAttrs{.num_features = 4}.ToAttrs();
  EXPECT_EQ(bn.at("num_features"), AttrValue(int64_t{4}));
  EXPECT_EQ(bn.at("momentum"), AttrValue(0.1));
  EXPECT_EQ(bn.at("track_running_stats"), AttrValue(true));
}

}  // namespace
}  // namespace structprune
