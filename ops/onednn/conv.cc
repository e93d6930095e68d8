#include "ops/onednn/conv.h"

#include "core/status_macros.h"
#include "ops/onednn/engine.h"

namespace structprune::internal {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

class OnednnConv2dKernel : public Kernel {
 public:
  absl::Status Run(absl::Span<const Value* const> inputs, Value& output) override {
    return CallOnednn("convolution", absl::StatusCode::kInternal, [&] {
      src_mem_.set_data_handle(const_cast<float*>(inputs[0]->tensor.data<float>()));
      dst_mem_.set_data_handle(output.tensor.data<float>());
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src_mem_},
                                              {DNNL_ARG_WEIGHTS, weights_mem_},
                                              {DNNL_ARG_DST, dst_mem_}};
      if (has_bias_) args[DNNL_ARG_BIAS] = bias_mem_;
      primitive_.execute(CpuStream(), args);
      CpuStream().wait();
    });
  }

  dnnl::convolution_forward primitive_;
  memory src_mem_, weights_mem_, bias_mem_, dst_mem_;
  Tensor weights_packed_owner_, bias_owner_;
  bool has_bias_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Kernel>> CreateOnednnConv2d(const Conv2dGeometry& g,
                                                           const Tensor& weights,
                                                           const Tensor& bias) {
  auto kernel = std::make_unique<OnednnConv2dKernel>();
  SP_RETURN_IF_ERROR(CallOnednn("convolution setup", absl::StatusCode::kUnimplemented, [&] {
    dnnl::engine& eng = CpuEngine();
    memory::dims src_dims = {g.N, g.IC, g.IH, g.IW};
    memory::dims dst_dims = {g.N, g.OC, g.OH, g.OW};
    memory::dims w_dims = g.groups == 1
                              ? memory::dims{g.OC, g.IC, g.KH, g.KW}
                              : memory::dims{g.groups, g.OC / g.groups, g.IC / g.groups, g.KH, g.KW};
    memory::desc src_md(src_dims, dt::f32, tag::nchw);
    memory::desc dst_md(dst_dims, dt::f32, tag::nchw);
    memory::desc w_any(w_dims, dt::f32, tag::any);
    memory::desc b_md({g.OC}, dt::f32, tag::x);
    // oneDNN counts dilation from 0 (PyTorch's d - 1) and floors the output size as PyTorch does.
    memory::dims strides = {g.SH, g.SW}, dil = {g.DH - 1, g.DW - 1};
    memory::dims pad_l = {g.PH, g.PW}, pad_r = {g.PH, g.PW};
    kernel->has_bias_ = bias.defined();
    auto desc = kernel->has_bias_
                    ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                      dnnl::algorithm::convolution_direct, src_md,
                                                      w_any, b_md, dst_md, strides, dil, pad_l, pad_r)
                    : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                      dnnl::algorithm::convolution_direct, src_md,
                                                      w_any, dst_md, strides, dil, pad_l, pad_r);
    dnnl::convolution_forward::primitive_desc pd(desc, eng);
    if (pd.src_desc() != src_md || pd.dst_desc() != dst_md) {
      throw dnnl::error(dnnl_unimplemented, "primitive wants a blocked src/dst layout");
    }
    kernel->primitive_ = dnnl::convolution_forward(pd);
    // Pack the weights once into the primitive's preferred layout.
    memory::desc w_plain(w_dims, dt::f32, g.groups == 1 ? tag::oihw : tag::goihw);
    memory w_user(w_plain, eng, const_cast<float*>(weights.data<float>()));
    kernel->weights_packed_owner_ =
        Tensor::Zeros({static_cast<int64_t>(pd.weights_desc().get_size() / sizeof(float))});
    kernel->weights_mem_ = memory(pd.weights_desc(), eng, kernel->weights_packed_owner_.data<float>());
    dnnl::reorder(w_user, kernel->weights_mem_).execute(CpuStream(), w_user, kernel->weights_mem_);
    CpuStream().wait();
    if (kernel->has_bias_) {
      kernel->bias_owner_ = bias.Clone();
      kernel->bias_mem_ = memory(b_md, eng, kernel->bias_owner_.data<float>());
    }
    kernel->src_mem_ = memory(src_md, eng, DNNL_MEMORY_NONE);
    kernel->dst_mem_ = memory(dst_md, eng, DNNL_MEMORY_NONE);
  }));
  return kernel;
}

}  // namespace structprune::internal
