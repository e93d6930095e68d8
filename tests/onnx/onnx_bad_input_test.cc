// ImportOnnx on files it must refuse: missing, empty, truncated, random or bit-flipped bytes,
// inconsistent graphs and unsupported ops. Each gives a clear error, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "graph/onnx/proto.h"
#include "graph/onnx_import.h"
#include "tests/onnx/onnx_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::OnnxFixtureDir;
using ::structprune::testing::OnnxModelPath;
using ::structprune::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("structprune_onnx_" + name)).string();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A small valid model: y = Relu(x W^T + b), x [2, 3], built with the protobuf API.
onnx::ModelProto TinyModel(int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  onnx::GraphProto& g = *m.mutable_graph();
  g.set_name("tiny");
  auto add_info = [](onnx::ValueInfoProto* v, const std::string& name, std::vector<int64_t> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  add_info(g.add_input(), "x", {2, 3});
  add_info(g.add_output(), "y", {2, 4});
  internal::TensorToProto(Tensor::Full({4, 3}, 0.5f), "fc.weight", *g.add_initializer());
  internal::TensorToProto(Tensor::Full({4}, 0.25f), "fc.bias", *g.add_initializer());
  onnx::NodeProto* gemm = g.add_node();
  gemm->set_name("/fc/Gemm");
  gemm->set_op_type("Gemm");
  for (const char* in : {"x", "fc.weight", "fc.bias"}) gemm->add_input(in);
  gemm->add_output("h");
  internal::AddIntAttr(*gemm, "transB", 1);
  onnx::NodeProto* relu = g.add_node();
  relu->set_name("/Relu");
  relu->set_op_type("Relu");
  relu->add_input("h");
  relu->add_output("y");
  return m;
}

absl::StatusOr<OnnxModel> Import(const onnx::ModelProto& m) {
  return ImportOnnxFromBytes(m.SerializeAsString());
}

TEST(OnnxBadInput, TinyModelImports) {
  // The base of the hand-made cases below is valid.
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, Import(TinyModel()));
  EXPECT_NE(m.model.root().FindModule("fc"), nullptr);
}

TEST(OnnxBadInput, MissingFileIsNotFound) {
  EXPECT_THAT(ImportOnnx("/nonexistent/model.onnx"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/model.onnx")));
}

TEST(OnnxBadInput, DirectoryIsInvalid) {
  EXPECT_THAT(ImportOnnx(OnnxFixtureDir()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a regular file")));
}

TEST(OnnxBadInput, EmptyFileIsInvalid) {
  const std::string path = TempPath("empty.onnx");
  WriteBytes(path, "");
  EXPECT_THAT(ImportOnnx(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("not a valid ONNX model"), HasSubstr("empty"))));
  std::filesystem::remove(path);
}

TEST(OnnxBadInput, EveryTruncationIsInvalid) {
  const std::string bytes = ReadBytes(OnnxModelPath("LinearActivation"));
  ASSERT_GT(bytes.size(), 100u);
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_THAT(ImportOnnxFromBytes(bytes.substr(0, len)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a valid ONNX model")))
        << "truncated to " << len << " of " << bytes.size() << " bytes";
  }
  const std::string path = TempPath("truncated.onnx");
  WriteBytes(path, bytes.substr(0, bytes.size() / 2));
  EXPECT_THAT(ImportOnnx(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("not a valid ONNX model"))));
  std::filesystem::remove(path);
}

TEST(OnnxBadInput, RandomBytesAreInvalid) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes(1 + rng() % 2000, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    EXPECT_THAT(ImportOnnxFromBytes(bytes),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a valid ONNX model")))
        << "trial " << trial;
  }
}

TEST(OnnxBadInput, FlippedBytesNeverCrash) {
  // Any outcome but a crash: some flips land in float data and still import.
  for (const char* name : {"ResNetBlock", "LSTMLayerNormLinearModel_2layer_op13", "Pools"}) {
    const std::string bytes = ReadBytes(OnnxModelPath(name));
    std::mt19937 rng(7);
    for (int trial = 0; trial < 300; ++trial) {
      std::string mutated = bytes;
      for (int k = 0; k < 1 + trial % 4; ++k) {
        mutated[rng() % mutated.size()] ^= static_cast<char>(1 << (rng() % 8));
      }
      absl::StatusOr<OnnxModel> m = ImportOnnxFromBytes(mutated);
      if (!m.ok()) {
        EXPECT_NE(m.status().code(), absl::StatusCode::kInternal) << m.status();
        EXPECT_FALSE(m.status().message().empty());
      }
    }
  }
}

TEST(OnnxBadInput, UnsupportedOpNamesNodeAndType) {
  EXPECT_THAT(ImportOnnx(OnnxFixtureDir() + "/bad/unsupported_op.onnx"),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("node '/Sin' (Sin) is not supported"),
                             HasSubstr("supported: "), HasSubstr("Conv"))));
}

TEST(OnnxBadInput, AsymmetricConvPadsAreUnimplemented) {
  EXPECT_THAT(
      ImportOnnx(OnnxFixtureDir() + "/bad/conv_asymmetric_pads.onnx"),
      StatusIs(absl::StatusCode::kUnimplemented,
               AllOf(HasSubstr("'/conv/Conv' (Conv)"), HasSubstr("asymmetric pads [1, 1, 0, 0]"))));
}

TEST(OnnxBadInput, OpsetOutsideRange) {
  EXPECT_THAT(Import(TinyModel(18)),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("opset 18")));
  // Gemm is read from opset 7 (before, C broadcasts only under a 'broadcast' attribute).
  EXPECT_THAT(Import(TinyModel(6)), StatusIs(absl::StatusCode::kUnimplemented,
                                             HasSubstr("opset 6 is not supported for Gemm")));
  onnx::ModelProto m = TinyModel();
  m.clear_opset_import();
  EXPECT_THAT(Import(m), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("opset_import")));
}

TEST(OnnxBadInput, UnsortedGraphNamesTheNode) {
  onnx::ModelProto m = TinyModel();
  m.mutable_graph()->mutable_node()->SwapElements(0, 1);
  EXPECT_THAT(Import(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                  AllOf(HasSubstr("'/Relu'"), HasSubstr("reads 'h'"))));
}

TEST(OnnxBadInput, ValueDefinedTwice) {
  onnx::ModelProto m = TinyModel();
  m.mutable_graph()->mutable_node(1)->set_output(0, "h");
  EXPECT_THAT(Import(m),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("already defined")));
}

TEST(OnnxBadInput, InitializerDataDisagreesWithDims) {
  onnx::ModelProto m = TinyModel();
  m.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(8);
  EXPECT_THAT(Import(m),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("initializer 'fc.weight'"), HasSubstr("12 elements"))));
  onnx::ModelProto neg = TinyModel();
  neg.mutable_graph()->mutable_initializer(1)->set_dims(0, -4);
  EXPECT_THAT(Import(neg),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative dimension")));
}

TEST(OnnxBadInput, ExternalDataIsUnimplemented) {
  onnx::ModelProto m = TinyModel();
  m.mutable_graph()->mutable_initializer(0)->set_data_location(onnx::TensorProto::EXTERNAL);
  EXPECT_THAT(Import(m), StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("external")));
}

TEST(OnnxBadInput, WrongAttributeTypeNamesIt) {
  onnx::ModelProto m = TinyModel();
  onnx::AttributeProto* a = m.mutable_graph()->mutable_node(0)->mutable_attribute(0);
  a->set_type(onnx::AttributeProto::FLOAT);
  EXPECT_THAT(Import(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                  AllOf(HasSubstr("/fc/Gemm"), HasSubstr("'transB'"))));
}

TEST(OnnxBadInput, GemmWithTransposedInputIsTransposeThenLinear) {
  onnx::ModelProto m = TinyModel();
  internal::AddIntAttr(*m.mutable_graph()->mutable_node(0), "transA", 1);
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel model, Import(m));
  const Module* fc = model.model.root().FindModule("fc");
  ASSERT_NE(fc, nullptr);
  EXPECT_EQ(fc->kind(), OpKind::kLinear);
  EXPECT_TRUE(model.model.graph().nodes().front()->users().front()->IsCallTo(OpKind::kTranspose));
}

TEST(OnnxBadInput, GraphOutputNeverComputed) {
  onnx::ModelProto m = TinyModel();
  m.mutable_graph()->mutable_output(0)->set_name("nowhere");
  EXPECT_THAT(Import(m), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'nowhere'")));
}

TEST(OnnxBadInput, IntegerInputIsUnimplemented) {
  onnx::ModelProto m = TinyModel();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::INT64);
  EXPECT_THAT(Import(m), StatusIs(absl::StatusCode::kUnimplemented,
                                  AllOf(HasSubstr("'x'"), HasSubstr("INT64"))));
}

TEST(OnnxBadInput, CustomDomainIsUnsupported) {
  onnx::ModelProto m = TinyModel();
  m.mutable_graph()->mutable_node(1)->set_domain("com.example");
  EXPECT_THAT(Import(m), StatusIs(absl::StatusCode::kUnimplemented,
                                  HasSubstr("node '/Relu' (com.example.Relu) is not supported")));
}

}  // namespace
}  // namespace structprune
