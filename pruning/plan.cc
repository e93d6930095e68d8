#include "pruning/plan.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/index_select.h"
#include "core/status_macros.h"
#include "pruning/parametrization.h"
#include "pruning/prune_util.h"

namespace structprune {
namespace {

// Restores what the prepared module computed: masked weights baked in, the moved-aside bias
// back under "bias" as the BiasHook applied it, hooks gone.
absl::Status Finalize(Module& m) {
  std::vector<std::string> parametrized;
  for (const auto& [name, t] : m.parameters()) {
    if (m.IsParametrized(name)) parametrized.push_back(name);
  }
  for (const std::string& name : parametrized) {
    SP_RETURN_IF_ERROR(m.RemoveParametrizations(name, /*leave_parametrized=*/true));
  }
  const BiasHook* hook = nullptr;
  for (const auto& h : m.forward_hooks()) {
    if (auto* b = dynamic_cast<const BiasHook*>(h.get())) hook = b;
  }
  if (const Tensor* moved = m.parameter(kMovedBias)) {
    Tensor bias = *moved;  // shared: Commit replaces tensors, never writes into them
    if (hook != nullptr && hook->prune_bias()) {
      bias = moved->Clone();
      for (int64_t c = 0; c < bias.numel(); ++c) {
        if (!hook->mask().data<bool>()[c]) bias.data<float>()[c] = 0.0f;
      }
    }
    m.RemoveParameter(kMovedBias);
    m.SetParameter("bias", bias);
  }
  m.ClearForwardHooks();
  return absl::OkStatus();
}

// Finalizes `m` and every module below it that `done` does not hold yet.
absl::Status FinalizeTree(Module& m, absl::flat_hash_set<const Module*>& done) {
  if (done.insert(&m).second) SP_RETURN_IF_ERROR(Finalize(m));
  for (const auto& [name, child] : m.children()) SP_RETURN_IF_ERROR(FinalizeTree(*child, done));
  return absl::OkStatus();
}

}  // namespace

PrunePlan::PrunePlan(const GraphModule& model, PruneOptions options) : model_(model), options_(options) {
  for (const Node* node : model.graph().nodes()) {
    if (node->kind() == NodeKind::kCallModule) ++calls_[node->target()];
    if (node->kind() == NodeKind::kGetAttr) ++get_attrs_[node->target()];
  }
}

absl::Status PrunePlan::CheckSingleUse(absl::string_view module_fqn, absl::string_view tensor_fqn) const {
  auto count = [](const std::map<std::string, int, std::less<>>& m, absl::string_view key) {
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
  const Module* m = model_.root().FindModule(module_fqn);
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
  auto& dims = slices_[tensor_fqn];
  auto it = dims.find(dim);
  if (it != dims.end() && it->second != keep) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", tensor_fqn, "' dim ", dim, " would be sliced two ways (keep [", absl::StrJoin(it->second, ", "),
        "] vs [", absl::StrJoin(keep, ", "), "]): its channels are shared by several producers; that needs dependency groups"));
  }
  dims[dim] = std::move(keep);
  return absl::OkStatus();
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
  // Edits touch modules only, on a copy of the module tree. They replace tensors (baked masks,
  // slices, folded biases are new tensors), so the copy shares storage with `model`.
  std::unique_ptr<Module> staged = model.root().Clone(Module::TensorCopy::kShared);
  Module& root = *staged;
  // A module is finalized right before its first edit, so a baked full-size weight lives only
  // until its slice replaces it (the heap stays small on models of thousands of layers).
  absl::flat_hash_set<const Module*> finalized;
  auto module_ready = [&](absl::string_view module_fqn, absl::string_view what) -> absl::StatusOr<Module*> {
    Module* m = root.FindModule(module_fqn);
    if (m == nullptr) return absl::InternalError(absl::StrCat(what, " of unknown module '", module_fqn, "'"));
    if (finalized.insert(m).second) SP_RETURN_IF_ERROR(Finalize(*m));
    return m;
  };
  std::map<std::string, std::map<int64_t, std::vector<int64_t>>> new_bias_slices;
  for (const auto& [fqn, delta] : bias_deltas_) {
    SP_ASSIGN_OR_RETURN(Module * m, module_ready(fqn, "bias fold into"));
    Tensor* bias = m->mutable_parameter("bias");
    if (bias == nullptr) {
      m->SetParameter("bias", delta.Clone());
      m->mutable_attrs()["bias"] = true;
      // A module that loses rows itself drops the same entries of its new bias.
      auto rows = slices_.find(fqn + ".weight");
      if (rows != slices_.end() && rows->second.count(0)) new_bias_slices[fqn + ".bias"][0] = rows->second.at(0);
      continue;
    }
    if (bias->shape() != delta.shape()) {
      return absl::InternalError(absl::StrCat("bias fold into '", fqn, "': ", ShapeToString(delta.shape()),
                                              " vs bias ", ShapeToString(bias->shape())));
    }
    Tensor folded = bias->Clone();
    for (int64_t i = 0; i < delta.numel(); ++i) folded.data<float>()[i] += delta.data<float>()[i];
    m->SetParameter("bias", folded);
  }
  std::set<Module*> touched;
  auto slice = [&](const std::string& fqn, const std::map<int64_t, std::vector<int64_t>>& dims) -> absl::Status {
    const auto [module_fqn, name] = internal::SplitTensorFqn(fqn);
    SP_ASSIGN_OR_RETURN(Module * m, module_ready(module_fqn, "slice"));
    const Tensor* stored = m->HasBuffer(name) ? m->buffer(name) : m->parameter(name);
    if (stored == nullptr) return absl::InternalError(absl::StrCat("plan slices unknown tensor '", fqn, "'"));
    Tensor t = *stored;
    for (const auto& [dim, keep] : dims) {
      SP_ASSIGN_OR_RETURN(t, SelectAlongDim(t, dim, keep));
    }
    if (m->HasBuffer(name)) {
      m->SetBuffer(std::string(name), t);
    } else {
      m->SetParameter(std::string(name), t);
    }
    touched.insert(m);
    return absl::OkStatus();
  };
  for (const auto& [fqn, dims] : slices_) SP_RETURN_IF_ERROR(slice(fqn, dims));
  for (const auto& [fqn, dims] : new_bias_slices) SP_RETURN_IF_ERROR(slice(fqn, dims));
  for (Module* m : touched) SyncShapeAttrs(*m);
  for (const auto& [fqn, attrs] : attrs_) {
    SP_ASSIGN_OR_RETURN(Module * m, module_ready(fqn, "attribute edit"));
    for (const auto& [name, value] : attrs) m->mutable_attrs()[name] = value;
  }
  SP_RETURN_IF_ERROR(FinalizeTree(root, finalized));
  SP_RETURN_IF_ERROR(model.graph().Lint(root));
  model.ReplaceRoot(std::move(staged));
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
