// Max/Avg/Adaptive pooling: output sizes (ceil_mode), window contents and divisors computed by
// hand, and the errors.
#include "ops/pooling.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "graph/module.h"
#include "ops/pool3d.h"
#include "ops/registry.h"
#include "tests/testing/op_runner.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::InferOp;
using ::structprune::testing::RunOp;
using ::structprune::testing::StatusIs;
using ::structprune::testing::TensorValue;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::FloatNear;
using ::testing::Pointwise;

// x[n, c, h, w] = h * W + w (the same ramp in every plane).
Tensor Ramp(const Shape& shape) {
  Tensor t = Tensor::Zeros(shape);
  const int64_t H = shape[shape.size() - 2], W = shape[shape.size() - 1];
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i % (H * W));
  return t;
}

Shape OutShape(OpKind kind, const AttrMap& attrs, const Shape& in) {
  absl::StatusOr<ValueInfo> info = InferOp(kind, attrs, nullptr, {TensorValue(Tensor::Zeros(in))});
  EXPECT_THAT(info, testing::IsOk());
  return info.ok() ? info->shape : Shape{};
}

// ---------------------------------------------------------------------------------------------
// Output sizes

TEST(PoolOutputSize, FloorModeDropsPartialWindows) {
  EXPECT_EQ(
      OutShape(OpKind::kMaxPool2d, MaxPool2dAttrs{.kernel_size = {2, 2}}.ToAttrs(), {1, 2, 7, 7}),
      (Shape{1, 2, 3, 3}));
}

TEST(PoolOutputSize, CeilModeKeepsPartialLastWindow) {
  EXPECT_EQ(
      OutShape(OpKind::kMaxPool2d,
               MaxPool2dAttrs{.kernel_size = {2, 2}, .ceil_mode = true}.ToAttrs(), {1, 2, 7, 7}),
      (Shape{1, 2, 4, 4}));
}

TEST(PoolOutputSize, CeilModeDropsWindowStartingInRightPadding) {
  // 5 + 2*1 with kernel 2, stride 2: ceil gives 4 windows, but the 4th would start at
  // 3*2 - 1 = 5 >= 5, i.e. in the right padding, so PyTorch drops it.
  const AttrMap attrs =
      MaxPool2dAttrs{.kernel_size = {2, 2}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true}
          .ToAttrs();
  EXPECT_EQ(OutShape(OpKind::kMaxPool2d, attrs, {1, 1, 5, 5}), (Shape{1, 1, 3, 3}));
}

TEST(PoolOutputSize, DilationWidensTheWindow) {
  // Effective kernel 2*(3-1)+1 = 5 on 7: 3 outputs per dim.
  EXPECT_EQ(
      OutShape(
          OpKind::kMaxPool2d,
          MaxPool2dAttrs{.kernel_size = {3, 3}, .stride = {1, 1}, .dilation = {2, 2}}.ToAttrs(),
          {2, 7, 7}),
      (Shape{2, 3, 3}));
}

TEST(PoolOutputSize, StrideDefaultsToKernelWhenAbsentOrEmpty) {
  const Shape in = {1, 1, 8, 6};
  EXPECT_EQ(OutShape(OpKind::kAvgPool2d, {{"kernel_size", int64_t{2}}}, in), (Shape{1, 1, 4, 3}));
  EXPECT_EQ(OutShape(OpKind::kAvgPool2d,
                     {{"kernel_size", int64_t{2}}, {"stride", std::vector<int64_t>{}}}, in),
            (Shape{1, 1, 4, 3}));
  EXPECT_EQ(OutShape(OpKind::kAvgPool2d, {{"kernel_size", int64_t{2}}, {"stride", int64_t{1}}}, in),
            (Shape{1, 1, 7, 5}));
}

TEST(PoolOutputSize, EmptyBatchIsAllowed) {
  EXPECT_EQ(OutShape(OpKind::kMaxPool2d, {{"kernel_size", int64_t{2}}}, {0, 3, 4, 4}),
            (Shape{0, 3, 2, 2}));
}

// ---------------------------------------------------------------------------------------------
// MaxPool2d

TEST(MaxPool2d, PaddingActsAsMinusInfinity) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kMaxPool2d,
            MaxPool2dAttrs{.kernel_size = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}.ToAttrs(),
            nullptr, {Tensor::Full({1, 1, 4, 4}, -1.0f)}));
  EXPECT_EQ(out[0].shape(), (Shape{1, 1, 2, 2}));
  EXPECT_THAT(out[0].values<float>(), ::testing::Each(-1.0f));
}

TEST(MaxPool2d, CeilModeLastWindowHoldsOneRowAndColumn) {
  // 7x7 ramp, kernel 2: window i covers rows 2i, 2i+1 (only row 6 for i = 3).
  Module m(OpKind::kMaxPool2d, MaxPool2dAttrs{.kernel_size = {2, 2}, .ceil_mode = true}.ToAttrs());
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kMaxPool2d, m.attrs(), &m, {Ramp({1, 1, 7, 7})}));
  std::vector<float> expected;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j)
      expected.push_back(std::min(2 * i + 1, 6) * 7 + std::min(2 * j + 1, 6));
  }
  EXPECT_THAT(out[0].values<float>(), ElementsAreArray(expected));
}

TEST(MaxPool2d, DilatedWindowSkipsElements) {
  // kernel 2, dilation 2 on a 5x5 ramp: max of x[i][j], x[i][j+2], x[i+2][j], x[i+2][j+2].
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kMaxPool2d,
            MaxPool2dAttrs{.kernel_size = {2, 2}, .stride = {1, 1}, .dilation = {2, 2}}.ToAttrs(),
            nullptr, {Ramp({1, 5, 5})}));
  EXPECT_EQ(out[0].shape(), (Shape{1, 3, 3}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(12, 13, 14, 17, 18, 19, 22, 23, 24));
}

TEST(MaxPool2d, NonSquareWindowPerPlane) {
  // 2 planes of a 3x4 ramp (plane 1 negated), kernel [3, 2], stride [1, 2].
  Tensor x = Ramp({1, 2, 3, 4});
  for (int i = 12; i < 24; ++i) x.data<float>()[i] = -x.data<float>()[i];
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kMaxPool2d, MaxPool2dAttrs{.kernel_size = {3, 2}, .stride = {1, 2}}.ToAttrs(),
            nullptr, {x}));
  EXPECT_EQ(out[0].shape(), (Shape{1, 2, 1, 2}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(9, 11, -0.0f, -2));
}

TEST(MaxPool2d, PropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kMaxPool2d, {{"kernel_size", int64_t{2}}}, nullptr,
                                {*Tensor::FromVector({1, 2, 2}, {1.0f, nan, 2.0f, 3.0f})}));
  EXPECT_TRUE(std::isnan(out[0].data<float>()[0]));
}

TEST(MaxPool2d, ReturnIndicesArePlanePositionsOrFlatPositions) {
  // A ramp's window maximum is its bottom-right element: kernel 2 on 4x4 planes picks rows and
  // columns 1 and 3 of each plane, positions 5, 7, 13, 15; flat_indices adds plane * 16.
  const AttrMap plane = MaxPool2dAttrs{.kernel_size = {2, 2}, .return_indices = true}.ToAttrs();
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kMaxPool2d, plane, nullptr, {Ramp({2, 2, 4, 4})}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_THAT(out[0].values<float>().subspan(0, 4), ElementsAre(5, 7, 13, 15));
  EXPECT_EQ(out[1].dtype(), DType::kInt64);
  EXPECT_EQ(out[1].shape(), (Shape{2, 2, 2, 2}));
  EXPECT_THAT(out[1].values<int64_t>(),
              ElementsAre(5, 7, 13, 15, 5, 7, 13, 15, 5, 7, 13, 15, 5, 7, 13, 15));
  const AttrMap flat =
      MaxPool2dAttrs{.kernel_size = {2, 2}, .return_indices = true, .flat_indices = true}.ToAttrs();
  SP_ASSERT_OK_AND_ASSIGN(out, RunOp(OpKind::kMaxPool2d, flat, nullptr, {Ramp({2, 2, 4, 4})}));
  EXPECT_THAT(out[1].values<int64_t>(),
              ElementsAre(5, 7, 13, 15, 21, 23, 29, 31, 37, 39, 45, 47, 53, 55, 61, 63));
}

TEST(MaxPool2d, IndicesSkipPaddingAndFollowTheDilatedWindow) {
  // 3x3 plane 9 - ramp (largest first): kernel 2, dilation 2, padding 1, stride 1 -> windows
  // over rows (and columns) {-1, 1}, {0, 2}, {1, 3}, i.e. {1}, {0, 2}, {1} inside the input; the
  // maximum sits at the smallest row and column of each.
  Tensor x = Ramp({1, 1, 3, 3});
  for (float& v : x.values<float>()) v = 9.0f - v;
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kMaxPool2d,
                                                         MaxPool2dAttrs{.kernel_size = {2, 2},
                                                                        .stride = {1, 1},
                                                                        .padding = {1, 1},
                                                                        .dilation = {2, 2},
                                                                        .return_indices = true}
                                                             .ToAttrs(),
                                                         nullptr, {x}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(5, 6, 5, 8, 9, 8, 5, 6, 5));
  EXPECT_THAT(out[1].values<int64_t>(), ElementsAre(4, 3, 4, 1, 0, 1, 4, 3, 4));
}

TEST(MaxPool1d, FlatIndicesCountOverTheWholeInput) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kMaxPool1d,
            Pool1dAttrs{.kernel_size = 2, .return_indices = true, .flat_indices = true}.ToAttrs(
                OpKind::kMaxPool1d),
            nullptr, {Ramp({2, 3, 4})}));
  EXPECT_THAT(out[1].values<int64_t>(), ElementsAre(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23));
}

// ---------------------------------------------------------------------------------------------
// AvgPool2d

// Kernel 3, stride 2, padding 1, ceil_mode on 6: 4 windows per dim starting at -1, 1, 3, 5.
// Inside the input they hold 2, 3, 3, 1 elements; clipped to the padded extent [-1, 7) they
// span 3, 3, 3, 2 (the last one is cut at 6 + 1, not at its ceil-mode end 8).
const AttrMap kCeilAvg =
    AvgPool2dAttrs{.kernel_size = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true}
        .ToAttrs();

TEST(AvgPool2d, CeilModeCountIncludePadDividesByWindowClippedToPaddedInput) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kAvgPool2d, kCeilAvg, nullptr,
                                                         {Tensor::Full({1, 1, 6, 6}, 1.0f)}));
  ASSERT_EQ(out[0].shape(), (Shape{1, 1, 4, 4}));
  // On ones, output = (elements inside) / (padded extent), a product of per-dim ratios.
  const double ratio[4] = {2.0 / 3, 1.0, 1.0, 1.0 / 2};
  std::vector<float> expected;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) expected.push_back(static_cast<float>(ratio[i] * ratio[j]));
  }
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-6f), expected));
}

TEST(AvgPool2d, CeilModeWithoutCountIncludePadDividesByElementsInside) {
  AttrMap attrs = kCeilAvg;
  attrs["count_include_pad"] = false;
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kAvgPool2d, attrs, nullptr,
                                                         {Tensor::Full({1, 1, 6, 6}, 1.0f)}));
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-6f), std::vector<float>(16, 1.0f)));
}

TEST(AvgPool2d, CeilModeWithoutPaddingDividesByElementsInside) {
  // Kernel 2 on 3 with ceil: windows [0, 2) and [2, 4) cut at 3: divisors 2 and 1 per dim.
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kAvgPool2d, AvgPool2dAttrs{.kernel_size = {2, 2}, .ceil_mode = true}.ToAttrs(),
            nullptr, {Ramp({1, 3, 3})}));
  // Ramp 0..8: windows {0,1,3,4}, {2,5}, {6,7}, {8}.
  EXPECT_THAT(out[0].values<float>(), ElementsAre(2.0f, 3.5f, 6.5f, 8.0f));
}

TEST(AvgPool2d, SumsValuesOfTheWindow) {
  // Kernel 3, stride 2, padding 1 on a 4x4 ramp; count_include_pad divides every window by 9.
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kAvgPool2d,
            AvgPool2dAttrs{.kernel_size = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}.ToAttrs(),
            nullptr, {Ramp({1, 1, 4, 4})}));
  // Windows rows/cols [0, 2) and [1, 4): sums 0+1+4+5 = 10, 1+2+3+5+6+7 = 24,
  // 4+5+8+9+12+13 = 51, 5+6+7+9+10+11+13+14+15 = 90.
  EXPECT_THAT(
      out[0].values<float>(),
      Pointwise(FloatNear(1e-6f), std::vector<float>{10.0f / 9, 24.0f / 9, 51.0f / 9, 10.0f}));
}

TEST(AvgPool2d, DivisorOverrideReplacesWindowSize) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kAvgPool2d,
            AvgPool2dAttrs{.kernel_size = {2, 2}, .divisor_override = 3}.ToAttrs(), nullptr,
            {Tensor::Full({1, 1, 4, 4}, 1.0f)}));
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-6f), std::vector<float>(4, 4.0f / 3)));
}

TEST(AvgPool2d, ZeroDivisorOverrideMeansNone) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kAvgPool2d, {{"kernel_size", int64_t{2}}, {"divisor_override", int64_t{0}}},
            nullptr, {Tensor::Full({1, 2, 2}, 3.0f)}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(3.0f));
}

// ---------------------------------------------------------------------------------------------
// Adaptive pooling

// 5x7 -> 3x2. Rows: [floor(i*5/3), ceil((i+1)*5/3)) = [0, 2), [1, 4), [3, 5) (overlapping).
// Cols: [floor(j*7/2), ceil((j+1)*7/2)) = [0, 4), [3, 7).
TEST(AdaptiveAvgPool2d, WindowsFloorStartCeilEnd) {
  Module m(OpKind::kAdaptiveAvgPool2d, AdaptivePool2dAttrs{.output_size = {3, 2}}.ToAttrs());
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kAdaptiveAvgPool2d, m.attrs(), &m, {Ramp({1, 2, 5, 7})}));
  ASSERT_EQ(out[0].shape(), (Shape{1, 2, 3, 2}));
  // Mean of h*7 + w = 7 * mean(rows) + mean(cols); row means 0.5, 2, 3.5; col means 1.5, 4.5.
  const std::vector<float> plane = {5.0f, 8.0f, 15.5f, 18.5f, 26.0f, 29.0f};
  std::vector<float> expected = plane;
  expected.insert(expected.end(), plane.begin(), plane.end());
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-5f), expected));
}

TEST(AdaptiveMaxPool2d, WindowsFloorStartCeilEnd) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kAdaptiveMaxPool2d, {{"output_size", std::vector<int64_t>{3, 2}}}, nullptr,
            {Ramp({2, 5, 7})}));
  ASSERT_EQ(out[0].shape(), (Shape{2, 3, 2}));
  // Last row of each window 1, 3, 4; last col 3, 6.
  EXPECT_THAT(out[0].values<float>(), ElementsAre(10, 13, 24, 27, 31, 34, 10, 13, 24, 27, 31, 34));
}

TEST(AdaptiveAvgPool2d, IntOutputSizeMeansSquareAndGlobalPoolIsTheMean) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kAdaptiveAvgPool2d, {{"output_size", int64_t{1}}}, nullptr,
                                {Ramp({1, 1, 3, 4})}));
  ASSERT_EQ(out[0].shape(), (Shape{1, 1, 1, 1}));
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 5.5f);
}

TEST(AdaptiveAvgPool2d, OutputLargerThanInputRepeatsElements) {
  // 2 -> 3: windows [0, 1), [0, 2), [1, 2).
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kAdaptiveAvgPool2d, {{"output_size", std::vector<int64_t>{1, 3}}}, nullptr,
            {*Tensor::FromVector({1, 1, 2}, {2.0f, 4.0f})}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(2.0f, 3.0f, 4.0f));
}

// ---------------------------------------------------------------------------------------------
// Per-side pads (ONNX's asymmetric and wide padding) and the 1-D pools. Goldens from PyTorch
// 1.13: F.pad (-inf for max, zeros for avg) then an unpadded pool; count_include_pad=False as
// avg_pool2d(padded x) / avg_pool2d(padded ones).

// 4 x 5 ramp, kernel 2, stride 1, pads {top 0, left 0, bottom 1, right 1} (auto_pad SAME_UPPER).
TEST(MaxPool2d, PerSidePadsPadOnlyTheEnd) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kMaxPool2d,
            MaxPool2dAttrs{.kernel_size = {2, 2}, .stride = {1, 1}, .pads = {0, 0, 1, 1}}.ToAttrs(),
            nullptr, {Ramp({1, 1, 4, 5})}));
  EXPECT_EQ(out[0].shape(), (Shape{1, 1, 4, 5}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(6, 7, 8, 9, 9, 11, 12, 13, 14, 14, 16, 17, 18, 19,
                                                  19, 16, 17, 18, 19, 19));
}

// Same input, pads {1, 1, 0, 0} (SAME_LOWER), padding not counted.
TEST(AvgPool2d, PerSidePadsWithoutCountIncludePadAverageTheInside) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kAvgPool2d,
                                                         AvgPool2dAttrs{.kernel_size = {2, 2},
                                                                        .stride = {1, 1},
                                                                        .pads = {1, 1, 0, 0},
                                                                        .count_include_pad = false}
                                                             .ToAttrs(),
                                                         nullptr, {Ramp({1, 1, 4, 5})}));
  EXPECT_EQ(out[0].shape(), (Shape{1, 1, 4, 5}));
  const std::vector<float> expected = {0.0, 0.5, 1.5, 2.5,  3.5,  2.5,  3.0,  4.0,  5.0,  6.0,
                                       7.5, 8.0, 9.0, 10.0, 11.0, 12.5, 13.0, 14.0, 15.0, 16.0};
  // 1e-6: float32 sums and division.
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-6), expected));
}

// 3 x 3 ramp, kernel 3, pads 2 on every side (more than PyTorch's half kernel).
TEST(AvgPool2d, PadsUpToTheKernelExtentCountThePadding) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kAvgPool2d,
            AvgPool2dAttrs{.kernel_size = {3, 3}, .stride = {1, 1}, .pads = {2, 2, 2, 2}}.ToAttrs(),
            nullptr, {Ramp({1, 1, 3, 3})}));
  EXPECT_EQ(out[0].shape(), (Shape{1, 1, 5, 5}));
  const std::vector<float> expected = {0.0,       0.1111111, 0.3333333, 0.3333333, 0.2222222,
                                       0.3333333, 0.8888889, 1.6666666, 1.3333334, 0.7777778,
                                       1.0,       2.3333333, 4.0,       3.0,       1.6666666,
                                       1.0,       2.2222223, 3.6666667, 2.6666667, 1.4444444,
                                       0.6666667, 1.4444444, 2.3333333, 1.6666666, 0.8888889};
  // 1e-6: float32 sums and division.
  EXPECT_THAT(out[0].values<float>(), Pointwise(FloatNear(1e-6), expected));
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> max,
      RunOp(OpKind::kMaxPool2d,
            MaxPool2dAttrs{.kernel_size = {3, 3}, .stride = {1, 1}, .pads = {2, 2, 2, 2}}.ToAttrs(),
            nullptr, {Ramp({1, 1, 3, 3})}));
  EXPECT_THAT(max[0].values<float>(), ElementsAre(0, 1, 2, 2, 2, 3, 4, 5, 5, 5, 6, 7, 8, 8, 8, 6, 7,
                                                  8, 8, 8, 6, 7, 8, 8, 8));
}

TEST(Pool1d, MaxAndAverageAlongTheLastDim) {
  const Tensor x = *Tensor::FromVector({1, 1, 5}, {1, 3, -2, 5, 4});
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> max,
      RunOp(OpKind::kMaxPool1d,
            Pool1dAttrs{.kernel_size = 2, .stride = 1}.ToAttrs(OpKind::kMaxPool1d), nullptr, {x}));
  EXPECT_EQ(max[0].shape(), (Shape{1, 1, 4}));
  EXPECT_THAT(max[0].values<float>(), ElementsAre(3, 3, 5, 5));
  const Pool1dAttrs avg{.kernel_size = 3, .stride = 2, .padding = 1};
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> incl,
                          RunOp(OpKind::kAvgPool1d, avg.ToAttrs(OpKind::kAvgPool1d), nullptr, {x}));
  // 1e-6: float32 division.
  EXPECT_THAT(incl[0].values<float>(), Pointwise(FloatNear(1e-6), {4.0f / 3, 2.0f, 3.0f}));
  Pool1dAttrs excl_attrs = avg;
  excl_attrs.count_include_pad = false;
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> excl,
      RunOp(OpKind::kAvgPool1d, excl_attrs.ToAttrs(OpKind::kAvgPool1d), nullptr, {x}));
  EXPECT_THAT(excl[0].values<float>(), Pointwise(FloatNear(1e-6), {2.0f, 2.0f, 4.5f}));
  // Unbatched [C, L] and per-side pads {left 1, right 0}.
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> lower,
      RunOp(OpKind::kMaxPool1d,
            Pool1dAttrs{.kernel_size = 2, .stride = 1, .pads = {1, 0}}.ToAttrs(OpKind::kMaxPool1d),
            nullptr, {*x.Reshape({1, 5})}));
  EXPECT_EQ(lower[0].shape(), (Shape{1, 5}));
  EXPECT_THAT(lower[0].values<float>(), ElementsAre(1, 3, 3, 5, 5));
}

// ---------------------------------------------------------------------------------------------
// Attributes

TEST(PoolingAttrs, ToAttrsUsesPyTorchNames) {
  const AttrMap max = MaxPool2dAttrs{.kernel_size = {3, 3}, .stride = {2, 2}}.ToAttrs();
  EXPECT_EQ(max.at("kernel_size"), AttrValue(std::vector<int64_t>{3, 3}));
  EXPECT_EQ(max.at("stride"), AttrValue(std::vector<int64_t>{2, 2}));
  EXPECT_EQ(max.at("dilation"), AttrValue(std::vector<int64_t>{1, 1}));
  EXPECT_EQ(max.at("ceil_mode"), AttrValue(false));
  EXPECT_FALSE((MaxPool2dAttrs{.kernel_size = {2, 2}}.ToAttrs().contains("stride")));
  EXPECT_FALSE(max.contains("pads"));  // written only when set
  const AttrMap avg = AvgPool2dAttrs{.kernel_size = {2, 2}}.ToAttrs();
  EXPECT_EQ(avg.at("count_include_pad"), AttrValue(true));
  EXPECT_FALSE(avg.contains("divisor_override"));
  EXPECT_EQ(AdaptivePool2dAttrs{}.ToAttrs().at("output_size"),
            AttrValue(std::vector<int64_t>{1, 1}));
}

// ---------------------------------------------------------------------------------------------
// Errors

absl::StatusOr<ValueInfo> InferOn(OpKind kind, const AttrMap& attrs, const Shape& in) {
  return InferOp(kind, attrs, nullptr, {TensorValue(Tensor::Zeros(in))});
}

TEST(PoolingErrors, InputMustBe3DOr4D) {
  EXPECT_THAT(InferOn(OpKind::kMaxPool2d, {{"kernel_size", int64_t{2}}}, {3, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MaxPool2d 'node': input must be 3-D or 4-D [N, C, H, W], got [3, 4]"));
  EXPECT_THAT(InferOn(OpKind::kAdaptiveAvgPool2d, {{"output_size", int64_t{2}}}, {1, 1, 3, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "AdaptiveAvgPool2d 'node': input must be 3-D or 4-D [N, C, H, W], got "
                       "[1, 1, 3, 4, 4]"));
}

TEST(PoolingErrors, FlatIndicesNeedReturnIndicesAndAdaptiveIndicesAreUnimplemented) {
  EXPECT_THAT(InferOn(OpKind::kMaxPool2d, {{"kernel_size", int64_t{2}}, {"flat_indices", true}},
                      {1, 1, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("flat_indices=true needs return_indices=true")));
  EXPECT_THAT(InferOn(OpKind::kAdaptiveMaxPool2d,
                      {{"output_size", int64_t{2}}, {"return_indices", true}}, {1, 1, 4, 4}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       ::testing::HasSubstr("not supported by adaptive pooling")));
}

TEST(Pool3dErrors, InputWindowAndIndicesAreChecked) {
  EXPECT_THAT(InferOn(OpKind::kMaxPool3d, {{"kernel_size", int64_t{2}}}, {2, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MaxPool3d 'node': input must be 4-D or 5-D [N, C, D, H, W] with non-zero "
                       "C, D, H and W, got [2, 4, 4]"));
  EXPECT_THAT(InferOn(OpKind::kAvgPool3d,
                      Pool3dAttrs{.kernel_size = {2, 2, 2}, .padding = {0, 2, 0}}.ToAttrs(
                          OpKind::kAvgPool3d),
                      {1, 1, 4, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("padding [0, 2, 0] and kernel_size [2, 2, 2]")));
  EXPECT_THAT(
      InferOn(OpKind::kMaxPool3d, {{"kernel_size", std::vector<int64_t>{2, 2}}}, {1, 1, 4, 4, 4}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::HasSubstr("'kernel_size' must be an int or a list of 3 ints")));
  EXPECT_THAT(InferOn(OpKind::kMaxPool3d, {{"kernel_size", int64_t{2}}, {"return_indices", true}},
                      {1, 1, 4, 4, 4}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       ::testing::HasSubstr("return_indices=true is not supported")));
  // Unbatched [C, D, H, W].
  EXPECT_EQ(OutShape(OpKind::kMaxPool3d, {{"kernel_size", int64_t{2}}}, {3, 4, 5, 6}),
            (Shape{3, 2, 2, 3}));
}

TEST(PoolingErrors, NonBatchDimsMustBeNonZero) {
  EXPECT_THAT(InferOn(OpKind::kMaxPool2d, {{"kernel_size", int64_t{2}}}, {2, 0, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MaxPool2d 'node': input must have non-zero C, H and W, got [2, 0, 4, 4]"));
}

TEST(PoolingErrors, PaddingAtMostHalfTheKernel) {
  EXPECT_THAT(InferOn(OpKind::kAvgPool2d, {{"kernel_size", int64_t{2}}, {"padding", int64_t{2}}},
                      {1, 1, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "AvgPool2d 'node': pad should be at most half of kernel size, but got "
                       "padding [2, 2] and kernel_size [2, 2]"));
  // Compared with the kernel, not the dilated extent (as PyTorch).
  EXPECT_THAT(
      InferOn(OpKind::kMaxPool2d,
              {{"kernel_size", int64_t{3}}, {"padding", int64_t{2}}, {"dilation", int64_t{2}}},
              {1, 1, 9, 9}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::HasSubstr("padding [2, 2] and kernel_size [3, 3]")));
}

TEST(PoolingErrors, PerSidePadsBelowTheWindowExtent) {
  EXPECT_THAT(InferOn(OpKind::kMaxPool2d,
                      {{"kernel_size", int64_t{3}}, {"pads", std::vector<int64_t>{0, 3, 0, 0}}},
                      {1, 1, 6, 6}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MaxPool2d 'node': pads [0, 3, 0, 0] must be non-negative and below the "
                       "window's extent [3, 3]"));
  EXPECT_THAT(
      InferOn(OpKind::kAvgPool1d,
              {{"kernel_size", int64_t{2}}, {"pads", std::vector<int64_t>{-1, 0}}}, {1, 1, 6}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "AvgPool1d 'node': pads [-1, 0] must be non-negative and below the "
               "window's extent 2"));
  EXPECT_THAT(InferOn(OpKind::kAvgPool2d,
                      {{"kernel_size", int64_t{3}},
                       {"padding", int64_t{1}},
                       {"pads", std::vector<int64_t>{1, 1, 0, 0}}},
                      {1, 1, 6, 6}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "AvgPool2d 'node': give padding or pads, not both"));
  EXPECT_THAT(
      InferOn(OpKind::kAvgPool2d,
              {{"kernel_size", int64_t{3}}, {"pads", std::vector<int64_t>{1, 1}}}, {1, 1, 6, 6}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "AvgPool2d 'node': pads must be [top, left, bottom, right], got 2 values"));
}

TEST(PoolingErrors, Pool1dInputAndWindow) {
  EXPECT_THAT(InferOn(OpKind::kMaxPool1d, {{"kernel_size", int64_t{2}}}, {1, 1, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MaxPool1d 'node': input must be 2-D or 3-D [N, C, L] with non-zero C and "
                       "L, got [1, 1, 4, 4]"));
  EXPECT_THAT(InferOn(OpKind::kMaxPool1d, {{"kernel_size", std::vector<int64_t>{2, 2}}}, {1, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MaxPool1d 'node': attribute 'kernel_size' must be an int or a list of 1 "
                       "int, got [2, 2]"));
  EXPECT_THAT(
      InferOn(OpKind::kAvgPool1d, {{"kernel_size", int64_t{2}}, {"padding", int64_t{2}}}, {1, 4}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "AvgPool1d 'node': pad should be at most half of kernel size, but got "
               "padding 2 and kernel_size 2"));
  EXPECT_THAT(InferOn(OpKind::kAvgPool1d, {{"kernel_size", int64_t{5}}}, {1, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "AvgPool1d 'node': output size 0 is too small for input [1, 4]"));
}

TEST(PoolingErrors, OutputTooSmall) {
  EXPECT_THAT(InferOn(OpKind::kMaxPool2d, {{"kernel_size", int64_t{5}}}, {1, 1, 2, 2}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MaxPool2d 'node': output size [0, 0] is too small for input [1, 1, 2, 2]"));
}

TEST(PoolingErrors, WindowParametersMustBePositive) {
  EXPECT_THAT(InferOn(OpKind::kMaxPool2d, {{"kernel_size", std::vector<int64_t>{2, 0}}}, {1, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MaxPool2d 'node': kernel_size must be positive, got [2, 0]"));
  EXPECT_THAT(
      InferOn(OpKind::kAvgPool2d, {{"kernel_size", int64_t{2}}, {"stride", int64_t{0}}}, {1, 4, 4}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "AvgPool2d 'node': stride must be positive, got [0, 0]"));
  EXPECT_THAT(InferOn(OpKind::kMaxPool2d, {{"kernel_size", int64_t{2}}, {"dilation", int64_t{0}}},
                      {1, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MaxPool2d 'node': dilation must be positive, got [0, 0]"));
  EXPECT_THAT(InferOn(OpKind::kAdaptiveMaxPool2d, {{"output_size", int64_t{-1}}}, {1, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "AdaptiveMaxPool2d 'node': output_size must be non-negative, got [-1, -1]"));
}

TEST(PoolingErrors, RequiredAttributes) {
  EXPECT_THAT(
      InferOn(OpKind::kAvgPool2d, {}, {1, 4, 4}),
      StatusIs(absl::StatusCode::kInvalidArgument, "AvgPool2d 'node': kernel_size is required"));
  EXPECT_THAT(InferOn(OpKind::kAdaptiveAvgPool2d, {}, {1, 4, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "AdaptiveAvgPool2d 'node': output_size is required"));
}

TEST(PoolingErrors, MalformedPairAttribute) {
  EXPECT_THAT(
      InferOn(OpKind::kMaxPool2d, {{"kernel_size", std::vector<int64_t>{2, 2, 2}}}, {1, 4, 4}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::StartsWith("MaxPool2d 'node': attribute 'kernel_size'")));
}

}  // namespace
}  // namespace structprune
