// reshape: torch.reshape's shapes (-1 inferred, size-0 dims), a view of its input, errors.
#include "ops/reshape.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "ops/registry.h"
#include "tests/testing/op_runner.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::InferOp;
using ::structprune::testing::RunOpValue;
using ::structprune::testing::StatusIs;
using ::structprune::testing::TensorValue;

absl::StatusOr<Shape> ReshapeShape(const Shape& in, std::vector<int64_t> shape) {
  absl::StatusOr<ValueInfo> info = InferOp(OpKind::kReshape, ReshapeAttrs{.shape = shape}.ToAttrs(),
                                           nullptr, {TensorValue(Tensor::Zeros(in))});
  if (!info.ok()) return info.status();
  return info->shape;
}

TEST(Reshape, InfersTheMinusOneDim) {
  SP_ASSERT_OK_AND_ASSIGN(Shape s, ReshapeShape({2, 3, 4}, {4, -1, 3}));
  EXPECT_EQ(s, (Shape{4, 2, 3}));
  SP_ASSERT_OK_AND_ASSIGN(s, ReshapeShape({2, 3, 4}, {1, 2, 3, 1, 4}));
  EXPECT_EQ(s, (Shape{1, 2, 3, 1, 4}));
}

TEST(Reshape, ZeroIsASizeZeroDim) {
  // Unlike ONNX's 0 (copy the dim), PyTorch's 0 is a size.
  SP_ASSERT_OK_AND_ASSIGN(Shape s, ReshapeShape({0, 3, 4}, {3, 4, 0}));
  EXPECT_EQ(s, (Shape{3, 4, 0}));
}

TEST(Reshape, OutputIsAViewOfTheInput) {
  Tensor x = Tensor::Zeros({2, 3});
  for (int64_t i = 0; i < 6; ++i) x.data<float>()[i] = static_cast<float>(i);
  SP_ASSERT_OK_AND_ASSIGN(
      Value y, RunOpValue(OpKind::kReshape, ReshapeAttrs{.shape = {3, -1}}.ToAttrs(), nullptr,
                          {TensorValue(x)}));
  EXPECT_EQ(y.tensor.shape(), (Shape{3, 2}));
  EXPECT_TRUE(y.tensor.SharesStorageWith(x));
  EXPECT_THAT(y.tensor.values<float>(), ::testing::ElementsAre(0, 1, 2, 3, 4, 5));
}

TEST(Reshape, ShapeMustHoldTheElementCount) {
  EXPECT_THAT(ReshapeShape({2, 3, 4}, {5, 5}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "reshape 'node': shape [5, 5] is invalid for input [2, 3, 4] of 24 "
                       "elements"));
  EXPECT_THAT(ReshapeShape({2, 3, 4}, {5, -1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "reshape 'node': shape [5, -1] is invalid for input [2, 3, 4] of 24 "
                       "elements"));
}

TEST(Reshape, RejectsTwoMinusOnesAndOtherNegativeSizes) {
  EXPECT_THAT(ReshapeShape({2, 3}, {-1, -1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "reshape 'node': shape [-1, -1] has more than one -1"));
  EXPECT_THAT(ReshapeShape({2, 3}, {-2, 3}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "reshape 'node': shape [-2, 3] has the invalid size -2"));
}

TEST(Reshape, ShapeAttributeIsRequired) {
  EXPECT_THAT(InferOp(OpKind::kReshape, {}, nullptr, {TensorValue(Tensor::Zeros({2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "reshape 'node': attribute 'shape' is required"));
}

}  // namespace
}  // namespace structprune
