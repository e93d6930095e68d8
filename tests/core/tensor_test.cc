#include "core/tensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>

#include "core/index_select.h"
#include "core/rng.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Tensor, StorageIs64ByteAligned) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::Zeros({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data<float>()) % 64, 0u) << n;
  }
}

TEST(Tensor, CopiesShareStorageCloneDoesNot) {
  Tensor a = Tensor::Full({2, 2}, 1.0f);
  Tensor b = a;
  Tensor c = a.Clone();
  a.data<float>()[0] = 5.0f;
  EXPECT_EQ(b.data<float>()[0], 5.0f);
  EXPECT_EQ(c.data<float>()[0], 1.0f);
  EXPECT_TRUE(a.SharesStorageWith(b));
  EXPECT_FALSE(a.SharesStorageWith(c));
}

TEST(Tensor, FromVectorRejectsWrongCount) {
  EXPECT_THAT(Tensor::FromVector({2, 3}, {1, 2, 3}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shape [2, 3] needs 6 values, got 3")));
}

TEST(Tensor, ReshapeKeepsDataAndChecksCount) {
  SP_ASSERT_OK_AND_ASSIGN(Tensor t, Tensor::FromVector({2, 3}, {1, 2, 3, 4, 5, 6}));
  SP_ASSERT_OK_AND_ASSIGN(Tensor r, t.Reshape({3, 2}));
  EXPECT_THAT(r.values<float>(), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_EQ(r.size(-1), 2);
  EXPECT_THAT(t.Reshape({4}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot reshape [2, 3] to [4]")));
}

TEST(Tensor, CompareReportsMaxDiffAndScale) {
  SP_ASSERT_OK_AND_ASSIGN(Tensor a, Tensor::FromVector({3}, {1.0f, 2.0f, -3.0f}));
  SP_ASSERT_OK_AND_ASSIGN(Tensor b, Tensor::FromVector({3}, {1.0f, 2.5f, -4.0f}));
  SP_ASSERT_OK_AND_ASSIGN(TensorDiff d, CompareTensors(a, b));
  EXPECT_FLOAT_EQ(d.max_abs, 1.0f);
  EXPECT_FLOAT_EQ(d.max_ref, 4.0f);
  EXPECT_THAT(CompareTensors(a, Tensor::Zeros({2})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shape mismatch: [3] vs [2]")));
}

TEST(IndexSelect, SelectsRowsAndColumnsInGivenOrder) {
  SP_ASSERT_OK_AND_ASSIGN(Tensor t, Tensor::FromVector({3, 4}, {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}));
  SP_ASSERT_OK_AND_ASSIGN(Tensor rows, SelectRows(t, {2, 0}));
  EXPECT_EQ(rows.shape(), Shape({2, 4}));
  EXPECT_THAT(rows.values<float>(), ElementsAre(20, 21, 22, 23, 0, 1, 2, 3));
  SP_ASSERT_OK_AND_ASSIGN(Tensor cols, SelectCols(t, {1, 3}));
  EXPECT_THAT(cols.values<float>(), ElementsAre(1, 3, 11, 13, 21, 23));
}

TEST(IndexSelect, SelectsInnerDimOfConvWeights) {
  // weights [OC=2, IC=3, KH=1, KW=2]: keep input channels 0 and 2.
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[i] = static_cast<float>(i);
  SP_ASSERT_OK_AND_ASSIGN(Tensor w, Tensor::FromVector({2, 3, 1, 2}, v));
  SP_ASSERT_OK_AND_ASSIGN(Tensor s, SelectCols(w, {0, 2}));
  EXPECT_EQ(s.shape(), Shape({2, 2, 1, 2}));
  EXPECT_THAT(s.values<float>(), ElementsAre(0, 1, 4, 5, 6, 7, 10, 11));
}

// One-byte (bool) and four-byte entries are gathered element by element, wider slices by
// memcpy: every path keeps the order of `keep`.
TEST(IndexSelect, SelectsSingleEntriesOfEveryWidth) {
  SP_ASSERT_OK_AND_ASSIGN(Tensor mask, Tensor::FromBools({2, 3}, {true, false, false, false, true, true}));
  SP_ASSERT_OK_AND_ASSIGN(Tensor mask_cols, SelectCols(mask, {2, 0}));
  EXPECT_EQ(mask_cols.shape(), Shape({2, 2}));
  EXPECT_THAT(std::vector<bool>(mask_cols.data<bool>(), mask_cols.data<bool>() + 4), ElementsAre(false, true, true, false));
  SP_ASSERT_OK_AND_ASSIGN(Tensor bias, Tensor::FromVector({4}, {0.5f, 1.5f, 2.5f, 3.5f}));
  SP_ASSERT_OK_AND_ASSIGN(Tensor kept, SelectRows(bias, {3, 1}));
  EXPECT_THAT(kept.values<float>(), ElementsAre(3.5f, 1.5f));
  Tensor ids = Tensor::Zeros({2, 3}, DType::kInt64);
  for (int64_t i = 0; i < 6; ++i) ids.data<int64_t>()[i] = 100 + i;
  SP_ASSERT_OK_AND_ASSIGN(Tensor id_cols, SelectCols(ids, {1, 2}));
  EXPECT_THAT(std::vector<int64_t>(id_cols.data<int64_t>(), id_cols.data<int64_t>() + 4), ElementsAre(101, 102, 104, 105));
}

TEST(IndexSelect, RejectsOutOfRangeIndex) {
  Tensor t = Tensor::Zeros({3, 4});
  EXPECT_THAT(SelectRows(t, {3}), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("index 3 out of range [0, 3) along dim 0")));
  EXPECT_THAT(SelectAlongDim(t, 2, {0}), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("dim 2 out of range")));
}

TEST(IndexSelect, MaskToIndices) {
  SP_ASSERT_OK_AND_ASSIGN(Tensor m, Tensor::FromBools({5}, {true, false, true, true, false}));
  EXPECT_THAT(MaskToIndices(m), ElementsAre(0, 2, 3));
}

TEST(Rng, IsDeterministicPerSeed) {
  Rng a(123), b(123), c(124);
  std::vector<float> va, vb, vc;
  for (int i = 0; i < 5; ++i) {
    va.push_back(a.Normal());
    vb.push_back(b.Normal());
    vc.push_back(c.Normal());
  }
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, vc);
}

TEST(Rng, UniformStaysInRangeWithPlausibleMean) {
  Rng rng(1);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    float u = rng.Uniform(-2.0f, 2.0f);
    ASSERT_GE(u, -2.0f);
    ASSERT_LT(u, 2.0f);
    sum += u;
  }
  EXPECT_NEAR(sum / 10000, 0.0, 0.05);
}

}  // namespace
}  // namespace structprune
