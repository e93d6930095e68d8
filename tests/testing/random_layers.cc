#include "tests/testing/random_layers.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/interpreter.h"
#include "graph/printer.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/norms.h"
#include "ops/pooling.h"
#include "ops/shape_ops.h"
#include "tests/testing/zoo_models.h"

namespace structprune::testing {
namespace {

// Every choice below is drawn in statement order: never two draws in one function call's
// arguments, whose evaluation order C++ leaves open (braced lists are ordered and fine).

using Pair = std::array<int64_t, 2>;

// One spatial dim of a conv or pool window.
struct Window {
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
};

// PyTorch's conv / pooling output size (pooling_output_shape; ceil_mode only for pools).
int64_t OutputSize(int64_t in, const Window& w, bool ceil_mode = false) {
  const int64_t span = in + 2 * w.padding - w.dilation * (w.kernel - 1) - 1;
  int64_t out = (span + (ceil_mode ? w.stride - 1 : 0)) / w.stride + 1;
  if (ceil_mode && (out - 1) * w.stride >= in + w.padding) --out;
  return out;
}

// Shrinks the window until it fits `in` (output size >= 1); pools keep padding <= kernel / 2.
Window Fit(Window w, int64_t in, bool pool) {
  while (in + 2 * w.padding < w.dilation * (w.kernel - 1) + 1) {
    if (w.dilation > 1) {
      w.dilation = 1;
    } else {
      --w.kernel;
    }
    if (pool) w.padding = std::min(w.padding, w.kernel / 2);
  }
  return w;
}

const std::vector<OpKind>& AllActivations() {
  static const auto* kinds = [] {
    auto* out = new std::vector<OpKind>;
    for (OpKind k : AllOps()) {
      if (IsActivation(k)) out->push_back(k);
    }
    return out;
  }();
  return *kinds;
}

int64_t Product(const Shape& s, size_t from) {
  int64_t n = 1;
  for (size_t i = from; i < s.size(); ++i) n *= s[i];
  return n;
}

std::string ArgNames(const std::vector<Node*>& args) {
  return absl::StrJoin(args, ", ", [](std::string* out, const Node* n) {
    absl::StrAppend(out, n == nullptr ? "?" : n->name());
  });
}

// Half the time PyTorch's defaults, else attributes on both sides of the kinks.
AttrMap RandomActivationAttrs(ChoiceSource& c, OpKind kind) {
  if (!c.Bool()) return {};  // PyTorch's defaults
  switch (kind) {
    case OpKind::kLeakyRelu:
      return {{"negative_slope", c.Eighths(-0.5, 0.5)}};
    case OpKind::kHardtanh:
      return {{"min_val", c.Eighths(-2, -0.125)}, {"max_val", c.Eighths(0.125, 2)}};
    case OpKind::kElu:
    case OpKind::kCelu:
      return {{"alpha", c.Eighths(0.25, 2)}};
    case OpKind::kHardshrink:
      return {{"lambd", c.Eighths(0, 1)}};
    case OpKind::kSoftplus:
      return {{"beta", c.Eighths(0.5, 3)}, {"threshold", c.Eighths(1, 20)}};
    case OpKind::kRrelu: {
      const double lower = c.Eighths(0, 0.375);
      return {{"lower", lower}, {"upper", lower + c.Eighths(0, 0.375)}};
    }
    case OpKind::kGelu:
      return {{"approximate", std::string(c.Bool() ? "tanh" : "none")}};
    default:
      return {};
  }
}

// Kernel 1..3, dilation 1 or 2, padding up to the dilated extent, stride 2 on larger inputs.
Window RandomConvWindow(ChoiceSource& c, int64_t in) {
  Window w;
  w.kernel = c.Int(1, 3);
  w.dilation = c.Chance(0.15) ? 2 : 1;
  w.padding = c.Int(0, w.kernel - 1 + w.dilation - 1);
  w.stride = in > 6 && c.Chance(0.4) ? 2 : 1;
  return Fit(w, in, /*pool=*/false);
}

}  // namespace

RandomLayers::RandomLayers(ChoiceSource& choices)
    : c_(choices), b_(static_cast<uint64_t>(choices.Int(0, 1 << 20))) {}

absl::StatusOr<RandomGraph> RandomLayers::Finish(GraphFamily family) {
  std::string description =
      absl::StrCat(GraphFamilyName(family), ", ", absl::StrJoin(lines_, "\n  "), "\n");
  absl::StatusOr<GraphModule> model = b_.Build();
  if (!model.ok()) {
    return absl::InternalError(absl::StrCat(
        "random graph does not build: ", model.status().ToString(), "\n", description));
  }
  if (absl::Status s = Interpreter::Create(*model, inputs_).status(); !s.ok()) {
    return absl::InternalError(absl::StrCat("random graph does not plan: ", s.ToString(), "\n",
                                            description, GraphToString(*model)));
  }
  return RandomGraph{family, *std::move(model), inputs_, std::move(description)};
}

// "<scope>.<stem><n>", or "<scope>.<n>" for a Sequential-like chain (empty stem).
std::string RandomLayers::NewName(absl::string_view stem) {
  const int n = next_++;
  if (scope_.empty()) return absl::StrCat(stem, n);
  return stem.empty() ? absl::StrCat(scope_, ".", n) : absl::StrCat(scope_, ".", stem, n);
}

Value RandomLayers::Described(Value v, const std::string& what) {
  lines_.push_back(absl::StrCat(v.node == nullptr ? "?" : v.node->name(), " = ", what,
                                v.shape.empty() ? "" : " -> " + ShapeToString(v.shape)));
  return v;
}

Value RandomLayers::Input(const std::string& name, Shape shape) {
  inputs_.push_back(shape);
  return Described({b_.Input(name), std::move(shape)}, "input");
}

Value RandomLayers::CallModule(const std::string& fqn, std::vector<Node*> args, Shape shape) {
  const std::string arg_names = ArgNames(args);
  const Module* m = b_.root().FindModule(fqn);
  return Described(
      {b_.Call(fqn, std::move(args)), std::move(shape)},
      absl::StrCat(fqn, " ", m == nullptr ? "?" : ModuleToString(*m), "(", arg_names, ")"));
}
Value RandomLayers::CallModule(const std::string& fqn, const Value& x, Shape shape) {
  return CallModule(fqn, std::vector<Node*>{x.node}, std::move(shape));
}

Value RandomLayers::CallFunction(OpKind kind, std::vector<Node*> args, AttrMap attrs, Shape shape) {
  const std::string what =
      absl::StrCat(OpFunctionalName(kind), AttrMapToString(attrs), "(", ArgNames(args), ")");
  return Described({b_.Call(kind, std::move(args), std::move(attrs)), std::move(shape)}, what);
}

// The model returns the extra outputs gathered on the way and `last`, in a random order.
void RandomLayers::Output(const Value& last) {
  std::vector<Node*> results;
  for (const Value& v : extra_outputs_) results.push_back(v.node);
  results.insert(results.begin() + c_.Int(0, static_cast<int64_t>(results.size())), last.node);
  lines_.push_back(absl::StrCat("return (", ArgNames(results), ")"));
  b_.Output(std::move(results));
}
void RandomLayers::MaybeExtraOutput(const Value& v, double p) {
  if (c_.Chance(p)) extra_outputs_.push_back(v);
}

Value RandomLayers::Linear(const Value& x, int64_t out) {
  Shape shape = x.shape;
  shape.back() = out;
  // Now and then a square Linear called before is called again (tied weights).
  const std::string key = absl::StrCat("fc", x.shape.back(), "x", out);
  if (auto it = square_modules_.find(key); it != square_modules_.end() && c_.Chance(0.1)) {
    return CallModule(it->second, x, shape);
  }
  const std::string fqn = NewName("fc");
  b_.AddModule(
      fqn, LinearAttrs{.in_features = x.shape.back(), .out_features = out, .bias = c_.Chance(0.8)});
  if (x.shape.back() == out) square_modules_[key] = fqn;
  return CallModule(fqn, x, shape);
}

// Any of the 21 activations, in module or functional form. PReLU has one slope or one per
// channel (dim 1), random; F.prelu reads the slopes of a registered, uncalled PReLU module.
Value RandomLayers::Activation(const Value& x) {
  const OpKind kind = c_.Pick(AllActivations());
  const bool functional = c_.Bool();
  AttrMap attrs = RandomActivationAttrs(c_, kind);
  if (kind == OpKind::kPrelu) {
    // Per-channel slopes only where dim 1 is what producers prune: [N, F] and [N, C, H, W]
    // (pattern mode cannot tell PReLU(T) on [N, T, F] from PReLU(F); prune_functions.cc).
    const bool by_channel = x.shape.size() == 2 || x.shape.size() == 4;
    const int64_t n = c_.Bool() && by_channel ? x.shape[1] : 1;
    attrs["num_parameters"] = n;
    const std::string fqn = NewName("prelu");
    if (Module* m = b_.AddModule(fqn, kind, attrs)) {
      m->SetParameter("weight", b_.rng().UniformTensor({n}, -0.5f, 1.0f));
    }
    if (functional) {
      return CallFunction(kind, {x.node, b_.GetAttr(fqn + ".weight")}, {}, x.shape);
    }
    return CallModule(fqn, x, x.shape);
  }
  if (functional) return CallFunction(kind, {x.node}, std::move(attrs), x.shape);
  // One activation module called at several places, as ResNet's self.relu.
  if (!act_modules_.empty() && c_.Chance(0.15))
    return CallModule(c_.Pick(act_modules_), x, x.shape);
  const std::string fqn = NewName("act");
  b_.AddModule(fqn, kind, std::move(attrs));
  act_modules_.push_back(fqn);
  return CallModule(fqn, x, x.shape);
}
Value RandomLayers::MaybeActivation(const Value& x, double p) {
  return c_.Chance(p) ? Activation(x) : x;
}

// Dropout (eval) or Identity, module or functional: the identity to the pruner's patterns.
Value RandomLayers::Passthrough(const Value& x) {
  switch (c_.Int(0, 3)) {
    case 0: {
      const std::string fqn = NewName("drop");
      b_.AddModule(fqn, OpKind::kDropout, {{"p", c_.Eighths(0, 0.875)}});
      return CallModule(fqn, x, x.shape);
    }
    case 1: {
      const std::string fqn = NewName("id");
      b_.AddModule(fqn, OpKind::kIdentity);
      return CallModule(fqn, x, x.shape);
    }
    case 2:
      return CallFunction(OpKind::kDropout, {x.node}, {{"p", 0.5}, {"training", false}}, x.shape);
    default:
      return CallFunction(OpKind::kIdentity, {x.node}, {}, x.shape);
  }
}

// LayerNorm over the last dim, with random affine parameters when it has them; now and then
// F.layer_norm reading the parameters of a registered, uncalled LayerNorm.
Value RandomLayers::LayerNorm(const Value& x) {
  const std::string fqn = NewName("norm");
  const LayerNormAttrs attrs{.normalized_shape = {x.shape.back()},
                             .elementwise_affine = c_.Chance(0.8),
                             .bias = c_.Chance(0.8)};
  const bool functional = c_.Chance(0.2);
  std::vector<Node*> args = {x.node};
  if (Module* m = b_.AddModule(fqn, OpKind::kLayerNorm, attrs.ToAttrs())) {
    // bias only exists with weight, so F.layer_norm's positional (weight, bias) fit.
    for (const char* name : {"weight", "bias"}) {
      if (!m->HasParameter(name)) continue;
      const float lo = name[0] == 'w' ? 0.5f : -0.5f;
      m->SetParameter(name, b_.rng().UniformTensor({x.shape.back()}, lo, lo + 1.0f));
      if (functional) args.push_back(b_.GetAttr(absl::StrCat(fqn, ".", name)));
    }
  }
  if (functional) {
    return CallFunction(OpKind::kLayerNorm, std::move(args),
                        {{"normalized_shape", attrs.normalized_shape}, {"eps", attrs.eps}},
                        x.shape);
  }
  return CallModule(fqn, x, x.shape);
}

Value RandomLayers::BatchNorm(const Value& x) {
  const std::string fqn = NewName("bn");
  AddRandomBatchNorm(b_, fqn, x.shape[1]);
  return CallModule(fqn, x, x.shape);
}

// Conv2d to `out` channels. kSame keeps H and W (stride 1, odd kernel, "same" padding) for
// adds and cats. `groups` 0 draws one: mostly 1, else a common divisor of in and out
// (depthwise when it is in).
Value RandomLayers::Conv(const Value& x, int64_t out, ConvShape shape, int64_t groups) {
  const int64_t in = x.shape[1], H = x.shape[2], W = x.shape[3];
  if (groups == 0) {
    groups = 1;
    std::vector<int64_t> common;
    for (int64_t g = 2; g <= std::min(in, out); ++g) {
      if (in % g == 0 && out % g == 0) common.push_back(g);
    }
    if (!common.empty() && c_.Chance(0.3)) groups = c_.Pick(common);
  }
  Window h, w;
  if (shape == ConvShape::kSame) {
    h.kernel = c_.Chance(0.4) ? 1 : 3;
    h.dilation = h.kernel == 3 && c_.Chance(0.2) ? 2 : 1;
    h.padding = h.dilation * (h.kernel - 1) / 2;
    w = h;
  } else if (shape == ConvShape::kAny) {
    h = RandomConvWindow(c_, H);
    w = c_.Chance(0.7) ? Fit(h, W, /*pool=*/false) : RandomConvWindow(c_, W);
  }
  const Shape out_shape = {x.shape[0], out, OutputSize(H, h), OutputSize(W, w)};
  // A conv keeping its input's shape called before is called again now and then (tied).
  const std::string key = absl::StrCat("conv", ShapeToString(x.shape), groups);
  if (auto it = square_modules_.find(key);
      out == in && it != square_modules_.end() && c_.Chance(0.1)) {
    return CallModule(it->second, x, x.shape);
  }
  const std::string fqn = NewName("conv");
  if (out_shape == x.shape) square_modules_[key] = fqn;
  b_.AddModule(fqn, Conv2dAttrs{.in_channels = in,
                                .out_channels = out,
                                .kernel_size = {h.kernel, w.kernel},
                                .stride = {h.stride, w.stride},
                                .padding = {h.padding, w.padding},
                                .dilation = {h.dilation, w.dilation},
                                .groups = groups,
                                .bias = c_.Chance(0.7)});
  return CallModule(fqn, x, out_shape);
}

// Max/AvgPool2d, module or functional: kernel 1..3, stride given or not, padding up to half
// the kernel, dilation (max), ceil_mode, count_include_pad and divisor_override (avg).
// `same` pools keep H and W (3x3, stride 1, padding 1 or 1x1) for cat branches.
Value RandomLayers::Pool(const Value& x, bool same) {
  const bool is_max = c_.Bool();
  const bool functional = c_.Bool();
  const int64_t H = x.shape[2], W = x.shape[3];
  Window h;
  bool stride_given = true, ceil_mode = false;
  if (same) {
    h.kernel = c_.Chance(0.8) ? 3 : 1;
    h.padding = h.kernel / 2;
  } else {
    h.kernel = c_.Int(1, 3);
    stride_given = c_.Chance(0.6);
    h.stride = stride_given ? c_.Int(1, 2) : h.kernel;
    h.padding = c_.Int(0, h.kernel / 2);
    h.dilation = is_max && c_.Chance(0.15) ? 2 : 1;
    // A dilated window can miss the input entirely and give -inf (PyTorch too): unpadded.
    if (h.dilation > 1) h.padding = 0;
    ceil_mode = c_.Chance(0.35);
  }
  Window w = h;
  if (!same && c_.Chance(0.2)) {
    w.kernel = c_.Int(1, 3);
    w.stride = stride_given ? w.stride : w.kernel;
    w.padding = std::min(w.padding, w.kernel / 2);
  }
  h = Fit(h, H, /*pool=*/true);
  w = Fit(w, W, /*pool=*/true);
  if (!stride_given) {
    // Fit may have shrunk a kernel; the stride PyTorch uses is the kernel size as given.
    h.stride = h.kernel;
    w.stride = w.kernel;
  }
  const Pair kernel = {h.kernel, w.kernel};
  const Pair stride = stride_given ? Pair{h.stride, w.stride} : Pair{0, 0};
  const Pair padding = {h.padding, w.padding};
  AttrMap attrs;
  if (is_max) {
    attrs = MaxPool2dAttrs{.kernel_size = kernel,
                           .stride = stride,
                           .padding = padding,
                           .dilation = {h.dilation, w.dilation},
                           .ceil_mode = ceil_mode}
                .ToAttrs();
  } else {
    const bool count_include_pad = c_.Bool();
    const int64_t divisor = c_.Chance(0.03) ? c_.Int(1, 4) : 0;
    attrs = AvgPool2dAttrs{.kernel_size = kernel,
                           .stride = stride,
                           .padding = padding,
                           .ceil_mode = ceil_mode,
                           .count_include_pad = count_include_pad,
                           .divisor_override = divisor}
                .ToAttrs();
  }
  const Shape shape = {x.shape[0], x.shape[1], OutputSize(H, h, ceil_mode),
                       OutputSize(W, w, ceil_mode)};
  const OpKind kind = is_max ? OpKind::kMaxPool2d : OpKind::kAvgPool2d;
  if (functional) return CallFunction(kind, {x.node}, std::move(attrs), shape);
  const std::string fqn = NewName("pool");
  b_.AddModule(fqn, kind, std::move(attrs));
  return CallModule(fqn, x, shape);
}

// AdaptiveAvg/MaxPool2d, module or functional: global, an output size dividing the input
// (ONNX can express it), or any size up to one past the input (overlapping windows).
Value RandomLayers::AdaptivePool(const Value& x) {
  const bool is_max = c_.Bool();
  const bool functional = c_.Bool();
  Pair out = {1, 1};
  const int64_t mode = c_.Int(0, 3);
  for (int i = 0; i < 2; ++i) {
    const int64_t in = x.shape[2 + i];
    if (mode == 1 || mode == 2) {
      std::vector<int64_t> divisors;
      for (int64_t d = 1; d <= std::min<int64_t>(in, 3); ++d) {
        if (in % d == 0) divisors.push_back(d);
      }
      out[i] = c_.Pick(divisors);
    } else if (mode == 3) {
      out[i] = c_.Int(1, std::min<int64_t>(in + 1, 3));
    }
  }
  return AdaptivePoolTo(x, out, is_max, functional);
}
Value RandomLayers::AdaptivePoolTo(const Value& x, const Pair& out, bool is_max, bool functional) {
  const OpKind kind = is_max ? OpKind::kAdaptiveMaxPool2d : OpKind::kAdaptiveAvgPool2d;
  AttrMap attrs = AdaptivePool2dAttrs{.output_size = out}.ToAttrs();
  const Shape shape = {x.shape[0], x.shape[1], out[0], out[1]};
  if (functional) return CallFunction(kind, {x.node}, std::move(attrs), shape);
  const std::string fqn = NewName("pool");
  b_.AddModule(fqn, kind, std::move(attrs));
  return CallModule(fqn, x, shape);
}

// nn.Flatten() or torch.flatten(x, 1): [N, C, H, W] -> [N, C*H*W].
Value RandomLayers::Flatten(const Value& x) {
  const Shape shape = {x.shape[0], Product(x.shape, 1)};
  if (c_.Bool()) {
    return CallFunction(OpKind::kFlatten, {x.node}, {{"start_dim", int64_t{1}}}, shape);
  }
  const std::string fqn = NewName("flatten");
  b_.AddModule(fqn, OpKind::kFlatten, FlattenAttrs{}.ToAttrs());
  return CallModule(fqn, x, shape);
}

Value RandomLayers::Add(const Value& a, const Value& b) {
  if (c_.Bool()) return CallFunction(OpKind::kAdd, {a.node, b.node}, {}, a.shape);
  return CallFunction(OpKind::kAdd, {b.node, a.node}, {}, a.shape);
}

// torch.cat along `dim` (>= 0), written as dim or dim - rank.
Value RandomLayers::Cat(const std::vector<Value>& parts, int64_t dim) {
  Shape shape = parts[0].shape;
  shape[dim] = 0;
  std::vector<Node*> nodes;
  for (const Value& p : parts) {
    shape[dim] += p.shape[dim];
    nodes.push_back(p.node);
  }
  const int64_t written = c_.Bool() ? dim : dim - static_cast<int64_t>(shape.size());
  return CallFunction(OpKind::kCat, std::move(nodes), {{"dim", written}}, shape);
}

Value RandomLayers::MaybeBatchNorm(const Value& x, double p) {
  return c_.Chance(p) ? BatchNorm(x) : x;
}

Value RandomLayers::GetItem(const Value& x, int64_t index, Shape shape) {
  return CallFunction(OpKind::kGetItem, {x.node}, {{"index", index}}, std::move(shape));
}

}  // namespace structprune::testing
