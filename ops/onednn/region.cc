#include "ops/onednn/region.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include "core/status_macros.h"
#include "ops/activations.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/norms.h"
#include "ops/onednn/engine.h"
#include "ops/pooling.h"
#include "ops/registry.h"

namespace structprune::internal {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using Dims = memory::dims;
using Args = std::unordered_map<int, memory>;

// Dense row-major: the layout of every tensor outside a region.
memory::desc PlainDesc(const Shape& shape) {
  Dims dims(shape.begin(), shape.end());
  if (dims.empty()) dims = {1};
  Dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return memory::desc(dims, dt::f32, strides);
}

struct EltwiseOp {
  dnnl::algorithm algorithm;
  float alpha = 0.f, beta = 0.f;
};

// The activations whose oneDNN algorithm computes exactly PyTorch's function.
std::optional<EltwiseOp> EltwiseOf(OpKind kind, const AttrMap& attrs) {
  using alg = dnnl::algorithm;
  absl::StatusOr<ActivationParams> p = ReadActivationParams(kind, attrs);
  if (!p.ok()) return std::nullopt;
  switch (kind) {
    case OpKind::kRelu: return EltwiseOp{alg::eltwise_relu};
    case OpKind::kLeakyRelu: return EltwiseOp{alg::eltwise_relu, static_cast<float>(p->negative_slope)};
    case OpKind::kElu: return EltwiseOp{alg::eltwise_elu, static_cast<float>(p->alpha)};
    case OpKind::kSigmoid: return EltwiseOp{alg::eltwise_logistic};
    case OpKind::kTanh: return EltwiseOp{alg::eltwise_tanh};
    case OpKind::kRelu6: return EltwiseOp{alg::eltwise_clip, 0.f, 6.f};
    case OpKind::kHardtanh:
      return EltwiseOp{alg::eltwise_clip, static_cast<float>(p->min_val), static_cast<float>(p->max_val)};
    case OpKind::kGelu:
      return EltwiseOp{p->approximate_tanh ? alg::eltwise_gelu_tanh : alg::eltwise_gelu_erf};
    case OpKind::kSilu: return EltwiseOp{alg::eltwise_swish, 1.f};
    case OpKind::kHardswish: return EltwiseOp{alg::eltwise_hardswish};
    default: return std::nullopt;
  }
}

struct PoolWindow {
  dnnl::algorithm algorithm;
  Dims kernel, strides, dilation, pad_l, pad_r;
};

// oneDNN's pooling with the padding chosen so that its floor rule gives PyTorch's output size
// (ceil_mode becomes extra right padding). nullopt where the divisors would differ.
std::optional<PoolWindow> PoolWindowOf(const OpCall& call, const Shape& out) {
  absl::StatusOr<PoolParams> p = ReadPoolParams(call.kind, *call.attrs);
  const Shape& in = call.inputs[0].shape;
  if (!p.ok() || p->return_indices || in.size() != 4 || out.size() != 4) return std::nullopt;
  PoolWindow w;
  if (p->is_adaptive) {
    for (int d = 0; d < 2; ++d) {
      if (out[2 + d] <= 0 || in[2 + d] % out[2 + d] != 0) return std::nullopt;  // uneven windows
      const int64_t k = in[2 + d] / out[2 + d];
      w.kernel.push_back(k);
      w.strides.push_back(k);
      w.dilation.push_back(0);
      w.pad_l.push_back(0);
      w.pad_r.push_back(0);
    }
    w.algorithm = p->is_max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
    return w;
  }
  if (!p->is_max && p->divisor_override != 0) return std::nullopt;
  for (int d = 0; d < 2; ++d) {
    const int64_t dilation = p->is_max ? p->dilation[d] : 1;
    const int64_t span = dilation * (p->kernel[d] - 1) + 1;
    const int64_t pad_r =
        std::max<int64_t>(0, (out[2 + d] - 1) * p->stride[d] + span - in[2 + d] - p->padding[d]);
    // PyTorch clips an including-padding divisor to the end padding; oneDNN would count
    // ceil_mode's extra columns too. Per-side pads (`pads`) are oneDNN's padding_l / padding_r.
    if (!p->is_max && p->count_include_pad && pad_r > p->padding_end[d]) return std::nullopt;
    w.kernel.push_back(p->kernel[d]);
    w.strides.push_back(p->stride[d]);
    w.dilation.push_back(dilation - 1);
    w.pad_l.push_back(p->padding[d]);
    w.pad_r.push_back(pad_r);
  }
  w.algorithm = p->is_max              ? dnnl::algorithm::pooling_max
                : p->count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                       : dnnl::algorithm::pooling_avg_exclude_padding;
  return w;
}

bool IsChannelCat(const OpCall& call) {
  absl::StatusOr<int64_t> dim = GetIntAttr(*call.attrs, "dim", 0);
  if (!dim.ok() || call.inputs.empty()) return false;
  for (const ValueInfo& in : call.inputs) {
    if (in.shape.size() != 4) return false;
  }
  return *dim == 1 || *dim == -3;
}

bool OneTensorInput(const OpCall& call) {
  return call.inputs.size() == 1 && !call.inputs[0].is_tuple;
}

// A fused Conv2d/Linear: the producer, an optional BatchNorm folded into it, then post-ops
// (activation, residual add, activation), in node order. `end` is the last node it covers.
struct Chain {
  int producer = -1;
  int batch_norm = -1;
  std::vector<EltwiseOp> before_sum, after_sum;
  bool has_sum = false;
  int sum_other = 0;  // the add's other operand (a region value id; inputs are negative)
  int end = -1;
};

class RegionKernel : public Kernel {
 public:
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    SetOnednnThreads(num_threads_);
    return CallOnednn("fused region", absl::StatusCode::kInternal, [&] {
      for (auto& [mem, k] : bindings_) {
        mem.set_data_handle(k >= 0 ? const_cast<float*>(inputs[k]->tensor.data<float>())
                                   : output.tensor.data<float>());
      }
      dnnl::stream& stream = CpuStream();
      for (auto& [primitive, args] : steps_) primitive.execute(stream, args);
      stream.wait();
    });
  }

  int num_threads_ = 1;
  std::vector<std::pair<dnnl::primitive, Args>> steps_;
  std::vector<std::pair<memory, int>> bindings_;  // rebound each run: input k, or -1 the output
  std::vector<Tensor> storage_;                   // activation buffers and packed weights
};

class RegionCompiler {
 public:
  RegionCompiler(std::vector<Shape> input_shapes, std::vector<RegionNode> nodes, int num_threads)
      : input_shapes_(std::move(input_shapes)), nodes_(std::move(nodes)),
        kernel_(std::make_unique<RegionKernel>()) {
    kernel_->num_threads_ = num_threads;
  }

  absl::StatusOr<std::unique_ptr<Kernel>> Compile() {
    SetOnednnThreads(kernel_->num_threads_);
    absl::Status s = CallOnednn("fused region setup", absl::StatusCode::kUnimplemented,
                                [&] { CompileAll(); });
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat(s.message(), " (at '", nodes_[at_].call.name, "')"));
    }
    return std::unique_ptr<Kernel>(std::move(kernel_));
  }

 private:
  // A value inside the region. Ids: node i is i; region input k is -1 - k.
  struct Val {
    memory mem;
    int buffer = -1;                // index into buffers_; -1: a region input's memory
    int input = -1;                 // region input index when buffer == -1
    bool fresh = false;             // written by a primitive into a buffer of its own
    std::vector<memory> writes;     // the memories its producer writes through
    std::vector<int> extra_buffers;  // layout conversions of it, freed with it
    std::vector<std::pair<memory::desc, memory>> conversions;
  };
  struct Buffer {
    int storage;  // index into kernel_->storage_
    size_t bytes;
    int refs = 0;
  };

  void CompileAll() {
    const int n = static_cast<int>(nodes_.size());
    for (size_t k = 0; k < input_shapes_.size(); ++k) {
      Val v;
      v.mem = memory(PlainDesc(input_shapes_[k]), CpuEngine(), DNNL_MEMORY_NONE);
      v.input = static_cast<int>(k);
      kernel_->bindings_.push_back({v.mem, static_cast<int>(k)});
      inputs_.push_back(std::move(v));
    }
    vals_.resize(n);
    users_.assign(n, {});
    for (int i = 0; i < n; ++i) {
      for (int a : nodes_[i].args) {
        if (a >= 0) users_[a].push_back(i);
      }
    }
    PlanChains();
    // Liveness: a value dies after the step that runs its last consumer.
    last_use_.assign(n, -1);
    for (int i = 0; i < n; ++i) {
      const int at = step_of_[i];
      for (int a : nodes_[i].args) {
        if (a >= 0) last_use_[a] = std::max(last_use_[a], at);
      }
    }
    for (const Chain& c : chains_) {
      if (c.has_sum && c.sum_other >= 0) last_use_[c.sum_other] = std::max(last_use_[c.sum_other], c.end);
    }
    last_use_[n - 1] = std::numeric_limits<int>::max();
    dies_at_.assign(n, {});
    for (int i = 0; i < n; ++i) {
      if (last_use_[i] < 0) last_use_[i] = step_of_[i];  // unused: dies where it is made
      if (i != n - 1) dies_at_[last_use_[i]].push_back(i);
    }
    for (int i = 0; i < n; ++i) {
      if (step_of_[i] != i) continue;  // runs with its chain
      at_ = i;
      if (chain_of_[i] >= 0) {
        CompileChain(chains_[chain_of_[i]]);
      } else {
        CompileNode(i);
      }
      ReleaseDead(i);
    }
    BindOutput();
  }

  // Greedy, in node order: each conv/linear absorbs the single-use nodes that follow it.
  void PlanChains() {
    const int n = static_cast<int>(nodes_.size());
    step_of_.resize(n);
    chain_of_.assign(n, -1);
    for (int i = 0; i < n; ++i) step_of_[i] = i;
    std::vector<bool> claimed(n, false);
    for (int i = 0; i < n; ++i) {
      const OpKind kind = nodes_[i].call.kind;
      if (claimed[i] || (kind != OpKind::kConv2d && kind != OpKind::kLinear)) continue;
      Chain c;
      c.producer = i;
      std::vector<int> members = {i};
      int tail = i;
      auto next = [&]() -> int {
        if (tail == n - 1 || users_[tail].size() != 1) return -1;
        return claimed[users_[tail][0]] ? -1 : users_[tail][0];
      };
      auto take = [&](int u) {
        members.push_back(u);
        tail = u;
        return next();
      };
      int u = next();
      if (kind == OpKind::kConv2d && u >= 0 && nodes_[u].call.kind == OpKind::kBatchNorm2d) {
        c.batch_norm = u;
        u = take(u);
      }
      if (u >= 0 && OneTensorInput(nodes_[u].call)) {
        if (auto e = EltwiseOf(nodes_[u].call.kind, *nodes_[u].call.attrs)) {
          c.before_sum.push_back(*e);
          u = take(u);
        }
      }
      if (u >= 0 && nodes_[u].call.kind == OpKind::kAdd && nodes_[u].args[0] != nodes_[u].args[1]) {
        c.has_sum = true;
        c.sum_other = nodes_[u].args[0] == tail ? nodes_[u].args[1] : nodes_[u].args[0];
        u = take(u);
        if (u >= 0 && OneTensorInput(nodes_[u].call)) {
          if (auto e = EltwiseOf(nodes_[u].call.kind, *nodes_[u].call.attrs)) {
            c.after_sum.push_back(*e);
            take(u);
          }
        }
      }
      c.end = tail;
      const int id = static_cast<int>(chains_.size());
      for (int m : members) {
        claimed[m] = true;
        step_of_[m] = tail;
      }
      chain_of_[tail] = id;
      chains_.push_back(std::move(c));
    }
  }

  Val& V(int id) { return id >= 0 ? vals_[id] : inputs_[-1 - id]; }

  int AcquireBuffer(size_t bytes) {
    int best = -1;
    for (size_t b = 0; b < buffers_.size(); ++b) {
      if (buffers_[b].refs == 0 && buffers_[b].bytes >= bytes &&
          (best < 0 || buffers_[b].bytes < buffers_[best].bytes)) {
        best = static_cast<int>(b);
      }
    }
    if (best < 0) {
      kernel_->storage_.push_back(
          Tensor::Zeros({static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float))}));
      buffers_.push_back(Buffer{static_cast<int>(kernel_->storage_.size()) - 1, bytes});
      best = static_cast<int>(buffers_.size()) - 1;
    }
    buffers_[best].refs = 1;
    return best;
  }
  float* Data(int buffer) { return kernel_->storage_[buffers_[buffer].storage].data<float>(); }
  void Release(int buffer) {
    if (buffer >= 0) --buffers_[buffer].refs;
  }

  // A new value in a buffer of its own, laid out as `desc`.
  Val Fresh(const memory::desc& desc) {
    Val v;
    v.buffer = AcquireBuffer(desc.get_size());
    v.mem = memory(desc, CpuEngine(), Data(v.buffer));
    v.fresh = true;
    v.writes = {v.mem};
    return v;
  }

  // Another view of `id`'s bytes (same buffer or input), as `desc`.
  Val View(int id, const memory::desc& desc) {
    Val& src = V(id);
    Val v;
    v.buffer = src.buffer;
    v.input = src.input;
    if (src.buffer >= 0) {
      ++buffers_[src.buffer].refs;
      v.mem = memory(desc, CpuEngine(), Data(src.buffer));
    } else {
      v.mem = memory(desc, CpuEngine(), DNNL_MEMORY_NONE);
      kernel_->bindings_.push_back({v.mem, src.input});
    }
    return v;
  }

  void AddStep(dnnl::primitive p, Args args) { kernel_->steps_.emplace_back(std::move(p), std::move(args)); }

  void Reorder(const memory& from, const memory& to) {
    AddStep(dnnl::reorder(from, to), Args{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
  }

  // `id` laid out as `desc`: itself, or a reordered copy made once and freed with it.
  memory As(int id, const memory::desc& desc) {
    Val& v = V(id);
    if (v.mem.get_desc() == desc) return v.mem;
    for (auto& [d, m] : v.conversions) {
      if (d == desc) return m;
    }
    const int buffer = AcquireBuffer(desc.get_size());
    memory m(desc, CpuEngine(), Data(buffer));
    Reorder(v.mem, m);
    v.extra_buffers.push_back(buffer);
    v.conversions.push_back({desc, m});
    return m;
  }

  // Whether `id`'s buffer may be overwritten by the step at `step` (its last reader).
  bool CanOverwrite(int id, int step) {
    if (id < 0) return false;
    const Val& v = vals_[id];
    return last_use_[id] == step && v.buffer >= 0 && buffers_[v.buffer].refs == 1;
  }

  // A value written in place over `id`'s buffer.
  Val InPlace(int id) {
    Val& src = vals_[id];
    ++buffers_[src.buffer].refs;
    Val v;
    v.buffer = src.buffer;
    v.mem = src.mem;
    return v;
  }

  void ReleaseDead(int step) {
    for (int i : dies_at_[step]) {
      Val& v = vals_[i];
      Release(v.buffer);
      for (int b : v.extra_buffers) Release(b);
      v = Val();
    }
  }

  dnnl::primitive_attr PostOps(const Chain& c) {
    dnnl::post_ops po;
    for (const EltwiseOp& e : c.before_sum) po.append_eltwise(1.f, e.algorithm, e.alpha, e.beta);
    if (c.has_sum) po.append_sum(1.f);
    for (const EltwiseOp& e : c.after_sum) po.append_eltwise(1.f, e.algorithm, e.alpha, e.beta);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    return attr;
  }

  // The destination of a chain: with a residual add it starts as the other operand (in place
  // when that operand dies here).
  Val ChainDestination(const Chain& c, const memory::desc& desc) {
    if (!c.has_sum) return Fresh(desc);
    if (CanOverwrite(c.sum_other, c.end) && vals_[c.sum_other].mem.get_desc() == desc) {
      return InPlace(c.sum_other);
    }
    Val dst = Fresh(desc);
    dst.fresh = false;  // its initial contents matter: never rebind it to the output
    Reorder(As(c.sum_other, desc), dst.mem);
    return dst;
  }

  memory Owned(const Tensor& t, const memory::desc& desc) {
    kernel_->storage_.push_back(t);
    return memory(desc, CpuEngine(), const_cast<float*>(t.data<float>()));
  }

  // Weights in the primitive's preferred layout, packed once.
  memory Packed(const Tensor& plain, const memory::desc& plain_desc, const memory::desc& want) {
    memory user(plain_desc, CpuEngine(), const_cast<float*>(plain.data<float>()));
    Tensor packed = Tensor::Zeros({static_cast<int64_t>(want.get_size() / sizeof(float))});
    memory m = Owned(packed, want);
    dnnl::reorder(user, m).execute(CpuStream(), user, m);
    CpuStream().wait();
    return m;
  }

  void CompileChain(const Chain& c) {
    if (nodes_[c.producer].call.kind == OpKind::kConv2d) {
      CompileConv(c);
    } else {
      CompileLinear(c);
    }
  }

  void CompileConv(const Chain& c) {
    const RegionNode& node = nodes_[c.producer];
    Conv2dParams p = Unwrap(ReadConv2dParams(node.call));
    const Conv2dGeometry g = Unwrap(Conv2dGeometryOf(node.call, p.attrs));
    // Folding BatchNorm rewrites the weights: only then do they need a copy of their own.
    Tensor weight = c.batch_norm >= 0 ? p.weight.Clone() : p.weight;
    Tensor bias = p.bias.defined() ? p.bias.Clone() : Tensor::Zeros({g.OC});
    if (c.batch_norm >= 0) FoldBatchNorm(nodes_[c.batch_norm].call, g, weight, bias);
    const bool grouped = g.groups != 1;
    const Dims w_dims = grouped ? Dims{g.groups, g.OC / g.groups, g.IC / g.groups, g.KH, g.KW}
                                : Dims{g.OC, g.IC, g.KH, g.KW};
    const memory::desc src_any({g.N, g.IC, g.IH, g.IW}, dt::f32, memory::format_tag::any);
    const memory::desc dst_any({g.N, g.OC, g.OH, g.OW}, dt::f32, memory::format_tag::any);
    const memory::desc w_any(w_dims, dt::f32, memory::format_tag::any);
    const memory::desc b_md({g.OC}, dt::f32, memory::format_tag::x);
    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_any, w_any,
        b_md, dst_any, {g.SH, g.SW}, {g.DH - 1, g.DW - 1}, {g.PH, g.PW}, {g.PH, g.PW});
    dnnl::convolution_forward::primitive_desc pd(desc, PostOps(c), CpuEngine());
    const memory::desc w_plain(w_dims, dt::f32,
                               grouped ? memory::format_tag::goihw : memory::format_tag::oihw);
    memory w_mem = Packed(weight, w_plain, pd.weights_desc());
    memory b_mem = Owned(bias, b_md);
    memory src = As(node.args[0], pd.src_desc());
    Val dst = ChainDestination(c, pd.dst_desc());
    AddStep(dnnl::convolution_forward(pd), Args{{DNNL_ARG_SRC, src},
                                                {DNNL_ARG_WEIGHTS, w_mem},
                                                {DNNL_ARG_BIAS, b_mem},
                                                {DNNL_ARG_DST, dst.mem}});
    vals_[c.end] = std::move(dst);
  }

  // Conv followed by eval BatchNorm: w' = w * s, b' = (b - mean) * s + beta, s = gamma / sd.
  void FoldBatchNorm(const OpCall& bn, const Conv2dGeometry& g, Tensor& weight, Tensor& bias) {
    const BatchNormParams p = Unwrap(ReadBatchNormParams(bn));
    const int64_t per_channel = weight.numel() / std::max<int64_t>(g.OC, 1);
    float* w = weight.data<float>();
    float* b = bias.data<float>();
    for (int64_t oc = 0; oc < g.OC; ++oc) {
      const double gamma = p.weight.defined() ? p.weight.data<float>()[oc] : 1.0;
      const double beta = p.bias.defined() ? p.bias.data<float>()[oc] : 0.0;
      const double s = gamma / std::sqrt(static_cast<double>(p.running_var.data<float>()[oc]) + p.eps);
      for (int64_t k = 0; k < per_channel; ++k) w[oc * per_channel + k] *= static_cast<float>(s);
      b[oc] = static_cast<float>((b[oc] - p.running_mean.data<float>()[oc]) * s + beta);
    }
  }

  void CompileLinear(const Chain& c) {
    const RegionNode& node = nodes_[c.producer];
    LinearParams p = Unwrap(ReadLinearParams(node.call));
    const Shape& in = node.call.inputs[0].shape;
    const int64_t rows = NumElements(in) / std::max<int64_t>(p.in_features, 1);
    const memory::desc src_md({rows, p.in_features}, dt::f32, memory::format_tag::nc);
    const memory::desc dst_md({rows, p.out_features}, dt::f32, memory::format_tag::nc);
    const memory::desc w_any({p.out_features, p.in_features}, dt::f32, memory::format_tag::any);
    const memory::desc b_md({p.out_features}, dt::f32, memory::format_tag::x);
    dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference, src_md, w_any, b_md,
                                           dst_md);
    dnnl::inner_product_forward::primitive_desc pd(desc, PostOps(c), CpuEngine());
    const memory::desc w_plain({p.out_features, p.in_features}, dt::f32, memory::format_tag::oi);
    memory w_mem = Packed(p.weight, w_plain, pd.weights_desc());
    memory b_mem = Owned(p.bias.defined() ? p.bias : Tensor::Zeros({p.out_features}), b_md);
    // Rows of the plain input, seen as a matrix.
    Val src_view = View2d(node.args[0], PlainDesc(in), src_md);
    const Shape out = nodes_[c.end].output;
    Val dst = ChainDestination(c, PlainDesc(out));
    Val dst_view;
    dst_view.mem = memory(dst_md, CpuEngine(), dst.mem.get_data_handle());
    dst.writes.push_back(dst_view.mem);
    AddStep(dnnl::inner_product_forward(pd), Args{{DNNL_ARG_SRC, src_view.mem},
                                                  {DNNL_ARG_WEIGHTS, w_mem},
                                                  {DNNL_ARG_BIAS, b_mem},
                                                  {DNNL_ARG_DST, dst_view.mem}});
    vals_[c.end] = std::move(dst);
  }

  // `id`'s plain copy (made by As) seen through `view`; bound to the input when it is one.
  Val View2d(int id, const memory::desc& plain, const memory::desc& view) {
    Val& v = V(id);
    Val out;
    if (v.mem.get_desc() == plain) {
      if (v.buffer < 0) {
        out.mem = memory(view, CpuEngine(), DNNL_MEMORY_NONE);
        kernel_->bindings_.push_back({out.mem, v.input});
      } else {
        out.mem = memory(view, CpuEngine(), v.mem.get_data_handle());
      }
      return out;
    }
    out.mem = memory(view, CpuEngine(), As(id, plain).get_data_handle());
    return out;
  }

  void CompileNode(int i) {
    const RegionNode& node = nodes_[i];
    const OpKind kind = node.call.kind;
    const int a0 = node.args.empty() ? 0 : node.args[0];
    switch (kind) {
      case OpKind::kFlatten: {
        const memory::desc plain = PlainDesc(node.call.inputs[0].shape);
        if (V(a0).mem.get_desc() == plain) {
          vals_[i] = View(a0, PlainDesc(node.output));
          return;
        }
        Val dst = Fresh(PlainDesc(node.output));
        memory as_input(plain, CpuEngine(), dst.mem.get_data_handle());
        Reorder(V(a0).mem, as_input);
        dst.writes.push_back(as_input);
        vals_[i] = std::move(dst);
        return;
      }
      case OpKind::kIdentity:
      case OpKind::kDropout:
        vals_[i] = View(a0, V(a0).mem.get_desc());
        return;
      case OpKind::kAdd:
        CompileAdd(i);
        return;
      case OpKind::kBatchNorm2d:
        CompileBatchNorm(i);
        return;
      case OpKind::kCat:
        CompileCat(i);
        return;
      case OpKind::kMaxPool2d:
      case OpKind::kAvgPool2d:
      case OpKind::kAdaptiveAvgPool2d:
      case OpKind::kAdaptiveMaxPool2d:
        CompilePool(i);
        return;
      default:
        break;
    }
    std::optional<EltwiseOp> e = EltwiseOf(kind, *node.call.attrs);
    if (!e) throw dnnl::error(dnnl_unimplemented, "op has no oneDNN form");
    const memory::desc desc = V(a0).mem.get_desc();
    dnnl::eltwise_forward::primitive_desc pd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, e->algorithm, desc,
                                    e->alpha, e->beta),
        CpuEngine());
    Val dst = CanOverwrite(a0, i) ? InPlace(a0) : Fresh(desc);
    AddStep(dnnl::eltwise_forward(pd), Args{{DNNL_ARG_SRC, V(a0).mem}, {DNNL_ARG_DST, dst.mem}});
    vals_[i] = std::move(dst);
  }

  void CompileAdd(int i) {
    const RegionNode& node = nodes_[i];
    const int a = node.args[0], b = node.args[1];
    const memory::desc desc = V(a).mem.get_desc();
    memory rhs = As(b, desc);
    Val dst = CanOverwrite(a, i)                                         ? InPlace(a)
              : (CanOverwrite(b, i) && V(b).mem.get_desc() == desc) ? InPlace(b)
                                                                        : Fresh(desc);
    dnnl::binary::primitive_desc pd(dnnl::binary::desc(dnnl::algorithm::binary_add, desc, desc, desc),
                                    CpuEngine());
    AddStep(dnnl::binary(pd), Args{{DNNL_ARG_SRC_0, V(a).mem}, {DNNL_ARG_SRC_1, rhs}, {DNNL_ARG_DST, dst.mem}});
    vals_[i] = std::move(dst);
  }

  void CompileBatchNorm(int i) {
    const RegionNode& node = nodes_[i];
    const BatchNormParams p = Unwrap(ReadBatchNormParams(node.call));
    const int a0 = node.args[0];
    const memory::desc desc = V(a0).mem.get_desc();
    const memory::desc c_md({p.channels}, dt::f32, memory::format_tag::x);
    const auto flags = dnnl::normalization_flags::use_global_stats |
                       dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    dnnl::batch_normalization_forward::primitive_desc pd(
        dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_inference, desc,
                                                static_cast<float>(p.eps), flags),
        CpuEngine());
    Val dst = CanOverwrite(a0, i) ? InPlace(a0) : Fresh(desc);
    AddStep(dnnl::batch_normalization_forward(pd),
            Args{{DNNL_ARG_SRC, V(a0).mem},
                 {DNNL_ARG_MEAN, Owned(p.running_mean, c_md)},
                 {DNNL_ARG_VARIANCE, Owned(p.running_var, c_md)},
                 {DNNL_ARG_SCALE, Owned(p.weight.defined() ? p.weight : Tensor::Full({p.channels}, 1.f), c_md)},
                 {DNNL_ARG_SHIFT, Owned(p.bias.defined() ? p.bias : Tensor::Zeros({p.channels}), c_md)},
                 {DNNL_ARG_DST, dst.mem}});
    vals_[i] = std::move(dst);
  }

  void CompileCat(int i) {
    const RegionNode& node = nodes_[i];
    std::vector<memory::desc> srcs;
    for (int a : node.args) srcs.push_back(V(a).mem.get_desc());
    dnnl::concat::primitive_desc pd(1, srcs, CpuEngine());
    Val dst = Fresh(pd.dst_desc());
    Args args{{DNNL_ARG_DST, dst.mem}};
    for (size_t k = 0; k < node.args.size(); ++k) {
      args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k)] = V(node.args[k]).mem;
    }
    AddStep(dnnl::concat(pd), std::move(args));
    vals_[i] = std::move(dst);
  }

  void CompilePool(int i) {
    const RegionNode& node = nodes_[i];
    std::optional<PoolWindow> w = PoolWindowOf(node.call, node.output);
    if (!w) throw dnnl::error(dnnl_unimplemented, "pooling window has no oneDNN form");
    const int a0 = node.args[0];
    const memory::desc src = V(a0).mem.get_desc();
    const memory::desc dst_any(Dims(node.output.begin(), node.output.end()), dt::f32,
                               memory::format_tag::any);
    dnnl::pooling_v2_forward::primitive_desc pd(
        dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_inference, w->algorithm, src,
                                       dst_any, w->strides, w->kernel, w->dilation, w->pad_l,
                                       w->pad_r),
        CpuEngine());
    Val dst = Fresh(pd.dst_desc());
    AddStep(dnnl::pooling_v2_forward(pd), Args{{DNNL_ARG_SRC, V(a0).mem}, {DNNL_ARG_DST, dst.mem}});
    vals_[i] = std::move(dst);
  }

  // The region's result goes to the caller's plain output: written there directly when its
  // producer wrote a plain buffer of its own, else reordered into it.
  void BindOutput() {
    const int last = static_cast<int>(nodes_.size()) - 1;
    Val& v = vals_[last];
    const memory::desc plain = PlainDesc(nodes_[last].output);
    if (v.fresh && v.mem.get_desc() == plain) {
      for (memory& m : v.writes) kernel_->bindings_.push_back({m, -1});
      return;
    }
    memory out(plain, CpuEngine(), DNNL_MEMORY_NONE);
    kernel_->bindings_.push_back({out, -1});
    Reorder(v.mem, out);
  }

  template <typename T>
  static T Unwrap(absl::StatusOr<T> v) {
    if (!v.ok()) throw dnnl::error(dnnl_invalid_arguments, "node parameters unreadable");
    return *std::move(v);
  }

  std::vector<Shape> input_shapes_;
  std::vector<RegionNode> nodes_;
  std::unique_ptr<RegionKernel> kernel_;
  std::vector<Val> inputs_, vals_;
  std::vector<Buffer> buffers_;
  std::vector<std::vector<int>> users_;
  std::vector<Chain> chains_;
  std::vector<int> step_of_, chain_of_, last_use_;
  std::vector<std::vector<int>> dies_at_;  // by step: the values its end frees
  int at_ = 0;                             // the node being compiled, for error messages
};

}  // namespace

bool RegionSupports(const OpCall& call, const Shape& output) {
  for (const ValueInfo& in : call.inputs) {
    if (in.is_tuple) return false;
  }
  switch (call.kind) {
    case OpKind::kConv2d: {
      if (call.module == nullptr || !OneTensorInput(call) || call.inputs[0].shape.size() != 4) {
        return false;
      }
      // oneDNN 2.6's brgconv mishandles post-ops on output rows whose window lies wholly in
      // the padding (found by the graph-builder fuzzer): such convs run unfused.
      absl::StatusOr<Conv2dParams> p = ReadConv2dParams(call);
      if (!p.ok()) return false;
      for (int d = 0; d < 2; ++d) {
        const int64_t span = p->attrs.dilation[d] * (p->attrs.kernel_size[d] - 1) + 1;
        if (p->attrs.padding[d] >= span) return false;
      }
      return true;
    }
    case OpKind::kLinear:
      return call.module != nullptr && OneTensorInput(call) && call.inputs[0].shape.size() >= 2;
    case OpKind::kBatchNorm2d: {
      if (call.module == nullptr || !OneTensorInput(call)) return false;
      absl::StatusOr<BatchNormParams> p = ReadBatchNormParams(call);
      return p.ok() && !p->batch_stats && p->running_mean.defined();
    }
    case OpKind::kAdd: {
      absl::StatusOr<double> alpha = GetFloatAttr(*call.attrs, "alpha", 1.0);
      // wrap_to (8-bit integer addition) has no oneDNN form.
      return call.inputs.size() == 2 && call.inputs[0].shape == call.inputs[1].shape &&
             !call.inputs[0].shape.empty() && alpha.ok() && *alpha == 1.0 &&
             !call.attrs->contains("wrap_to");
    }
    case OpKind::kMaxPool2d:
    case OpKind::kAvgPool2d:
    case OpKind::kAdaptiveAvgPool2d:
    case OpKind::kAdaptiveMaxPool2d:
      return OneTensorInput(call) && PoolWindowOf(call, output).has_value();
    case OpKind::kCat:
      return IsChannelCat(call);
    case OpKind::kDropout:  // with return_mask its result is a tuple (and a bool mask)
      if (GetBoolAttr(*call.attrs, "return_mask", false).value_or(true)) return false;
      // Training mode draws a random mask: only the inference form is the identity.
      if (GetBoolAttr(*call.attrs, "training", false).value_or(true)) return false;
      [[fallthrough]];
    case OpKind::kFlatten:
    case OpKind::kIdentity:
      return OneTensorInput(call) && !call.inputs[0].shape.empty();
    default:
      return OneTensorInput(call) && !call.inputs[0].shape.empty() &&
             EltwiseOf(call.kind, *call.attrs).has_value();
  }
}

bool RegionComputes(OpKind kind) {
  return kind != OpKind::kFlatten && kind != OpKind::kIdentity && kind != OpKind::kDropout;
}

absl::StatusOr<std::unique_ptr<Kernel>> CreateOnednnRegion(std::vector<Shape> input_shapes,
                                                           std::vector<RegionNode> nodes,
                                                           int num_threads) {
  if (nodes.empty()) return absl::UnimplementedError("empty region");
  RegionCompiler compiler(std::move(input_shapes), std::move(nodes), num_threads);
  return compiler.Compile();
}

}  // namespace structprune::internal
