#include "pruning/plan.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/index_select.h"
#include "core/status_macros.h"
#include "pruning/parametrization.h"

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
    Tensor bias = moved->Clone();
    if (hook != nullptr && hook->prune_bias()) {
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

}  // namespace

PrunePlan::PrunePlan(const GraphModule& model, PruneOptions options) : model_(model), options_(options) {
  for (const Node* node : model.graph().nodes()) {
    if (node->kind() == NodeKind::kCallModule) ++calls_[node->target()];
    if (node->kind() == NodeKind::kGetAttr) ++get_attrs_[node->target()];
  }
}

absl::Status PrunePlan::CheckSingleUse(const std::string& module_fqn, const std::string& tensor_fqn) const {
  auto count = [](const std::map<std::string, int>& m, const std::string& key) {
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
  SP_RETURN_IF_ERROR(CheckSingleUse(tensor_fqn.substr(0, tensor_fqn.rfind('.')), tensor_fqn));
  auto owner = model_.root().FindTensorOwner(tensor_fqn);
  // A prepared module's bias sits under "_bias" until Commit restores it.
  if (!owner.ok() && absl::EndsWith(tensor_fqn, ".bias")) {
    owner = model_.root().FindTensorOwner(tensor_fqn.substr(0, tensor_fqn.size() - 4) + kMovedBias);
  }
  if (!owner.ok()) return absl::InternalError(absl::StrCat("plan slices unknown tensor '", tensor_fqn, "'"));
  const Module& m = *owner->first;
  const Tensor* t = m.parameter(owner->second) ? m.parameter(owner->second) : m.buffer(owner->second);
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
  for (const auto& [fqn, m] : root.NamedModules()) {
    SP_RETURN_IF_ERROR(Finalize(*const_cast<Module*>(m)));
  }
  std::map<std::string, std::map<int64_t, std::vector<int64_t>>> new_bias_slices;
  for (const auto& [fqn, delta] : bias_deltas_) {
    Module* m = root.FindModule(fqn);
    if (m == nullptr) return absl::InternalError(absl::StrCat("bias fold into unknown module '", fqn, "'"));
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
    SP_ASSIGN_OR_RETURN(auto owner, root.FindTensorOwner(fqn));
    auto [m, name] = owner;
    Tensor t = m->HasBuffer(name) ? *m->buffer(name) : *m->parameter(name);
    for (const auto& [dim, keep] : dims) {
      SP_ASSIGN_OR_RETURN(t, SelectAlongDim(t, dim, keep));
    }
    if (m->HasBuffer(name)) {
      m->SetBuffer(name, t);
    } else {
      m->SetParameter(name, t);
    }
    touched.insert(m);
    return absl::OkStatus();
  };
  for (const auto& [fqn, dims] : slices_) SP_RETURN_IF_ERROR(slice(fqn, dims));
  for (const auto& [fqn, dims] : new_bias_slices) SP_RETURN_IF_ERROR(slice(fqn, dims));
  for (Module* m : touched) SyncShapeAttrs(*m);
  for (const auto& [fqn, attrs] : attrs_) {
    Module* m = root.FindModule(fqn);
    if (m == nullptr) return absl::InternalError(absl::StrCat("attribute edit of unknown module '", fqn, "'"));
    for (const auto& [name, value] : attrs) m->mutable_attrs()[name] = value;
  }
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
