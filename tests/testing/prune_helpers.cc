#include "tests/testing/prune_helpers.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "graph/interpreter.h"
#include "graph/printer.h"
#include "pruning/parametrization.h"

namespace structprune::testing {
namespace {

std::string MaskBits(const Tensor& mask) {
  std::string bits;
  for (bool b : mask.values<bool>()) bits += b ? '1' : '0';
  return bits;
}

// One line per module: kind and attributes, parameter names and shapes, parametrizations
// (with their masks) and forward hooks.
std::string DescribeModule(const std::string& fqn, const Module& m) {
  std::string out = absl::StrCat("'", fqn, "' ", ModuleToString(m), " params{");
  for (const auto& [name, t] : m.parameters()) {
    absl::StrAppend(&out, name, ShapeToString(t.shape()), " ");
    if (const auto* list = m.parametrizations(name)) {
      for (const auto& p : *list) {
        absl::StrAppend(&out, "<", p->Name());
        if (auto* f = dynamic_cast<const FakeStructuredSparsity*>(p.get())) {
          absl::StrAppend(&out, ":", MaskBits(f->mask()));
        } else if (auto* l = dynamic_cast<const LstmUnitSparsity*>(p.get())) {
          absl::StrAppend(&out, ":", MaskBits(l->mask()));
        }
        absl::StrAppend(&out, "> ");
      }
    }
  }
  absl::StrAppend(&out, "} hooks{");
  for (const auto& h : m.forward_hooks()) {
    absl::StrAppend(&out, h->Name());
    if (auto* b = dynamic_cast<const BiasHook*>(h.get())) {
      absl::StrAppend(&out, "(prune_bias=", b->prune_bias(), ":", MaskBits(b->mask()), ")");
    }
    absl::StrAppend(&out, " ");
  }
  return out + "}\n";
}

}  // namespace

absl::Status RowOnePruner::UpdateMask(const Module&, const ConfigGroup&, Tensor& mask) {
  if (mask.numel() > 1) mask.data<bool>()[1] = false;
  return absl::OkStatus();
}

absl::Status ThirdPruner::UpdateMask(const Module&, const ConfigGroup&, Tensor& mask) {
  // random.sample(range(rows), rows // 3): distinct rows, by a partial Fisher-Yates shuffle.
  const int64_t rows = mask.numel();
  std::vector<int64_t> order(rows);
  for (int64_t i = 0; i < rows; ++i) order[i] = i;
  for (int64_t i = 0; i < rows / 3; ++i) {
    std::swap(order[i], order[i + rng_.UniformInt(rows - i)]);
    mask.data<bool>()[order[i]] = false;
  }
  return absl::OkStatus();
}

Tensor MaskWithout(int64_t n, const std::vector<int64_t>& pruned) {
  Tensor mask = Tensor::Zeros({n}, DType::kBool);
  std::fill_n(mask.data<bool>(), n, true);
  for (int64_t j : pruned) mask.data<bool>()[j] = false;
  return mask;
}

std::vector<int64_t> PrunedIndices(const Tensor& mask) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < mask.numel(); ++i) {
    if (!mask.data<bool>()[i]) out.push_back(i);
  }
  return out;
}

SparsityConfig ConfigFor(const std::vector<std::string>& tensor_fqns) {
  SparsityConfig config;
  for (const std::string& fqn : tensor_fqns) config.push_back({{kTensorFqn, fqn}});
  return config;
}

absl::StatusOr<PruneRun> PrepareMaskPruneVerify(BaseStructuredSparsifier& sparsifier,
                                                GraphModule& model, const PruneCase& c) {
  SP_RETURN_IF_ERROR(sparsifier.Prepare(model, c.config));
  SP_RETURN_IF_ERROR(sparsifier.Step());
  for (const auto& [fqn, pruned] : c.pruned) {
    SP_ASSIGN_OR_RETURN(Tensor live, sparsifier.GetMask(fqn));
    SP_RETURN_IF_ERROR(sparsifier.SetMask(fqn, MaskWithout(live.numel(), pruned)));
  }
  std::map<std::string, Tensor> masks;
  for (const ConfigGroup& g : sparsifier.groups()) {
    SP_ASSIGN_OR_RETURN(Tensor mask, sparsifier.GetMask(g.tensor_fqn));
    masks[g.tensor_fqn] = mask.Clone();
  }
  GraphModule masked = model.Clone();
  SP_ASSIGN_OR_RETURN(PruneReport report, sparsifier.Prune(c.prune));
  SP_ASSIGN_OR_RETURN(VerifyResult verify,
                      VerifyEquivalence(masked, model, c.input_shapes, report, c.verify));
  return PruneRun{std::move(masked), std::move(masks), std::move(report), verify};
}

std::string ParamShape(const GraphModule& model, absl::string_view tensor_fqn) {
  auto owner = model.root().FindTensorOwner(tensor_fqn);
  if (!owner.ok()) return "<none>";
  const Module& m = *owner->first;
  const Tensor* t = m.parameter(owner->second);
  if (t == nullptr) t = m.buffer(owner->second);
  return ShapeToString(t->shape());
}

absl::StatusOr<std::vector<Shape>> OutputShapes(const GraphModule& model,
                                                const std::vector<Shape>& input_shapes) {
  Rng rng(99);
  std::vector<Tensor> inputs;
  for (const Shape& s : input_shapes) inputs.push_back(rng.NormalTensor(s));
  SP_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, RunModel(model, inputs));
  std::vector<Shape> shapes;
  for (const Tensor& t : outputs) shapes.push_back(t.shape());
  return shapes;
}

ModelSnapshot TakeSnapshot(const GraphModule& model) {
  ModelSnapshot s;
  s.graph = GraphToString(model);
  for (auto& [fqn, t] : model.root().NamedParameters()) s.parameters.emplace_back(fqn, t.Clone());
  for (const auto& [fqn, m] : model.root().NamedModules()) s.structure += DescribeModule(fqn, *m);
  return s;
}

::testing::AssertionResult SameAsSnapshot(const ModelSnapshot& before, const GraphModule& model) {
  const ModelSnapshot now = TakeSnapshot(model);
  if (now.graph != before.graph) {
    return ::testing::AssertionFailure() << "graph changed from\n"
                                         << before.graph << "to\n"
                                         << now.graph;
  }
  if (now.structure != before.structure) {
    return ::testing::AssertionFailure() << "modules changed from\n"
                                         << before.structure << "to\n"
                                         << now.structure;
  }
  if (now.parameters.size() != before.parameters.size()) {
    return ::testing::AssertionFailure()
           << "parameter count changed from " << before.parameters.size() << " to "
           << now.parameters.size();
  }
  for (size_t i = 0; i < now.parameters.size(); ++i) {
    if (now.parameters[i].first != before.parameters[i].first ||
        !now.parameters[i].second.Equals(before.parameters[i].second)) {
      return ::testing::AssertionFailure() << "parameter '" << before.parameters[i].first
                                           << "' changed (now '" << now.parameters[i].first << "')";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult IsCleanPrunedModel(const GraphModule& model) {
  for (const auto& [fqn, m] : model.root().NamedModules()) {
    if (m->IsParametrized()) {
      return ::testing::AssertionFailure() << "'" << fqn << "' is still parametrized";
    }
    if (!m->forward_hooks().empty()) {
      return ::testing::AssertionFailure()
             << "'" << fqn << "' still has " << m->forward_hooks().size()
             << " forward hook(s), the first " << m->forward_hooks()[0]->Name();
    }
    if (m->HasParameter(kMovedBias)) {
      return ::testing::AssertionFailure()
             << "'" << fqn << "' still has a '" << kMovedBias << "' parameter";
    }
  }
  absl::Status lint = model.Lint();
  if (!lint.ok()) return ::testing::AssertionFailure() << "Lint: " << lint.ToString();
  return ::testing::AssertionSuccess();
}

}  // namespace structprune::testing
