#include "tests/testing/zoo_models.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "graph/builder.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/norms.h"
#include "ops/pooling.h"

namespace structprune::testing {

void AddRandomBatchNorm(GraphBuilder& b, const std::string& fqn, int64_t c, double eps) {
  Module* m = b.AddModule(fqn, OpKind::kBatchNorm2d, BatchNorm2dAttrs{.num_features = c, .eps = eps}.ToAttrs());
  if (m == nullptr) return;  // the builder recorded the error
  m->SetParameter("weight", b.rng().UniformTensor({c}, 0.5f, 1.5f));
  m->SetParameter("bias", b.rng().UniformTensor({c}, -0.5f, 0.5f));
  m->SetBuffer("running_mean", b.rng().UniformTensor({c}, -0.3f, 0.3f));
  m->SetBuffer("running_var", b.rng().UniformTensor({c}, 0.5f, 2.0f));
}

namespace {

// c / width_divisor, checked once against the network's narrowest layer.
class Widths {
 public:
  static absl::StatusOr<Widths> Make(const char* network, int width_divisor, int64_t narrowest, int num_classes) {
    if (width_divisor < 1 || narrowest / width_divisor < 1) {
      return absl::InvalidArgumentError(absl::StrCat(network, ": width_divisor must be in [1, ", narrowest,
                                                     "] (every channel count stays >= 1), got ", width_divisor));
    }
    if (num_classes < 1) {
      return absl::InvalidArgumentError(absl::StrCat(network, ": num_classes must be >= 1, got ", num_classes));
    }
    return Widths(width_divisor);
  }
  int64_t operator()(int64_t channels) const { return channels / divisor_; }

 private:
  explicit Widths(int64_t divisor) : divisor_(divisor) {}
  int64_t divisor_;
};

Conv2dAttrs Conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t padding = 0, bool bias = false,
                 int64_t groups = 1) {
  return {.in_channels = in,
          .out_channels = out,
          .kernel_size = {k, k},
          .stride = {stride, stride},
          .padding = {padding, padding},
          .groups = groups,
          .bias = bias};
}

AttrMap MaxPool(int64_t k, int64_t stride, int64_t padding, bool ceil_mode = false) {
  return MaxPool2dAttrs{.kernel_size = {k, k}, .stride = {stride, stride}, .padding = {padding, padding},
                        .ceil_mode = ceil_mode}
      .ToAttrs();
}

AttrMap Adaptive(int64_t size) { return AdaptivePool2dAttrs{.output_size = {size, size}}.ToAttrs(); }

Node* Chain(GraphBuilder& b, Node* x, std::initializer_list<std::string> fqns) {
  for (const std::string& fqn : fqns) x = b.Call(fqn, x);
  return x;
}

// torchvision's BasicBlock(inplanes, planes, stride) at `p` ("layer2.0").
Node* BasicBlock(GraphBuilder& b, const std::string& p, Node* x, int64_t inplanes, int64_t planes, int64_t stride) {
  b.AddModule(p + ".conv1", Conv(inplanes, planes, 3, stride, 1));
  AddRandomBatchNorm(b, p + ".bn1", planes);
  b.AddModule(p + ".relu", OpKind::kRelu);
  b.AddModule(p + ".conv2", Conv(planes, planes, 3, 1, 1));
  AddRandomBatchNorm(b, p + ".bn2", planes);
  const bool downsample = stride != 1 || inplanes != planes;
  if (downsample) {
    b.AddModule(p + ".downsample.0", Conv(inplanes, planes, 1, stride));
    AddRandomBatchNorm(b, p + ".downsample.1", planes);
  }
  Node* out = Chain(b, x, {p + ".conv1", p + ".bn1", p + ".relu", p + ".conv2", p + ".bn2"});
  Node* identity = downsample ? Chain(b, x, {p + ".downsample.0", p + ".downsample.1"}) : x;
  return b.Call(p + ".relu", b.Add(out, identity));
}

// avgpool AdaptiveAvgPool2d((1, 1)) -> torch.flatten(x, 1) -> fc.
Node* PoolFlattenFc(GraphBuilder& b, Node* x, int64_t channels, int num_classes) {
  b.AddModule("avgpool", OpKind::kAdaptiveAvgPool2d, Adaptive(1));
  b.AddModule("fc", LinearAttrs{.in_features = channels, .out_features = num_classes});
  return b.Call("fc", b.Flatten(b.Call("avgpool", x), 1));
}

// torchvision's Conv2dNormActivation(in, out, k, stride, groups, ReLU6) at `p`: p.0 conv
// (padding (k - 1) / 2, no bias), p.1 BN, p.2 ReLU6.
Node* ConvBnRelu6(GraphBuilder& b, const std::string& p, Node* x, int64_t in, int64_t out, int64_t k,
                  int64_t stride = 1, int64_t groups = 1) {
  b.AddModule(p + ".0", Conv(in, out, k, stride, (k - 1) / 2, false, groups));
  AddRandomBatchNorm(b, p + ".1", out);
  b.AddModule(p + ".2", OpKind::kRelu6);
  return Chain(b, x, {p + ".0", p + ".1", p + ".2"});
}

// GoogLeNet's BasicConv2d at `p`: p.conv (no bias), p.bn (eps 1e-3), F.relu.
Node* BasicConv2d(GraphBuilder& b, const std::string& p, Node* x, int64_t in, int64_t out, int64_t k) {
  b.AddModule(p + ".conv", Conv(in, out, k, 1, k / 2));
  AddRandomBatchNorm(b, p + ".bn", out, 1e-3);
  return b.Call(OpKind::kRelu, Chain(b, x, {p + ".conv", p + ".bn"}));
}

}  // namespace

absl::StatusOr<GraphModule> ResNet18(int width_divisor, int num_classes, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(Widths w, Widths::Make("ResNet18", width_divisor, 64, num_classes));
  GraphBuilder b(seed);
  b.AddModule("conv1", Conv(3, w(64), 7, 2, 3));
  AddRandomBatchNorm(b, "bn1", w(64));
  b.AddModule("relu", OpKind::kRelu);
  b.AddModule("maxpool", OpKind::kMaxPool2d, MaxPool(3, 2, 1));
  Node* x = Chain(b, b.Input("x"), {"conv1", "bn1", "relu", "maxpool"});
  int64_t inplanes = w(64);
  const int64_t planes[] = {64, 128, 256, 512};
  for (int layer = 0; layer < 4; ++layer) {
    for (int block = 0; block < 2; ++block) {
      const int64_t stride = layer > 0 && block == 0 ? 2 : 1;
      x = BasicBlock(b, absl::StrCat("layer", layer + 1, ".", block), x, inplanes, w(planes[layer]), stride);
      inplanes = w(planes[layer]);
    }
  }
  b.Output(PoolFlattenFc(b, x, inplanes, num_classes));
  return b.Build();
}

absl::StatusOr<GraphModule> ResNetBottleneckBlock(int width_divisor, int num_classes, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(Widths w, Widths::Make("ResNetBottleneckBlock", width_divisor, 128, num_classes));
  const int64_t inplanes = w(256), width = w(128), out = w(128) * 4;
  GraphBuilder b(seed);
  b.AddModule("conv1", Conv(3, inplanes, 3, 1, 1));
  AddRandomBatchNorm(b, "bn1", inplanes);
  b.AddModule("relu", OpKind::kRelu);
  Node* x = Chain(b, b.Input("x"), {"conv1", "bn1", "relu"});
  const std::string p = "layer2.0";
  b.AddModule(p + ".conv1", Conv(inplanes, width, 1));
  AddRandomBatchNorm(b, p + ".bn1", width);
  b.AddModule(p + ".conv2", Conv(width, width, 3, 2, 1));
  AddRandomBatchNorm(b, p + ".bn2", width);
  b.AddModule(p + ".conv3", Conv(width, out, 1));
  AddRandomBatchNorm(b, p + ".bn3", out);
  b.AddModule(p + ".relu", OpKind::kRelu);
  b.AddModule(p + ".downsample.0", Conv(inplanes, out, 1, 2));
  AddRandomBatchNorm(b, p + ".downsample.1", out);
  Node* y = Chain(b, x, {p + ".conv1", p + ".bn1", p + ".relu", p + ".conv2", p + ".bn2", p + ".relu",
                         p + ".conv3", p + ".bn3"});
  Node* identity = Chain(b, x, {p + ".downsample.0", p + ".downsample.1"});
  y = b.Call(p + ".relu", b.Add(y, identity));
  b.Output(PoolFlattenFc(b, y, out, num_classes));
  return b.Build();
}

absl::StatusOr<GraphModule> MobileNetV2(int width_divisor, int num_classes, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(Widths w, Widths::Make("MobileNetV2", width_divisor, 16, num_classes));
  struct Setting {
    int64_t t, c, n, s;
  };
  const Setting settings[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                              {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  GraphBuilder b(seed);
  int64_t inp = w(32);
  Node* x = ConvBnRelu6(b, "features.0", b.Input("x"), 3, inp, 3, 2);
  int index = 1;
  for (const Setting& s : settings) {
    const int64_t oup = w(s.c);
    for (int64_t i = 0; i < s.n; ++i, ++index) {
      const int64_t stride = i == 0 ? s.s : 1;
      const int64_t hidden = inp * s.t;  // int(round(inp * expand_ratio)) for integer t
      const std::string p = absl::StrCat("features.", index, ".conv");
      int layer = 0;
      Node* y = x;
      if (s.t != 1) y = ConvBnRelu6(b, absl::StrCat(p, ".", layer++), y, inp, hidden, 1);
      y = ConvBnRelu6(b, absl::StrCat(p, ".", layer++), y, hidden, hidden, 3, stride, hidden);
      const std::string project = absl::StrCat(p, ".", layer++);
      const std::string bn = absl::StrCat(p, ".", layer++);
      b.AddModule(project, Conv(hidden, oup, 1));
      AddRandomBatchNorm(b, bn, oup);
      y = Chain(b, y, {project, bn});
      x = stride == 1 && inp == oup ? b.Add(x, y) : y;
      inp = oup;
    }
  }
  const int64_t last = w(1280);
  x = ConvBnRelu6(b, "features.18", x, inp, last, 1);
  x = b.Flatten(b.Call(OpKind::kAdaptiveAvgPool2d, x, Adaptive(1)), 1);
  b.AddModule("classifier.0", OpKind::kDropout, {{"p", 0.2}});
  b.AddModule("classifier.1", LinearAttrs{.in_features = last, .out_features = num_classes});
  b.Output(Chain(b, x, {"classifier.0", "classifier.1"}));
  return b.Build();
}

absl::StatusOr<GraphModule> VGG11BN(int width_divisor, int num_classes, int hidden, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(Widths w, Widths::Make("VGG11BN", width_divisor, 64, num_classes));
  if (hidden < 1) return absl::InvalidArgumentError(absl::StrCat("VGG11BN: hidden must be >= 1, got ", hidden));
  constexpr int64_t kM = -1;
  const int64_t cfg[] = {64, kM, 128, kM, 256, 256, kM, 512, 512, kM, 512, 512, kM};
  GraphBuilder b(seed);
  Node* x = b.Input("x");
  int64_t in = 3;
  int index = 0;
  for (int64_t v : cfg) {
    if (v == kM) {
      const std::string pool = absl::StrCat("features.", index++);
      b.AddModule(pool, OpKind::kMaxPool2d, MaxPool(2, 2, 0));
      x = b.Call(pool, x);
      continue;
    }
    const std::string conv = absl::StrCat("features.", index++);
    const std::string bn = absl::StrCat("features.", index++);
    const std::string relu = absl::StrCat("features.", index++);
    b.AddModule(conv, Conv(in, w(v), 3, 1, 1, /*bias=*/true));
    AddRandomBatchNorm(b, bn, w(v));
    b.AddModule(relu, OpKind::kRelu);
    x = Chain(b, x, {conv, bn, relu});
    in = w(v);
  }
  b.AddModule("avgpool", OpKind::kAdaptiveAvgPool2d, Adaptive(7));
  b.AddModule("classifier.0", LinearAttrs{.in_features = in * 7 * 7, .out_features = hidden});
  b.AddModule("classifier.1", OpKind::kRelu);
  b.AddModule("classifier.2", OpKind::kDropout, {{"p", 0.5}});
  b.AddModule("classifier.3", LinearAttrs{.in_features = hidden, .out_features = hidden});
  b.AddModule("classifier.4", OpKind::kRelu);
  b.AddModule("classifier.5", OpKind::kDropout, {{"p", 0.5}});
  b.AddModule("classifier.6", LinearAttrs{.in_features = hidden, .out_features = num_classes});
  x = b.Flatten(b.Call("avgpool", x), 1);
  b.Output(Chain(b, x, {"classifier.0", "classifier.1", "classifier.2", "classifier.3", "classifier.4",
                        "classifier.5", "classifier.6"}));
  return b.Build();
}

absl::StatusOr<GraphModule> InceptionBlock(int width_divisor, int num_classes, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(Widths w, Widths::Make("InceptionBlock", width_divisor, 32, num_classes));
  GraphBuilder b(seed);
  Node* x = BasicConv2d(b, "stem", b.Input("x"), 3, w(64), 3);
  Node* b1 = BasicConv2d(b, "branch1", x, w(64), w(64), 1);
  Node* b2 = BasicConv2d(b, "branch2.0", x, w(64), w(48), 1);
  b2 = BasicConv2d(b, "branch2.1", b2, w(48), w(64), 3);
  b.AddModule("branch3.0", OpKind::kMaxPool2d, MaxPool(3, 1, 1, /*ceil_mode=*/true));
  Node* b3 = BasicConv2d(b, "branch3.1", b.Call("branch3.0", x), w(64), w(32), 1);
  Node* cat = b.Cat({b1, b2, b3}, 1);
  Node* head = BasicConv2d(b, "head", cat, w(64) + w(64) + w(32), w(128), 1);
  b.Output(PoolFlattenFc(b, head, w(128), num_classes));
  return b.Build();
}

absl::StatusOr<GraphModule> FanOutNet(FanOutMerge merge, int width_divisor, int num_classes, uint64_t seed) {
  SP_ASSIGN_OR_RETURN(Widths w, Widths::Make("FanOutNet", width_divisor, 64, num_classes));
  const int64_t c = w(64);
  GraphBuilder b(seed);
  b.AddModule("stem", Conv(3, c, 3, 1, 1, /*bias=*/true));
  AddRandomBatchNorm(b, "stem_bn", c);
  b.AddModule("branch_a.0", Conv(c, c, 3, 1, 1, /*bias=*/true));
  AddRandomBatchNorm(b, "branch_a.1", c);
  b.AddModule("branch_a.2", OpKind::kRelu);
  b.AddModule("branch_a.3", Conv(c, c, 3, 1, 1, /*bias=*/true));
  AddRandomBatchNorm(b, "branch_a.4", c);
  b.AddModule("branch_b.0", Conv(c, c, 1, 1, 0, /*bias=*/true));
  AddRandomBatchNorm(b, "branch_b.1", c);
  const int64_t merged = merge == FanOutMerge::kAdd ? c : 2 * c;
  b.AddModule("head", Conv(merged, w(128), 1, 1, 0, /*bias=*/true));
  AddRandomBatchNorm(b, "head_bn", w(128));
  Node* x = b.Call(OpKind::kRelu, Chain(b, b.Input("x"), {"stem", "stem_bn"}));
  Node* a = Chain(b, x, {"branch_a.0", "branch_a.1", "branch_a.2", "branch_a.3", "branch_a.4"});
  Node* bb = Chain(b, x, {"branch_b.0", "branch_b.1"});
  Node* y = b.Call(OpKind::kRelu, merge == FanOutMerge::kAdd ? b.Add(a, bb) : b.Cat({a, bb}, 1));
  y = b.Call(OpKind::kRelu, Chain(b, y, {"head", "head_bn"}));
  b.Output(PoolFlattenFc(b, y, w(128), num_classes));
  return b.Build();
}

}  // namespace structprune::testing
