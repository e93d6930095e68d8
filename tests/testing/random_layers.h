// RandomLayers: the layer vocabulary of the random graph generator (random_graph.h). Each call
// draws its layer's attributes from a ChoiceSource, adds the module (or functional call) to a
// GraphBuilder, tracks the planned shape and writes one line of the description. Shapes stay
// valid by construction: convs and pools fit their input, per-channel tensors match.
#ifndef STRUCTPRUNE_TESTS_TESTING_RANDOM_LAYERS_H_
#define STRUCTPRUNE_TESTS_TESTING_RANDOM_LAYERS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/shape.h"
#include "graph/attr.h"
#include "graph/builder.h"
#include "tests/testing/choice_source.h"
#include "tests/testing/random_graph.h"

namespace structprune::testing {

// A node and its planned shape (empty for tuples).
struct Value {
  Node* node = nullptr;
  Shape shape;
};

class RandomLayers {
 public:
  // The builder's parameter seed is the first choice.
  explicit RandomLayers(ChoiceSource& choices);

  GraphBuilder& builder() { return b_; }
  // New modules are named "<scope>.<stem><n>" ("<scope>.<n>" for an empty stem, as
  // nn.Sequential), n counting every module of the graph.
  void SetScope(std::string scope) { scope_ = std::move(scope); }
  std::string NewName(absl::string_view stem);

  Value Input(const std::string& name, Shape shape);
  Value CallModule(const std::string& fqn, std::vector<Node*> args, Shape shape);
  Value CallModule(const std::string& fqn, const Value& x, Shape shape);
  Value CallFunction(OpKind kind, std::vector<Node*> args, AttrMap attrs, Shape shape);
  // Extra model outputs, returned with the last value by Output() in a random order.
  void AddOutput(const Value& v) { extra_outputs_.push_back(v); }
  void MaybeExtraOutput(const Value& v, double p);
  void Output(const Value& last);

  // Linear over the last dim to `out` features; now and then a square Linear called before is
  // called again (tied weights).
  Value Linear(const Value& x, int64_t out);
  // Any of the 21 activations in module or functional form, with random attributes; PReLU
  // with one slope or one per channel; activation modules are now and then reused.
  Value Activation(const Value& x);
  Value MaybeActivation(const Value& x, double p);
  // Dropout (eval) or Identity, module or functional.
  Value Passthrough(const Value& x);
  // LayerNorm over the last dim with random affine parameters, or F.layer_norm.
  Value LayerNorm(const Value& x);
  // BatchNorm2d with random affine parameters and running statistics.
  Value BatchNorm(const Value& x);
  Value MaybeBatchNorm(const Value& x, double p);
  // kAny: random kernel, stride, padding and dilation that fit; kSame keeps H and W (for adds
  // and cats); kPointwise is 1x1.
  enum class ConvShape { kAny, kSame, kPointwise };
  // Conv2d to `out` channels; `groups` 0 draws one (mostly 1, else a common divisor of in and
  // out: grouped or depthwise). Same-shape convs are now and then reused (tied).
  Value Conv(const Value& x, int64_t out, ConvShape shape, int64_t groups = 0);
  // Max/AvgPool2d, module or functional, with or without padding, ceil_mode,
  // count_include_pad, divisor_override, dilation; `same` keeps H and W.
  Value Pool(const Value& x, bool same = false);
  // AdaptiveAvg/MaxPool2d to a random size (global, dividing the input, or any).
  Value AdaptivePool(const Value& x);
  Value AdaptivePoolTo(const Value& x, const std::array<int64_t, 2>& out, bool is_max = false,
                       bool functional = false);
  // nn.Flatten() or torch.flatten(x, 1).
  Value Flatten(const Value& x);
  // a + b or b + a.
  Value Add(const Value& a, const Value& b);
  // torch.cat along `dim` (>= 0), written as dim or dim - rank.
  Value Cat(const std::vector<Value>& parts, int64_t dim = 1);
  Value GetItem(const Value& x, int64_t index, Shape shape);

  // Builds the model and checks that it plans for its inputs; Internal (with the description)
  // otherwise: a generator bug.
  absl::StatusOr<RandomGraph> Finish(GraphFamily family);

 private:
  Value Described(Value v, const std::string& what);

  ChoiceSource& c_;
  GraphBuilder b_;
  std::string scope_;
  int next_ = 0;
  std::vector<Shape> inputs_;
  std::vector<Value> extra_outputs_;
  std::vector<std::string> lines_;
  std::vector<std::string> act_modules_;               // activation modules, for reuse
  std::map<std::string, std::string> square_modules_;  // shape-keeping layers, for tying
};

}  // namespace structprune::testing

#endif  // STRUCTPRUNE_TESTS_TESTING_RANDOM_LAYERS_H_
