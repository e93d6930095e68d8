// BaseStructuredSparsifier on the seed's networks: the scenarios of upstream's
// test/ao/sparsity/test_structured_sparsifier.py (same models, configs and pruners: row 1 for
// the life-cycle tests, a random third of the rows for the prune tests), each with prune_bias
// true and false, plus the guarantees the seed lacks: pruned == masked everywhere, channels
// kept for exactness and reported, approximate mode, and all-or-nothing failures.
#include "pruning/structured_sparsifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/builder.h"
#include "graph/printer.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/norms.h"
#include "ops/pooling.h"
#include "pruning/parametrization.h"
#include "pruning/verify.h"
#include "tests/testing/models.h"
#include "tests/testing/prune_helpers.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::ConfigFor;
using ::structprune::testing::IsCleanPrunedModel;
using ::structprune::testing::KeepMasksPruner;
using ::structprune::testing::MaskWithout;
using ::structprune::testing::OutputShapes;
using ::structprune::testing::ParamShape;
using ::structprune::testing::PrepareMaskPruneVerify;
using ::structprune::testing::PrunedIndices;
using ::structprune::testing::PruneRun;
using ::structprune::testing::RowOnePruner;
using ::structprune::testing::SameAsSnapshot;
using ::structprune::testing::StatusIs;
using ::structprune::testing::TakeSnapshot;
using ::structprune::testing::ThirdPruner;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The conv networks at a quarter width: 32 -> 8, 64 -> 16, 48 -> 12, 52 -> 13 channels.
constexpr int kWidthDivisor = 4;
const Shape kLinearInput = {128, 7};       // upstream: torch.ones(128, 7)
const Shape kImageInput = {1, 1, 28, 28};  // upstream: torch.ones((1, 1, 28, 28))

using ShapeMap = std::map<std::string, std::string>;  // tensor_fqn -> "[...]" or "<none>"

std::string S(std::initializer_list<int64_t> dims) { return ShapeToString(Shape(dims)); }
constexpr char kNone[] = "<none>";

void ExpectShapes(const GraphModule& model, const ShapeMap& expected) {
  for (const auto& [fqn, shape] : expected) EXPECT_EQ(ParamShape(model, fqn), shape) << fqn;
}

// Every Linear/Conv2d bias has one entry per output channel.
void ExpectBiasesMatchWeights(const GraphModule& model) {
  for (const auto& [fqn, m] : model.root().NamedModules()) {
    if (m->kind() != OpKind::kLinear && m->kind() != OpKind::kConv2d) continue;
    const Tensor* bias = m->parameter("bias");
    if (bias == nullptr) continue;
    EXPECT_EQ(ShapeToString(bias->shape()), S({m->parameter("weight")->size(0)}))
        << "bias of '" << fqn << "' vs weight " << ShapeToString(m->parameter("weight")->shape());
  }
}

const LayerPruneRecord* FindRecord(const PruneReport& report, const std::string& tensor_fqn) {
  for (const LayerPruneRecord& r : report.layers) {
    if (r.tensor_fqn == tensor_fqn) return &r;
  }
  return nullptr;
}

// Each configured tensor has one record whose pruned + kept channels are exactly its masked
// channels, and whose counts agree.
void ExpectRecordsMatchMasks(const PruneRun& run) {
  EXPECT_EQ(run.report.layers.size(), run.masks.size());
  for (const auto& [fqn, mask] : run.masks) {
    const LayerPruneRecord* r = FindRecord(run.report, fqn);
    ASSERT_NE(r, nullptr) << "no report record for " << fqn;
    std::vector<int64_t> both = r->channels_pruned;
    both.insert(both.end(), r->channels_kept_for_exactness.begin(),
                r->channels_kept_for_exactness.end());
    std::sort(both.begin(), both.end());
    EXPECT_EQ(both, PrunedIndices(mask)) << fqn;
    EXPECT_EQ(r->channels_before, mask.numel()) << fqn;
    EXPECT_EQ(r->channels_after, mask.numel() - static_cast<int64_t>(r->channels_pruned.size()))
        << fqn;
  }
}

// Masked channels of a prepared producer whose moved-aside bias is positive: after a ReLU
// their constant is nonzero.
std::vector<int64_t> MaskedWithPositiveBias(const PruneRun& run, const std::string& module_fqn) {
  const Tensor* bias = run.masked.root().FindModule(module_fqn)->parameter(kMovedBias);
  std::vector<int64_t> out;
  for (int64_t j : PrunedIndices(run.masks.at(module_fqn + ".weight"))) {
    if (bias->data<float>()[j] > 0.0f) out.push_back(j);
  }
  return out;
}

int64_t Count(const std::vector<int64_t>& v) { return static_cast<int64_t>(v.size()); }

// Upstream's _test_linear_on_device / _test_conv2d_on_device: ImplementedPruner (here
// ThirdPruner) with {"prune_bias": prune_bias}, prepare, step, prune; then pruned == masked,
// the expected output shape, nothing left of the masks, fewer (or as many) parameters.
PruneRun RunSeedCase(GraphModule& model, const std::vector<std::string>& config, bool prune_bias,
                     const Shape& input, const Shape& output) {
  ThirdPruner pruner({{kPruneBias, prune_bias}});
  auto run =
      PrepareMaskPruneVerify(pruner, model, {.config = ConfigFor(config), .input_shapes = {input}});
  EXPECT_THAT(run, testing::IsOk());
  if (!run.ok()) return PruneRun{model.Clone(), {}, {}, {}};
  EXPECT_TRUE(run->verify.equivalent) << run->verify.ToString() << "\n" << run->report.ToString();
  EXPECT_TRUE(IsCleanPrunedModel(model));
  auto shapes = OutputShapes(model, {input});
  EXPECT_THAT(shapes, testing::IsOk());
  if (shapes.ok()) EXPECT_THAT(*shapes, ElementsAre(output));
  EXPECT_LE(run->report.params_after, run->report.params_before);
  EXPECT_EQ(run->report.params_after, model.NumParameters());
  EXPECT_FALSE(run->report.approximate);
  ExpectRecordsMatchMasks(*run);
  ExpectBiasesMatchWeights(model);
  return std::move(run).value();
}

// ---------------------------------------------------------------------------------------
// Constructor, config, Prepare, Step, state dict (upstream's test_constructor, test_prepare_*,
// test_step_*).

TEST(BaseStructuredSparsifier, PruneBiasDefaultsToTrue) {
  RowOnePruner pruner;
  ASSERT_TRUE(pruner.defaults().count(kPruneBias));
  EXPECT_EQ(std::get<bool>(pruner.defaults().at(kPruneBias)), true);
  RowOnePruner off({{kPruneBias, false}});
  EXPECT_EQ(std::get<bool>(off.defaults().at(kPruneBias)), false);
}

TEST(BaseStructuredSparsifier, DefaultsMergeIntoEveryGroup) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  RowOnePruner pruner({{"test", 3.0}});
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"seq.0.weight"})));
  ASSERT_EQ(pruner.groups().size(), 1u);
  const ConfigGroup& g = pruner.groups()[0];
  EXPECT_EQ(g.tensor_fqn, "seq.0.weight");
  EXPECT_EQ(g.module_fqn, "seq.0");
  EXPECT_EQ(g.tensor_name, "weight");
  EXPECT_THAT(g.GetNumber("test", 0.0), testing::IsOk());
  EXPECT_EQ(g.GetNumber("test", 0.0).value(), 3.0);
  EXPECT_EQ(g.GetBool(kPruneBias, false).value(), true);
  EXPECT_FALSE(g.options.count(kTensorFqn));
}

TEST(BaseStructuredSparsifier, GroupOptionsOverrideDefaults) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearBias());
  RowOnePruner pruner({{kPruneBias, false}, {kSparsityLevel, 0.5}});
  SP_ASSERT_OK(pruner.Prepare(
      model, SparsityConfig{{{kTensorFqn, std::string("seq.0.weight")}, {kPruneBias, true}},
                            {{kTensorFqn, std::string("seq.2.weight")}}}));
  ASSERT_EQ(pruner.groups().size(), 2u);
  EXPECT_EQ(pruner.groups()[0].GetBool(kPruneBias, false).value(), true);
  EXPECT_EQ(pruner.groups()[1].GetBool(kPruneBias, true).value(), false);
  EXPECT_EQ(pruner.groups()[1].GetNumber(kSparsityLevel, 0).value(), 0.5);
  // The hook carries each group's own prune_bias.
  for (const auto& [fqn, want] : {std::pair{"seq.0", true}, std::pair{"seq.2", false}}) {
    const Module* m = model.root().FindModule(fqn);
    ASSERT_EQ(m->forward_hooks().size(), 1u);
    auto* hook = dynamic_cast<const BiasHook*>(m->forward_hooks()[0].get());
    ASSERT_NE(hook, nullptr);
    EXPECT_EQ(hook->prune_bias(), want) << fqn;
  }
}

TEST(BaseStructuredSparsifier, WithoutConfigConfiguresEverySupportedWeight) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  RowOnePruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model));
  std::vector<std::string> fqns;
  for (const ConfigGroup& g : pruner.groups()) fqns.push_back(g.tensor_fqn);
  EXPECT_THAT(fqns, ElementsAre("seq.0.weight", "seq.1.weight", "seq.2.weight", "linear1.weight",
                                "linear2.weight"));  // upstream: len(pruner.groups) == 5
  SP_ASSERT_OK(pruner.Step());

  SP_ASSERT_OK_AND_ASSIGN(GraphModule lstm, testing::LSTMLinearModel(8, 8, 4, 2));
  RowOnePruner lstm_pruner;
  SP_ASSERT_OK(lstm_pruner.Prepare(lstm));
  fqns.clear();
  for (const ConfigGroup& g : lstm_pruner.groups()) fqns.push_back(g.tensor_fqn);
  EXPECT_THAT(fqns, ElementsAre("lstm.weight_ih_l0", "lstm.weight_ih_l1", "linear.weight"));
}

// upstream _check_pruner_prepared: every configured weight is parametrized by
// FakeStructuredSparsity (first and only), its mask is bool and all ones, a bias moved to
// `_bias` under a BiasHook.
void ExpectPrepared(const GraphModule& model, const BaseStructuredSparsifier& pruner) {
  for (const ConfigGroup& g : pruner.groups()) {
    SCOPED_TRACE(g.tensor_fqn);
    const Module* m = model.root().FindModule(g.module_fqn);
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(m->IsParametrized("weight"));
    const auto* list = m->parametrizations("weight");
    ASSERT_NE(list, nullptr);
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0]->Name(), "FakeStructuredSparsity");
    SP_ASSERT_OK_AND_ASSIGN(Tensor mask, pruner.GetMask(g.tensor_fqn));
    EXPECT_EQ(mask.dtype(), DType::kBool);
    EXPECT_EQ(mask.numel(), m->parameter("weight")->size(0));
    EXPECT_THAT(PrunedIndices(mask), IsEmpty());
    EXPECT_FALSE(m->HasParameter("bias"));
    const bool had_bias = std::get<bool>(m->attrs().at("bias"));
    EXPECT_EQ(m->HasParameter(kMovedBias), had_bias);
    ASSERT_EQ(m->forward_hooks().size(), 1u);
    EXPECT_EQ(m->forward_hooks()[0]->Name(), "BiasHook");
  }
}

TEST(BaseStructuredSparsifier, PrepareLinearModels) {
  for (auto build : {&testing::SimpleLinear, &testing::LinearBias, &testing::LinearActivation,
                     &testing::LinearActivationFunctional}) {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, build(0));
    SCOPED_TRACE(GraphToString(model));
    const testing::ModelSnapshot before = TakeSnapshot(model);
    RowOnePruner pruner;
    SP_ASSERT_OK(pruner.Prepare(model));
    EXPECT_TRUE(pruner.prepared());
    ExpectPrepared(model, pruner);
    // Prepared with all-ones masks, the model computes what it did.
    SP_ASSERT_OK_AND_ASSIGN(auto shapes, OutputShapes(model, {kLinearInput}));
    EXPECT_THAT(shapes, ElementsAre(Shape{128, 10}));
    EXPECT_EQ(GraphToString(model), before.graph);
  }
}

TEST(BaseStructuredSparsifier, PrepareConvModels) {
  using Build = absl::StatusOr<GraphModule> (*)(int, uint64_t);
  const std::vector<std::pair<Build, Shape>> cases = {{&testing::SimpleConv2d, {1, 13, 20, 20}},
                                                      {&testing::Conv2dBias, {1, 13, 18, 18}},
                                                      {&testing::Conv2dActivation, {1, 13, 18, 18}},
                                                      {&testing::Conv2dPadBias, {1, 13, 24, 24}},
                                                      {&testing::Conv2dPool, {1, 13, 3, 3}}};
  for (const auto& [build, output] : cases) {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, build(kWidthDivisor, 0));
    SCOPED_TRACE(GraphToString(model));
    RowOnePruner pruner;
    SP_ASSERT_OK(pruner.Prepare(model));
    ExpectPrepared(model, pruner);
    SP_ASSERT_OK_AND_ASSIGN(auto shapes, OutputShapes(model, {kImageInput}));
    EXPECT_THAT(shapes, ElementsAre(output));
  }
}

TEST(BaseStructuredSparsifier, PrepareLeavesUnconfiguredModulesAlone) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearBias());
  RowOnePruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"seq.2.weight"})));
  for (const auto& [fqn, m] : model.root().NamedModules()) {
    if (fqn == "seq.2") continue;
    EXPECT_FALSE(m->IsParametrized()) << fqn;
    EXPECT_THAT(m->forward_hooks(), IsEmpty()) << fqn;
    EXPECT_FALSE(m->HasParameter(kMovedBias)) << fqn;
  }
  EXPECT_EQ(ParamShape(model, "seq.0.bias"), S({5}));
  EXPECT_EQ(ParamShape(model, "seq.2.bias"), kNone);
  EXPECT_EQ(ParamShape(model, "seq.2._bias"), S({3}));
}

// upstream _check_pruner_valid_after_step: with SimplePruner exactly one row per weight is
// masked, row 1, and the weight reads zero there.
TEST(BaseStructuredSparsifier, StepWithRowOnePrunerMasksRowOneOfEveryWeight) {
  std::vector<GraphModule> models;
  for (auto build : {&testing::SimpleLinear, &testing::LinearBias, &testing::LinearActivation,
                     &testing::LinearActivationFunctional}) {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule m, build(0));
    models.push_back(std::move(m));
  }
  for (auto build : {&testing::SimpleConv2d, &testing::Conv2dBias, &testing::Conv2dActivation,
                     &testing::Conv2dPadBias, &testing::Conv2dPool}) {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule m, build(kWidthDivisor, 0));
    models.push_back(std::move(m));
  }
  for (GraphModule& model : models) {
    RowOnePruner pruner;
    SP_ASSERT_OK(pruner.Prepare(model));
    for (const ConfigGroup& g : pruner.groups()) {
      EXPECT_THAT(PrunedIndices(pruner.GetMask(g.tensor_fqn).value()), IsEmpty());
    }
    SP_ASSERT_OK(pruner.Step());
    for (const ConfigGroup& g : pruner.groups()) {
      SCOPED_TRACE(g.tensor_fqn);
      SP_ASSERT_OK_AND_ASSIGN(Tensor mask, pruner.GetMask(g.tensor_fqn));
      EXPECT_THAT(PrunedIndices(mask), ElementsAre(1));
      const Module* m = model.root().FindModule(g.module_fqn);
      SP_ASSERT_OK_AND_ASSIGN(Tensor w, m->Effective("weight"));
      const int64_t row = w.numel() / w.size(0);
      for (int64_t r = 0; r < w.size(0); ++r) {
        const float* p = w.data<float>() + r * row;
        const bool all_zero = std::all_of(p, p + row, [](float v) { return v == 0.0f; });
        EXPECT_EQ(all_zero, r == 1) << "row " << r;
      }
    }
  }
}

TEST(BaseStructuredSparsifier, StepLeavesMasksWhenMaskUpdateDisabled) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  RowOnePruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model));
  pruner.EnableMaskUpdate(false);
  SP_ASSERT_OK(pruner.Step());
  for (const ConfigGroup& g : pruner.groups()) {
    EXPECT_THAT(PrunedIndices(pruner.GetMask(g.tensor_fqn).value()), IsEmpty());
  }
}

TEST(BaseStructuredSparsifier, ThirdPrunerPrunesAThirdOfTheRows) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dBias(kWidthDivisor));
  ThirdPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model));
  SP_ASSERT_OK(pruner.Step());
  for (const ConfigGroup& g : pruner.groups()) {
    SP_ASSERT_OK_AND_ASSIGN(Tensor mask, pruner.GetMask(g.tensor_fqn));
    EXPECT_EQ(Count(PrunedIndices(mask)), mask.numel() / 3) << g.tensor_fqn;
  }
}

TEST(BaseStructuredSparsifier, StateDictRoundTrips) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearBias());
  ThirdPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model));
  SP_ASSERT_OK(pruner.Step());
  const SparsifierState state = pruner.StateDict();
  ASSERT_EQ(state.masks.size(), 5u);
  EXPECT_EQ(state.groups.size(), 5u);

  // The state is a copy: later mask changes do not reach it.
  SP_ASSERT_OK(pruner.SetMask("seq.0.weight", MaskWithout(5, {})));
  EXPECT_EQ(Count(PrunedIndices(state.masks.at("seq.0.weight"))), 1);

  SP_ASSERT_OK_AND_ASSIGN(GraphModule fresh, testing::LinearBias());
  KeepMasksPruner loaded;
  SP_ASSERT_OK(loaded.Prepare(fresh));
  SP_ASSERT_OK(loaded.LoadStateDict(state));
  for (const auto& [fqn, mask] : state.masks) {
    SP_ASSERT_OK_AND_ASSIGN(Tensor live, loaded.GetMask(fqn));
    EXPECT_TRUE(live.Equals(mask)) << fqn;
  }
  // The loaded masks drive the forward pass: the model computes what the original masked one did.
  SP_ASSERT_OK(pruner.LoadStateDict(state));
  auto a = VerifyEquivalence(model, fresh, {kLinearInput}, PruneReport{});
  SP_ASSERT_OK(a.status());
  EXPECT_TRUE(a->equivalent) << a->ToString();
  EXPECT_EQ(a->max_abs_diff, 0.0f);
}

TEST(BaseStructuredSparsifier, LoadStateDictErrorsNameTheTensorAndChangeNothing) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  KeepMasksPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model));
  SparsifierState bad;
  bad.masks["linear1.weight"] = MaskWithout(4, {0});
  bad.masks["seq.0.weight"] = MaskWithout(4, {});  // seq.0 has 5 rows
  EXPECT_THAT(pruner.LoadStateDict(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "state mask for 'seq.0.weight' has shape [4], expected [5]"));
  EXPECT_THAT(PrunedIndices(pruner.GetMask("linear1.weight").value()), IsEmpty());

  SparsifierState unknown;
  unknown.masks["linear9.weight"] = MaskWithout(4, {});
  EXPECT_THAT(pruner.LoadStateDict(unknown),
              StatusIs(absl::StatusCode::kNotFound, "'linear9.weight' is not configured"));
}

TEST(BaseStructuredSparsifier, SetMaskAndGetMaskErrors) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  KeepMasksPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"seq.0.weight"})));
  EXPECT_THAT(pruner.GetMask("seq.1.weight"),
              StatusIs(absl::StatusCode::kNotFound, "'seq.1.weight' is not configured"));
  EXPECT_THAT(pruner.SetMask("seq.0.weight", MaskWithout(6, {})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "mask for 'seq.0.weight' must be bool [5], got bool [6]"));
  EXPECT_THAT(pruner.SetMask("seq.0.weight", Tensor::Zeros({5})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("mask for 'seq.0.weight' must be bool [5], got ")));
}

// Config errors: exact code and message, and the model untouched.
struct ConfigErrorCase {
  const char* name;
  SparsityConfig config;
  absl::StatusCode code;
  std::string message;
};

TEST(BaseStructuredSparsifier, ConfigErrorsAreExactAndLeaveTheModelUnprepared) {
  const std::string kNotPrunable =
      " is not prunable: structured pruning masks Linear/Conv2d 'weight' or LSTM 'weight_ih_l<k>'";
  const std::vector<ConfigErrorCase> cases = {
      {"unknown fqn", ConfigFor({"seq.0.weight", "seq.9.weight"}), absl::StatusCode::kNotFound,
       "config group 1: no tensor named 'seq.9.weight' in the model"},
      // seq.1 is a ReLU: it has no weight at all, so this is a missing tensor.
      {"relu weight", ConfigFor({"seq.1.weight"}), absl::StatusCode::kNotFound,
       "config group 0: no tensor named 'seq.1.weight' in the model"},
      {"bias tensor", ConfigFor({"seq.0.bias"}), absl::StatusCode::kInvalidArgument,
       "config group 0 ('seq.0.bias'): 'bias' of a Linear" + kNotPrunable},
      {"mask length",
       SparsityConfig{{{kTensorFqn, std::string("seq.0.weight")}, {kMask, MaskWithout(4, {1})}}},
       absl::StatusCode::kInvalidArgument,
       "config group 0 ('seq.0.weight'): mask has 4 entries, expected 5"},
      {"mask dtype",
       SparsityConfig{{{kTensorFqn, std::string("seq.0.weight")}, {kMask, Tensor::Zeros({5})}}},
       absl::StatusCode::kInvalidArgument,
       "config group 0 ('seq.0.weight'): 'mask' must be a 1-D bool mask"},
      {"sparsity_level 1.5",
       SparsityConfig{{{kTensorFqn, std::string("seq.0.weight")}, {kSparsityLevel, 1.5}}},
       absl::StatusCode::kInvalidArgument,
       "config group 0 ('seq.0.weight'): sparsity_level must be in [0, 1], got 1.5"},
      {"sparsity_level -0.1",
       SparsityConfig{{{kTensorFqn, std::string("seq.0.weight")}, {kSparsityLevel, -0.1}}},
       absl::StatusCode::kInvalidArgument,
       "config group 0 ('seq.0.weight'): sparsity_level must be in [0, 1], got -0.1"},
      {"prune_bias type",
       SparsityConfig{{{kTensorFqn, std::string("seq.0.weight")}, {kPruneBias, 1.0}}},
       absl::StatusCode::kInvalidArgument,
       "config group 0 ('seq.0.weight'): 'prune_bias' must be a bool"},
      {"configured twice", ConfigFor({"seq.0.weight", "seq.2.weight", "seq.0.weight"}),
       absl::StatusCode::kInvalidArgument,
       "config group 2 ('seq.0.weight'): tensor configured twice"},
      {"missing tensor_fqn", SparsityConfig{{{kSparsityLevel, 0.5}}},
       absl::StatusCode::kInvalidArgument, "config group 0: missing 'tensor_fqn'"},
      {"tensor_fqn type", SparsityConfig{{{kTensorFqn, 3.0}}}, absl::StatusCode::kInvalidArgument,
       "config group 0: 'tensor_fqn' must be a string"},
  };
  for (const ConfigErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearActivation());
    const testing::ModelSnapshot before = TakeSnapshot(model);
    RowOnePruner pruner;
    EXPECT_THAT(pruner.Prepare(model, c.config), StatusIs(c.code, c.message));
    EXPECT_FALSE(pruner.prepared());
    EXPECT_THAT(pruner.groups(), IsEmpty());
    EXPECT_TRUE(SameAsSnapshot(before, model));
    // A failed Prepare does not stop a good one.
    EXPECT_THAT(pruner.Prepare(model, ConfigFor({"seq.0.weight"})), testing::IsOk());
  }
}

TEST(BaseStructuredSparsifier, ConfigOfANonPrunableParameterIsInvalid) {
  GraphBuilder b;
  b.AddModule("fc", LinearAttrs{.in_features = 4, .out_features = 3});
  b.AddModule("act", OpKind::kPrelu);
  Node* x = b.Input("x");
  b.Output(b.Call("act", b.Call("fc", x)));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  RowOnePruner pruner;
  EXPECT_THAT(pruner.Prepare(model, ConfigFor({"act.weight"})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "config group 0 ('act.weight'): 'weight' of a PReLU is not prunable: "
                       "structured pruning masks Linear/Conv2d 'weight' or LSTM 'weight_ih_l<k>'"));
}

TEST(BaseStructuredSparsifier, PrepareTwiceIsAFailedPrecondition) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  RowOnePruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model));
  EXPECT_THAT(pruner.Prepare(model),
              StatusIs(absl::StatusCode::kFailedPrecondition, "sparsifier is already prepared"));
}

TEST(BaseStructuredSparsifier, PruneBeforePrepareIsAFailedPrecondition) {
  RowOnePruner pruner;
  EXPECT_THAT(pruner.Prune(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "Prune() before Prepare()"));
  EXPECT_THAT(pruner.Step(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "Step() before Prepare()"));
  EXPECT_THAT(pruner.SquashMask(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "SquashMask() before Prepare()"));
}

TEST(BaseStructuredSparsifier, PruneTwiceIsAFailedPrecondition) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  RowOnePruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model));
  SP_ASSERT_OK(pruner.Step());
  SP_ASSERT_OK(pruner.Prune().status());
  EXPECT_FALSE(pruner.prepared());
  EXPECT_THAT(pruner.Prune(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "Prune() before Prepare()"));
}

// ---------------------------------------------------------------------------------------
// Upstream's prune scenarios. ThirdPruner prunes rows / 3: 5 -> 4, 6 -> 4, 4 -> 3, 3 -> 2,
// 8 -> 6, 16 -> 11, 12 -> 8, 13 -> 9, 7 -> 5, 11 -> 8.

// test_prune_linear_linear: seq.0 (7->5), seq.1 (5->6), seq.2 (6->4), linear1 (4->4),
// linear2 (4->10), no biases.
TEST(UpstreamScenario, LinearLinear) {
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    {
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
      RunSeedCase(model, {"seq.0.weight", "seq.1.weight", "seq.2.weight"}, prune_bias, kLinearInput,
                  {128, 10});
      ExpectShapes(model, {{"seq.0.weight", S({4, 7})},
                           {"seq.1.weight", S({4, 4})},
                           {"seq.2.weight", S({3, 4})},
                           {"linear1.weight", S({4, 3})},
                           {"linear2.weight", S({10, 4})},
                           {"linear1.bias", kNone}});
    }
    {
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
      RunSeedCase(model, {"seq.0.weight", "seq.1.weight", "seq.2.weight", "linear1.weight"},
                  prune_bias, kLinearInput, {128, 10});
      ExpectShapes(model, {{"seq.0.weight", S({4, 7})},
                           {"seq.1.weight", S({4, 4})},
                           {"seq.2.weight", S({3, 4})},
                           {"linear1.weight", S({3, 3})},
                           {"linear2.weight", S({10, 3})}});
    }
    {
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
      RunSeedCase(model, {"seq.0.weight", "seq.2.weight"}, prune_bias, kLinearInput, {128, 10});
      ExpectShapes(model, {{"seq.0.weight", S({4, 7})},
                           {"seq.1.weight", S({6, 4})},
                           {"seq.2.weight", S({3, 6})},
                           {"linear1.weight", S({4, 3})}});
    }
  }
}

// test_prune_linear_bias_linear: seq.0 (7->5, bias), seq.1 (5->6), seq.2 (6->3, bias),
// seq.3 (3->3, bias), seq.4 (3->10). With prune_bias false a pruned channel's bias is folded
// into the consumer's bias, which is created when the consumer had none.
TEST(UpstreamScenario, LinearBiasLinear) {
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    const std::string folded = prune_bias ? kNone : "";
    {  // linear(bias) -> linear(no bias)
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearBias());
      RunSeedCase(model, {"seq.0.weight", "seq.1.weight"}, prune_bias, kLinearInput, {128, 10});
      ExpectShapes(model, {{"seq.0.weight", S({4, 7})},
                           {"seq.0.bias", S({4})},
                           {"seq.1.weight", S({4, 4})},
                           {"seq.1.bias", prune_bias ? kNone : S({4})},
                           {"seq.2.weight", S({3, 4})},
                           {"seq.2.bias", S({3})}});
    }
    {  // linear(bias) -> linear(bias)
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearBias());
      RunSeedCase(model, {"seq.2.weight", "seq.3.weight"}, prune_bias, kLinearInput, {128, 10});
      ExpectShapes(model, {{"seq.1.weight", S({6, 5})},
                           {"seq.2.weight", S({2, 6})},
                           {"seq.2.bias", S({2})},
                           {"seq.3.weight", S({2, 2})},
                           {"seq.3.bias", S({2})},
                           {"seq.4.weight", S({10, 2})},
                           {"seq.4.bias", prune_bias ? kNone : S({10})}});
    }
    {  // linear(no bias) -> linear(bias)
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearBias());
      RunSeedCase(model, {"seq.0.weight", "seq.1.weight", "seq.2.weight"}, prune_bias, kLinearInput,
                  {128, 10});
      ExpectShapes(model, {{"seq.0.weight", S({4, 7})},
                           {"seq.1.weight", S({4, 4})},
                           {"seq.1.bias", prune_bias ? kNone : S({4})},
                           {"seq.2.weight", S({2, 4})},
                           {"seq.2.bias", S({2})},
                           {"seq.3.weight", S({3, 2})},
                           {"seq.3.bias", S({3})}});
    }
  }
}

// test_prune_linear_activation_linear, module and functional form.
TEST(UpstreamScenario, LinearActivationLinear) {
  const std::vector<std::string> config = {"seq.0.weight", "seq.2.weight", "seq.4.weight",
                                           "linear1.weight"};
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    {
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearActivation());
      RunSeedCase(model, config, prune_bias, kLinearInput, {128, 10});
      ExpectShapes(model, {{"seq.0.weight", S({4, 7})},
                           {"seq.0.bias", S({4})},
                           {"seq.2.weight", S({4, 4})},
                           {"seq.4.weight", S({3, 4})},
                           {"seq.4.bias", S({3})},
                           {"linear1.weight", S({2, 3})},
                           {"linear1.bias", S({2})},
                           {"linear2.weight", S({10, 2})}});
    }
    {
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearActivationFunctional());
      RunSeedCase(model, config, prune_bias, kLinearInput, {128, 10});
      ExpectShapes(model, {{"seq.0.weight", S({4, 7})},
                           {"seq.2.weight", S({4, 4})},
                           {"seq.4.weight", S({3, 4})},
                           {"linear1.weight", S({2, 3})},
                           {"linear2.weight", S({8, 2})},
                           {"linear3.weight", S({10, 8})}});
    }
  }
}

// test_prune_conv2d_conv2d: seq.0 (1->8), seq.1 (8->16), conv2d1 (16->12), conv2d2 (12->13).
TEST(UpstreamScenario, ConvConv) {
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    {
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleConv2d(kWidthDivisor));
      RunSeedCase(model, {"seq.0.weight"}, prune_bias, kImageInput, {1, 13, 20, 20});
      ExpectShapes(model, {{"seq.0.weight", S({6, 1, 3, 3})}, {"seq.1.weight", S({16, 6, 3, 3})}});
    }
    {
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleConv2d(kWidthDivisor));
      RunSeedCase(model, {"seq.0.weight", "seq.1.weight", "conv2d1.weight"}, prune_bias,
                  kImageInput, {1, 13, 20, 20});
      ExpectShapes(model, {{"seq.0.weight", S({6, 1, 3, 3})},
                           {"seq.1.weight", S({11, 6, 3, 3})},
                           {"conv2d1.weight", S({8, 11, 3, 3})},
                           {"conv2d2.weight", S({13, 8, 3, 3})}});
    }
  }
}

// test_prune_conv2d_bias_conv2d: seq.0 (1->8, bias), seq.1 (8->8, bias), seq.2 (8->16),
// conv2d1 (16->12, bias), conv2d2 (12->13).
TEST(UpstreamScenario, ConvBiasConv) {
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    {  // conv2d(bias) -> conv2d(bias)
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dBias(kWidthDivisor));
      RunSeedCase(model, {"seq.0.weight", "seq.1.weight"}, prune_bias, kImageInput,
                  {1, 13, 18, 18});
      ExpectShapes(model, {{"seq.0.weight", S({6, 1, 3, 3})},
                           {"seq.0.bias", S({6})},
                           {"seq.1.weight", S({6, 6, 3, 3})},
                           {"seq.1.bias", S({6})},
                           {"seq.2.weight", S({16, 6, 3, 3})},
                           {"seq.2.bias", prune_bias ? kNone : S({16})}});
    }
    {  // conv2d(no bias) -> conv2d(bias)
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dBias(kWidthDivisor));
      RunSeedCase(model, {"seq.0.weight", "seq.1.weight", "conv2d1.weight"}, prune_bias,
                  kImageInput, {1, 13, 18, 18});
      ExpectShapes(model, {{"seq.1.weight", S({6, 6, 3, 3})},
                           {"seq.2.weight", S({16, 6, 3, 3})},
                           {"conv2d1.weight", S({8, 16, 3, 3})},
                           {"conv2d1.bias", S({8})},
                           {"conv2d2.weight", S({13, 8, 3, 3})},
                           {"conv2d2.bias", prune_bias ? kNone : S({13})}});
    }
    {  // conv2d(bias) -> conv2d(no bias), the consumer itself pruned
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dBias(kWidthDivisor));
      RunSeedCase(model, {"seq.0.weight", "seq.1.weight", "seq.2.weight"}, prune_bias, kImageInput,
                  {1, 13, 18, 18});
      ExpectShapes(model, {{"seq.1.weight", S({6, 6, 3, 3})},
                           {"seq.2.weight", S({11, 6, 3, 3})},
                           {"seq.2.bias", prune_bias ? kNone : S({11})},
                           {"conv2d1.weight", S({12, 11, 3, 3})},
                           {"conv2d1.bias", S({12})}});
    }
  }
}

// test_prune_conv2d_activation_conv2d: seq.0 (1->8, bias) relu seq.2 (8->16, bias) tanh
// seq.4 (16->16) relu conv2d1 (16->12) F.relu conv2d2 (12->13, bias) F.hardtanh.
TEST(UpstreamScenario, ConvActivationConv) {
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    {  // conv2d(no bias) -> activation -> conv2d(no bias)
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dActivation(kWidthDivisor));
      RunSeedCase(model, {"seq.4.weight"}, prune_bias, kImageInput, {1, 13, 18, 18});
      ExpectShapes(model, {{"seq.4.weight", S({11, 16, 3, 3})},
                           {"conv2d1.weight", S({12, 11, 3, 3})},
                           {"conv2d1.bias", kNone}});
    }
    {  // conv2d(bias) -> activation -> conv2d(bias)
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dActivation(kWidthDivisor));
      RunSeedCase(model, {"seq.0.weight", "seq.2.weight"}, prune_bias, kImageInput,
                  {1, 13, 18, 18});
      // tanh(bias) != 0: with prune_bias false seq.4 gets a bias to hold the folded constants.
      ExpectShapes(model, {{"seq.0.weight", S({6, 1, 3, 3})},
                           {"seq.0.bias", S({6})},
                           {"seq.2.weight", S({11, 6, 3, 3})},
                           {"seq.2.bias", S({11})},
                           {"seq.4.weight", S({16, 11, 3, 3})},
                           {"seq.4.bias", prune_bias ? kNone : S({16})}});
    }
    {  // conv2d(bias) -> activation -> conv2d(no bias), the consumer itself pruned
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dActivation(kWidthDivisor));
      RunSeedCase(model, {"seq.2.weight", "seq.4.weight"}, prune_bias, kImageInput,
                  {1, 13, 18, 18});
      ExpectShapes(model, {{"seq.2.weight", S({11, 8, 3, 3})},
                           {"seq.4.weight", S({11, 11, 3, 3})},
                           {"seq.4.bias", prune_bias ? kNone : S({11})},
                           {"conv2d1.weight", S({12, 11, 3, 3})}});
    }
    {  // conv2d(no bias) -> activation -> conv2d(bias)
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dActivation(kWidthDivisor));
      RunSeedCase(model, {"conv2d1.weight"}, prune_bias, kImageInput, {1, 13, 18, 18});
      ExpectShapes(model, {{"conv2d1.weight", S({8, 16, 3, 3})},
                           {"conv2d2.weight", S({13, 8, 3, 3})},
                           {"conv2d2.bias", S({13})}});
    }
  }
}

// test_prune_conv2d_padding_conv2d: seq.0 (1->8, bias, pad) relu seq.2 (8->8, no pad) relu
// seq.4 (8->8, bias, pad) relu seq.6 (8->8, bias, pad) relu seq.8 (8->16, bias) tanh
// conv2d1 (16->12, bias, pad) relu conv2d2 (12->13, bias, pad) tanh. A masked channel whose
// constant (relu/tanh of its bias when prune_bias is false) is nonzero cannot leave a
// zero-padded consumer exactly: it is kept and reported.
TEST(UpstreamScenario, ConvPaddingConv) {
  const Shape out = {1, 13, 24, 24};
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    {  // conv(padded, bias) -> relu -> conv(padded, bias)
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPadBias(kWidthDivisor));
      PruneRun run = RunSeedCase(model, {"seq.4.weight"}, prune_bias, kImageInput, out);
      const std::vector<int64_t> kept =
          prune_bias ? std::vector<int64_t>{} : MaskedWithPositiveBias(run, "seq.4");
      const LayerPruneRecord* r = FindRecord(run.report, "seq.4.weight");
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(r->channels_kept_for_exactness, kept);
      if (!kept.empty()) {
        EXPECT_EQ(r->kept_reason, "a nonzero constant channel enters zero-padded 'seq.6'");
      }
      const int64_t rows = 6 + Count(kept);
      ExpectShapes(model, {{"seq.4.weight", S({rows, 8, 3, 3})},
                           {"seq.4.bias", S({rows})},
                           {"seq.6.weight", S({8, rows, 3, 3})}});
    }
    {  // conv(no bias, no pad) -> relu -> conv(padded, bias): the constant is 0
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPadBias(kWidthDivisor));
      PruneRun run = RunSeedCase(model, {"seq.2.weight"}, prune_bias, kImageInput, out);
      EXPECT_THAT(run.report.layers.at(0).channels_kept_for_exactness, IsEmpty());
      ExpectShapes(model, {{"seq.2.weight", S({6, 8, 3, 3})},
                           {"seq.2.bias", kNone},
                           {"seq.4.weight", S({8, 6, 3, 3})}});
    }
    {  // conv(padded, bias) -> relu -> conv(no bias, no pad): folding is exact
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPadBias(kWidthDivisor));
      PruneRun run = RunSeedCase(model, {"seq.0.weight"}, prune_bias, kImageInput, out);
      EXPECT_THAT(run.report.layers.at(0).channels_kept_for_exactness, IsEmpty());
      ExpectShapes(model, {{"seq.0.weight", S({6, 1, 3, 3})},
                           {"seq.0.bias", S({6})},
                           {"seq.2.weight", S({8, 6, 3, 3})}});
    }
    {  // conv(pad, bias) -> relu -> conv(no pad, bias)
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPadBias(kWidthDivisor));
      PruneRun run = RunSeedCase(model, {"seq.6.weight"}, prune_bias, kImageInput, out);
      EXPECT_THAT(run.report.layers.at(0).channels_kept_for_exactness, IsEmpty());
      ExpectShapes(model, {{"seq.6.weight", S({6, 8, 3, 3})},
                           {"seq.6.bias", S({6})},
                           {"seq.8.weight", S({16, 6, 3, 3})},
                           {"seq.8.bias", S({16})}});
    }
    {  // conv(no pad, bias) -> tanh -> conv(pad, bias): tanh(bias) != 0 for every channel
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPadBias(kWidthDivisor));
      PruneRun run = RunSeedCase(model, {"seq.8.weight"}, prune_bias, kImageInput, out);
      const LayerPruneRecord& r = run.report.layers.at(0);
      const int64_t rows = prune_bias ? 11 : 16;
      if (prune_bias) {
        EXPECT_THAT(r.channels_kept_for_exactness, IsEmpty());
      } else {
        EXPECT_EQ(r.channels_kept_for_exactness, PrunedIndices(run.masks.at("seq.8.weight")));
        EXPECT_THAT(r.channels_pruned, IsEmpty());
        EXPECT_EQ(r.kept_reason, "a nonzero constant channel enters zero-padded 'conv2d1'");
        EXPECT_THAT(run.report.KeptForExactness(), ElementsAre(HasSubstr("seq.8: [")));
        EXPECT_EQ(run.report.params_after, run.report.params_before);
      }
      ExpectShapes(model, {{"seq.8.weight", S({rows, 8, 3, 3})},
                           {"seq.8.bias", S({rows})},
                           {"conv2d1.weight", S({12, rows, 3, 3})}});
    }
  }
}

// The padding rule on hand-picked channels: with prune_bias false, a masked channel with a
// positive bias (relu keeps it) stays, one with a negative bias (relu zeroes it) goes.
TEST(UpstreamScenario, ConvPaddingKeepsExactlyTheNonzeroConstantChannels) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPadBias(kWidthDivisor));
  const Tensor& bias = *model.root().FindModule("seq.4")->parameter("bias");
  int64_t positive = -1, negative = -1;
  for (int64_t j = 0; j < bias.numel(); ++j) {
    if (bias.data<float>()[j] > 0.0f && positive < 0) positive = j;
    if (bias.data<float>()[j] < 0.0f && negative < 0) negative = j;
  }
  ASSERT_GE(positive, 0);
  ASSERT_GE(negative, 0);
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    GraphModule m = model.Clone();
    KeepMasksPruner pruner({{kPruneBias, prune_bias}});
    std::vector<int64_t> masked = {positive, negative};
    std::sort(masked.begin(), masked.end());
    SP_ASSERT_OK_AND_ASSIGN(PruneRun run,
                            PrepareMaskPruneVerify(pruner, m,
                                                   {.config = ConfigFor({"seq.4.weight"}),
                                                    .pruned = {{"seq.4.weight", masked}},
                                                    .input_shapes = {kImageInput}}));
    EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString();
    ASSERT_EQ(run.report.layers.size(), 1u);
    const LayerPruneRecord& r = run.report.layers[0];
    if (prune_bias) {
      EXPECT_EQ(r.channels_pruned, masked);
      EXPECT_THAT(r.channels_kept_for_exactness, IsEmpty());
      EXPECT_EQ(ParamShape(m, "seq.4.weight"), S({6, 8, 3, 3}));
    } else {
      EXPECT_THAT(r.channels_pruned, ElementsAre(negative));
      EXPECT_THAT(r.channels_kept_for_exactness, ElementsAre(positive));
      EXPECT_EQ(ParamShape(m, "seq.4.weight"), S({7, 8, 3, 3}));
      EXPECT_EQ(ParamShape(m, "seq.6.weight"), S({8, 7, 3, 3}));
      // The kept channel is what the masked model computed: zero weights, its bias.
      const Tensor& w = *m.root().FindModule("seq.4")->parameter("weight");
      const int64_t kept_row = positive < negative ? positive : positive - 1;
      for (int64_t k = 0; k < 8 * 9; ++k) EXPECT_EQ(w.data<float>()[kept_row * 72 + k], 0.0f);
      EXPECT_EQ(m.root().FindModule("seq.4")->parameter("bias")->data<float>()[kept_row],
                bias.data<float>()[positive]);
    }
  }
}

// test_prune_conv2d_pool_conv2d: seq.0 (1->8, pad) maxpool relu seq.3 (8->16, pad) tanh
// avgpool(pad 1, count_include_pad) conv2d1 (16->12, pad) maxpool relu conv2d2 (12->13, pad)
// F.avg_pool2d relu conv2d3 (13->13, pad), all with bias.
TEST(UpstreamScenario, ConvPoolConv) {
  const std::vector<std::string> config = {"seq.0.weight", "seq.3.weight", "conv2d1.weight",
                                           "conv2d2.weight"};
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPool(kWidthDivisor));
    PruneRun run = RunSeedCase(model, config, prune_bias, kImageInput, {1, 13, 3, 3});
    // Kept per producer: relu(maxpool(b)) != 0 when b > 0; a nonzero constant through a
    // padding-counting avg pool is never exact (tanh(b) for seq.3, b for conv2d2).
    std::map<std::string, std::vector<int64_t>> kept;
    if (!prune_bias) {
      kept["seq.0.weight"] = MaskedWithPositiveBias(run, "seq.0");
      kept["seq.3.weight"] = PrunedIndices(run.masks.at("seq.3.weight"));
      kept["conv2d1.weight"] = MaskedWithPositiveBias(run, "conv2d1");
      kept["conv2d2.weight"] = PrunedIndices(run.masks.at("conv2d2.weight"));
    }
    for (const std::string& fqn : config) {
      const LayerPruneRecord* r = FindRecord(run.report, fqn);
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(r->channels_kept_for_exactness, kept[fqn]) << fqn;
    }
    if (!prune_bias) {
      EXPECT_EQ(FindRecord(run.report, "seq.3.weight")->kept_reason,
                "'seq_5' averages over zero padding (or a divisor override)");
      EXPECT_EQ(FindRecord(run.report, "conv2d2.weight")->kept_reason,
                "'avg_pool2d' averages over zero padding (or a divisor override)");
    }
    const int64_t c0 = 6 + Count(kept["seq.0.weight"]);
    const int64_t c3 = 11 + Count(kept["seq.3.weight"]);
    const int64_t c1 = 8 + Count(kept["conv2d1.weight"]);
    const int64_t c2 = 9 + Count(kept["conv2d2.weight"]);
    ExpectShapes(model, {{"seq.0.weight", S({c0, 1, 3, 3})},
                         {"seq.3.weight", S({c3, c0, 3, 3})},
                         {"conv2d1.weight", S({c1, c3, 3, 3})},
                         {"conv2d2.weight", S({c2, c1, 3, 3})},
                         {"conv2d3.weight", S({13, c2, 3, 3})},
                         {"conv2d3.bias", S({13})}});
  }
}

// conv1 (2->4, bias) -> sigmoid -> AvgPool2d(2, stride 1, pads {0, 0, 1, 1}) -> conv2 (4->3):
// a pruned channel is the constant sigmoid(0) = 0.5. Counting the bottom/right padding makes
// the border windows differ, so the channel is kept; without counting it folds exactly.
TEST(StructuredSparsifier, AvgPoolWithPerSidePadsKeepsChannelsOnlyWhenCountingPadding) {
  for (bool include_pad : {true, false}) {
    SCOPED_TRACE(include_pad ? "count_include_pad" : "padding not counted");
    GraphBuilder b(9);
    b.AddModule("conv1", Conv2dAttrs{.in_channels = 2, .out_channels = 4, .kernel_size = {3, 3}});
    b.AddModule("pool", OpKind::kAvgPool2d,
                AvgPool2dAttrs{.kernel_size = {2, 2},
                               .stride = {1, 1},
                               .pads = {0, 0, 1, 1},
                               .count_include_pad = include_pad}
                    .ToAttrs());
    b.AddModule("conv2", Conv2dAttrs{.in_channels = 4, .out_channels = 3, .kernel_size = {1, 1}});
    b.Output(
        b.Call("conv2", b.Call("pool", b.Call(OpKind::kSigmoid, b.Call("conv1", b.Input("x"))))));
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
    KeepMasksPruner pruner({{kPruneBias, true}});
    SP_ASSERT_OK_AND_ASSIGN(PruneRun run,
                            PrepareMaskPruneVerify(pruner, model,
                                                   {.config = ConfigFor({"conv1.weight"}),
                                                    .pruned = {{"conv1.weight", {1}}},
                                                    .input_shapes = {{2, 2, 7, 6}}}));
    EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString();
    ASSERT_EQ(run.report.layers.size(), 1u);
    if (include_pad) {
      EXPECT_THAT(run.report.layers[0].channels_kept_for_exactness, ElementsAre(1));
      EXPECT_EQ(run.report.layers[0].kept_reason,
                "'pool' averages over zero padding (or a divisor override)");
      EXPECT_EQ(ParamShape(model, "conv2.weight"), "[3, 4, 1, 1]");
    } else {
      EXPECT_THAT(run.report.layers[0].channels_pruned, ElementsAre(1));
      EXPECT_EQ(ParamShape(model, "conv2.weight"), "[3, 3, 1, 1]");
    }
  }
}

// test_complex_conv2d: Conv2dPoolFlattenFunctional (adaptive pool to 1x1, torch.flatten, fc
// 11 -> 13) and Conv2dPoolFlatten (adaptive pool to 2x2, nn.Flatten, fc 44 -> 13): each pruned
// conv2d2 channel drops h*w fc columns.
TEST(UpstreamScenario, ConvPoolFlattenLinear) {
  const std::vector<std::string> config = {"seq.0.weight", "seq.3.weight", "conv2d1.weight",
                                           "conv2d2.weight"};
  for (bool functional : {true, false}) {
    for (bool prune_bias : {true, false}) {
      SCOPED_TRACE(absl::StrCat(functional ? "functional" : "module",
                                prune_bias ? " prune_bias" : " keep bias"));
      SP_ASSERT_OK_AND_ASSIGN(GraphModule model, functional ? testing::Conv2dPoolFlattenFunctional()
                                                            : testing::Conv2dPoolFlatten());
      PruneRun run = RunSeedCase(model, config, prune_bias, kImageInput, {1, 13});
      std::map<std::string, std::vector<int64_t>> kept;
      if (!prune_bias) {
        kept["seq.0.weight"] = MaskedWithPositiveBias(run, "seq.0");
        kept["seq.3.weight"] = PrunedIndices(run.masks.at("seq.3.weight"));
        kept["conv2d1.weight"] = MaskedWithPositiveBias(run, "conv2d1");
      }
      for (const std::string& fqn : config) {
        EXPECT_EQ(FindRecord(run.report, fqn)->channels_kept_for_exactness, kept[fqn]) << fqn;
      }
      // 3 -> 2, 5 -> 4, 7 -> 5, 11 -> 8 channels (plus kept ones).
      const int64_t c0 = 2 + Count(kept["seq.0.weight"]);
      const int64_t c3 = 4 + Count(kept["seq.3.weight"]);
      const int64_t c1 = 5 + Count(kept["conv2d1.weight"]);
      const int64_t hw = functional ? 1 : 4;
      ExpectShapes(model, {{"seq.0.weight", S({c0, 1, 3, 3})},
                           {"seq.3.weight", S({c3, c0, 3, 3})},
                           {"conv2d1.weight", S({c1, c3, 3, 3})},
                           {"conv2d2.weight", S({8, c1, 3, 3})},
                           {"conv2d2.bias", S({8})},
                           {"fc.weight", S({13, 8 * hw})},
                           {"fc.bias", S({13})}});
      // fc keeps, in order, the hw columns of each surviving conv2d2 channel.
      const Tensor& fc_before = *run.masked.root().FindModule("fc")->parameter("weight");
      const Tensor& fc_after = *model.root().FindModule("fc")->parameter("weight");
      std::vector<int64_t> surviving;
      const Tensor& mask = run.masks.at("conv2d2.weight");
      for (int64_t j = 0; j < mask.numel(); ++j) {
        if (mask.data<bool>()[j]) surviving.push_back(j);
      }
      ASSERT_EQ(Count(surviving), 8);
      for (int64_t o = 0; o < 13; ++o) {
        for (int64_t s = 0; s < 8; ++s) {
          for (int64_t k = 0; k < hw; ++k) {
            EXPECT_EQ(fc_after.data<float>()[o * 8 * hw + s * hw + k],
                      fc_before.data<float>()[o * 11 * hw + surviving[s] * hw + k]);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Approximate mode.

TEST(ApproximatePrune, RemovesChannelsKeptForExactnessAndReportsThem) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPadBias(kWidthDivisor));
  ThirdPruner pruner({{kPruneBias, false}});
  SP_ASSERT_OK_AND_ASSIGN(PruneRun run,
                          PrepareMaskPruneVerify(pruner, model,
                                                 {.config = ConfigFor({"seq.8.weight"}),
                                                  .input_shapes = {kImageInput},
                                                  .prune = {.approximate = true}}));
  EXPECT_TRUE(run.report.approximate);
  ASSERT_EQ(run.report.layers.size(), 1u);
  const LayerPruneRecord& r = run.report.layers[0];
  const std::vector<int64_t> masked = PrunedIndices(run.masks.at("seq.8.weight"));
  ASSERT_EQ(Count(masked), 5);
  EXPECT_EQ(r.channels_pruned, masked);
  EXPECT_EQ(r.channels_removed_inexactly, masked);
  EXPECT_THAT(r.channels_kept_for_exactness, IsEmpty());
  EXPECT_EQ(r.inexact_reason, "a nonzero constant channel enters zero-padded 'conv2d1'");
  EXPECT_THAT(run.report.KeptForExactness(), IsEmpty());
  EXPECT_THAT(run.report.ToString(), HasSubstr("removed inexactly"));
  ExpectShapes(model, {{"seq.8.weight", S({11, 8, 3, 3})},
                       {"seq.8.bias", S({11})},
                       {"conv2d1.weight", S({12, 11, 3, 3})}});
  EXPECT_TRUE(IsCleanPrunedModel(model));
  // Border pixels of conv2d1 now miss the constant the padding used to cut off.
  EXPECT_GT(run.verify.max_abs_diff, 0.0f) << run.verify.ToString();
  SP_ASSERT_OK_AND_ASSIGN(auto shapes, OutputShapes(model, {kImageInput}));
  EXPECT_THAT(shapes, ElementsAre(Shape{1, 13, 24, 24}));
}

TEST(ApproximatePrune, PrunesThroughPaddedAvgPool) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPool(kWidthDivisor));
  ThirdPruner pruner({{kPruneBias, false}});
  SP_ASSERT_OK_AND_ASSIGN(
      PruneRun run,
      PrepareMaskPruneVerify(pruner, model,
                             {.config = ConfigFor({"seq.0.weight", "seq.3.weight", "conv2d1.weight",
                                                   "conv2d2.weight"}),
                              .input_shapes = {kImageInput},
                              .prune = {.approximate = true}}));
  for (const LayerPruneRecord& r : run.report.layers) {
    EXPECT_THAT(r.channels_kept_for_exactness, IsEmpty()) << r.module_fqn;
    EXPECT_EQ(r.channels_pruned, PrunedIndices(run.masks.at(r.tensor_fqn))) << r.module_fqn;
  }
  EXPECT_EQ(FindRecord(run.report, "seq.3.weight")->channels_removed_inexactly,
            PrunedIndices(run.masks.at("seq.3.weight")));
  EXPECT_EQ(FindRecord(run.report, "seq.0.weight")->channels_removed_inexactly,
            MaskedWithPositiveBias(run, "seq.0"));
  ExpectShapes(model, {{"seq.0.weight", S({6, 1, 3, 3})},
                       {"seq.3.weight", S({11, 6, 3, 3})},
                       {"conv2d1.weight", S({8, 11, 3, 3})},
                       {"conv2d2.weight", S({9, 8, 3, 3})},
                       {"conv2d3.weight", S({13, 9, 3, 3})}});
  EXPECT_TRUE(IsCleanPrunedModel(model));
  EXPECT_GT(run.verify.max_abs_diff, 0.0f);
}

TEST(ApproximatePrune, IsExactWhereExactModeWouldPruneAnyway) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dBias(kWidthDivisor));
  ThirdPruner pruner({{kPruneBias, false}});
  SP_ASSERT_OK_AND_ASSIGN(
      PruneRun run, PrepareMaskPruneVerify(pruner, model,
                                           {.config = ConfigFor({"seq.0.weight", "seq.1.weight"}),
                                            .input_shapes = {kImageInput},
                                            .prune = {.approximate = true}}));
  EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString();
  for (const LayerPruneRecord& r : run.report.layers) {
    EXPECT_THAT(r.channels_removed_inexactly, IsEmpty());
  }
}

// ---------------------------------------------------------------------------------------
// All or nothing: a failing Prune() leaves graph, parameters, masks and hooks as they were.

// x -> fc_in (5->4) -> fc0 (4->6) -> relu -> {fc1, fc2} (6->3) -> add -> out
absl::StatusOr<GraphModule> FanOutModel() {
  GraphBuilder b(3);
  b.AddModule("fc_in", LinearAttrs{.in_features = 5, .out_features = 4});
  b.AddModule("fc0", LinearAttrs{.in_features = 4, .out_features = 6});
  b.AddModule("fc1", LinearAttrs{.in_features = 6, .out_features = 3});
  b.AddModule("fc2", LinearAttrs{.in_features = 6, .out_features = 3});
  Node* x = b.Input("x");
  Node* h = b.Call(OpKind::kRelu, b.Call("fc0", b.Call("fc_in", x)));
  Node* a = b.Call("fc1", h);  // sequenced: argument evaluation order is unspecified
  Node* c = b.Call("fc2", h);
  b.Output(b.Add(a, c));
  return b.Build();
}

// x -> fc_in (5->6) -> fc0 (6->8) -> norm (LayerNorm 8) -> fc1 (8->3)
absl::StatusOr<GraphModule> LayerNormModel() {
  GraphBuilder b(4);
  b.AddModule("fc_in", LinearAttrs{.in_features = 5, .out_features = 6});
  b.AddModule("fc0", LinearAttrs{.in_features = 6, .out_features = 8});
  b.AddModule("norm", OpKind::kLayerNorm, LayerNormAttrs{.normalized_shape = {8}}.ToAttrs());
  b.AddModule("fc1", LinearAttrs{.in_features = 8, .out_features = 3});
  Node* x = b.Input("x");
  b.Output(b.Call("fc1", b.Call("norm", b.Call("fc0", b.Call("fc_in", x)))));
  return b.Build();
}

void ExpectFailedPruneChangesNothing(GraphModule& model, const std::vector<std::string>& config,
                                     absl::StatusCode code, const std::string& message,
                                     const Shape& input) {
  for (bool approximate : {false, true}) {
    SCOPED_TRACE(approximate ? "approximate" : "exact");
    GraphModule m = model.Clone();
    KeepMasksPruner pruner({{kPruneBias, false}});
    SP_ASSERT_OK(pruner.Prepare(m, ConfigFor(config)));
    for (const std::string& fqn : config) {
      SP_ASSERT_OK_AND_ASSIGN(Tensor mask, pruner.GetMask(fqn));
      SP_ASSERT_OK(pruner.SetMask(fqn, MaskWithout(mask.numel(), {0, 2})));
    }
    const testing::ModelSnapshot before = TakeSnapshot(m);
    GraphModule masked = m.Clone();
    EXPECT_THAT(pruner.Prune({.approximate = approximate}), StatusIs(code, message));
    EXPECT_TRUE(SameAsSnapshot(before, m));
    // Still prepared, masks still attached and live, and the model still computes the
    // masked function.
    EXPECT_TRUE(pruner.prepared());
    for (const std::string& fqn : config) {
      SP_ASSERT_OK_AND_ASSIGN(Tensor mask, pruner.GetMask(fqn));
      EXPECT_THAT(PrunedIndices(mask), ElementsAre(0, 2));
      const Module* owner = m.root().FindModule(fqn.substr(0, fqn.rfind('.')));
      EXPECT_TRUE(owner->IsParametrized("weight")) << fqn;
    }
    SP_ASSERT_OK_AND_ASSIGN(VerifyResult same,
                            VerifyEquivalence(masked, m, {input}, PruneReport{}));
    EXPECT_EQ(same.max_abs_diff, 0.0f);
  }
}

TEST(AllOrNothing, FanOutFailsAndLeavesTheModelUnchanged) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, FanOutModel());
  // fc_in plans cleanly first; fc0's relu feeds two Linears.
  ExpectFailedPruneChangesNothing(
      model, {"fc_in.weight", "fc0.weight"}, absl::StatusCode::kInvalidArgument,
      "cannot prune 'fc0.weight': no pruning pattern matches: 'relu' feeds 2 nodes ('fc1', "
      "'fc2'); pruning through fan-out needs dependency groups",
      {3, 5});
}

TEST(AllOrNothing, LayerNormBetweenLinearsFailsAndLeavesTheModelUnchanged) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, LayerNormModel());
  ExpectFailedPruneChangesNothing(
      model, {"fc_in.weight", "fc0.weight"}, absl::StatusCode::kInvalidArgument,
      "cannot prune 'fc0.weight': no pruning pattern matches: 'norm' after 'fc0' is not "
      "AnyActivation",
      {3, 5});
}

TEST(AllOrNothing, ConfiguredModuleNeverCalledFails) {
  GraphBuilder b;
  b.AddModule("fc0", LinearAttrs{.in_features = 4, .out_features = 6});
  b.AddModule("fc1", LinearAttrs{.in_features = 6, .out_features = 3});
  b.AddModule("unused", LinearAttrs{.in_features = 4, .out_features = 4});
  Node* x = b.Input("x");
  b.Output(b.Call("fc1", b.Call("fc0", x)));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  ExpectFailedPruneChangesNothing(
      model, {"fc0.weight", "unused.weight"}, absl::StatusCode::kInvalidArgument,
      "'unused.weight' still carries a mask after pruning: its module is never called in the "
      "graph",
      {2, 4});
}

TEST(AllOrNothing, FailedPruneLeavesTheSparsifierUsable) {
  // Prune() fails the same way twice, the model stays intact, and SquashMask() still works.
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, FanOutModel());
  KeepMasksPruner pruner;
  SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"fc_in.weight", "fc0.weight"})));
  SP_ASSERT_OK(pruner.SetMask("fc_in.weight", MaskWithout(4, {1})));
  const testing::ModelSnapshot before = TakeSnapshot(model);
  EXPECT_THAT(pruner.Prune(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fc0.weight")));
  EXPECT_THAT(pruner.Prune(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fc0.weight")));
  EXPECT_TRUE(SameAsSnapshot(before, model));
  // SquashMask still works on the intact prepared model.
  GraphModule masked = model.Clone();
  SP_ASSERT_OK(pruner.SquashMask());
  EXPECT_TRUE(IsCleanPrunedModel(model));
  SP_ASSERT_OK_AND_ASSIGN(VerifyResult v,
                          VerifyEquivalence(masked, model, {{3, 5}}, PruneReport{}));
  EXPECT_TRUE(v.equivalent) << v.ToString();
}

// ---------------------------------------------------------------------------------------
// After a successful Prune.

TEST(PrunedModel, HasNoMaskHookOrMovedBiasAndRuns) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::Conv2dPadBias(kWidthDivisor));
  RowOnePruner pruner;
  SP_ASSERT_OK_AND_ASSIGN(PruneRun run,
                          PrepareMaskPruneVerify(pruner, model, {.input_shapes = {kImageInput}}));
  EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString();
  EXPECT_TRUE(IsCleanPrunedModel(model));
  for (const auto& [fqn, m] : model.root().NamedModules()) {
    EXPECT_FALSE(m->IsParametrized()) << fqn;
    EXPECT_FALSE(m->IsParametrized("weight")) << fqn;
    EXPECT_THAT(m->forward_hooks(), IsEmpty()) << fqn;
    EXPECT_FALSE(m->HasParameter(kMovedBias)) << fqn;
  }
  SP_ASSERT_OK(model.Lint());
  SP_ASSERT_OK_AND_ASSIGN(auto shapes, OutputShapes(model, {kImageInput}));
  // conv2d2 is configured and feeds tanh -> output: the output loses its row 1.
  EXPECT_THAT(shapes, ElementsAre(Shape{1, 12, 24, 24}));
  ASSERT_EQ(run.report.output_changes.size(), 1u);
  EXPECT_EQ(run.report.output_changes[0].output_index, 0);
  EXPECT_EQ(run.report.output_changes[0].keep.size(), 12u);
}

// linear(bias) -> linear(bias) of LinearBias with SimplePruner (row 1) on seq.2 and seq.3:
//
//   before: x -> seq.0 (7->5) -> seq.1 (5->6) -> seq.2 (6->3) -> seq.3 (3->3) -> seq.4 (3->10)
//   after:  x -> seq.0 (7->5) -> seq.1 (5->6) -> seq.2 (6->2) -> seq.3 (2->2) -> seq.4 (2->10)
//
// With prune_bias false, seq.3's pruned channel keeps its bias: seq.4 gains a bias holding
// that constant times its dropped column.
TEST(PrunedModel, PrintsTheExpectedGraph) {
  for (bool prune_bias : {true, false}) {
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearBias());
    RowOnePruner pruner({{kPruneBias, prune_bias}});
    SP_ASSERT_OK_AND_ASSIGN(
        PruneRun run, PrepareMaskPruneVerify(pruner, model,
                                             {.config = ConfigFor({"seq.2.weight", "seq.3.weight"}),
                                              .input_shapes = {kLinearInput}}));
    EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString();
    const std::string seq4_bias = prune_bias ? "false" : "true";
    EXPECT_EQ(
        GraphToString(model),
        "graph(x):\n"
        "    %seq_0 = call_module[seq.0: Linear(bias=true, in_features=7, out_features=5)](%x)\n"
        "    %seq_1 = call_module[seq.1: Linear(bias=false, in_features=5, "
        "out_features=6)](%seq_0)\n"
        "    %seq_2 = call_module[seq.2: Linear(bias=true, in_features=6, "
        "out_features=2)](%seq_1)\n"
        "    %seq_3 = call_module[seq.3: Linear(bias=true, in_features=2, "
        "out_features=2)](%seq_2)\n"
        "    %seq_4 = call_module[seq.4: Linear(bias=" +
            seq4_bias +
            ", in_features=2, out_features=10)](%seq_3)\n"
            "    return (%seq_4)\n");
    ASSERT_EQ(run.report.layers.size(), 2u);
    EXPECT_EQ(run.report.layers[0].pattern, "Linear -> Linear");
    EXPECT_EQ(run.report.layers[1].pattern, "Linear -> Linear");
    EXPECT_EQ(run.report.params_before, 35 + 5 + 30 + 18 + 3 + 9 + 3 + 30);
    EXPECT_EQ(run.report.params_after, 35 + 5 + 30 + 12 + 2 + 4 + 2 + 20 + (prune_bias ? 0 : 10));
  }
}

// The fold with prune_bias false, by hand: seq.4's new bias is the masked model's constant
// (seq.3's bias of row 1) times seq.4's column 1.
TEST(PrunedModel, FoldsAKeptBiasIntoTheNextLinear) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::LinearBias());
  const float b = model.root().FindModule("seq.3")->parameter("bias")->data<float>()[1];
  const Tensor w4 = model.root().FindModule("seq.4")->parameter("weight")->Clone();  // [10, 3]
  RowOnePruner pruner({{kPruneBias, false}});
  SP_ASSERT_OK_AND_ASSIGN(
      PruneRun run,
      PrepareMaskPruneVerify(
          pruner, model, {.config = ConfigFor({"seq.3.weight"}), .input_shapes = {kLinearInput}}));
  EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString();
  const Tensor* bias = model.root().FindModule("seq.4")->parameter("bias");
  ASSERT_NE(bias, nullptr);
  ASSERT_EQ(bias->numel(), 10);
  for (int64_t o = 0; o < 10; ++o) {
    EXPECT_FLOAT_EQ(bias->data<float>()[o], b * w4.data<float>()[o * 3 + 1]) << o;
  }
}

// Found by the property suite (tests/property): a grouped conv lost rows unevenly across its
// groups, so the pruned conv read the wrong input group (or, groups not dividing its width,
// could not run). Rows go only as far as every group loses as many:
//
//   x -> grouped (Conv2d 4 -> 6, groups 2) -> relu -> head (Conv2d 6 -> 3)
//   mask prunes {0, 1} of group 0 and {4} of group 1: row 1 stays -> grouped [4, 2, 3, 3]
TEST(PruneGroupedConv, EveryGroupLosesAsManyRows) {
  for (bool prune_bias : {true, false}) {
    SCOPED_TRACE(prune_bias ? "prune_bias" : "keep bias");
    GraphBuilder b(11);
    b.AddModule("grouped", Conv2dAttrs{.in_channels = 4, .out_channels = 6, .kernel_size = {3, 3}, .groups = 2});
    b.AddModule("head", Conv2dAttrs{.in_channels = 6, .out_channels = 3, .kernel_size = {1, 1}});
    b.Output(b.Call("head", b.Call(OpKind::kRelu, b.Call("grouped", b.Input("x")))));
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
    KeepMasksPruner pruner({{kPruneBias, prune_bias}});
    SP_ASSERT_OK_AND_ASSIGN(PruneRun run, PrepareMaskPruneVerify(pruner, model,
                                                                 {.config = ConfigFor({"grouped.weight"}),
                                                                  .pruned = {{"grouped.weight", {0, 1, 4}}},
                                                                  .input_shapes = {{2, 4, 6, 6}}}));
    EXPECT_TRUE(run.verify.equivalent) << run.verify.ToString() << "\n" << run.report.ToString();
    EXPECT_EQ(ParamShape(model, "grouped.weight"), S({4, 2, 3, 3}));
    EXPECT_EQ(ParamShape(model, "head.weight"), S({3, 4, 1, 1}));
    ASSERT_EQ(run.report.layers.size(), 1u);
    EXPECT_THAT(run.report.layers[0].channels_pruned, ElementsAre(0, 4));
    EXPECT_THAT(run.report.layers[0].channels_kept_for_exactness, ElementsAre(1));
    EXPECT_THAT(run.report.layers[0].kept_reason, HasSubstr("every group must lose as many channels"));
  }
}

// Found by the property suite: pruning sliced a module that the graph calls twice (tied
// weights) for one of its calls, and the other call could no longer run. Such a module is
// refused and the model left as it was, in pattern and in dependency-group mode.
//
//   x -> fc0 (Linear 5 -> 6) -> relu -> tied (Linear 6 -> 6) -> relu -> tied -> out
TEST(AllOrNothing, ModuleCalledTwiceIsNotSliced) {
  for (bool groups : {false, true}) {
    SCOPED_TRACE(groups ? "dependency groups" : "patterns");
    GraphBuilder b(12);
    b.AddModule("fc0", LinearAttrs{.in_features = 5, .out_features = 6});
    b.AddModule("tied", LinearAttrs{.in_features = 6, .out_features = 6});
    Node* h = b.Call(OpKind::kRelu, b.Call("fc0", b.Input("x")));
    h = b.Call(OpKind::kRelu, b.Call("tied", h));
    b.Output(b.Call("tied", h));
    SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
    KeepMasksPruner pruner;
    if (groups) pruner.SetInputShapes({{3, 5}});
    SP_ASSERT_OK(pruner.Prepare(model, ConfigFor({"fc0.weight"})));
    SP_ASSERT_OK(pruner.SetMask("fc0.weight", MaskWithout(6, {2, 3})));
    const testing::ModelSnapshot before = TakeSnapshot(model);
    EXPECT_THAT(pruner.Prune(), StatusIs(absl::StatusCode::kUnimplemented,
                                         HasSubstr("'tied.weight' is used at 2 places in the graph")));
    EXPECT_TRUE(SameAsSnapshot(before, model));
  }
}

}  // namespace
}  // namespace structprune
