#include "tests/testing/prune_properties.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/rng.h"
#include "graph/interpreter.h"
#include "graph/model_stats.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "pruning/pruners/fpgm_pruner.h"
#include "pruning/pruners/lstm_saliency_pruner.h"
#include "pruning/pruners/saliency_pruner.h"
#include "pruning/verify.h"
#include "tests/testing/prune_helpers.h"

namespace structprune::testing {
namespace {

// Relative tolerance of every comparison here: pruned vs masked (the verifier's default) and
// imported vs exported (same kernels; only ONNX's decomposed activation forms round apart).
constexpr double kTolerance = 1e-4;

std::string OptionToString(const OptionValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return absl::StrCat(*d);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* s = std::get_if<std::string>(&v)) return absl::StrCat("\"", *s, "\"");
  std::string bits;
  for (bool b : std::get<Tensor>(v).values<bool>()) bits += b ? '1' : '0';
  return absl::StrCat("mask ", bits);
}

std::string OptionsToString(const Options& options) {
  return absl::StrCat("{",
                      absl::StrJoin(options, ", ",
                                    [](std::string* out, const auto& kv) {
                                      absl::StrAppend(out, kv.first, ": ",
                                                      OptionToString(kv.second));
                                    }),
                      "}");
}

Tensor RandomMask(ChoiceSource& c, int64_t n, double keep) {
  Tensor mask = Tensor::Zeros({n}, DType::kBool);
  for (int64_t i = 0; i < n; ++i) mask.data<bool>()[i] = c.Chance(keep);
  return mask;
}

// The mask length a config may give a tensor: rows, or hidden units of an LSTM layer.
int64_t Channels(const GraphModule& model, const std::string& tensor_fqn) {
  auto owner = model.root().FindTensorOwner(tensor_fqn);
  if (!owner.ok()) return 0;
  return PrunableChannels(*owner->first, owner->second).value_or(0);
}

struct Setup {
  std::unique_ptr<BaseStructuredSparsifier> pruner;
  bool random_masks = false;  // after Step(), masks are set at random
  std::optional<SparsityConfig> config;
  PruneOptions prune;
  std::vector<std::string> lines;
};

Setup DrawSetup(const RandomGraph& graph, ChoiceSource& c) {
  Setup s;
  Options defaults;
  const int64_t level_choice = c.Int(0, 7);
  const double level = level_choice == 0 ? 0.0 : level_choice == 1 ? 1.0 : c.Eighths(0, 1);
  defaults[kSparsityLevel] = level;
  if (!c.Chance(0.2)) defaults[kPruneBias] = c.Bool();
  const bool group_mode = c.Bool();
  std::vector<std::string> producers;  // Linear / Conv2d module FQNs, for ignored_layers
  for (const auto& [fqn, m] : graph.model.root().NamedModules()) {
    if (m->kind() == OpKind::kLinear || m->kind() == OpKind::kConv2d) producers.push_back(fqn);
  }
  if (group_mode) {
    if (c.Chance(0.15)) defaults["round_to"] = static_cast<double>(c.Int(2, 4));
    if (c.Chance(0.15)) defaults["global_pruning"] = true;
    if (c.Chance(0.1)) defaults["max_group_sparsity"] = c.Eighths(0, 1);
    if (c.Chance(0.05) && !producers.empty()) defaults["ignored_layers"] = c.Pick(producers);
  }
  const int64_t kind = c.Int(0, 9);
  std::string name;
  if (kind <= 2) {
    s.pruner = std::make_unique<KeepMasksPruner>(defaults);
    s.random_masks = true;
    name = "random masks";
  } else if (kind <= 4) {
    s.pruner = std::make_unique<SaliencyPruner>(defaults);
    name = "SaliencyPruner";
  } else if (kind <= 6) {
    const bool l1 = c.Bool();
    s.pruner = std::make_unique<FPGMPruner>(
        level, l1 ? FPGMPruner::Distance::kL1 : FPGMPruner::Distance::kL2, defaults);
    name = l1 ? "FPGMPruner(L1)" : "FPGMPruner(L2)";
  } else if (kind == 7) {
    s.pruner = std::make_unique<LSTMSaliencyPruner>(defaults);
    name = "LSTMSaliencyPruner";
  } else if (kind == 8) {
    s.pruner = std::make_unique<RowOnePruner>(defaults);
    name = "RowOnePruner";
  } else {
    s.pruner = std::make_unique<ThirdPruner>(defaults, static_cast<uint64_t>(c.Int(0, 1000)));
    name = "ThirdPruner";
  }
  if (group_mode) s.pruner->SetInputShapes(graph.input_shapes);
  s.prune.approximate = c.Chance(0.15);
  s.lines.push_back(absl::StrCat(name, " ", OptionsToString(defaults),
                                 group_mode ? ", dependency groups" : ", patterns",
                                 s.prune.approximate ? ", approximate" : ", exact"));

  if (c.Chance(0.2)) {
    s.lines.push_back("config: default (every supported tensor)");
    return s;
  }
  const SparsityConfig all = s.pruner->MakeConfigFromModel(graph.model.root());
  SparsityConfig config;
  for (const Options& entry : all) {
    if (c.Chance(0.6)) config.push_back(entry);
  }
  if (config.empty() && !all.empty()) config.push_back(c.Pick(all));
  for (Options& entry : config) {
    const std::string& fqn = std::get<std::string>(entry.at(kTensorFqn));
    if (c.Chance(0.25)) entry[kSparsityLevel] = c.Eighths(0, 1);
    if (c.Chance(0.15)) entry[kPruneBias] = c.Bool();
    if (s.random_masks && c.Chance(0.3)) {
      const int64_t n = Channels(graph.model, fqn);
      Tensor mask = RandomMask(c, n, 0.6);
      if (fqn.find("weight_ih") != std::string::npos && c.Chance(0.3)) {
        // The seed's per-row layout: four gate blocks that agree, or (rarely) disagree.
        Tensor rows = Tensor::Zeros({4 * n}, DType::kBool);
        for (int64_t i = 0; i < 4 * n; ++i) rows.data<bool>()[i] = mask.data<bool>()[i % n];
        if (c.Chance(0.2)) rows.data<bool>()[4 * n - 1] = !rows.data<bool>()[4 * n - 1];
        mask = rows;
      }
      entry[kMask] = mask;
    }
  }
  if (c.Chance(0.04) && !config.empty()) {
    // One invalid entry: Prepare() must refuse it and leave the model alone.
    Options& entry = config[c.Int(0, static_cast<int64_t>(config.size()) - 1)];
    const std::string fqn = std::get<std::string>(entry.at(kTensorFqn));
    switch (c.Int(0, 4)) {
      case 0:
        entry[kSparsityLevel] = 1.5;
        break;
      case 1:
        entry[kTensorFqn] = std::string("no_such_module.weight");
        break;
      case 2:
        entry[kTensorFqn] = fqn.substr(0, fqn.rfind('.')) + ".bias";
        break;
      case 3:
        entry[kMask] = Tensor::Zeros({Channels(graph.model, fqn) + 1}, DType::kBool);
        break;
      default:
        config.push_back(entry);
    }
  }
  for (const Options& entry : config) s.lines.push_back("config " + OptionsToString(entry));
  s.config = std::move(config);
  return s;
}

// Export errors that are documented limits of ONNX or of our exporter (graph/onnx_export.h,
// export_ops.cc), not failures.
bool IsDocumentedExportLimit(const absl::Status& s) {
  if (s.code() != absl::StatusCode::kUnimplemented) return false;
  for (const char* why : {"does not divide", "divisor_override has no ONNX form",
                          "an initial state with num_layers > 1", "< 20 has no ONNX form"}) {
    if (absl::StrContains(s.message(), why)) return true;
  }
  return false;
}

class Checker {
 public:
  Checker(RandomGraph& graph, uint64_t seed, PropertyOutcome& out)
      : graph_(graph), seed_(seed), out_(out) {}

  void Violation(std::string what) { out_.violations.push_back(std::move(what)); }

  // (a): a failed stage returns a non-OK status that is no Internal error and leaves the model
  // as `before`. True when the stage succeeded.
  bool Stage(const char* stage, const absl::Status& s, const ModelSnapshot& before) {
    if (s.ok()) return true;
    out_.rejection = absl::StrCat(stage, ": ", s.ToString());
    if (s.code() == absl::StatusCode::kInternal) {
      Violation(absl::StrCat(stage, " failed with an Internal error (our bug): ", s.ToString()));
    }
    if (::testing::AssertionResult same = SameAsSnapshot(before, graph_.model); !same) {
      Violation(absl::StrCat(stage, " failed (", s.ToString(),
                             ") but changed the model: ", same.message()));
    }
    return false;
  }

  // Prepare() alone changes nothing the model computes while every mask keeps everything.
  void CheckUnmaskedPrepare(const GraphModule& original, const BaseStructuredSparsifier& pruner) {
    for (const ConfigGroup& g : pruner.groups()) {
      absl::StatusOr<Tensor> mask = pruner.GetMask(g.tensor_fqn);
      if (!mask.ok()) return;
      for (bool keep : mask->values<bool>()) {
        if (!keep) return;
      }
    }
    absl::StatusOr<VerifyResult> v =
        VerifyEquivalence(original, graph_.model, graph_.input_shapes, PruneReport{},
                          {.trials = 1, .seed = seed_, .tolerance = kTolerance});
    if (!v.ok() || !v->equivalent) {
      Violation(absl::StrCat("the prepared model, nothing masked, differs from the model: ",
                             v.ok() ? v->ToString() : v.status().ToString()));
    }
  }

  // (b) and (d) on a pruned model; `masked` is the model just before Prune().
  void CheckPruned(const GraphModule& original, const GraphModule& masked,
                   const PruneReport& report, bool approximate) {
    const GraphModule& pruned = graph_.model;
    if (::testing::AssertionResult clean = IsCleanPrunedModel(pruned); !clean) {
      Violation(absl::StrCat("pruned model is not clean: ", clean.message()));
    }
    bool inexact = false;
    for (const LayerPruneRecord& r : report.layers)
      inexact |= !r.channels_removed_inexactly.empty();
    absl::StatusOr<VerifyResult> v =
        VerifyEquivalence(masked, pruned, graph_.input_shapes, report,
                          {.trials = 2, .seed = seed_, .tolerance = kTolerance});
    if (!v.ok()) {
      Violation(
          absl::StrCat("verification failed: ", v.status().ToString(), "\n", report.ToString()));
    } else if (!v->equivalent && !(approximate && inexact)) {
      Violation(absl::StrCat("pruned != masked: ", v->ToString(), "\n", report.ToString()));
    }
    absl::StatusOr<ModelStats> before = ComputeModelStats(original, graph_.input_shapes);
    absl::StatusOr<ModelStats> after = ComputeModelStats(pruned, graph_.input_shapes);
    if (!before.ok() || !after.ok()) {
      Violation(absl::StrCat("model stats: ", before.status().ToString(), " / ",
                             after.status().ToString()));
    } else if (after->params > before->params) {
      Violation(absl::StrCat("parameters grew from ", before->params, " to ", after->params, "\n",
                             report.ToString()));
    }
    if (report.params_after > report.params_before) {
      Violation(absl::StrCat("report: parameters grew from ", report.params_before, " to ",
                             report.params_after));
    }
  }

  // (c): `model` exported and imported back computes what `model` computes.
  void CheckOnnxRoundTrip(const GraphModule& model) {
    absl::StatusOr<std::string> bytes = ExportOnnxToBytes(model, graph_.input_shapes);
    if (!bytes.ok()) {
      if (!IsDocumentedExportLimit(bytes.status())) {
        Violation(absl::StrCat("ONNX export failed: ", bytes.status().ToString()));
      }
      return;
    }
    absl::StatusOr<OnnxModel> back = ImportOnnxFromBytes(*bytes);
    if (!back.ok()) {
      Violation(absl::StrCat("ONNX import of our own export failed: ", back.status().ToString()));
      return;
    }
    Rng rng(seed_ + 1);
    std::vector<Tensor> inputs;
    for (const Shape& s : graph_.input_shapes) inputs.push_back(rng.NormalTensor(s));
    absl::StatusOr<std::vector<Tensor>> expected = RunModel(model, inputs);
    absl::StatusOr<std::vector<Tensor>> actual = RunModel(back->model, inputs);
    if (!expected.ok() || !actual.ok()) {
      Violation(absl::StrCat("ONNX round trip does not run: ", expected.status().ToString(), " / ",
                             actual.status().ToString()));
      return;
    }
    if (actual->size() != expected->size()) {
      Violation(
          absl::StrCat("ONNX round trip has ", actual->size(), " outputs, not ", expected->size()));
      return;
    }
    for (size_t i = 0; i < actual->size(); ++i) {
      absl::StatusOr<TensorDiff> d = CompareTensors((*actual)[i], (*expected)[i]);
      if (!d.ok()) {
        Violation(absl::StrCat("ONNX round trip output ", i, ": ", d.status().ToString()));
      } else if (d->max_abs > kTolerance * std::max(1.0f, d->max_ref)) {
        Violation(absl::StrCat("ONNX round trip output ", i, " differs: max |diff| ", d->max_abs,
                               " at scale ", d->max_ref));
      }
    }
    out_.onnx_checked = true;
  }

 private:
  RandomGraph& graph_;
  uint64_t seed_;
  PropertyOutcome& out_;
};

}  // namespace

PropertyOutcome CheckPruneProperties(RandomGraph& graph, ChoiceSource& choices, uint64_t seed) {
  PropertyOutcome out;
  Checker check(graph, seed, out);
  Setup setup = DrawSetup(graph, choices);
  out.setup = absl::StrJoin(setup.lines, "\n");
  GraphModule& model = graph.model;
  const GraphModule original = model.Clone();
  BaseStructuredSparsifier& pruner = *setup.pruner;

  ModelSnapshot before = TakeSnapshot(model);
  bool ok = check.Stage("Prepare", pruner.Prepare(model, setup.config), before);
  if (ok) check.CheckUnmaskedPrepare(original, pruner);
  if (ok) {
    before = TakeSnapshot(model);
    ok = check.Stage("Step", pruner.Step(), before);
  }
  if (ok && setup.random_masks) {
    const double keep = choices.Pick(std::vector<double>{0.0, 0.5, 0.75, 0.9});
    for (const ConfigGroup& g : pruner.groups()) {
      absl::StatusOr<Tensor> live = pruner.GetMask(g.tensor_fqn);
      absl::Status s = live.ok()
                           ? pruner.SetMask(g.tensor_fqn, RandomMask(choices, live->numel(), keep))
                           : live.status();
      if (!s.ok()) check.Violation(absl::StrCat("SetMask of a configured tensor: ", s.ToString()));
    }
  }
  if (ok) {
    before = TakeSnapshot(model);
    const GraphModule masked = model.Clone();
    absl::StatusOr<PruneReport> report = pruner.Prune(setup.prune);
    ok = check.Stage("Prune", report.status(), before);
    if (ok) {
      out.pruned = true;
      out.shrunk = report->params_after < report->params_before;
      check.CheckPruned(original, masked, *report, setup.prune.approximate);
      // Done with the model: a second Prune() is refused and changes nothing.
      before = TakeSnapshot(model);
      absl::StatusOr<PruneReport> again = pruner.Prune(setup.prune);
      if (again.status().code() != absl::StatusCode::kFailedPrecondition) {
        check.Violation(absl::StrCat("a second Prune() returned ", again.status().ToString()));
      }
      if (::testing::AssertionResult same = SameAsSnapshot(before, model); !same) {
        check.Violation(absl::StrCat("a second Prune() changed the model: ", same.message()));
      }
    }
  }
  // A rejected model is still prepared (hooks): export the original instead.
  check.CheckOnnxRoundTrip(out.pruned ? model : original);
  return out;
}

}  // namespace structprune::testing
