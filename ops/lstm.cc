#include "ops/lstm.h"

#include <cmath>

#include "core/eigen.h"
#include "core/status_macros.h"
#include "ops/onednn/lstm.h"
#include "ops/op_util.h"

namespace structprune {
namespace {

using internal::OpError;

using internal::LstmGeometry;
using internal::LstmLayer;

struct LstmParams {
  LstmAttrs attrs;
  std::vector<LstmLayer> layers;
};

std::string LayerName(absl::string_view base, int64_t layer) {
  return absl::StrCat(base, "_l", layer);
}

absl::StatusOr<LstmAttrs> ReadAttrs(const AttrMap& a) {
  LstmAttrs c;
  SP_ASSIGN_OR_RETURN(c.input_size, GetIntAttr(a, "input_size", -1));
  SP_ASSIGN_OR_RETURN(c.hidden_size, GetIntAttr(a, "hidden_size", -1));
  SP_ASSIGN_OR_RETURN(c.num_layers, GetIntAttr(a, "num_layers", 1));
  SP_ASSIGN_OR_RETURN(c.bias, GetBoolAttr(a, "bias", true));
  SP_ASSIGN_OR_RETURN(c.batch_first, GetBoolAttr(a, "batch_first", false));
  SP_ASSIGN_OR_RETURN(c.peepholes, GetBoolAttr(a, "peepholes", false));
  SP_ASSIGN_OR_RETURN(bool bidirectional, GetBoolAttr(a, "bidirectional", false));
  SP_ASSIGN_OR_RETURN(int64_t proj_size, GetIntAttr(a, "proj_size", 0));
  if (bidirectional || proj_size != 0) {
    return absl::UnimplementedError("bidirectional LSTM and proj_size are not supported");
  }
  if (c.input_size <= 0 || c.hidden_size <= 0 || c.num_layers <= 0) {
    return absl::InvalidArgumentError("input_size, hidden_size and num_layers must be positive");
  }
  return c;
}

absl::StatusOr<LstmParams> ReadParams(const OpCall& call) {
  LstmParams p;
  auto attrs = ReadAttrs(*call.attrs);
  if (!attrs.ok()) return internal::WithOpContext(call, attrs.status());
  p.attrs = *attrs;
  const int64_t H = p.attrs.hidden_size;
  for (int64_t l = 0; l < p.attrs.num_layers; ++l) {
    const int64_t in = l == 0 ? p.attrs.input_size : H;
    LstmLayer layer;
    SP_ASSIGN_OR_RETURN(layer.weight_ih,
                        internal::ExpectParameter(call, LayerName("weight_ih", l), {4 * H, in}));
    SP_ASSIGN_OR_RETURN(layer.weight_hh,
                        internal::ExpectParameter(call, LayerName("weight_hh", l), {4 * H, H}));
    if (p.attrs.bias) {
      SP_ASSIGN_OR_RETURN(Tensor b_ih, internal::ExpectParameter(call, LayerName("bias_ih", l), {4 * H}));
      SP_ASSIGN_OR_RETURN(Tensor b_hh, internal::ExpectParameter(call, LayerName("bias_hh", l), {4 * H}));
      layer.bias = Tensor::Zeros({4 * H});
      for (int64_t i = 0; i < 4 * H; ++i) {
        layer.bias.data<float>()[i] = b_ih.data<float>()[i] + b_hh.data<float>()[i];
      }
    }
    if (p.attrs.peepholes) {
      SP_ASSIGN_OR_RETURN(layer.peephole,
                          internal::ExpectParameter(call, LayerName("peephole", l), {3 * H}));
    }
    p.layers.push_back(std::move(layer));
  }
  return p;
}


absl::StatusOr<LstmGeometry> Geometry(const OpCall& call, const LstmAttrs& a) {
  if (call.inputs.size() != 1 && call.inputs.size() != 3) {
    return OpError(call, absl::StrCat("expects x or (x, h0, c0), got ", call.inputs.size(), " inputs"));
  }
  SP_RETURN_IF_ERROR(internal::ExpectTensorInputs(call, 1, 3));
  const Shape& x = call.inputs[0].shape;
  LstmGeometry g;
  g.batched = x.size() == 3;
  g.batch_first = a.batch_first;
  g.has_state = call.inputs.size() == 3;
  if (x.size() != 2 && x.size() != 3) {
    return OpError(call, absl::StrCat("input must be 2-D (unbatched) or 3-D, got ", ShapeToString(x)));
  }
  g.T = g.batched && a.batch_first ? x[1] : x[0];
  g.B = !g.batched ? 1 : (a.batch_first ? x[0] : x[1]);
  g.I = x.back();
  g.H = a.hidden_size;
  g.L = a.num_layers;
  if (g.I != a.input_size) {
    return OpError(call, absl::StrCat("input ", ShapeToString(x), " has ", g.I,
                                      " features, input_size is ", a.input_size));
  }
  if (g.has_state) {
    Shape expected = g.batched ? Shape{g.L, g.B, g.H} : Shape{g.L, g.H};
    for (int i = 1; i < 3; ++i) {
      if (call.inputs[i].shape != expected) {
        return OpError(call, absl::StrCat(i == 1 ? "h0" : "c0", " has shape ",
                                          ShapeToString(call.inputs[i].shape), ", expected ",
                                          ShapeToString(expected)));
      }
    }
  }
  return g;
}

ValueInfo OutputInfo(const LstmGeometry& g) {
  Shape out = !g.batched ? Shape{g.T, g.H} : (g.batch_first ? Shape{g.B, g.T, g.H} : Shape{g.T, g.B, g.H});
  Shape state = g.batched ? Shape{g.L, g.B, g.H} : Shape{g.L, g.H};
  return ValueInfo::Tuple({ValueInfo::Of(out), ValueInfo::Tuple({ValueInfo::Of(state), ValueInfo::Of(state)})});
}

absl::StatusOr<ValueInfo> Infer(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(LstmParams p, ReadParams(call));
  SP_ASSIGN_OR_RETURN(LstmGeometry g, Geometry(call, p.attrs));
  return OutputInfo(g);
}

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// The input projection of all time steps is one GEMM; each step adds h W_hh^T (one GEMM for
// the four gates) and applies the cell update.
class LstmKernel : public Kernel {
 public:
  LstmKernel(LstmParams p, LstmGeometry g) : p_(std::move(p)), g_(g) {
    const int64_t TB = g_.T * g_.B;
    seq_ = Tensor::Zeros({TB, std::max(g_.I, g_.H)});
    next_ = Tensor::Zeros({TB, g_.H});
    gates_x_ = Tensor::Zeros({TB, 4 * g_.H});
    gates_ = Tensor::Zeros({g_.B, 4 * g_.H});
    h_ = Tensor::Zeros({g_.B, g_.H});
    c_ = Tensor::Zeros({g_.B, g_.H});
  }

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const int64_t T = g_.T, B = g_.B, H = g_.H;
    const float* x = inputs[0]->tensor.data<float>();
    // Time-major copy of the input: row t * B + b.
    float* seq = seq_.data<float>();
    int64_t in = g_.I;
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t b = 0; b < B; ++b) {
        const float* row = g_.batch_first && g_.batched ? x + (b * T + t) * in : x + (t * B + b) * in;
        std::copy(row, row + in, seq + (t * B + b) * in);
      }
    }
    Tensor& out_seq = output.items[0].tensor;
    float* h_n = output.items[1].items[0].tensor.data<float>();  // [L, B, H]
    float* c_n = output.items[1].items[1].tensor.data<float>();
    for (int64_t l = 0; l < g_.L; ++l) {
      const LstmLayer& layer = p_.layers[l];
      auto X = AsMatrix(seq_.data<float>(), T * B, in);
      auto Gx = AsMatrix(gates_x_, T * B, 4 * H);
      Gx.noalias() = X * AsMatrix(layer.weight_ih, 4 * H, in).transpose();
      if (layer.bias.defined()) {
        Gx.rowwise() += ConstVectorMap(layer.bias.data<float>(), 4 * H).transpose();
      }
      float* h = h_.data<float>();
      float* c = c_.data<float>();
      if (g_.has_state) {
        std::copy_n(inputs[1]->tensor.data<float>() + l * B * H, B * H, h);
        std::copy_n(inputs[2]->tensor.data<float>() + l * B * H, B * H, c);
      } else {
        std::fill_n(h, B * H, 0.0f);
        std::fill_n(c, B * H, 0.0f);
      }
      // Peepholes [3H]: p_i, p_f, p_o; none reads as zeros.
      const float* peep = layer.peephole.defined() ? layer.peephole.data<float>() : nullptr;
      auto Whh = AsMatrix(layer.weight_hh, 4 * H, H);
      auto G = AsMatrix(gates_, B, 4 * H);
      float* next = next_.data<float>();
      for (int64_t t = 0; t < T; ++t) {
        G.noalias() = AsMatrix(h_.data<float>(), B, H) * Whh.transpose();
        G += AsMatrix(gates_x_.data<float>() + t * B * 4 * H, B, 4 * H);
        for (int64_t b = 0; b < B; ++b) {
          const float* gr = gates_.data<float>() + b * 4 * H;
          for (int64_t j = 0; j < H; ++j) {
            float& cell = c[b * H + j];
            const float pi = peep != nullptr ? peep[j] * cell : 0.0f;
            const float pf = peep != nullptr ? peep[H + j] * cell : 0.0f;
            const float i_gate = Sigmoid(gr[j] + pi);
            const float f_gate = Sigmoid(gr[H + j] + pf);
            const float g_gate = std::tanh(gr[2 * H + j]);
            cell = f_gate * cell + i_gate * g_gate;
            // The output gate peeks at the new cell.
            const float po = peep != nullptr ? peep[2 * H + j] * cell : 0.0f;
            const float o_gate = Sigmoid(gr[3 * H + j] + po);
            h[b * H + j] = o_gate * std::tanh(cell);
          }
        }
        std::copy_n(h, B * H, next + t * B * H);
      }
      std::copy_n(h, B * H, h_n + l * B * H);
      std::copy_n(c, B * H, c_n + l * B * H);
      // This layer's output is the next layer's input.
      std::copy_n(next, T * B * H, seq_.data<float>());
      in = H;
    }
    float* out = out_seq.data<float>();
    const float* last = next_.data<float>();
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t b = 0; b < B; ++b) {
        float* row = g_.batch_first && g_.batched ? out + (b * T + t) * H : out + (t * B + b) * H;
        std::copy_n(last + (t * B + b) * H, H, row);
      }
    }
    return absl::OkStatus();
  }

 private:
  LstmParams p_;
  LstmGeometry g_;
  Tensor seq_, next_, gates_x_, gates_, h_, c_;  // scratch, sized at creation
};

absl::StatusOr<std::unique_ptr<Kernel>> Create(const OpCall& call) {
  SP_ASSIGN_OR_RETURN(LstmParams p, ReadParams(call));
  SP_ASSIGN_OR_RETURN(LstmGeometry g, Geometry(call, p.attrs));
  // oneDNN's LSTM is built without peephole weights: a peephole LSTM runs on the reference.
  if (!call.reference_kernels && !p.attrs.peepholes) {
    auto fast = internal::CreateOnednnLstm(g, p.layers, call.num_threads);
    if (fast.ok()) return fast;
    if (fast.status().code() != absl::StatusCode::kUnimplemented) return fast.status();
  }
  return std::make_unique<LstmKernel>(std::move(p), g);
}

absl::Status InitModule(Module& m, Rng& rng) {
  SP_ASSIGN_OR_RETURN(LstmAttrs a, ReadAttrs(m.attrs()));
  // PyTorch draws every LSTM tensor from U(-1/sqrt(H), 1/sqrt(H)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(a.hidden_size));
  const int64_t H = a.hidden_size;
  for (int64_t l = 0; l < a.num_layers; ++l) {
    const int64_t in = l == 0 ? a.input_size : H;
    m.SetParameter(LayerName("weight_ih", l), internal::UniformInit(rng, {4 * H, in}, bound));
    m.SetParameter(LayerName("weight_hh", l), internal::UniformInit(rng, {4 * H, H}, bound));
    if (a.bias) {
      m.SetParameter(LayerName("bias_ih", l), internal::UniformInit(rng, {4 * H}, bound));
      m.SetParameter(LayerName("bias_hh", l), internal::UniformInit(rng, {4 * H}, bound));
    }
    if (a.peepholes) m.SetParameter(LayerName("peephole", l), Tensor::Zeros({3 * H}));
  }
  return absl::OkStatus();
}

}  // namespace

OpKind LstmAttrs::Kind() { return OpKind::kLstm; }

AttrMap LstmAttrs::ToAttrs() const {
  AttrMap a = {{"input_size", input_size},
               {"hidden_size", hidden_size},
               {"num_layers", num_layers},
               {"bias", bias},
               {"batch_first", batch_first}};
  if (peepholes) a["peepholes"] = true;
  return a;
}

const OpDef kLstmOp = {&Infer, &Create, &InitModule};

}  // namespace structprune
