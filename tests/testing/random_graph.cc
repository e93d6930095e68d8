#include "tests/testing/random_graph.h"

#include <cstdint>
#include <vector>

#include "ops/lstm.h"
#include "tests/testing/random_layers.h"

namespace structprune::testing {
namespace {

// Every choice is drawn in statement order: never two draws in one function call's arguments,
// whose evaluation order C++ leaves open (braced lists are ordered and fine).

using ConvShape = RandomLayers::ConvShape;

// The families: how layers (random_layers.h) are put together.
class FamilyGenerator {
 public:
  explicit FamilyGenerator(ChoiceSource& c) : c_(c), l_(c) {}

  absl::StatusOr<RandomGraph> Generate(GraphFamily family) {
    switch (family) {
      case GraphFamily::kLinearChain:
        LinearChain();
        break;
      case GraphFamily::kConvChain:
        ConvChain(/*pool_chance=*/0.25, /*adaptive_head=*/0.4);
        break;
      case GraphFamily::kPools:
        ConvChain(/*pool_chance=*/0.8, /*adaptive_head=*/0.8);
        break;
      case GraphFamily::kDag:
        if (c_.Chance(0.3)) {
          LinearDag();
        } else {
          ConvDag();
        }
        break;
      case GraphFamily::kLstm:
        Lstm();
        break;
    }
    return l_.Finish(family);
  }

 private:
  void LinearChain() {
    l_.SetScope("layers");
    const int64_t n = c_.Int(1, 3);
    Shape shape = c_.Chance(0.25) ? Shape{n, c_.Int(1, 3), c_.Int(1, 8)} : Shape{n, c_.Int(1, 8)};
    Value h = l_.Input("x", shape);
    const int64_t layers = c_.Int(1, 5);
    for (int64_t i = 0; i < layers; ++i) {
      h = l_.Linear(h, c_.Int(1, 8));
      if (i + 1 == layers && !c_.Chance(0.4)) break;
      switch (c_.Int(0, 11)) {
        case 0:
          break;  // linear -> linear
        case 1:
          h = l_.Activation(l_.Activation(h));
          break;
        case 2:
          h = l_.MaybeActivation(l_.LayerNorm(h), 0.5);
          break;
        case 3:
          h = l_.MaybeActivation(l_.Passthrough(h), 0.7);
          break;
        default:
          h = l_.Activation(h);
      }
      if (i + 1 < layers) l_.MaybeExtraOutput(h, 0.1);
    }
    l_.Output(h);
  }

  // Conv -> (BatchNorm) -> (act) -> (pool -> (act)) stages.
  Value ConvStage(Value h, double pool_chance) {
    int64_t out = c_.Int(1, 8);
    if (c_.Chance(0.15)) out = h.shape[1] * c_.Int(1, 2);  // a depthwise candidate
    h = l_.Conv(h, out, ConvShape::kAny);
    if (c_.Chance(0.3)) h = l_.BatchNorm(h);
    h = l_.MaybeActivation(h, 0.75);
    if (c_.Chance(pool_chance)) h = l_.MaybeActivation(l_.Pool(h), 0.25);
    if (c_.Chance(0.05)) h = l_.Passthrough(h);
    return h;
  }

  // The end of a conv network: none, adaptive pool -> flatten -> linear, or flatten -> linear.
  Value ConvHead(Value h, double adaptive) {
    l_.SetScope("classifier");
    const bool flatten_fits = NumElements(h.shape) / h.shape[0] <= 256;
    if (c_.Chance(adaptive)) {
      h = l_.Flatten(l_.AdaptivePool(h));
    } else if (flatten_fits && c_.Chance(0.4)) {
      h = l_.Flatten(h);
    } else {
      return h;
    }
    h = l_.Linear(h, c_.Int(1, 6));
    if (c_.Chance(0.3)) {
      h = l_.Activation(h);
      h = l_.Linear(h, c_.Int(1, 5));
    }
    return h;
  }

  void ConvChain(double pool_chance, double adaptive_head) {
    l_.SetScope("features");
    const Shape shape = {c_.Int(1, 2), c_.Int(1, 4), c_.Int(3, 9), c_.Int(3, 9)};
    Value h = l_.Input("x", shape);
    const int64_t stages = c_.Int(1, 4);
    for (int64_t i = 0; i < stages; ++i) {
      h = ConvStage(h, pool_chance);
      if (i + 1 < stages) l_.MaybeExtraOutput(h, 0.08);
    }
    l_.Output(ConvHead(h, adaptive_head));
  }

  // x + f(x), f = conv -> (bn) -> (act) -> conv -> (bn); the skip is projected by a 1x1 conv
  // when the channels change.
  Value ResidualBlock(const Value& x) {
    Value skip = x;
    int64_t out = x.shape[1];
    if (c_.Chance(0.3)) {
      out = c_.Int(1, 8);
      skip = l_.MaybeBatchNorm(l_.Conv(x, out, ConvShape::kPointwise), 0.5);
    }
    Value y = l_.Conv(x, c_.Int(1, 6), ConvShape::kSame);
    y = l_.MaybeActivation(l_.MaybeBatchNorm(y, 0.6), 0.8);
    y = l_.MaybeBatchNorm(l_.Conv(y, out, ConvShape::kSame), 0.6);
    return l_.MaybeActivation(l_.Add(skip, y), 0.7);
  }

  // cat of 2-3 branches: convs, same-size pools, or the input itself; along the channels,
  // or now and then along H or W (then every branch has the input's channels).
  Value CatBlock(const Value& x) {
    std::vector<Value> parts;
    const int64_t n = c_.Int(2, 3);
    const int64_t dim = c_.Chance(0.1) ? c_.Int(2, 3) : 1;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t kind = c_.Int(0, 4);
      if (kind <= 2) {
        const int64_t out = dim == 1 ? c_.Int(1, 4) : x.shape[1];
        Value y = l_.Conv(x, out, ConvShape::kSame);
        parts.push_back(l_.MaybeActivation(l_.MaybeBatchNorm(y, 0.4), 0.6));
      } else if (kind == 3) {
        parts.push_back(l_.Pool(x, /*same=*/true));
      } else {
        parts.push_back(x);
      }
    }
    return l_.MaybeActivation(l_.Cat(parts, dim), 0.5);
  }

  // One value read by two convs, merged by add or cat, or one of them returned as well.
  Value FanOutBlock(const Value& x) {
    Value a = l_.MaybeActivation(l_.Conv(x, c_.Int(1, 6), ConvShape::kSame), 0.5);
    Value b = l_.MaybeBatchNorm(l_.Conv(x, a.shape[1], ConvShape::kSame), 0.5);
    switch (c_.Int(0, 3)) {
      case 0:
        return l_.Add(a, b);
      case 1:
        return l_.Cat({a, b});
      case 2:
        l_.AddOutput(a);
        return b;
      default:
        l_.AddOutput(x);
        return l_.Add(a, b);
    }
  }

  // depthwise (channel multiplier 1 or 2) -> (bn) -> (act) -> pointwise -> (bn).
  Value DepthwiseSeparableBlock(const Value& x) {
    const int64_t in = x.shape[1];
    Value y = l_.Conv(x, in * c_.Int(1, 2), ConvShape::kSame, /*groups=*/in);
    y = l_.MaybeActivation(l_.MaybeBatchNorm(y, 0.6), 0.8);
    return l_.MaybeBatchNorm(l_.Conv(y, c_.Int(1, 8), ConvShape::kPointwise), 0.5);
  }

  // x + g(x) with g = adaptive pool (1x1) -> 1x1 conv -> act -> 1x1 conv: a broadcasting add
  // of [N, C, 1, 1] to [N, C, H, W], as squeeze-and-excitation blocks (which multiply).
  Value SqueezeBlock(const Value& x) {
    Value s = l_.AdaptivePoolTo(x, {1, 1});
    s = l_.MaybeActivation(l_.Conv(s, c_.Int(1, 4), ConvShape::kPointwise), 0.8);
    s = l_.Conv(s, x.shape[1], ConvShape::kPointwise);
    return l_.CallFunction(OpKind::kAdd, {x.node, s.node}, {}, x.shape);
  }

  void ConvDag() {
    l_.SetScope("stem");
    const Shape shape = {c_.Int(1, 2), c_.Int(1, 4), c_.Int(3, 8), c_.Int(3, 8)};
    Value h = l_.Input("x", shape);
    h = l_.Conv(h, c_.Int(2, 6), ConvShape::kAny);
    h = l_.MaybeActivation(l_.MaybeBatchNorm(h, 0.5), 0.8);
    if (c_.Chance(0.05)) h = l_.Add(h, l_.Input("y", h.shape));  // a second model input
    const int64_t blocks = c_.Int(1, 3);
    for (int64_t i = 0; i < blocks; ++i) {
      l_.SetScope(absl::StrCat("block", i));
      switch (c_.Int(0, 6)) {
        case 0:
        case 1:
          h = ResidualBlock(h);
          break;
        case 2:
          h = CatBlock(h);
          break;
        case 3:
          h = FanOutBlock(h);
          break;
        case 4:
          h = DepthwiseSeparableBlock(h);
          break;
        case 5:
          h = SqueezeBlock(h);
          break;
        default:
          h = ConvStage(h, 0.3);
      }
    }
    l_.Output(ConvHead(h, 0.6));
  }

  void LinearDag() {
    l_.SetScope("stem");
    const Shape shape = {c_.Int(1, 3), c_.Int(1, 8)};
    Value h = l_.Input("x", shape);
    h = l_.MaybeActivation(l_.Linear(h, c_.Int(2, 8)), 0.7);
    const int64_t blocks = c_.Int(1, 3);
    for (int64_t i = 0; i < blocks; ++i) {
      l_.SetScope(absl::StrCat("block", i));
      switch (c_.Int(0, 2)) {
        case 0: {  // residual
          Value y = l_.MaybeActivation(l_.Linear(h, c_.Int(1, 6)), 0.7);
          h = l_.MaybeActivation(l_.Add(h, l_.Linear(y, h.shape.back())), 0.5);
          break;
        }
        case 1: {  // cat of two branches (or a branch and the input)
          Value a = l_.MaybeActivation(l_.Linear(h, c_.Int(1, 4)), 0.6);
          Value b = c_.Chance(0.7) ? l_.MaybeActivation(l_.Linear(h, c_.Int(1, 4)), 0.6) : h;
          if (c_.Chance(0.1)) {  // along the batch: both branches need the same features
            b = l_.MaybeActivation(l_.Linear(h, a.shape[1]), 0.6);
            h = l_.Cat({a, b}, 0);
          } else {
            h = l_.Cat({a, b});
          }
          break;
        }
        default: {  // fan-out to an extra output
          Value a = l_.Linear(h, c_.Int(1, 6));
          l_.AddOutput(l_.MaybeActivation(a, 0.5));
          h = l_.MaybeActivation(l_.Linear(h, c_.Int(1, 6)), 0.6);
        }
      }
    }
    l_.SetScope("head");
    l_.Output(l_.Linear(h, c_.Int(1, 6)));
  }

  // LSTM on [T, B, I], [B, T, I] (batch_first) or unbatched [T, I], maybe from initial state;
  // -> getitem(0) -> (LayerNorm) -> Linear (-> act -> Linear); the state (h_n, c_n), h_n or
  // the LSTM's output returned as well at times.
  void Lstm() {
    const int64_t layout = c_.Int(0, 5);  // 0-3: [T, B, I]; 4: batch_first; 5: unbatched
    const int64_t T = c_.Int(1, 4), B = c_.Int(1, 3);
    int64_t I = c_.Int(1, 6);
    const bool batch_first = layout == 4;
    Shape shape = layout == 5 ? Shape{T, I} : batch_first ? Shape{B, T, I} : Shape{T, B, I};
    Value x = l_.Input("x", shape);
    if (c_.Chance(0.1)) {
      I = c_.Int(1, 6);
      x = l_.Linear(x, I);
    }
    const LstmAttrs attrs{.input_size = I,
                          .hidden_size = c_.Int(1, 6),
                          .num_layers = c_.Int(1, 2),
                          .bias = c_.Chance(0.8),
                          .batch_first = batch_first};
    const int64_t H = attrs.hidden_size, L = attrs.num_layers;
    std::vector<Node*> args = {x.node};
    if (c_.Chance(0.15)) {
      const Shape state = layout == 5 ? Shape{L, H} : Shape{L, B, H};
      args.push_back(l_.Input("h0", state).node);
      args.push_back(l_.Input("c0", state).node);
    }
    l_.builder().AddModule("lstm", attrs);
    const Value lstm = l_.CallModule("lstm", std::move(args), {});
    Shape out_shape = x.shape;
    out_shape.back() = H;
    const Value out = l_.GetItem(lstm, 0, out_shape);
    Value h = out;
    if (c_.Chance(0.05)) {  // stacked LSTMs: no pattern prunes the first one
      l_.builder().AddModule(
          "lstm2", LstmAttrs{.input_size = H, .hidden_size = H, .batch_first = batch_first});
      h = l_.GetItem(l_.CallModule("lstm2", h, {}), 0, out_shape);
    }
    if (c_.Bool()) h = l_.LayerNorm(h);
    if (c_.Chance(0.08)) h = l_.Activation(h);
    h = l_.Linear(h, c_.Int(1, 6));
    if (c_.Chance(0.4)) {
      h = l_.Activation(h);
      if (c_.Bool()) h = l_.Linear(h, c_.Int(1, 5));
    }
    // The state: 0-2 (h_n, c_n) returned; 3-4 h_n returned; 5 h_n -> Linear; else unused.
    const int64_t state_output = c_.Int(0, 11);
    if (state_output <= 5) {
      const Value state = l_.GetItem(lstm, 1, {});
      if (state_output <= 2) {
        l_.AddOutput(state);
      } else {
        Value h_n = l_.GetItem(state, 0, layout == 5 ? Shape{L, H} : Shape{L, B, H});
        if (state_output == 5) h_n = l_.Linear(h_n, c_.Int(1, 4));
        l_.AddOutput(h_n);
      }
    }
    l_.MaybeExtraOutput(out, 0.1);
    l_.Output(h);
  }

  ChoiceSource& c_;
  RandomLayers l_;
};

}  // namespace

absl::string_view GraphFamilyName(GraphFamily family) {
  switch (family) {
    case GraphFamily::kLinearChain:
      return "linear chain";
    case GraphFamily::kConvChain:
      return "conv chain";
    case GraphFamily::kPools:
      return "pools";
    case GraphFamily::kDag:
      return "DAG";
    case GraphFamily::kLstm:
      return "LSTM";
  }
  return "?";
}

absl::StatusOr<RandomGraph> GenerateRandomGraph(ChoiceSource& choices,
                                                std::optional<GraphFamily> family) {
  const GraphFamily f = family.has_value()
                            ? *family
                            : static_cast<GraphFamily>(choices.Int(0, kNumGraphFamilies - 1));
  return FamilyGenerator(choices).Generate(f);
}

}  // namespace structprune::testing
