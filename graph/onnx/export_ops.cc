// How each op of our graph is written in ONNX. Forms follow PyTorch 1.13's exporter where it
// has one (so other tools recognize them) and are always forms our importer reads back.
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "graph/module.h"
#include "graph/node.h"
#include "graph/onnx/export_writer.h"
#include "ops/activations.h"
#include "ops/pool3d.h"
#include "ops/pooling.h"

namespace structprune::internal {
namespace {

using Pair = std::array<int64_t, 2>;

// ONNX gate blocks i, o, f, c from PyTorch's i, f, g, o: ONNX block j is PyTorch block
// kTorchBlockOf[j].
constexpr int kTorchBlockOf[4] = {0, 3, 1, 2};

absl::Status Fail(const ExportCall& c, absl::string_view message) {
  const std::string what = c.module != nullptr ? absl::StrCat(OpName(c.kind), " '", c.fqn, "'")
                                               : absl::StrCat("'", OpFunctionalName(c.kind), "'");
  return absl::UnimplementedError(
      absl::StrCat("cannot export node '", c.node->name(), "' (", what, "): ", message));
}

absl::StatusOr<std::string> Arg(const ExportCall& c, size_t i) {
  if (i >= c.args.size() || c.args[i].is_tuple) {
    return absl::InvalidArgumentError(
        absl::StrCat("node '", c.node->name(), "': argument ", i, " is missing or a tuple"));
  }
  return c.args[i].name;
}

ExportValue Value(const std::string& name) { return ExportValue{name, false, {}}; }

// The effective tensor `name` of the module (through its parametrizations); undefined when
// the module has none.
absl::StatusOr<Tensor> Param(const ExportCall& c, absl::string_view name) {
  if (c.module == nullptr || (!c.module->HasParameter(name) && !c.module->HasBuffer(name))) {
    return absl::StatusOr<Tensor>(absl::in_place);  // no such tensor: undefined
  }
  return c.module->Effective(name);
}

// A parameter as an initializer named by its FQN.
absl::StatusOr<std::string> ParamInit(OnnxWriter& w, const ExportCall& c, absl::string_view name) {
  SP_ASSIGN_OR_RETURN(Tensor t, Param(c, name));
  if (!t.defined()) return std::string();
  return w.Initializer(absl::StrCat(c.fqn, ".", name), t);
}

std::vector<int64_t> List(const Pair& p) { return {p[0], p[1]}; }
std::vector<int64_t> Pads(const Pair& p) { return {p[0], p[1], p[0], p[1]}; }

absl::StatusOr<ExportValue> Linear(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  SP_ASSIGN_OR_RETURN(std::string weight, ParamInit(w, c, "weight"));
  SP_ASSIGN_OR_RETURN(std::string bias, ParamInit(w, c, "bias"));
  if (c.arg_infos[0].shape.size() == 2) {  // Gemm(x, W [out, in], b, transB=1), as PyTorch
    std::vector<std::string> in = {x, weight};
    if (!bias.empty()) in.push_back(bias);
    onnx::NodeProto& gemm = w.AddNode("Gemm", c.scope, in);
    AddFloatAttr(gemm, "alpha", 1.0f);
    AddFloatAttr(gemm, "beta", 1.0f);
    AddIntAttr(gemm, "transB", 1);
    return Value(gemm.output(0));
  }
  // Other ranks: MatMul(x, Transpose(W)) [+ bias]; the initializer keeps PyTorch's layout.
  onnx::NodeProto& t = w.AddNode("Transpose", c.scope, {weight});
  AddIntsAttr(t, "perm", {1, 0});
  onnx::NodeProto& mm = w.AddNode("MatMul", c.scope, {x, t.output(0)});
  if (bias.empty()) return Value(mm.output(0));
  return Value(w.AddNode("Add", c.scope, {bias, mm.output(0)}).output(0));
}

absl::StatusOr<ExportValue> Conv(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  const AttrMap& a = *c.attrs;
  SP_ASSIGN_OR_RETURN(Pair kernel, GetPairAttr(a, "kernel_size", {1, 1}));
  SP_ASSIGN_OR_RETURN(Pair stride, GetPairAttr(a, "stride", {1, 1}));
  SP_ASSIGN_OR_RETURN(Pair padding, GetPairAttr(a, "padding", {0, 0}));
  SP_ASSIGN_OR_RETURN(Pair dilation, GetPairAttr(a, "dilation", {1, 1}));
  SP_ASSIGN_OR_RETURN(int64_t groups, GetIntAttr(a, "groups", 1));
  SP_ASSIGN_OR_RETURN(std::string weight, ParamInit(w, c, "weight"));
  SP_ASSIGN_OR_RETURN(std::string bias, ParamInit(w, c, "bias"));
  std::vector<std::string> in = {x, weight};
  if (!bias.empty()) in.push_back(bias);
  onnx::NodeProto& conv = w.AddNode("Conv", c.scope, in);
  AddIntsAttr(conv, "dilations", List(dilation));
  AddIntAttr(conv, "group", groups);
  AddIntsAttr(conv, "kernel_shape", List(kernel));
  AddIntsAttr(conv, "pads", Pads(padding));
  AddIntsAttr(conv, "strides", List(stride));
  return Value(conv.output(0));
}

absl::StatusOr<ExportValue> Lstm(OnnxWriter& w, const ExportCall& c) {
  const AttrMap& a = *c.attrs;
  SP_ASSIGN_OR_RETURN(int64_t hidden, GetIntAttr(a, "hidden_size", 0));
  SP_ASSIGN_OR_RETURN(int64_t layers, GetIntAttr(a, "num_layers", 1));
  SP_ASSIGN_OR_RETURN(bool batch_first, GetBoolAttr(a, "batch_first", false));
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  if (c.args.size() > 1 && layers > 1) return Fail(c, "an initial state with num_layers > 1");
  if (batch_first) {
    onnx::NodeProto& t = w.AddNode("Transpose", c.scope, {x});
    AddIntsAttr(t, "perm", {1, 0, 2});
    x = t.output(0);
  }
  // PyTorch rows [4H, cols] in gate order i, f, g, o -> ONNX [1, 4H, cols] in i, o, f, c.
  auto onnx_gates = [hidden](const Tensor& t) {
    const int64_t cols = t.numel() / (4 * hidden);
    Tensor out = Tensor::Zeros({1, 4 * hidden, cols});
    for (int j = 0; j < 4; ++j) {
      std::copy_n(t.data<float>() + kTorchBlockOf[j] * hidden * cols, hidden * cols,
                  out.data<float>() + j * hidden * cols);
    }
    return out;
  };
  std::vector<std::string> hs, cs;
  for (int64_t l = 0; l < layers; ++l) {
    auto tensor = [&](const std::string& base) -> absl::StatusOr<std::string> {
      const std::string name = absl::StrCat(base, "_l", l);
      SP_ASSIGN_OR_RETURN(Tensor t, Param(c, name));
      if (!t.defined()) return std::string();
      Tensor g = onnx_gates(t);
      if (base.rfind("bias", 0) == 0) {
        SP_ASSIGN_OR_RETURN(g, g.Reshape({1, 4 * hidden}));
      }
      return w.Initializer(absl::StrCat(c.fqn, ".", name), g);
    };
    SP_ASSIGN_OR_RETURN(std::string wi, tensor("weight_ih"));
    SP_ASSIGN_OR_RETURN(std::string wh, tensor("weight_hh"));
    SP_ASSIGN_OR_RETURN(std::string bi, tensor("bias_ih"));
    SP_ASSIGN_OR_RETURN(std::string bh, tensor("bias_hh"));
    std::string b;
    if (!bi.empty() && !bh.empty()) {
      onnx::NodeProto& cat = w.AddNode("Concat", c.scope, {bi, bh});
      AddIntAttr(cat, "axis", 1);
      b = cat.output(0);
    }
    // Peepholes [3H] in blocks i, f, o -> ONNX's P [1, 3H] in i, o, f.
    SP_ASSIGN_OR_RETURN(Tensor peephole, Param(c, absl::StrCat("peephole_l", l)));
    std::string p;
    if (peephole.defined()) {
      Tensor t = Tensor::Zeros({1, 3 * hidden});
      const float* src = peephole.data<float>();
      float* dst = t.data<float>();
      std::copy_n(src, hidden, dst);
      std::copy_n(src + 2 * hidden, hidden, dst + hidden);
      std::copy_n(src + hidden, hidden, dst + 2 * hidden);
      p = w.Initializer(absl::StrCat(c.fqn, ".peephole_l", l), t);
    }
    std::vector<std::string> in = {x, wi, wh};
    if (!b.empty() || c.args.size() >= 3 || !p.empty()) in.push_back(b);
    if (c.args.size() >= 3) {
      SP_ASSIGN_OR_RETURN(std::string h0, Arg(c, 1));
      SP_ASSIGN_OR_RETURN(std::string c0, Arg(c, 2));
      in.insert(in.end(), {"", h0, c0});
    } else if (!p.empty()) {
      in.insert(in.end(), {"", "", ""});
    }
    if (!p.empty()) in.push_back(p);
    onnx::NodeProto& lstm = w.AddNode("LSTM", c.scope, in, 3);
    AddIntAttr(lstm, "hidden_size", hidden);
    onnx::NodeProto& squeeze =
        w.AddNode("Squeeze", c.scope, {lstm.output(0), w.IntsConstant(c.scope, {1})});
    x = squeeze.output(0);
    hs.push_back(lstm.output(1));
    cs.push_back(lstm.output(2));
  }
  if (batch_first) {
    onnx::NodeProto& t = w.AddNode("Transpose", c.scope, {x});
    AddIntsAttr(t, "perm", {1, 0, 2});
    x = t.output(0);
  }
  auto state = [&](const std::vector<std::string>& per_layer) {
    if (per_layer.size() == 1) return per_layer.front();
    onnx::NodeProto& cat = w.AddNode("Concat", c.scope, per_layer);
    AddIntAttr(cat, "axis", 0);
    return cat.output(0);
  };
  ExportValue hc{"", true, {Value(state(hs)), Value(state(cs))}};
  return ExportValue{"", true, {Value(x), hc}};
}

// A MaxPool / AveragePool window in ONNX's terms (one entry per spatial dim; pads all begins,
// then all ends).
struct OnnxWindow {
  bool is_max = false;
  std::vector<int64_t> kernel, stride, dilation, pads;
  bool ceil_mode = false, count_include_pad = true, has_pads = false;
  int64_t divisor_override = 0;
  bool return_indices = false, flat_indices = false, column_major_indices = false;
};

// The window of a 1-D / 2-D (PoolParams) or 3-D (Pool3dParams) pool; `list` turns one of its
// per-axis fields into ONNX's entries.
template <typename Params, typename List>
OnnxWindow OnnxWindowOf(bool is_max, const Params& p, List list) {
  OnnxWindow win{.is_max = is_max,
                 .kernel = list(p.kernel),
                 .stride = list(p.stride),
                 .dilation = list(p.dilation),
                 .pads = list(p.padding),
                 .ceil_mode = p.ceil_mode,
                 .count_include_pad = p.count_include_pad,
                 .has_pads = p.has_pads,
                 .divisor_override = p.divisor_override};
  for (int64_t end : list(p.padding_end)) win.pads.push_back(end);
  return win;
}

absl::StatusOr<ExportValue> WritePool(OnnxWriter& w, const ExportCall& c, std::string x,
                                      OnnxWindow p) {
  if (p.is_max) {
    // Indices: ONNX's count over the whole input (flat_indices); PyTorch's per-plane ones
    // would need the plane offsets subtracted in int64 arithmetic, which we do not write.
    if (p.return_indices && !p.flat_indices) {
      return Fail(c,
                  "return_indices=True without flat_indices has no ONNX form (MaxPool's "
                  "Indices count over the whole input)");
    }
    onnx::NodeProto& pool = w.AddNode("MaxPool", c.scope, {x}, p.return_indices ? 2 : 1);
    AddIntAttr(pool, "ceil_mode", p.ceil_mode);
    if (std::any_of(p.dilation.begin(), p.dilation.end(), [](int64_t d) { return d != 1; }))
      AddIntsAttr(pool, "dilations", p.dilation);
    AddIntsAttr(pool, "kernel_shape", p.kernel);
    AddIntsAttr(pool, "pads", p.pads);
    if (p.column_major_indices) AddIntAttr(pool, "storage_order", 1);
    AddIntsAttr(pool, "strides", p.stride);
    if (p.return_indices) {
      return ExportValue{"", true, {Value(pool.output(0)), Value(pool.output(1))}};
    }
    return Value(pool.output(0));
  }
  if (p.divisor_override != 0) return Fail(c, "divisor_override has no ONNX form");
  const bool padded = std::any_of(p.pads.begin(), p.pads.end(), [](int64_t v) { return v != 0; });
  if (p.count_include_pad && !p.has_pads && padded) {
    // PyTorch's form: zero Pad then an unpadded AveragePool, so padded zeros are counted and
    // ceil_mode windows are clipped to the padded input, as in PyTorch. Per-side pads are
    // ONNX's own AveragePool(count_include_pad=1) form.
    const size_t rank = p.kernel.size();
    std::vector<int64_t> widths = {0, 0};
    widths.insert(widths.end(), p.pads.begin(), p.pads.begin() + rank);
    widths.insert(widths.end(), {0, 0});
    widths.insert(widths.end(), p.pads.begin() + rank, p.pads.end());
    onnx::NodeProto& pad = w.AddNode("Pad", c.scope, {x, w.IntsConstant(c.scope, widths)});
    AddStringAttr(pad, "mode", "constant");
    x = pad.output(0);
    std::fill(p.pads.begin(), p.pads.end(), 0);
  }
  onnx::NodeProto& pool = w.AddNode("AveragePool", c.scope, {x});
  AddIntAttr(pool, "ceil_mode", p.ceil_mode);
  if (!p.count_include_pad || p.has_pads)
    AddIntAttr(pool, "count_include_pad", p.count_include_pad);
  AddIntsAttr(pool, "kernel_shape", p.kernel);
  AddIntsAttr(pool, "pads", p.pads);
  AddIntsAttr(pool, "strides", p.stride);
  return Value(pool.output(0));
}

absl::StatusOr<ExportValue> Pool(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  const AttrMap& a = *c.attrs;
  const bool is_max = c.kind == OpKind::kMaxPool2d || c.kind == OpKind::kAdaptiveMaxPool2d ||
                      c.kind == OpKind::kMaxPool1d;
  if (c.kind == OpKind::kAdaptiveAvgPool2d || c.kind == OpKind::kAdaptiveMaxPool2d) {
    SP_ASSIGN_OR_RETURN(Pair out, GetPairAttr(a, "output_size", {1, 1}));
    if (out == Pair{1, 1}) {
      return Value(
          w.AddNode(is_max ? "GlobalMaxPool" : "GlobalAveragePool", c.scope, {x}).output(0));
    }
    const Shape& in = c.arg_infos[0].shape;
    const int64_t h = in[in.size() - 2], wd = in[in.size() - 1];
    if (out[0] <= 0 || out[1] <= 0 || h % out[0] != 0 || wd % out[1] != 0) {
      return Fail(
          c, absl::StrCat("output_size [", out[0], ", ", out[1], "] does not divide the input ",
                          ShapeToString(in), " (ONNX has no adaptive pooling)"));
    }
    onnx::NodeProto& pool = w.AddNode(is_max ? "MaxPool" : "AveragePool", c.scope, {x});
    AddIntsAttr(pool, "kernel_shape", {h / out[0], wd / out[1]});
    AddIntsAttr(pool, "strides", {h / out[0], wd / out[1]});
    return Value(pool.output(0));
  }
  absl::StatusOr<PoolParams> params = ReadPoolParams(c.kind, a);
  if (!params.ok()) return Fail(c, params.status().message());
  const PoolParams& p = *params;
  // 1-D pools are 2-D windows of height 1: ONNX gets the width entries only.
  const int first = p.is_1d ? 1 : 0;
  auto list = [&](const Pair& v) { return std::vector<int64_t>(v.begin() + first, v.end()); };
  OnnxWindow win = OnnxWindowOf(is_max, p, list);
  win.return_indices = p.return_indices;
  win.flat_indices = p.flat_indices;
  win.column_major_indices = p.column_major_indices;
  return WritePool(w, c, x, win);
}

absl::StatusOr<ExportValue> Pool3d(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  absl::StatusOr<Pool3dParams> params = ReadPool3dParams(c.kind, *c.attrs);
  if (!params.ok()) return Fail(c, params.status().message());
  const Pool3dParams& p = *params;
  auto list = [](const std::array<int64_t, 3>& v) {
    return std::vector<int64_t>(v.begin(), v.end());
  };
  return WritePool(w, c, x, OnnxWindowOf(p.is_max, p, list));
}

// Identity, or with return_mask an inference Dropout (ratio kept) whose mask is output 1; in
// training mode a Dropout with training_mode true (and the seed, when there is one).
absl::StatusOr<ExportValue> Dropout(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  SP_ASSIGN_OR_RETURN(bool return_mask, GetBoolAttr(*c.attrs, "return_mask", false));
  SP_ASSIGN_OR_RETURN(bool training, GetBoolAttr(*c.attrs, "training", false));
  if (!return_mask && !training) return Value(w.AddNode("Identity", c.scope, {x}).output(0));
  SP_ASSIGN_OR_RETURN(double p, GetFloatAttr(*c.attrs, "p", 0.5));
  std::vector<std::string> in = {x, w.ScalarConstant(c.scope, static_cast<float>(p))};
  if (training) {
    Tensor t = Tensor::Zeros({}, DType::kBool);
    t.data<bool>()[0] = true;
    in.push_back(w.Constant(c.scope, t));
  }
  onnx::NodeProto& dropout = w.AddNode("Dropout", c.scope, in, return_mask ? 2 : 1);
  if (c.attrs->contains("seed")) {
    SP_ASSIGN_OR_RETURN(int64_t seed, GetIntAttr(*c.attrs, "seed", 0));
    AddIntAttr(dropout, "seed", seed);
  }
  if (!return_mask) return Value(dropout.output(0));
  return ExportValue{"", true, {Value(dropout.output(0)), Value(dropout.output(1))}};
}

absl::StatusOr<ExportValue> Flatten(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  const Shape& in = c.arg_infos[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  SP_ASSIGN_OR_RETURN(int64_t start,
                      GetIntAttr(*c.attrs, "start_dim", c.module != nullptr ? 1 : 0));
  SP_ASSIGN_OR_RETURN(int64_t end, GetIntAttr(*c.attrs, "end_dim", -1));
  if (rank == 0)
    return Value(w.AddNode("Reshape", c.scope, {x, w.IntsConstant(c.scope, {1})}).output(0));
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  if (start == 1 && end == rank - 1) {
    onnx::NodeProto& f = w.AddNode("Flatten", c.scope, {x});
    AddIntAttr(f, "axis", 1);
    return Value(f.output(0));
  }
  if (start >= end) return Value(w.AddNode("Identity", c.scope, {x}).output(0));
  // Reshape: 0 keeps a leading dim (any batch size), -1 takes the merged dims.
  std::vector<int64_t> target(start, 0);
  target.push_back(-1);
  target.insert(target.end(), in.begin() + end + 1, in.end());
  return Value(w.AddNode("Reshape", c.scope, {x, w.IntsConstant(c.scope, target)}).output(0));
}

// torch.reshape: ONNX's 0 copies the input's dim unless allowzero=1 (opset 14 on), so a target
// with a size-0 dim needs allowzero.
absl::StatusOr<ExportValue> Reshape(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> shape, GetIntsAttr(*c.attrs, "shape", {}));
  const bool has_zero = std::find(shape.begin(), shape.end(), 0) != shape.end();
  if (has_zero && w.opset() < 14) return Fail(c, "a size-0 dim needs allowzero (opset 14)");
  onnx::NodeProto& r = w.AddNode("Reshape", c.scope, {x, w.IntsConstant(c.scope, shape)});
  if (has_zero) AddIntAttr(r, "allowzero", 1);
  return Value(r.output(0));
}

// torch.transpose(x, dim0, dim1): Transpose with the two dims swapped in perm.
absl::StatusOr<ExportValue> Transpose(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  const int64_t rank = static_cast<int64_t>(c.arg_infos[0].shape.size());
  SP_ASSIGN_OR_RETURN(int64_t dim0, GetIntAttr(*c.attrs, "dim0", 0));
  SP_ASSIGN_OR_RETURN(int64_t dim1, GetIntAttr(*c.attrs, "dim1", 1));
  if (rank == 0) return Value(w.AddNode("Identity", c.scope, {x}).output(0));
  if (dim0 < 0) dim0 += rank;
  if (dim1 < 0) dim1 += rank;
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d) perm.push_back(d);
  std::swap(perm[dim0], perm[dim1]);
  onnx::NodeProto& t = w.AddNode("Transpose", c.scope, {x});
  AddIntsAttr(t, "perm", perm);
  return Value(t.output(0));
}

absl::StatusOr<ExportValue> LayerNorm(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> normalized,
                      GetIntsAttr(*c.attrs, "normalized_shape", {}));
  SP_ASSIGN_OR_RETURN(double eps, GetFloatAttr(*c.attrs, "eps", 1e-5));
  std::string weight, bias;
  if (c.module != nullptr) {
    SP_ASSIGN_OR_RETURN(weight, ParamInit(w, c, "weight"));
    SP_ASSIGN_OR_RETURN(bias, ParamInit(w, c, "bias"));
  } else {
    if (c.args.size() > 1) {
      SP_ASSIGN_OR_RETURN(weight, Arg(c, 1));
    }
    if (c.args.size() > 2) {
      SP_ASSIGN_OR_RETURN(bias, Arg(c, 2));
    }
  }
  SP_ASSIGN_OR_RETURN(bool return_stats, GetBoolAttr(*c.attrs, "return_stats", false));
  const int64_t k = static_cast<int64_t>(normalized.size());
  if (w.opset() >= 17) {
    if (weight.empty())
      weight = w.Constant(c.scope, Tensor::Full(Shape(normalized.begin(), normalized.end()), 1.0f));
    std::vector<std::string> in = {x, weight};
    if (!bias.empty()) in.push_back(bias);
    onnx::NodeProto& ln = w.AddNode("LayerNormalization", c.scope, in, return_stats ? 3 : 1);
    AddIntAttr(ln, "axis", -k);
    AddFloatAttr(ln, "epsilon", static_cast<float>(eps));
    if (!return_stats) return Value(ln.output(0));
    // (y, mean, rstd) are LayerNormalization's Y, Mean and InvStdDev.
    return ExportValue{"", true, {Value(ln.output(0)), Value(ln.output(1)), Value(ln.output(2))}};
  }
  if (return_stats) return Fail(c, "return_stats=True needs opset 17 (LayerNormalization)");
  // Before opset 17, PyTorch's decomposition.
  std::vector<int64_t> axes;
  for (int64_t i = -k; i < 0; ++i) axes.push_back(i);
  onnx::NodeProto& mean = w.AddNode("ReduceMean", c.scope, {x});
  AddIntsAttr(mean, "axes", axes);
  const std::string centered = w.AddNode("Sub", c.scope, {x, mean.output(0)}).output(0);
  const std::string two = w.ScalarConstant(c.scope, 2.0f);
  const std::string sq = w.AddNode("Pow", c.scope, {centered, two}).output(0);
  onnx::NodeProto& var = w.AddNode("ReduceMean", c.scope, {sq});
  AddIntsAttr(var, "axes", axes);
  const std::string eps_c = w.ScalarConstant(c.scope, static_cast<float>(eps));
  const std::string shifted = w.AddNode("Add", c.scope, {var.output(0), eps_c}).output(0);
  const std::string stddev = w.AddNode("Sqrt", c.scope, {shifted}).output(0);
  std::string y = w.AddNode("Div", c.scope, {centered, stddev}).output(0);
  if (!weight.empty()) y = w.AddNode("Mul", c.scope, {y, weight}).output(0);
  if (!bias.empty()) y = w.AddNode("Add", c.scope, {y, bias}).output(0);
  return Value(y);
}

absl::StatusOr<ExportValue> BatchNorm(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  SP_ASSIGN_OR_RETURN(double eps, GetFloatAttr(*c.attrs, "eps", 1e-5));
  SP_ASSIGN_OR_RETURN(double momentum, GetFloatAttr(*c.attrs, "momentum", 0.1));
  std::string weight, bias, mean, var;
  int64_t channels = c.arg_infos[0].shape.size() > 1 ? c.arg_infos[0].shape[1] : 0;
  if (c.module != nullptr) {
    SP_ASSIGN_OR_RETURN(weight, ParamInit(w, c, "weight"));
    SP_ASSIGN_OR_RETURN(bias, ParamInit(w, c, "bias"));
    SP_ASSIGN_OR_RETURN(mean, ParamInit(w, c, "running_mean"));
    SP_ASSIGN_OR_RETURN(var, ParamInit(w, c, "running_var"));
  } else {
    SP_ASSIGN_OR_RETURN(bool training, GetBoolAttr(*c.attrs, "training", false));
    if (training) return Fail(c, "training=True (batch statistics)");
    if (c.args.size() < 3) return Fail(c, "running statistics are required");
    SP_ASSIGN_OR_RETURN(mean, Arg(c, 1));
    SP_ASSIGN_OR_RETURN(var, Arg(c, 2));
    if (c.args.size() > 3) {
      SP_ASSIGN_OR_RETURN(weight, Arg(c, 3));
    }
    if (c.args.size() > 4) {
      SP_ASSIGN_OR_RETURN(bias, Arg(c, 4));
    }
  }
  if (mean.empty() || var.empty())
    return Fail(c, "without running statistics (batch statistics in eval)");
  if (weight.empty()) weight = w.Constant(c.scope, Tensor::Full({channels}, 1.0f));
  if (bias.empty()) bias = w.Constant(c.scope, Tensor::Zeros({channels}));
  SP_ASSIGN_OR_RETURN(bool onnx_training, GetBoolAttr(*c.attrs, "onnx_training_mode", false));
  if (onnx_training && w.opset() < 14) return Fail(c, "onnx_training_mode needs opset 14");
  onnx::NodeProto& bn =
      w.AddNode("BatchNormalization", c.scope, {x, weight, bias, mean, var}, onnx_training ? 3 : 1);
  AddFloatAttr(bn, "epsilon", static_cast<float>(eps));
  AddFloatAttr(bn, "momentum", static_cast<float>(1.0 - momentum));
  if (!onnx_training) return Value(bn.output(0));
  // (y, running_mean', running_var') are training mode's Y, running_mean and running_var.
  AddIntAttr(bn, "training_mode", 1);
  return ExportValue{"", true, {Value(bn.output(0)), Value(bn.output(1)), Value(bn.output(2))}};
}

absl::StatusOr<ExportValue> Activation(OnnxWriter& w, const ExportCall& c) {
  SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
  absl::StatusOr<ActivationParams> params = ReadActivationParams(c.kind, *c.attrs);
  if (!params.ok()) return Fail(c, params.status().message());
  const ActivationParams& p = *params;
  const std::string& s = c.scope;
  auto unary = [&](const std::string& op, const std::string& in) {
    return w.AddNode(op, s, {in}).output(0);
  };
  auto binary = [&](const std::string& op, const std::string& a, const std::string& b) {
    return w.AddNode(op, s, {a, b}).output(0);
  };
  auto with_alpha = [&](const std::string& op, double alpha) {
    onnx::NodeProto& n = w.AddNode(op, s, {x});
    AddFloatAttr(n, "alpha", static_cast<float>(alpha));
    return n.output(0);
  };
  auto clip = [&](double lo, double hi) {
    const std::string lo_c = w.ScalarConstant(s, static_cast<float>(lo));
    const std::string hi_c = w.ScalarConstant(s, static_cast<float>(hi));
    return w.AddNode("Clip", s, {x, lo_c, hi_c}).output(0);
  };
  auto hardsigmoid = [&](const std::string& in, double alpha, double beta) {
    onnx::NodeProto& n = w.AddNode("HardSigmoid", s, {in});
    AddFloatAttr(n, "alpha", static_cast<float>(alpha));
    AddFloatAttr(n, "beta", static_cast<float>(beta));
    return n.output(0);
  };
  std::string y;
  switch (c.kind) {
    case OpKind::kRelu:
      y = unary("Relu", x);
      break;
    case OpKind::kRrelu:
      y = with_alpha("LeakyRelu", (p.lower + p.upper) / 2);
      break;
    case OpKind::kLeakyRelu:
      y = with_alpha("LeakyRelu", p.negative_slope);
      break;
    case OpKind::kHardtanh:
      y = clip(p.min_val, p.max_val);
      break;
    case OpKind::kRelu6:
      y = clip(0.0, 6.0);
      break;
    case OpKind::kSigmoid:
      y = unary("Sigmoid", x);
      break;
    case OpKind::kHardsigmoid:
      y = hardsigmoid(x, p.alpha, p.beta);
      break;
    case OpKind::kTanh:
      y = unary("Tanh", x);
      break;
    case OpKind::kSilu:
      y = binary("Mul", x, unary("Sigmoid", x));
      break;
    case OpKind::kMish:
      y = binary("Mul", x, unary("Tanh", unary("Softplus", x)));
      break;
    case OpKind::kHardswish:
      y = w.opset() >= 14 ? unary("HardSwish", x)
                          : binary("Mul", x, hardsigmoid(x, 1.0 / 6.0, 0.5));
      break;
    case OpKind::kElu:
      y = with_alpha("Elu", p.alpha);
      break;
    case OpKind::kCelu:
      y = with_alpha("Celu", p.alpha);
      break;
    case OpKind::kSelu: {
      onnx::NodeProto& n = w.AddNode("Selu", s, {x});
      if (c.attrs->contains("alpha") || c.attrs->contains("scale")) {  // else ONNX's defaults
        AddFloatAttr(n, "alpha", static_cast<float>(p.alpha));
        AddFloatAttr(n, "gamma", static_cast<float>(p.scale));
      }
      y = n.output(0);
      break;
    }
    case OpKind::kHardshrink: {
      onnx::NodeProto& n = w.AddNode("Shrink", s, {x});
      AddFloatAttr(n, "lambd", static_cast<float>(p.lambd));
      y = n.output(0);
      break;
    }
    // log(sigmoid(x)) = -softplus(-x), exact where Log(Sigmoid) underflows.
    case OpKind::kLogSigmoid:
      y = unary("Neg", unary("Softplus", unary("Neg", x)));
      break;
    case OpKind::kSoftplus:
      // ONNX Softplus has no threshold (PyTorch's returns x past it; the difference is < 3e-9
      // at the default 20, log(1 + exp(-threshold)) / beta in general): a lower threshold would
      // silently change the results.
      if (p.threshold < 20.0) return Fail(c, absl::StrCat("threshold ", p.threshold, " < 20 has no ONNX form"));
      if (p.beta == 1.0) {
        y = unary("Softplus", x);
      } else {
        const std::string beta = w.ScalarConstant(s, static_cast<float>(p.beta));
        y = binary("Div", unary("Softplus", binary("Mul", x, beta)),
                   w.ScalarConstant(s, static_cast<float>(p.beta)));
      }
      break;
    case OpKind::kPrelu: {
      std::string slope;
      int64_t channels = 1;
      if (c.module != nullptr) {
        SP_ASSIGN_OR_RETURN(Tensor weight, Param(c, "weight"));
        channels = weight.numel();
        // [C] -> [C, 1, .., 1]: ONNX broadcasts from the right, PyTorch's slope is per dim 1.
        Shape shape = {channels};
        for (size_t d = 2; channels > 1 && d < c.arg_infos[0].shape.size(); ++d) shape.push_back(1);
        SP_ASSIGN_OR_RETURN(Tensor reshaped, weight.Reshape(shape));
        slope = w.Initializer(absl::StrCat(c.fqn, ".weight"), reshaped);
      } else {
        SP_ASSIGN_OR_RETURN(slope, Arg(c, 1));
        channels = NumElements(c.arg_infos[1].shape);
        // A weight of 2+ dims broadcasts element-wise, as ONNX's slope does.
        if (channels > 1 && c.arg_infos[0].shape.size() > 2 && c.arg_infos[1].shape.size() <= 1) {
          std::vector<int64_t> shape = {channels};
          for (size_t d = 2; d < c.arg_infos[0].shape.size(); ++d) shape.push_back(1);
          slope = binary("Reshape", slope, w.IntsConstant(s, shape));
        }
      }
      y = binary("PRelu", x, slope);
      break;
    }
    case OpKind::kSoftsign:
      y = unary("Softsign", x);
      break;
    case OpKind::kTanhshrink:
      y = binary("Sub", x, unary("Tanh", x));
      break;
    case OpKind::kGelu:
      if (p.approximate_tanh) {  // PyTorch's form
        const std::string cube = binary("Mul", x, binary("Mul", x, x));
        const std::string inner =
            binary("Add", x, binary("Mul", w.ScalarConstant(s, 0.044715f), cube));
        const std::string t = unary(
            "Tanh",
            binary("Mul", w.ScalarConstant(s, static_cast<float>(std::sqrt(2.0 / M_PI))), inner));
        const std::string scaled = binary("Mul", x, binary("Add", w.ScalarConstant(s, 1.0f), t));
        y = binary("Mul", w.ScalarConstant(s, 0.5f), scaled);
      } else {
        const std::string e =
            unary("Erf", binary("Div", x, w.ScalarConstant(s, static_cast<float>(std::sqrt(2.0)))));
        y = binary("Mul", binary("Mul", x, binary("Add", e, w.ScalarConstant(s, 1.0f))),
                   w.ScalarConstant(s, 0.5f));
      }
      break;
    default:
      return Fail(c, "not an activation");
  }
  return Value(y);
}

}  // namespace

absl::StatusOr<ExportValue> ExportOp(OnnxWriter& w, const ExportCall& c) {
  if (IsActivation(c.kind)) return Activation(w, c);
  switch (c.kind) {
    case OpKind::kLinear:
      return Linear(w, c);
    case OpKind::kConv2d:
      return Conv(w, c);
    case OpKind::kLstm:
      return Lstm(w, c);
    case OpKind::kMaxPool2d:
    case OpKind::kAvgPool2d:
    case OpKind::kMaxPool1d:
    case OpKind::kAvgPool1d:
    case OpKind::kAdaptiveAvgPool2d:
    case OpKind::kAdaptiveMaxPool2d:
      return Pool(w, c);
    case OpKind::kMaxPool3d:
    case OpKind::kAvgPool3d:
      return Pool3d(w, c);
    case OpKind::kFlatten:
      return Flatten(w, c);
    case OpKind::kLayerNorm:
      return LayerNorm(w, c);
    case OpKind::kBatchNorm2d:
      return BatchNorm(w, c);
    case OpKind::kIdentity: {
      SP_ASSIGN_OR_RETURN(std::string x, Arg(c, 0));
      return Value(w.AddNode("Identity", c.scope, {x}).output(0));
    }
    case OpKind::kDropout:
      return Dropout(w, c);
    case OpKind::kAdd: {
      SP_ASSIGN_OR_RETURN(double alpha, GetFloatAttr(*c.attrs, "alpha", 1.0));
      if (alpha != 1.0) return Fail(c, "alpha != 1");
      // The model holds 8-bit integers in float32; a float Add would not wrap.
      if (c.attrs->contains("wrap_to")) return Fail(c, "wrap_to (8-bit integer addition)");
      SP_ASSIGN_OR_RETURN(std::string a, Arg(c, 0));
      SP_ASSIGN_OR_RETURN(std::string b, Arg(c, 1));
      return Value(w.AddNode("Add", c.scope, {a, b}).output(0));
    }
    case OpKind::kMatmul: {  // ONNX MatMul is NumPy's matmul, as torch.matmul
      SP_ASSIGN_OR_RETURN(std::string a, Arg(c, 0));
      SP_ASSIGN_OR_RETURN(std::string b, Arg(c, 1));
      return Value(w.AddNode("MatMul", c.scope, {a, b}).output(0));
    }
    case OpKind::kReshape:
      return Reshape(w, c);
    case OpKind::kTranspose:
      return Transpose(w, c);
    case OpKind::kCat: {
      SP_ASSIGN_OR_RETURN(int64_t dim, GetIntAttr(*c.attrs, "dim", 0));
      std::vector<std::string> in;
      for (size_t i = 0; i < c.args.size(); ++i) {
        SP_ASSIGN_OR_RETURN(std::string a, Arg(c, i));
        in.push_back(a);
      }
      onnx::NodeProto& cat = w.AddNode("Concat", c.scope, in);
      AddIntAttr(cat, "axis", dim);
      return Value(cat.output(0));
    }
    default:
      return Fail(c, "this op has no ONNX export");
  }
}

}  // namespace structprune::internal
