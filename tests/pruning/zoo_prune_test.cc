// Dependency-group pruning of real network shapes (SPEC section 5): ResNet-18, a ResNet
// Bottleneck, MobileNetV2, VGG-11-BN (torchvision's FQNs, narrow widths), an Inception-style
// block and a fan-out net. Every network is pruned end to end (L1 saliency at 30 % and 50 %,
// random masks, round_to, global pruning, the default config) and the pruned model must
// compute what the masked model did. Each run prints one "[zoo]" line: params and FLOPs
// before -> after and the channels kept for exactness.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/rng.h"
#include "graph/model_stats.h"
#include "pruning/dependency_groups.h"
#include "pruning/pruners/saliency_pruner.h"
#include "pruning/verify.h"
#include "tests/testing/prune_helpers.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/zoo_models.h"

namespace structprune {
namespace {

using ::structprune::testing::ConfigFor;
using ::structprune::testing::FanOutMerge;
using ::structprune::testing::IsCleanPrunedModel;
using ::structprune::testing::KeepMasksPruner;
using ::structprune::testing::OutputShapes;
using ::structprune::testing::PrunedIndices;

// A network at test size: narrow widths, batch 1, small images, 10 classes.
struct Network {
  std::string name;
  std::function<absl::StatusOr<GraphModule>()> build;
  Shape input;
  std::string classifier;  // the final Linear: its outputs are the model's, never configured
};

const std::vector<Network>& Networks() {
  static const auto* networks = new std::vector<Network>{
      {"ResNet18", [] { return testing::ResNet18(8, 10); }, {1, 3, 32, 32}, "fc"},
      {"ResNetBottleneck", [] { return testing::ResNetBottleneckBlock(8, 10); }, {1, 3, 16, 16}, "fc"},
      {"MobileNetV2", [] { return testing::MobileNetV2(4, 10); }, {1, 3, 32, 32}, "classifier.1"},
      {"VGG11BN", [] { return testing::VGG11BN(8, 10, 32); }, {1, 3, 32, 32}, "classifier.6"},
      {"InceptionBlock", [] { return testing::InceptionBlock(4, 10); }, {1, 3, 16, 16}, "fc"},
      {"FanOutAdd", [] { return testing::FanOutNet(FanOutMerge::kAdd, 4, 10); }, {1, 3, 16, 16}, "fc"},
      {"FanOutCat", [] { return testing::FanOutNet(FanOutMerge::kCat, 4, 10); }, {1, 3, 16, 16}, "fc"},
  };
  return *networks;
}

bool IsDepthwise(const Module& m) {
  return m.kind() == OpKind::kConv2d && GetIntAttr(m.attrs(), "groups", 1).value_or(1) > 1;
}

// Every Conv2d / Linear weight except the final classifier's, in module order. Depthwise
// convs are left out: their output channels are their input's, so they are no producer and
// follow their dependency group (configuring one: ZooNetwork.DefaultConfigPrunesEndToEnd).
SparsityConfig ProducerConfig(const GraphModule& model, const std::string& classifier) {
  std::vector<std::string> fqns;
  for (const auto& [fqn, m] : model.root().NamedModules()) {
    if ((m->kind() == OpKind::kConv2d || m->kind() == OpKind::kLinear) && fqn != classifier && !IsDepthwise(*m)) {
      fqns.push_back(fqn + ".weight");
    }
  }
  return ConfigFor(fqns);
}

int64_t CountKeptForExactness(const PruneReport& report) {
  int64_t n = 0;
  for (const LayerPruneRecord& r : report.layers) n += static_cast<int64_t>(r.channels_kept_for_exactness.size());
  return n;
}

// One line per run for the log: sizes before -> after and what stayed for exactness.
void PrintSummary(const std::string& what, const ModelStats& before, const ModelStats& after,
                  const PruneReport& report) {
  std::vector<std::string> kept = report.KeptForExactness();
  std::cout << "[zoo] " << what << ": params " << before.params << " -> " << after.params << ", FLOPs "
            << before.flops << " -> " << after.flops << ", kept for exactness " << CountKeptForExactness(report)
            << " channel(s)" << (kept.empty() ? "" : ": " + absl::StrJoin(kept, "; ")) << "\n";
}

// What every successful zoo prune must satisfy: clean, equivalent, strictly smaller, same
// output shapes.
void ExpectPrunedEqualsMasked(const Network& net, const GraphModule& original, const GraphModule& masked,
                              const GraphModule& pruned, const PruneReport& report, const std::string& what) {
  EXPECT_TRUE(IsCleanPrunedModel(pruned));
  auto v = VerifyEquivalence(masked, pruned, {net.input}, report);
  ASSERT_TRUE(v.ok()) << v.status() << "\n" << report.ToString();
  // 1e-4 relative to the output scale: float reassociation in the pruned convs' sums only.
  EXPECT_TRUE(v->equivalent) << v->ToString() << "\n" << report.ToString();
  auto before = ComputeModelStats(original, {net.input});
  auto after = ComputeModelStats(pruned, {net.input});
  ASSERT_TRUE(before.ok() && after.ok()) << before.status() << " / " << after.status();
  EXPECT_LT(after->params, before->params);
  EXPECT_LT(after->flops, before->flops);
  auto shapes_before = OutputShapes(original, {net.input});
  auto shapes_after = OutputShapes(pruned, {net.input});
  ASSERT_TRUE(shapes_before.ok() && shapes_after.ok()) << shapes_before.status() << " / " << shapes_after.status();
  EXPECT_EQ(*shapes_after, *shapes_before);
  PrintSummary(what, *before, *after, report);
}

// With prune_bias every masked channel reads 0 after its BatchNorm, so all of them go. Without
// it a masked channel is BN's constant there, which can only stay where it meets a
// zero-padded conv (a 1x1 conv, a Linear or a masked depthwise conv takes it exactly).
void ExpectKeptOnlyForPadding(const PruneReport& report, bool prune_bias) {
  if (prune_bias) {
    EXPECT_EQ(CountKeptForExactness(report), 0) << report.ToString();
    return;
  }
  for (const LayerPruneRecord& r : report.layers) {
    if (r.channels_kept_for_exactness.empty()) continue;
    EXPECT_THAT(r.kept_reason, ::testing::HasSubstr("a nonzero constant channel enters zero-padded")) << r.module_fqn;
  }
}

// ---------------------------------------------------------------------------------------
// L1 saliency at 30 % / 50 %, prune_bias on and off.

struct SaliencyCase {
  const Network* net;
  double level;
  bool prune_bias;
};

std::string SaliencyCaseName(const ::testing::TestParamInfo<SaliencyCase>& info) {
  return absl::StrCat(info.param.net->name, "_", static_cast<int>(info.param.level * 100), "pct_",
                      info.param.prune_bias ? "PruneBias" : "KeepBias");
}
void PrintTo(const SaliencyCase& c, std::ostream* os) { *os << SaliencyCaseName({c, 0}); }

std::vector<SaliencyCase> SaliencyCases() {
  std::vector<SaliencyCase> out;
  for (const Network& net : Networks()) {
    for (double level : {0.3, 0.5}) {
      for (bool prune_bias : {true, false}) out.push_back({&net, level, prune_bias});
    }
  }
  return out;
}

class ZooSaliencyPrune : public ::testing::TestWithParam<SaliencyCase> {};

TEST_P(ZooSaliencyPrune, PrunedEqualsMaskedAndShrinks) {
  const SaliencyCase& c = GetParam();
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, c.net->build());
  const GraphModule original = model.Clone();
  SaliencyPruner pruner({{kSparsityLevel, c.level}, {kPruneBias, c.prune_bias}});
  pruner.SetInputShapes({c.net->input});
  SP_ASSERT_OK(pruner.Prepare(model, ProducerConfig(model, c.net->classifier)));
  SP_ASSERT_OK(pruner.Step());
  GraphModule masked = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  ExpectPrunedEqualsMasked(*c.net, original, masked, model, report, SaliencyCaseName({c, 0}));
  ExpectKeptOnlyForPadding(report, c.prune_bias);
  // Group-aware scoring: every group (all channels prunable here) loses exactly
  // int(channels * level), counting those kept for exactness, in each of its producers; none
  // is emptied by the union of its producers' choices.
  for (const LayerPruneRecord& r : report.layers) {
    const int64_t masked = static_cast<int64_t>(r.channels_pruned.size() + r.channels_kept_for_exactness.size());
    EXPECT_EQ(masked, static_cast<int64_t>(static_cast<double>(r.channels_before) * c.level))
        << r.module_fqn << "\n" << report.ToString();
    EXPECT_GT(r.channels_after, 0) << r.module_fqn << "\n" << report.ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(, ZooSaliencyPrune, ::testing::ValuesIn(SaliencyCases()), SaliencyCaseName);

// ---------------------------------------------------------------------------------------
// Random masks (property): per dependency group a random set of channels to prune (at least
// one kept), marked in one random producer per channel and in each other producer with
// probability 1/2. Prepare() couples the group, so every producer's mask must read as the
// whole group's, and the pruned model must equal the masked one.

struct RandomCase {
  const Network* net;
  uint64_t seed;
  bool prune_bias;
};

std::string RandomCaseName(const ::testing::TestParamInfo<RandomCase>& info) {
  return absl::StrCat(info.param.net->name, "_seed", info.param.seed, "_",
                      info.param.prune_bias ? "PruneBias" : "KeepBias");
}
void PrintTo(const RandomCase& c, std::ostream* os) { *os << RandomCaseName({c, 0}); }

std::vector<RandomCase> RandomCases() {
  std::vector<RandomCase> out;
  for (const Network& net : Networks()) {
    for (uint64_t seed : {1, 2, 3}) out.push_back({&net, seed, seed % 2 == 1});
  }
  return out;
}

class ZooRandomMasks : public ::testing::TestWithParam<RandomCase> {};

TEST_P(ZooRandomMasks, GroupMasksAgreeAndPrunedEqualsMasked) {
  const RandomCase& c = GetParam();
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, c.net->build());
  const GraphModule original = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(DependencyGraph dg, BuildDependencyGraph(model, {c.net->input}));
  KeepMasksPruner pruner({{kPruneBias, c.prune_bias}});
  pruner.SetInputShapes({c.net->input});
  SP_ASSERT_OK(pruner.Prepare(model, ProducerConfig(model, c.net->classifier)));

  // Per group with a configured producer: the group channels to prune, and for each channel
  // the producer that surely marks it.
  Rng rng(c.seed);
  std::map<int, std::vector<bool>> pruned_channels;
  std::map<int, std::vector<std::string>> marker;
  for (const ConfigGroup& g : pruner.groups()) {
    auto rows = dg.producer_rows.find(g.tensor_fqn);
    ASSERT_NE(rows, dg.producer_rows.end()) << g.tensor_fqn << " is no producer";
    const int group = rows->second.group;
    if (pruned_channels.count(group)) continue;
    const ChannelGroup& cg = dg.groups[group];
    std::vector<bool> pruned(cg.size());
    int64_t kept = 0;
    for (int64_t ch = 0; ch < cg.size(); ++ch) {
      pruned[ch] = cg.blocked[ch].empty() && rng.Uniform() < 0.5f;
      kept += !pruned[ch];
    }
    if (kept == 0) pruned[rng.UniformInt(cg.size())] = false;
    std::vector<std::string>& who = marker[group];
    for (int64_t ch = 0; ch < cg.size(); ++ch) who.push_back(cg.producers[rng.UniformInt(cg.producers.size())]);
    pruned_channels[group] = std::move(pruned);
  }
  // Expected rows per configured producer, and the partial masks actually set.
  std::map<std::string, std::vector<int64_t>> expected_rows;
  for (const ConfigGroup& g : pruner.groups()) {
    const auto& rows = dg.producer_rows.at(g.tensor_fqn);
    const std::vector<bool>& pruned = pruned_channels.at(rows.group);
    SP_ASSERT_OK_AND_ASSIGN(Tensor mask, pruner.GetMask(g.tensor_fqn));
    for (int64_t r = 0; r < mask.numel(); ++r) {
      const int64_t ch = rows.channel_of_row[r];
      if (pruned[ch]) expected_rows[g.tensor_fqn].push_back(r);
      mask.data<bool>()[r] = !(pruned[ch] && (marker[rows.group][ch] == g.tensor_fqn || rng.Uniform() < 0.5f));
    }
    SP_ASSERT_OK(pruner.SetMask(g.tensor_fqn, mask));
  }
  for (const ConfigGroup& g : pruner.groups()) {
    SP_ASSERT_OK_AND_ASSIGN(Tensor mask, pruner.GetMask(g.tensor_fqn));
    EXPECT_EQ(PrunedIndices(mask), expected_rows[g.tensor_fqn]) << g.tensor_fqn;
  }

  GraphModule masked = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  ExpectPrunedEqualsMasked(*c.net, original, masked, model, report, RandomCaseName({c, 0}));
  ExpectKeptOnlyForPadding(report, c.prune_bias);
  // Each producer lost (or kept for exactness) exactly its group's pruned channels.
  for (const LayerPruneRecord& r : report.layers) {
    std::set<int64_t> got(r.channels_pruned.begin(), r.channels_pruned.end());
    got.insert(r.channels_kept_for_exactness.begin(), r.channels_kept_for_exactness.end());
    const std::vector<int64_t>& want = expected_rows[r.tensor_fqn];
    EXPECT_EQ(std::vector<int64_t>(got.begin(), got.end()), want) << r.tensor_fqn << "\n" << report.ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(, ZooRandomMasks, ::testing::ValuesIn(RandomCases()), RandomCaseName);

// ---------------------------------------------------------------------------------------
// round_to and global pruning on the residual / depthwise / flatten networks.

class ZooNetwork : public ::testing::TestWithParam<const Network*> {};

std::string NetworkName(const ::testing::TestParamInfo<const Network*>& info) { return info.param->name; }
void PrintTo(const Network* net, std::ostream* os) { *os << net->name; }

std::vector<const Network*> AllNetworks() {
  std::vector<const Network*> out;
  for (const Network& net : Networks()) out.push_back(&net);
  return out;
}

// round_to 4 at 50 %: every producer keeps a multiple of 4 channels (or all of them).
TEST_P(ZooNetwork, RoundToKeepsMultiplesOfFour) {
  const Network& net = *GetParam();
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, net.build());
  const GraphModule original = model.Clone();
  SaliencyPruner pruner({{kSparsityLevel, 0.5}, {"round_to", 4.0}});
  pruner.SetInputShapes({net.input});
  SP_ASSERT_OK(pruner.Prepare(model, ProducerConfig(model, net.classifier)));
  SP_ASSERT_OK(pruner.Step());
  GraphModule masked = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  ExpectPrunedEqualsMasked(net, original, masked, model, report, net.name + "_RoundTo4");
  for (const LayerPruneRecord& r : report.layers) {
    EXPECT_TRUE(r.channels_kept_for_exactness.empty()) << r.module_fqn;  // prune_bias: all exact
    EXPECT_TRUE(r.channels_after % 4 == 0 || r.channels_after == r.channels_before)
        << r.module_fqn << ": " << r.channels_before << " -> " << r.channels_after;
    EXPECT_GT(r.channels_after, 0) << r.module_fqn;
  }
}

// Global pruning at 50 %: one threshold across groups, no group beyond the 0.9 default cap.
TEST_P(ZooNetwork, GlobalPruningRespectsGroupCap) {
  const Network& net = *GetParam();
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, net.build());
  const GraphModule original = model.Clone();
  SaliencyPruner pruner({{kSparsityLevel, 0.5}, {"global_pruning", true}});
  pruner.SetInputShapes({net.input});
  SP_ASSERT_OK(pruner.Prepare(model, ProducerConfig(model, net.classifier)));
  SP_ASSERT_OK(pruner.Step());
  GraphModule masked = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  ExpectPrunedEqualsMasked(net, original, masked, model, report, net.name + "_Global50");
  int64_t before = 0, masked_total = 0;
  std::set<std::string> seen_groups;
  for (const LayerPruneRecord& r : report.layers) {
    const int64_t pruned = static_cast<int64_t>(r.channels_pruned.size() + r.channels_kept_for_exactness.size());
    EXPECT_LE(pruned, static_cast<int64_t>(0.9 * static_cast<double>(r.channels_before))) << r.module_fqn;
    EXPECT_GT(r.channels_after, 0) << r.module_fqn;
    if (seen_groups.insert(r.pattern).second) {  // "dependency group N": count each group once
      before += r.channels_before;
      masked_total += pruned;
    }
  }
  EXPECT_EQ(masked_total, before / 2) << report.ToString();
}

INSTANTIATE_TEST_SUITE_P(, ZooNetwork, ::testing::ValuesIn(AllNetworks()), NetworkName);

// ---------------------------------------------------------------------------------------
// The default config (every supported tensor: depthwise convs and the classifier included),
// as a user calls Prepare(model). The classifier's channels reach the model output and stay;
// a configured depthwise conv should follow its dependency group.
TEST_P(ZooNetwork, DefaultConfigPrunesEndToEnd) {
  const Network& net = *GetParam();
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, net.build());
  const GraphModule original = model.Clone();
  SaliencyPruner pruner({{kSparsityLevel, 0.5}});
  pruner.SetInputShapes({net.input});
  SP_ASSERT_OK(pruner.Prepare(model));
  SP_ASSERT_OK(pruner.Step());
  GraphModule masked = model.Clone();
  SP_ASSERT_OK_AND_ASSIGN(PruneReport report, pruner.Prune());
  ExpectPrunedEqualsMasked(net, original, masked, model, report, net.name + "_DefaultConfig");
}

// Masks that prune every channel of a dependency group (here the add's group of FanOutAdd:
// branch_a.3 and branch_b.0, all 16 rows of branch_b.0 masked) would leave 'head' without an
// input channel, which no Conv2d can be. Prune() must never commit such a model: either it
// fails naming the producer and leaves the model as it was, or it keeps channels (for
// exactness) so that every producer has some and pruned == masked.
TEST(ZooEmptyGroup, PruneNeverLeavesAGroupWithoutChannels) {
  const Shape input = {1, 3, 16, 16};
  SP_ASSERT_OK_AND_ASSIGN(GraphModule model, testing::FanOutNet(FanOutMerge::kAdd, 4, 10));
  KeepMasksPruner pruner;
  pruner.SetInputShapes({input});
  SP_ASSERT_OK(pruner.Prepare(model, ProducerConfig(model, "fc")));
  SP_ASSERT_OK(pruner.SetMask("branch_b.0.weight", testing::MaskWithout(16, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                                             12, 13, 14, 15})));
  const testing::ModelSnapshot before = testing::TakeSnapshot(model);
  GraphModule masked = model.Clone();
  absl::StatusOr<PruneReport> report = pruner.Prune();
  if (!report.ok()) {
    EXPECT_THAT(report.status(), testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("branch_b.0")));
    EXPECT_TRUE(testing::SameAsSnapshot(before, model));
    return;
  }
  for (const LayerPruneRecord& r : report->layers) {
    EXPECT_GT(r.channels_after, 0) << r.module_fqn << "\n" << report->ToString();
  }
  auto v = VerifyEquivalence(masked, model, {input}, *report);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->equivalent) << v->ToString();
}

}  // namespace
}  // namespace structprune
