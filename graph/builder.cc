#include "graph/builder.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace structprune {

GraphBuilder::GraphBuilder(uint64_t seed) : rng_(seed), root_(Module::Sequential()) {}

void GraphBuilder::Fail(absl::Status s) {
  if (status_.ok()) status_ = std::move(s);
}

bool GraphBuilder::CheckArgs(const std::vector<Node*>& args) {
  for (Node* a : args) {
    if (a == nullptr) {
      Fail(absl::InvalidArgumentError("argument is null (an earlier builder call failed)"));
      return false;
    }
  }
  return status_.ok();
}

Module* GraphBuilder::AddModule(const std::string& fqn, OpKind kind, AttrMap attrs) {
  if (fqn.empty() || root_->FindModule(fqn) != nullptr) {
    Fail(absl::InvalidArgumentError(absl::StrCat("module '", fqn, "' already exists")));
    return nullptr;
  }
  Module* parent = root_.get();
  std::string_view rest = fqn;
  for (size_t dot; (dot = rest.find('.')) != std::string_view::npos; rest = rest.substr(dot + 1)) {
    std::string part(rest.substr(0, dot));
    Module* next = parent->child(part);
    parent = next ? next : &parent->AddChild(part, Module::Sequential());
  }
  auto module = std::make_unique<Module>(kind, std::move(attrs));
  const OpDef* def = FindOpDef(kind);
  if (def != nullptr && def->init_module != nullptr) {
    absl::Status s = def->init_module(*module, rng_);
    if (!s.ok()) {
      Fail(absl::Status(s.code(), absl::StrCat(OpName(kind), " '", fqn, "': ", s.message())));
      return nullptr;
    }
  }
  return &parent->AddChild(std::string(rest), std::move(module));
}

Node* GraphBuilder::Input(const std::string& name) {
  if (!status_.ok()) return nullptr;
  if (graph_.FindNode(name) != nullptr) {
    Fail(absl::InvalidArgumentError(absl::StrCat("input name '", name, "' is taken")));
    return nullptr;
  }
  return graph_.AddPlaceholder(name);
}

Node* GraphBuilder::Call(const std::string& fqn, std::vector<Node*> args) {
  if (!CheckArgs(args)) return nullptr;
  const Module* m = root_->FindModule(fqn);
  if (m == nullptr || fqn.empty()) {
    Fail(absl::NotFoundError(absl::StrCat("no module named '", fqn, "'")));
    return nullptr;
  }
  if (FindOpDef(m->kind()) == nullptr) {
    Fail(absl::InvalidArgumentError(
        absl::StrCat("module '", fqn, "' is a ", OpName(m->kind()), " container; call its children")));
    return nullptr;
  }
  return graph_.AddCallModule(fqn, m->kind(), std::move(args));
}

Node* GraphBuilder::Call(OpKind function, std::vector<Node*> args, AttrMap attrs) {
  if (!CheckArgs(args)) return nullptr;
  if (OpFunctionalName(function).empty()) {
    Fail(absl::InvalidArgumentError(
        absl::StrCat(OpName(function), " has no functional form; add it as a module")));
    return nullptr;
  }
  return graph_.AddCallFunction(function, std::move(args), std::move(attrs));
}

Node* GraphBuilder::GetAttr(const std::string& tensor_fqn) {
  if (!status_.ok()) return nullptr;
  if (!root_->FindTensorOwner(tensor_fqn).ok()) {
    Fail(absl::NotFoundError(absl::StrCat("no tensor named '", tensor_fqn, "'")));
    return nullptr;
  }
  return graph_.AddGetAttr(tensor_fqn);
}

void GraphBuilder::Output(std::vector<Node*> results) {
  if (!CheckArgs(results)) return;
  graph_.SetOutput(std::move(results));
}

absl::StatusOr<GraphModule> GraphBuilder::Build() {
  SP_RETURN_IF_ERROR(status_);
  GraphModule gm(std::move(root_), std::move(graph_));
  root_ = Module::Sequential();
  graph_ = Graph();
  SP_RETURN_IF_ERROR(gm.Lint());
  return gm;
}

}  // namespace structprune
