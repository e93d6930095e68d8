// Real-network shapes for the dependency-group tests (SPEC section 5), built with GraphBuilder:
// torchvision's module FQNs, layer arguments and forward dataflow (ResNet-18, a ResNet
// Bottleneck, MobileNetV2, VGG-11-BN), plus two small DAGs (an Inception-style block, a
// fan-out). Every BatchNorm2d gets random affine parameters and running statistics, so no
// norm is the identity and pruned == masked checks mean something.
//
// `width_divisor` divides every channel count (integer division, as models.h's
// `c // width_divisor`) except the image's 3 input channels and the classifier's
// num_classes; builders return InvalidArgument when a width would drop below 1. Every
// graph has one input "x" [N, 3, H, W] and one output [N, num_classes].
#ifndef STRUCTPRUNE_TESTS_TESTING_ZOO_MODELS_H_
#define STRUCTPRUNE_TESTS_TESTING_ZOO_MODELS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "graph/builder.h"
#include "graph/graph_module.h"

namespace structprune::testing {

// Adds BatchNorm2d(c) at `fqn` with random affine parameters and running statistics (drawn
// from the builder's rng), so it is not the identity.
void AddRandomBatchNorm(GraphBuilder& b, const std::string& fqn, int64_t c, double eps = 1e-5);

// torchvision.models.resnet18: conv1 (7x7 s2 p3, no bias), bn1, relu, maxpool (3, s2, p1),
// layer1..layer4 of two BasicBlocks each (conv1/bn1/relu/conv2/bn2, `relu` called twice;
// the first block of layer2..4 has stride 2 and downsample.0 (1x1 s2 conv) / downsample.1
// (BN)), avgpool AdaptiveAvgPool2d((1, 1)), torch.flatten(x, 1), fc. Any H, W >= 32 runs.
absl::StatusOr<GraphModule> ResNet18(int width_divisor = 1, int num_classes = 1000, uint64_t seed = 0);

// One torchvision Bottleneck with downsample (ResNet-50's layer2.0: inplanes 256, planes 128,
// stride 2, width 128, expansion 4) between a stem and a head, so its residual channels feed
// a layer and are prunable: conv1 (3x3 p1, 3 -> 256, no bias), bn1, relu;
// layer2.0.{conv1 (1x1), bn1, conv2 (3x3 s2 p1), bn2, conv3 (1x1, -> 512), bn3, relu,
// downsample.0 (1x1 s2), downsample.1}; avgpool, flatten, fc (512 -> num_classes).
absl::StatusOr<GraphModule> ResNetBottleneckBlock(int width_divisor = 1, int num_classes = 1000,
                                                  uint64_t seed = 0);

// torchvision.models.mobilenet_v2 (width_mult 1): features.0 Conv2dNormActivation(3, 32, s2,
// ReLU6) = features.0.{0,1,2}; features.1..17 InvertedResidual per the (t, c, n, s) table,
// hidden = inp * t: expand features.N.conv.0.{0,1,2} (t != 1), depthwise
// features.N.conv.{0|1}.{0,1,2} (groups = hidden, 3x3 p1), project features.N.conv.{1|2}
// (1x1, no bias) and its BN features.N.conv.{2|3}; x + conv(x) when stride 1 and inp == oup;
// features.18 Conv2dNormActivation(320, 1280, 1x1); F.adaptive_avg_pool2d(x, (1, 1)),
// torch.flatten(x, 1), classifier.0 Dropout(0.2), classifier.1 Linear. Widths are c / div
// (not torchvision's _make_divisible(c * width_mult, 8)); width_divisor <= 16. H, W >= 32.
absl::StatusOr<GraphModule> MobileNetV2(int width_divisor = 1, int num_classes = 1000, uint64_t seed = 0);

// torchvision.models.vgg11_bn: features per cfg "A" (conv 3x3 p1 with bias, BN, ReLU;
// MaxPool2d(2, 2) at "M") = features.0..28, avgpool AdaptiveAvgPool2d((7, 7)),
// torch.flatten(x, 1), classifier.0 Linear(512 * 7 * 7, hidden), .1 ReLU, .2 Dropout,
// .3 Linear(hidden, hidden), .4 ReLU, .5 Dropout, .6 Linear(hidden, num_classes). `hidden`
// is not divided (pass a small one to keep tests fast). H, W >= 32.
absl::StatusOr<GraphModule> VGG11BN(int width_divisor = 1, int num_classes = 1000, int hidden = 4096,
                                    uint64_t seed = 0);

// An Inception-style block (GoogLeNet's Inception naming and BasicConv2d = conv (no bias),
// bn (eps 1e-3), F.relu): stem BasicConv2d(3 -> 64, 3x3 p1); branch1 1x1 (-> 64);
// branch2 = 1x1 (-> 48) -> 3x3 p1 (-> 64); branch3 = MaxPool2d(3, 1, 1, ceil_mode) -> 1x1
// (-> 32); torch.cat along channels (160); head BasicConv2d 1x1 (160 -> 128); avgpool,
// flatten, fc. (GoogLeNet calls the pool branch branch4; this block has no 5x5 branch.)
absl::StatusOr<GraphModule> InceptionBlock(int width_divisor = 1, int num_classes = 1000, uint64_t seed = 0);

// One conv feeding two branches, merged:
//   stem (3x3 p1, 3 -> 64) -> stem_bn -> relu
//     -> branch_a.0 (3x3 p1) -> branch_a.1 (BN) -> relu -> branch_a.3 (3x3 p1) -> branch_a.4 (BN)
//     -> branch_b.0 (1x1) -> branch_b.1 (BN)
//   merge: add (both 64) or cat (64 + 64) -> relu -> head (1x1 -> 128) -> head_bn -> relu
//   -> avgpool -> flatten -> fc
enum class FanOutMerge { kAdd, kCat };
absl::StatusOr<GraphModule> FanOutNet(FanOutMerge merge, int width_divisor = 1, int num_classes = 1000,
                                      uint64_t seed = 0);

}  // namespace structprune::testing

#endif  // STRUCTPRUNE_TESTS_TESTING_ZOO_MODELS_H_
