#include "pruning/plan.h"

#include <algorithm>
#include <deque>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/index_select.h"
#include "core/status_macros.h"
#include "pruning/parametrization.h"
#include "pruning/prune_util.h"

namespace structprune {
namespace {

// One module's edits, computed before any module changes: Commit's first phase (which may
// fail) fills them from the prepared modules, its second applies them (which cannot fail).
struct ModuleEdit {
  explicit ModuleEdit(Module* m) : module(m) {}

  Module* module;
  bool finalize = false;         // drop parametrizations and hooks (their effect is baked in)
  bool drop_moved_bias = false;  // the bias moved aside under the BiasHook comes back as "bias"
  bool sliced = false;           // shape attributes re-derived from the tensors
  std::vector<std::pair<std::string, Tensor>> tensors;  // final values, in first-edit order
  std::vector<std::pair<std::string, AttrValue>> attrs;
  // Tensors staged as stored whose row mask the row slice applies to the rows it keeps: the
  // masked full-size copy a slice would replace at once is never made.
  std::vector<std::pair<std::string, Tensor>> deferred_row_masks;
};

// `name` as the edits so far leave it: staged, else stored (buffer or parameter); nullptr when
// absent.
const Tensor* Current(const ModuleEdit& e, absl::string_view name) {
  for (const auto& [n, t] : e.tensors) {
    if (n == name) return &t;
  }
  return e.module->HasBuffer(name) ? e.module->buffer(name) : e.module->parameter(name);
}

void Stage(ModuleEdit& e, absl::string_view name, Tensor value) {
  for (auto& [n, t] : e.tensors) {
    if (n == name) {
      t = std::move(value);  // a baked full-size weight lives only until its slice replaces it
      return;
    }
  }
  e.tensors.emplace_back(std::string(name), std::move(value));
}

bool NeedsFinalize(const Module& m) {
  return m.IsParametrized() || !m.forward_hooks().empty() || m.HasParameter(kMovedBias);
}

// The row mask of tensor `name` when a FakeStructuredSparsity that fits it is its only
// parametrization; nullptr otherwise.
const Tensor* SoleRowMask(const Module& m, const std::string& name, const Tensor& stored) {
  const auto* list = m.parametrizations(name);
  if (list == nullptr || list->size() != 1) return nullptr;
  const auto* rows = dynamic_cast<const FakeStructuredSparsity*>(list->front().get());
  if (rows == nullptr || stored.dim() < 1 || rows->mask().numel() != stored.size(0)) return nullptr;
  return &rows->mask();
}

// Stages what the prepared module computed: masked weights baked in, the moved-aside bias back
// under "bias" as the BiasHook applied it, hooks gone. A weight whose rows the plan slices
// (`rows_sliced`) and whose only parametrization is a row mask is staged as stored, its mask
// left to the slice (ApplyDeferredRowMask).
absl::Status StageFinalize(ModuleEdit& e, absl::FunctionRef<bool(const Module&, absl::string_view)> rows_sliced) {
  const Module& m = *e.module;
  for (const auto& [name, t] : m.parameters()) {
    if (!m.IsParametrized(name)) continue;
    if (const Tensor* mask = SoleRowMask(m, name, t); mask != nullptr && name == "weight" && rows_sliced(m, name)) {
      Stage(e, name, t);
      e.deferred_row_masks.emplace_back(name, *mask);
      continue;
    }
    SP_ASSIGN_OR_RETURN(Tensor effective, m.Effective(name));
    Stage(e, name, std::move(effective));
  }
  const BiasHook* hook = nullptr;
  for (const auto& h : m.forward_hooks()) {
    if (auto* b = dynamic_cast<const BiasHook*>(h.get())) hook = b;
  }
  if (const Tensor* moved = Current(e, kMovedBias)) {
    Tensor bias = *moved;  // shared: edits replace tensors, never write into them
    if (hook != nullptr && hook->prune_bias()) {
      bias = moved->Clone();
      for (int64_t c = 0; c < bias.numel(); ++c) {
        if (!hook->mask().data<bool>()[c]) bias.data<float>()[c] = 0.0f;
      }
    }
    std::erase_if(e.tensors, [](const auto& staged) { return staged.first == kMovedBias; });
    e.drop_moved_bias = true;
    Stage(e, "bias", std::move(bias));
  }
  e.finalize = true;
  return absl::OkStatus();
}

// After `rows` (just made by the row slice of staged tensor `name`, so not shared) kept `keep`:
// zeroes the kept rows its deferred mask masks, as the masked weight had them.
void ApplyDeferredRowMask(ModuleEdit& e, absl::string_view name, const std::vector<int64_t>& keep, Tensor& rows) {
  auto it = std::find_if(e.deferred_row_masks.begin(), e.deferred_row_masks.end(),
                         [name](const auto& d) { return d.first == name; });
  if (it == e.deferred_row_masks.end()) return;
  const int64_t row = rows.numel() / std::max<int64_t>(rows.size(0), 1);
  for (size_t j = 0; j < keep.size(); ++j) {
    if (!it->second.data<bool>()[keep[j]]) std::fill_n(rows.data<float>() + static_cast<int64_t>(j) * row, row, 0.0f);
  }
  e.deferred_row_masks.erase(it);
}

// Applies a module's staged edits in the order the prepared model would see them one by one:
// tensors replaced in place keep their position, the moved bias goes, new ones are appended.
void Apply(ModuleEdit& e) {
  Module& m = *e.module;
  if (e.finalize) {
    m.ClearParametrizations();
    m.ClearForwardHooks();
  }
  if (e.drop_moved_bias) m.RemoveParameter(kMovedBias);
  for (auto& [name, t] : e.tensors) {
    if (m.HasBuffer(name)) {
      m.SetBuffer(name, std::move(t));
    } else {
      m.SetParameter(name, std::move(t));
    }
  }
  if (e.sliced) SyncShapeAttrs(m);
  for (auto& [name, value] : e.attrs) m.mutable_attrs()[name] = std::move(value);
}

// Every module below and including `m`, depth first.
void ForEachModule(Module& m, const std::function<void(Module&)>& fn) {
  fn(m);
  for (const auto& [name, child] : m.children()) ForEachModule(*child, fn);
}

}  // namespace

PrunePlan::PrunePlan(const GraphModule& model, PruneOptions options) : model_(model), options_(options) {
  for (const Node* node : model.graph().nodes()) {
    if (node->kind() == NodeKind::kCallModule) ++calls_[node->target()];
    if (node->kind() == NodeKind::kGetAttr) ++get_attrs_[node->target()];
  }
}

absl::Status PrunePlan::CheckSingleUse(absl::string_view module_fqn, absl::string_view tensor_fqn) const {
  auto count = [](const absl::flat_hash_map<absl::string_view, int>& m, absl::string_view key) {
    auto it = m.find(key);
    return it == m.end() ? 0 : it->second;
  };
  const int uses = count(calls_, module_fqn) + count(get_attrs_, tensor_fqn);
  if (uses <= 1) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat("'", tensor_fqn, "' is used at ", uses, " places in the graph ('",
                                               module_fqn, "' called or read more than once); an edit for one use "
                                               "would change the others"));
}

absl::Status PrunePlan::Slice(const std::string& tensor_fqn, int64_t dim, std::vector<int64_t> keep) {
  const auto [module_fqn, name] = internal::SplitTensorFqn(tensor_fqn);
  SP_RETURN_IF_ERROR(CheckSingleUse(module_fqn, tensor_fqn));
  Module* m = model_.root().FindModule(module_fqn);
  const Tensor* t = m == nullptr ? nullptr : internal::PreparedTensor(*m, name);
  if (t == nullptr) return absl::InternalError(absl::StrCat("plan slices unknown tensor '", tensor_fqn, "'"));
  if (dim < 0 || dim >= t->dim()) {
    return absl::InternalError(absl::StrCat("plan slices dim ", dim, " of '", tensor_fqn, "' ", ShapeToString(t->shape())));
  }
  for (int64_t k : keep) {
    if (k < 0 || k >= t->size(dim)) {
      return absl::InternalError(absl::StrCat("plan keeps index ", k, " of dim ", dim, " of '", tensor_fqn, "'"));
    }
  }
  auto [entry, first] = slice_of_.try_emplace(t, slices_.size());
  if (first) slices_.push_back({tensor_fqn, m, std::string(name), {}});
  auto& dims = slices_[entry->second].dims;
  auto it = std::find_if(dims.begin(), dims.end(), [dim](const auto& d) { return d.first >= dim; });
  if (it != dims.end() && it->first == dim) {
    if (it->second == keep) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "'", tensor_fqn, "' dim ", dim, " would be sliced two ways (keep [", absl::StrJoin(it->second, ", "),
        "] vs [", absl::StrJoin(keep, ", "), "]): its channels are shared by several producers; that needs dependency groups"));
  }
  dims.emplace(it, dim, std::move(keep));
  return absl::OkStatus();
}

const std::vector<int64_t>* PrunePlan::RowsKept(const Module& m, absl::string_view name) const {
  const Tensor* t = internal::PreparedTensor(m, name);
  auto it = t == nullptr ? slice_of_.end() : slice_of_.find(t);
  if (it == slice_of_.end()) return nullptr;
  const auto& dims = slices_[it->second].dims;  // ascending: rows first when sliced
  return !dims.empty() && dims.front().first == 0 ? &dims.front().second : nullptr;
}

absl::Status PrunePlan::AddToBias(const std::string& module_fqn, const Tensor& delta) {
  SP_RETURN_IF_ERROR(CheckSingleUse(module_fqn, module_fqn + ".bias"));
  auto it = bias_deltas_.find(module_fqn);
  if (it == bias_deltas_.end()) {
    bias_deltas_[module_fqn] = delta.Clone();
    return absl::OkStatus();
  }
  if (it->second.shape() != delta.shape()) {
    return absl::InternalError(absl::StrCat("bias deltas for '", module_fqn, "' differ in shape"));
  }
  for (int64_t i = 0; i < delta.numel(); ++i) it->second.data<float>()[i] += delta.data<float>()[i];
  return absl::OkStatus();
}

void PrunePlan::SetAttr(const std::string& module_fqn, const std::string& name, AttrValue value) {
  attrs_[module_fqn][name] = std::move(value);
}

absl::Status PrunePlan::Commit(GraphModule& model) const {
  if (&model != &model_) return absl::InternalError("a prune plan commits only to the model it was made from");
  // Phase 1: every module's new tensors and attributes, from the prepared model, which stays
  // as it is; any error returns here. A module is finalized (its masks baked) at its first edit.
  std::deque<ModuleEdit> edits;  // a deque: the pointers `edit` hands out stay valid
  absl::flat_hash_map<const Module*, size_t> edit_of;
  auto rows_sliced = [this](const Module& m, absl::string_view name) { return RowsKept(m, name) != nullptr; };
  auto edit = [&](Module* m) -> absl::StatusOr<ModuleEdit*> {
    auto [it, first] = edit_of.try_emplace(m, edits.size());
    if (first) {
      edits.emplace_back(m);
      SP_RETURN_IF_ERROR(StageFinalize(edits.back(), rows_sliced));
    }
    return &edits[it->second];
  };
  auto edit_named = [&](absl::string_view module_fqn, absl::string_view what) -> absl::StatusOr<ModuleEdit*> {
    Module* m = model.root().FindModule(module_fqn);
    if (m == nullptr) return absl::InternalError(absl::StrCat(what, " of unknown module '", module_fqn, "'"));
    return edit(m);
  };
  std::vector<TensorSlices> new_bias_slices;
  for (const auto& [fqn, delta] : bias_deltas_) {
    SP_ASSIGN_OR_RETURN(ModuleEdit * e, edit_named(fqn, "bias fold into"));
    const Tensor* bias = Current(*e, "bias");
    if (bias == nullptr) {
      Stage(*e, "bias", delta.Clone());
      e->attrs.emplace_back("bias", true);
      // A module that loses rows itself drops the same entries of its new bias.
      if (const std::vector<int64_t>* rows = RowsKept(*e->module, "weight")) {
        new_bias_slices.push_back({fqn + ".bias", e->module, "bias", {{0, *rows}}});
      }
      continue;
    }
    if (bias->shape() != delta.shape()) {
      return absl::InternalError(absl::StrCat("bias fold into '", fqn, "': ", ShapeToString(delta.shape()),
                                              " vs bias ", ShapeToString(bias->shape())));
    }
    Tensor folded = bias->Clone();
    for (int64_t i = 0; i < delta.numel(); ++i) folded.data<float>()[i] += delta.data<float>()[i];
    Stage(*e, "bias", std::move(folded));
  }
  auto slice = [&](const TensorSlices& s) -> absl::Status {
    SP_ASSIGN_OR_RETURN(ModuleEdit * e, edit(s.module));
    const Tensor* stored = Current(*e, s.name);
    if (stored == nullptr) return absl::InternalError(absl::StrCat("plan slices unknown tensor '", s.fqn, "'"));
    Tensor t = *stored;
    for (const auto& [dim, keep] : s.dims) {
      SP_ASSIGN_OR_RETURN(t, SelectAlongDim(t, dim, keep));
      if (dim == 0) ApplyDeferredRowMask(*e, s.name, keep, t);
    }
    Stage(*e, s.name, std::move(t));
    e->sliced = true;
    return absl::OkStatus();
  };
  for (const TensorSlices& s : slices_) SP_RETURN_IF_ERROR(slice(s));
  for (const TensorSlices& s : new_bias_slices) SP_RETURN_IF_ERROR(slice(s));
  for (const auto& [fqn, attrs] : attrs_) {
    SP_ASSIGN_OR_RETURN(ModuleEdit * e, edit_named(fqn, "attribute edit"));
    for (const auto& [name, value] : attrs) e->attrs.emplace_back(name, value);
  }
  // Every other prepared module is finalized too (a masked layer that keeps all its channels).
  absl::Status finalized = absl::OkStatus();
  ForEachModule(model.root(), [&](Module& m) {
    if (!finalized.ok() || edit_of.contains(&m) || !NeedsFinalize(m)) return;
    edit_of.emplace(&m, edits.size());
    edits.emplace_back(&m);
    finalized = StageFinalize(edits.back(), rows_sliced);
  });
  SP_RETURN_IF_ERROR(finalized);
  for (const ModuleEdit& e : edits) {
    if (!e.deferred_row_masks.empty()) {
      return absl::InternalError(absl::StrCat("the row mask of '", e.deferred_row_masks.front().first,
                                              "' was left to a row slice that never came"));
    }
  }
  // Phase 2: apply in place (the module tree and the graph keep their structure, so the model
  // stays as valid as it was; no re-lint).
  for (ModuleEdit& e : edits) Apply(e);
  return absl::OkStatus();
}

void SyncShapeAttrs(Module& m) {
  AttrMap& a = m.mutable_attrs();
  const Tensor* w = m.parameter("weight");
  switch (m.kind()) {
    case OpKind::kLinear:
      a["out_features"] = w->size(0);
      a["in_features"] = w->size(1);
      break;
    case OpKind::kConv2d: {
      auto groups = GetIntAttr(a, "groups", 1);
      a["out_channels"] = w->size(0);
      a["in_channels"] = w->size(1) * (groups.ok() ? *groups : 1);
      break;
    }
    case OpKind::kLstm:
      a["hidden_size"] = m.parameter("weight_hh_l0")->size(1);
      a["input_size"] = m.parameter("weight_ih_l0")->size(1);
      break;
    case OpKind::kLayerNorm:
      if (w != nullptr) a["normalized_shape"] = std::vector<int64_t>(w->shape().begin(), w->shape().end());
      break;
    case OpKind::kPrelu:
      if (w != nullptr) a["num_parameters"] = w->numel();
      break;
    case OpKind::kBatchNorm2d:
      a["num_features"] = (w != nullptr ? w : m.buffer("running_mean"))->size(0);
      break;
    default:
      break;
  }
}

}  // namespace structprune
