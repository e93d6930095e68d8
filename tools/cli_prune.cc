// `structprune prune`: import an ONNX model, mask channels by a criterion or a CONFIG.json,
// remove them (dependency groups), verify, export, and report (SPEC section 7).
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "graph/model_stats.h"
#include "graph/onnx_export.h"
#include "pruning/dependency_groups.h"
#include "pruning/pruners/fpgm_pruner.h"
#include "pruning/pruners/saliency_pruner.h"
#include "pruning/verify.h"
#include "tools/cli_common.h"
#include "tools/config_json.h"

ABSL_FLAG(std::string, output, "", "where to write the pruned ONNX model (required)");
ABSL_FLAG(double, sparsity, 0.5, "fraction of each prunable layer's channels to prune, in [0, 1]");
ABSL_FLAG(std::string, criterion, "l1",
          "channel importance: l1 (row L1 norm, SaliencyPruner), l2 (row L2 norm) or fpgm "
          "(geometric-median distance, FPGMPruner)");
ABSL_FLAG(
    std::string, config, "",
    "seed-style CONFIG.json: {\"defaults\": {...}, \"groups\": [{\"tensor_fqn\": ..., ...}]}");
ABSL_FLAG(bool, no_prune_bias, false,
          "the masked model keeps pruned channels' biases (the seed's prune_bias=false)");
ABSL_FLAG(int32_t, round_to, 1, "keep each group's surviving channel count a multiple of N");
ABSL_FLAG(bool, global, false,
          "one importance threshold across all layers instead of per-layer ratios");
ABSL_FLAG(std::string, masks_out, "",
          "write the masks applied: {\"seq.0.weight\": [1, 0, ...], ...}");
ABSL_FLAG(std::string, report, "",
          "write a JSON report: params and FLOPs before/after, per-layer shapes, channels kept for "
          "exactness, verification result");
ABSL_FLAG(
    bool, verify, false,
    "run the masked and pruned models on random inputs; exit 1 if they differ beyond tolerance");
ABSL_FLAG(bool, approximate, false,
          "also remove masked channels whose removal is not exact (the report lists them)");

namespace structprune::cli {
namespace {

constexpr char kCommand[] = "prune";
constexpr char kGlobalPruning[] = "global_pruning";
constexpr char kRoundTo[] = "round_to";

// l2: like SaliencyPruner, with the L2 norm of each row (of each hidden unit's four gate rows
// for an LSTM weight_ih_lk) as its importance.
class L2SaliencyPruner : public SaliencyPruner {
 public:
  using SaliencyPruner::SaliencyPruner;

 protected:
  absl::StatusOr<std::vector<double>> ChannelScores(const Module& module,
                                                    const ConfigGroup& group) const override {
    SP_ASSIGN_OR_RETURN(Tensor weights, module.Effective(group.tensor_name));
    if (weights.dim() < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", group.tensor_fqn,
          "': L2 saliency scores whole rows and needs a weight of rank 2 or more, got shape ",
          ShapeToString(weights.shape())));
    }
    // weights [rows, cols], row-major; squared norms summed before the root so that an LSTM
    // unit's score is the norm of its four gate rows together.
    const int64_t rows = weights.size(0);
    const int64_t cols = weights.numel() / rows;
    std::vector<double> squares(rows, 0.0);
    const float* w = weights.data<float>();
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        squares[r] += static_cast<double>(w[r * cols + c]) * w[r * cols + c];
      }
    }
    if (module.kind() == OpKind::kLstm && LstmLayerOfWeight(group.tensor_name)) {
      squares = internal::SumOverGates(squares);
    }
    for (double& s : squares) s = std::sqrt(s);
    return squares;
  }

  absl::Status UpdateMask(const Module& module, const ConfigGroup& group, Tensor& mask) override {
    SP_ASSIGN_OR_RETURN(double sparsity_level, internal::RequiredSparsityLevel(group));
    SP_ASSIGN_OR_RETURN(std::vector<double> scores, ChannelScores(module, group));
    const auto channels = static_cast<int64_t>(scores.size());
    SP_RETURN_IF_ERROR(internal::CheckMaskLength(group, mask, channels));
    internal::MaskLowest(
        scores, static_cast<int64_t>(static_cast<double>(channels) * sparsity_level), mask);
    return absl::OkStatus();
  }
};

// A pruner whose `fixed` tensors keep the mask they were prepared with: an explicit CONFIG
// mask is used as is (SPEC section 7), and so are the producers coupled with it, which then
// follow it through their dependency group.
template <typename Base>
class CliPruner : public Base {
 public:
  template <typename... Args>
  explicit CliPruner(std::set<std::string> fixed, Args&&... args)
      : Base(std::forward<Args>(args)...), fixed_(std::move(fixed)) {}

 protected:
  absl::Status UpdateMask(const Module& module, const ConfigGroup& group, Tensor& mask) override {
    if (fixed_.count(group.tensor_fqn)) return absl::OkStatus();
    return Base::UpdateMask(module, group, mask);
  }
  absl::StatusOr<std::vector<double>> ChannelScores(const Module& module,
                                                    const ConfigGroup& group) const override {
    // Unimplemented: Step() takes the tensor out of group scoring and calls UpdateMask.
    if (fixed_.count(group.tensor_fqn)) return absl::UnimplementedError("explicit mask");
    return Base::ChannelScores(module, group);
  }

 private:
  std::set<std::string> fixed_;
};

// Modules whose output reaches a graph output directly or through ops that pass channels on
// (activations, pools, norms, flatten, add, cat, getitem, depthwise/grouped convs): the
// model's interface, left out of the default config.
std::set<std::string> ModulesFeedingOutputs(const GraphModule& model) {
  auto consumes_channels = [&](const Node& n) {
    if (n.kind() != NodeKind::kCallModule) return false;
    if (n.op() == OpKind::kLinear || n.op() == OpKind::kLstm) return true;
    if (n.op() != OpKind::kConv2d) return false;
    const Module* m = model.root().FindModule(n.target());
    return m == nullptr || GetIntAttr(m->attrs(), "groups", 1).value_or(1) == 1;
  };
  std::set<std::string> feeding;
  for (const Node* start : model.graph().nodes()) {
    if (!consumes_channels(*start)) continue;
    std::vector<const Node*> stack(start->users().begin(), start->users().end());
    std::set<const Node*> seen;
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      if (!seen.insert(n).second || consumes_channels(*n)) continue;
      if (n->kind() == NodeKind::kOutput) {
        feeding.insert(start->target());
        break;
      }
      stack.insert(stack.end(), n->users().begin(), n->users().end());
    }
  }
  return feeding;
}

// SPEC section 7: without groups, every prunable layer except those feeding a graph output.
// Linear/Conv2d layers count when they produce channels of a dependency group: a depthwise
// conv's channels are its input's, coupled with their producer, not its own.
SparsityConfig DefaultConfig(const GraphModule& model, const DependencyGraph& dg) {
  const std::set<std::string> feeding = ModulesFeedingOutputs(model);
  SparsityConfig config;
  for (const auto& [fqn, m] : model.root().NamedModules()) {
    if (feeding.count(fqn)) continue;
    const std::string prefix = fqn.empty() ? "" : fqn + ".";
    if (m->kind() == OpKind::kLinear || m->kind() == OpKind::kConv2d) {
      if (dg.producer_rows.count(prefix + "weight")) {
        config.push_back({{kTensorFqn, prefix + "weight"}});
      }
    } else if (m->kind() == OpKind::kLstm) {
      for (const auto& [name, t] : m->parameters()) {
        if (LstmLayerOfWeight(name)) config.push_back({{kTensorFqn, prefix + name}});
      }
    }
  }
  return config;
}

// Tensors whose prepared mask stays: those with an explicit mask and every producer of their
// dependency groups.
std::set<std::string> FixedMasks(const SparsityConfig& config, const DependencyGraph& dg) {
  std::set<std::string> fixed;
  for (const Options& group : config) {
    if (!group.count(kMask)) continue;
    const std::string& fqn = std::get<std::string>(group.at(kTensorFqn));
    fixed.insert(fqn);
    if (const ChannelGroup* g = dg.GroupOf(fqn)) {
      fixed.insert(g->producers.begin(), g->producers.end());
    }
  }
  return fixed;
}

struct PruneFlags {
  std::string model_path;
  std::string output;
  std::string criterion;
  std::string config;
  std::string masks_out;
  std::string report;
  bool verify = false;
  bool approximate = false;
};

// Built-in defaults <- CONFIG defaults <- flags given on the command line.
Options MergeDefaults(const ParsedArgs& args, const Options& from_config) {
  Options defaults = from_config;
  auto set = [&](const char* flag, const char* key, OptionValue value) {
    if (args.WasSet(flag) || !defaults.count(key)) defaults[key] = std::move(value);
  };
  set("sparsity", kSparsityLevel, absl::GetFlag(FLAGS_sparsity));
  set("no_prune_bias", kPruneBias, !absl::GetFlag(FLAGS_no_prune_bias));
  set("round_to", kRoundTo, static_cast<double>(absl::GetFlag(FLAGS_round_to)));
  set("global", kGlobalPruning, absl::GetFlag(FLAGS_global));
  return defaults;
}

absl::StatusOr<std::unique_ptr<BaseStructuredSparsifier>> MakePruner(const std::string& criterion,
                                                                     const Options& defaults,
                                                                     std::set<std::string> fixed) {
  if (criterion == "l1") {
    return std::make_unique<CliPruner<SaliencyPruner>>(std::move(fixed), defaults);
  }
  if (criterion == "l2") {
    return std::make_unique<CliPruner<L2SaliencyPruner>>(std::move(fixed), defaults);
  }
  // FPGM scores each layer on its own (no group scores): global thresholds and round_to need
  // channel scores.
  if (std::get<bool>(defaults.at(kGlobalPruning)) || std::get<double>(defaults.at(kRoundTo)) > 1) {
    return absl::InvalidArgumentError(
        "--global and --round-to need a criterion with channel scores (l1 or l2), not fpgm");
  }
  return std::make_unique<CliPruner<FPGMPruner>>(std::move(fixed),
                                                 std::get<double>(defaults.at(kSparsityLevel)),
                                                 FPGMPruner::Distance::kL2, defaults);
}

nlohmann::json LayersJson(const ModelStats& before, const ModelStats& after) {
  std::map<std::string, const LayerStats*> after_by_node;
  for (const LayerStats& l : after.layers) after_by_node[l.node] = &l;
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerStats& b : before.layers) {
    auto it = after_by_node.find(b.node);
    const LayerStats* a = it == after_by_node.end() ? nullptr : it->second;
    layers.push_back({{"node", b.node},
                      {"target", b.target},
                      {"op", b.op},
                      {"output_before", b.output},
                      {"output_after", a ? nlohmann::json(a->output) : nlohmann::json()},
                      {"params_before", b.params},
                      {"params_after", a ? a->params : 0},
                      {"flops_before", b.flops},
                      {"flops_after", a ? a->flops : 0}});
  }
  return layers;
}

nlohmann::json PrunedJson(const PruneReport& report) {
  nlohmann::json pruned = nlohmann::json::array();
  for (const LayerPruneRecord& r : report.layers) {
    pruned.push_back({{"module_fqn", r.module_fqn},
                      {"tensor_fqn", r.tensor_fqn},
                      {"pattern", r.pattern},
                      {"channels_before", r.channels_before},
                      {"channels_after", r.channels_after},
                      {"channels_pruned", r.channels_pruned},
                      {"channels_kept_for_exactness", r.channels_kept_for_exactness},
                      {"kept_reason", r.kept_reason},
                      {"channels_removed_inexactly", r.channels_removed_inexactly},
                      {"inexact_reason", r.inexact_reason}});
  }
  return pruned;
}

nlohmann::json MasksJson(const std::map<std::string, Tensor>& masks) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [fqn, mask] : masks) {
    std::vector<int> keep;
    for (bool k : mask.values<bool>()) keep.push_back(k ? 1 : 0);
    out[fqn] = keep;
  }
  return out;
}

int RunPrune(const PruneFlags& flags, const ParsedArgs& args) {
  Progress(kCommand, absl::StrCat("importing ", flags.model_path));
  absl::StatusOr<LoadedModel> loaded = LoadModel(flags.model_path);
  if (!loaded.ok()) return Fail(kCommand, loaded.status());
  GraphModule& model = loaded->onnx.model;
  const std::vector<Shape>& shapes = loaded->input_shapes;
  // 8-bit integer inputs are held in float32: an exported model would declare them FLOAT.
  for (size_t i = 0; i < loaded->onnx.input_eight_bit_types.size(); ++i) {
    const std::string& type = loaded->onnx.input_eight_bit_types[i];
    if (type.empty()) continue;
    return Fail(kCommand,
                absl::UnimplementedError(absl::StrCat("model input '", loaded->onnx.input_names[i],
                                                      "' is an 8-bit integer tensor (", type,
                                                      "); pruning handles float32 models only")));
  }

  ConfigFile config;
  if (!flags.config.empty()) {
    const OnnxModel& onnx = loaded->onnx;
    absl::StatusOr<ConfigFile> read = ReadConfigJson(
        flags.config, [&](absl::string_view name) { return ResolveTensorFqn(onnx, name); });
    if (!read.ok()) return Fail(kCommand, read.status());
    config = *std::move(read);
  }
  const Options defaults = MergeDefaults(args, config.defaults);

  Progress(kCommand, "analyzing dependency groups");
  absl::StatusOr<ModelStats> before = ComputeModelStats(model, shapes);
  if (!before.ok()) return Fail(kCommand, before.status());
  absl::StatusOr<DependencyGraph> dg = BuildDependencyGraph(model, shapes);
  if (!dg.ok()) return Fail(kCommand, dg.status());
  const SparsityConfig groups = config.groups ? *config.groups : DefaultConfig(model, *dg);
  auto pruner = MakePruner(flags.criterion, defaults, FixedMasks(groups, *dg));
  if (!pruner.ok()) return Fail(kCommand, pruner.status());
  (*pruner)->SetInputShapes(shapes);

  Progress(kCommand, "choosing channels");
  if (absl::Status s = (*pruner)->Prepare(model, groups); !s.ok()) return Fail(kCommand, s);
  if (absl::Status s = (*pruner)->Step(); !s.ok()) return Fail(kCommand, s);
  const std::map<std::string, Tensor> masks = (*pruner)->StateDict().masks;
  GraphModule masked = model.Clone();

  Progress(kCommand, "pruning");
  absl::StatusOr<PruneReport> report =
      (*pruner)->Prune(PruneOptions{.approximate = flags.approximate});
  if (!report.ok()) return Fail(kCommand, report.status());
  absl::StatusOr<ModelStats> after = ComputeModelStats(model, shapes);
  if (!after.ok()) return Fail(kCommand, after.status());

  std::optional<VerifyResult> verified;
  if (flags.verify) {
    Progress(kCommand, "verifying pruned against masked model");
    absl::StatusOr<VerifyResult> v = VerifyEquivalence(masked, model, shapes, *report);
    if (!v.ok()) return Fail(kCommand, v.status());
    verified = *v;
  }

  Progress(kCommand, absl::StrCat("writing ", flags.output));
  if (absl::Status s = ExportOnnx(model, shapes, flags.output, ExportOptionsFor(loaded->onnx));
      !s.ok()) {
    return Fail(kCommand, s);
  }
  if (!flags.masks_out.empty()) {
    if (absl::Status s = WriteJsonFile(MasksJson(masks), flags.masks_out); !s.ok()) {
      return Fail(kCommand, s);
    }
  }
  if (!flags.report.empty()) {
    nlohmann::json input_shapes = nlohmann::json::array();
    for (const Shape& s : shapes) input_shapes.push_back(ShapeToJson(s));
    nlohmann::json out_changes = nlohmann::json::array();
    for (const OutputChange& c : report->output_changes) {
      out_changes.push_back({{"output_index", c.output_index},
                             {"dim", c.dim},
                             {"keep", c.keep},
                             {"keep_per_slice", c.keep_per_slice}});
    }
    nlohmann::json json = {{"model", flags.model_path},
                           {"output", flags.output},
                           {"criterion", flags.criterion},
                           {"sparsity_level", std::get<double>(defaults.at(kSparsityLevel))},
                           {"prune_bias", std::get<bool>(defaults.at(kPruneBias))},
                           {"round_to", std::get<double>(defaults.at(kRoundTo))},
                           {"global_pruning", std::get<bool>(defaults.at(kGlobalPruning))},
                           {"approximate", flags.approximate},
                           {"input_shapes", input_shapes},
                           {"params_before", before->params},
                           {"params_after", after->params},
                           {"flops_before", before->flops},
                           {"flops_after", after->flops},
                           {"layers", LayersJson(*before, *after)},
                           {"pruned", PrunedJson(*report)},
                           {"channels_kept_for_exactness", report->KeptForExactness()},
                           {"output_changes", out_changes},
                           {"verification", nullptr}};
    if (verified) {
      json["verification"] = {{"equivalent", verified->equivalent},
                              {"max_abs_diff", verified->max_abs_diff},
                              {"output_scale", verified->output_scale},
                              {"tolerance", VerifyOptions{}.tolerance},
                              {"trials", VerifyOptions{}.trials}};
    }
    if (absl::Status s = WriteJsonFile(json, flags.report); !s.ok()) return Fail(kCommand, s);
  }

  const std::string how =
      config.groups ? "config groups"
                    : absl::StrFormat("sparsity %g", std::get<double>(defaults.at(kSparsityLevel)));
  std::printf("%s -> %s (%s, %s)\n", flags.model_path.c_str(), flags.output.c_str(),
              flags.criterion.c_str(), how.c_str());
  std::printf("  parameters %lld -> %lld (%.2fx)\n", static_cast<long long>(before->params),
              static_cast<long long>(after->params),
              static_cast<double>(before->params) / std::max<int64_t>(after->params, 1));
  std::printf("  FLOPs      %lld -> %lld (%.2fx)\n", static_cast<long long>(before->flops),
              static_cast<long long>(after->flops),
              static_cast<double>(before->flops) / std::max<int64_t>(after->flops, 1));
  for (const LayerPruneRecord& r : report->layers) {
    std::printf("  %s: %lld -> %lld channels\n", r.module_fqn.c_str(),
                static_cast<long long>(r.channels_before),
                static_cast<long long>(r.channels_after));
  }
  const std::vector<std::string> kept = report->KeptForExactness();
  std::printf("  channels kept for exactness: %s\n", kept.empty() ? "none" : "");
  for (const std::string& line : kept) std::printf("    %s\n", line.c_str());
  if (verified) std::printf("  verification: %s\n", verified->ToString().c_str());
  return verified && !verified->equivalent ? kExitVerifyFailed : kExitOk;
}

}  // namespace

const CommandSpec& PruneCommand() {
  static const CommandSpec* spec = new CommandSpec{
      .name = kCommand,
      .synopsis = "prune MODEL.onnx -o OUT.onnx [options]",
      .summary =
          "Removes channels from the model's Linear, Conv2d and LSTM layers (dependency groups:\n"
          "residual adds, concats, BatchNorms and depthwise convs follow) and writes the smaller\n"
          "model. Without --config, or with a config that has no \"groups\", every prunable layer\n"
          "is configured except those feeding a graph output. Flags given on the command line\n"
          "override the config's \"defaults\"; an explicit \"mask\" is applied as is.\n"
          "Exit codes: 0 ok, 1 --verify found a difference, 2 bad input.",
      .flags = {{"output", "OUT.onnx"},
                {"sparsity", "S"},
                {"criterion", "l1|l2|fpgm"},
                {"config", "CONFIG.json"},
                {"no_prune_bias", ""},
                {"round_to", "N"},
                {"global", ""},
                {"masks_out", "MASKS.json"},
                {"report", "REPORT.json"},
                {"verify", ""},
                {"approximate", ""}},
      .aliases = {{"o", "output"}},
      .min_positional = 1,
      .max_positional = 1,
      .positional_name = "MODEL.onnx"};
  return *spec;
}

int PruneMain(const std::vector<std::string>& argv) {
  absl::StatusOr<ParsedArgs> args = ParseArgs(PruneCommand(), argv);
  if (!args.ok()) return Fail(kCommand, args.status());
  if (args->help) {
    std::fputs(HelpText(PruneCommand()).c_str(), stdout);
    return kExitOk;
  }
  PruneFlags flags{.model_path = args->positional[0],
                   .output = absl::GetFlag(FLAGS_output),
                   .criterion = absl::GetFlag(FLAGS_criterion),
                   .config = absl::GetFlag(FLAGS_config),
                   .masks_out = absl::GetFlag(FLAGS_masks_out),
                   .report = absl::GetFlag(FLAGS_report),
                   .verify = absl::GetFlag(FLAGS_verify),
                   .approximate = absl::GetFlag(FLAGS_approximate)};
  if (flags.output.empty()) {
    return Fail(kCommand, absl::InvalidArgumentError(
                              "missing -o OUT.onnx (where to write the pruned model)"));
  }
  const double sparsity = absl::GetFlag(FLAGS_sparsity);
  if (!(sparsity >= 0.0 && sparsity <= 1.0)) {
    return Fail(kCommand, absl::InvalidArgumentError(
                              absl::StrCat("--sparsity must be in [0, 1], got ", sparsity)));
  }
  if (flags.criterion != "l1" && flags.criterion != "l2" && flags.criterion != "fpgm") {
    return Fail(kCommand, absl::InvalidArgumentError(absl::StrCat(
                              "--criterion must be l1, l2 or fpgm, got '", flags.criterion, "'")));
  }
  if (absl::GetFlag(FLAGS_round_to) < 1) {
    return Fail(kCommand,
                absl::InvalidArgumentError(absl::StrCat("--round-to must be at least 1, got ",
                                                        absl::GetFlag(FLAGS_round_to))));
  }
  return RunPrune(flags, *args);
}

}  // namespace structprune::cli
