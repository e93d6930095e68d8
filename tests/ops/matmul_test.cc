// matmul: torch.matmul's shapes (1-D operands, broadcast batch dims), values and errors.
#include "ops/matmul.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "ops/registry.h"
#include "tests/testing/op_runner.h"
#include "tests/testing/golden.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::InferOp;
using ::structprune::testing::RunOp;
using ::structprune::testing::StatusIs;
using ::structprune::testing::Values;
using ::structprune::testing::TensorValue;
using ::testing::ElementsAre;

absl::StatusOr<Shape> MatmulShape(const Shape& a, const Shape& b) {
  absl::StatusOr<ValueInfo> info = InferOp(
      OpKind::kMatmul, {}, nullptr, {TensorValue(Tensor::Zeros(a)), TensorValue(Tensor::Zeros(b))});
  if (!info.ok()) return info.status();
  return info->shape;
}

TEST(Matmul, MultipliesMatrices) {
  // [[1, 2, 3], [4, 5, 6]] x [[1, 0], [0, 1], [1, 1]]
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunOp(OpKind::kMatmul, {}, nullptr,
                                                       {Values({2, 3}, {1, 2, 3, 4, 5, 6}),
                                                        Values({3, 2}, {1, 0, 0, 1, 1, 1})}));
  EXPECT_EQ(y[0].shape(), (Shape{2, 2}));
  EXPECT_THAT(y[0].values<float>(), ElementsAre(4, 5, 10, 11));
}

TEST(Matmul, BroadcastsBatchDims) {
  // input [2, 1, 1, 2]: rows [1, 2] and [3, 4]; other [3, 2, 1]: columns [1, 0], [0, 1], [1, 1].
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunOp(OpKind::kMatmul, {}, nullptr,
                                                       {Values({2, 1, 1, 2}, {1, 2, 3, 4}),
                                                        Values({3, 2, 1}, {1, 0, 0, 1, 1, 1})}));
  EXPECT_EQ(y[0].shape(), (Shape{2, 3, 1, 1}));
  EXPECT_THAT(y[0].values<float>(), ElementsAre(1, 2, 3, 3, 4, 7));
}

TEST(Matmul, SharedOtherIsOneProductOfAllRows) {
  // [2, 2, 2] x [2, 1]: every batch times the same column [1, -1].
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> y,
      RunOp(OpKind::kMatmul, {}, nullptr,
            {Values({2, 2, 2}, {1, 2, 3, 5, 8, 13, 21, 34}), Values({2, 1}, {1, -1})}));
  EXPECT_EQ(y[0].shape(), (Shape{2, 2, 1}));
  EXPECT_THAT(y[0].values<float>(), ElementsAre(-1, -2, -5, -13));
}

TEST(Matmul, OneDimOperandsFollowTorch) {
  SP_ASSERT_OK_AND_ASSIGN(Shape dot, MatmulShape({3}, {3}));
  EXPECT_EQ(dot, Shape{});
  SP_ASSERT_OK_AND_ASSIGN(Shape row, MatmulShape({3}, {2, 3, 4}));
  EXPECT_EQ(row, (Shape{2, 4}));
  SP_ASSERT_OK_AND_ASSIGN(Shape column, MatmulShape({2, 5, 3}, {3}));
  EXPECT_EQ(column, (Shape{2, 5}));
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> y,
      RunOp(OpKind::kMatmul, {}, nullptr, {Values({3}, {1, 2, 3}), Values({3}, {4, 5, 6})}));
  EXPECT_THAT(y[0].values<float>(), ElementsAre(32));
}

TEST(Matmul, EmptyInnerDimGivesZeros) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> y,
      RunOp(OpKind::kMatmul, {}, nullptr, {Tensor::Zeros({2, 0}), Tensor::Zeros({0, 3})}));
  EXPECT_EQ(y[0].shape(), (Shape{2, 3}));
  EXPECT_THAT(y[0].values<float>(), ElementsAre(0, 0, 0, 0, 0, 0));
}

TEST(Matmul, InnerDimsMustAgree) {
  EXPECT_THAT(MatmulShape({2, 3}, {4, 2}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "matmul 'node': shapes [2, 3] and [4, 2] cannot be multiplied: input has 3 "
                       "columns, other has 4 rows"));
}

TEST(Matmul, BatchDimsMustBroadcast) {
  EXPECT_THAT(MatmulShape({2, 3, 4}, {3, 4, 5}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "matmul 'node': batch dims of [2, 3, 4] and [3, 4, 5] do not broadcast: "
                       "sizes 2 and 3 in batch dimension 0"));
}

TEST(Matmul, ZeroDimOperandIsAnError) {
  EXPECT_THAT(MatmulShape({}, {3}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "matmul 'node': both arguments need at least 1 dimension, got [] and [3]"));
}

}  // namespace
}  // namespace structprune
