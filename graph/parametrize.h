// Parametrizations and forward hooks (like torch.nn.utils.parametrize and
// register_forward_hook): the interpreter reads parameters through the first and calls the
// second after a module runs, so a masked model runs with the same code as a plain one.
#ifndef STRUCTPRUNE_GRAPH_PARAMETRIZE_H_
#define STRUCTPRUNE_GRAPH_PARAMETRIZE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tensor.h"
#include "graph/value.h"

namespace structprune {

class Module;

// A function applied to a stored parameter whenever it is read ("original" -> effective).
class Parametrization {
 public:
  virtual ~Parametrization() = default;
  virtual std::string Name() const = 0;
  // Must not modify `original`; returns a new tensor of the same shape.
  virtual absl::StatusOr<Tensor> Apply(const Tensor& original) const = 0;
};

// Called after a module's forward with its inputs; may rewrite the output in place.
class ForwardHook {
 public:
  virtual ~ForwardHook() = default;
  virtual std::string Name() const = 0;
  virtual absl::Status Run(const Module& module, absl::Span<const Value* const> inputs,
                           Value& output) const = 0;
};

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_PARAMETRIZE_H_
