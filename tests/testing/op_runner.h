// Runs one OpDef directly (infer, create, allocate, run), without a graph: the op tests' driver.
#ifndef STRUCTPRUNE_TESTS_TESTING_OP_RUNNER_H_
#define STRUCTPRUNE_TESTS_TESTING_OP_RUNNER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/rng.h"
#include "core/status_macros.h"
#include "core/tensor.h"
#include "graph/attr.h"
#include "graph/module.h"
#include "graph/value.h"
#include "ops/op_def.h"
#include "ops/registry.h"

namespace structprune::testing {

// The node name every RunOp call uses; error messages start with "<OpName> 'node': ".
inline constexpr char kOpNodeName[] = "node";

// The ValueInfo describing `v` (tuples recursively).
inline ValueInfo DescribeValue(const Value& v) {
  if (!v.is_tuple) return ValueInfo::Of(v.tensor.shape(), v.tensor.dtype());
  std::vector<ValueInfo> items;
  for (const Value& item : v.items) items.push_back(DescribeValue(item));
  return ValueInfo::Tuple(std::move(items));
}

inline OpCall MakeOpCall(OpKind kind, const AttrMap& attrs, const Module* module,
                         const std::vector<Value>& inputs) {
  OpCall call{kind, kOpNodeName, &attrs, module, {}};
  for (const Value& v : inputs) call.inputs.push_back(DescribeValue(v));
  return call;
}

// Infer only: the output's ValueInfo or the op's error.
inline absl::StatusOr<ValueInfo> InferOp(OpKind kind, const AttrMap& attrs, const Module* module,
                                         const std::vector<Value>& inputs) {
  const OpDef* def = FindOpDef(kind);
  if (def == nullptr || def->infer == nullptr) {
    return absl::UnimplementedError("op has no definition");
  }
  return def->infer(MakeOpCall(kind, attrs, module, inputs));
}

// infer -> create -> Value::Allocate -> Run, on Values (tensors or tuples).
inline absl::StatusOr<Value> RunOpValue(OpKind kind, const AttrMap& attrs, const Module* module,
                                        const std::vector<Value>& inputs) {
  const OpDef* def = FindOpDef(kind);
  if (def == nullptr || def->infer == nullptr || def->create == nullptr) {
    return absl::UnimplementedError("op has no definition");
  }
  const OpCall call = MakeOpCall(kind, attrs, module, inputs);
  SP_ASSIGN_OR_RETURN(ValueInfo info, def->infer(call));
  SP_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, def->create(call));
  Value output = Value::Allocate(info);
  std::vector<const Value*> ptrs;
  for (const Value& v : inputs) ptrs.push_back(&v);
  SP_RETURN_IF_ERROR(kernel->Run(ptrs, output));
  return output;
}

inline Value TensorValue(Tensor t) {
  Value v;
  v.tensor = std::move(t);
  return v;
}

inline Value TupleValue(std::vector<Value> items) {
  Value v;
  v.is_tuple = true;
  v.items = std::move(items);
  return v;
}

// RunOpValue on plain tensors; the output flattened depth first.
inline absl::StatusOr<std::vector<Tensor>> RunOp(OpKind kind, const AttrMap& attrs,
                                                 const Module* module, std::vector<Tensor> inputs) {
  std::vector<Value> values;
  for (Tensor& t : inputs) values.push_back(TensorValue(std::move(t)));
  SP_ASSIGN_OR_RETURN(Value out, RunOpValue(kind, attrs, module, values));
  std::vector<Tensor> flat;
  out.Flatten(flat);
  return flat;
}

// A module of `kind` with PyTorch's initial parameters (OpDef::init_module), seed 0.
inline absl::StatusOr<std::unique_ptr<Module>> MakeModule(OpKind kind, AttrMap attrs) {
  auto module = std::make_unique<Module>(kind, std::move(attrs));
  const OpDef* def = FindOpDef(kind);
  if (def != nullptr && def->init_module != nullptr) {
    Rng rng(0);
    SP_RETURN_IF_ERROR(def->init_module(*module, rng));
  }
  return module;
}

}  // namespace structprune::testing

#endif  // STRUCTPRUNE_TESTS_TESTING_OP_RUNNER_H_
