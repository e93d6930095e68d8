#include "ops/onednn/lstm.h"

#include <algorithm>
#include <unordered_map>

#include "core/status_macros.h"
#include "ops/onednn/engine.h"

namespace structprune::internal {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

class OnednnLstmKernel : public Kernel {
 public:
  struct Layer {
    int threads;  // OpenMP threads this layer's primitive runs with
    dnnl::lstm_forward primitive;
    memory src, src_iter, src_iter_c, dst, dst_iter, dst_iter_c;
    std::unordered_map<int, memory> args;
  };

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    return CallOnednn("LSTM", absl::StatusCode::kInternal, [&] {
      const int64_t state = g_.B * g_.H;  // one layer's h or c
      float* out = output.items[0].tensor.data<float>();
      float* h_n = output.items[1].items[0].tensor.data<float>();
      float* c_n = output.items[1].items[1].tensor.data<float>();
      for (size_t l = 0; l < layers_.size(); ++l) {
        Layer& layer = layers_[l];
        // Layer l reads layer l-1's sequence; the two scratch sequences alternate.
        layer.src.set_data_handle(l == 0 ? const_cast<float*>(inputs[0]->tensor.data<float>())
                                         : sequences_[(l - 1) % 2].data<float>());
        layer.dst.set_data_handle(l + 1 == layers_.size() ? out : sequences_[l % 2].data<float>());
        if (g_.has_state) {
          layer.src_iter.set_data_handle(const_cast<float*>(inputs[1]->tensor.data<float>()) + l * state);
          layer.src_iter_c.set_data_handle(const_cast<float*>(inputs[2]->tensor.data<float>()) + l * state);
        }
        layer.dst_iter.set_data_handle(h_n + l * state);
        layer.dst_iter_c.set_data_handle(c_n + l * state);
        SetOnednnThreads(layer.threads);
        layer.primitive.execute(CpuStream(), layer.args);
      }
      CpuStream().wait();
      SetOnednnThreads(num_threads_);
    });
  }

  LstmGeometry g_;
  int num_threads_ = 1;
  std::vector<Layer> layers_;
  Tensor sequences_[2];
  std::vector<Tensor> packed_;  // weights in the primitives' layouts, and the biases
};

// oneDNN 2.6's LSTM splits each time step's gate GEMM across threads; below about this many
// multiply-adds per step and thread the per-step synchronization costs more than the extra
// thread saves. Measured (bench/models_benchmark, 2-layer LSTM, batch 8, 2 threads): hidden
// 128 ran 1.06 ms on 2 threads vs 0.74 ms on 1; with this rule 0.76 ms. Hidden 192 and 256
// keep both threads.
constexpr int64_t kLstmMacsPerStepPerThread = 750'000;

int LstmLayerThreads(int64_t macs_per_step, int num_threads) {
  const int64_t useful = std::max<int64_t>(1, macs_per_step / kLstmMacsPerStepPerThread);
  return static_cast<int>(std::min<int64_t>(num_threads, useful));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Kernel>> CreateOnednnLstm(const LstmGeometry& g,
                                                         const std::vector<LstmLayer>& layers,
                                                         int num_threads) {
  auto kernel = std::make_unique<OnednnLstmKernel>();
  kernel->g_ = g;
  kernel->num_threads_ = num_threads;
  SetOnednnThreads(num_threads);
  if (g.L > 1) {
    for (Tensor& s : kernel->sequences_) s = Tensor::Zeros({g.T * g.B * g.H});
  }
  SP_RETURN_IF_ERROR(CallOnednn("LSTM setup", absl::StatusCode::kUnimplemented, [&] {
    dnnl::engine& eng = CpuEngine();
    // Batch-first sequences are oneDNN's ntc layout; unbatched ones are a batch of one.
    const tag outer = g.batched && g.batch_first ? tag::ntc : tag::tnc;
    const memory::desc state_md({1, 1, g.B, g.H}, dt::f32, tag::ldnc);
    for (int64_t l = 0; l < g.L; ++l) {
      const LstmLayer& weights = layers[l];
      const int64_t in = l == 0 ? g.I : g.H;
      const memory::desc src_md({g.T, g.B, in}, dt::f32, l == 0 ? outer : tag::tnc);
      const memory::desc dst_md({g.T, g.B, g.H}, dt::f32, l + 1 == g.L ? outer : tag::tnc);
      const memory::desc w_layer_any({1, 1, in, 4, g.H}, dt::f32, tag::any);
      const memory::desc w_iter_any({1, 1, g.H, 4, g.H}, dt::f32, tag::any);
      const memory::desc bias_md({1, 1, 4, g.H}, dt::f32, tag::ldgo);
      const memory::desc src_iter_md = g.has_state ? state_md : memory::desc();
      dnnl::lstm_forward::desc desc(dnnl::prop_kind::forward_inference,
                                    dnnl::rnn_direction::unidirectional_left2right, src_md,
                                    src_iter_md, src_iter_md, w_layer_any, w_iter_any, bias_md,
                                    dst_md, state_md, state_md);
      // oneDNN sizes its per-thread work when the primitive is made: make it with the threads
      // it will run on.
      const int threads = LstmLayerThreads(g.B * 4 * g.H * (in + g.H), num_threads);
      SetOnednnThreads(threads);
      dnnl::lstm_forward::primitive_desc pd(desc, eng);
      // PyTorch's [4H, in] weights are oneDNN's ldgoi layout; reorder once to the primitive's.
      auto pack = [&](const Tensor& w, int64_t cols, const memory::desc& want) {
        memory user(memory::desc({1, 1, cols, 4, g.H}, dt::f32, tag::ldgoi), eng,
                    const_cast<float*>(w.data<float>()));
        kernel->packed_.push_back(Tensor::Zeros({static_cast<int64_t>(want.get_size() / sizeof(float))}));
        memory m(want, eng, kernel->packed_.back().data<float>());
        dnnl::reorder(user, m).execute(CpuStream(), user, m);
        return m;
      };
      memory w_layer = pack(weights.weight_ih, in, pd.weights_layer_desc());
      memory w_iter = pack(weights.weight_hh, g.H, pd.weights_iter_desc());
      CpuStream().wait();
      kernel->packed_.push_back(weights.bias.defined() ? weights.bias.Clone()
                                                       : Tensor::Zeros({4 * g.H}));
      memory bias(bias_md, eng, kernel->packed_.back().data<float>());

      OnednnLstmKernel::Layer layer;
      layer.threads = threads;
      layer.primitive = dnnl::lstm_forward(pd);
      layer.src = memory(src_md, eng, DNNL_MEMORY_NONE);
      layer.dst = memory(dst_md, eng, DNNL_MEMORY_NONE);
      layer.dst_iter = memory(state_md, eng, DNNL_MEMORY_NONE);
      layer.dst_iter_c = memory(state_md, eng, DNNL_MEMORY_NONE);
      layer.args = {{DNNL_ARG_SRC_LAYER, layer.src},       {DNNL_ARG_WEIGHTS_LAYER, w_layer},
                    {DNNL_ARG_WEIGHTS_ITER, w_iter},       {DNNL_ARG_BIAS, bias},
                    {DNNL_ARG_DST_LAYER, layer.dst},       {DNNL_ARG_DST_ITER, layer.dst_iter},
                    {DNNL_ARG_DST_ITER_C, layer.dst_iter_c}};
      if (g.has_state) {
        layer.src_iter = memory(state_md, eng, DNNL_MEMORY_NONE);
        layer.src_iter_c = memory(state_md, eng, DNNL_MEMORY_NONE);
        layer.args[DNNL_ARG_SRC_ITER] = layer.src_iter;
        layer.args[DNNL_ARG_SRC_ITER_C] = layer.src_iter_c;
      }
      kernel->layers_.push_back(std::move(layer));
    }
  }));
  SetOnednnThreads(num_threads);
  return kernel;
}

}  // namespace structprune::internal
