// `structprune info`: a model's layers (output shape, params, FLOPs), totals, and the channel
// groups `prune` would work on.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/model_stats.h"
#include "pruning/config.h"
#include "pruning/dependency_groups.h"
#include "pruning/unprunable_ops.h"
#include "tools/cli_common.h"

namespace structprune::cli {
namespace {

constexpr char kCommand[] = "info";

std::string ShapesToString(const std::vector<Shape>& shapes) {
  std::vector<std::string> parts;
  for (const Shape& s : shapes) parts.push_back(ShapeToString(s));
  return absl::StrJoin(parts, ", ");
}

int RunInfo(const std::string& path) {
  Progress(kCommand, absl::StrCat("importing ", path));
  absl::StatusOr<LoadedModel> loaded = LoadModel(path);
  if (!loaded.ok()) return Fail(kCommand, loaded.status());
  const OnnxModel& onnx = loaded->onnx;
  const std::vector<Shape>& shapes = loaded->input_shapes;
  absl::StatusOr<ModelStats> stats = ComputeModelStats(onnx.model, shapes);
  if (!stats.ok()) return Fail(kCommand, stats.status());
  absl::StatusOr<DependencyGraph> dg = BuildDependencyGraph(onnx.model, shapes);
  if (!dg.ok()) return Fail(kCommand, dg.status());

  std::printf("model: %s (opset %lld)\n", path.c_str(), static_cast<long long>(onnx.opset));
  for (size_t i = 0; i < onnx.input_names.size(); ++i) {
    std::printf(
        "input:  %s %s\n", onnx.input_names[i].c_str(),
        i < onnx.input_shapes.size() ? FileShapeToString(onnx.input_shapes[i]).c_str() : "");
  }
  for (const std::string& name : onnx.output_names) std::printf("output: %s\n", name.c_str());
  std::printf("planned for inputs %s (symbolic dimensions as 1)\n\n",
              ShapesToString(shapes).c_str());

  std::printf("%-24s %-20s %-20s %12s %14s\n", "node", "op", "output", "params", "FLOPs");
  for (const LayerStats& l : stats->layers) {
    std::printf("%-24s %-20s %-20s %12lld %14lld\n", l.node.c_str(), l.op.c_str(), l.output.c_str(),
                static_cast<long long>(l.params), static_cast<long long>(l.flops));
  }
  std::printf("%-24s %-20s %-20s %12lld %14lld\n\n", "total", "", "",
              static_cast<long long>(stats->params), static_cast<long long>(stats->flops));

  std::printf("prunable groups (channels removed together):\n");
  // What `prune` would refuse before looking at any group.
  if (absl::Status refused = CheckNoUnprunableOps(onnx.model); !refused.ok()) {
    std::printf("  none: %s\n", std::string(refused.message()).c_str());
    return kExitOk;
  }
  if (dg->groups.empty()) std::printf("  none\n");
  for (size_t i = 0; i < dg->groups.size(); ++i) {
    const ChannelGroup& g = dg->groups[i];
    std::printf("  group %zu: %lld channels, %lld prunable; producers %s\n", i,
                static_cast<long long>(g.size()), static_cast<long long>(g.NumPrunable()),
                absl::StrJoin(g.producers, ", ").c_str());
    for (const std::string& why : g.blocked) {
      if (why.empty()) continue;
      std::printf("    blocked: %s\n", why.c_str());
      break;
    }
  }
  // LSTM layers are pruned by the pattern table (whole hidden units), not by groups.
  bool header = false;
  for (const auto& [fqn, m] : onnx.model.root().NamedModules()) {
    if (m->kind() != OpKind::kLstm) continue;
    for (const auto& [name, t] : m->parameters()) {
      if (!LstmLayerOfWeight(name)) continue;
      if (!header) std::printf("LSTM layers (whole hidden units, by pattern):\n");
      header = true;
      std::printf("  %s%s%s: %lld hidden units\n", fqn.c_str(), fqn.empty() ? "" : ".",
                  name.c_str(), static_cast<long long>(t.size(0) / 4));
    }
  }
  return kExitOk;
}

}  // namespace

const CommandSpec& InfoCommand() {
  static const CommandSpec* spec = new CommandSpec{
      .name = kCommand,
      .synopsis = "info MODEL.onnx",
      .summary =
          "Prints the model's layers (output shape, parameters, FLOPs), the totals, and its\n"
          "prunable channel groups (producers coupled by residual adds, concats, BatchNorms\n"
          "and depthwise convs; channels reaching a model output are not prunable).",
      .flags = {},
      .aliases = {},
      .min_positional = 1,
      .max_positional = 1,
      .positional_name = "MODEL.onnx"};
  return *spec;
}

int InfoMain(const std::vector<std::string>& argv) {
  absl::StatusOr<ParsedArgs> args = ParseArgs(InfoCommand(), argv);
  if (!args.ok()) return Fail(kCommand, args.status());
  if (args->help) {
    std::fputs(HelpText(InfoCommand()).c_str(), stdout);
    return kExitOk;
  }
  return RunInfo(args->positional[0]);
}

}  // namespace structprune::cli
