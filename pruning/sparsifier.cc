#include "pruning/sparsifier.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "pruning/unprunable_ops.h"

namespace structprune {

SparsityConfig BaseSparsifier::MakeConfigFromModel(const Module& root) const {
  SparsityConfig config;
  for (const auto& [fqn, m] : root.NamedModules()) {
    const std::string prefix = fqn.empty() ? "" : fqn + ".";
    if (m->kind() == OpKind::kLinear || m->kind() == OpKind::kConv2d) {
      config.push_back({{kTensorFqn, prefix + "weight"}});
    } else if (m->kind() == OpKind::kLstm) {
      for (const auto& [name, t] : m->parameters()) {
        if (LstmLayerOfWeight(name)) config.push_back({{kTensorFqn, prefix + name}});
      }
    }
  }
  return config;
}

absl::StatusOr<Tensor> BaseSparsifier::InitialMask(const Module& module, const ConfigGroup& group) const {
  if (const Tensor* mask = group.GetMask()) return mask->Clone();
  SP_ASSIGN_OR_RETURN(int64_t channels, PrunableChannels(module, group.tensor_name));
  Tensor ones = Tensor::Zeros({channels}, DType::kBool);
  std::fill_n(ones.data<bool>(), channels, true);
  return ones;
}

absl::Status BaseSparsifier::Prepare(GraphModule& model, std::optional<SparsityConfig> config) {
  if (model_ != nullptr) return absl::FailedPreconditionError("sparsifier is already prepared");
  SP_RETURN_IF_ERROR(CheckNoUnprunableOps(model));
  if (!config) config = MakeConfigFromModel(model.root());
  SP_ASSIGN_OR_RETURN(std::vector<ConfigGroup> groups, ResolveConfig(*config, defaults_, model.root()));
  absl::flat_hash_map<std::string, Tensor> masks;
  masks.reserve(groups.size());
  for (const ConfigGroup& g : groups) {
    SP_ASSIGN_OR_RETURN(Tensor mask, InitialMask(*model.root().FindModule(g.module_fqn), g));
    masks[g.tensor_fqn] = mask;
  }
  // AttachMasks fails before it edits the model, so no copy is needed for all-or-nothing.
  model_ = &model;
  groups_ = std::move(groups);
  masks_ = std::move(masks);
  absl::Status s = AttachMasks();
  if (!s.ok()) {
    model_ = nullptr;
    groups_.clear();
    masks_.clear();
  }
  return s;
}

absl::Status BaseSparsifier::Step() {
  if (model_ == nullptr) return absl::FailedPreconditionError("Step() before Prepare()");
  if (!enable_mask_update_) return absl::OkStatus();
  // New masks are computed aside (in group order) and copied in only when every group has one.
  std::vector<std::pair<Tensor*, Tensor>> updated;
  updated.reserve(groups_.size());
  for (const ConfigGroup& g : groups_) {
    Tensor& live = masks_.at(g.tensor_fqn);
    Tensor mask = live.Clone();
    SP_RETURN_IF_ERROR(UpdateMask(*model_->root().FindModule(g.module_fqn), g, mask));
    updated.emplace_back(&live, std::move(mask));
  }
  for (auto& [live, mask] : updated) std::memcpy(live->data<bool>(), mask.data<bool>(), live->nbytes());
  OnMasksChanged();
  return absl::OkStatus();
}

absl::StatusOr<Tensor> BaseSparsifier::GetMask(absl::string_view tensor_fqn) const {
  auto it = masks_.find(tensor_fqn);
  if (it == masks_.end()) {
    return absl::NotFoundError(absl::StrCat("'", tensor_fqn, "' is not configured"));
  }
  return it->second;
}

absl::Status BaseSparsifier::SetMask(absl::string_view tensor_fqn, const Tensor& mask) {
  SP_ASSIGN_OR_RETURN(Tensor live, GetMask(tensor_fqn));
  if (mask.dtype() != DType::kBool || mask.shape() != live.shape()) {
    return absl::InvalidArgumentError(absl::StrCat("mask for '", tensor_fqn, "' must be bool ",
                                                   ShapeToString(live.shape()), ", got ",
                                                   DTypeName(mask.dtype()), " ",
                                                   ShapeToString(mask.shape())));
  }
  std::memcpy(live.data<bool>(), mask.data<bool>(), live.nbytes());
  OnMasksChanged();
  return absl::OkStatus();
}

SparsifierState BaseSparsifier::StateDict() const {
  SparsifierState state;
  for (const auto& [fqn, mask] : masks_) state.masks[fqn] = mask.Clone();
  state.groups = groups_;
  return state;
}

absl::Status BaseSparsifier::LoadStateDict(const SparsifierState& state) {
  for (const auto& [fqn, mask] : state.masks) {
    SP_ASSIGN_OR_RETURN(Tensor live, GetMask(fqn));
    if (mask.dtype() != DType::kBool || mask.shape() != live.shape()) {
      return absl::InvalidArgumentError(absl::StrCat("state mask for '", fqn, "' has shape ",
                                                     ShapeToString(mask.shape()), ", expected ",
                                                     ShapeToString(live.shape())));
    }
  }
  for (const auto& [fqn, mask] : state.masks) SP_RETURN_IF_ERROR(SetMask(fqn, mask));
  return absl::OkStatus();
}

absl::Status BaseSparsifier::SquashMask() {
  if (model_ == nullptr) return absl::FailedPreconditionError("SquashMask() before Prepare()");
  for (const auto& [fqn, m] : model_->root().NamedModules()) {
    Module* module = const_cast<Module*>(m);
    std::vector<std::string> names;
    for (const auto& [name, t] : module->parameters()) {
      if (module->IsParametrized(name)) names.push_back(name);
    }
    for (const std::string& name : names) {
      SP_RETURN_IF_ERROR(module->RemoveParametrizations(name, /*leave_parametrized=*/true));
    }
  }
  return absl::OkStatus();
}

}  // namespace structprune
