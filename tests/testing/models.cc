#include "tests/testing/models.h"

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "graph/builder.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/lstm.h"
#include "ops/norms.h"
#include "ops/pooling.h"
#include "ops/shape_ops.h"

namespace structprune::testing {
namespace {

LinearAttrs Linear(int64_t in, int64_t out, bool bias) {
  return {.in_features = in, .out_features = out, .bias = bias};
}

// The generator's conv3(i, o, bias, padding): Conv2d(i, o, kernel_size=3, stride=1, padding).
Conv2dAttrs Conv3(int64_t in, int64_t out, bool bias, int64_t padding = 0) {
  return {.in_channels = in,
          .out_channels = out,
          .kernel_size = {3, 3},
          .stride = {1, 1},
          .padding = {padding, padding},
          .bias = bias};
}

// MaxPool2d / F.max_pool2d and AvgPool2d / F.avg_pool2d (kernel_size=2, stride=2, padding=1),
// the only pool geometry of the seed networks.
AttrMap MaxPool2x2Pad1() {
  return MaxPool2dAttrs{.kernel_size = {2, 2}, .stride = {2, 2}, .padding = {1, 1}}.ToAttrs();
}
AttrMap AvgPool2x2Pad1() {
  return AvgPool2dAttrs{.kernel_size = {2, 2}, .stride = {2, 2}, .padding = {1, 1}}.ToAttrs();
}

// The generator's `w = lambda c: c // width_divisor`.
class Widths {
 public:
  static absl::StatusOr<Widths> Make(int64_t width_divisor) {
    if (width_divisor < 1 || width_divisor > 32) {
      return absl::InvalidArgumentError(
          absl::StrCat("width_divisor must be in [1, 32] (every channel count stays >= 1), got ",
                       width_divisor));
    }
    return Widths(width_divisor);
  }
  int64_t operator()(int64_t channels) const { return channels / divisor_; }

 private:
  explicit Widths(int64_t divisor) : divisor_(divisor) {}
  int64_t divisor_;
};

// seq.0 .. seq.5 of Conv2dPoolFlatten(Functional): the generator's _pool_flatten_trunk().
void AddPoolFlattenTrunk(GraphBuilder& b) {
  b.AddModule("seq.0", Conv3(1, 3, true, 1));
  b.AddModule("seq.1", OpKind::kMaxPool2d, MaxPool2x2Pad1());
  b.AddModule("seq.2", OpKind::kRelu);
  b.AddModule("seq.3", Conv3(3, 5, true, 1));
  b.AddModule("seq.4", OpKind::kTanh);
  b.AddModule("seq.5", OpKind::kAvgPool2d, AvgPool2x2Pad1());
}

// Calls `fqns` in order, each on the previous result.
Node* Chain(GraphBuilder& b, Node* x, std::initializer_list<const char*> fqns) {
  for (const char* fqn : fqns) x = b.Call(fqn, x);
  return x;
}

absl::Status CheckLstmDims(int64_t input_dim, int64_t hidden_dim, int64_t output_dim,
                           int64_t num_layers) {
  if (input_dim < 1 || hidden_dim < 1 || output_dim < 1 || num_layers < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("input_dim, hidden_dim, output_dim and num_layers must be positive, got (",
                     input_dim, ", ", hidden_dim, ", ", output_dim, ", ", num_layers, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GraphModule> SimpleLinear(uint64_t seed) {
  GraphBuilder b(seed);
  b.AddModule("seq.0", Linear(7, 5, false));
  b.AddModule("seq.1", Linear(5, 6, false));
  b.AddModule("seq.2", Linear(6, 4, false));
  b.AddModule("linear1", Linear(4, 4, false));
  b.AddModule("linear2", Linear(4, 10, false));
  Node* x = b.Input("x");
  b.Output(Chain(b, x, {"seq.0", "seq.1", "seq.2", "linear1", "linear2"}));
  return b.Build();
}

absl::StatusOr<GraphModule> LinearBias(uint64_t seed) {
  GraphBuilder b(seed);
  b.AddModule("seq.0", Linear(7, 5, true));
  b.AddModule("seq.1", Linear(5, 6, false));
  b.AddModule("seq.2", Linear(6, 3, true));
  b.AddModule("seq.3", Linear(3, 3, true));
  b.AddModule("seq.4", Linear(3, 10, false));
  Node* x = b.Input("x");
  b.Output(Chain(b, x, {"seq.0", "seq.1", "seq.2", "seq.3", "seq.4"}));
  return b.Build();
}

absl::StatusOr<GraphModule> LinearActivation(uint64_t seed) {
  GraphBuilder b(seed);
  b.AddModule("seq.0", Linear(7, 5, true));
  b.AddModule("seq.1", OpKind::kRelu);
  b.AddModule("seq.2", Linear(5, 6, false));
  b.AddModule("seq.3", OpKind::kTanh);
  b.AddModule("seq.4", Linear(6, 4, true));
  b.AddModule("linear1", Linear(4, 3, true));
  b.AddModule("act1", OpKind::kRelu);
  b.AddModule("linear2", Linear(3, 10, false));
  b.AddModule("act2", OpKind::kTanh);
  Node* x = b.Input("x");
  b.Output(Chain(
      b, x, {"seq.0", "seq.1", "seq.2", "seq.3", "seq.4", "linear1", "act1", "linear2", "act2"}));
  return b.Build();
}

absl::StatusOr<GraphModule> LinearActivationFunctional(uint64_t seed) {
  GraphBuilder b(seed);
  b.AddModule("seq.0", Linear(7, 5, true));
  b.AddModule("seq.1", OpKind::kRelu);
  b.AddModule("seq.2", Linear(5, 6, false));
  b.AddModule("seq.3", OpKind::kRelu);
  b.AddModule("seq.4", Linear(6, 4, true));
  b.AddModule("linear1", Linear(4, 3, true));
  b.AddModule("linear2", Linear(3, 8, false));
  b.AddModule("linear3", Linear(8, 10, false));
  b.AddModule("act1", OpKind::kRelu);  // registered, never called (no graph node)
  Node* x = b.Input("x");
  x = Chain(b, x, {"seq.0", "seq.1", "seq.2", "seq.3", "seq.4", "linear1"});
  x = b.Call(OpKind::kRelu, x);
  x = b.Call(OpKind::kRelu, b.Call("linear2", x));
  x = b.Call(OpKind::kRelu, b.Call("linear3", x));
  b.Output(x);
  return b.Build();
}

absl::StatusOr<GraphModule> SimpleConv2d(int width_divisor, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(const Widths w, Widths::Make(width_divisor));
  GraphBuilder b(seed);
  b.AddModule("seq.0", Conv3(1, w(32), false));
  b.AddModule("seq.1", Conv3(w(32), w(64), false));
  b.AddModule("conv2d1", Conv3(w(64), w(48), false));
  b.AddModule("conv2d2", Conv3(w(48), w(52), false));
  Node* x = b.Input("x");
  b.Output(Chain(b, x, {"seq.0", "seq.1", "conv2d1", "conv2d2"}));
  return b.Build();
}

absl::StatusOr<GraphModule> Conv2dBias(int width_divisor, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(const Widths w, Widths::Make(width_divisor));
  GraphBuilder b(seed);
  b.AddModule("seq.0", Conv3(1, w(32), true));
  b.AddModule("seq.1", Conv3(w(32), w(32), true));
  b.AddModule("seq.2", Conv3(w(32), w(64), false));
  b.AddModule("conv2d1", Conv3(w(64), w(48), true));
  b.AddModule("conv2d2", Conv3(w(48), w(52), false));
  Node* x = b.Input("x");
  b.Output(Chain(b, x, {"seq.0", "seq.1", "seq.2", "conv2d1", "conv2d2"}));
  return b.Build();
}

absl::StatusOr<GraphModule> Conv2dActivation(int width_divisor, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(const Widths w, Widths::Make(width_divisor));
  GraphBuilder b(seed);
  b.AddModule("seq.0", Conv3(1, w(32), true));
  b.AddModule("seq.1", OpKind::kRelu);
  b.AddModule("seq.2", Conv3(w(32), w(64), true));
  b.AddModule("seq.3", OpKind::kTanh);
  b.AddModule("seq.4", Conv3(w(64), w(64), false));
  b.AddModule("seq.5", OpKind::kRelu);
  b.AddModule("conv2d1", Conv3(w(64), w(48), false));
  b.AddModule("conv2d2", Conv3(w(48), w(52), true));
  Node* x = b.Input("x");
  x = Chain(b, x, {"seq.0", "seq.1", "seq.2", "seq.3", "seq.4", "seq.5", "conv2d1"});
  x = b.Call(OpKind::kRelu, x);
  // F.hardtanh with its defaults (min_val=-1.0, max_val=1.0): no keyword arguments.
  x = b.Call(OpKind::kHardtanh, b.Call("conv2d2", x));
  b.Output(x);
  return b.Build();
}

absl::StatusOr<GraphModule> Conv2dPadBias(int width_divisor, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(const Widths w, Widths::Make(width_divisor));
  GraphBuilder b(seed);
  b.AddModule("seq.0", Conv3(1, w(32), true, 1));
  b.AddModule("seq.1", OpKind::kRelu);
  b.AddModule("seq.2", Conv3(w(32), w(32), false));
  b.AddModule("seq.3", OpKind::kRelu);
  b.AddModule("seq.4", Conv3(w(32), w(32), true, 1));
  b.AddModule("seq.5", OpKind::kRelu);
  b.AddModule("seq.6", Conv3(w(32), w(32), true, 1));
  b.AddModule("seq.7", OpKind::kRelu);
  b.AddModule("seq.8", Conv3(w(32), w(64), true));
  b.AddModule("seq.9", OpKind::kTanh);
  b.AddModule("conv2d1", Conv3(w(64), w(48), true, 1));
  b.AddModule("act1", OpKind::kRelu);
  b.AddModule("conv2d2", Conv3(w(48), w(52), true, 1));
  b.AddModule("act2", OpKind::kTanh);
  Node* x = b.Input("x");
  b.Output(Chain(b, x,
                 {"seq.0", "seq.1", "seq.2", "seq.3", "seq.4", "seq.5", "seq.6", "seq.7", "seq.8",
                  "seq.9", "conv2d1", "act1", "conv2d2", "act2"}));
  return b.Build();
}

absl::StatusOr<GraphModule> Conv2dPool(int width_divisor, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(const Widths w, Widths::Make(width_divisor));
  GraphBuilder b(seed);
  b.AddModule("seq.0", Conv3(1, w(32), true, 1));
  b.AddModule("seq.1", OpKind::kMaxPool2d, MaxPool2x2Pad1());
  b.AddModule("seq.2", OpKind::kRelu);
  b.AddModule("seq.3", Conv3(w(32), w(64), true, 1));
  b.AddModule("seq.4", OpKind::kTanh);
  b.AddModule("seq.5", OpKind::kAvgPool2d, AvgPool2x2Pad1());
  b.AddModule("conv2d1", Conv3(w(64), w(48), true, 1));
  b.AddModule("maxpool", OpKind::kMaxPool2d, MaxPool2x2Pad1());
  b.AddModule("af1", OpKind::kRelu);
  b.AddModule("conv2d2", Conv3(w(48), w(52), true, 1));
  b.AddModule("conv2d3", Conv3(w(52), w(52), true, 1));
  Node* x = b.Input("x");
  x = Chain(b, x,
            {"seq.0", "seq.1", "seq.2", "seq.3", "seq.4", "seq.5", "conv2d1", "maxpool", "af1",
             "conv2d2"});
  x = b.Call(OpKind::kAvgPool2d, x, AvgPool2x2Pad1());
  x = b.Call(OpKind::kRelu, x);
  b.Output(b.Call("conv2d3", x));
  return b.Build();
}

absl::StatusOr<GraphModule> Conv2dPoolFlattenFunctional(uint64_t seed) {
  GraphBuilder b(seed);
  AddPoolFlattenTrunk(b);
  b.AddModule("conv2d1", Conv3(5, 7, true, 1));
  b.AddModule("af1", OpKind::kRelu);
  b.AddModule("conv2d2", Conv3(7, 11, true, 1));
  b.AddModule("avg_pool", OpKind::kAdaptiveAvgPool2d,
              AdaptivePool2dAttrs{.output_size = {1, 1}}.ToAttrs());
  b.AddModule("fc", Linear(11, 13, true));
  Node* x = b.Input("x");
  x = Chain(b, x, {"seq.0", "seq.1", "seq.2", "seq.3", "seq.4", "seq.5", "conv2d1"});
  x = b.Call(OpKind::kMaxPool2d, x, MaxPool2x2Pad1());
  x = Chain(b, x, {"af1", "conv2d2", "avg_pool"});
  x = b.Flatten(x, 1);  // torch.flatten(x, 1)
  b.Output(b.Call("fc", x));
  return b.Build();
}

absl::StatusOr<GraphModule> Conv2dPoolFlatten(uint64_t seed) {
  GraphBuilder b(seed);
  AddPoolFlattenTrunk(b);
  b.AddModule("conv2d1", Conv3(5, 7, true, 1));
  b.AddModule("af1", OpKind::kRelu);
  b.AddModule("conv2d2", Conv3(7, 11, true, 1));
  b.AddModule("avg_pool", OpKind::kAdaptiveAvgPool2d,
              AdaptivePool2dAttrs{.output_size = {2, 2}}.ToAttrs());
  b.AddModule("flatten", OpKind::kFlatten, FlattenAttrs{}.ToAttrs());  // nn.Flatten(): 1, -1
  b.AddModule("fc", Linear(44, 13, true));  // 44 = 11 channels * 2 * 2
  Node* x = b.Input("x");
  x = Chain(b, x, {"seq.0", "seq.1", "seq.2", "seq.3", "seq.4", "seq.5", "conv2d1"});
  x = b.Call(OpKind::kMaxPool2d, x, MaxPool2x2Pad1());
  b.Output(Chain(b, x, {"af1", "conv2d2", "avg_pool", "flatten", "fc"}));
  return b.Build();
}

absl::StatusOr<GraphModule> LSTMLinearModel(int64_t input_dim, int64_t hidden_dim,
                                            int64_t output_dim, int64_t num_layers, uint64_t seed) {
  SP_RETURN_IF_ERROR(CheckLstmDims(input_dim, hidden_dim, output_dim, num_layers));
  GraphBuilder b(seed);
  b.AddModule(
      "lstm",
      LstmAttrs{.input_size = input_dim, .hidden_size = hidden_dim, .num_layers = num_layers});
  b.AddModule("linear", Linear(hidden_dim, output_dim, true));
  Node* x = b.Input("x");
  Node* output = b.GetItem(b.Call("lstm", x), 0);  // output, _ = self.lstm(x)
  Node* decoded = b.Call("linear", output);
  b.Output({decoded, output});
  return b.Build();
}

absl::StatusOr<GraphModule> LSTMLayerNormLinearModel(int64_t input_dim, int64_t hidden_dim,
                                                     int64_t output_dim, int64_t num_layers,
                                                     uint64_t seed) {
  SP_RETURN_IF_ERROR(CheckLstmDims(input_dim, hidden_dim, output_dim, num_layers));
  GraphBuilder b(seed);
  b.AddModule(
      "lstm",
      LstmAttrs{.input_size = input_dim, .hidden_size = hidden_dim, .num_layers = num_layers});
  b.AddModule("norm", OpKind::kLayerNorm,
              LayerNormAttrs{.normalized_shape = {hidden_dim}}.ToAttrs());
  b.AddModule("linear", Linear(hidden_dim, output_dim, true));
  Node* x = b.Input("x");
  Node* lstm = b.Call("lstm", x);  // x, state = self.lstm(x)
  Node* out = b.GetItem(lstm, 0);
  Node* state = b.GetItem(lstm, 1);
  out = b.Call("linear", b.Call("norm", out));
  b.Output({out, state});
  return b.Build();
}

namespace {

// Reads constructor arguments and rejects any the model does not take.
class ArgReader {
 public:
  ArgReader(const std::string& model, const AttrMap& args) : model_(model), args_(args) {}

  absl::StatusOr<int64_t> Int(const std::string& name, std::optional<int64_t> default_value) {
    used_.insert(name);
    if (!args_.contains(name)) {
      if (default_value.has_value()) return *default_value;
      return absl::InvalidArgumentError(
          absl::StrCat(model_, ": missing constructor argument '", name, "'"));
    }
    absl::StatusOr<int64_t> v = GetIntAttr(args_, name, 0);
    if (!v.ok())
      return absl::InvalidArgumentError(absl::StrCat(model_, ": ", v.status().message()));
    return v;
  }

  absl::Status CheckAllUsed() const {
    for (const auto& [name, value] : args_) {
      if (!used_.contains(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(model_, ": unknown constructor argument '", name, "'"));
      }
    }
    return absl::OkStatus();
  }

 private:
  std::string model_;
  const AttrMap& args_;
  std::set<std::string> used_;
};

using NoArgsBuild = absl::StatusOr<GraphModule> (*)(uint64_t);
using WideBuild = absl::StatusOr<GraphModule> (*)(int, uint64_t);
using LstmBuild = absl::StatusOr<GraphModule> (*)(int64_t, int64_t, int64_t, int64_t, uint64_t);

// One row per fixture `model` name; exactly one builder is set.
struct SeedModel {
  const char* name;
  NoArgsBuild no_args = nullptr;
  WideBuild wide = nullptr;  // takes width_divisor
  LstmBuild lstm = nullptr;  // takes input_dim, hidden_dim, output_dim, num_layers
  // "_<N>layer" fixture names: the layer count, and the goldens' dims (8, 8, 4) as defaults.
  std::optional<int64_t> lstm_layers = std::nullopt;
};

constexpr SeedModel kSeedModels[] = {
    {.name = "SimpleLinear", .no_args = &SimpleLinear},
    {.name = "LinearBias", .no_args = &LinearBias},
    {.name = "LinearActivation", .no_args = &LinearActivation},
    {.name = "LinearActivationFunctional", .no_args = &LinearActivationFunctional},
    {.name = "SimpleConv2d", .wide = &SimpleConv2d},
    {.name = "Conv2dBias", .wide = &Conv2dBias},
    {.name = "Conv2dActivation", .wide = &Conv2dActivation},
    {.name = "Conv2dPadBias", .wide = &Conv2dPadBias},
    {.name = "Conv2dPool", .wide = &Conv2dPool},
    {.name = "Conv2dPoolFlattenFunctional", .no_args = &Conv2dPoolFlattenFunctional},
    {.name = "Conv2dPoolFlatten", .no_args = &Conv2dPoolFlatten},
    {.name = "LSTMLinearModel", .lstm = &LSTMLinearModel},
    {.name = "LSTMLinearModel_1layer", .lstm = &LSTMLinearModel, .lstm_layers = 1},
    {.name = "LSTMLinearModel_2layer", .lstm = &LSTMLinearModel, .lstm_layers = 2},
    {.name = "LSTMLayerNormLinearModel", .lstm = &LSTMLayerNormLinearModel},
    {.name = "LSTMLayerNormLinearModel_1layer",
     .lstm = &LSTMLayerNormLinearModel,
     .lstm_layers = 1},
    {.name = "LSTMLayerNormLinearModel_2layer",
     .lstm = &LSTMLayerNormLinearModel,
     .lstm_layers = 2},
};

absl::StatusOr<GraphModule> BuildWithArgs(const SeedModel& m, ArgReader& args, uint64_t seed) {
  if (m.no_args != nullptr) {
    SP_RETURN_IF_ERROR(args.CheckAllUsed());
    return m.no_args(seed);
  }
  if (m.wide != nullptr) {
    SP_ASSIGN_OR_RETURN(int64_t divisor, args.Int("width_divisor", 1));
    SP_RETURN_IF_ERROR(args.CheckAllUsed());
    // Range-checked before the conversion to int.
    SP_RETURN_IF_ERROR(Widths::Make(divisor).status());
    return m.wide(static_cast<int>(divisor), seed);
  }
  auto dim = [&](int64_t golden) {
    return m.lstm_layers ? std::optional<int64_t>(golden) : std::nullopt;
  };
  SP_ASSIGN_OR_RETURN(int64_t input_dim, args.Int("input_dim", dim(8)));
  SP_ASSIGN_OR_RETURN(int64_t hidden_dim, args.Int("hidden_dim", dim(8)));
  SP_ASSIGN_OR_RETURN(int64_t output_dim, args.Int("output_dim", dim(4)));
  SP_ASSIGN_OR_RETURN(int64_t num_layers, args.Int("num_layers", m.lstm_layers));
  SP_RETURN_IF_ERROR(args.CheckAllUsed());
  if (m.lstm_layers && num_layers != *m.lstm_layers) {
    return absl::InvalidArgumentError(absl::StrCat(m.name, ": num_layers=", num_layers,
                                                   " contradicts the name's ", *m.lstm_layers));
  }
  return m.lstm(input_dim, hidden_dim, output_dim, num_layers, seed);
}

}  // namespace

absl::StatusOr<GraphModule> BuildSeedModel(const std::string& name, const AttrMap& args,
                                           uint64_t seed) {
  std::vector<std::string> known;
  for (const SeedModel& m : kSeedModels) {
    if (m.name == name) {
      ArgReader reader(name, args);
      return BuildWithArgs(m, reader, seed);
    }
    known.push_back(m.name);
  }
  return absl::NotFoundError(
      absl::StrCat("no seed model named '", name, "'; known: ", absl::StrJoin(known, ", ")));
}

}  // namespace structprune::testing
