// ImportOnnx on PyTorch 1.13 exports (tests/golden/onnx/, from generate_onnx.py): every case
// imports, runs and matches PyTorch's outputs; modules get PyTorch's FQNs and kinds.
#include "graph/onnx_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "graph/interpreter.h"
#include "tests/onnx/onnx_fixtures.h"
#include "tests/testing/golden.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::AllClose;
using ::structprune::testing::LoadOnnxCase;
using ::structprune::testing::OkAndEq;
using ::structprune::testing::OnnxCase;
using ::structprune::testing::OnnxCaseNames;
using ::structprune::testing::OnnxModelPath;
using ::structprune::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The kind of the module at `fqn`, or kSequential when there is none.
OpKind KindOf(const OnnxModel& m, const std::string& fqn) {
  const Module* module = m.model.root().FindModule(fqn);
  return module == nullptr ? OpKind::kSequential : module->kind();
}

// The call_function nodes' targets, in graph order.
std::vector<std::string> Functions(const OnnxModel& m) {
  std::vector<std::string> out;
  for (const Node* n : m.model.graph().nodes()) {
    if (n->kind() == NodeKind::kCallFunction) out.push_back(n->target());
  }
  return out;
}

int CallsTo(const OnnxModel& m, const std::string& fqn) {
  int calls = 0;
  for (const Node* n : m.model.graph().nodes()) {
    calls += n->kind() == NodeKind::kCallModule && n->target() == fqn;
  }
  return calls;
}

class OnnxImportCaseTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxImportCaseTest, MatchesPyTorchOutputs) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath(GetParam())));
  SP_ASSERT_OK_AND_ASSIGN(OnnxCase c, LoadOnnxCase(GetParam()));
  ASSERT_EQ(m.input_shapes.size(), 1u);
  ASSERT_EQ(m.input_shapes[0].size(), c.inputs[0].shape().size());
  for (size_t d = 0; d < m.input_shapes[0].size(); ++d) {
    if (m.input_shapes[0][d] != -1)
      EXPECT_EQ(m.input_shapes[0][d], c.inputs[0].shape()[d]);  // -1: dynamic
  }
  EXPECT_EQ(m.output_names.size(), c.outputs.size());
  SP_ASSERT_OK(m.model.Lint());
  for (bool reference : {false, true}) {
    SCOPED_TRACE(reference ? "reference kernels" : "fast kernels");
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> outputs,
                            RunModel(m.model, c.inputs, {.reference_kernels = reference}));
    ASSERT_EQ(outputs.size(), c.outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      // 1e-4: float32 sums in another order than PyTorch's, over several layers.
      EXPECT_TRUE(AllClose(outputs[i], c.outputs[i], 1e-4, 1e-4)) << "output " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, OnnxImportCaseTest, ::testing::ValuesIn(OnnxCaseNames()));

TEST(OnnxImport, NamesBiasFreeLinearsAfterTheirScope) {
  // PyTorch stores each bias-free Linear weight transposed as onnx::MatMul_<n>.
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath("SimpleLinear")));
  for (const char* fqn : {"seq.0", "seq.1", "seq.2", "linear1", "linear2"}) {
    EXPECT_EQ(KindOf(m, fqn), OpKind::kLinear) << fqn;
  }
  const Tensor* w = m.model.root().FindModule("seq.1")->parameter("weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape(), Shape({6, 5}));  // [out, in] again
  EXPECT_FALSE(m.model.root().FindModule("seq.1")->HasParameter("bias"));
  int renamed = 0;
  for (const auto& [onnx_name, fqn] : m.tensor_fqns) {
    if (onnx_name.rfind("onnx::MatMul_", 0) == 0) {
      ++renamed;
      EXPECT_THAT(ResolveTensorFqn(m, onnx_name), OkAndEq(fqn));
    }
  }
  EXPECT_EQ(renamed, 5);
  EXPECT_THAT(ResolveTensorFqn(m, "seq.1.weight"), OkAndEq(std::string("seq.1.weight")));
  EXPECT_THAT(ResolveTensorFqn(m, "seq.9.weight"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("seq.9.weight")));
}

TEST(OnnxImport, ActivationModulesAndFunctionalCalls) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath("LinearActivation")));
  EXPECT_EQ(KindOf(m, "seq.1"), OpKind::kRelu);
  EXPECT_EQ(KindOf(m, "seq.3"), OpKind::kTanh);
  EXPECT_EQ(KindOf(m, "act1"), OpKind::kRelu);
  EXPECT_EQ(KindOf(m, "act2"), OpKind::kTanh);
  EXPECT_THAT(Functions(m), ::testing::IsEmpty());

  SP_ASSERT_OK_AND_ASSIGN(OnnxModel f, ImportOnnx(OnnxModelPath("LinearActivationFunctional")));
  EXPECT_EQ(KindOf(f, "seq.3"), OpKind::kRelu);
  EXPECT_THAT(Functions(f), ::testing::ElementsAre("relu", "relu", "relu"));
}

TEST(OnnxImport, DecomposedActivationsBecomeOneCall) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath("FunctionalActs")));
  EXPECT_THAT(Functions(m), ::testing::ElementsAre("gelu", "silu", "add", "hardtanh", "leaky_relu",
                                                   "add", "elu", "softplus", "add", "mish",
                                                   "logsigmoid", "tanh", "hardsigmoid", "cat"));
}

struct ActivationCase {
  const char* fixture;
  OpKind kind;
};

TEST(OnnxImport, EveryActivationModule) {
  const ActivationCase cases[] = {
      {"Act_ReLU", OpKind::kRelu},
      {"Act_RReLU", OpKind::kLeakyRelu},
      {"Act_Hardtanh", OpKind::kHardtanh},
      {"Act_ReLU6", OpKind::kRelu6},
      {"Act_Sigmoid", OpKind::kSigmoid},
      {"Act_Hardsigmoid", OpKind::kHardsigmoid},
      {"Act_Tanh", OpKind::kTanh},
      {"Act_SiLU", OpKind::kSilu},
      {"Act_Mish", OpKind::kMish},
      {"Act_Hardswish", OpKind::kHardswish},
      {"Act_Hardswish_op17", OpKind::kHardswish},
      {"Act_ELU", OpKind::kElu},
      {"Act_CELU", OpKind::kCelu},
      {"Act_SELU", OpKind::kSelu},
      {"Act_Hardshrink", OpKind::kHardshrink},
      {"Act_LeakyReLU", OpKind::kLeakyRelu},
      {"Act_LogSigmoid", OpKind::kLogSigmoid},
      {"Act_Softplus", OpKind::kSoftplus},
      {"Act_SoftplusBeta", OpKind::kSoftplus},
      {"Act_PReLU", OpKind::kPrelu},
      {"Act_Softsign", OpKind::kSoftsign},
      {"Act_Tanhshrink", OpKind::kTanhshrink},
      {"Act_GELU", OpKind::kGelu},
      {"Act_GELUTanh", OpKind::kGelu},
  };
  for (const ActivationCase& c : cases) {
    SCOPED_TRACE(c.fixture);
    SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath(c.fixture)));
    EXPECT_EQ(KindOf(m, "act"), c.kind);
    EXPECT_EQ(KindOf(m, "fc1"), OpKind::kLinear);
    EXPECT_THAT(Functions(m), ::testing::IsEmpty());
  }
}

TEST(OnnxImport, ResNetBlockKeepsBatchNormAndCallsReusedReluTwice) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath("ResNetBlock")));
  EXPECT_EQ(KindOf(m, "layer1.0.conv1"), OpKind::kConv2d);
  EXPECT_EQ(KindOf(m, "layer1.0.bn1"), OpKind::kBatchNorm2d);
  EXPECT_EQ(KindOf(m, "layer1.0.bn2"), OpKind::kBatchNorm2d);
  EXPECT_NE(m.model.root().FindModule("layer1.0.bn1")->buffer("running_var"), nullptr);
  EXPECT_EQ(KindOf(m, "layer1.0.relu"), OpKind::kRelu);
  EXPECT_EQ(m.model.root().FindModule("layer1.0.relu_1"), nullptr);
  EXPECT_EQ(CallsTo(m, "layer1.0.relu"), 2);
  EXPECT_THAT(Functions(m), ::testing::ElementsAre("add", "adaptive_avg_pool2d", "flatten"));
}

TEST(OnnxImport, FoldedBatchNormConvsTakeTheirScopeNames) {
  // Eval-mode export folds each BatchNorm into its conv: weights onnx::Conv_<n>.
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath("ResNetBlockFolded")));
  const Module* conv = m.model.root().FindModule("layer1.0.conv1");
  ASSERT_NE(conv, nullptr);
  EXPECT_TRUE(conv->HasParameter("bias"));
  EXPECT_EQ(m.model.root().FindModule("layer1.0.bn1"), nullptr);
  bool saw_renamed = false;
  for (const auto& [onnx_name, fqn] : m.tensor_fqns) {
    saw_renamed =
        saw_renamed || (onnx_name.rfind("onnx::Conv_", 0) == 0 && fqn == "layer1.0.conv1.weight");
  }
  EXPECT_TRUE(saw_renamed);
}

TEST(OnnxImport, LstmLayersBecomeOneModule) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m,
                          ImportOnnx(OnnxModelPath("LSTMLayerNormLinearModel_2layer_op13")));
  const Module* lstm = m.model.root().FindModule("lstm");
  ASSERT_NE(lstm, nullptr);
  EXPECT_EQ(lstm->kind(), OpKind::kLstm);
  EXPECT_THAT(GetIntAttr(lstm->attrs(), "num_layers", 0), OkAndEq(2));
  for (const char* t : {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l1",
                        "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"}) {
    EXPECT_TRUE(lstm->HasParameter(t)) << t;
  }
  EXPECT_EQ(lstm->parameter("weight_ih_l0")->shape(), Shape({32, 8}));
  EXPECT_EQ(KindOf(m, "norm"), OpKind::kLayerNorm);
  EXPECT_EQ(KindOf(m, "linear"), OpKind::kLinear);
  EXPECT_THAT(Functions(m), ::testing::Contains("getitem"));

  SP_ASSERT_OK_AND_ASSIGN(OnnxModel bf, ImportOnnx(OnnxModelPath("LstmBatchFirst")));
  EXPECT_THAT(GetBoolAttr(bf.model.root().FindModule("lstm")->attrs(), "batch_first", false),
              OkAndEq(true));
}

TEST(OnnxImport, LayerNormAtOpset13And17) {
  for (const char* name : {"LayerNormLast_op13", "LayerNormLast_op17"}) {
    SCOPED_TRACE(name);
    SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath(name)));
    EXPECT_EQ(KindOf(m, "norm"), OpKind::kLayerNorm);
    EXPECT_TRUE(m.model.root().FindModule("norm")->HasParameter("weight"));
  }
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath("LayerNormTwoDims")));
  ASSERT_EQ(KindOf(m, "norm"), OpKind::kLayerNorm);
  const AttrMap& attrs = m.model.root().FindModule("norm")->attrs();
  EXPECT_THAT(GetIntsAttr(attrs, "normalized_shape", {}), OkAndEq(std::vector<int64_t>{4, 5}));
  EXPECT_THAT(GetBoolAttr(attrs, "elementwise_affine", true), OkAndEq(false));
}

TEST(OnnxImport, PoolsPadAndReshape) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath("Pools")));
  EXPECT_EQ(KindOf(m, "maxpool"), OpKind::kMaxPool2d);
  ASSERT_EQ(KindOf(m, "avgpool"), OpKind::kAvgPool2d);
  // Pad + AveragePool is AvgPool2d(padding=1, count_include_pad=True).
  const AttrMap& a = m.model.root().FindModule("avgpool")->attrs();
  EXPECT_THAT(GetIntsAttr(a, "padding", {}), OkAndEq(std::vector<int64_t>{1, 1}));
  EXPECT_THAT(GetBoolAttr(a, "count_include_pad", false), OkAndEq(true));
  EXPECT_EQ(KindOf(m, "drop"), OpKind::kSequential);  // inference Dropout vanished
  EXPECT_THAT(Functions(m), ::testing::ElementsAre("cat", "avg_pool2d", "max_pool2d", "flatten"));
}

TEST(OnnxImport, GemmFoldsAlphaBetaAndTransB) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath("GemmGeneral")));
  ASSERT_EQ(KindOf(m, "dense"), OpKind::kLinear);
  EXPECT_EQ(m.model.root().FindModule("dense")->parameter("weight")->shape(), Shape({4, 6}));
  EXPECT_EQ(m.tensor_fqns.at("dense.kernel"), "dense.weight");
  EXPECT_EQ(KindOf(m, "relu"), OpKind::kSequential);  // "relu" is no PyTorch scope: functional
}

TEST(OnnxImport, KeepsInputAndOutputNames) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath("LSTMLinearModel_2layer")));
  EXPECT_THAT(m.input_names, ::testing::ElementsAre("input"));
  EXPECT_EQ(m.output_names.size(), 2u);
  EXPECT_EQ(m.opset, 13);
  EXPECT_EQ(m.model.graph().placeholders().front()->target(), "input");
}

TEST(OnnxImport, RemembersTheNamesOfSymbolicDims) {
  // PyTorch's dynamic_axes name the input dims; it names the outputs' itself.
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel m, ImportOnnx(OnnxModelPath("Pools_dynamic_batch")));
  EXPECT_THAT(m.input_shapes, ElementsAre(Shape({-1, 2, 9, 8})));
  EXPECT_THAT(m.input_dim_params, ElementsAre(ElementsAre("batch", "", "", "")));
  EXPECT_THAT(m.output_dim_params, ElementsAre(ElementsAre("Gemm31_dim_0", "")));
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel fixed, ImportOnnx(OnnxModelPath("SimpleLinear")));
  EXPECT_THAT(fixed.input_dim_params, ElementsAre(ElementsAre("", "")));
}

}  // namespace
}  // namespace structprune
