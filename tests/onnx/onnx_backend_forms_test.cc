// The ONNX forms that ONNX's backend node tests exercise beyond PyTorch's exports: older opsets
// (and the op changes across them), weights given as graph inputs and bound to values, Clip
// without bounds, Flatten at any inner axis, Dropout in training mode with ratio 0, and the
// forms that stay unsupported with a clear error. Models are built here with the protobuf API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "graph/interpreter.h"
#include "graph/onnx/proto.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "tests/testing/golden.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::AllClose;
using ::structprune::testing::StatusIs;
using ::structprune::testing::Values;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A model of a few nodes at one opset, written the way the backend node tests are: graph
// inputs (float unless told), optional initializers, then the nodes.
class OnnxModelBuilder {
 public:
  explicit OnnxModelBuilder(int64_t opset) {
    model_.set_ir_version(opset < 7 ? 3 : 8);
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    model_.mutable_graph()->set_name("backend_form");
  }

  OnnxModelBuilder& Input(const std::string& name, const std::vector<int64_t>& dims,
                          int32_t elem_type = onnx::TensorProto::FLOAT) {
    onnx::ValueInfoProto* v = model_.mutable_graph()->add_input();
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(elem_type);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
    return *this;
  }

  OnnxModelBuilder& Initializer(const std::string& name, const Tensor& value) {
    internal::TensorToProto(value, name, *model_.mutable_graph()->add_initializer());
    return *this;
  }

  // A node `op_type` reading `inputs` ("" = an absent optional input) and defining `outputs`.
  onnx::NodeProto& Node(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) {
    onnx::NodeProto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op_type);
    for (const std::string& in : inputs) n->add_input(in);
    for (const std::string& out : outputs) n->add_output(out);
    return *n;
  }

  OnnxModelBuilder& Output(const std::string& name) {
    model_.mutable_graph()->add_output()->set_name(name);
    return *this;
  }

  std::string Bytes() const { return model_.SerializeAsString(); }

 private:
  onnx::ModelProto model_;
};

// x = [-3, -2, ..., 2] as [2, 3].
Tensor Ramp() { return Values({2, 3}, {-3, -2, -1, 0, 1, 2}); }

Tensor Int64Values(const std::vector<int64_t>& values) {
  Tensor t = Tensor::Zeros({static_cast<int64_t>(values.size())}, DType::kInt64);
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t;
}

// Element-wise f(x).
Tensor Map(const Tensor& x, float (*f)(float)) {
  Tensor out = x.Clone();
  for (float& v : out.values<float>()) v = f(v);
  return out;
}

absl::StatusOr<std::vector<Tensor>> ImportAndRun(const OnnxModelBuilder& b,
                                                 const std::vector<Tensor>& inputs,
                                                 const OnnxImportOptions& options = {}) {
  SP_ASSIGN_OR_RETURN(OnnxModel m, ImportOnnxFromBytes(b.Bytes(), options));
  return RunModel(m.model, inputs);
}

// The call_function targets, in graph order.
std::vector<std::string> Functions(const OnnxModel& m) {
  std::vector<std::string> out;
  for (const Node* n : m.model.graph().nodes()) {
    if (n->kind() == NodeKind::kCallFunction) out.push_back(n->target());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Opsets.

TEST(OnnxOpsets, ReadsEluOfOpset6) {
  OnnxModelBuilder b(6);
  b.Input("x", {2, 3}).Output("y");
  internal::AddFloatAttr(b.Node("Elu", {"x"}, {"y"}), "alpha", 2.0f);
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, ImportAndRun(b, {Ramp()}));
  const Tensor expected =
      Map(Ramp(), [](float v) { return v > 0 ? v : 2.0f * (std::exp(v) - 1.0f); });
  // 1e-6: expm1 vs exp - 1 in float32.
  EXPECT_TRUE(AllClose(y[0], expected, 1e-6, 1e-6));
}

TEST(OnnxOpsets, ReadsOpsetOneGlobalPoolsAndSoftsign) {
  OnnxModelBuilder b(1);
  b.Input("x", {1, 2, 2, 2}).Output("y");
  b.Node("Softsign", {"x"}, {"s"});
  b.Node("GlobalAveragePool", {"s"}, {"y"});
  const Tensor x = Values({1, 2, 2, 2}, {1, 1, 1, 1, -3, -3, -3, -3});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, ImportAndRun(b, {x}));
  EXPECT_TRUE(AllClose(y[0], Values({1, 2, 1, 1}, {0.5f, -0.75f}), 1e-6, 0));
}

TEST(OnnxOpsets, RefusesOpsOlderThanTheImporterReadsThem) {
  // Add-6 broadcasts only under its 'broadcast' attribute.
  OnnxModelBuilder add(6);
  add.Input("a", {2}).Input("b", {2}).Output("c");
  add.Node("Add", {"a", "b"}, {"c"}).set_name("add");
  EXPECT_THAT(ImportOnnxFromBytes(add.Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("node 'add' (Add): opset 6 is not supported for Add (read from "
                                 "opset 7 on)")));
  // Selu-1 defaults to rounded constants (alpha 1.6732).
  OnnxModelBuilder selu(5);
  selu.Input("x", {2}).Output("y");
  selu.Node("Selu", {"x"}, {"y"});
  EXPECT_THAT(ImportOnnxFromBytes(selu.Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("opset 5 is not supported for Selu (read from opset 6 on)")));
  // LayerNormalization does not exist before opset 17.
  OnnxModelBuilder ln(16);
  ln.Input("x", {2, 3}).Initializer("w", Tensor::Full({3}, 1.0f)).Output("y");
  ln.Node("LayerNormalization", {"x", "w"}, {"y"});
  EXPECT_THAT(ImportOnnxFromBytes(ln.Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("read from opset 17 on")));
}

TEST(OnnxOpsets, RefusesOpsetsOutsideOneToSeventeen) {
  for (int64_t opset : {0, 18}) {
    OnnxModelBuilder b(opset);
    b.Input("x", {2}).Output("y");
    b.Node("Relu", {"x"}, {"y"});
    EXPECT_THAT(ImportOnnxFromBytes(b.Bytes()),
                StatusIs(absl::StatusCode::kUnimplemented,
                         HasSubstr(absl::StrCat("opset ", opset, " is not supported (1 to 17)"))));
  }
}

// ---------------------------------------------------------------------------------------------
// Clip.

TEST(OnnxClip, ReadsAttributeBoundsBeforeOpset11) {
  OnnxModelBuilder b(10);
  b.Input("x", {2, 3}).Output("y");
  onnx::NodeProto& clip = b.Node("Clip", {"x"}, {"y"});
  internal::AddFloatAttr(clip, "min", -1.0f);
  internal::AddFloatAttr(clip, "max", 1.5f);
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, ImportAndRun(b, {Ramp()}));
  EXPECT_TRUE(AllClose(y[0], Values({2, 3}, {-1, -1, -1, 0, 1, 1.5f}), 0, 0));
}

TEST(OnnxClip, WithoutBoundsIsTheIdentity) {
  OnnxModelBuilder b(13);
  b.Input("x", {2, 3}).Output("y");
  b.Node("Clip", {"x", "", ""}, {"y"});
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(Functions(m), IsEmpty());
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {Ramp()}));
  EXPECT_TRUE(AllClose(y[0], Ramp(), 0, 0));
}

TEST(OnnxClip, AMissingBoundIsTheFloatLimit) {
  // Clip(x, max=0.5) and Clip(x, min=-1): Hardtanh with float's lowest / max for the other.
  for (int bound : {1, 2}) {
    OnnxModelBuilder b(13);
    b.Input("x", {2, 3}).Output("y");
    b.Initializer("bound", Tensor::Scalar(bound == 1 ? -1.0f : 0.5f));
    b.Node("Clip",
           bound == 1 ? std::vector<std::string>{"x", "bound"}
                      : std::vector<std::string>{"x", "", "bound"},
           {"y"});
    SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
    EXPECT_THAT(Functions(m), ElementsAre("hardtanh"));
    const Tensor x = Values({3}, {-1e30f, 0.25f, 1e30f});
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {x}));
    EXPECT_TRUE(AllClose(
        y[0], bound == 1 ? Values({3}, {-1, 0.25f, 1e30f}) : Values({3}, {-1e30f, 0.25f, 0.5f}), 0,
        0));
  }
}

// ---------------------------------------------------------------------------------------------
// BatchNormalization, Dropout.

OnnxModelBuilder BatchNormModel(int64_t opset, int outputs) {
  OnnxModelBuilder b(opset);
  b.Input("x", {1, 2, 1, 1}).Output("y");
  b.Initializer("scale", Values({2}, {2, 3})).Initializer("bias", Values({2}, {1, -1}));
  b.Initializer("mean", Values({2}, {0.5f, 1})).Initializer("var", Values({2}, {4, 1}));
  std::vector<std::string> outs = {"y", "running_mean", "running_var", "saved_mean", "saved_var"};
  outs.resize(outputs);
  b.Node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, outs).set_name("bn");
  return b;
}

TEST(OnnxBatchNorm, ReadsTheInferenceFormOfOpset9) {
  // y = scale * (x - mean) / sqrt(var + eps) + bias, eps 1e-5.
  const Tensor x = Values({1, 2, 1, 1}, {2.5f, 3});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, ImportAndRun(BatchNormModel(9, 1), {x}));
  // 1e-5: eps inside the square root.
  EXPECT_TRUE(AllClose(y[0], Values({1, 2, 1, 1}, {3, 5}), 1e-5, 1e-5));
}

TEST(OnnxBatchNorm, StatisticsOutputsBeforeOpset14AreTrainingMode) {
  EXPECT_THAT(
      ImportOnnxFromBytes(BatchNormModel(9, 5).Bytes()),
      StatusIs(absl::StatusCode::kUnimplemented, AllOf(HasSubstr("node 'bn' (BatchNormalization)"),
                                                       HasSubstr("runs in training mode"))));
}

TEST(OnnxBatchNorm, TrainingModeNormalizesWithBatchStatisticsAndUpdatesRunningOnesAndRoundTrips) {
  OnnxModelBuilder b = BatchNormModel(15, 3);
  b.Output("running_mean").Output("running_var");
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(b.Bytes()));
  internal::AddIntAttr(*proto.mutable_graph()->mutable_node(0), "training_mode", 1);
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(proto.SerializeAsString()));
  // x [2, 2, 1, 1]: channel 0 {1, 3} (mean 2, biased variance 1), channel 1 {0, 4} (mean 2,
  // variance 4); momentum 0.9 (ONNX's default) keeps 0.9 of the old statistics.
  const Tensor x = Values({2, 2, 1, 1}, {1, 0, 3, 4});
  for (int pass = 0; pass < 2; ++pass) {
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunModel(m.model, {x}));
    ASSERT_EQ(out.size(), 3u);
    // 1e-5: eps inside the square root.
    EXPECT_TRUE(AllClose(out[0], Values({2, 2, 1, 1}, {-1, -4, 3, 2}), 1e-5, 1e-5));
    EXPECT_TRUE(AllClose(out[1], Values({2}, {0.65f, 1.1f}), 1e-6, 1e-6));
    EXPECT_TRUE(AllClose(out[2], Values({2}, {3.7f, 1.3f}), 1e-6, 1e-6));
    if (pass == 0) {
      OnnxExportOptions options{.opset = 15, .output_names = m.output_names};
      SP_ASSERT_OK_AND_ASSIGN(std::string bytes,
                              ExportOnnxToBytes(m.model, {{2, 2, 1, 1}}, options));
      onnx::ModelProto exported;
      ASSERT_TRUE(exported.ParseFromString(bytes));
      EXPECT_NO_THROW(onnx::checker::check_model(exported));
      SP_ASSERT_OK_AND_ASSIGN(m, ImportOnnxFromBytes(bytes));
    }
  }
}

TEST(OnnxBatchNorm, NonSpatialOfOpset7IsUnimplemented) {
  OnnxModelBuilder b = BatchNormModel(7, 1);
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(b.Bytes()));
  internal::AddIntAttr(*m.mutable_graph()->mutable_node(0), "spatial", 0);
  EXPECT_THAT(ImportOnnxFromBytes(m.SerializeAsString()),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("spatial=0")));
}

// ---------------------------------------------------------------------------------------------
// LayerNormalization with Mean and InvStdDev, activations with other constants.

// LayerNormalization(x [2, 3], Scale = 1, axis) with outputs Y, Mean, InvStdDev, all read.
OnnxModelBuilder LayerNormWithStats(int64_t axis) {
  OnnxModelBuilder b(17);
  b.Input("x", {2, 3}).Output("y").Output("mean").Output("inv_std");
  const Shape normalized = axis == 0 ? Shape{2, 3} : Shape{3};
  b.Initializer("scale", Tensor::Full(normalized, 1.0f));
  onnx::NodeProto& n = b.Node("LayerNormalization", {"x", "scale"}, {"y", "mean", "inv_std"});
  n.set_name("ln");
  internal::AddIntAttr(n, "axis", axis);
  return b;
}

TEST(OnnxLayerNorm, MeanAndInvStdDevOutputsKeepTheNormalizedDimsAsOne) {
  const Tensor x = Values({2, 3}, {1, 2, 3, 0, 0, 6});
  for (int64_t axis : {1, -1}) {
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, ImportAndRun(LayerNormWithStats(axis), {x}));
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[1].shape(), (Shape{2, 1}));
    EXPECT_THAT(out[1].values<float>(), ElementsAre(2.0f, 2.0f));
    // var 2/3 and 8: 1 / sqrt(var + 1e-5); 1e-6 for float32.
    EXPECT_TRUE(AllClose(out[2], Values({2, 1}, {1.2247357f, 0.3535531f}), 1e-6, 1e-6));
  }
  // axis 0: one mean over everything, shape [1, 1].
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> all, ImportAndRun(LayerNormWithStats(0), {x}));
  EXPECT_EQ(all[1].shape(), (Shape{1, 1}));
  EXPECT_THAT(all[1].values<float>(), ElementsAre(2.0f));
}

TEST(OnnxLayerNorm, OnlyInvStdDevUsedStillReturnsTheStatistics) {
  OnnxModelBuilder b(17);
  b.Input("x", {2, 3}).Output("inv_std");
  b.Initializer("scale", Tensor::Full({3}, 1.0f));
  b.Node("LayerNormalization", {"x", "scale"}, {"", "", "inv_std"});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          ImportAndRun(b, {Values({2, 3}, {1, 2, 3, 0, 0, 6})}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{2, 1}));
}

TEST(OnnxActivations, SeluAndHardSigmoidConstantsBecomeAttributes) {
  OnnxModelBuilder b(6);
  b.Input("x", {2, 3}).Output("y");
  onnx::NodeProto& selu = b.Node("Selu", {"x"}, {"s"});
  internal::AddFloatAttr(selu, "alpha", 2.0f);
  internal::AddFloatAttr(selu, "gamma", 3.0f);
  b.Node("HardSigmoid", {"s"}, {"y"});  // ONNX's defaults: alpha 0.2, beta 0.5
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, ImportAndRun(b, {Ramp()}));
  const Tensor expected = Map(Ramp(), [](float v) {
    const float s = v > 0 ? 3.0f * v : 3.0f * 2.0f * (std::exp(v) - 1.0f);
    return std::clamp(0.2f * s + 0.5f, 0.0f, 1.0f);
  });
  // 1e-6: expm1 vs exp - 1 in float32.
  EXPECT_TRUE(AllClose(y[0], expected, 1e-6, 1e-6));
}

OnnxModelBuilder TrainingDropout(float ratio) {
  OnnxModelBuilder b(13);
  b.Input("x", {2, 3}).Output("y");
  b.Initializer("ratio", Tensor::Scalar(ratio));
  Tensor training = Tensor::Zeros({}, DType::kBool);
  training.data<bool>()[0] = true;
  b.Initializer("training", training);
  b.Node("Dropout", {"x", "ratio", "training"}, {"y"});
  return b;
}

TEST(OnnxDropout, TrainingWithRatioZeroIsTheIdentity) {
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, ImportAndRun(TrainingDropout(0.0f), {Ramp()}));
  EXPECT_TRUE(AllClose(y[0], Ramp(), 0, 0));
}

TEST(OnnxDropout, TrainingWithoutSeedZeroesOrScalesEachElement) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(TrainingDropout(0.5f).Bytes()));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {Ramp()}));
  for (int64_t i = 0; i < 6; ++i) {
    const float v = y[0].data<float>()[i];
    EXPECT_TRUE(v == 0.0f || v == 2.0f * Ramp().data<float>()[i]) << v;
  }
}

TEST(OnnxDropout, ReadsTheRatioAttributeOfOpset10) {
  OnnxModelBuilder b(10);
  b.Input("x", {2, 3}).Output("y");
  internal::AddFloatAttr(b.Node("Dropout", {"x"}, {"y"}), "ratio", 0.2f);
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, ImportAndRun(b, {Ramp()}));
  EXPECT_TRUE(AllClose(y[0], Ramp(), 0, 0));
}

// Exports `m` (input [2, 3] unless told), checks the file with onnx::checker, checks the graph
// outputs' element types, imports it back; the re-imported model.
absl::StatusOr<OnnxModel> ExportCheckedAndBack(const OnnxModel& m,
                                               const std::vector<int32_t>& output_types,
                                               const std::vector<Shape>& shapes = {{2, 3}}) {
  OnnxExportOptions options{.opset = 13, .output_names = m.output_names};
  SP_ASSIGN_OR_RETURN(std::string bytes, ExportOnnxToBytes(m.model, shapes, options));
  onnx::ModelProto proto;
  EXPECT_TRUE(proto.ParseFromString(bytes));
  EXPECT_NO_THROW(onnx::checker::check_model(proto));
  std::vector<int32_t> types;
  for (const onnx::ValueInfoProto& out : proto.graph().output())
    types.push_back(out.type().tensor_type().elem_type());
  EXPECT_EQ(types, output_types);
  return ImportOnnxFromBytes(bytes);
}

OnnxModelBuilder DropoutWithMask(bool training, float ratio) {
  OnnxModelBuilder b(13);
  b.Input("x", {2, 3}).Output("y").Output("mask");
  b.Initializer("ratio", Tensor::Scalar(ratio));
  Tensor t = Tensor::Zeros({}, DType::kBool);
  t.data<bool>()[0] = training;
  b.Initializer("training", t);
  b.Node("Dropout", {"x", "ratio", "training"}, {"y", "mask"}).set_name("drop");
  return b;
}

TEST(OnnxDropout, MaskOfAnInferenceDropoutIsAllTrueAndRoundTrips) {
  for (const auto& [training, ratio] : {std::pair{false, 0.3f}, std::pair{true, 0.0f}}) {
    SCOPED_TRACE(training ? "training, ratio 0" : "inference");
    SP_ASSERT_OK_AND_ASSIGN(OnnxModel m,
                            ImportOnnxFromBytes(DropoutWithMask(training, ratio).Bytes()));
    EXPECT_THAT(Functions(m), ElementsAre("dropout", "getitem", "getitem"));
    for (int pass = 0; pass < 2; ++pass) {
      SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunModel(m.model, {Ramp()}));
      ASSERT_EQ(out.size(), 2u);
      EXPECT_TRUE(out[0].Equals(Ramp()));
      EXPECT_EQ(out[1].dtype(), DType::kBool);
      EXPECT_EQ(out[1].shape(), (Shape{2, 3}));
      EXPECT_THAT(out[1].values<bool>(), ::testing::Each(true));
      if (pass == 0) {
        SP_ASSERT_OK_AND_ASSIGN(
            m, ExportCheckedAndBack(m, {onnx::TensorProto::FLOAT, onnx::TensorProto::BOOL}));
      }
    }
  }
}

TEST(OnnxDropout, SeededTrainingMaskIsNumpysAndRoundTrips) {
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(DropoutWithMask(true, 0.5f).Bytes()));
  internal::AddIntAttr(*proto.mutable_graph()->mutable_node(0), "seed", 0);
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(proto.SerializeAsString()));
  for (int pass = 0; pass < 2; ++pass) {
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunModel(m.model, {Ramp()}));
    ASSERT_EQ(out.size(), 2u);
    // np.random.seed(0); np.random.uniform(0, 1, 6) >= 0.5 drops element 4 only.
    EXPECT_THAT(out[0].values<float>(), ElementsAre(-6, -4, -2, 0, 0, 4));
    EXPECT_THAT(out[1].values<bool>(), ElementsAre(true, true, true, true, false, true));
    if (pass == 0) {
      SP_ASSERT_OK_AND_ASSIGN(
          m, ExportCheckedAndBack(m, {onnx::TensorProto::FLOAT, onnx::TensorProto::BOOL}));
    }
  }
}

TEST(OnnxDropout, TrainingRatioOneAndMaskBeforeOpset10AreRefused) {
  EXPECT_THAT(ImportOnnxFromBytes(DropoutWithMask(true, 1.0f).Bytes()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("node 'drop' (Dropout)"),
                             HasSubstr("ratio must lie in [0, 1), got 1"))));
  OnnxModelBuilder b(9);
  b.Input("x", {2, 3}).Output("y").Output("mask");
  b.Node("Dropout", {"x"}, {"y", "mask"});
  EXPECT_THAT(ImportOnnxFromBytes(b.Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("output 1 ('mask'), the mask, is read only from opset 10")));
}

OnnxModelBuilder MaxPoolWithIndices(int64_t storage_order) {
  OnnxModelBuilder b(13);
  b.Input("x", {2, 2, 3, 4}).Output("y").Output("i");
  onnx::NodeProto& n = b.Node("MaxPool", {"x"}, {"y", "i"});
  n.set_name("pool");
  internal::AddIntsAttr(n, "kernel_shape", {2, 2});
  internal::AddIntsAttr(n, "strides", {1, 2});
  if (storage_order != 0) internal::AddIntAttr(n, "storage_order", storage_order);
  return b;
}

TEST(OnnxPools, MaxPoolIndicesCountOverTheWholeInputAndRoundTrip) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(MaxPoolWithIndices(0).Bytes()));
  // x = 47 - position: every window's maximum is its first element, (h, 2 w') of its plane.
  Tensor x = Tensor::Zeros({2, 2, 3, 4});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(47 - i);
  for (int pass = 0; pass < 2; ++pass) {
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunModel(m.model, {x}));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[1].dtype(), DType::kInt64);
    EXPECT_EQ(out[1].shape(), (Shape{2, 2, 2, 2}));
    EXPECT_THAT(out[1].values<int64_t>(),
                ElementsAre(0, 2, 4, 6, 12, 14, 16, 18, 24, 26, 28, 30, 36, 38, 40, 42));
    EXPECT_THAT(out[0].values<float>().subspan(0, 4), ElementsAre(47, 45, 43, 41));
    if (pass == 0) {
      SP_ASSERT_OK_AND_ASSIGN(
          m, ExportCheckedAndBack(m, {onnx::TensorProto::FLOAT, onnx::TensorProto::INT64},
                                  {{2, 2, 3, 4}}));
    }
  }
}

TEST(OnnxPools, ColumnMajorIndicesCountDownColumnsAndRoundTrip) {
  // storage_order=1: within a plane w * H + h. The maxima sit at (h, w) = (oh, 2 ow): plane
  // positions 2 ow * 3 + oh = 0, 6, 1, 7.
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(MaxPoolWithIndices(1).Bytes()));
  Tensor x = Tensor::Zeros({2, 2, 3, 4});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(47 - i);
  for (int pass = 0; pass < 2; ++pass) {
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunModel(m.model, {x}));
    EXPECT_THAT(out[1].values<int64_t>().subspan(0, 8), ElementsAre(0, 6, 1, 7, 12, 18, 13, 19));
    if (pass == 0) {
      SP_ASSERT_OK_AND_ASSIGN(
          m, ExportCheckedAndBack(m, {onnx::TensorProto::FLOAT, onnx::TensorProto::INT64},
                                  {{2, 2, 3, 4}}));
    }
  }
  OnnxModelBuilder b(13);
  b.Input("x", {1, 1, 2, 2}).Output("y").Output("i");
  onnx::NodeProto& n = b.Node("MaxPool", {"x"}, {"y", "i"});
  internal::AddIntsAttr(n, "kernel_shape", {2, 2});
  internal::AddIntAttr(n, "storage_order", 2);
  EXPECT_THAT(ImportOnnxFromBytes(b.Bytes()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("storage_order must be 0 or 1, got 2")));
}

// One ONNX LSTM layer (hidden 2, input 3) over X [T=4, B=2, 3], or [B, T, 3] with layout=1,
// reading Y as it is (no Squeeze) and Y_h.
OnnxModelBuilder LstmLayer(int64_t layout) {
  OnnxModelBuilder b(14);
  b.Input("X", layout == 1 ? std::vector<int64_t>{2, 4, 3} : std::vector<int64_t>{4, 2, 3})
      .Output("Y")
      .Output("Y_h");
  Tensor w = Tensor::Zeros({1, 8, 3}), r = Tensor::Zeros({1, 8, 2});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = std::sin(0.7f * i);
  for (int64_t i = 0; i < r.numel(); ++i) r.data<float>()[i] = std::cos(1.3f * i) * 0.5f;
  b.Initializer("W", w).Initializer("R", r);
  onnx::NodeProto& n = b.Node("LSTM", {"X", "W", "R"}, {"Y", "Y_h"});
  n.set_name("lstm");
  internal::AddIntAttr(n, "hidden_size", 2);
  if (layout != 0) internal::AddIntAttr(n, "layout", layout);
  return b;
}

// x [d0, d1, ...] -> [d1, d0, ...] (the first two dims swapped).
Tensor SwapFirstDims(const Tensor& x) {
  Shape s = x.shape();
  std::swap(s[0], s[1]);
  Tensor out = Tensor::Zeros(s);
  const int64_t inner = x.numel() / (s[0] * s[1]);
  for (int64_t i = 0; i < s[1]; ++i) {
    for (int64_t j = 0; j < s[0]; ++j) {
      std::copy_n(x.data<float>() + (i * s[0] + j) * inner, inner,
                  out.data<float>() + (j * s[1] + i) * inner);
    }
  }
  return out;
}

TEST(OnnxLstm, BatchMajorLayoutIsTheSequenceMajorOneTransposed) {
  Tensor x = Tensor::Zeros({4, 2, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::sin(0.37f * i + 0.1f);
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel seq, ImportOnnxFromBytes(LstmLayer(0).Bytes()));
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel batch, ImportOnnxFromBytes(LstmLayer(1).Bytes()));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> a, RunModel(seq.model, {x}));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> b, RunModel(batch.model, {SwapFirstDims(x)}));
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(a[0].shape(), (Shape{4, 1, 2, 2}));  // Y [T, 1, B, H]
  EXPECT_EQ(b[0].shape(), (Shape{2, 4, 1, 2}));  // Y [B, T, 1, H]
  EXPECT_EQ(a[1].shape(), (Shape{1, 2, 2}));     // Y_h [1, B, H]
  EXPECT_EQ(b[1].shape(), (Shape{2, 1, 2}));     // Y_h [B, 1, H]
  SP_ASSERT_OK_AND_ASSIGN(Tensor a_y, a[0].Reshape({4, 2, 2}));
  SP_ASSERT_OK_AND_ASSIGN(Tensor b_y, b[0].Reshape({2, 4, 2}));
  EXPECT_TRUE(AllClose(SwapFirstDims(a_y), b_y, 1e-6, 1e-6));
  EXPECT_TRUE(AllClose(SwapFirstDims(a[1]), b[1], 1e-6, 1e-6));
  // The last time step's output is the final hidden state.
  EXPECT_THAT(a_y.values<float>().subspan(12, 4),
              ::testing::Pointwise(::testing::FloatEq(), a[1].values<float>()));
  // Export writes batch_first's Transposes, the Reshape and the state's Transpose; reading
  // that back computes the same.
  SP_ASSERT_OK_AND_ASSIGN(
      OnnxModel back,
      ExportCheckedAndBack(batch, {onnx::TensorProto::FLOAT, onnx::TensorProto::FLOAT},
                           {{2, 4, 3}}));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> c, RunModel(back.model, {SwapFirstDims(x)}));
  EXPECT_TRUE(AllClose(c[0], b[0], 1e-6, 1e-6));
  EXPECT_TRUE(AllClose(c[1], b[1], 1e-6, 1e-6));
}

TEST(OnnxLstm, BatchMajorLayoutWithInitialStatesIsUnimplemented) {
  OnnxModelBuilder b = LstmLayer(1);
  b.Input("h0", {2, 1, 2}).Input("c0", {2, 1, 2});
  onnx::NodeProto& n = b.Node("LSTM", {"X", "W", "R", "", "", "h0", "c0"}, {"", "Y_h2"});
  internal::AddIntAttr(n, "hidden_size", 2);
  internal::AddIntAttr(n, "layout", 1);
  b.Output("Y_h2");
  EXPECT_THAT(ImportOnnxFromBytes(b.Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("layout=1 with initial_h / initial_c is not supported")));
}

// LSTM (hidden 1, input 1, no bias) with peepholes P over X [T=2, B=1, 1], sequence_lens `len`,
// reading Y_h. ONNX blocks i, o, f, c: W = [0.5, 0.25, -0.5, 1], R = [0.1, 0.4, 0.2, -0.3],
// P (i, o, f) = [0.3, 0.5, -0.2].
OnnxModelBuilder PeepholeLstm(int64_t len) {
  OnnxModelBuilder b(14);
  b.Input("X", {2, 1, 1}).Output("Y_h");
  b.Initializer("W", Values({1, 4, 1}, {0.5f, 0.25f, -0.5f, 1}));
  b.Initializer("R", Values({1, 4, 1}, {0.1f, 0.4f, 0.2f, -0.3f}));
  b.Initializer("P", Values({1, 3}, {0.3f, 0.5f, -0.2f}));
  b.Initializer("lens", Int64Values({len}));
  onnx::NodeProto& n = b.Node("LSTM", {"X", "W", "R", "", "lens", "", "", "P"}, {"", "Y_h"});
  n.set_name("lstm");
  internal::AddIntAttr(n, "hidden_size", 1);
  return b;
}

TEST(OnnxLstm, PeepholesAndFullSequenceLengthsRunAndRoundTrip) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(PeepholeLstm(2).Bytes()));
  const Tensor x = Values({2, 1, 1}, {1, -2});
  for (int pass = 0; pass < 2; ++pass) {
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {x}));
    ASSERT_EQ(y.size(), 1u);
    // h_2 computed in double (tests/ops: Lstm.PeepholesMatchHandComputedValues); 1e-6: float32.
    EXPECT_TRUE(AllClose(y[0], Values({1, 1, 1}, {0.01985461f}), 1e-6, 1e-6));
    if (pass == 0) {
      SP_ASSERT_OK_AND_ASSIGN(m, ExportCheckedAndBack(m, {onnx::TensorProto::FLOAT}, {{2, 1, 1}}));
    }
  }
}

TEST(OnnxLstm, ShorterSequenceLengthsAreUnimplemented) {
  EXPECT_THAT(ImportOnnxFromBytes(PeepholeLstm(1).Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("node 'lstm' (LSTM)"),
                             HasSubstr("sequence_lens entry 1 is not the sequence length 2"))));
}

// ---------------------------------------------------------------------------------------------
// 8-bit integer tensors (INT8, UINT8), held in float32.

// A scalar INT8 initializer `name` = v, as the backend tests' Clip bounds.
void AddInt8Scalar(onnx::ModelProto& m, const std::string& name, int8_t v) {
  onnx::TensorProto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT8);
  t->set_raw_data(std::string(1, static_cast<char>(v)));
}

TEST(OnnxEightBit, UInt8AddWrapsAndTheTypesAreRecorded) {
  OnnxModelBuilder b(14);
  b.Input("x", {4}, onnx::TensorProto::UINT8).Input("y", {4}, onnx::TensorProto::UINT8);
  b.Output("sum");
  b.Node("Add", {"x", "y"}, {"sum"}).set_name("add");
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(m.input_eight_bit_types, ElementsAre("UINT8", "UINT8"));
  EXPECT_THAT(m.output_eight_bit_types, ElementsAre("UINT8"));
  SP_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunModel(m.model, {Values({4}, {200, 255, 3, 0}), Values({4}, {100, 1, 4, 0})}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(44, 0, 7, 0));  // modulo 256, as numpy
  // Export would declare the inputs FLOAT, and a float Add does not wrap.
  EXPECT_THAT(ExportOnnxToBytes(m.model, {{4}, {4}}, {.opset = 14}),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("wrap_to")));
}

TEST(OnnxEightBit, Int8ClipReadsIntegerBounds) {
  OnnxModelBuilder b(13);
  b.Input("x", {4}, onnx::TensorProto::INT8).Output("y");
  b.Node("Clip", {"x", "lo", "hi"}, {"y"});
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(b.Bytes()));
  AddInt8Scalar(proto, "lo", -2);
  AddInt8Scalar(proto, "hi", 5);
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(proto.SerializeAsString()));
  EXPECT_THAT(m.output_eight_bit_types, ElementsAre("INT8"));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                          RunModel(m.model, {Values({4}, {-100, 0, 3, 100})}));
  EXPECT_THAT(out[0].values<float>(), ElementsAre(-2, 0, 3, 5));
}

TEST(OnnxEightBit, OtherReadersOfEightBitTensorsAreUnimplemented) {
  OnnxModelBuilder b(14);
  b.Input("x", {4}, onnx::TensorProto::UINT8).Output("y");
  b.Node("Relu", {"x"}, {"y"}).set_name("relu");
  EXPECT_THAT(ImportOnnxFromBytes(b.Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented,
                       "node 'relu' (Relu): input 'x' is an 8-bit integer tensor (UINT8); 8-bit "
                       "integer tensors are supported through Add, Clip, MaxPool and Identity "
                       "only"));
}

// ---------------------------------------------------------------------------------------------
// Flatten, pools.

absl::StatusOr<OnnxModel> FlattenModel(int64_t axis) {
  OnnxModelBuilder b(13);
  b.Input("a", {2, 3, 4, 5}).Output("b");
  onnx::NodeProto& n = b.Node("Flatten", {"a"}, {"b"});
  n.set_name("flat");
  internal::AddIntAttr(n, "axis", axis);
  return ImportOnnxFromBytes(b.Bytes());
}

TEST(OnnxFlatten, InnerAxisFlattensBothSides) {
  // [2, 3, 4, 5] -> [2 * 3, 4 * 5]: torch.flatten(torch.flatten(a, 2), 0, 1).
  Tensor a = Tensor::Zeros({2, 3, 4, 5});
  for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = static_cast<float>(i);
  for (int64_t axis : {2, -2}) {
    SCOPED_TRACE(axis);
    SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, FlattenModel(axis));
    EXPECT_THAT(Functions(m), ElementsAre("flatten", "flatten"));
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> b, RunModel(m.model, {a}));
    SP_ASSERT_OK_AND_ASSIGN(Tensor expected, a.Reshape({6, 20}));
    EXPECT_TRUE(AllClose(b[0], expected, 0, 0));
  }
}

TEST(OnnxFlatten, LastAxisIsOneFlattenOfTheLeadingDims) {
  for (int64_t axis : {3, -1}) {
    SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, FlattenModel(axis));
    EXPECT_THAT(Functions(m), ElementsAre("flatten"));
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> b,
                            RunModel(m.model, {Tensor::Zeros({2, 3, 4, 5})}));
    EXPECT_EQ(b[0].shape(), (Shape{24, 5}));
  }
}

TEST(OnnxFlatten, AxisZeroOrRankAddsADimOfSizeOne) {
  // ONNX Flatten always gives 2-D: axis 0 is [1, N], axis rank [N, 1] (torch.reshape).
  for (int64_t axis : {0, -4, 4}) {
    SCOPED_TRACE(axis);
    SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, FlattenModel(axis));
    EXPECT_THAT(Functions(m), ElementsAre("reshape"));
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> b,
                            RunModel(m.model, {Tensor::Full({2, 3, 4, 5}, 1.0f)}));
    EXPECT_EQ(b[0].shape(), axis == 4 ? (Shape{120, 1}) : (Shape{1, 120}));
  }
}

absl::StatusOr<OnnxModel> MaxPoolModel(const std::vector<int64_t>& kernel,
                                       const std::vector<int64_t>& pads,
                                       const std::string& auto_pad) {
  OnnxModelBuilder b(12);
  b.Input("x", {1, 1, 6, 6}).Output("y");
  onnx::NodeProto& n = b.Node("MaxPool", {"x"}, {"y"});
  n.set_name("pool");
  internal::AddIntsAttr(n, "kernel_shape", kernel);
  if (!pads.empty()) internal::AddIntsAttr(n, "pads", pads);
  if (!auto_pad.empty()) internal::AddStringAttr(n, "auto_pad", auto_pad);
  return ImportOnnxFromBytes(b.Bytes());
}

TEST(OnnxPools, SymmetricSameUpperImports) {
  // 6 wide, kernel 3, stride 1: one pixel of padding on each side.
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, MaxPoolModel({3, 3}, {}, "SAME_UPPER"));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {Tensor::Zeros({1, 1, 6, 6})}));
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 6, 6}));
}

// The module or function call the single pool of `m` became, and its attributes.
std::pair<std::string, AttrMap> OnlyCall(const OnnxModel& m) {
  for (const Node* n : m.model.graph().nodes()) {
    if (n->kind() == NodeKind::kCallFunction) return {n->target(), n->attrs()};
    if (n->kind() == NodeKind::kCallModule) {
      const Module* module = m.model.root().FindModule(n->target());
      return {std::string(OpName(module->kind())), module->attrs()};
    }
  }
  return {};
}

TEST(OnnxPools, OddSameTotalAndWidePadsBecomePerSidePads) {
  // 6 wide, kernel 2, stride 1: SAME_UPPER pads the bottom and right, SAME_LOWER the top and left.
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel upper, MaxPoolModel({2, 2}, {}, "SAME_UPPER"));
  EXPECT_EQ(OnlyCall(upper).second.at("pads"), AttrValue(std::vector<int64_t>{0, 0, 1, 1}));
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel lower, MaxPoolModel({2, 2}, {}, "SAME_LOWER"));
  EXPECT_EQ(OnlyCall(lower).second.at("pads"), AttrValue(std::vector<int64_t>{1, 1, 0, 0}));
  Tensor x = Tensor::Zeros({1, 1, 6, 6});
  for (int64_t i = 0; i < 36; ++i) x.data<float>()[i] = static_cast<float>(i);
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(lower.model, {x}));
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 6, 6}));
  EXPECT_EQ(y[0].data<float>()[0], 0.0f);  // the window over the top-left pixel and padding
  EXPECT_EQ(y[0].data<float>()[35], 35.0f);
  // Pads wider than PyTorch's half kernel: per-side pads too; symmetric ones within it stay
  // PyTorch's padding.
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel wide, MaxPoolModel({3, 3}, {2, 2, 2, 2}, ""));
  EXPECT_EQ(OnlyCall(wide).second.at("pads"), AttrValue(std::vector<int64_t>{2, 2, 2, 2}));
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel half, MaxPoolModel({3, 3}, {1, 1, 1, 1}, ""));
  EXPECT_FALSE(OnlyCall(half).second.contains("pads"));
  EXPECT_EQ(OnlyCall(half).second.at("padding"), AttrValue(std::vector<int64_t>{1, 1}));
}

TEST(OnnxPools, SameAutoPadNeedsAndGivesStaticShapes) {
  // The second pool's auto_pad needs the first one's output shape: ceil(7 / 1) = 7, then
  // ceil(7 / 2) = 4 with a total pad of 1 put at the top/left (SAME_LOWER).
  OnnxModelBuilder b(12);
  b.Input("x", {1, 1, 7, 7}).Output("y");
  onnx::NodeProto& first = b.Node("MaxPool", {"x"}, {"p"});
  internal::AddIntsAttr(first, "kernel_shape", {2, 2});
  internal::AddStringAttr(first, "auto_pad", "SAME_UPPER");
  onnx::NodeProto& second = b.Node("AveragePool", {"p"}, {"y"});
  internal::AddIntsAttr(second, "kernel_shape", {2, 2});
  internal::AddIntsAttr(second, "strides", {2, 2});
  internal::AddStringAttr(second, "auto_pad", "SAME_LOWER");
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y,
                          ImportAndRun(b, {Tensor::Full({1, 1, 7, 7}, 1.0f)}));
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 4, 4}));
  EXPECT_THAT(y[0].values<float>(), ::testing::Each(1.0f));  // padding not counted
}

TEST(OnnxPools, PadsReachingTheWindowExtentAreInvalid) {
  EXPECT_THAT(MaxPoolModel({3, 3}, {3, 0, 0, 0}, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("node 'pool' (MaxPool)"),
                             HasSubstr("pads [3, 0, 0, 0] must be below the window's extent "
                                       "[3, 3]"))));
}

TEST(OnnxPools, OneToThreeDimensionalPoolsImportAndFourDimensionalOnesAreUnimplemented) {
  OnnxModelBuilder b(12);
  b.Input("x", {1, 2, 5}).Output("y");
  onnx::NodeProto& n = b.Node("AveragePool", {"x"}, {"y"});
  internal::AddIntsAttr(n, "kernel_shape", {2});
  internal::AddStringAttr(n, "auto_pad", "SAME_UPPER");
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_EQ(OnlyCall(m).first, "avg_pool1d");
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y,
                          RunModel(m.model, {Values({1, 2, 5}, {1, 2, 3, 4, 5, 0, 2, 0, 2, 6})}));
  // count_include_pad=0: the last window holds one element.
  EXPECT_THAT(y[0].values<float>(), ElementsAre(1.5f, 2.5f, 3.5f, 4.5f, 5, 1, 1, 1, 4, 6));
  EXPECT_THAT(MaxPoolModel({2, 2, 2, 2}, {}, ""),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("node 'pool' (MaxPool)"),
                             HasSubstr("only 1-D to 3-D windows are supported, kernel_shape is "
                                       "[2, 2, 2, 2]"))));
}

TEST(OnnxPools, ThreeDimensionalPoolWithPerSidePadsRunsAndRoundTrips) {
  // x[d, h, w] = 1 + 4 d + 2 h + w; kernel 2, stride 1, pads only at the ends, padding not
  // counted: along each axis output 0 averages indices {0, 1}, output 1 index {1} alone.
  OnnxModelBuilder b(13);
  b.Input("x", {1, 1, 2, 2, 2}).Output("y");
  onnx::NodeProto& n = b.Node("AveragePool", {"x"}, {"y"});
  internal::AddIntsAttr(n, "kernel_shape", {2, 2, 2});
  internal::AddIntsAttr(n, "pads", {0, 0, 0, 1, 1, 1});
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_EQ(OnlyCall(m).first, "avg_pool3d");
  const Tensor x = Values({1, 1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  for (int pass = 0; pass < 2; ++pass) {
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {x}));
    EXPECT_THAT(y[0].values<float>(), ElementsAre(4.5f, 5, 5.5f, 6, 6.5f, 7, 7.5f, 8));
    if (pass == 0) {
      SP_ASSERT_OK_AND_ASSIGN(
          m, ExportCheckedAndBack(m, {onnx::TensorProto::FLOAT}, {{1, 1, 2, 2, 2}}));
    }
  }
}

TEST(OnnxPools, IndicesOfAThreeDimensionalMaxPoolAreUnimplemented) {
  OnnxModelBuilder b(13);
  b.Input("x", {1, 1, 2, 2, 2}).Output("y").Output("i");
  onnx::NodeProto& n = b.Node("MaxPool", {"x"}, {"y", "i"});
  internal::AddIntsAttr(n, "kernel_shape", {2, 2, 2});
  EXPECT_THAT(ImportOnnxFromBytes(b.Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("output 1 (Indices) of a 3-D MaxPool is not supported")));
}

TEST(OnnxPools, ReadsTheAttributePadOfOpset10BeforeAveragePool) {
  // Pad-2 holds pads as an attribute: Pad(1) -> AveragePool(3) is AvgPool2d(3, padding=1,
  // count_include_pad=True), so a corner averages 4 ones and 5 padded zeros.
  OnnxModelBuilder b(10);
  b.Input("x", {1, 1, 3, 3}).Output("y");
  internal::AddIntsAttr(b.Node("Pad", {"x"}, {"p"}), "pads", {0, 0, 1, 1, 0, 0, 1, 1});
  internal::AddIntsAttr(b.Node("AveragePool", {"p"}, {"y"}), "kernel_shape", {3, 3});
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(Functions(m), ElementsAre("avg_pool2d"));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y,
                          RunModel(m.model, {Tensor::Full({1, 1, 3, 3}, 1.0f)}));
  Tensor expected = Values({1, 1, 3, 3}, {4, 6, 4, 6, 9, 6, 4, 6, 4});
  for (float& v : expected.values<float>()) v /= 9;
  // 1e-6: float32 division.
  EXPECT_TRUE(AllClose(y[0], expected, 1e-6, 0));
}

// ---------------------------------------------------------------------------------------------
// Weights given as graph inputs.

// y = Conv(x, W, B): 1x1 kernel, 2 -> 1 channels, everything a graph input.
OnnxModelBuilder ConvWithWeightInputs() {
  OnnxModelBuilder b(11);
  b.Input("x", {1, 2, 1, 2}).Input("W", {1, 2, 1, 1}).Input("B", {1}).Output("y");
  b.Node("Conv", {"x", "W", "B"}, {"y"}).set_name("conv");
  return b;
}

TEST(OnnxConstantInputs, ListsTheGraphInputsReadAsWeights) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "structprune_backend_conv.onnx").string();
  std::ofstream(path, std::ios::binary) << ConvWithWeightInputs().Bytes();
  SP_ASSERT_OK_AND_ASSIGN(std::vector<OnnxGraphInput> inputs, ReadOnnxGraphInputs(path));
  std::filesystem::remove(path);
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].name, "x");
  EXPECT_FALSE(inputs[0].is_weight);
  EXPECT_TRUE(inputs[1].is_weight);
  EXPECT_TRUE(inputs[2].is_weight);
}

TEST(OnnxConstantInputs, UnboundWeightInputIsUnimplemented) {
  EXPECT_THAT(ImportOnnxFromBytes(ConvWithWeightInputs().Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("node 'conv' (Conv): weight W 'W' must be a float constant")));
}

TEST(OnnxConstantInputs, BoundWeightsBecomeModuleParameters) {
  const OnnxImportOptions options = {
      .constant_inputs = {{"W", Values({1, 2, 1, 1}, {2, -1})}, {"B", Values({1}, {0.5f})}}};
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m,
                          ImportOnnxFromBytes(ConvWithWeightInputs().Bytes(), options));
  EXPECT_THAT(m.input_names, ElementsAre("x"));
  EXPECT_EQ(m.tensor_fqns.at("W"), "W.weight");
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y,
                          RunModel(m.model, {Values({1, 2, 1, 2}, {1, 2, 3, 4})}));
  // y = 2 x0 - x1 + 0.5
  EXPECT_TRUE(AllClose(y[0], Values({1, 1, 1, 2}, {-0.5f, 0.5f}), 1e-6, 0));
}

TEST(OnnxConstantInputs, AModelOfAnOlderOpsetExportsAtOpset13) {
  const OnnxImportOptions options = {
      .constant_inputs = {{"W", Values({1, 2, 1, 1}, {2, -1})}, {"B", Values({1}, {0.5f})}}};
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m,
                          ImportOnnxFromBytes(ConvWithWeightInputs().Bytes(), options));
  EXPECT_EQ(m.opset, 11);
  SP_ASSERT_OK_AND_ASSIGN(std::string bytes,
                          ExportOnnxToBytes(m.model, {{1, 2, 1, 2}}, ExportOptionsFor(m)));
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel again, ImportOnnxFromBytes(bytes));
  EXPECT_EQ(again.opset, 13);
}

TEST(OnnxConstantInputs, BindsGemmWeightsAndScalarBias) {
  OnnxModelBuilder b(13);
  b.Input("a", {1, 2}).Input("b", {2, 3}).Input("c", {}).Output("y");
  onnx::NodeProto& gemm = b.Node("Gemm", {"a", "b", "c"}, {"y"});
  internal::AddFloatAttr(gemm, "alpha", 0.5f);
  internal::AddFloatAttr(gemm, "beta", 2.0f);
  const OnnxImportOptions options = {
      .constant_inputs = {{"b", Values({2, 3}, {1, 2, 3, 4, 5, 6})}, {"c", Tensor::Scalar(1)}}};
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y,
                          ImportAndRun(b, {Values({1, 2}, {1, -1})}, options));
  // 0.5 * [1 - 4, 2 - 5, 3 - 6] + 2 * 1
  EXPECT_TRUE(AllClose(y[0], Values({1, 3}, {0.5f, 0.5f, 0.5f}), 1e-6, 0));
}

TEST(OnnxConstantInputs, BindsAnInt64ReshapeTarget) {
  OnnxModelBuilder b(14);
  b.Input("data", {2, 3, 4}).Input("shape", {2}, onnx::TensorProto::INT64).Output("reshaped");
  b.Node("Reshape", {"data", "shape"}, {"reshaped"});
  const OnnxImportOptions options = {.constant_inputs = {{"shape", Int64Values({2, 12})}}};
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y,
                          ImportAndRun(b, {Tensor::Zeros({2, 3, 4})}, options));
  EXPECT_EQ(y[0].shape(), (Shape{2, 12}));
}

TEST(OnnxConstantInputs, BindingChecksTheNameAndDeclaredType) {
  const std::string bytes = ConvWithWeightInputs().Bytes();
  EXPECT_THAT(ImportOnnxFromBytes(bytes, {.constant_inputs = {{"nope", Tensor::Scalar(1)}}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("cannot bind 'nope': it is not a graph input")));
  EXPECT_THAT(ImportOnnxFromBytes(bytes, {.constant_inputs = {{"B", Int64Values({1})}}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("graph input 'B' is FLOAT, got a int64 tensor")));
  EXPECT_THAT(ImportOnnxFromBytes(bytes, {.constant_inputs = {{"W", Tensor::Zeros({2, 2})}}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("graph input 'W' does not take a tensor of shape [2, 2]")));
}

// ---------------------------------------------------------------------------------------------
// Gemm, MatMul, Reshape, Transpose, PRelu and Add beyond nn.Linear / flatten / per-channel
// PReLU: the PyTorch functions they become (a constant operand read with get_attr).

// Import, run, export, import again and run again: the same outputs both times.
void ExpectExportRoundTrip(const OnnxModel& m, const std::vector<Tensor>& inputs) {
  std::vector<Shape> shapes;
  for (const Tensor& t : inputs) shapes.push_back(t.shape());
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> expected, RunModel(m.model, inputs));
  SP_ASSERT_OK_AND_ASSIGN(std::string bytes,
                          ExportOnnxToBytes(m.model, shapes, ExportOptionsFor(m)));
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel back, ImportOnnxFromBytes(bytes));
  EXPECT_EQ(Functions(back), Functions(m));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> actual, RunModel(back.model, inputs));
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_TRUE(AllClose(actual[i], expected[i], 0, 0));
}

OnnxModelBuilder GemmModel(const Shape& a, bool trans_a, float alpha, float beta) {
  OnnxModelBuilder b(13);
  b.Input("a", std::vector<int64_t>(a.begin(), a.end())).Output("y");
  onnx::NodeProto& gemm = b.Node("Gemm", {"a", "B", "C"}, {"y"});
  gemm.set_name("gemm");
  if (trans_a) internal::AddIntAttr(gemm, "transA", 1);
  internal::AddFloatAttr(gemm, "alpha", alpha);
  internal::AddFloatAttr(gemm, "beta", beta);
  return b;
}

TEST(OnnxGemm, TransposedInputIsTransposeThenLinear) {
  OnnxModelBuilder b = GemmModel({3, 2}, /*trans_a=*/true, 0.5f, 2.0f);
  b.Initializer("B", Values({3, 2}, {1, 0, 0, 1, 1, 1})).Initializer("C", Values({1, 2}, {1, 2}));
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(Functions(m), ElementsAre("transpose"));
  const Module* linear = m.model.root().FindModule("B");  // named after its weight
  ASSERT_NE(linear, nullptr);
  EXPECT_EQ(linear->kind(), OpKind::kLinear);
  const Tensor a = Values({3, 2}, {1, 2, 3, 4, 5, 6});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {a}));
  // 0.5 * a^T B + 2 * C = 0.5 * [[6, 8], [8, 10]] + [2, 4]
  EXPECT_TRUE(AllClose(y[0], Values({2, 2}, {5, 8, 6, 9}), 1e-6, 0));
  ExpectExportRoundTrip(m, {a});
}

TEST(OnnxGemm, MatrixBiasIsAddedAfterTheLinear) {
  const Tensor a = Values({2, 3}, {1, 2, 3, 4, 5, 6});
  for (const Shape& c_shape : {Shape{2, 2}, Shape{2, 1}}) {
    SCOPED_TRACE(ShapeToString(c_shape));
    OnnxModelBuilder b = GemmModel({2, 3}, /*trans_a=*/false, 1.0f, 0.5f);
    const Tensor c = c_shape[1] == 2 ? Values({2, 2}, {1, 2, 3, 4}) : Values({2, 1}, {1, 3});
    b.Initializer("B", Values({3, 2}, {1, 0, 0, 1, 1, 1})).Initializer("C", c);
    SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
    EXPECT_THAT(Functions(m), ElementsAre("add"));
    // The scaled bias is a buffer of its own: C itself is not beta * C.
    EXPECT_NE(m.model.root().buffer("C_scaled"), nullptr);
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {a}));
    // a B = [[4, 5], [10, 11]], + 0.5 C
    const Tensor expected = c_shape[1] == 2 ? Values({2, 2}, {4.5f, 6, 11.5f, 13})
                                            : Values({2, 2}, {4.5f, 5.5f, 11.5f, 12.5f});
    EXPECT_TRUE(AllClose(y[0], expected, 1e-6, 0));
    ExpectExportRoundTrip(m, {a});
  }
}

TEST(OnnxGemm, BiasThatDoesNotBroadcastIsInvalid) {
  OnnxModelBuilder b = GemmModel({2, 3}, /*trans_a=*/false, 1.0f, 1.0f);
  b.Initializer("B", Tensor::Zeros({3, 2})).Initializer("C", Tensor::Zeros({3}));
  EXPECT_THAT(ImportOnnxFromBytes(b.Bytes()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "node 'gemm' (Gemm): bias C of shape [3] does not broadcast to [M, 2]"));
}

TEST(OnnxMatMul, BatchedProductOfTwoInputs) {
  OnnxModelBuilder b(13);
  b.Input("a", {2, 1, 1, 2}).Input("b", {3, 2, 1}).Output("c");
  b.Node("MatMul", {"a", "b"}, {"c"});
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(Functions(m), ElementsAre("matmul"));
  const std::vector<Tensor> in = {Values({2, 1, 1, 2}, {1, 2, 3, 4}),
                                  Values({3, 2, 1}, {1, 0, 0, 1, 1, 1})};
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, in));
  EXPECT_TRUE(AllClose(y[0], Values({2, 3, 1, 1}, {1, 2, 3, 3, 4, 7}), 0, 0));
  ExpectExportRoundTrip(m, in);
}

TEST(OnnxMatMul, ConstantOperandThatIsNoLinearIsReadWithGetAttr) {
  // A 3-D constant W, and a constant as the first operand: torch.matmul with get_attr.
  OnnxModelBuilder b(13);
  b.Input("x", {2, 2}).Output("y");
  b.Initializer("W", Values({2, 2, 1}, {1, 1, 1, -1})).Initializer("L", Values({1, 2}, {2, 3}));
  b.Node("MatMul", {"x", "W"}, {"xw"});  // [2, 2, 1]
  b.Node("MatMul", {"L", "xw"}, {"y"});  // [2, 1, 1]
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(Functions(m), ElementsAre("matmul", "matmul"));
  EXPECT_NE(m.model.root().buffer("W"), nullptr);
  EXPECT_EQ(m.tensor_fqns.at("L"), "L");
  const Tensor x = Values({2, 2}, {1, 2, 3, 4});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {x}));
  // x W[0] = [3, 7], x W[1] = [-1, -1]; L times each: 2*3 + 3*7 = 27, -5.
  EXPECT_TRUE(AllClose(y[0], Values({2, 1, 1}, {27, -5}), 0, 0));
  ExpectExportRoundTrip(m, {x});
}

TEST(OnnxMatMul, InnerDimsThatDifferNameTheNode) {
  OnnxModelBuilder b(13);
  b.Input("a", {2, 3}).Input("b", {4, 2}).Output("c");
  b.Node("MatMul", {"a", "b"}, {"c"});
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(RunModel(m.model, {Tensor::Zeros({2, 3}), Tensor::Zeros({4, 2})}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("matmul 'matmul': shapes [2, 3] and [4, 2] cannot be multiplied: "
                                 "input has 3 columns, other has 4 rows")));
}

absl::StatusOr<OnnxModel> ReshapeModel(const Shape& data, const std::vector<int64_t>& target,
                                       bool allowzero = false) {
  OnnxModelBuilder b(14);
  b.Input("data", std::vector<int64_t>(data.begin(), data.end()))
      .Initializer("shape", Int64Values(target))
      .Output("reshaped");
  onnx::NodeProto& n = b.Node("Reshape", {"data", "shape"}, {"reshaped"});
  n.set_name("reshape");
  if (allowzero) internal::AddIntAttr(n, "allowzero", 1);
  return ImportOnnxFromBytes(b.Bytes());
}

TEST(OnnxReshape, AnyConstantTargetIsTorchReshape) {
  Tensor x = Tensor::Zeros({2, 3, 4});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i);
  struct Case {
    std::vector<int64_t> target;
    Shape out;
  };
  // 0 copies the input's dim, -1 takes the rest.
  for (const Case& c : {Case{{4, 2, 3}, {4, 2, 3}}, Case{{0, -1, 2}, {2, 6, 2}},
                        Case{{0, 0, 1, -1}, {2, 3, 1, 4}}, Case{{-1, 2, 3, 4}, {1, 2, 3, 4}}}) {
    SCOPED_TRACE(ShapeToString(c.out));
    SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ReshapeModel({2, 3, 4}, c.target));
    EXPECT_THAT(Functions(m), ElementsAre("reshape"));
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {x}));
    SP_ASSERT_OK_AND_ASSIGN(Tensor expected, x.Reshape(c.out));
    EXPECT_TRUE(AllClose(y[0], expected, 0, 0));
    ExpectExportRoundTrip(m, {x});
  }
}

TEST(OnnxReshape, AllowZeroMakesZeroASize) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ReshapeModel({0, 3, 4}, {3, 4, 0}, /*allowzero=*/true));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {Tensor::Zeros({0, 3, 4})}));
  EXPECT_EQ(y[0].shape(), (Shape{3, 4, 0}));
  ExpectExportRoundTrip(m, {Tensor::Zeros({0, 3, 4})});
}

TEST(OnnxReshape, TargetThatDoesNotFitNamesTheNode) {
  EXPECT_THAT(ReshapeModel({2, 3, 4}, {5, 5}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "node 'reshape' (Reshape): cannot reshape [2, 3, 4] to [5, 5]"));
  EXPECT_THAT(ReshapeModel({2, 3, 4}, {-1, 2, -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("node 'reshape' (Reshape)")));
}

TEST(OnnxReshape, NonConstantTargetIsUnimplemented) {
  OnnxModelBuilder b(14);
  b.Input("data", {2, 3}).Input("target", {2}, onnx::TensorProto::INT64).Output("reshaped");
  b.Node("Reshape", {"data", "target"}, {"reshaped"}).set_name("reshape");
  EXPECT_THAT(ImportOnnxFromBytes(b.Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented,
                       "node 'reshape' (Reshape): the target shape must be a constant (or "
                       "x.size(i) and constants)"));
}

TEST(OnnxTranspose, SwapOfTwoDimsIsTorchTranspose) {
  OnnxModelBuilder b(13);
  b.Input("x", {2, 1, 3}).Output("y");
  internal::AddIntsAttr(b.Node("Transpose", {"x"}, {"y"}), "perm", {2, 1, 0});
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(Functions(m), ElementsAre("transpose"));
  const Tensor x = Values({2, 1, 3}, {0, 1, 2, 3, 4, 5});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {x}));
  EXPECT_TRUE(AllClose(y[0], Values({3, 1, 2}, {0, 3, 1, 4, 2, 5}), 0, 0));
  ExpectExportRoundTrip(m, {x});

  OnnxModelBuilder rotate(13);
  rotate.Input("x", {2, 1, 3}).Output("y");
  onnx::NodeProto& n = rotate.Node("Transpose", {"x"}, {"y"});
  n.set_name("t");
  internal::AddIntsAttr(n, "perm", {2, 0, 1});
  EXPECT_THAT(ImportOnnxFromBytes(rotate.Bytes()),
              StatusIs(absl::StatusCode::kUnimplemented,
                       "node 't' (Transpose): perm [2, 0, 1] is not a swap of two dims "
                       "(torch.transpose)"));
}

TEST(OnnxPRelu, SlopeNotPerChannelBroadcastsElementWise) {
  // Slope [3] against [1, 2, 3] is one slope per column (ONNX broadcasts from the right), not
  // per channel (dim 1).
  OnnxModelBuilder b(16);
  b.Input("x", {1, 2, 3}).Initializer("slope", Values({3}, {0.1f, 0.2f, 0.3f})).Output("y");
  b.Node("PRelu", {"x", "slope"}, {"y"});
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(Functions(m), ElementsAre("prelu"));
  const Tensor* slope = m.model.root().buffer("slope");
  ASSERT_NE(slope, nullptr);
  EXPECT_EQ(slope->shape(), (Shape{1, 1, 3}));
  const Tensor x = Values({1, 2, 3}, {-1, 2, -3, 4, -5, -6});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {x}));
  EXPECT_TRUE(AllClose(y[0], Values({1, 2, 3}, {-0.1f, 2, -0.9f, 4, -1.0f, -1.8f}), 1e-6, 0));
  ExpectExportRoundTrip(m, {x});
}

TEST(OnnxPRelu, ASlopeAlsoReadElsewhereKeepsItsShapeThere) {
  // PRelu reads slope [3] as [1, 1, 3]; the Add reads the same initializer as [3].
  OnnxModelBuilder b(16);
  b.Input("x", {1, 2, 3}).Initializer("slope", Values({3}, {0.1f, 0.2f, 0.3f})).Output("y");
  b.Node("PRelu", {"x", "slope"}, {"p"});
  b.Node("Add", {"p", "slope"}, {"y"});
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(Functions(m), ElementsAre("prelu", "add"));
  const Tensor* reshaped = m.model.root().buffer("slope");
  const Tensor* original = m.model.root().buffer("slope_1");
  ASSERT_NE(reshaped, nullptr);
  ASSERT_NE(original, nullptr);
  EXPECT_EQ(reshaped->shape(), (Shape{1, 1, 3}));
  EXPECT_EQ(original->shape(), (Shape{3}));
  const Tensor x = Values({1, 2, 3}, {-1, 2, -3, 4, -5, -6});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {x}));
  EXPECT_TRUE(AllClose(y[0], Values({1, 2, 3}, {0, 2.2f, -0.6f, 4.1f, -0.8f, -1.5f}), 1e-6, 1e-6));
}

TEST(OnnxAdd, ConstantOperandIsReadWithGetAttr) {
  OnnxModelBuilder b(13);
  b.Input("x", {2, 2}).Initializer("c", Values({2}, {10, 20})).Output("y");
  b.Node("Add", {"c", "x"}, {"y"});
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnxFromBytes(b.Bytes()));
  EXPECT_THAT(Functions(m), ElementsAre("add"));
  const Tensor x = Values({2, 2}, {1, 2, 3, 4});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> y, RunModel(m.model, {x}));
  EXPECT_TRUE(AllClose(y[0], Values({2, 2}, {11, 22, 13, 24}), 0, 0));
  ExpectExportRoundTrip(m, {x});
}

}  // namespace
}  // namespace structprune
