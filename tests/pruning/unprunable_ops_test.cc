// CheckNoUnprunableOps through Prepare(): training-mode dropout, ONNX training-mode BatchNorm
// and peephole LSTMs are refused by name, and the model stays untouched.
#include "pruning/unprunable_ops.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "graph/builder.h"
#include "ops/conv2d.h"
#include "ops/dropout.h"
#include "ops/linear.h"
#include "ops/lstm.h"
#include "ops/norms.h"
#include "tests/testing/prune_helpers.h"
#include "tests/testing/status_matchers.h"

namespace structprune {
namespace {

using ::structprune::testing::KeepMasksPruner;
using ::structprune::testing::StatusIs;

//   x -> fc1 -> dropout(p=0.5, training) -> fc2
absl::StatusOr<GraphModule> LinearDropoutLinear(bool training) {
  GraphBuilder b(1);
  b.AddModule("fc1", LinearAttrs{.in_features = 4, .out_features = 6});
  b.AddModule("fc2", LinearAttrs{.in_features = 6, .out_features = 2});
  Node* h = b.Call("fc1", b.Input("x"));
  h = b.Call(OpKind::kDropout, h, DropoutAttrs{.p = 0.5, .training = training}.ToAttrs());
  b.Output(b.Call("fc2", h));
  return b.Build();
}

TEST(CheckNoUnprunableOps, RefusesTrainingModeDropoutAndLeavesTheModel) {
  SP_ASSERT_OK_AND_ASSIGN(GraphModule inference, LinearDropoutLinear(false));
  SP_ASSERT_OK(CheckNoUnprunableOps(inference));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, LinearDropoutLinear(true));
  KeepMasksPruner pruner;
  EXPECT_THAT(pruner.Prepare(model),
              StatusIs(absl::StatusCode::kUnimplemented,
                       "cannot prune a model calling 'dropout' (Dropout) with training-mode "
                       "dropout (a random mask)"));
  EXPECT_FALSE(pruner.prepared());
  EXPECT_FALSE(model.root().FindModule("fc1")->IsParametrized());
}

TEST(CheckNoUnprunableOps, RefusesOnnxTrainingModeBatchNorm) {
  GraphBuilder b(1);
  b.AddModule("conv", Conv2dAttrs{.in_channels = 1, .out_channels = 2, .kernel_size = {1, 1}});
  b.AddModule("bn", OpKind::kBatchNorm2d,
              BatchNorm2dAttrs{.num_features = 2, .onnx_training_mode = true}.ToAttrs());
  b.Output(b.Call("bn", b.Call("conv", b.Input("x"))));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  EXPECT_THAT(CheckNoUnprunableOps(model),
              StatusIs(absl::StatusCode::kUnimplemented,
                       "cannot prune a model calling 'bn' (BatchNorm2d) with training mode "
                       "(onnx_training_mode: it returns the running statistics)"));
}

TEST(CheckNoUnprunableOps, RefusesPeepholeLstm) {
  GraphBuilder b(1);
  b.AddModule("lstm", LstmAttrs{.input_size = 3, .hidden_size = 4, .peepholes = true});
  b.Output(b.Call("lstm", b.Input("x")));
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  KeepMasksPruner pruner;
  EXPECT_THAT(pruner.Prepare(model),
              StatusIs(absl::StatusCode::kUnimplemented,
                       "cannot prune a model calling 'lstm' (LSTM) with peepholes (ONNX LSTM's "
                       "P: the peephole weights are not sliced)"));
}

TEST(CheckNoUnprunableOps, RefusesEightBitIntegerAdd) {
  GraphBuilder b(1);
  Node* sum =
      b.Call(OpKind::kAdd, {b.Input("x"), b.Input("y")}, {{"wrap_to", std::string("uint8")}});
  b.Output(sum);
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, b.Build());
  EXPECT_THAT(CheckNoUnprunableOps(model),
              StatusIs(absl::StatusCode::kUnimplemented,
                       "cannot prune a model calling 'add' (add) with wrap_to (8-bit integer "
                       "values, not float32 channels)"));
}

}  // namespace
}  // namespace structprune
