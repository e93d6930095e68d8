// The seed's networks (tests/testing/models.h) against PyTorch: every fixture of
// tests/golden/models loads into the model built by name (same FQNs and shapes as the
// state_dict), and the forward pass matches PyTorch's outputs with the fast and the reference
// kernels.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "graph/interpreter.h"
#include "graph/printer.h"
#include "tests/testing/golden.h"
#include "tests/testing/models.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::AllClose;
using ::structprune::testing::BuildSeedModel;
using ::structprune::testing::GoldenCase;
using ::structprune::testing::StatusIs;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// The fixture's parameter names in file order, which the generator wrote in state_dict order.
// Read here with ordered_json: GoldenCase::params comes from nlohmann::json, whose objects
// are std::maps, so its order is alphabetical.
std::vector<std::string> StateDictOrder(const std::string& path) {
  std::ifstream in(path);
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(in);
  std::vector<std::string> names;
  for (const auto& [fqn, t] : j.at("params").items()) names.push_back(fqn);
  return names;
}

class ModelGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelGoldenTest, LoadsPyTorchStateAndMatchesOutputs) {
  SP_ASSERT_OK_AND_ASSIGN(GoldenCase c, testing::LoadGolden(GetParam()));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildSeedModel(c.model, c.args));
  // Succeeds only when every state_dict FQN exists in the model with PyTorch's shape.
  SP_ASSERT_OK(testing::LoadState(c.params, model.root()));
  for (bool reference : {false, true}) {
    SCOPED_TRACE(reference ? "reference kernels" : "fast kernels");
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> outputs,
                            RunModel(model, c.inputs, {.reference_kernels = reference}));
    ASSERT_EQ(outputs.size(), c.outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      // The fixture's tolerance (1e-4 relative, 1e-5 absolute): float32 summation order differs
      // from PyTorch's and the error accumulates across layers.
      EXPECT_TRUE(AllClose(outputs[i], c.outputs[i], c.rtol, c.atol)) << "output " << i;
    }
  }
}

TEST_P(ModelGoldenTest, ParameterFqnsFollowStateDictOrder) {
  SP_ASSERT_OK_AND_ASSIGN(GoldenCase c, testing::LoadGolden(GetParam()));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildSeedModel(c.model, c.args));
  std::vector<std::string> actual;
  for (const auto& [fqn, t] : model.root().NamedParameters()) actual.push_back(fqn);
  EXPECT_THAT(actual, ElementsAreArray(StateDictOrder(GetParam())));
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  return std::filesystem::path(info.param).stem().string();
}

INSTANTIATE_TEST_SUITE_P(Models, ModelGoldenTest,
                         ::testing::ValuesIn(testing::GoldenFiles("models")), CaseName);

TEST(SeedModels, FixtureFileNamesBuildTheirLayerCount) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildSeedModel("LSTMLinearModel_2layer", {}));
  EXPECT_NE(model.root().FindModule("lstm")->parameter("weight_ih_l1"), nullptr);
  EXPECT_THAT(BuildSeedModel("LSTMLinearModel_2layer", {{"num_layers", int64_t{1}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_layers=1")));
}

TEST(SeedModels, RejectsUnknownNamesAndArguments) {
  EXPECT_THAT(BuildSeedModel("ResNet18", {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'ResNet18'")));
  EXPECT_THAT(BuildSeedModel("SimpleConv2d", {{"width", int64_t{4}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'width'")));
  EXPECT_THAT(BuildSeedModel("SimpleConv2d", {{"width_divisor", int64_t{64}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got 64")));
  EXPECT_THAT(BuildSeedModel("LSTMLinearModel", {{"input_dim", int64_t{8}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'hidden_dim'")));
}

TEST(SeedModels, WidthDivisorDividesEveryChannelButTheInput) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule full, testing::Conv2dPool(1));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule narrow, testing::Conv2dPool(4));
  EXPECT_EQ(full.root().FindModule("seq.0")->parameter("weight")->shape(), (Shape{32, 1, 3, 3}));
  EXPECT_EQ(narrow.root().FindModule("seq.0")->parameter("weight")->shape(), (Shape{8, 1, 3, 3}));
  EXPECT_EQ(narrow.root().FindModule("conv2d3")->parameter("weight")->shape(),
            (Shape{13, 13, 3, 3}));
}

TEST(SeedModels, UnusedModuleIsInTheTreeButNotTheGraph) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearActivationFunctional());
  ASSERT_NE(model.root().FindModule("act1"), nullptr);
  EXPECT_EQ(model.root().FindModule("act1")->kind(), OpKind::kRelu);
  for (const Node* n : model.graph().nodes()) EXPECT_NE(n->target(), "act1") << n->name();
}

TEST(SeedModels, EqualSeedsBuildEqualModels) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule a, testing::LinearBias(7));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule b, testing::LinearBias(7));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule c, testing::LinearBias(8));
  const Tensor& wa = *a.root().FindModule("seq.0")->parameter("weight");
  EXPECT_TRUE(wa.Equals(*b.root().FindModule("seq.0")->parameter("weight")));
  EXPECT_FALSE(wa.Equals(*c.root().FindModule("seq.0")->parameter("weight")));
}

// Regression test for the printer's text form (what pattern tests compare).
TEST(GraphPrinter, PrintsLstmLayerNormLinearModel) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LSTMLayerNormLinearModel(8, 8, 4, 2));
  // Tuple unpacking (x, state = lstm(x)) takes both items right after the call, as FX does.
  EXPECT_EQ(GraphToString(model), R"(graph(x):
    %lstm = call_module[lstm: LSTM(batch_first=false, bias=true, hidden_size=8, input_size=8, num_layers=2)](%x)
    %getitem = call_function[getitem(index=0)](%lstm)
    %getitem_1 = call_function[getitem(index=1)](%lstm)
    %norm = call_module[norm: LayerNorm(bias=true, elementwise_affine=true, eps=1e-05, normalized_shape=[8])](%getitem)
    %linear = call_module[linear: Linear(bias=true, in_features=8, out_features=4)](%norm)
    return (%linear, %getitem_1)
)");
}

TEST(GraphPrinter, PrintsLinearActivationFunctional) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearActivationFunctional());
  // act1 is a module of the tree but not called: no node prints it.
  EXPECT_EQ(GraphToString(model), R"(graph(x):
    %seq_0 = call_module[seq.0: Linear(bias=true, in_features=7, out_features=5)](%x)
    %seq_1 = call_module[seq.1: ReLU()](%seq_0)
    %seq_2 = call_module[seq.2: Linear(bias=false, in_features=5, out_features=6)](%seq_1)
    %seq_3 = call_module[seq.3: ReLU()](%seq_2)
    %seq_4 = call_module[seq.4: Linear(bias=true, in_features=6, out_features=4)](%seq_3)
    %linear1 = call_module[linear1: Linear(bias=true, in_features=4, out_features=3)](%seq_4)
    %relu = call_function[relu](%linear1)
    %linear2 = call_module[linear2: Linear(bias=false, in_features=3, out_features=8)](%relu)
    %relu_1 = call_function[relu](%linear2)
    %linear3 = call_module[linear3: Linear(bias=false, in_features=8, out_features=10)](%relu_1)
    %relu_2 = call_function[relu](%linear3)
    return (%relu_2)
)");
}

}  // namespace
}  // namespace structprune
