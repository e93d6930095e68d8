// Unit tests of the IR: Graph (edits, Lint), GraphBuilder errors, the Module tree (FQNs, order,
// Clone), the printer, parametrizations, forward hooks and the interpreter's error messages.
#include "graph/graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/builder.h"
#include "graph/interpreter.h"
#include "graph/module.h"
#include "graph/parametrize.h"
#include "graph/printer.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "tests/testing/models.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::IsOk;
using ::structprune::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Names(const std::vector<Node*>& nodes) {
  std::vector<std::string> names;
  for (const Node* n : nodes) names.push_back(n->name());
  return names;
}

Tensor Input(const Shape& shape, uint64_t seed = 1) {
  return Rng(seed).UniformTensor(shape, -1.0f, 1.0f);
}

// x -> fc (Linear(3, 2)) -> out, for parametrization and hook tests.
absl::StatusOr<GraphModule> SingleLinear() {
  GraphBuilder b(3);
  b.AddModule("fc", LinearAttrs{.in_features = 3, .out_features = 2});
  b.Output(b.Call("fc", b.Input("x")));
  return b.Build();
}

// ---------------------------------------------------------------------------------------------
// GraphBuilder

TEST(GraphBuilder, CallOfUnknownModuleIsNotFoundNamingTheFqn) {
  GraphBuilder b;
  b.AddModule("fc", LinearAttrs{.in_features = 3, .out_features = 2});
  Node* y = b.Call("fc2", b.Input("x"));
  EXPECT_EQ(y, nullptr);
  b.Output(y);  // later calls on the failed result keep the first error
  EXPECT_THAT(b.Build(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("'fc2'")));
}

TEST(GraphBuilder, DuplicateModuleIsInvalidArgument) {
  GraphBuilder b;
  EXPECT_NE(b.AddModule("seq.0", LinearAttrs{.in_features = 3, .out_features = 2}), nullptr);
  EXPECT_EQ(b.AddModule("seq.0", OpKind::kRelu), nullptr);
  EXPECT_THAT(b.Build(), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("module 'seq.0' already exists")));
}

TEST(GraphBuilder, AddingAnImplicitContainerAgainIsADuplicate) {
  GraphBuilder b;
  b.AddModule("seq.0", OpKind::kRelu);
  EXPECT_EQ(b.AddModule("seq", OpKind::kTanh), nullptr);
  EXPECT_THAT(b.Build(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'seq'")));
}

TEST(GraphBuilder, CallingASequentialContainerIsInvalidArgument) {
  GraphBuilder b;
  b.AddModule("seq.0", LinearAttrs{.in_features = 3, .out_features = 2});
  EXPECT_EQ(b.root().FindModule("seq")->kind(), OpKind::kSequential);
  EXPECT_EQ(b.Call("seq", b.Input("x")), nullptr);
  EXPECT_THAT(b.Build(), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("module 'seq' is a Sequential container")));
}

TEST(GraphBuilder, FunctionalCallOfModuleOnlyOpIsInvalidArgument) {
  GraphBuilder b;
  EXPECT_EQ(b.Call(OpKind::kLinear, b.Input("x")), nullptr);
  EXPECT_THAT(b.Build(), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("Linear has no functional form")));
}

TEST(GraphBuilder, BadModuleAttributeNamesTheModule) {
  GraphBuilder b;
  EXPECT_EQ(b.AddModule("fc", OpKind::kLinear, {{"in_features", std::string("three")}}), nullptr);
  EXPECT_THAT(b.Build(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Linear 'fc': attribute 'in_features' must be an int")));
}

TEST(GraphBuilder, GetAttrOfUnknownTensorIsNotFound) {
  GraphBuilder b;
  b.AddModule("fc", LinearAttrs{.in_features = 3, .out_features = 2, .bias = false});
  b.Input("x");
  EXPECT_EQ(b.GetAttr("fc.bias"), nullptr);
  EXPECT_THAT(b.Build(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("'fc.bias'")));
}

TEST(GraphBuilder, DuplicateInputNameIsInvalidArgument) {
  GraphBuilder b;
  b.Input("x");
  EXPECT_EQ(b.Input("x"), nullptr);
  EXPECT_THAT(b.Build(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input name 'x' is taken")));
}

TEST(GraphBuilder, NodeNamesAreUniqueAndDotFree) {
  GraphBuilder b;
  b.AddModule("seq.0", OpKind::kRelu);
  Node* x = b.Input("x");
  Node* a = b.Call("seq.0", x);
  Node* r1 = b.Call(OpKind::kRelu, a);
  Node* r2 = b.Call(OpKind::kRelu, r1);
  b.Output(r2);
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  EXPECT_THAT(Names(model.graph().nodes()), ElementsAre("x", "seq_0", "relu", "relu_1", "output"));
  EXPECT_EQ(model.graph().FindNode("seq_0")->target(), "seq.0");
  EXPECT_EQ(model.graph().FindNode("relu_1")->target(), "relu");
  EXPECT_THAT(model.InputNames(), ElementsAre("x"));
}

// ---------------------------------------------------------------------------------------------
// Graph: Lint

TEST(GraphLint, MissingCallModuleTargetNamesTheNode) {
  Module root(OpKind::kSequential, {});
  Graph g;
  Node* x = g.AddPlaceholder("x");
  Node* y = g.AddCallModule("encoder.fc", OpKind::kLinear, {x});
  g.SetOutput({y});
  EXPECT_THAT(
      g.Lint(root),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("node 'encoder_fc': call_module target 'encoder.fc' does not exist")));
}

TEST(GraphLint, CallModuleKindMismatchNamesTheNodeAndBothKinds) {
  GraphBuilder b;
  b.AddModule("fc", LinearAttrs{.in_features = 3, .out_features = 2});
  b.Output(b.Call("fc", b.Input("x")));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  Graph g;
  Node* x = g.AddPlaceholder("x");
  g.SetOutput({g.AddCallModule("fc", OpKind::kConv2d, {x})});
  EXPECT_THAT(g.Lint(model.root()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("node 'fc': target 'fc' is a Linear, node expects Conv2d")));
}

TEST(GraphLint, CallOfContainerFails) {
  Module root(OpKind::kSequential, {});
  root.AddChild("seq", Module::Sequential());
  Graph g;
  Node* x = g.AddPlaceholder("x");
  g.SetOutput({g.AddCallModule("seq", OpKind::kSequential, {x})});
  EXPECT_THAT(g.Lint(root), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("node 'seq': target 'seq' is a container")));
}

TEST(GraphLint, MissingGetAttrTargetNamesTheNode) {
  Module root(OpKind::kSequential, {});
  Graph g;
  g.SetOutput({g.AddGetAttr("fc.weight")});
  EXPECT_THAT(g.Lint(root),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("node 'fc_weight': get_attr target 'fc.weight' does not exist")));
}

TEST(GraphLint, UseBeforeDefinitionIsNotTopological) {
  Module root(OpKind::kSequential, {});
  Graph g;
  Node* x = g.AddPlaceholder("x");
  Node* relu = g.AddCallFunction(OpKind::kRelu, {x});
  // Inserted right after x, so before the relu it reads.
  Node* tanh = g.InsertCallFunctionAfter(x, OpKind::kTanh, {relu});
  g.SetOutput({tanh});
  EXPECT_THAT(g.Lint(root), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("node 'tanh': uses 'relu' before it is defined")));
}

TEST(GraphLint, GraphWithoutOutputFails) {
  Module root(OpKind::kSequential, {});
  Graph g;
  g.AddCallFunction(OpKind::kRelu, {g.AddPlaceholder("x")});
  EXPECT_THAT(g.Lint(root),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("graph has no output node")));
}

TEST(GraphLint, SeedModelsAreWellFormed) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPoolFlatten());
  EXPECT_THAT(model.Lint(), IsOk());
}

// ---------------------------------------------------------------------------------------------
// Graph: edits

// x -> relu -> tanh -> output
struct ReluTanh {
  Module root{OpKind::kSequential, {}};
  Graph g;
  Node* x = g.AddPlaceholder("x");
  Node* relu = g.AddCallFunction(OpKind::kRelu, {x});
  Node* tanh = g.AddCallFunction(OpKind::kTanh, {relu});
  Node* out = g.SetOutput({tanh});
};

TEST(GraphEdit, CreatorsAppendBeforeTheOutputAndRecordUsers) {
  ReluTanh t;
  Node* sig = t.g.AddCallFunction(OpKind::kSigmoid, {t.x});
  EXPECT_THAT(Names(t.g.nodes()), ElementsAre("x", "relu", "tanh", "sigmoid", "output"));
  EXPECT_THAT(t.x->users(), ElementsAre(t.relu, sig));
  EXPECT_THAT(t.tanh->users(), ElementsAre(t.out));
  EXPECT_THAT(t.g.Lint(t.root), IsOk());
}

TEST(GraphEdit, ReplaceAllUsesWithMovesEveryUser) {
  ReluTanh t;
  Node* sig = t.g.InsertCallFunctionAfter(t.relu, OpKind::kSigmoid, {t.x});
  t.g.ReplaceAllUsesWith(t.relu, sig);
  EXPECT_THAT(t.tanh->args(), ElementsAre(sig));
  EXPECT_THAT(sig->users(), ElementsAre(t.tanh));
  EXPECT_THAT(t.relu->users(), IsEmpty());
  EXPECT_THAT(t.x->users(), ElementsAre(t.relu, sig));
  EXPECT_THAT(t.g.Lint(t.root), IsOk());

  EXPECT_THAT(t.g.Erase(t.relu), IsOk());
  EXPECT_THAT(Names(t.g.nodes()), ElementsAre("x", "sigmoid", "tanh", "output"));
  EXPECT_THAT(t.x->users(), ElementsAre(sig));
  EXPECT_EQ(t.g.FindNode("relu"), nullptr);
  EXPECT_THAT(t.g.Lint(t.root), IsOk());
}

TEST(GraphEdit, ReplacedGraphComputesTheNewFunction) {
  GraphBuilder b;
  Node* x = b.Input("x");
  Node* relu = b.Call(OpKind::kRelu, x);
  b.Output(b.Call(OpKind::kTanh, relu));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  Graph& g = model.graph();
  Node* sig = g.InsertCallFunctionAfter(g.FindNode("relu"), OpKind::kSigmoid, {g.FindNode("x")});
  g.ReplaceAllUsesWith(g.FindNode("relu"), sig);
  ASSERT_THAT(g.Erase(g.FindNode("relu")), IsOk());
  const Tensor in = Input({2, 3});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunModel(model, {in}));
  ASSERT_EQ(out.size(), 1u);
  for (int64_t i = 0; i < in.numel(); ++i) {
    const float v = in.data<float>()[i];
    EXPECT_FLOAT_EQ(out[0].data<float>()[i], std::tanh(1.0f / (1.0f + std::exp(-v))));
  }
}

TEST(GraphEdit, EraseOfUsedNodeIsFailedPreconditionAndChangesNothing) {
  ReluTanh t;
  EXPECT_THAT(
      t.g.Erase(t.relu),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("cannot erase node 'relu': it still has 1 user(s), first 'tanh'")));
  EXPECT_EQ(t.g.size(), 4u);
  EXPECT_THAT(t.x->users(), ElementsAre(t.relu));
  EXPECT_THAT(t.g.Lint(t.root), IsOk());
}

TEST(GraphEdit, EraseOfAnotherGraphsNodeIsInvalidArgumentAndChangesNothing) {
  ReluTanh t;
  ReluTanh other;
  other.g.ReplaceArg(other.out, 0, other.relu);  // other's tanh has no users left
  EXPECT_THAT(t.g.Erase(other.tanh), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 HasSubstr("cannot erase node 'tanh': it is not in this graph")));
  EXPECT_THAT(Names(t.g.nodes()), ElementsAre("x", "relu", "tanh", "output"));
  EXPECT_THAT(t.g.Lint(t.root), IsOk());
}

TEST(GraphEdit, NodesKnowTheirPositionThroughInsertsAndErases) {
  ReluTanh t;
  Node* sig = t.g.InsertCallFunctionAfter(t.x, OpKind::kSigmoid, {t.x});
  auto positions = [&] {
    std::vector<int> out;
    for (const Node* n : t.g.nodes()) out.push_back(n->index());
    return out;
  };
  EXPECT_THAT(Names(t.g.nodes()), ElementsAre("x", "sigmoid", "relu", "tanh", "output"));
  EXPECT_THAT(positions(), ElementsAre(0, 1, 2, 3, 4));
  ASSERT_THAT(t.g.Erase(sig), IsOk());
  EXPECT_THAT(positions(), ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(t.tanh->index(), 2);
  Graph copy = t.g.Clone();
  EXPECT_EQ(copy.FindNode("tanh")->index(), 2);
}

TEST(GraphEdit, ReplaceArgUpdatesBothUserLists) {
  ReluTanh t;
  t.g.ReplaceArg(t.tanh, 0, t.x);
  EXPECT_THAT(t.tanh->args(), ElementsAre(t.x));
  EXPECT_THAT(t.relu->users(), IsEmpty());
  EXPECT_THAT(t.x->users(), ElementsAre(t.relu, t.tanh));
  EXPECT_THAT(t.g.Lint(t.root), IsOk());
}

TEST(GraphEdit, SetOutputTwiceReplacesTheResults) {
  ReluTanh t;
  EXPECT_EQ(t.g.SetOutput({t.relu}), t.out);
  EXPECT_THAT(t.out->args(), ElementsAre(t.relu));
  EXPECT_THAT(t.tanh->users(), IsEmpty());
  EXPECT_THAT(t.relu->users(), ElementsAre(t.tanh, t.out));
  EXPECT_THAT(t.g.Lint(t.root), IsOk());
}

TEST(GraphEdit, CloneIsADeepCopy) {
  ReluTanh t;
  Graph copy = t.g.Clone();
  EXPECT_THAT(Names(copy.nodes()), ElementsAre("x", "relu", "tanh", "output"));
  EXPECT_NE(copy.FindNode("relu"), t.relu);
  EXPECT_THAT(copy.FindNode("relu")->users(), ElementsAre(copy.FindNode("tanh")));
  EXPECT_EQ(copy.output(), copy.FindNode("output"));
  EXPECT_THAT(copy.Lint(t.root), IsOk());
  // Names stay unique after cloning: a new relu does not reuse "relu".
  EXPECT_EQ(copy.AddCallFunction(OpKind::kRelu, {copy.FindNode("x")})->name(), "relu_1");
  EXPECT_EQ(t.g.size(), 4u);
}

// ---------------------------------------------------------------------------------------------
// Module tree

TEST(Module, FindTensorOwnerSplitsTheFqn) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearActivation());
  SP_ASSERT_OK_AND_ASSIGN(auto owner, model.root().FindTensorOwner("seq.0.weight"));
  EXPECT_EQ(owner.first, model.root().FindModule("seq.0"));
  EXPECT_EQ(owner.second, "weight");
  EXPECT_EQ(owner.first->kind(), OpKind::kLinear);
  EXPECT_THAT(model.root().FindTensorOwner("seq.2.bias"),  // seq.2 has bias=False
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'seq.2.bias'")));
  EXPECT_THAT(model.root().FindTensorOwner("seq.9.weight"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'seq.9.weight'")));
  EXPECT_THAT(model.root().FindTensorOwner("weight"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'weight'")));
}

TEST(Module, FindModuleFollowsDottedPaths) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearActivation());
  const Module& root = model.root();
  EXPECT_EQ(root.FindModule(""), &root);
  EXPECT_EQ(root.FindModule("seq")->kind(), OpKind::kSequential);
  EXPECT_EQ(root.FindModule("seq.3")->kind(), OpKind::kTanh);
  EXPECT_EQ(root.FindModule("seq.3"), root.child("seq")->child("3"));
  EXPECT_EQ(root.FindModule("seq.5"), nullptr);
  EXPECT_EQ(root.FindModule("seq.0.weight"), nullptr);  // a tensor, not a module
}

// Small modules search their children in place, large ones through an index: both must find,
// miss and replace alike (a replaced child keeps its position).
TEST(Module, ChildrenAreFoundAndReplacedAtAnySize) {
  for (int count : {3, 8, 9, 40}) {
    SCOPED_TRACE(count);
    Module parent(OpKind::kSequential, {});
    std::vector<Module*> added;
    for (int i = 0; i < count; ++i) added.push_back(&parent.AddChild(absl::StrCat(i), Module::Sequential()));
    for (int i = 0; i < count; ++i) EXPECT_EQ(parent.child(absl::StrCat(i)), added[i]);
    EXPECT_EQ(parent.child("missing"), nullptr);
    Module& replacement = parent.AddChild("2", std::make_unique<Module>(OpKind::kRelu, AttrMap{}));
    EXPECT_EQ(parent.child("2"), &replacement);
    EXPECT_EQ(parent.children().size(), static_cast<size_t>(count));
    EXPECT_EQ(parent.children()[2].second.get(), &replacement);
    EXPECT_EQ(parent.Clone()->child("2")->kind(), OpKind::kRelu);
  }
}

TEST(Module, NamedParametersAreInStateDictOrder) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearActivation());
  std::vector<std::string> fqns;
  for (const auto& [fqn, t] : model.root().NamedParameters()) fqns.push_back(fqn);
  EXPECT_THAT(fqns, ElementsAre("seq.0.weight", "seq.0.bias", "seq.2.weight", "seq.4.weight",
                                "seq.4.bias", "linear1.weight", "linear1.bias", "linear2.weight"));
  // 7*5+5 + 5*6 + 6*4+4 + 4*3+3 + 3*10
  EXPECT_EQ(model.NumParameters(), 143);
}

TEST(Module, NamedModulesAreDepthFirstInRegistrationOrder) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  std::vector<std::string> fqns;
  for (const auto& [fqn, m] : model.root().NamedModules()) fqns.push_back(fqn);
  EXPECT_THAT(fqns, ElementsAre("", "seq", "seq.0", "seq.1", "seq.2", "linear1", "linear2"));
}

TEST(Module, SetParameterReplacesInPlaceAndKeepsOrder) {
  Module m(OpKind::kLinear, LinearAttrs{.in_features = 2, .out_features = 1}.ToAttrs());
  m.SetParameter("weight", Tensor::Zeros({1, 2}));
  m.SetParameter("bias", Tensor::Zeros({1}));
  m.SetParameter("weight", Tensor::Full({1, 2}, 3.0f));
  ASSERT_EQ(m.parameters().size(), 2u);
  EXPECT_EQ(m.parameters()[0].first, "weight");
  EXPECT_EQ(m.parameter("weight")->data<float>()[0], 3.0f);
  EXPECT_TRUE(m.RemoveParameter("bias"));
  EXPECT_FALSE(m.RemoveParameter("bias"));
  EXPECT_FALSE(m.HasParameter("bias"));
  EXPECT_THAT(m.Effective("bias"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("Linear has no parameter 'bias'")));
}

TEST(Module, CloneIsIndependentOfTheOriginal) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  GraphModule copy = model.Clone();
  const Tensor original = model.root().FindModule("seq.0")->parameter("weight")->Clone();
  Tensor* w = copy.root().FindModule("seq.0")->mutable_parameter("weight");
  EXPECT_FALSE(w->SharesStorageWith(*model.root().FindModule("seq.0")->parameter("weight")));
  w->values<float>()[0] += 1.0f;
  EXPECT_TRUE(model.root().FindModule("seq.0")->parameter("weight")->Equals(original));
  EXPECT_FALSE(w->Equals(original));

  // The graphs are independent too.
  ASSERT_THAT(copy.graph().Erase(copy.graph().output()), IsOk());
  EXPECT_NE(model.graph().output(), nullptr);
  EXPECT_THAT(model.Lint(), IsOk());

  const Tensor in = Input({4, 7});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> a, RunModel(model, {in}));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule fresh, testing::SimpleLinear());
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> b, RunModel(fresh, {in}));
  EXPECT_TRUE(a[0].Equals(b[0]));
}

// ---------------------------------------------------------------------------------------------
// Printer

TEST(GraphPrinter, DotHasOneEdgePerArgument) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  const std::string dot = GraphToDot(model);
  EXPECT_THAT(dot, HasSubstr("digraph structprune {"));
  EXPECT_THAT(dot, HasSubstr("  \"x\" -> \"seq_0\";\n"));
  EXPECT_THAT(dot, HasSubstr("  \"seq_0\" -> \"seq_1\";\n"));
  EXPECT_THAT(dot, HasSubstr("  \"linear2\" -> \"output\";\n"));
  EXPECT_THAT(dot, HasSubstr("\"seq_0\" [label=\"seq_0\\ncall_module[seq.0: Linear("));
}

TEST(GraphPrinter, PrintsFunctionalAttributes) {
  GraphBuilder b;
  b.Output(b.Call(OpKind::kLeakyRelu, b.Input("x"), {{"negative_slope", 0.2}}));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  EXPECT_EQ(GraphToString(model),
            "graph(x):\n"
            "    %leaky_relu = call_function[leaky_relu(negative_slope=0.2)](%x)\n"
            "    return (%leaky_relu)\n");
}

TEST(GraphPrinter, ModuleToStringListsAttributesInKeyOrder) {
  Module conv(OpKind::kConv2d, Conv2dAttrs{.in_channels = 3,
                                           .out_channels = 8,
                                           .kernel_size = {3, 3},
                                           .padding = {1, 1},
                                           .bias = false}
                                   .ToAttrs());
  EXPECT_EQ(ModuleToString(conv),
            "Conv2d(bias=false, dilation=[1, 1], groups=1, in_channels=3, kernel_size=[3, 3], "
            "out_channels=8, padding=[1, 1], stride=[1, 1])");
}

// ---------------------------------------------------------------------------------------------
// Parametrizations and forward hooks

// Zeroes row 0 of a 2-D weight (like a structured mask keeping every row but the first).
class ZeroRow0 : public Parametrization {
 public:
  std::string Name() const override { return "ZeroRow0"; }
  absl::StatusOr<Tensor> Apply(const Tensor& original) const override {
    Tensor out = original.Clone();
    for (int64_t j = 0; j < out.size(1); ++j) out.data<float>()[j] = 0.0f;
    return out;
  }
};

// Adds 1 to every element of the module's output.
class AddOne : public ForwardHook {
 public:
  std::string Name() const override { return "AddOne"; }
  absl::Status Run(const Module&, absl::Span<const Value* const>, Value& output) const override {
    for (float& v : output.tensor.values<float>()) v += 1.0f;
    return absl::OkStatus();
  }
};

class FailingHook : public ForwardHook {
 public:
  std::string Name() const override { return "FailingHook"; }
  absl::Status Run(const Module&, absl::Span<const Value* const>, Value&) const override {
    return absl::InternalError("hook failed on purpose");
  }
};

TEST(Parametrization, EffectiveAppliesItAndTheStoredValueIsUnchanged) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SingleLinear());
  Module& fc = *model.root().FindModule("fc");
  const Tensor stored = fc.parameter("weight")->Clone();
  fc.RegisterParametrization("weight", std::make_shared<ZeroRow0>());
  EXPECT_TRUE(fc.IsParametrized("weight"));
  EXPECT_FALSE(fc.IsParametrized("bias"));
  SP_ASSERT_OK_AND_ASSIGN(Tensor effective, fc.Effective("weight"));
  EXPECT_THAT(effective.values<float>(),
              ElementsAre(0.0f, 0.0f, 0.0f, stored.data<float>()[3], stored.data<float>()[4],
                          stored.data<float>()[5]));
  EXPECT_TRUE(fc.parameter("weight")->Equals(stored));
}

TEST(Parametrization, InterpreterReadsTheEffectiveWeight) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SingleLinear());
  Module& fc = *model.root().FindModule("fc");
  fc.RegisterParametrization("weight", std::make_shared<ZeroRow0>());
  const Tensor in = Input({4, 3});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunModel(model, {in}));
  const float bias0 = fc.parameter("bias")->data<float>()[0];
  for (int64_t n = 0; n < 4; ++n) {
    EXPECT_EQ(out[0].data<float>()[n * 2 + 0], bias0) << "row " << n;  // x . 0 + bias[0]
    EXPECT_NE(out[0].data<float>()[n * 2 + 1], fc.parameter("bias")->data<float>()[1]);
  }
}

TEST(Parametrization, RemoveWithLeaveParametrizedBakesItIn) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SingleLinear());
  Module& fc = *model.root().FindModule("fc");
  fc.RegisterParametrization("weight", std::make_shared<ZeroRow0>());
  const Tensor in = Input({4, 3});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> masked, RunModel(model, {in}));
  ASSERT_THAT(fc.RemoveParametrizations("weight", /*leave_parametrized=*/true), IsOk());
  EXPECT_FALSE(fc.IsParametrized("weight"));
  EXPECT_FALSE(fc.IsParametrized());
  EXPECT_THAT(absl::MakeConstSpan(fc.parameter("weight")->data<float>(), 3),
              ElementsAre(0.0f, 0.0f, 0.0f));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> baked, RunModel(model, {in}));
  EXPECT_TRUE(baked[0].Equals(masked[0]));
}

TEST(Parametrization, RemoveWithoutLeaveParametrizedRestoresTheOriginal) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SingleLinear());
  Module& fc = *model.root().FindModule("fc");
  const Tensor stored = fc.parameter("weight")->Clone();
  fc.RegisterParametrization("weight", std::make_shared<ZeroRow0>());
  ASSERT_THAT(fc.RemoveParametrizations("weight", /*leave_parametrized=*/false), IsOk());
  EXPECT_TRUE(fc.parameter("weight")->Equals(stored));
  EXPECT_THAT(fc.RemoveParametrizations("weight", false),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'weight' has no parametrization")));
}

TEST(Parametrization, CloneSharesParametrizationsButNotTensors) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SingleLinear());
  model.root().FindModule("fc")->RegisterParametrization("weight", std::make_shared<ZeroRow0>());
  GraphModule copy = model.Clone();
  Module& fc = *copy.root().FindModule("fc");
  EXPECT_TRUE(fc.IsParametrized("weight"));
  ASSERT_THAT(fc.RemoveParametrizations("weight", true), IsOk());
  EXPECT_TRUE(model.root().FindModule("fc")->IsParametrized("weight"));
  EXPECT_NE(model.root().FindModule("fc")->parameter("weight")->data<float>()[0], 0.0f);
}

TEST(ForwardHook, RewritesTheModuleOutput) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SingleLinear());
  const Tensor in = Input({4, 3});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> plain, RunModel(model, {in}));
  model.root().FindModule("fc")->AddForwardHook(std::make_shared<AddOne>());
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> hooked, RunModel(model, {in}));
  ASSERT_EQ(hooked[0].shape(), plain[0].shape());
  for (int64_t i = 0; i < plain[0].numel(); ++i) {
    EXPECT_FLOAT_EQ(hooked[0].data<float>()[i], plain[0].data<float>()[i] + 1.0f);
  }
  model.root().FindModule("fc")->ClearForwardHooks();
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> cleared, RunModel(model, {in}));
  EXPECT_TRUE(cleared[0].Equals(plain[0]));
}

TEST(ForwardHook, RunsOncePerRunOfAReusedInterpreter) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SingleLinear());
  const Tensor in = Input({4, 3});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> plain, RunModel(model, {in}));
  model.root().FindModule("fc")->AddForwardHook(std::make_shared<AddOne>());
  SP_ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(model, {in.shape()}));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> first, interp->Run({in}));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> second, interp->Run({in}));
  EXPECT_TRUE(first[0].Equals(second[0]));
  EXPECT_FLOAT_EQ(second[0].data<float>()[0], plain[0].data<float>()[0] + 1.0f);
}

TEST(ForwardHook, ErrorPropagatesFromRun) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, SingleLinear());
  model.root().FindModule("fc")->AddForwardHook(std::make_shared<FailingHook>());
  EXPECT_THAT(RunModel(model, {Input({4, 3})}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("hook failed on purpose")));
}

// ---------------------------------------------------------------------------------------------
// Interpreter

TEST(Interpreter, WrongInputCountIsInvalidArgument) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  EXPECT_THAT(Interpreter::Create(model, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("model has 1 input(s), got 0 input shape(s)")));
  const Tensor in = Input({4, 7});
  EXPECT_THAT(RunModel(model, {in, in}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("model has 1 input(s), got 2 input shape(s)")));
  SP_ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(model, {{4, 7}}));
  EXPECT_THAT(interp->Run({}), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("model has 1 input(s), got 0")));
}

TEST(Interpreter, WrongInputShapeOrDtypeIsInvalidArgument) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  SP_ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(model, {{4, 7}}));
  EXPECT_THAT(interp->Run({Input({3, 7})}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 0 ('x'): expected float32 [4, 7], got float32 [3, 7]")));
  EXPECT_THAT(interp->Run({Tensor::Zeros({4, 7}, DType::kBool)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 0 ('x'): expected float32 [4, 7], got bool [4, 7]")));
  EXPECT_THAT(interp->Run({Input({4, 7})}), IsOk());
}

TEST(Interpreter, LinearFeatureMismatchNamesTheSecondLayer) {
  GraphBuilder b;
  b.AddModule("fc1", LinearAttrs{.in_features = 4, .out_features = 8});
  b.AddModule("fc2", LinearAttrs{.in_features = 6, .out_features = 2});
  b.Output(b.Call("fc2", b.Call("fc1", b.Input("x"))));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());  // Lint does not check shapes
  EXPECT_THAT(RunModel(model, {Input({2, 4})}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Linear 'fc2': input [2, 8] has 8 features, weight expects 6")));
}

TEST(Interpreter, Conv2dChannelMismatchNamesTheSecondLayer) {
  GraphBuilder b;
  b.AddModule("conv1", Conv2dAttrs{.in_channels = 1, .out_channels = 4, .kernel_size = {3, 3}});
  b.AddModule("conv2", Conv2dAttrs{.in_channels = 3, .out_channels = 2, .kernel_size = {3, 3}});
  b.Output(b.Call("conv2", b.Call("conv1", b.Input("x"))));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  EXPECT_THAT(
      RunModel(model, {Input({1, 1, 8, 8})}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("Conv2d 'conv2': input [1, 4, 6, 6] has 4 channels, weight expects 3")));
}

TEST(Interpreter, Conv2dWrongRankInputNamesTheLayer) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleConv2d(4));
  EXPECT_THAT(RunModel(model, {Input({12, 11})}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Conv2d 'seq.0': input must be 3-D [C, H, W] or 4-D [N, C, H, W], "
                                 "got [12, 11]")));
}

TEST(Interpreter, Conv2dInputSmallerThanKernelNamesTheLayer) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleConv2d(4));
  // seq.0 and seq.1 take 7x7 to 3x3; conv2d1 leaves 1x1, too small for conv2d2's 3x3 kernel.
  EXPECT_THAT(RunModel(model, {Input({1, 1, 7, 7})}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Conv2d 'conv2d2': input [1, 12, 1, 1] padded by [0, 0] is "
                                 "smaller than the dilated kernel [3, 3]")));
}

TEST(Interpreter, PlansEveryNodesShape) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LSTMLinearModel(8, 6, 4, 2));
  SP_ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(model, {{5, 2, 8}}));
  EXPECT_EQ(interp->InfoOf("lstm")->ToString(), "([5, 2, 6], ([2, 2, 6], [2, 2, 6]))");
  EXPECT_EQ(interp->InfoOf("getitem")->shape, (Shape{5, 2, 6}));
  EXPECT_EQ(interp->InfoOf("linear")->shape, (Shape{5, 2, 4}));
  EXPECT_EQ(interp->InfoOf("no_such_node"), nullptr);
  EXPECT_THAT(interp->input_shapes(), ElementsAre(Shape{5, 2, 8}));
}

TEST(Interpreter, OutputsAreOwnedByTheCaller) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  SP_ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(model, {{4, 7}}));
  const Tensor a = Input({4, 7}, 1), b = Input({4, 7}, 2);
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out_a, interp->Run({a}));
  const Tensor kept = out_a[0].Clone();
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out_b, interp->Run({b}));
  EXPECT_TRUE(out_a[0].Equals(kept));  // the second run reused buffers, not our tensor
  EXPECT_FALSE(out_a[0].Equals(out_b[0]));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> again, interp->Run({a}));
  EXPECT_TRUE(again[0].Equals(kept));
}

TEST(Interpreter, TupleOutputsFlattenDepthFirst) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LSTMLayerNormLinearModel(8, 8, 4, 2));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunModel(model, {Input({5, 2, 8})}));
  ASSERT_EQ(out.size(), 3u);  // x, h_n, c_n
  EXPECT_EQ(out[0].shape(), (Shape{5, 2, 4}));
  EXPECT_EQ(out[1].shape(), (Shape{2, 2, 8}));
  EXPECT_EQ(out[2].shape(), (Shape{2, 2, 8}));
}

TEST(Interpreter, FastAndReferenceKernelsAgree) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPool(4));
  const Tensor in = Input({2, 1, 11, 12});
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> fast, RunModel(model, {in}));
  SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> ref,
                          RunModel(model, {in}, {.reference_kernels = true}));
  SP_ASSERT_OK_AND_ASSIGN(TensorDiff diff, CompareTensors(fast[0], ref[0]));
  // Summation order differs between oneDNN and the direct loops.
  EXPECT_LE(diff.max_abs, 1e-5f * std::max(1.0f, diff.max_ref));
}

}  // namespace
}  // namespace structprune
