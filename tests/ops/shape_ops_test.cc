// flatten, getitem, cat, identity / dropout: shapes, aliasing, values and errors.
#include "ops/shape_ops.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "graph/module.h"
#include "ops/dropout.h"
#include "ops/registry.h"
#include "tests/testing/op_runner.h"
#include "tests/testing/golden.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::InferOp;
using ::structprune::testing::RunOp;
using ::structprune::testing::RunOpValue;
using ::structprune::testing::StatusIs;
using ::structprune::testing::Iota;
using ::structprune::testing::TensorValue;
using ::structprune::testing::TupleValue;
using ::testing::ElementsAre;

absl::StatusOr<Shape> FlattenShape(const Module* module, const AttrMap& attrs, const Shape& in) {
  absl::StatusOr<ValueInfo> info =
      InferOp(OpKind::kFlatten, attrs, module, {TensorValue(Tensor::Zeros(in))});
  if (!info.ok()) return info.status();
  return info->shape;
}

MATCHER_P(HoldsShape, shape, "is OK and holds " + ShapeToString(shape)) {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  *result_listener << "shape is " << ShapeToString(*arg);
  return *arg == shape;
}

// ---------------------------------------------------------------------------------------------
// flatten

TEST(Flatten, ModuleDefaultsKeepTheBatchDim) {
  Module m(OpKind::kFlatten, FlattenAttrs{}.ToAttrs());
  EXPECT_THAT(FlattenShape(&m, m.attrs(), {2, 3, 2, 2}), HoldsShape(Shape{2, 12}));
  Module empty_attrs(OpKind::kFlatten, {});
  EXPECT_THAT(FlattenShape(&empty_attrs, {}, {2, 3, 2, 2}), HoldsShape(Shape{2, 12}));
}

TEST(Flatten, FunctionalDefaultsFlattenEverything) {
  // torch.flatten's start_dim is 0, unlike nn.Flatten's.
  EXPECT_THAT(FlattenShape(nullptr, {}, {2, 3, 2, 2}), HoldsShape(Shape{24}));
}

TEST(Flatten, NegativeAndEqualDims) {
  EXPECT_THAT(
      FlattenShape(nullptr, {{"start_dim", int64_t{-3}}, {"end_dim", int64_t{-2}}}, {2, 3, 4, 5}),
      HoldsShape(Shape{2, 12, 5}));
  EXPECT_THAT(
      FlattenShape(nullptr, {{"start_dim", int64_t{1}}, {"end_dim", int64_t{1}}}, {2, 3, 4}),
      HoldsShape(Shape{2, 3, 4}));
  EXPECT_THAT(FlattenShape(nullptr, {{"start_dim", int64_t{1}}}, {2, 0, 3}),
              HoldsShape(Shape{2, 0}));
}

TEST(Flatten, ScalarBecomesOneElementVector) {
  EXPECT_THAT(FlattenShape(nullptr, {}, {}), HoldsShape(Shape{1}));
}

TEST(Flatten, OutputSharesInputStorage) {
  Tensor x = Iota({2, 3, 2});
  Module m(OpKind::kFlatten, FlattenAttrs{}.ToAttrs());
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kFlatten, m.attrs(), &m, {x}));
  EXPECT_EQ(out[0].shape(), (Shape{2, 6}));
  EXPECT_TRUE(out[0].SharesStorageWith(x));
  EXPECT_EQ(out[0].data<float>()[7], 7.0f);
}

TEST(FlattenErrors, ModuleStartDimOutOfRange) {
  // nn.Flatten() on a 1-D or 0-D tensor fails in PyTorch too (start_dim 1 out of range).
  Module m(OpKind::kFlatten, FlattenAttrs{}.ToAttrs());
  EXPECT_THAT(FlattenShape(&m, m.attrs(), {3}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Flatten 'node': start_dim 1 is out of range [-1, 0] for input [3]"));
  EXPECT_THAT(FlattenShape(&m, m.attrs(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Flatten 'node': start_dim 1 is out of range [-1, 0] for input []"));
  EXPECT_THAT(FlattenShape(nullptr, {{"end_dim", int64_t{-4}}}, {2, 3, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Flatten 'node': end_dim -4 is out of range [-3, 2] for input [2, 3, 4]"));
}

TEST(FlattenErrors, StartAfterEnd) {
  EXPECT_THAT(
      FlattenShape(nullptr, {{"start_dim", int64_t{2}}, {"end_dim", int64_t{1}}}, {2, 3, 4}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Flatten 'node': start_dim 2 comes after end_dim 1 for input [2, 3, 4]"));
}

TEST(FlattenAttrs, ToAttrsHoldsModuleDefaults) {
  const AttrMap a = FlattenAttrs{}.ToAttrs();
  EXPECT_EQ(a.at("start_dim"), AttrValue(int64_t{1}));
  EXPECT_EQ(a.at("end_dim"), AttrValue(int64_t{-1}));
}

// ---------------------------------------------------------------------------------------------
// getitem

// (a [2], (b [3], c [1])), LSTM-like nesting.
Value NestedTuple(Tensor a, Tensor b, Tensor c) {
  return TupleValue({TensorValue(a), TupleValue({TensorValue(b), TensorValue(c)})});
}

TEST(GetItem, SelectsATensorSharingItsStorage) {
  Tensor a = Iota({2});
  SP_ASSERT_OK_AND_ASSIGN(Value out, RunOpValue(OpKind::kGetItem, {{"index", int64_t{0}}}, nullptr,
                                                {NestedTuple(a, Iota({3}), Iota({1}))}));
  ASSERT_FALSE(out.is_tuple);
  EXPECT_TRUE(out.tensor.SharesStorageWith(a));
}

TEST(GetItem, SelectsANestedTupleWithNegativeIndex) {
  Tensor b = Iota({3}, 10.0f), c = Iota({1}, 20.0f);
  const std::vector<Value> inputs = {NestedTuple(Iota({2}), b, c)};
  SP_ASSERT_OK_AND_ASSIGN(ValueInfo info,
                          InferOp(OpKind::kGetItem, {{"index", int64_t{-1}}}, nullptr, inputs));
  EXPECT_EQ(info.ToString(), "([3], [1])");
  SP_ASSERT_OK_AND_ASSIGN(Value out,
                          RunOpValue(OpKind::kGetItem, {{"index", int64_t{-1}}}, nullptr, inputs));
  ASSERT_TRUE(out.is_tuple);
  ASSERT_EQ(out.items.size(), 2u);
  EXPECT_TRUE(out.items[0].tensor.SharesStorageWith(b));
  EXPECT_TRUE(out.items[1].tensor.SharesStorageWith(c));
}

TEST(GetItemErrors, InputMustBeATuple) {
  EXPECT_THAT(InferOp(OpKind::kGetItem, {{"index", int64_t{0}}}, nullptr,
                      {TensorValue(Tensor::Zeros({2, 3}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "getitem 'node': input must be a tuple, got a tensor [2, 3]"));
}

TEST(GetItemErrors, IndexOutOfRange) {
  const std::vector<Value> inputs = {
      TupleValue({TensorValue(Tensor::Zeros({2})), TensorValue(Tensor::Zeros({3}))})};
  EXPECT_THAT(
      InferOp(OpKind::kGetItem, {{"index", int64_t{2}}}, nullptr, inputs),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "getitem 'node': index 2 is out of range for a tuple of 2 items ([2], [3])"));
  EXPECT_THAT(InferOp(OpKind::kGetItem, {{"index", int64_t{-3}}}, nullptr, inputs),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("index -3 is out of range")));
  EXPECT_THAT(InferOp(OpKind::kGetItem, {}, nullptr, inputs),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "getitem 'node': attribute 'index' is required"));
}

// ---------------------------------------------------------------------------------------------
// cat

TEST(Cat, ConcatenatesAlongDim1) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kCat, {{"dim", int64_t{1}}}, nullptr,
                                {Iota({2, 2, 2}), Iota({2, 1, 2}, 100.0f)}));
  EXPECT_EQ(out[0].shape(), (Shape{2, 3, 2}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(0, 1, 2, 3, 100, 101, 4, 5, 6, 7, 102, 103));
}

TEST(Cat, DefaultDimIsZero) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kCat, {}, nullptr, {Iota({1, 2}), Iota({2, 2}, 10.0f)}));
  EXPECT_EQ(out[0].shape(), (Shape{3, 2}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(0, 1, 10, 11, 12, 13));
}

TEST(Cat, NegativeDimWithThreeInputs) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kCat, {{"dim", int64_t{-1}}}, nullptr,
                                {Iota({2, 1}), Iota({2, 2}, 10.0f), Iota({2, 1}, 20.0f)}));
  EXPECT_EQ(out[0].shape(), (Shape{2, 4}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(0, 10, 11, 20, 1, 12, 13, 21));
}

TEST(Cat, SkipsOneDimEmptyInputsLikePyTorch) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kCat, {{"dim", int64_t{1}}}, nullptr,
                                {Tensor::Zeros({0}), Iota({2, 3}), Tensor::Zeros({0})}));
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(0, 1, 2, 3, 4, 5));
}

TEST(CatErrors, RanksMustMatch) {
  EXPECT_THAT(InferOp(OpKind::kCat, {}, nullptr,
                      {TensorValue(Tensor::Zeros({2, 3})), TensorValue(Tensor::Zeros({2, 3, 4}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "cat 'node': input 1 [2, 3, 4] has 3 dimensions, input 0 [2, 3] has 2"));
}

TEST(CatErrors, SizesMustMatchExceptAlongDim) {
  EXPECT_THAT(InferOp(OpKind::kCat, {}, nullptr,
                      {TensorValue(Tensor::Zeros({2, 3})), TensorValue(Tensor::Zeros({3, 4}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "cat 'node': input 1 has shape [3, 4], input 0 has [2, 3]: sizes must "
                       "match except in dimension 0"));
}

TEST(CatErrors, DimOutOfRange) {
  EXPECT_THAT(
      InferOp(OpKind::kCat, {{"dim", int64_t{2}}}, nullptr, {TensorValue(Tensor::Zeros({2, 3}))}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "cat 'node': dim 2 is out of range [-2, 1] for input 0 [2, 3]"));
}

TEST(CatErrors, ScalarsAndTuplesAndNothing) {
  EXPECT_THAT(InferOp(OpKind::kCat, {}, nullptr, {TensorValue(Tensor::Scalar(1.0f))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "cat 'node': input 0 is 0-D; zero-dimensional tensors cannot be "
                       "concatenated"));
  EXPECT_THAT(
      InferOp(OpKind::kCat, {}, nullptr, {}),
      StatusIs(absl::StatusCode::kInvalidArgument, "cat 'node': expects at least 1 input, got 0"));
  EXPECT_THAT(
      InferOp(OpKind::kCat, {}, nullptr,
              {TensorValue(Tensor::Zeros({2})), TupleValue({TensorValue(Tensor::Zeros({2}))})}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::HasSubstr("cat 'node': input 1 is a tuple")));
}

// ---------------------------------------------------------------------------------------------
// identity, dropout

TEST(Identity, ReturnsTheInputItself) {
  Tensor x = Iota({2, 3});
  Module m(OpKind::kIdentity, {});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kIdentity, {}, &m, {x}));
  EXPECT_TRUE(out[0].SharesStorageWith(x));
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
}

TEST(Identity, PassesTuplesThrough) {
  const std::vector<Value> inputs = {NestedTuple(Iota({2}), Iota({3}), Iota({1}))};
  SP_ASSERT_OK_AND_ASSIGN(ValueInfo info, InferOp(OpKind::kIdentity, {}, nullptr, inputs));
  EXPECT_EQ(info.ToString(), "([2], ([3], [1]))");
}

TEST(Dropout, IsIdentityAtInference) {
  Tensor x = Iota({2, 3});
  Module m(OpKind::kDropout, {{"p", 0.5}});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> module_out,
                          RunOp(OpKind::kDropout, m.attrs(), &m, {x}));
  EXPECT_TRUE(module_out[0].SharesStorageWith(x));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> fn_out,
                          RunOp(OpKind::kDropout, {{"p", 0.2}, {"training", false}}, nullptr, {x}));
  EXPECT_TRUE(fn_out[0].SharesStorageWith(x));
}

TEST(Dropout, ReturnMaskGivesTheInputAndAnAllTrueMask) {
  Tensor x = Iota({2, 3});
  SP_ASSERT_OK_AND_ASSIGN(
      ValueInfo info,
      InferOp(OpKind::kDropout, DropoutAttrs{.p = 0.3, .return_mask = true}.ToAttrs(), nullptr,
              {TensorValue(x)}));
  EXPECT_EQ(info.ToString(), "([2, 3], bool[2, 3])");
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kDropout, DropoutAttrs{.p = 0.3, .return_mask = true}.ToAttrs(), nullptr, {x}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].SharesStorageWith(x));
  EXPECT_EQ(out[1].dtype(), DType::kBool);
  EXPECT_EQ(out[1].shape(), (Shape{2, 3}));
  EXPECT_THAT(out[1].values<bool>(), ::testing::Each(true));
}

TEST(DropoutErrors, BoolInputIsRefused) {
  EXPECT_THAT(
      InferOp(OpKind::kDropout, {}, nullptr, {TensorValue(Tensor::Zeros({2}, DType::kBool))}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "Dropout 'node': input 0 is a bool[2] tensor; only float32 tensors are "
               "supported"));
}

TEST(Dropout, SeededTrainingModeDrawsNumpysLegacyStream) {
  // numpy: np.random.seed(0); np.random.uniform(0, 1, 6) = [0.5488135, 0.71518937, 0.60276338,
  // 0.54488318, 0.4236548, 0.64589411]; p = 0.5 drops element 4 only, the rest scale by 2.
  const Tensor x = *Tensor::FromVector({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  const AttrMap attrs =
      DropoutAttrs{.p = 0.5, .training = true, .return_mask = true, .seed = 0}.ToAttrs();
  for (int run = 0; run < 2; ++run) {  // the same seed gives the same mask on every run
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kDropout, attrs, nullptr, {x}));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_THAT(out[0].values<float>(), ElementsAre(2, 4, 6, 8, 0, 12));
    EXPECT_THAT(out[1].values<bool>(), ElementsAre(true, true, true, true, false, true));
  }
  // np.random.seed(42): uniform draws [0.3745, 0.9507, 0.7320, 0.5987, 0.1560, 0.1560]; p = 0.25
  // keeps the first four, scaled by the float32 1 / 0.75.
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kDropout, DropoutAttrs{.p = 0.25, .training = true, .seed = 42}.ToAttrs(),
            nullptr, {x}));
  const float scale = 1.0f / 0.75f;
  EXPECT_THAT(out[0].values<float>(), ElementsAre(scale, 2 * scale, 3 * scale, 4 * scale, 0, 0));
}

TEST(Dropout, UnseededTrainingModeKeepsOrZeroesAndScales) {
  Tensor x = Tensor::Full({4096}, 3.0f);
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOp(OpKind::kDropout, DropoutAttrs{.p = 0.5, .training = true}.ToAttrs(), nullptr, {x}));
  int64_t kept = 0;
  for (float v : out[0].values<float>()) {
    ASSERT_TRUE(v == 0.0f || v == 6.0f) << v;
    kept += v != 0.0f;
  }
  // Binomial(4096, 0.5): mean 2048, standard deviation 32; 8 deviations is never reached.
  EXPECT_NEAR(kept, 2048, 256);
}

TEST(DropoutErrors, SeedMustFitNumpysLegacySeeding) {
  EXPECT_THAT(InferOp(OpKind::kDropout, DropoutAttrs{.training = true, .seed = -1}.ToAttrs(),
                      nullptr, {TensorValue(Tensor::Zeros({2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Dropout 'node': seed must lie in [0, 2^32 - 1] (numpy's legacy seeding), "
                       "got -1"));
}

TEST(DropoutErrors, ProbabilityMustBeInUnitInterval) {
  EXPECT_THAT(InferOp(OpKind::kDropout, {{"p", 1.5}}, nullptr, {TensorValue(Tensor::Zeros({2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Dropout 'node': dropout probability has to be between 0 and 1, got 1.5"));
}

}  // namespace
}  // namespace structprune
