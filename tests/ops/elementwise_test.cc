// add: equal shapes, every broadcasting pattern against an index-by-index reference, alpha,
// and the errors.
#include "ops/elementwise.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
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

// out[i] = a[broadcast i] + alpha * b[broadcast i], one output index at a time.
Tensor ReferenceAdd(const Tensor& a, const Tensor& b, const Shape& out_shape, float alpha) {
  Tensor out = Tensor::Zeros(out_shape);
  const size_t rank = out_shape.size();
  auto offset = [&](const Shape& s, const std::vector<int64_t>& index) {
    int64_t off = 0;
    for (size_t k = 0; k < s.size(); ++k) {
      const int64_t i = index[rank - s.size() + k];
      off = off * s[k] + (s[k] == 1 ? 0 : i);
    }
    return off;
  };
  std::vector<int64_t> index(rank, 0);
  for (int64_t flat = 0; flat < out.numel(); ++flat) {
    int64_t rest = flat;
    for (size_t d = rank; d-- > 0;) {
      index[d] = rest % out_shape[d];
      rest /= out_shape[d];
    }
    out.data<float>()[flat] = a.data<float>()[offset(a.shape(), index)] +
                              alpha * b.data<float>()[offset(b.shape(), index)];
  }
  return out;
}

struct BroadcastCase {
  std::string name;
  Shape a, b, out;
};
// ctest shows the case by name rather than as raw bytes.
void PrintTo(const BroadcastCase& c, std::ostream* os) { *os << c.name; }

class AddBroadcastTest : public ::testing::TestWithParam<BroadcastCase> {};

TEST_P(AddBroadcastTest, MatchesIndexByIndexReference) {
  const BroadcastCase& c = GetParam();
  Rng rng(3);
  Tensor a = rng.NormalTensor(c.a), b = rng.NormalTensor(c.b);
  for (double alpha : {1.0, -0.5}) {
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                            RunOp(OpKind::kAdd, {{"alpha", alpha}}, nullptr, {a, b}));
    ASSERT_EQ(out[0].shape(), c.out);
    // Same float operations in the same order: exact.
    EXPECT_TRUE(out[0].Equals(ReferenceAdd(a, b, c.out, static_cast<float>(alpha))))
        << c.name << " alpha " << alpha;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AddBroadcastTest,
    ::testing::Values(
        BroadcastCase{"same_shape", {2, 3, 4}, {2, 3, 4}, {2, 3, 4}},
        BroadcastCase{"nchw_channel_bias", {2, 3, 4, 4}, {1, 3, 1, 1}, {2, 3, 4, 4}},
        BroadcastCase{"lower_rank", {2, 3, 4}, {4}, {2, 3, 4}},
        BroadcastCase{"lower_rank_first", {4}, {2, 3, 4}, {2, 3, 4}},
        BroadcastCase{"both_broadcast", {2, 1, 4}, {3, 1}, {2, 3, 4}},
        BroadcastCase{"middle_dim", {2, 3, 4}, {2, 1, 4}, {2, 3, 4}},
        BroadcastCase{"column", {5, 3}, {5, 1}, {5, 3}},
        BroadcastCase{"outer_product", {4, 1}, {1, 6}, {4, 6}},
        BroadcastCase{"scalar", {2, 2}, {}, {2, 2}}, BroadcastCase{"scalar_first", {}, {3}, {3}},
        BroadcastCase{"both_scalar", {}, {}, {}}, BroadcastCase{"all_ones", {1, 1}, {1}, {1, 1}},
        BroadcastCase{"size_one_dims_between", {2, 1, 3, 1, 2}, {2, 1, 3, 1, 2}, {2, 1, 3, 1, 2}},
        BroadcastCase{"five_dims_mixed", {2, 1, 3, 1, 2}, {1, 4, 3, 5, 1}, {2, 4, 3, 5, 2}},
        BroadcastCase{"empty", {0, 3}, {3}, {0, 3}},
        BroadcastCase{"empty_from_broadcast", {1, 3}, {0, 1}, {0, 3}}),
    [](const auto& info) { return info.param.name; });

TEST(Add, SameShapeValues) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kAdd, {}, nullptr,
                                                         {*Tensor::FromVector({3}, {1, 2, 3}),
                                                          *Tensor::FromVector({3}, {10, 20, 30})}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(11, 22, 33));
}

TEST(Add, AlphaScalesTheSecondOperand) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOp(OpKind::kAdd, {{"alpha", 2.0}}, nullptr,
                                                         {*Tensor::FromVector({2, 2}, {1, 2, 3, 4}),
                                                          *Tensor::FromVector({2}, {10, 100})}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(21, 202, 23, 204));
}

TEST(Add, IntegerAlphaIsAccepted) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunOp(OpKind::kAdd, {{"alpha", int64_t{-1}}}, nullptr,
                                {Tensor::Full({2}, 5.0f), Tensor::Full({2}, 2.0f)}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(3, 3));
}

TEST(AddErrors, ShapesThatDoNotBroadcast) {
  EXPECT_THAT(InferOp(OpKind::kAdd, {}, nullptr,
                      {TensorValue(Tensor::Zeros({2, 3})), TensorValue(Tensor::Zeros({4}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "add 'node': shapes [2, 3] and [4] do not broadcast: sizes 3 and 4 in "
                       "output dimension 1"));
}

TEST(AddErrors, NeedsTwoTensorInputs) {
  EXPECT_THAT(InferOp(OpKind::kAdd, {}, nullptr, {TensorValue(Tensor::Zeros({2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("add 'node': expects 2 input(s), got 1")));
}

TEST(AddErrors, AlphaMustBeANumber) {
  EXPECT_THAT(InferOp(OpKind::kAdd, {{"alpha", std::string("two")}}, nullptr,
                      {TensorValue(Tensor::Zeros({2})), TensorValue(Tensor::Zeros({2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("add 'node': attribute 'alpha'")));
}

TEST(Add, WrapToEightBitsWrapsTheSumLikeOnnxIntegerAdd) {
  const Tensor a = *Tensor::FromVector({4}, std::vector<float>{200, 255, 3, 0});
  const Tensor b = *Tensor::FromVector({4}, std::vector<float>{100, 1, 4, 0});
  SP_ASSERT_OK_AND_ASSIGN(
      auto u, RunOp(OpKind::kAdd, {{"wrap_to", std::string("uint8")}}, nullptr, {a, b}));
  EXPECT_THAT(u[0].values<float>(), ElementsAre(44, 0, 7, 0));  // modulo 256
  const Tensor c = *Tensor::FromVector({4}, std::vector<float>{100, -128, 127, -3});
  const Tensor d = *Tensor::FromVector({4}, std::vector<float>{100, -1, 1, 2});
  SP_ASSERT_OK_AND_ASSIGN(auto s,
                          RunOp(OpKind::kAdd, {{"wrap_to", std::string("int8")}}, nullptr, {c, d}));
  EXPECT_THAT(s[0].values<float>(), ElementsAre(-56, 127, -128, -1));  // two's complement
}

TEST(AddErrors, WrapToMustNameAnEightBitType) {
  EXPECT_THAT(InferOp(OpKind::kAdd, {{"wrap_to", std::string("int16")}}, nullptr,
                      {TensorValue(Tensor::Zeros({2})), TensorValue(Tensor::Zeros({2}))}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "add 'node': wrap_to must be \"int8\" or \"uint8\", got \"int16\""));
}

}  // namespace
}  // namespace structprune
