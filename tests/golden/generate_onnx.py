"""ONNX fixtures for structprune's importer and exporter, exported by PyTorch 1.13.

Run with Debian's interpreter (it has torch 1.13 and onnx 1.12):

    /usr/bin/python3 tests/golden/generate_onnx.py

It rewrites tests/golden/onnx/ (deleting stale cases), checks every model with
onnx.checker, and re-runs each PyTorch model on its saved input as a self-check.

Layout
------
onnx/<case>/model.onnx    torch.onnx.export(model.eval(), x, opset_version=<opset>)
onnx/<case>/input_0.pb    the input, an ONNX TensorProto (ONNX's test-data convention)
onnx/<case>/output_<i>.pb PyTorch's outputs, flattened depth first (tuples of tuples too)
onnx/bad/<name>.onnx      models the importer must refuse with a clear error

Cases (opset 13 unless the name ends in _op17)
---------------------------------------------
The seed networks of generate_golden.py (same FQNs and dataflow): SimpleLinear (every
Linear bias-free, so the exporter stores each weight transposed as onnx::MatMul_<n>),
LinearBias, LinearActivation, LinearActivationFunctional, the five wide conv networks
at width divisor 8 (SimpleConv2d, Conv2dBias, Conv2dActivation, Conv2dPadBias,
Conv2dPool), Conv2dPoolFlattenFunctional, LSTMLinearModel (1 and 2 layers) and
LSTMLayerNormLinearModel (2 layers, at opset 13: decomposed LayerNorm; at 17:
LayerNormalization). Conv2dPoolFlatten is left out: PyTorch cannot export its
AdaptiveAvgPool2d((2, 2)) on a 5x5 map.

Others: ResNetBlock (stem conv, BasicBlock with BatchNorm, residual add, one ReLU module
called twice, global pool, fc) exported with BatchNorm kept (TrainingMode.PRESERVE)
and, as ResNetBlockFolded, in plain eval mode, where PyTorch folds each BatchNorm into
its conv and renames the weights onnx::Conv_<n>; LstmBatchFirst (batch_first LSTM ->
Linear); LayerNorm models (affine over the last dim, non-affine over the last two) at 13
and 17; Pools (max/avg pools with ceil_mode, count_include_pad, dilation; GlobalMaxPool;
Reshape-as-flatten; cat of two branches; Dropout); GroupedConv (groups, depthwise,
stride, dilation, asymmetric kernel); one Act_<name> model per activation module
(Linear -> activation -> Linear) plus Hardswish at opset 17 and a model of functional
activations called at the root scope; GemmGeneral (hand-built Gemm with alpha, beta,
transB=0, expected output from numpy); ShapeOps (Linear layers around MatMul of a 3-D
parameter, a Reshape that is no flatten, Add of a parameter and Transpose).

Pools_dynamic_batch and LSTMLayerNormLinearModel_2layer_dynamic are exported with dynamic
axes (x.view(x.size(0), -1) and the LSTM's zero states are then computed from Shape at run
time); LinearBias_initializers_as_inputs lists its initializers as graph inputs (IR < 4 style).

Bad models: unsupported_op.onnx (Linear -> torch.sin), conv_asymmetric_pads.onnx,
reshape_does_not_fit.onnx, matmul_inner_dims.onnx.
"""

import io
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx.checker
import onnx.helper
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent
OUT_DIR = ROOT / "onnx"
sys.path.insert(0, str(ROOT))
import generate_golden as seed  # noqa: E402  (the seed networks)

WIDTH_DIVISOR = 8


def flatten_outputs(out):
    if isinstance(out, (tuple, list)):
        result = []
        for o in out:
            result.extend(flatten_outputs(o))
        return result
    return [out]


def write_tensor(path, t):
    proto = onnx.numpy_helper.from_array(t.detach().to(torch.float32).contiguous().numpy())
    path.write_bytes(proto.SerializeToString())


def randomize(model, seed_value):
    """Non-trivial BatchNorm statistics and PReLU slopes (defaults would hide bugs)."""
    g = torch.Generator().manual_seed(seed_value)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            if isinstance(m, nn.PReLU):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5)
            if isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)


def export_case(name, model, x, opset=13, preserve_batchnorm=False, dynamic_axes=None,
                initializers_as_inputs=False):
    torch.manual_seed(0)
    model.eval()
    case_dir = OUT_DIR / name
    case_dir.mkdir(parents=True)
    kwargs = {}
    if preserve_batchnorm:
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE
    if dynamic_axes:
        kwargs.update(input_names=["x"], dynamic_axes={"x": dynamic_axes})
    if initializers_as_inputs:
        kwargs["keep_initializers_as_inputs"] = True
    buf = io.BytesIO()
    torch.onnx.export(model, x, buf, opset_version=opset, **kwargs)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    (case_dir / "model.onnx").write_bytes(buf.getvalue())
    write_tensor(case_dir / "input_0.pb", x)
    with torch.no_grad():
        outputs = flatten_outputs(model(x))
    for i, o in enumerate(outputs):
        write_tensor(case_dir / ("output_%d.pb" % i), o)
    # Self-check: the saved files read back to what PyTorch computes.
    back = onnx.numpy_helper.to_array(onnx.load_tensor(str(case_dir / "input_0.pb")))
    with torch.no_grad():
        again = flatten_outputs(model(torch.from_numpy(back)))
    for i, o in enumerate(again):
        saved = onnx.numpy_helper.to_array(onnx.load_tensor(str(case_dir / ("output_%d.pb" % i))))
        assert np.array_equal(saved, o.numpy()), name


def seeded(cls, *args, seed_value=0):
    torch.manual_seed(seed_value)
    return cls(*args)


# ---------------------------------------------------------------------------------
# Models that are not seed networks
# ---------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x
        return self.relu(out)


class ResNetBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(4))
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        x = self.layer1(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class LstmBatchFirst(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 5, batch_first=True)
        self.linear = nn.Linear(5, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.linear(out)


class LayerNormLast(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.norm = nn.LayerNorm(5)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc2(self.act(self.norm(self.fc1(x))))


class LayerNormTwoDims(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.norm = nn.LayerNorm([4, 5], elementwise_affine=False)

    def forward(self, x):
        return self.norm(self.fc1(x))


class Pools(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_a = nn.Conv2d(2, 3, 3, padding=1)
        self.conv_b = nn.Conv2d(2, 4, 1)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avgpool = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avgpool_nopad = nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False)
        self.dilated = nn.MaxPool2d(2, stride=1, padding=1, dilation=2)
        self.gmp = nn.AdaptiveMaxPool2d(1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(7, 2)

    def forward(self, x):
        a = self.maxpool(self.conv_a(x))
        b = self.avgpool(self.conv_b(x))
        y = torch.cat([a, b], dim=1)
        y = self.dilated(self.avgpool_nopad(y))
        y = F.avg_pool2d(y, 2, stride=1, padding=1)
        y = F.max_pool2d(y, 2)
        y = self.drop(self.gmp(y))
        return self.fc(y.view(y.size(0), -1))


class GroupedConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 6, (3, 2), stride=(2, 1), padding=(1, 2), groups=2)
        self.dw = nn.Conv2d(6, 6, 3, padding=2, dilation=2, groups=6)
        self.pw = nn.Conv2d(6, 4, 1, bias=False)

    def forward(self, x):
        return self.pw(F.relu6(self.dw(self.conv1(x))))


class ActModel(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.act = act
        self.fc2 = nn.Linear(5, 4)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class FunctionalActs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        x = self.fc(x)
        x = F.gelu(x) + F.silu(x)
        x = F.hardtanh(x, -0.5, 0.75) + F.leaky_relu(x, 0.2)
        x = F.elu(x, 0.7) + F.softplus(x, beta=2.0)
        return torch.cat([F.mish(x), F.logsigmoid(x), torch.tanh(x), F.hardsigmoid(x)], dim=1)


class ShapeOps(nn.Module):
    """Linear layers around the shape ops PyTorch exports as MatMul of a 3-D parameter,
    Reshape (no flatten), Add of a parameter and Transpose: fc0 prunes (its consumer is fc1),
    fc1 and fc2 keep their channels (the ops after them are opaque to pruning)."""

    def __init__(self):
        super().__init__()
        self.fc0 = nn.Linear(8, 8)
        self.fc1 = nn.Linear(8, 6)
        self.w = nn.Parameter(torch.randn(2, 6, 4) / 3)
        self.fc2 = nn.Linear(8, 5)
        self.shift = nn.Parameter(torch.randn(5))
        self.fc3 = nn.Linear(3, 2)

    def forward(self, x):  # [3, 8]
        h = torch.relu(self.fc1(torch.relu(self.fc0(x))))  # [3, 6]
        h = torch.matmul(h, self.w)  # [2, 3, 4]
        h = torch.relu(self.fc2(h.reshape(3, 8)))  # [3, 5]
        return self.fc3((h + self.shift).t())  # [5, 2]


class Sin(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return torch.sin(self.fc(x))


ACTIVATIONS = [
    ("ReLU", lambda: nn.ReLU()),
    ("RReLU", lambda: nn.RReLU(0.1, 0.3)),
    ("Hardtanh", lambda: nn.Hardtanh(-0.5, 0.75)),
    ("ReLU6", lambda: nn.ReLU6()),
    ("Sigmoid", lambda: nn.Sigmoid()),
    ("Hardsigmoid", lambda: nn.Hardsigmoid()),
    ("Tanh", lambda: nn.Tanh()),
    ("SiLU", lambda: nn.SiLU()),
    ("Mish", lambda: nn.Mish()),
    ("Hardswish", lambda: nn.Hardswish()),
    ("ELU", lambda: nn.ELU(0.7)),
    ("CELU", lambda: nn.CELU(1.3)),
    ("SELU", lambda: nn.SELU()),
    ("Hardshrink", lambda: nn.Hardshrink(0.3)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.05)),
    ("LogSigmoid", lambda: nn.LogSigmoid()),
    ("Softplus", lambda: nn.Softplus()),
    ("SoftplusBeta", lambda: nn.Softplus(beta=2.0)),
    ("PReLU", lambda: nn.PReLU(5)),
    ("Softsign", lambda: nn.Softsign()),
    ("Tanhshrink", lambda: nn.Tanhshrink()),
    ("GELU", lambda: nn.GELU()),
    ("GELUTanh", lambda: nn.GELU(approximate="tanh")),
]


def gemm_general():
    """Gemm as other exporters write it: B stored [in, out] (transB=0), alpha and beta."""
    rng = np.random.default_rng(7)
    b = rng.standard_normal((6, 4)).astype(np.float32)
    c = rng.standard_normal((4,)).astype(np.float32)
    x = rng.standard_normal((3, 6)).astype(np.float32)
    node = onnx.helper.make_node("Gemm", ["x", "dense.kernel", "dense.bias"], ["y"],
                                 name="dense/Gemm", alpha=0.5, beta=2.0, transB=0)
    relu = onnx.helper.make_node("Relu", ["y"], ["z"], name="relu")
    graph = onnx.helper.make_graph(
        [node, relu], "gemm_general",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3, 6])],
        [onnx.helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, [3, 4])],
        [onnx.numpy_helper.from_array(b, "dense.kernel"),
         onnx.numpy_helper.from_array(c, "dense.bias")])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)],
                                   producer_name="generate_onnx.py")
    onnx.checker.check_model(model)
    case_dir = OUT_DIR / "GemmGeneral"
    case_dir.mkdir(parents=True)
    (case_dir / "model.onnx").write_bytes(model.SerializeToString())
    y = np.maximum(0.5 * x @ b + 2.0 * c, 0.0).astype(np.float32)
    (case_dir / "input_0.pb").write_bytes(onnx.numpy_helper.from_array(x).SerializeToString())
    (case_dir / "output_0.pb").write_bytes(onnx.numpy_helper.from_array(y).SerializeToString())


def bad_models():
    bad_dir = OUT_DIR / "bad"
    bad_dir.mkdir(parents=True)
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.onnx.export(Sin().eval(), torch.randn(2, 3), buf, opset_version=13)
    (bad_dir / "unsupported_op.onnx").write_bytes(buf.getvalue())

    def one_node(name, node, inputs, output, initializers=(), opset=13, graph_name=None):
        """bad/<name>.onnx, a model of `node` alone; inputs: {name: dims}, output: (name, dims)."""
        graph = onnx.helper.make_graph(
            [node], graph_name or name,
            [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, d)
             for n, d in inputs.items()],
            [onnx.helper.make_tensor_value_info(output[0], onnx.TensorProto.FLOAT, output[1])],
            list(initializers))
        model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)])
        onnx.checker.check_model(model)
        (bad_dir / (name + ".onnx")).write_bytes(model.SerializeToString())

    w = np.ones((2, 1, 3, 3), np.float32)
    one_node("conv_asymmetric_pads",
             onnx.helper.make_node("Conv", ["x", "conv.weight"], ["y"], name="/conv/Conv",
                                   kernel_shape=[3, 3], pads=[1, 1, 0, 0]),
             {"x": [1, 1, 5, 5]}, ("y", [1, 2, 4, 4]),
             [onnx.numpy_helper.from_array(w, "conv.weight")], graph_name="asymmetric")
    # A Reshape whose constant target does not hold the input's 24 elements, and a MatMul whose
    # inner dims differ (the checker does not infer shapes, so both pass it).
    one_node("reshape_does_not_fit",
             onnx.helper.make_node("Reshape", ["x", "target"], ["y"], name="/Reshape"),
             {"x": [2, 3, 4]}, ("y", [5, 5]),
             [onnx.numpy_helper.from_array(np.array([5, 5], np.int64), "target")], opset=14)
    one_node("matmul_inner_dims", onnx.helper.make_node("MatMul", ["a", "b"], ["c"], name="/MatMul"),
             {"a": [2, 2, 3], "b": [2, 4, 5]}, ("c", [2, 2, 5]))


def main():
    if OUT_DIR.exists():
        shutil.rmtree(OUT_DIR)
    OUT_DIR.mkdir(parents=True)
    g = torch.Generator().manual_seed(1234)

    def randn(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    for cls in (seed.SimpleLinear, seed.LinearBias, seed.LinearActivation,
                seed.LinearActivationFunctional):
        export_case(cls.__name__, seeded(cls), randn(4, 7))
    conv_inputs = {"SimpleConv2d": (12, 11), "Conv2dBias": (14, 13), "Conv2dActivation": (14, 12),
                   "Conv2dPadBias": (8, 9), "Conv2dPool": (11, 12)}
    for name, (h, w) in conv_inputs.items():
        export_case(name, seeded(getattr(seed, name), WIDTH_DIVISOR), randn(1, 1, h, w))
    export_case("Conv2dPoolFlattenFunctional", seeded(seed.Conv2dPoolFlattenFunctional),
                randn(2, 1, 28, 28))
    for layers in (1, 2):
        export_case("LSTMLinearModel_%dlayer" % layers,
                    seeded(seed.LSTMLinearModel, 8, 8, 4, layers), randn(5, 2, 8))
    for opset in (13, 17):
        model = seeded(seed.LSTMLayerNormLinearModel, 8, 8, 4, 2)
        randomize(model, 3)
        export_case("LSTMLayerNormLinearModel_2layer_op%d" % opset, model, randn(5, 2, 8), opset)

    block = seeded(ResNetBlock)
    randomize(block, 5)
    x = randn(2, 3, 6, 6)
    export_case("ResNetBlock", block, x, preserve_batchnorm=True)
    export_case("ResNetBlockFolded", block, x)
    export_case("LstmBatchFirst", seeded(LstmBatchFirst), randn(2, 6, 4))
    for opset in (13, 17):
        model = seeded(LayerNormLast)
        randomize(model, 9)
        export_case("LayerNormLast_op%d" % opset, model, randn(3, 6), opset)
    export_case("LayerNormTwoDims", seeded(LayerNormTwoDims), randn(2, 4, 6))
    export_case("Pools", seeded(Pools), randn(2, 2, 9, 8))
    # Dynamic sizes: shape arithmetic stays in the graph (Shape -> Gather -> ... -> Reshape / Expand).
    export_case("Pools_dynamic_batch", seeded(Pools), randn(2, 2, 9, 8), dynamic_axes={0: "batch"})
    model = seeded(seed.LSTMLayerNormLinearModel, 8, 8, 4, 2)
    randomize(model, 3)
    export_case("LSTMLayerNormLinearModel_2layer_dynamic", model, randn(5, 2, 8),
                dynamic_axes={0: "seq", 1: "batch"})
    export_case("LinearBias_initializers_as_inputs", seeded(seed.LinearBias), randn(4, 7),
                initializers_as_inputs=True)
    export_case("GroupedConv", seeded(GroupedConv), randn(1, 2, 9, 7))
    for name, make in ACTIVATIONS:
        model = seeded(ActModel, make())
        randomize(model, 11)
        export_case("Act_" + name, model, randn(5, 6, scale=3.0))
    export_case("Act_Hardswish_op17", seeded(ActModel, nn.Hardswish()), randn(5, 6, scale=3.0), 17)
    export_case("FunctionalActs", seeded(FunctionalActs), randn(4, 6, scale=2.0))
    gemm_general()
    export_case("ShapeOps", seeded(ShapeOps), randn(3, 8))
    bad_models()

    total = sum(p.stat().st_size for p in OUT_DIR.rglob("*") if p.is_file())
    print("wrote %d cases, %d bytes" % (sum(1 for p in OUT_DIR.iterdir() if p.is_dir()) - 1, total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
