#include "ops/onednn/lstm.h"

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "core/status_macros.h"
#include "ops/onednn/engine.h"
#include "ops/onednn/lstm_split.h"

namespace structprune::internal {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

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

// Stacked layers on 2 threads that the split kernel does not take (ops/onednn/lstm_split.h: too
// little work per step for its per-step barrier) run as a wavefront instead: the sequence is
// cut into this many chunks and layer l works on chunk k while layer l+1 works on chunk k-1,
// each on one of oneDNN's threads (two layers at once keep both busy; one small step GEMM split
// across two threads does not). Measured (bench/models_benchmark, 2-layer LSTM hidden 256, seq
// 32, batch 8, 2 threads), dense / 50 % pruned: per-layer threads 2.09 / 0.75 ms; wavefront with
// 1, 2, 4, 8, 16, 32 chunks 2.63 / 0.83, 2.19 / 0.67, 1.91 / 0.57, 1.83 / 0.54, 1.85 / 0.56,
// 1.84 / 0.63.
constexpr int64_t kWavefrontChunks = 8;

class OnednnLstmKernel : public Kernel {
 public:
  // One layer's primitive for `steps` time steps, and the memory objects bound to its
  // arguments (their data handles are set per call).
  struct Chunk {
    dnnl::lstm_forward primitive;
    memory src, src_iter, src_iter_c, dst, dst_iter, dst_iter_c;
    std::unordered_map<int, memory> args;
  };
  struct Layer {
    int threads;                // OpenMP threads its primitives run with
    std::vector<Chunk> chunks;  // [0]: chunk_steps_ steps; [1]: the shorter last chunk, if any
  };

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    if (!wavefront_) {
      return CallOnednn("LSTM", absl::StatusCode::kInternal, [&] {
        for (int64_t l = 0; l < g_.L; ++l) RunChunk(l, 0, inputs, output);
        CpuStream().wait();
        SetOnednnThreads(num_threads_);
      });
    }
    // Stage s: layer l runs chunk s - l, the layers split between the threads by parity (all
    // on one when the runtime gives one). oneDNN inside runs on the calling thread.
    const int64_t stages = num_chunks_ + g_.L - 1;
    absl::Status status[2];
    RunOnOnednnThreads(2, [&](int t, int team) {
      for (int64_t s = 0; s < stages; ++s) {
        for (int64_t l = t; l < g_.L; l += team) {
          const int64_t k = s - l;
          if (k < 0 || k >= num_chunks_ || !status[t].ok()) continue;
          status[t] = CallOnednn("LSTM", absl::StatusCode::kInternal, [&] { RunChunk(l, k, inputs, output); });
        }
        BarrierOnOnednnThreads();
      }
    });
    SP_RETURN_IF_ERROR(status[0]);
    return status[1];
  }

  // Layer l over chunk k of the sequence: reads layer l-1's output (or the input) and the
  // state chunk k-1 left (or the initial state), writes its output and state.
  void RunChunk(int64_t l, int64_t k, absl::Span<const Value* const> inputs, Value& output) {
    const int64_t state = g_.B * g_.H;  // one layer's h or c
    const bool last_chunk = k + 1 == num_chunks_;
    Chunk& c = layers_[l].chunks[last_chunk && layers_[l].chunks.size() > 1 ? 1 : 0];
    const int64_t t0 = k * chunk_steps_;  // the chunk's first step
    // Step t0 of a sequence-major [T, B, C] sequence starts t0 * B * C in, of a batch-major
    // [B, T, C] one (the model's input and output with batch_first) t0 * C.
    const bool batch_major = g_.batched && g_.batch_first;
    const float* src = l == 0 ? inputs[0]->tensor.data<float>() + t0 * (batch_major ? 1 : g_.B) * g_.I
                              : sequences_[l - 1].data<float>() + t0 * state;
    float* dst = l + 1 == g_.L ? output.items[0].tensor.data<float>() + t0 * (batch_major ? 1 : g_.B) * g_.H
                               : sequences_[l].data<float>() + t0 * state;
    // Between chunks the state alternates between two slots per layer: [l][slot][h, c].
    auto slot = [&](int64_t chunk, int which) { return states_.data<float>() + ((l * 2 + chunk % 2) * 2 + which) * state; };
    const float* h0 = k > 0 ? slot(k - 1, 0) : g_.has_state ? inputs[1]->tensor.data<float>() + l * state : zeros_.data<float>();
    const float* c0 = k > 0 ? slot(k - 1, 1) : g_.has_state ? inputs[2]->tensor.data<float>() + l * state : zeros_.data<float>();
    float* h1 = last_chunk ? output.items[1].items[0].tensor.data<float>() + l * state : slot(k, 0);
    float* c1 = last_chunk ? output.items[1].items[1].tensor.data<float>() + l * state : slot(k, 1);
    c.src.set_data_handle(const_cast<float*>(src));
    c.dst.set_data_handle(dst);
    c.src_iter.set_data_handle(const_cast<float*>(h0));
    c.src_iter_c.set_data_handle(const_cast<float*>(c0));
    c.dst_iter.set_data_handle(h1);
    c.dst_iter_c.set_data_handle(c1);
    if (!wavefront_) SetOnednnThreads(layers_[l].threads);
    c.primitive.execute(CpuStream(), c.args);
  }

  LstmGeometry g_;
  int num_threads_ = 1;
  int64_t chunk_steps_ = 0;
  int64_t num_chunks_ = 1;
  std::vector<Layer> layers_;
  std::vector<Tensor> sequences_;  // layer l's output sequence, read by layer l+1
  Tensor states_;                  // per layer, two (h, c) slots the chunks alternate between
  Tensor zeros_;                   // the initial state when the call has none
  std::vector<Tensor> packed_;     // weights in the primitives' layouts, biases, scratchpads
  bool wavefront_ = false;  // layers and chunks on two threads at once
};

}  // namespace

absl::StatusOr<std::unique_ptr<Kernel>> CreateOnednnLstm(const LstmGeometry& g,
                                                         const std::vector<LstmLayer>& layers,
                                                         int num_threads) {
  // Large layers on several threads split their hidden units between the threads.
  if (SplitLstmTakes(g, num_threads)) {
    auto split = CreateSplitLstm(g, layers, num_threads);
    if (split.ok() || split.status().code() != absl::StatusCode::kUnimplemented) return split;
  }
  auto kernel = std::make_unique<OnednnLstmKernel>();
  kernel->g_ = g;
  kernel->num_threads_ = num_threads;
  // Batch-first sequences are oneDNN's ntc layout (a chunk of one: ntc's strides); unbatched
  // ones are a batch of one.
  const bool batch_major = g.batched && g.batch_first;
  // Measured at 2 threads only (this machine's cores); more threads keep per-layer threading,
  // as oneDNN inside the wavefront's threads runs single-threaded.
  const bool wavefront = num_threads == 2 && g.L >= 2 && g.T >= 2;
  // Chunks of ceil(T / chunks) steps (the last one may be shorter); one chunk off the wavefront.
  const int64_t chunk_steps = wavefront ? (g.T + kWavefrontChunks - 1) / kWavefrontChunks : g.T;
  kernel->chunk_steps_ = chunk_steps;
  kernel->num_chunks_ = (g.T + chunk_steps - 1) / chunk_steps;
  const int64_t state = g.B * g.H;
  for (int64_t l = 0; l + 1 < g.L; ++l) kernel->sequences_.push_back(Tensor::Zeros({g.T * state}));
  if (kernel->num_chunks_ > 1) kernel->states_ = Tensor::Zeros({g.L * 4 * state});
  kernel->zeros_ = Tensor::Zeros({state});
  SP_RETURN_IF_ERROR(CallOnednn("LSTM setup", absl::StatusCode::kUnimplemented, [&] {
    dnnl::engine& eng = CpuEngine();
    const memory::desc state_md({1, 1, g.B, g.H}, dt::f32, tag::ldnc);
    const memory::desc bias_md({1, 1, 4, g.H}, dt::f32, tag::ldgo);
    for (int64_t l = 0; l < g.L; ++l) {
      const LstmLayer& weights = layers[l];
      const int64_t in = l == 0 ? g.I : g.H;
      // oneDNN sizes its per-thread work when the primitive is made: make it with the threads
      // it will run on (on the wavefront, one: nested OpenMP regions get one thread).
      OnednnLstmKernel::Layer layer;
      layer.threads = wavefront ? 1 : LstmLayerThreads(g.B * 4 * g.H * (in + g.H), num_threads);
      SetOnednnThreads(layer.threads);
      memory w_layer, w_iter, bias;
      std::vector<int64_t> lengths = {kernel->chunk_steps_};
      if (g.T % kernel->chunk_steps_ != 0) lengths.push_back(g.T % kernel->chunk_steps_);
      for (const int64_t steps : lengths) {
        // A chunk of a batch-major sequence: steps of one batch row are `width` apart, rows
        // T * width apart (ntc's strides with the whole sequence's T).
        auto sequence_md = [&](bool outer_layout, int64_t width) {
          if (!outer_layout || !batch_major) return memory::desc({steps, g.B, width}, dt::f32, tag::tnc);
          return memory::desc({steps, g.B, width}, dt::f32, memory::dims{width, g.T * width, 1});
        };
        const memory::desc src_md = sequence_md(l == 0, in);
        const memory::desc dst_md = sequence_md(l + 1 == g.L, g.H);
        const memory::desc w_layer_any({1, 1, in, 4, g.H}, dt::f32, tag::any);
        const memory::desc w_iter_any({1, 1, g.H, 4, g.H}, dt::f32, tag::any);
        dnnl::lstm_forward::desc desc(dnnl::prop_kind::forward_inference,
                                      dnnl::rnn_direction::unidirectional_left2right, src_md, state_md,
                                      state_md, w_layer_any, w_iter_any, bias_md, dst_md, state_md, state_md);
        // Each primitive owns its scratchpad: the wavefront runs two at once.
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        dnnl::lstm_forward::primitive_desc pd(desc, attr, eng);
        // PyTorch's [4H, in] weights are oneDNN's ldgoi layout; reorder once to the primitive's
        // (once per layer: chunk lengths only differ in steps, which the weights do not see).
        auto pack = [&](const Tensor& w, int64_t cols, const memory::desc& want, memory& packed) {
          if (packed && packed.get_desc() == want) return;
          memory user(memory::desc({1, 1, cols, 4, g.H}, dt::f32, tag::ldgoi), eng,
                      const_cast<float*>(w.data<float>()));
          kernel->packed_.push_back(Tensor::Zeros({static_cast<int64_t>(want.get_size() / sizeof(float))}));
          packed = memory(want, eng, kernel->packed_.back().data<float>());
          dnnl::reorder(user, packed).execute(CpuStream(), user, packed);
        };
        pack(weights.weight_ih, in, pd.weights_layer_desc(), w_layer);
        pack(weights.weight_hh, g.H, pd.weights_iter_desc(), w_iter);
        CpuStream().wait();
        if (!bias) {
          kernel->packed_.push_back(weights.bias.defined() ? weights.bias.Clone() : Tensor::Zeros({4 * g.H}));
          bias = memory(bias_md, eng, kernel->packed_.back().data<float>());
        }
        OnednnLstmKernel::Chunk c;
        c.primitive = dnnl::lstm_forward(pd);
        c.src = memory(src_md, eng, DNNL_MEMORY_NONE);
        c.dst = memory(dst_md, eng, DNNL_MEMORY_NONE);
        c.src_iter = memory(state_md, eng, DNNL_MEMORY_NONE);
        c.src_iter_c = memory(state_md, eng, DNNL_MEMORY_NONE);
        c.dst_iter = memory(state_md, eng, DNNL_MEMORY_NONE);
        c.dst_iter_c = memory(state_md, eng, DNNL_MEMORY_NONE);
        c.args = {{DNNL_ARG_SRC_LAYER, c.src},     {DNNL_ARG_SRC_ITER, c.src_iter},
                  {DNNL_ARG_SRC_ITER_C, c.src_iter_c}, {DNNL_ARG_WEIGHTS_LAYER, w_layer},
                  {DNNL_ARG_WEIGHTS_ITER, w_iter}, {DNNL_ARG_BIAS, bias},
                  {DNNL_ARG_DST_LAYER, c.dst},     {DNNL_ARG_DST_ITER, c.dst_iter},
                  {DNNL_ARG_DST_ITER_C, c.dst_iter_c}};
        kernel->packed_.push_back(Tensor::Zeros({static_cast<int64_t>(pd.scratchpad_desc().get_size() / sizeof(float)) + 1}));
        c.args[DNNL_ARG_SCRATCHPAD] = memory(pd.scratchpad_desc(), eng, kernel->packed_.back().data<float>());
        layer.chunks.push_back(std::move(c));
      }
      kernel->layers_.push_back(std::move(layer));
    }
  }));
  SetOnednnThreads(num_threads);
  kernel->wavefront_ = wavefront;
  return kernel;
}

}  // namespace structprune::internal
