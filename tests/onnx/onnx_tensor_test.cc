// TensorProto files (ONNX test data: input_0.pb, output_0.pb) read and written.
#include "graph/onnx_tensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>

#include "graph/onnx/proto.h"
#include "tests/onnx/onnx_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::OnnxFixtureDir;
using ::structprune::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("structprune_tensor_" + name)).string();
}

TEST(OnnxTensor, ReadsPyTorchTestData) {
  SP_ASSERT_OK_AND_ASSIGN(Tensor x,
                          ReadTensorProtoFile(OnnxFixtureDir() + "/SimpleLinear/input_0.pb"));
  EXPECT_EQ(x.dtype(), DType::kFloat32);
  EXPECT_EQ(x.shape(), Shape({4, 7}));
}

TEST(OnnxTensor, RoundTripsEveryDType) {
  SP_ASSERT_OK_AND_ASSIGN(Tensor f, Tensor::FromVector({2, 3}, {1, -2, 3.5f, 0, 1e-30f, 7}));
  Tensor i = Tensor::Zeros({3}, DType::kInt64);
  i.data<int64_t>()[0] = -5;
  i.data<int64_t>()[2] = int64_t{1} << 40;
  SP_ASSERT_OK_AND_ASSIGN(Tensor b, Tensor::FromBools({2}, {true, false}));
  for (const Tensor& t : {f, i, b, Tensor::Scalar(2.5f), Tensor::Zeros({0, 4})}) {
    const std::string path = TempPath("roundtrip.pb");
    SP_ASSERT_OK(WriteTensorProtoFile(t, path, "t"));
    SP_ASSERT_OK_AND_ASSIGN(Tensor back, ReadTensorProtoFile(path));
    EXPECT_TRUE(back.Equals(t)) << t.DebugString();
    std::filesystem::remove(path);
  }
}

TEST(OnnxTensor, ConvertsDoubleHalfAndInt32) {
  onnx::TensorProto d;
  d.set_data_type(onnx::TensorProto::DOUBLE);
  d.add_dims(2);
  d.add_double_data(0.5);
  d.add_double_data(-3.0);
  SP_ASSERT_OK_AND_ASSIGN(Tensor td, TensorFromProtoBytes(d.SerializeAsString()));
  EXPECT_THAT(td.values<float>(), ElementsAre(0.5f, -3.0f));

  onnx::TensorProto h;
  h.set_data_type(onnx::TensorProto::FLOAT16);
  h.add_dims(3);
  for (int bits : {0x3c00, 0xc000, 0x0001}) h.add_int32_data(bits);  // 1, -2, smallest subnormal
  SP_ASSERT_OK_AND_ASSIGN(Tensor th, TensorFromProtoBytes(h.SerializeAsString()));
  EXPECT_THAT(th.values<float>(), ElementsAre(1.0f, -2.0f, 5.9604645e-08f));

  onnx::TensorProto n;
  n.set_data_type(onnx::TensorProto::INT32);
  n.add_dims(2);
  n.set_raw_data(std::string("\x07\x00\x00\x00\xff\xff\xff\xff", 8));
  SP_ASSERT_OK_AND_ASSIGN(Tensor ti, TensorFromProtoBytes(n.SerializeAsString()));
  EXPECT_EQ(ti.dtype(), DType::kInt64);
  EXPECT_THAT(ti.values<int64_t>(), ElementsAre(7, -1));
}

TEST(OnnxTensor, BadFilesAreErrors) {
  EXPECT_THAT(ReadTensorProtoFile("/nonexistent/input_0.pb"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("input_0.pb")));
  EXPECT_THAT(TensorFromProtoBytes(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a valid TensorProto")));
  EXPECT_THAT(TensorFromProtoBytes("\xff\xff\xff garbage"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a valid TensorProto")));
  onnx::TensorProto short_data;
  short_data.set_data_type(onnx::TensorProto::FLOAT);
  short_data.add_dims(4);
  short_data.add_float_data(1.0f);
  EXPECT_THAT(
      TensorFromProtoBytes(short_data.SerializeAsString()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("4 elements but the data has 1")));
  onnx::TensorProto strings;
  strings.set_data_type(onnx::TensorProto::STRING);
  strings.add_string_data("a");
  EXPECT_THAT(TensorFromProtoBytes(strings.SerializeAsString()),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("STRING")));
}

TEST(OnnxTensor, WritesEightBitIntegersHeldInFloatAsTheirType) {
  SP_ASSERT_OK_AND_ASSIGN(Tensor f, Tensor::FromVector({3}, {0, 200, 255}));
  const std::string path = TempPath("uint8.pb");
  SP_ASSERT_OK(WriteTensorProtoFile(f, path, "y", "UINT8"));
  SP_ASSERT_OK_AND_ASSIGN(std::string bytes, internal::ReadFileBytes(path));
  onnx::TensorProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  EXPECT_EQ(proto.data_type(), onnx::TensorProto::UINT8);
  EXPECT_EQ(proto.raw_data(), std::string("\x00\xc8\xff", 3));
  SP_ASSERT_OK_AND_ASSIGN(Tensor back, ReadTensorProtoFile(path));  // integers read as int64
  EXPECT_THAT(back.values<int64_t>(), ElementsAre(0, 200, 255));
  SP_ASSERT_OK_AND_ASSIGN(Tensor neg, Tensor::FromVector({2}, {-128, 3}));
  SP_ASSERT_OK(WriteTensorProtoFile(neg, path, "y", "INT8"));
  SP_ASSERT_OK_AND_ASSIGN(back, ReadTensorProtoFile(path));
  EXPECT_THAT(back.values<int64_t>(), ElementsAre(-128, 3));
  EXPECT_THAT(WriteTensorProtoFile(neg, path, "y", "UINT8"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("element 0 (-128) is no integer in UINT8's range")));
  std::filesystem::remove(path);
}

TEST(OnnxTensor, WriteToBadPathIsInvalid) {
  EXPECT_THAT(WriteTensorProtoFile(Tensor::Scalar(1.0f), "/nonexistent/dir/out.pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("/nonexistent/dir/out.pb")));
}

}  // namespace
}  // namespace structprune
