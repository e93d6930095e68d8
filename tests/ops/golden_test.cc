// Every op fixture of tests/golden/ops (PyTorch outputs) through the builder and interpreter,
// once with the fast kernels and once with the reference kernels.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"

#include "graph/builder.h"
#include "graph/interpreter.h"
#include "tests/testing/golden.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::AllClose;
using ::structprune::testing::GoldenCase;

absl::StatusOr<GraphModule> BuildSingleOp(const GoldenCase& c) {
  GraphBuilder b;
  std::vector<Node*> inputs;
  for (size_t i = 0; i < c.inputs.size(); ++i) inputs.push_back(b.Input(absl::StrCat("input_", i)));
  Node* out = nullptr;
  if (c.form == "module") {
    std::optional<OpKind> kind = FindOpByModuleName(c.op);
    if (!kind) return absl::NotFoundError("unknown module " + c.op);
    Module* m = b.AddModule("m", *kind, c.attrs);
    if (m != nullptr) {
      absl::Status s = testing::LoadState(c.params, *m);
      if (!s.ok()) return s;
    }
    out = b.Call("m", inputs);
  } else {
    std::optional<OpKind> kind = FindOpByFunctionalName(c.op);
    if (!kind) return absl::NotFoundError("unknown function " + c.op);
    out = b.Call(*kind, inputs, c.attrs);
  }
  b.Output(out);
  return b.Build();
}

// Fixtures hold every output as float32; integer outputs (max pooling's indices) are
// compared through their float values (exact below 2^24).
Tensor AsFloat(const Tensor& t) {
  if (t.dtype() != DType::kInt64) return t;
  Tensor f = Tensor::Zeros(t.shape());
  for (int64_t i = 0; i < t.numel(); ++i)
    f.data<float>()[i] = static_cast<float>(t.data<int64_t>()[i]);
  return f;
}

class OpGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OpGoldenTest, MatchesPyTorch) {
  SP_ASSERT_OK_AND_ASSIGN(GoldenCase c, testing::LoadGolden(GetParam()));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, BuildSingleOp(c));
  for (bool reference : {false, true}) {
    SCOPED_TRACE(reference ? "reference kernels" : "fast kernels");
    SP_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> outputs,
                            RunModel(model, c.inputs, {.reference_kernels = reference}));
    ASSERT_EQ(outputs.size(), c.outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      // Tolerance from the fixture: 1e-5/1e-6, looser (1e-4) for conv/LSTM/wide Linear
      // whose summation order differs from PyTorch's.
      EXPECT_TRUE(AllClose(AsFloat(outputs[i]), c.outputs[i], c.rtol, c.atol)) << "output " << i;
    }
  }
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  return std::filesystem::path(info.param).stem().string();
}

INSTANTIATE_TEST_SUITE_P(Ops, OpGoldenTest, ::testing::ValuesIn(testing::GoldenFiles("ops")),
                         CaseName);

TEST(OpGoldenFixtures, CoverEveryRunnableOp) {
  std::set<std::string> covered;
  for (const std::string& path : testing::GoldenFiles("ops")) {
    SP_ASSERT_OK_AND_ASSIGN(GoldenCase c, testing::LoadGolden(path));
    covered.insert(c.form + ":" + c.op);
  }
  for (OpKind kind : AllOps()) {
    if (FindOpDef(kind) == nullptr || kind == OpKind::kGetItem) continue;  // container; tuple-only
    if (!OpModuleName(kind).empty()) {
      EXPECT_TRUE(covered.count("module:" + std::string(OpModuleName(kind)))) << OpModuleName(kind);
    }
    // layer_norm, identity and dropout functional forms are covered by tests/ops unit tests.
    if (!OpFunctionalName(kind).empty() && kind != OpKind::kLayerNorm &&
        kind != OpKind::kIdentity && kind != OpKind::kDropout) {
      EXPECT_TRUE(covered.count("functional:" + std::string(OpFunctionalName(kind))))
          << OpFunctionalName(kind);
    }
  }
}

}  // namespace
}  // namespace structprune
