// transpose: torch.transpose's shapes and values (matrix and inner dims), errors.
#include "ops/transpose.h"

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
using ::structprune::testing::Iota;
using ::structprune::testing::TensorValue;
using ::testing::ElementsAre;

TEST(Transpose, SwapsTheDimsOfAMatrix) {
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> y,
      RunOp(OpKind::kTranspose, TransposeAttrs{}.ToAttrs(), nullptr, {Iota({2, 3})}));
  EXPECT_EQ(y[0].shape(), (Shape{3, 2}));
  EXPECT_THAT(y[0].values<float>(), ElementsAre(0, 3, 1, 4, 2, 5));
}

TEST(Transpose, SwapsDimsAroundAnInnerOne) {
  // [2, 1, 3] -> transpose(0, -1) -> [3, 1, 2]: y[k, 0, i] = x[i, 0, k].
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y,
                          RunOp(OpKind::kTranspose, TransposeAttrs{.dim0 = 0, .dim1 = -1}.ToAttrs(),
                                nullptr, {Iota({2, 1, 3})}));
  EXPECT_EQ(y[0].shape(), (Shape{3, 1, 2}));
  EXPECT_THAT(y[0].values<float>(), ElementsAre(0, 3, 1, 4, 2, 5));
  // [2, 2, 2] -> transpose(1, 2): y[a, c, b] = x[a, b, c], inner blocks keep their rows.
  SP_ASSERT_OK_AND_ASSIGN(
      y, RunOp(OpKind::kTranspose, TransposeAttrs{.dim0 = 1, .dim1 = 2}.ToAttrs(), nullptr,
               {Iota({2, 2, 2})}));
  EXPECT_THAT(y[0].values<float>(), ElementsAre(0, 2, 1, 3, 4, 6, 5, 7));
  // [2, 3, 2] -> transpose(0, 1): whole rows of 2 move.
  SP_ASSERT_OK_AND_ASSIGN(
      y, RunOp(OpKind::kTranspose, TransposeAttrs{}.ToAttrs(), nullptr, {Iota({2, 3, 2})}));
  EXPECT_EQ(y[0].shape(), (Shape{3, 2, 2}));
  EXPECT_THAT(y[0].values<float>(), ElementsAre(0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11));
}

TEST(Transpose, SameDimIsACopy) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y,
                          RunOp(OpKind::kTranspose, TransposeAttrs{.dim0 = 1, .dim1 = 1}.ToAttrs(),
                                nullptr, {Iota({2, 3})}));
  EXPECT_THAT(y[0].values<float>(), ElementsAre(0, 1, 2, 3, 4, 5));
}

TEST(Transpose, DimOutOfRangeNamesIt) {
  EXPECT_THAT(InferOp(OpKind::kTranspose, TransposeAttrs{.dim0 = 0, .dim1 = 2}.ToAttrs(), nullptr,
                      {TensorValue(Tensor::Zeros({2, 3}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "transpose 'node': dim1 2 is out of range [-2, 1] for input [2, 3]"));
}

}  // namespace
}  // namespace structprune
