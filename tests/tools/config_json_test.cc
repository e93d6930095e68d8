#include "tools/config_json.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/onnx_import.h"
#include "gtest/gtest.h"
#include "pruning/config.h"
#include "tests/testing/models.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::IsOk;
using ::structprune::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Bool mask entries as 0/1, for ElementsAre.
std::vector<int> MaskValues(const Tensor& mask) {
  std::vector<int> out;
  for (bool k : mask.values<bool>()) out.push_back(k ? 1 : 0);
  return out;
}

// The InvalidArgument message ParseConfigJson gives for `text`.
std::string ErrorOf(const std::string& text) {
  absl::StatusOr<ConfigFile> config = ParseConfigJson(text);
  EXPECT_THAT(config.status().code(), Eq(absl::StatusCode::kInvalidArgument)) << text;
  return std::string(config.status().message());
}

TEST(ParseConfigJson, ReadsTheSpecExample) {
  SP_ASSERT_OK_AND_ASSIGN(ConfigFile config, ParseConfigJson(R"(
      {"defaults": {"sparsity_level": 0.5, "prune_bias": true},
       "groups": [{"tensor_fqn": "seq.0.weight", "sparsity_level": 0.25},
                  {"tensor_fqn": "conv2d1.weight", "mask": [1, 0, 1, 1]}]})"));
  EXPECT_EQ(std::get<double>(config.defaults.at(kSparsityLevel)), 0.5);
  EXPECT_EQ(std::get<bool>(config.defaults.at(kPruneBias)), true);
  ASSERT_TRUE(config.groups.has_value());
  ASSERT_EQ(config.groups->size(), 2u);
  const Options& first = (*config.groups)[0];
  EXPECT_EQ(std::get<std::string>(first.at(kTensorFqn)), "seq.0.weight");
  EXPECT_EQ(std::get<double>(first.at(kSparsityLevel)), 0.25);
  const Tensor& mask = std::get<Tensor>((*config.groups)[1].at(kMask));
  EXPECT_EQ(mask.dtype(), DType::kBool);
  EXPECT_EQ(mask.shape(), Shape({4}));
  EXPECT_THAT(MaskValues(mask), ElementsAre(1, 0, 1, 1));
}

TEST(ParseConfigJson, IntegersBecomeDoublesAndOtherKeysPassThrough) {
  SP_ASSERT_OK_AND_ASSIGN(ConfigFile config, ParseConfigJson(R"(
      {"defaults": {"round_to": 8, "global_pruning": true, "note": "x", "sparsity_level": 1}})"));
  EXPECT_EQ(std::get<double>(config.defaults.at("round_to")), 8.0);
  EXPECT_EQ(std::get<bool>(config.defaults.at("global_pruning")), true);
  EXPECT_EQ(std::get<std::string>(config.defaults.at("note")), "x");
  EXPECT_EQ(std::get<double>(config.defaults.at(kSparsityLevel)), 1.0);
}

TEST(ParseConfigJson, MissingGroupsMeansEveryLayerAndEmptyGroupsMeansNone) {
  SP_ASSERT_OK_AND_ASSIGN(ConfigFile no_groups, ParseConfigJson(R"({"defaults": {}})"));
  EXPECT_FALSE(no_groups.groups.has_value());
  EXPECT_TRUE(no_groups.defaults.empty());
  SP_ASSERT_OK_AND_ASSIGN(ConfigFile empty, ParseConfigJson(R"({"groups": []})"));
  ASSERT_TRUE(empty.groups.has_value());
  EXPECT_TRUE(empty.groups->empty());
  SP_ASSERT_OK_AND_ASSIGN(ConfigFile nothing, ParseConfigJson("{}"));
  EXPECT_FALSE(nothing.groups.has_value());
}

TEST(ParseConfigJson, MaskAcceptsBooleans) {
  SP_ASSERT_OK_AND_ASSIGN(
      ConfigFile config,
      ParseConfigJson(R"({"groups": [{"tensor_fqn": "a", "mask": [true, false, 1]}]})"));
  EXPECT_THAT(MaskValues(std::get<Tensor>((*config.groups)[0].at(kMask))), ElementsAre(1, 0, 1));
}

TEST(ParseConfigJson, ResolvesTensorNames) {
  TensorNameResolver resolve = [](absl::string_view name) -> absl::StatusOr<std::string> {
    if (name == "onnx::MatMul_12") return std::string("seq.1.weight");
    return std::string(name);
  };
  SP_ASSERT_OK_AND_ASSIGN(
      ConfigFile config,
      ParseConfigJson(R"({"groups": [{"tensor_fqn": "onnx::MatMul_12"}]})", resolve));
  EXPECT_EQ(std::get<std::string>((*config.groups)[0].at(kTensorFqn)), "seq.1.weight");
}

TEST(ParseConfigJson, UnknownTensorIsNotFoundNamingTheGroup) {
  TensorNameResolver resolve = [](absl::string_view name) -> absl::StatusOr<std::string> {
    return absl::NotFoundError(absl::StrCat("no tensor named '", name, "'"));
  };
  EXPECT_THAT(
      ParseConfigJson(R"({"groups": [{"tensor_fqn": "fc9.weight"}]})", resolve),
      StatusIs(absl::StatusCode::kNotFound, Eq("config group 0: no tensor named 'fc9.weight'")));
}

TEST(ParseConfigJson, SyntaxErrorsGiveThePosition) {
  EXPECT_EQ(
      ErrorOf("{"),
      "not valid JSON: parse error at line 1, column 2: syntax error while parsing object key - "
      "unexpected end of input; expected string literal");
  EXPECT_EQ(ErrorOf(""),
            "not valid JSON: parse error at line 1, column 1: syntax error while parsing value - "
            "unexpected end of input; expected '[', '{', or a literal");
  EXPECT_EQ(
      ErrorOf("{\"defaults\": {\"sparsity_level\": 0.5,}}"),
      "not valid JSON: parse error at line 1, column 37: syntax error while parsing object key - "
      "unexpected '}'; expected string literal");
}

TEST(ParseConfigJson, TopLevelErrors) {
  EXPECT_EQ(ErrorOf("[]"), "expected a JSON object with \"defaults\" and/or \"groups\", got array");
  EXPECT_EQ(ErrorOf(R"({"group": []})"),
            "unknown key \"group\" (expected \"defaults\" and/or \"groups\")");
  EXPECT_EQ(ErrorOf(R"({"groups": {}})"), "\"groups\" must be an array of objects, got object");
}

TEST(ParseConfigJson, DefaultsErrorsNameDefaults) {
  EXPECT_EQ(ErrorOf(R"({"defaults": 1})"), "defaults: expected an object, got number");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"tensor_fqn": "a"}})"),
            "defaults: 'tensor_fqn' belongs in a group");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"mask": [1]}})"),
            "defaults: 'mask' belongs in a group: a mask is per tensor");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"sparsity_level": 1.5}})"),
            "defaults: sparsity_level must be in [0, 1], got 1.5");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"sparsity_level": "half"}})"),
            "defaults: 'sparsity_level' must be a number");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"prune_bias": 1}})"),
            "defaults: 'prune_bias' must be true or false, got 1");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"global_pruning": "yes"}})"),
            "defaults: 'global_pruning' must be true or false, got \"yes\"");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"round_to": 2.5}})"),
            "defaults: 'round_to' must be an integer >= 1, got 2.5");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"round_to": 0}})"),
            "defaults: 'round_to' must be an integer >= 1, got 0");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"max_group_sparsity": 2}})"),
            "defaults: 'max_group_sparsity' must be a number in [0, 1]");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"note": null}})"),
            "defaults: 'note' must be a number, bool or string, got null");
  EXPECT_EQ(ErrorOf(R"({"defaults": {"levels": [0.5]}})"),
            "defaults: 'levels' must be a number, bool or string, got array");
}

TEST(ParseConfigJson, GroupErrorsNameTheGroup) {
  EXPECT_EQ(ErrorOf(R"({"groups": ["seq.0.weight"]})"),
            "config group 0: expected an object, got string");
  EXPECT_EQ(ErrorOf(R"({"groups": [{"tensor_fqn": "a"}, {"sparsity_level": 0.5}]})"),
            "config group 1: missing 'tensor_fqn'");
  EXPECT_EQ(ErrorOf(R"({"groups": [{"tensor_fqn": 3}]})"),
            "config group 0: 'tensor_fqn' must be a string, got number");
  EXPECT_EQ(ErrorOf(R"({"groups": [{"tensor_fqn": "seq.0.weight", "sparsity_level": -0.1}]})"),
            "config group 0 ('seq.0.weight'): sparsity_level must be in [0, 1], got -0.1");
  EXPECT_EQ(ErrorOf(R"({"groups": [{"tensor_fqn": "seq.0.weight", "prune_bias": "no"}]})"),
            "config group 0 ('seq.0.weight'): 'prune_bias' must be true or false, got \"no\"");
  EXPECT_EQ(
      ErrorOf(R"({"groups": [{"tensor_fqn": "seq.0.weight", "extra": {"a": 1}}]})"),
      "config group 0 ('seq.0.weight'): 'extra' must be a number, bool or string, got object");
}

TEST(ParseConfigJson, MaskErrorsNameTheGroupAndEntry) {
  EXPECT_EQ(ErrorOf(R"({"groups": [{"tensor_fqn": "seq.0.weight", "mask": "1011"}]})"),
            "config group 0 ('seq.0.weight'): 'mask' must be an array of 0/1, got string");
  EXPECT_EQ(ErrorOf(R"({"groups": [{"tensor_fqn": "seq.0.weight", "mask": [1, 2, 0]}]})"),
            "config group 0 ('seq.0.weight'): 'mask' entry 1 is 2, expected 0 or 1");
  EXPECT_EQ(ErrorOf(R"({"groups": [{"tensor_fqn": "seq.0.weight", "mask": [1, 0.5]}]})"),
            "config group 0 ('seq.0.weight'): 'mask' entry 1 is 0.5, expected 0 or 1");
  EXPECT_EQ(ErrorOf(R"({"groups": [{"tensor_fqn": "seq.0.weight", "mask": [1, "0"]}]})"),
            "config group 0 ('seq.0.weight'): 'mask' entry 1 is \"0\", expected 0 or 1");
  EXPECT_EQ(ErrorOf(R"({"groups": [{"tensor_fqn": "seq.0.weight", "mask": []}]})"),
            "config group 0 ('seq.0.weight'): 'mask' is empty");
}

// The mask's length is checked against the model by the library, naming the same group.
TEST(ParseConfigJson, MaskOfTheWrongLengthFailsInResolveConfig) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::SimpleLinear());
  const Tensor* w = model.root().FindModule("seq.0")->parameter("weight");
  ASSERT_NE(w, nullptr);
  SP_ASSERT_OK_AND_ASSIGN(
      ConfigFile config,
      ParseConfigJson(R"({"groups": [{"tensor_fqn": "seq.0.weight", "mask": [1, 0, 1]}]})"));
  EXPECT_THAT(
      ResolveConfig(*config.groups, config.defaults, model.root()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               Eq(absl::StrCat("config group 0 ('seq.0.weight'): mask has 3 entries, expected ",
                               w->size(0)))));
}

TEST(ReadConfigJson, MissingFileIsNotFound) {
  EXPECT_THAT(
      ReadConfigJson("/nonexistent/config.json"),
      StatusIs(absl::StatusCode::kNotFound, Eq("cannot read CONFIG '/nonexistent/config.json'")));
  EXPECT_THAT(ReadConfigJson(std::filesystem::temp_directory_path().string()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot read CONFIG")));
}

TEST(ReadConfigJson, ErrorsArePrefixedWithThePath) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "sp_config_json_test.json").string();
  std::ofstream(path) << R"({"defaults": {"sparsity_level": 2}})";
  EXPECT_THAT(ReadConfigJson(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq(absl::StrCat("'", path,
                                       "': defaults: sparsity_level must be in [0, 1], got 2"))));
  std::ofstream(path) << R"({"groups": [{"tensor_fqn": "a", "mask": [0, 1]}]})";
  SP_ASSERT_OK_AND_ASSIGN(ConfigFile config, ReadConfigJson(path));
  EXPECT_THAT(MaskValues(std::get<Tensor>((*config.groups)[0].at(kMask))), ElementsAre(0, 1));
  std::remove(path.c_str());
}

// An ONNX model's initializer names work as tensor_fqn: the exporter stores a bias-free
// Linear's weight transposed as onnx::MatMul_<n>.
TEST(ReadConfigJson, AcceptsOnnxInitializerNames) {
  SP_ASSERT_OK_AND_ASSIGN(OnnxModel onnx, ImportOnnx(SP_CLI_DATA_DIR "/mlp.onnx"));
  auto resolve = [&](absl::string_view name) { return ResolveTensorFqn(onnx, name); };
  SP_ASSERT_OK_AND_ASSIGN(ConfigFile config,
                          ReadConfigJson(SP_CLI_DATA_DIR "/mlp_config_onnx_name.json", resolve));
  ASSERT_EQ(config.groups->size(), 2u);
  EXPECT_EQ(std::get<std::string>((*config.groups)[0].at(kTensorFqn)), "fc1.weight");
  EXPECT_EQ(std::get<std::string>((*config.groups)[1].at(kTensorFqn)), "fc2.weight");
  EXPECT_THAT(ParseConfigJson(R"({"groups": [{"tensor_fqn": "fc9.weight"}]})", resolve),
              StatusIs(absl::StatusCode::kNotFound,
                       StartsWith("config group 0: no tensor named 'fc9.weight'")));
  EXPECT_THAT(ResolveConfig(*config.groups, config.defaults, onnx.model.root()), IsOk());
}

}  // namespace
}  // namespace structprune
