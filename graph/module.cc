#include "graph/module.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace structprune {
namespace {

template <typename T>
auto FindNamed(std::vector<std::pair<std::string, T>>& v, absl::string_view name) {
  return std::find_if(v.begin(), v.end(), [&](const auto& e) { return e.first == name; });
}
template <typename T>
auto FindNamed(const std::vector<std::pair<std::string, T>>& v, absl::string_view name) {
  return std::find_if(v.begin(), v.end(), [&](const auto& e) { return e.first == name; });
}

template <typename T>
void SetNamed(std::vector<std::pair<std::string, T>>& v, const std::string& name, T value) {
  auto it = FindNamed(v, name);
  if (it != v.end()) {
    it->second = std::move(value);
  } else {
    v.emplace_back(name, std::move(value));
  }
}

}  // namespace

void Module::SetParameter(const std::string& name, Tensor value) {
  SetNamed(params_, name, std::move(value));
}
void Module::SetBuffer(const std::string& name, Tensor value) {
  SetNamed(buffers_, name, std::move(value));
}

bool Module::RemoveParameter(const std::string& name) {
  auto it = FindNamed(params_, name);
  if (it == params_.end()) return false;
  params_.erase(it);
  return true;
}

bool Module::HasParameter(absl::string_view name) const {
  return FindNamed(params_, name) != params_.end();
}
bool Module::HasBuffer(absl::string_view name) const {
  return FindNamed(buffers_, name) != buffers_.end();
}

const Tensor* Module::parameter(absl::string_view name) const {
  auto it = FindNamed(params_, name);
  return it == params_.end() ? nullptr : &it->second;
}
Tensor* Module::mutable_parameter(absl::string_view name) {
  auto it = FindNamed(params_, name);
  return it == params_.end() ? nullptr : &it->second;
}
const Tensor* Module::buffer(absl::string_view name) const {
  auto it = FindNamed(buffers_, name);
  return it == buffers_.end() ? nullptr : &it->second;
}

absl::StatusOr<Tensor> Module::Effective(absl::string_view name) const {
  if (const Tensor* b = buffer(name)) return *b;
  const Tensor* p = parameter(name);
  if (p == nullptr) {
    return absl::NotFoundError(absl::StrCat(OpName(kind_), " has no parameter '", name, "'"));
  }
  Tensor value = *p;
  if (const auto* list = parametrizations(name)) {
    for (const auto& parametrization : *list) {
      SP_ASSIGN_OR_RETURN(value, parametrization->Apply(value));
    }
  }
  return value;
}

void Module::RegisterParametrization(const std::string& tensor_name,
                                     std::shared_ptr<const Parametrization> p) {
  auto it = FindNamed(parametrizations_, tensor_name);
  if (it == parametrizations_.end()) {
    parametrizations_.emplace_back(tensor_name, std::vector{std::move(p)});
  } else {
    it->second.push_back(std::move(p));
  }
}

bool Module::IsParametrized(absl::string_view tensor_name) const {
  return parametrizations(tensor_name) != nullptr;
}

const std::vector<std::shared_ptr<const Parametrization>>* Module::parametrizations(
    absl::string_view tensor_name) const {
  auto it = FindNamed(parametrizations_, tensor_name);
  return it == parametrizations_.end() ? nullptr : &it->second;
}

absl::Status Module::RemoveParametrizations(absl::string_view tensor_name,
                                            bool leave_parametrized) {
  auto it = FindNamed(parametrizations_, tensor_name);
  if (it == parametrizations_.end()) {
    return absl::NotFoundError(absl::StrCat("'", tensor_name, "' has no parametrization"));
  }
  if (leave_parametrized) {
    Tensor* stored = mutable_parameter(tensor_name);
    if (stored == nullptr) {
      return absl::NotFoundError(absl::StrCat("'", tensor_name, "' is not a parameter"));
    }
    SP_ASSIGN_OR_RETURN(Tensor effective, Effective(tensor_name));
    *stored = effective;
  }
  parametrizations_.erase(it);
  return absl::OkStatus();
}

Module& Module::AddChild(const std::string& name, std::unique_ptr<Module> child) {
  Module* added = child.get();
  if (this->child(name) != nullptr) {  // replaced in place (rare: a scan is fine)
    auto same = std::find_if(children_.begin(), children_.end(), [&](const auto& c) { return c.first == name; });
    same->second = std::move(child);
    if (!child_index_.empty()) child_index_[name] = added;
    return *added;
  }
  children_.emplace_back(name, std::move(child));
  if (children_.size() == kIndexedChildren + 1) {
    for (const auto& [n, c] : children_) child_index_.emplace(n, c.get());
  } else if (children_.size() > kIndexedChildren) {
    child_index_.emplace(name, added);
  }
  return *added;
}

Module* Module::child(absl::string_view name) const {
  if (children_.size() <= kIndexedChildren) {
    for (const auto& [n, c] : children_) {
      if (n == name) return c.get();
    }
    return nullptr;
  }
  auto it = child_index_.find(name);
  return it == child_index_.end() ? nullptr : it->second;
}

Module* Module::FindModule(absl::string_view fqn) const {
  const Module* m = this;
  // Split with memchr: Debian's absl::string_view::find is an out-of-line library call, and
  // a pruning pass looks up every module several times.
  const char* p = fqn.data();
  const char* const end = p + fqn.size();
  while (p != end && m != nullptr) {
    const char* dot = static_cast<const char*>(std::memchr(p, '.', static_cast<size_t>(end - p)));
    const char* part_end = dot == nullptr ? end : dot;
    m = m->child(absl::string_view(p, static_cast<size_t>(part_end - p)));
    p = dot == nullptr ? end : dot + 1;
  }
  return const_cast<Module*>(m);
}

absl::StatusOr<std::pair<Module*, std::string>> Module::FindTensorOwner(
    absl::string_view fqn) const {
  size_t dot = fqn.rfind('.');
  absl::string_view owner_path = dot == absl::string_view::npos ? "" : fqn.substr(0, dot);
  std::string name(dot == absl::string_view::npos ? fqn : fqn.substr(dot + 1));
  Module* owner = FindModule(owner_path);
  if (owner == nullptr || (!owner->HasParameter(name) && !owner->HasBuffer(name))) {
    return absl::NotFoundError(absl::StrCat("no tensor named '", fqn, "' in the model"));
  }
  return std::make_pair(owner, name);
}

std::vector<std::pair<std::string, const Module*>> Module::NamedModules() const {
  std::vector<std::pair<std::string, const Module*>> out{{"", this}};
  for (const auto& [name, child] : children_) {
    for (auto& [sub, m] : child->NamedModules()) {
      out.emplace_back(sub.empty() ? name : absl::StrCat(name, ".", sub), m);
    }
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::NamedParameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [prefix, m] : NamedModules()) {
    for (const auto& [name, t] : m->parameters()) {
      out.emplace_back(prefix.empty() ? name : absl::StrCat(prefix, ".", name), t);
    }
  }
  return out;
}

int64_t Module::NumParameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : params_) n += t.numel();
  for (const auto& [name, child] : children_) n += child->NumParameters();
  return n;
}

std::unique_ptr<Module> Module::Clone() const {
  auto copy = std::make_unique<Module>(kind_, attrs_);
  copy->params_.reserve(params_.size());
  for (const auto& [name, t] : params_) copy->params_.emplace_back(name, t.Clone());
  copy->buffers_.reserve(buffers_.size());
  for (const auto& [name, t] : buffers_) copy->buffers_.emplace_back(name, t.Clone());
  copy->parametrizations_ = parametrizations_;
  copy->hooks_ = hooks_;
  copy->children_.reserve(children_.size());
  if (children_.size() > kIndexedChildren) copy->child_index_.reserve(children_.size());
  for (const auto& [name, child] : children_) copy->AddChild(name, child->Clone());
  return copy;
}

}  // namespace structprune
