// OpDef: how one op family infers shapes and builds its kernel. Kernel::Run only computes.
#ifndef STRUCTPRUNE_OPS_OP_DEF_H_
#define STRUCTPRUNE_OPS_OP_DEF_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "graph/attr.h"
#include "graph/value.h"

namespace structprune {

class Module;
enum class OpKind : int;

// Everything an op needs to check itself and build a kernel.
struct OpCall {
  OpKind kind;
  std::string name;             // node name or module FQN: error messages start with it
  const AttrMap* attrs;         // module attributes, or a call_function's keyword arguments
  const Module* module;         // call_module: parameters; nullptr for a functional call
  std::vector<ValueInfo> inputs;
  int num_threads = 1;          // intra-op threads the kernel may use
  bool reference_kernels = false;  // skip fast paths (tests compare the two)
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // `output` arrives allocated to the inferred shape; a kernel may instead make it an alias
  // of an input (flatten, getitem, identity). Never validates, never allocates data.
  virtual absl::Status Run(absl::Span<const Value* const> inputs, Value& output) = 0;
};

struct OpDef {
  // Checks attributes, parameters and input shapes; returns the output's shape. All
  // validation happens here, once. Errors: InvalidArgument naming call.name.
  absl::StatusOr<ValueInfo> (*infer)(const OpCall& call);
  // Builds the kernel (packs weights, creates primitives). Called only after infer succeeded.
  absl::StatusOr<std::unique_ptr<Kernel>> (*create)(const OpCall& call);
  // Creates a module's parameters and buffers from its attributes, initialized as PyTorch
  // does (distributions, not values). nullptr for ops without parameters.
  absl::Status (*init_module)(Module& module, Rng& rng);
};

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_OP_DEF_H_
