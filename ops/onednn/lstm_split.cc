#include "ops/onednn/lstm_split.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <unordered_map>

#include "core/eigen.h"
#include "core/index_select.h"
#include "core/status_macros.h"
#include "ops/onednn/engine.h"

namespace structprune::internal {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Waits until all `team` threads have arrived. Spins, then yields (more threads than cores).
// Lighter than libgomp's barrier (BarrierOnOnednnThreads), which this kernel meets once per
// step: measured on the 75 % pruned model of kSplitMacsPerStepPerThread's note, split kernel
// forced, `structprune bench MODEL.onnx --threads 2 --iters 3000`: 0.44 ms with libgomp's,
// 0.30 ms with this one.
class SpinBarrier {
 public:
  void Wait(int team) {
    if (team == 1) return;
    const int generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == team) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.store(generation + 1, std::memory_order_release);
      return;
    }
    for (int spins = 0; generation_.load(std::memory_order_acquire) == generation; ++spins) {
      if (spins > 4000) std::this_thread::yield();
    }
  }

 private:
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<int> generation_{0};
};

class SplitLstmKernel : public Kernel {
 public:
  // One thread's hidden units [u0, u1) of a layer (n = u1 - u0). Its gates live in a buffer of
  // its own, [T B, 4n] with column blocks i, f, g, o and rows t * B + b, the g block scaled
  // by 2: sigmoid(2x) gives tanh(x) = 2 sigmoid(2x) - 1, so one logistic post-op serves all four.
  struct Part {
    int64_t u0 = 0, u1 = 0;
    dnnl::matmul projection;  // gates = src[T B, in] x its weight_ih rows^T + bias
    dnnl::matmul step;        // gates[t] = sigmoid(gates[t] + h_{t-1}[B, H] x its weight_hh rows^T)
    memory src, h, step_gates;  // bound per call / per step
    std::unordered_map<int, memory> projection_args, step_args;
    Tensor gates;
  };

  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    const int64_t state = g_.B * g_.H;
    const bool batch_major = g_.batched && g_.batch_first;
    float* out = output.items[0].tensor.data<float>();
    float* h_n = output.items[1].items[0].tensor.data<float>();
    float* c_n = output.items[1].items[1].tensor.data<float>();
    const float* x = inputs[0]->tensor.data<float>();
    if (batch_major) {  // [B, T, I] -> time-major rows t * B + b
      float* seq = input_.data<float>();
      for (int64_t t = 0; t < g_.T; ++t) {
        for (int64_t b = 0; b < g_.B; ++b)
          std::copy_n(x + (b * g_.T + t) * g_.I, g_.I, seq + (t * g_.B + b) * g_.I);
      }
      x = seq;
    }
    for (absl::Status& s : statuses_) s = absl::OkStatus();
    // oneDNN inside runs on the calling thread. A team smaller than the parts (nested in
    // another parallel region: one thread) takes several parts each; the parts compute the
    // same either way.
    RunOnOnednnThreads(num_threads_, [&](int thread, int team) {
      absl::Status& status = statuses_[thread];
      for (int64_t l = 0; l < g_.L; ++l) {
        std::vector<Part>& parts = layers_[l];
        // Step t's h is row block t of a time-major sequence: the output itself, unless that
        // is batch-major (copied there at the end).
        const bool into_output = l + 1 == g_.L && !batch_major;
        float* h_seq = into_output ? out : sequences_[l].data<float>();
        const float* src = l == 0 ? x : sequences_[l - 1].data<float>();
        // No initial state: h_{-1} = 0 (the matmul still applies the gates' sigmoid).
        const float* h0 =
            g_.has_state ? inputs[1]->tensor.data<float>() + l * state : zeros_.data<float>();
        const float* c0 =
            g_.has_state ? inputs[2]->tensor.data<float>() + l * state : zeros_.data<float>();
        float* c = c_n + l * state;
        for (size_t p = thread; p < parts.size(); p += team) {
          Part& part = parts[p];
          for (int64_t b = 0; b < g_.B; ++b) {
            std::copy(c0 + b * g_.H + part.u0, c0 + b * g_.H + part.u1, c + b * g_.H + part.u0);
          }
          if (!status.ok()) continue;
          status = CallOnednn("LSTM projection", absl::StatusCode::kInternal, [&] {
            part.src.set_data_handle(const_cast<float*>(src));
            part.projection.execute(CpuStream(), part.projection_args);
          });
        }
        for (int64_t t = 0; t < g_.T; ++t) {
          const float* h_prev = t > 0 ? h_seq + (t - 1) * state : h0;
          for (size_t p = thread; p < parts.size() && status.ok(); p += team) {
            status = CallOnednn("LSTM step", absl::StatusCode::kInternal,
                                [&] { Step(parts[p], t, h_prev, h_seq, c); });
          }
          // Step t + 1 reads every part's h of step t (and the next layer all of them).
          barrier_.Wait(team);
        }
        const float* last = h_seq + (g_.T - 1) * state;
        for (size_t p = thread; p < parts.size(); p += team) {
          const Part& part = parts[p];
          for (int64_t b = 0; b < g_.B; ++b) {
            std::copy(last + b * g_.H + part.u0, last + b * g_.H + part.u1,
                      h_n + l * state + b * g_.H + part.u0);
            if (l + 1 < g_.L || into_output) continue;
            for (int64_t t = 0; t < g_.T; ++t) {  // time-major [T, B, H] -> batch-major [B, T, H]
              const float* from = h_seq + (t * g_.B + b) * g_.H;
              std::copy(from + part.u0, from + part.u1, out + (b * g_.T + t) * g_.H + part.u0);
            }
          }
        }
      }
    });
    for (const absl::Status& s : statuses_) SP_RETURN_IF_ERROR(s);
    return absl::OkStatus();
  }

  // Step t for one part: the gates of its units from h_{t-1}, then their cell update, h written
  // into the sequence (where step t + 1 reads it).
  void Step(Part& part, int64_t t, const float* h_prev, float* h_seq, float* c) {
    const int64_t n = part.u1 - part.u0;
    const int64_t H = g_.H;
    float* gates = part.gates.data<float>() + t * g_.B * 4 * n;
    part.h.set_data_handle(const_cast<float*>(h_prev));
    part.step_gates.set_data_handle(gates);
    part.step.execute(CpuStream(), part.step_args);
    for (int64_t b = 0; b < g_.B; ++b) {
      const float* row = gates + b * 4 * n;
      const Eigen::Map<const Eigen::ArrayXf> i(row, n), f(row + n, n), g2(row + 2 * n, n),
          o(row + 3 * n, n);
      Eigen::Map<Eigen::ArrayXf> cell(c + b * H + part.u0, n);
      Eigen::Map<Eigen::ArrayXf> h(h_seq + (t * g_.B + b) * H + part.u0, n);
      cell = f * cell + i * (2.0f * g2 - 1.0f);
      h = o * cell.tanh();
    }
  }

  LstmGeometry g_;
  int num_threads_ = 2;
  SpinBarrier barrier_;
  std::vector<std::vector<Part>> layers_;
  std::vector<absl::Status> statuses_;  // per thread of the team
  Tensor input_;                        // a batch-first input, time-major
  Tensor zeros_;                        // h0 and c0 when the call has none
  std::vector<Tensor> sequences_;       // time-major h of layers whose output is not the model's
  std::vector<Tensor> packed_;          // weights in the matmuls' layouts, biases, scratchpads
};

}  // namespace

// Each step costs a matmul call, a cell update and a barrier whatever its size; below about
// this many multiply-adds per step and thread the wavefront (ops/onednn/lstm.cc) is faster.
// Measured with `GOMP_SPINCOUNT=300000 structprune bench MODEL.onnx --threads 2 --iters 300
// --json` (libgomp's default spin, set for both builds), split kernel and wavefront builds
// alternated, 3 runs each, medians in ms; MODEL nn.LSTM(64, 256, 2) -> Linear(256, 10) from
// torch.onnx.export, seq 32, and that model after `structprune prune --sparsity 0.25 / 0.5 /
// 0.75` (H 192 / 128 / 64; the last two with this threshold at 0). Split vs wavefront (MACs per
// step and thread): H 256 batch 8 (1M) 1.43-1.45 vs 1.69-1.73; H 256 batch 4 (524k) 0.90-0.92
// vs 1.29-1.54; H 192 batch 8 (590k) 1.04-1.07 vs 1.10-1.23; H 128 batch 8 (262k) 0.67-0.68 vs
// 0.61-0.67; H 64 batch 8 (66k) 0.32-0.35 vs 0.25.
constexpr int64_t kSplitMacsPerStepPerThread = 400'000;

bool SplitLstmTakes(const LstmGeometry& g, int num_threads) {
  if (num_threads < 2 || g.H < num_threads) return false;
  return g.B * g.H * 4 * g.H / num_threads >= kSplitMacsPerStepPerThread;
}

absl::StatusOr<std::unique_ptr<Kernel>> CreateSplitLstm(const LstmGeometry& g,
                                                        const std::vector<LstmLayer>& layers,
                                                        int num_threads) {
  if (!SplitLstmTakes(g, num_threads)) {
    return absl::UnimplementedError("split LSTM: too little work per step and thread");
  }
  const int64_t H = g.H, TB = g.T * g.B;
  const bool batch_major = g.batched && g.batch_first;
  auto kernel = std::make_unique<SplitLstmKernel>();
  kernel->g_ = g;
  kernel->num_threads_ = num_threads;
  kernel->statuses_.resize(num_threads);
  if (batch_major) kernel->input_ = Tensor::Zeros({TB * g.I});
  kernel->zeros_ = Tensor::Zeros({g.B * H});
  for (int64_t l = 0; l + 1 < g.L + (batch_major ? 1 : 0); ++l)
    kernel->sequences_.push_back(Tensor::Zeros({TB * H}));
  // Part p owns units [p H / n, (p + 1) H / n); gate rows reordered part by part, i, f, g, o.
  std::vector<int64_t> bounds, rows;
  for (int p = 0; p <= num_threads; ++p) bounds.push_back(p * H / num_threads);
  for (int p = 0; p < num_threads; ++p) {
    for (int64_t q = 0; q < 4; ++q) {
      for (int64_t u = bounds[p]; u < bounds[p + 1]; ++u) rows.push_back(q * H + u);
    }
  }
  // The reordered weight rows and biases of one layer, g rows doubled (exact in floating point).
  struct Reordered {
    Tensor weight_ih, weight_hh, bias;
  };
  std::vector<Reordered> reordered;
  for (const LstmLayer& w : layers) {
    Reordered r;
    SP_ASSIGN_OR_RETURN(r.weight_ih, SelectRows(w.weight_ih, rows));
    SP_ASSIGN_OR_RETURN(r.weight_hh, SelectRows(w.weight_hh, rows));
    r.bias = w.bias.defined() ? w.bias : Tensor::Zeros({4 * H});
    SP_ASSIGN_OR_RETURN(r.bias, SelectRows(r.bias, rows));
    for (int p = 0; p < num_threads; ++p) {
      const int64_t n = bounds[p + 1] - bounds[p], g_row = 4 * bounds[p] + 2 * n;
      AsMatrix(r.weight_ih, 4 * H, w.weight_ih.shape()[1]).middleRows(g_row, n) *= 2.0f;
      AsMatrix(r.weight_hh, 4 * H, H).middleRows(g_row, n) *= 2.0f;
      AsMatrix(r.bias, 4 * H, 1).middleRows(g_row, n) *= 2.0f;
    }
    reordered.push_back(std::move(r));
  }
  auto owned = [&](const Tensor& t) {
    kernel->packed_.push_back(t);
    return kernel->packed_.back().data<float>();
  };
  SP_RETURN_IF_ERROR(CallOnednn("LSTM setup", absl::StatusCode::kUnimplemented, [&] {
    dnnl::engine& eng = CpuEngine();
    // [N, K] row-major weights (PyTorch's) reordered once into the matmul's [K, N] layout.
    auto pack = [&](const float* w, int64_t k, int64_t n, const memory::desc& want) {
      memory user(memory::desc({k, n}, dt::f32, tag::ba), eng, const_cast<float*>(w));
      memory packed(
          want, eng,
          owned(Tensor::Zeros({static_cast<int64_t>(want.get_size() / sizeof(float)) + 1})));
      dnnl::reorder(user, packed).execute(CpuStream(), user, packed);
      CpuStream().wait();
      return packed;
    };
    auto scratchpad = [&](const dnnl::matmul::primitive_desc& pd) {
      const int64_t floats =
          static_cast<int64_t>(pd.scratchpad_desc().get_size() / sizeof(float)) + 1;
      return memory(pd.scratchpad_desc(), eng, owned(Tensor::Zeros({floats})));
    };
    dnnl::primitive_attr projection_attr;
    projection_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::post_ops step_ops;  // gates[t] holds the projection: add to it, then sigmoid
    step_ops.append_sum(1.0f);
    step_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f);
    dnnl::primitive_attr step_attr;
    step_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    step_attr.set_post_ops(step_ops);
    // Every matmul runs on one thread (its part's); oneDNN sizes its work split at creation.
    SetOnednnThreads(1);
    for (int64_t l = 0; l < g.L; ++l) {
      const Reordered& w = reordered[l];
      const int64_t in = l == 0 ? g.I : H;
      std::vector<SplitLstmKernel::Part> parts;
      for (int p = 0; p < num_threads; ++p) {
        SplitLstmKernel::Part part;
        part.u0 = bounds[p];
        part.u1 = bounds[p + 1];
        const int64_t cols = 4 * (part.u1 - part.u0);
        part.gates = Tensor::Zeros({TB * cols});
        const memory::desc src_md({TB, in}, dt::f32, tag::ab);
        const memory::desc gates_md({TB, cols}, dt::f32, tag::ab);
        const memory::desc bias_md({1, cols}, dt::f32, tag::ab);
        const dnnl::matmul::primitive_desc projection_pd(
            dnnl::matmul::desc(src_md, memory::desc({in, cols}, dt::f32, tag::any), bias_md,
                               gates_md),
            projection_attr, eng);
        part.projection = dnnl::matmul(projection_pd);
        part.src = memory(src_md, eng, DNNL_MEMORY_NONE);
        part.projection_args = {
            {DNNL_ARG_SRC, part.src},
            {DNNL_ARG_WEIGHTS, pack(w.weight_ih.data<float>() + 4 * part.u0 * in, in, cols,
                                    projection_pd.weights_desc())},
            {DNNL_ARG_BIAS,
             memory(bias_md, eng, const_cast<float*>(w.bias.data<float>()) + 4 * part.u0)},
            {DNNL_ARG_DST, memory(gates_md, eng, part.gates.data<float>())},
            {DNNL_ARG_SCRATCHPAD, scratchpad(projection_pd)}};
        const memory::desc h_md({g.B, H}, dt::f32, tag::ab);
        const memory::desc step_gates_md({g.B, cols}, dt::f32, tag::ab);
        const dnnl::matmul::primitive_desc step_pd(
            dnnl::matmul::desc(h_md, memory::desc({H, cols}, dt::f32, tag::any), step_gates_md),
            step_attr, eng);
        part.step = dnnl::matmul(step_pd);
        part.h = memory(h_md, eng, DNNL_MEMORY_NONE);
        part.step_gates = memory(step_gates_md, eng, DNNL_MEMORY_NONE);
        part.step_args = {{DNNL_ARG_SRC, part.h},
                          {DNNL_ARG_WEIGHTS, pack(w.weight_hh.data<float>() + 4 * part.u0 * H, H,
                                                  cols, step_pd.weights_desc())},
                          {DNNL_ARG_DST, part.step_gates},
                          {DNNL_ARG_SCRATCHPAD, scratchpad(step_pd)}};
        parts.push_back(std::move(part));
      }
      kernel->layers_.push_back(std::move(parts));
    }
    for (const Reordered& r : reordered) owned(r.bias);  // the bias memories point into them
  }));
  SetOnednnThreads(num_threads);
  return kernel;
}

}  // namespace structprune::internal
