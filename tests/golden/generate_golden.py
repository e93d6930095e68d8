"""PyTorch golden data for structprune's op kernels and seed networks.

Run with Debian's interpreter (it has torch 1.13):

    /usr/bin/python3 tests/golden/generate_golden.py

It rewrites every fixture under tests/golden/ops/ and tests/golden/models/ (and deletes
stale *.json there), then re-reads each file and recomputes it with torch as a
self-check. Output is byte-identical from run to run.

Fixture format
--------------
T = {"shape": [..], "data": [flat row-major float32 values]}. Each value is written as
the shortest decimal that rounds back to the same float32 (parse as double, cast to
float: bit-exact).

ops/<case>.json:
  {"op", "form": "module"|"functional", "attrs", "params", "inputs": [T..],
   "outputs": [T..], "rtol", "atol", optional "note"}
models/<name>.json:
  {"model": class name, "args": constructor args, "params": {state_dict FQN: T},
   "inputs": [T], "outputs": [T..], "rtol", "atol", "architecture", optional "note"}
Outputs are the forward result flattened depth first (tuples of tuples included).

Seed networks (PyTorch's torch/testing/_internal/common_pruning.py)
-------------------------------------------------------------------
Listed in registration order, which is also state_dict order. All Linear/Conv2d
arguments not shown are PyTorch defaults (Conv2d: stride 1, padding 0, dilation 1,
groups 1; pools: ceil_mode False, dilation 1, AvgPool2d count_include_pad True).
"->" is the forward dataflow; F.* / torch.* are functional calls (call_function nodes).

SimpleLinear                        (every layer bias=False)
  seq.0    Linear(7, 5, bias=False)
  seq.1    Linear(5, 6, bias=False)
  seq.2    Linear(6, 4, bias=False)
  linear1  Linear(4, 4, bias=False)
  linear2  Linear(4, 10, bias=False)
  forward: x -> seq.0 -> seq.1 -> seq.2 -> linear1 -> linear2 -> out
  golden input [4, 7] -> output [4, 10]

LinearBias                          (seq.1 and seq.4 bias=False)
  seq.0  Linear(7, 5, bias=True)
  seq.1  Linear(5, 6, bias=False)
  seq.2  Linear(6, 3, bias=True)
  seq.3  Linear(3, 3, bias=True)
  seq.4  Linear(3, 10, bias=False)
  forward: x -> seq.0 -> seq.1 -> seq.2 -> seq.3 -> seq.4 -> out
  golden input [4, 7] -> output [4, 10]

LinearActivation                    (seq.2 and linear2 bias=False)
  seq.0    Linear(7, 5, bias=True)
  seq.1    ReLU()
  seq.2    Linear(5, 6, bias=False)
  seq.3    Tanh()
  seq.4    Linear(6, 4, bias=True)
  linear1  Linear(4, 3, bias=True)
  act1     ReLU()
  linear2  Linear(3, 10, bias=False)
  act2     Tanh()
  forward: x -> seq.0 -> seq.1 -> seq.2 -> seq.3 -> seq.4 -> linear1 -> act1
             -> linear2 -> act2 -> out
  golden input [4, 7] -> output [4, 10]

LinearActivationFunctional          (seq.2, linear2, linear3 bias=False)
  seq.0    Linear(7, 5, bias=True)
  seq.1    ReLU()
  seq.2    Linear(5, 6, bias=False)
  seq.3    ReLU()
  seq.4    Linear(6, 4, bias=True)
  linear1  Linear(4, 3, bias=True)
  linear2  Linear(3, 8, bias=False)
  linear3  Linear(8, 10, bias=False)
  act1     ReLU()          -- registered but NEVER called in forward (no graph node)
  forward: x -> seq.0 -> seq.1 -> seq.2 -> seq.3 -> seq.4 -> linear1 -> F.relu
             -> linear2 -> F.relu -> linear3 -> F.relu -> out
  golden input [4, 7] -> output [4, 10]

SimpleConv2d                        (every layer bias=False)
  seq.0    Conv2d(1, 32, kernel_size=3, stride=1, bias=False)
  seq.1    Conv2d(32, 64, kernel_size=3, stride=1, bias=False)
  conv2d1  Conv2d(64, 48, kernel_size=3, stride=1, bias=False)
  conv2d2  Conv2d(48, 52, kernel_size=3, stride=1, bias=False)
  forward: x -> seq.0 -> seq.1 -> conv2d1 -> conv2d2 -> out
  golden (width/4, see below) input [1, 1, 12, 11] -> output [1, 13, 4, 3]

Conv2dBias                          (seq.2 and conv2d2 bias=False)
  seq.0    Conv2d(1, 32, 3, 1, bias=True)
  seq.1    Conv2d(32, 32, 3, 1, bias=True)
  seq.2    Conv2d(32, 64, 3, 1, bias=False)
  conv2d1  Conv2d(64, 48, 3, 1, bias=True)
  conv2d2  Conv2d(48, 52, 3, 1, bias=False)
  forward: x -> seq.0 -> seq.1 -> seq.2 -> conv2d1 -> conv2d2 -> out
  golden (width/4) input [1, 1, 14, 13] -> output [1, 13, 4, 3]

Conv2dActivation                    (seq.4 and conv2d1 bias=False)
  seq.0    Conv2d(1, 32, 3, 1, bias=True)
  seq.1    ReLU()
  seq.2    Conv2d(32, 64, 3, 1, bias=True)
  seq.3    Tanh()
  seq.4    Conv2d(64, 64, 3, 1, bias=False)
  seq.5    ReLU()
  conv2d1  Conv2d(64, 48, 3, 1, bias=False)
  conv2d2  Conv2d(48, 52, 3, 1, bias=True)
  forward: x -> seq.0 .. seq.5 -> conv2d1 -> F.relu -> conv2d2
             -> F.hardtanh (defaults min_val=-1.0, max_val=1.0) -> out
  golden (width/4) input [1, 1, 14, 12] -> output [1, 13, 4, 2]

Conv2dPadBias                       (seq.2 bias=False; padding 1 on seq.0, seq.4,
                                     seq.6, conv2d1, conv2d2; padding 0 on seq.2, seq.8)
  seq.0    Conv2d(1, 32, 3, 1, padding=1, bias=True)
  seq.1    ReLU()
  seq.2    Conv2d(32, 32, 3, 1, bias=False)
  seq.3    ReLU()
  seq.4    Conv2d(32, 32, 3, 1, padding=1, bias=True)
  seq.5    ReLU()
  seq.6    Conv2d(32, 32, 3, 1, padding=1, bias=True)
  seq.7    ReLU()
  seq.8    Conv2d(32, 64, 3, 1, bias=True)
  seq.9    Tanh()
  conv2d1  Conv2d(64, 48, 3, 1, padding=1, bias=True)
  act1     ReLU()
  conv2d2  Conv2d(48, 52, 3, 1, padding=1, bias=True)
  act2     Tanh()
  forward: x -> seq.0 .. seq.9 -> conv2d1 -> act1 -> conv2d2 -> act2 -> out
  golden (width/4) input [1, 1, 8, 9] -> output [1, 13, 4, 5]

Conv2dPool                          (all convs bias=True, kernel 3, padding 1)
  seq.0    Conv2d(1, 32, kernel_size=3, padding=1, bias=True)
  seq.1    MaxPool2d(kernel_size=2, stride=2, padding=1)
  seq.2    ReLU()
  seq.3    Conv2d(32, 64, kernel_size=3, padding=1, bias=True)
  seq.4    Tanh()
  seq.5    AvgPool2d(kernel_size=2, stride=2, padding=1)   (count_include_pad=True)
  conv2d1  Conv2d(64, 48, kernel_size=3, padding=1, bias=True)
  maxpool  MaxPool2d(kernel_size=2, stride=2, padding=1)
  af1      ReLU()
  conv2d2  Conv2d(48, 52, kernel_size=3, padding=1, bias=True)
  conv2d3  Conv2d(52, 52, kernel_size=3, padding=1, bias=True)
  forward: x -> seq.0 .. seq.5 -> conv2d1 -> maxpool -> af1 -> conv2d2
             -> F.avg_pool2d(kernel_size=2, stride=2, padding=1) -> F.relu
             -> conv2d3 -> out
  golden (width/4) input [1, 1, 11, 12] -> output [1, 13, 2, 2]
  (spatial 11x12 -> seq.1 6x7 -> seq.5 4x4 -> maxpool 3x3 -> avg_pool2d 2x2)

Conv2dPoolFlattenFunctional         (all bias=True; exact upstream widths)
  seq.0     Conv2d(1, 3, kernel_size=3, padding=1, bias=True)
  seq.1     MaxPool2d(kernel_size=2, stride=2, padding=1)
  seq.2     ReLU()
  seq.3     Conv2d(3, 5, kernel_size=3, padding=1, bias=True)
  seq.4     Tanh()
  seq.5     AvgPool2d(kernel_size=2, stride=2, padding=1)
  conv2d1   Conv2d(5, 7, kernel_size=3, padding=1, bias=True)
  af1       ReLU()
  conv2d2   Conv2d(7, 11, kernel_size=3, padding=1, bias=True)
  avg_pool  AdaptiveAvgPool2d((1, 1))
  fc        Linear(11, 13, bias=True)
  forward: x -> seq.0 .. seq.5 -> conv2d1
             -> F.max_pool2d(kernel_size=2, stride=2, padding=1) -> af1 -> conv2d2
             -> avg_pool -> torch.flatten(x, 1) (start_dim=1, end_dim=-1) -> fc -> out
  golden input [2, 1, 28, 28] -> output [2, 13]
  (spatial 28 -> seq.1 15 -> seq.5 8 -> F.max_pool2d 5 -> avg_pool 1)

Conv2dPoolFlatten                   (all bias=True; exact upstream widths)
  seq.0 .. seq.5, conv2d1, af1, conv2d2 exactly as in Conv2dPoolFlattenFunctional
  avg_pool  AdaptiveAvgPool2d((2, 2))
  flatten   Flatten()                  (start_dim=1, end_dim=-1)
  fc        Linear(44, 13, bias=True)  (44 = 11 channels * 2 * 2)
  forward: x -> seq.0 .. seq.5 -> conv2d1
             -> F.max_pool2d(kernel_size=2, stride=2, padding=1) -> af1 -> conv2d2
             -> avg_pool -> flatten -> fc -> out
  golden input [2, 1, 28, 28] -> output [2, 13]
  (avg_pool here is 5x5 -> 2x2: windows [0,3) and [2,5), they overlap)

LSTMLinearModel(input_dim, hidden_dim, output_dim, num_layers)
  lstm    LSTM(input_dim, hidden_dim, num_layers)   (bias=True, batch_first=False)
  linear  Linear(hidden_dim, output_dim)            (bias=True)
  forward: output, (h_n, c_n) = lstm(x)   (no initial state: zeros)
           decoded = linear(output)
           return (decoded, output)       -> outputs [decoded, output]
  goldens: LSTMLinearModel_1layer (8, 8, 4, 1), LSTMLinearModel_2layer (8, 8, 4, 2);
  input [5, 2, 8] (seq 5, batch 2) -> outputs [5, 2, 4], [5, 2, 8]

LSTMLayerNormLinearModel(input_dim, hidden_dim, output_dim, num_layers)
  lstm    LSTM(input_dim, hidden_dim, num_layers)   (bias=True, batch_first=False)
  norm    LayerNorm(hidden_dim)                     (eps=1e-5, elementwise_affine=True)
  linear  Linear(hidden_dim, output_dim)            (bias=True)
  forward: x, state = lstm(x); x = norm(x); x = linear(x); return (x, state)
           -> outputs [x, h_n, c_n]  (state = (h_n, c_n), flattened depth first)
  goldens: LSTMLayerNormLinearModel_1layer (8, 8, 4, 1), ..._2layer (8, 8, 4, 2);
  input [5, 2, 8] -> outputs [5, 2, 4], [L, 2, 8], [L, 2, 8]

Width of the golden conv models. Upstream's five wide conv networks (SimpleConv2d,
Conv2dBias, Conv2dActivation, Conv2dPadBias, Conv2dPool) hold 69k-106k weights each,
about 5 MB of JSON together. Their goldens are therefore generated with every channel
count except the image's single input channel divided by WIDE_CONV_WIDTH_DIVISOR (4):
32 -> 8, 64 -> 16, 48 -> 12, 52 -> 13; layer structure, FQNs, kernels, strides,
paddings, bias flags, activations and pools are exactly upstream's. The fixture's
"args" carries {"width_divisor": 4} and its "architecture" string the concrete shapes.
Set WIDE_CONV_WIDTH_DIVISOR = 1 for upstream's exact widths.
"""

import json
import math
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent
OPS_DIR = ROOT / "ops"
MODELS_DIR = ROOT / "models"

WIDE_CONV_WIDTH_DIVISOR = 4

DEFAULT_TOL = (1e-5, 1e-6)
LOOSE_TOL = (1e-4, 1e-5)

# ---------------------------------------------------------------------------------
# JSON writing
# ---------------------------------------------------------------------------------


class Tensor:
    """A float32 tensor as it goes into a fixture."""

    def __init__(self, t):
        t = t.detach().to(torch.float32).contiguous()
        self.shape = list(t.shape)
        self.data = t.reshape(-1).numpy().copy()
        if not np.all(np.isfinite(self.data)):
            raise ValueError("non-finite value in fixture tensor")


def _float32_text(v):
    s = str(np.float32(v))  # shortest decimal that round-trips through float32
    if "." not in s and "e" not in s:
        s += ".0"
    return s


def encode(obj, indent=0):
    pad = " " * indent
    if isinstance(obj, Tensor):
        data = ",".join(_float32_text(v) for v in obj.data)
        return '{"shape": %s, "data": [%s]}' % (json.dumps(obj.shape), data)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [
            "%s  %s: %s" % (pad, json.dumps(k), encode(v, indent + 2)) for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if any(isinstance(v, (Tensor, dict)) for v in obj):
            items = ["%s  %s" % (pad, encode(v, indent + 2)) for v in obj]
            return "[\n" + ",\n".join(items) + "\n" + pad + "]"
        return "[" + ", ".join(encode(v, indent) for v in obj) + "]"
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return json.dumps(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError("non-finite attribute")
        return json.dumps(obj)
    raise TypeError("cannot encode %r" % (obj,))


def write_json(path, obj):
    text = encode(obj) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text)


def from_json_tensor(t):
    return torch.tensor(np.asarray(t["data"], dtype=np.float32)).reshape(t["shape"])


def flatten_outputs(out):
    if isinstance(out, torch.Tensor):
        return [out]
    flat = []
    for o in out:
        flat.extend(flatten_outputs(o))
    return flat


def seed_for(name):
    torch.manual_seed(zlib.crc32(name.encode("utf-8")))


def uniform(shape, lo, hi):
    return torch.rand(shape) * (hi - lo) + lo


# ---------------------------------------------------------------------------------
# Building and running ops from (op, form, attrs) -- shared by generator and check
# ---------------------------------------------------------------------------------

ACTIVATIONS = [
    # module, functional, default attrs (module constructor == functional kwargs)
    ("ReLU", "relu", {}),
    ("RReLU", "rrelu", {"lower": 1.0 / 8.0, "upper": 1.0 / 3.0}),
    ("Hardtanh", "hardtanh", {"min_val": -1.0, "max_val": 1.0}),
    ("ReLU6", "relu6", {}),
    ("Sigmoid", "sigmoid", {}),
    ("Hardsigmoid", "hardsigmoid", {}),
    ("Tanh", "tanh", {}),
    ("SiLU", "silu", {}),
    ("Mish", "mish", {}),
    ("Hardswish", "hardswish", {}),
    ("ELU", "elu", {"alpha": 1.0}),
    ("CELU", "celu", {"alpha": 1.0}),
    ("SELU", "selu", {}),
    ("Hardshrink", "hardshrink", {"lambd": 0.5}),
    ("LeakyReLU", "leaky_relu", {"negative_slope": 0.01}),
    ("LogSigmoid", "logsigmoid", {}),
    ("Softplus", "softplus", {"beta": 1.0, "threshold": 20.0}),
    ("PReLU", "prelu", {}),
    ("Softsign", "softsign", {}),
    ("Tanhshrink", "tanhshrink", {}),
    ("GELU", "gelu", {"approximate": "none"}),
]

PAIR_ATTRS = {"kernel_size", "stride", "padding", "dilation", "output_size"}

MODULE_OPS = {
    "Linear", "Conv2d", "LSTM", "MaxPool2d", "AvgPool2d", "MaxPool1d", "AvgPool1d", "MaxPool3d",
    "AvgPool3d",
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Flatten", "LayerNorm", "BatchNorm2d", "Dropout", "Identity",
} | {m for m, _, _ in ACTIVATIONS}


def _kwargs(attrs):
    return {k: tuple(v) if k in PAIR_ATTRS and isinstance(v, list) else v for k, v in attrs.items()}


def build_module(op, attrs):
    if op not in MODULE_OPS:
        raise ValueError("unknown module op " + op)
    return getattr(nn, op)(**_kwargs(attrs)).eval()


def run_module(op, module, inputs):
    with torch.no_grad():
        if op == "LSTM" and len(inputs) == 3:
            out = module(inputs[0], (inputs[1], inputs[2]))
        else:
            out = module(*inputs)
    return flatten_outputs(out)


FUNCTIONALS = {
    "relu": lambda xs, a: F.relu(xs[0]),
    "rrelu": lambda xs, a: F.rrelu(xs[0], a["lower"], a["upper"], training=False),
    "hardtanh": lambda xs, a: F.hardtanh(xs[0], a["min_val"], a["max_val"]),
    "relu6": lambda xs, a: F.relu6(xs[0]),
    "sigmoid": lambda xs, a: torch.sigmoid(xs[0]),
    "hardsigmoid": lambda xs, a: F.hardsigmoid(xs[0]),
    "tanh": lambda xs, a: torch.tanh(xs[0]),
    "silu": lambda xs, a: F.silu(xs[0]),
    "mish": lambda xs, a: F.mish(xs[0]),
    "hardswish": lambda xs, a: F.hardswish(xs[0]),
    "elu": lambda xs, a: F.elu(xs[0], alpha=a["alpha"]),
    "celu": lambda xs, a: F.celu(xs[0], alpha=a["alpha"]),
    "selu": lambda xs, a: F.selu(xs[0]),
    "hardshrink": lambda xs, a: F.hardshrink(xs[0], lambd=a["lambd"]),
    "leaky_relu": lambda xs, a: F.leaky_relu(xs[0], negative_slope=a["negative_slope"]),
    "logsigmoid": lambda xs, a: F.logsigmoid(xs[0]),
    "softplus": lambda xs, a: F.softplus(xs[0], beta=a["beta"], threshold=a["threshold"]),
    # A weight of 2+ dims broadcasts element-wise (ONNX PRelu; torch._prelu_kernel from 2.0).
    "prelu": lambda xs, a: (F.prelu(xs[0], xs[1]) if xs[1].dim() <= 1
                            else torch.where(xs[0] > 0, xs[0], xs[1] * xs[0])),
    "softsign": lambda xs, a: F.softsign(xs[0]),
    "tanhshrink": lambda xs, a: F.tanhshrink(xs[0]),
    "gelu": lambda xs, a: F.gelu(xs[0], approximate=a["approximate"]),
    "max_pool2d": lambda xs, a: F.max_pool2d(xs[0], **_kwargs(a)),
    "avg_pool2d": lambda xs, a: F.avg_pool2d(xs[0], **_kwargs(a)),
    "max_pool1d": lambda xs, a: F.max_pool1d(xs[0], **a),
    "avg_pool1d": lambda xs, a: F.avg_pool1d(xs[0], **a),
    "max_pool3d": lambda xs, a: F.max_pool3d(xs[0], **_kwargs(a)),
    "avg_pool3d": lambda xs, a: F.avg_pool3d(xs[0], **_kwargs(a)),
    "adaptive_avg_pool2d": lambda xs, a: F.adaptive_avg_pool2d(xs[0], **_kwargs(a)),
    "adaptive_max_pool2d": lambda xs, a: F.adaptive_max_pool2d(xs[0], **_kwargs(a)),
    "flatten": lambda xs, a: torch.flatten(xs[0], **a),
    "add": lambda xs, a: torch.add(xs[0], xs[1]),
    "cat": lambda xs, a: torch.cat(xs, dim=a["dim"]),
    "matmul": lambda xs, a: torch.matmul(xs[0], xs[1]),
    "reshape": lambda xs, a: torch.reshape(xs[0], a["shape"]),
    "transpose": lambda xs, a: torch.transpose(xs[0], a["dim0"], a["dim1"]),
}


def run_functional(op, attrs, inputs):
    with torch.no_grad():
        return flatten_outputs(FUNCTIONALS[op](inputs, attrs))


# ---------------------------------------------------------------------------------
# Random parameters and inputs
# ---------------------------------------------------------------------------------


def randomize_module(module, gain=1.0):
    """Non-default, non-trivial values for every parameter and float buffer.

    Weights are U(-a, a) with a = gain * sqrt(3 / fan_in): variance-preserving for gain 1,
    He-like (keeps ReLU stacks alive) for gain sqrt(2)."""
    with torch.no_grad():
        for mod in module.modules():
            for name, p in list(mod.named_parameters(recurse=False)) + list(
                mod.named_buffers(recurse=False)
            ):
                if not p.is_floating_point():
                    continue
                if name == "running_var":
                    p.copy_(uniform(p.shape, 0.5, 2.0))
                elif name == "running_mean":
                    p.copy_(uniform(p.shape, -1.0, 1.0))
                elif isinstance(mod, nn.PReLU):
                    p.copy_(uniform(p.shape, -0.5, 0.8))
                elif isinstance(mod, (nn.LayerNorm, nn.BatchNorm2d)) and name == "weight":
                    sign = torch.where(torch.rand(p.shape) < 0.2, -1.0, 1.0)
                    p.copy_(uniform(p.shape, 0.5, 1.5) * sign)
                elif name.startswith("bias"):
                    p.copy_(uniform(p.shape, -0.5, 0.5))
                else:  # weights: keep activations O(1) through deep stacks
                    fan_in = p[0].numel()
                    p.copy_(uniform(p.shape, -1.0, 1.0) * gain * math.sqrt(3.0 / fan_in))


# Kinks/thresholds of all activations here (default and non-default attributes):
# 0, +-lambd (0.5, 1), Hardtanh (-1, 1), (-2, 3), ReLU6 6, hard* +-3,
# Softplus beta*x == threshold at x = 20 (defaults) and x = 2.5 (beta 2, threshold 5).
KINKS = [0.0, -0.5, 0.5, -1.0, 1.0, -2.0, 2.0, -3.0, 3.0, 6.0, 2.5, 20.0]
FAR_VALUES = [-25.0, -12.0, -7.0, 7.0, 12.0, 25.0]


def activation_input(shape):
    """Values on both sides of every kink (never on one), large magnitudes, random."""
    n = math.prod(shape)
    vals = []
    for k in KINKS:
        vals.append(k - float(uniform([1], 0.02, 0.3)))
        vals.append(k + float(uniform([1], 0.02, 0.3)))
    vals += FAR_VALUES
    if n < len(vals):
        raise ValueError("activation input too small")
    vals += uniform([n - len(vals)], -8.0, 8.0).tolist()
    for i, v in enumerate(vals):
        while min(abs(v - k) for k in KINKS) < 1e-2:
            v += 0.05
        vals[i] = v
    t = torch.tensor(vals, dtype=torch.float32)
    return t[torch.randperm(n)].reshape(shape)


# ---------------------------------------------------------------------------------
# Op cases
# ---------------------------------------------------------------------------------

OP_CASES = {}  # name -> fixture dict


def _tol(op, attrs):
    if op == "Conv2d":
        return LOOSE_TOL, "Conv2d: float32 accumulation order differs between kernels"
    if op == "LSTM":
        return LOOSE_TOL, "LSTM: recurrent float32 error grows over time steps and layers"
    if op == "Linear" and attrs["in_features"] > 64:
        return LOOSE_TOL, "Linear with K > 64: float32 accumulation order differs"
    return DEFAULT_TOL, None


def add_case(name, case):
    if name in OP_CASES:
        raise ValueError("duplicate case " + name)
    OP_CASES[name] = case


def module_case(name, op, attrs, make_inputs, note=None, tol=None):
    """make_inputs() runs after the module's parameters are drawn; `tol` overrides (rtol, atol)."""
    seed_for(name)
    module = build_module(op, attrs)
    randomize_module(module)
    inputs = make_inputs()
    outputs = run_module(op, module, inputs)
    params = {k: Tensor(v) for k, v in module.state_dict().items() if k != "num_batches_tracked"}
    (rtol, atol), tol_note = _tol(op, attrs)
    if tol is not None:
        rtol, atol = tol
    case = {
        "op": op,
        "form": "module",
        "attrs": attrs,
        "params": params,
        "inputs": [Tensor(x) for x in inputs],
        "outputs": [Tensor(y) for y in outputs],
        "rtol": rtol,
        "atol": atol,
    }
    notes = [n for n in (note, tol_note) if n]
    if notes:
        case["note"] = "; ".join(notes)
    add_case(name, case)


def functional_case(name, op, attrs, make_inputs, note=None):
    seed_for(name)
    inputs = make_inputs()
    outputs = run_functional(op, attrs, inputs)
    case = {
        "op": op,
        "form": "functional",
        "attrs": attrs,
        "params": {},
        "inputs": [Tensor(x) for x in inputs],
        "outputs": [Tensor(y) for y in outputs],
        "rtol": DEFAULT_TOL[0],
        "atol": DEFAULT_TOL[1],
    }
    if note:
        case["note"] = note
    add_case(name, case)


def randn(*shape, scale=1.0, shift=0.0):
    return lambda: [torch.randn(shape) * scale + shift]


def linear_cases():
    def lin(i, o, b):
        return {"in_features": i, "out_features": o, "bias": b}

    module_case("linear_2d_bias", "Linear", lin(16, 8, True), randn(4, 16))
    module_case("linear_2d_no_bias", "Linear", lin(16, 8, False), randn(4, 16))
    module_case("linear_3d_input", "Linear", lin(16, 8, True), randn(2, 3, 16),
                note="input [batch, seq, in]: applies to the last dim")
    module_case("linear_1d_input", "Linear", lin(16, 8, True), randn(16),
                note="unbatched 1-D input [in] -> [out]")
    module_case("linear_k96", "Linear", lin(96, 8, True), randn(3, 96))


def conv_cases():
    def conv(i, o, k, s=1, p=0, d=1, g=1, b=True):
        pair = lambda v: list(v) if isinstance(v, (list, tuple)) else [v, v]
        return {"in_channels": i, "out_channels": o, "kernel_size": pair(k), "stride": pair(s),
                "padding": pair(p), "dilation": pair(d), "groups": g, "bias": b}

    module_case("conv2d_basic", "Conv2d", conv(3, 4, 3), randn(2, 3, 6, 6))
    module_case("conv2d_stride2", "Conv2d", conv(3, 4, 3, s=2), randn(1, 3, 7, 7))
    module_case("conv2d_padding1", "Conv2d", conv(3, 4, 3, p=1), randn(1, 3, 5, 5))
    module_case("conv2d_asym_kernel", "Conv2d", conv(3, 4, [3, 2], p=[1, 0]), randn(1, 3, 5, 6))
    module_case("conv2d_dilation2", "Conv2d", conv(2, 3, 3, d=2), randn(1, 2, 7, 7))
    module_case("conv2d_groups2", "Conv2d", conv(4, 6, 3, g=2), randn(1, 4, 5, 5))
    module_case("conv2d_depthwise", "Conv2d", conv(3, 3, 3, p=1, g=3), randn(1, 3, 5, 5))
    module_case("conv2d_depthwise_mult2", "Conv2d", conv(3, 6, 3, p=1, g=3), randn(1, 3, 5, 5),
                note="out = 2 * in: output channel c reads input channel c // 2")
    module_case("conv2d_no_bias", "Conv2d", conv(3, 4, 3, b=False), randn(1, 3, 5, 5))
    module_case("conv2d_1x1", "Conv2d", conv(4, 5, 1), randn(2, 4, 3, 3))
    module_case("conv2d_nonsquare_input", "Conv2d", conv(3, 4, 3), randn(1, 3, 5, 8))
    module_case("conv2d_mixed", "Conv2d", conv(4, 6, [3, 2], s=[2, 1], p=[1, 2], d=[1, 2], g=2),
                randn(2, 4, 6, 5),
                note="asymmetric stride, padding, dilation with groups 2")
    module_case("conv2d_batch2_stride2_pad1", "Conv2d", conv(2, 3, 3, s=2, p=1), randn(2, 2, 6, 5))


def lstm_cases():
    def lstm(i, h, n=1, b=True, bf=False):
        return {"input_size": i, "hidden_size": h, "num_layers": n, "bias": b, "batch_first": bf}

    def with_state(x_shape, state_shape):
        return lambda: [torch.randn(x_shape), torch.randn(state_shape) * 0.5,
                        torch.randn(state_shape) * 0.5]

    module_case("lstm_1layer", "LSTM", lstm(4, 5), randn(6, 2, 4))
    module_case("lstm_2layer", "LSTM", lstm(4, 5, n=2), randn(6, 2, 4))
    module_case("lstm_batch_first", "LSTM", lstm(4, 5, bf=True), randn(2, 6, 4),
                note="input/output [batch, seq, feature]; h_n/c_n stay [layers, batch, hidden]")
    module_case("lstm_no_bias", "LSTM", lstm(4, 5, b=False), randn(5, 2, 4))
    module_case("lstm_initial_state", "LSTM", lstm(4, 5), with_state([5, 2, 4], [1, 2, 5]))
    module_case("lstm_2layer_initial_state", "LSTM", lstm(4, 5, n=2),
                with_state([5, 3, 4], [2, 3, 5]))
    module_case("lstm_batch_first_2layer_state", "LSTM", lstm(3, 4, n=2, bf=True),
                with_state([2, 5, 3], [2, 2, 4]),
                note="batch_first does not apply to h0/c0/h_n/c_n: [layers, batch, hidden]")
    module_case("lstm_2layer_no_bias", "LSTM", lstm(4, 5, n=2, b=False), randn(5, 2, 4))
    module_case("lstm_unbatched", "LSTM", lstm(4, 5), randn(6, 4),
                note="unbatched [seq, feature]; h_n/c_n are [layers, hidden]")
    module_case("lstm_unbatched_2layer_state", "LSTM", lstm(4, 5, n=2),
                with_state([5, 4], [2, 5]),
                note="unbatched [seq, feature]; h0/c0/h_n/c_n are [layers, hidden]")


def pool_input(*shape):
    # Shifted down so most values are negative: a kernel that counts padding as 0
    # instead of -inf (max) or includes/excludes it wrongly (avg) shows.
    return randn(*shape, shift=-0.5)


def pool_cases():
    def maxp(k, s=None, p=0, d=1, ceil=False):
        pair = lambda v: list(v) if isinstance(v, (list, tuple)) else [v, v]
        return {"kernel_size": pair(k), "stride": pair(k if s is None else s), "padding": pair(p),
                "dilation": pair(d), "ceil_mode": ceil}

    def avgp(k, s=None, p=0, ceil=False, incl=True, div=None):
        pair = lambda v: list(v) if isinstance(v, (list, tuple)) else [v, v]
        a = {"kernel_size": pair(k), "stride": pair(k if s is None else s), "padding": pair(p),
             "ceil_mode": ceil, "count_include_pad": incl}
        if div is not None:
            a["divisor_override"] = div
        return a

    max_cases = [
        ("k2", maxp(2), [1, 2, 6, 6], None),
        ("k3_s2_p1", maxp(3, 2, 1), [1, 2, 7, 7], "padding acts as -inf"),
        ("ceil_odd", maxp(2, 2, 0, ceil=True), [1, 2, 7, 7],
         "ceil_mode: 7 -> 4, last window holds one element"),
        ("ceil_drop_last", maxp(2, 2, 1, ceil=True), [1, 2, 5, 5],
         "ceil_mode: ceil((5+2-2)/2)+1 = 4, but window 3 would start at 6-1 = 5 >= 5 "
         "(inside right padding) so it is dropped: output 3x3"),
        ("dilation2", maxp(3, 1, 0, d=2), [1, 2, 7, 7], None),
        ("dilation2_pad_ceil", maxp(2, 2, 1, d=2, ceil=True), [1, 2, 6, 7], None),
        ("nonsquare", maxp([3, 2], [2, 1], [1, 0]), [2, 2, 5, 6], None),
    ]
    for what, attrs, shape, note in max_cases:
        module_case("maxpool2d_" + what, "MaxPool2d", attrs, pool_input(*shape), note=note)
        functional_case("max_pool2d_fn_" + what, "max_pool2d", attrs, pool_input(*shape), note=note)

    avg_cases = [
        ("k2", avgp(2), [1, 2, 6, 6], None),
        ("k3_s2_p1_include_pad", avgp(3, 2, 1, incl=True), [1, 2, 7, 7],
         "edge windows divide by 9 (padding counted)"),
        ("k3_s2_p1_exclude_pad", avgp(3, 2, 1, incl=False), [1, 2, 7, 7],
         "edge windows divide by the number of real elements"),
        ("ceil_include_pad", avgp(3, 2, 1, ceil=True, incl=True), [1, 2, 6, 7],
         "ceil_mode: H 6 -> 4 whose last window [5, 8) is cut at H+pad = 7: divisor "
         "counts rows 5..6 (one real, one padding); W 7 -> 4, last window [5, 8) fits "
         "W+pad = 8: divisor counts 3 cols (two real, one padding)"),
        ("ceil_exclude_pad", avgp(3, 2, 1, ceil=True, incl=False), [1, 2, 6, 7],
         "ceil_mode with count_include_pad False: divisor = real elements only"),
        ("ceil_no_pad", avgp(2, 2, 0, ceil=True, incl=True), [1, 2, 7, 7],
         "ceil_mode without padding: last window [6, 8) is cut at 7, divisor 1 per dim"),
        ("divisor_override", avgp(3, 2, 1, div=5), [1, 2, 6, 6],
         "every window divides by 5"),
        ("nonsquare", avgp([2, 3], [1, 2], [1, 1], incl=False), [2, 2, 5, 6], None),
    ]
    for what, attrs, shape, note in avg_cases:
        module_case("avgpool2d_" + what, "AvgPool2d", attrs, pool_input(*shape), note=note)
        functional_case("avg_pool2d_fn_" + what, "avg_pool2d", attrs, pool_input(*shape),
                        note=note)

    adaptive_cases = [
        ("1x1", [1, 1], [1, 3, 5, 5], None),
        ("divides", [3, 4], [1, 2, 6, 8], None),
        ("5x7_to_3x2", [3, 2], [1, 2, 5, 7],
         "windows start = floor(i*in/out), end = ceil((i+1)*in/out); they overlap"),
        ("7x7_to_3x3", [3, 3], [2, 2, 7, 7], "windows [0,3) [2,5) [4,7)"),
        ("upsample_3x4_to_5x6", [5, 6], [1, 2, 3, 4], "output larger than input"),
    ]
    for what, size, shape, note in adaptive_cases:
        attrs = {"output_size": size}
        module_case("adaptiveavgpool2d_" + what, "AdaptiveAvgPool2d", attrs, pool_input(*shape),
                    note=note)
        functional_case("adaptive_avg_pool2d_fn_" + what, "adaptive_avg_pool2d", attrs,
                        pool_input(*shape), note=note)
        module_case("adaptivemaxpool2d_" + what, "AdaptiveMaxPool2d", attrs, pool_input(*shape),
                    note=note)
        functional_case("adaptive_max_pool2d_fn_" + what, "adaptive_max_pool2d", attrs,
                        pool_input(*shape), note=note)

    # 1-D pools (ints; structprune runs them as 2-D windows of height 1).
    pool1d_cases = [
        ("MaxPool1d", "max_pool1d", "k2", {"kernel_size": 2, "stride": 1}, [2, 3, 9]),
        ("MaxPool1d", "max_pool1d", "k3_s2_p1_d2_ceil",
         {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}, [1, 2, 10]),
        ("AvgPool1d", "avg_pool1d", "k3_s2_p1_include_pad",
         {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": True}, [2, 3, 8]),
        ("AvgPool1d", "avg_pool1d", "k3_s2_p1_exclude_pad_ceil",
         {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False,
          "ceil_mode": True}, [3, 8]),
    ]
    for module, fn, what, attrs, shape in pool1d_cases:
        module_case(module.lower() + "_" + what, module, attrs, pool_input(*shape))
        functional_case(fn + "_fn_" + what, fn, attrs, pool_input(*shape))

    # 3-D pools (reference kernel; the 2-D window rules along D, H and W).
    triple = lambda v: list(v) if isinstance(v, (list, tuple)) else [v, v, v]
    pool3d_cases = [
        ("MaxPool3d", "max_pool3d", "k2", {"kernel_size": [2, 2, 2]}, [1, 2, 4, 4, 5]),
        ("MaxPool3d", "max_pool3d", "k3_s2_p1_d_ceil",
         {"kernel_size": triple(3), "stride": [2, 2, 1], "padding": [1, 1, 0],
          "dilation": [1, 2, 1], "ceil_mode": True}, [2, 2, 5, 6, 4]),
        ("AvgPool3d", "avg_pool3d", "k3_s2_p1_include_pad_ceil",
         {"kernel_size": triple(3), "stride": triple(2), "padding": triple(1),
          "ceil_mode": True, "count_include_pad": True}, [1, 2, 6, 5, 6]),
        ("AvgPool3d", "avg_pool3d", "k2_s1_p1_exclude_pad",
         {"kernel_size": [2, 3, 2], "stride": [1, 1, 1], "padding": [1, 1, 1],
          "count_include_pad": False}, [2, 4, 3, 4]),
        ("AvgPool3d", "avg_pool3d", "divisor_override",
         {"kernel_size": triple(2), "stride": triple(2), "padding": triple(1),
          "divisor_override": 3}, [1, 1, 4, 4, 4]),
    ]
    for module, fn, what, attrs, shape in pool3d_cases:
        module_case(module.lower() + "_" + what, module, attrs, pool_input(*shape))
        functional_case(fn + "_fn_" + what, fn, attrs, pool_input(*shape))

    # return_indices: (output, indices), the indices within each (n, c) plane (int64; fixtures
    # hold them as floats).
    indices_cases = [
        ("MaxPool2d", "max_pool2d", "return_indices_k3_s2_p1",
         dict(maxp(3, 2, 1), return_indices=True), [2, 2, 5, 6]),
        ("MaxPool1d", "max_pool1d", "return_indices_k3_s2_p1_d2",
         {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "return_indices": True},
         [2, 3, 9]),
    ]
    for module, fn, what, attrs, shape in indices_cases:
        module_case(module.lower() + "_" + what, module, attrs, pool_input(*shape))
        functional_case(fn + "_fn_" + what, fn, attrs, pool_input(*shape))


def shape_and_norm_cases():
    module_case("flatten_default", "Flatten", {"start_dim": 1, "end_dim": -1}, randn(2, 3, 2, 2),
                note="nn.Flatten defaults: start_dim=1, end_dim=-1")
    module_case("flatten_start2", "Flatten", {"start_dim": 2, "end_dim": -1}, randn(2, 3, 2, 2))
    functional_case("flatten_fn_default", "flatten", {"start_dim": 0, "end_dim": -1},
                    randn(2, 3, 2, 2), note="torch.flatten defaults: start_dim=0 -> 1-D result")
    functional_case("flatten_fn_start1", "flatten", {"start_dim": 1, "end_dim": -1},
                    randn(2, 3, 2, 2))
    functional_case("flatten_fn_start1_end2", "flatten", {"start_dim": 1, "end_dim": 2},
                    randn(2, 3, 2, 2))

    def ln(shape, eps=1e-5, affine=True):
        return {"normalized_shape": shape, "eps": eps, "elementwise_affine": affine}

    module_case("layernorm_last_dim", "LayerNorm", ln([8]), randn(2, 3, 8, scale=2.0, shift=1.0))
    module_case("layernorm_last_two_dims", "LayerNorm", ln([4, 5]), randn(2, 4, 5, scale=1.5))
    module_case("layernorm_no_affine", "LayerNorm", ln([8], affine=False), randn(3, 8))
    module_case("layernorm_eps", "LayerNorm", ln([8], eps=1e-2), randn(2, 3, 8, scale=0.1),
                note="small-variance input so eps matters; biased variance (divide by N)")
    module_case("layernorm_large_mean", "LayerNorm", ln([16]), randn(2, 16, scale=0.5, shift=100.0),
                note="mean 100, std 0.5: a one-pass E[x^2]-E[x]^2 variance loses precision; "
                     "PyTorch's float result is itself ~1.2e-5 off the exact value, hence atol 2e-5",
                tol=(1e-5, 2e-5))

    bn = lambda c, eps=1e-5: {"num_features": c, "eps": eps}
    module_case("batchnorm2d_eval", "BatchNorm2d", bn(3), randn(2, 3, 4, 4),
                note="eval: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias")
    module_case("batchnorm2d_eps", "BatchNorm2d", bn(4, 0.1), randn(1, 4, 3, 3))

    module_case("dropout_eval", "Dropout", {"p": 0.5}, randn(2, 3, 4),
                note="eval mode: identity")
    module_case("identity", "Identity", {}, randn(2, 3, 4))

    functional_case("add_fn_same_shape", "add", {}, lambda: [torch.randn(2, 3, 4),
                                                            torch.randn(2, 3, 4)])
    functional_case("add_fn_broadcast_nchw", "add", {}, lambda: [torch.randn(2, 3, 4, 4),
                                                                torch.randn(1, 3, 1, 1)])
    functional_case("add_fn_broadcast_rank", "add", {}, lambda: [torch.randn(2, 3, 4),
                                                                torch.randn(4)],
                    note="lower-rank operand aligns to the trailing dims")
    functional_case("add_fn_broadcast_both", "add", {}, lambda: [torch.randn(2, 1, 4),
                                                                torch.randn(3, 1)],
                    note="both operands broadcast: [2,1,4] + [3,1] -> [2,3,4]")
    functional_case("cat_fn_dim1", "cat", {"dim": 1}, lambda: [torch.randn(1, 2, 3, 3),
                                                              torch.randn(1, 3, 3, 3)])
    functional_case("cat_fn_dim0", "cat", {"dim": 0}, lambda: [torch.randn(2, 3, 2),
                                                              torch.randn(1, 3, 2)])
    functional_case("cat_fn_dim_neg1", "cat", {"dim": -1}, lambda: [torch.randn(2, 2, 3),
                                                                   torch.randn(2, 2, 1),
                                                                   torch.randn(2, 2, 2)],
                    note="three operands, negative dim")

    functional_case("matmul_fn_2d", "matmul", {}, lambda: [torch.randn(3, 4), torch.randn(4, 5)])
    functional_case("matmul_fn_batched", "matmul", {}, lambda: [torch.randn(2, 3, 4),
                                                               torch.randn(2, 4, 5)])
    functional_case("matmul_fn_broadcast", "matmul", {}, lambda: [torch.randn(2, 1, 3, 4),
                                                                 torch.randn(3, 4, 2)],
                    note="batch dims broadcast: [2, 1] and [3] -> [2, 3]")
    functional_case("matmul_fn_shared_other", "matmul", {}, lambda: [torch.randn(2, 3, 4),
                                                                     torch.randn(4, 5)],
                    note="one matrix for every batch")
    functional_case("matmul_fn_vector_matrix", "matmul", {}, lambda: [torch.randn(4),
                                                                     torch.randn(2, 4, 3)],
                    note="a 1-D input is a row; the output drops it")
    functional_case("matmul_fn_matrix_vector", "matmul", {}, lambda: [torch.randn(2, 3, 4),
                                                                     torch.randn(4)])
    functional_case("matmul_fn_dot", "matmul", {}, lambda: [torch.randn(5), torch.randn(5)],
                    note="1-D x 1-D: a 0-D dot product")
    functional_case("reshape_fn_infer", "reshape", {"shape": [4, -1, 3]}, randn(2, 3, 4),
                    note="-1 takes the remaining elements")
    functional_case("reshape_fn_new_dims", "reshape", {"shape": [1, 2, 3, 1, 4]}, randn(2, 3, 4))
    functional_case("transpose_fn_2d", "transpose", {"dim0": 0, "dim1": 1}, randn(3, 5))
    functional_case("transpose_fn_inner", "transpose", {"dim0": 1, "dim1": -1}, randn(2, 3, 4, 5),
                    note="dims 1 and 3 of [2, 3, 4, 5] swap around dim 2")
    functional_case("transpose_fn_outer", "transpose", {"dim0": 2, "dim1": 0}, randn(2, 3, 4))


def activation_cases():
    mod_shape, fn_shape = [2, 3, 4, 4], [4, 16]

    def act_inputs(shape, prelu_params=None):
        def make():
            xs = [activation_input(shape)]
            if prelu_params is not None:
                xs.append(uniform([prelu_params], -0.5, 0.8))
            return xs
        return make

    def both(module_name, fn_name, what, attrs, note=None):
        low = module_name.lower()
        module_case("%s_%s" % (low, what), module_name, dict(attrs), act_inputs(mod_shape),
                    note=note)
        functional_case("%s_fn_%s" % (fn_name, what), fn_name, dict(attrs), act_inputs(fn_shape),
                        note=note)

    for module_name, fn_name, attrs in ACTIVATIONS:
        if module_name == "PReLU":
            continue
        note = None
        if module_name == "RReLU":
            note = "eval/training=False: fixed negative slope (lower + upper) / 2"
        if module_name == "Softplus":
            note = "beta*x > threshold returns x itself (linear branch)"
        both(module_name, fn_name, "default", attrs, note)

    both("LeakyReLU", "leaky_relu", "slope_0_2", {"negative_slope": 0.2})
    both("ELU", "elu", "alpha_0_5", {"alpha": 0.5})
    both("CELU", "celu", "alpha_2", {"alpha": 2.0},
         note="CELU: max(0,x) + min(0, alpha*(exp(x/alpha)-1))")
    both("Hardtanh", "hardtanh", "m2_3", {"min_val": -2.0, "max_val": 3.0})
    both("Softplus", "softplus", "beta2_threshold5", {"beta": 2.0, "threshold": 5.0},
         note="beta*x > threshold (x > 2.5) returns x; else log1p(exp(beta*x))/beta")
    both("Hardshrink", "hardshrink", "lambd_1", {"lambd": 1.0})
    both("RReLU", "rrelu", "lower_0_1_upper_0_3", {"lower": 0.1, "upper": 0.3},
         note="eval slope (0.1 + 0.3) / 2 = 0.2")
    both("GELU", "gelu", "tanh", {"approximate": "tanh"})

    # PReLU: module weight is a param, functional weight is the second input.
    prelu_note = "weight [num_parameters] applies along dim 1 (channels)"
    module_case("prelu_default", "PReLU", {"num_parameters": 1}, act_inputs(mod_shape),
                note="one shared slope")
    module_case("prelu_per_channel_nchw", "PReLU", {"num_parameters": 3}, act_inputs(mod_shape),
                note=prelu_note)
    module_case("prelu_per_channel_2d", "PReLU", {"num_parameters": 16}, act_inputs(fn_shape),
                note=prelu_note)
    functional_case("prelu_fn_default", "prelu", {}, act_inputs(fn_shape, 1),
                    note="inputs [x, weight[1]]")
    functional_case("prelu_fn_per_channel_nchw", "prelu", {}, act_inputs(mod_shape, 3),
                    note="inputs [x, weight[C]]; " + prelu_note)
    functional_case("prelu_fn_per_channel_2d", "prelu", {}, act_inputs(fn_shape, 16),
                    note="inputs [x, weight[C]]; " + prelu_note)
    for name, w_shape in (("prelu_fn_broadcast_last", [1, 1, 6]),
                          ("prelu_fn_broadcast_full", [2, 3, 6])):
        functional_case(name, "prelu", {},
                        lambda w_shape=w_shape: [activation_input([2, 3, 6]),
                                                 uniform(w_shape, -0.5, 0.8)],
                        note="inputs [x, weight]: a weight of 2+ dims broadcasts element-wise")


# ---------------------------------------------------------------------------------
# Seed networks (architectures in the module docstring)
# ---------------------------------------------------------------------------------


def conv3(i, o, bias, padding=0):
    return nn.Conv2d(i, o, kernel_size=3, stride=1, padding=padding, bias=bias)


class SimpleLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(
            nn.Linear(7, 5, bias=False), nn.Linear(5, 6, bias=False), nn.Linear(6, 4, bias=False)
        )
        self.linear1 = nn.Linear(4, 4, bias=False)
        self.linear2 = nn.Linear(4, 10, bias=False)

    def forward(self, x):
        return self.linear2(self.linear1(self.seq(x)))


class LinearBias(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(
            nn.Linear(7, 5, bias=True), nn.Linear(5, 6, bias=False), nn.Linear(6, 3, bias=True),
            nn.Linear(3, 3, bias=True), nn.Linear(3, 10, bias=False),
        )

    def forward(self, x):
        return self.seq(x)


class LinearActivation(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(
            nn.Linear(7, 5, bias=True), nn.ReLU(), nn.Linear(5, 6, bias=False), nn.Tanh(),
            nn.Linear(6, 4, bias=True),
        )
        self.linear1 = nn.Linear(4, 3, bias=True)
        self.act1 = nn.ReLU()
        self.linear2 = nn.Linear(3, 10, bias=False)
        self.act2 = nn.Tanh()

    def forward(self, x):
        return self.act2(self.linear2(self.act1(self.linear1(self.seq(x)))))


class LinearActivationFunctional(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(
            nn.Linear(7, 5, bias=True), nn.ReLU(), nn.Linear(5, 6, bias=False), nn.ReLU(),
            nn.Linear(6, 4, bias=True),
        )
        self.linear1 = nn.Linear(4, 3, bias=True)
        self.linear2 = nn.Linear(3, 8, bias=False)
        self.linear3 = nn.Linear(8, 10, bias=False)
        self.act1 = nn.ReLU()  # unused in forward, as upstream

    def forward(self, x):
        x = F.relu(self.linear1(self.seq(x)))
        x = F.relu(self.linear2(x))
        return F.relu(self.linear3(x))


class SimpleConv2d(nn.Module):
    def __init__(self, width_divisor=1):
        super().__init__()
        w = lambda c: c // width_divisor
        self.seq = nn.Sequential(conv3(1, w(32), False), conv3(w(32), w(64), False))
        self.conv2d1 = conv3(w(64), w(48), False)
        self.conv2d2 = conv3(w(48), w(52), False)

    def forward(self, x):
        return self.conv2d2(self.conv2d1(self.seq(x)))


class Conv2dBias(nn.Module):
    def __init__(self, width_divisor=1):
        super().__init__()
        w = lambda c: c // width_divisor
        self.seq = nn.Sequential(
            conv3(1, w(32), True), conv3(w(32), w(32), True), conv3(w(32), w(64), False)
        )
        self.conv2d1 = conv3(w(64), w(48), True)
        self.conv2d2 = conv3(w(48), w(52), False)

    def forward(self, x):
        return self.conv2d2(self.conv2d1(self.seq(x)))


class Conv2dActivation(nn.Module):
    def __init__(self, width_divisor=1):
        super().__init__()
        w = lambda c: c // width_divisor
        self.seq = nn.Sequential(
            conv3(1, w(32), True), nn.ReLU(), conv3(w(32), w(64), True), nn.Tanh(),
            conv3(w(64), w(64), False), nn.ReLU(),
        )
        self.conv2d1 = conv3(w(64), w(48), False)
        self.conv2d2 = conv3(w(48), w(52), True)

    def forward(self, x):
        x = F.relu(self.conv2d1(self.seq(x)))
        return F.hardtanh(self.conv2d2(x))


class Conv2dPadBias(nn.Module):
    def __init__(self, width_divisor=1):
        super().__init__()
        w = lambda c: c // width_divisor
        self.seq = nn.Sequential(
            conv3(1, w(32), True, padding=1), nn.ReLU(),
            conv3(w(32), w(32), False), nn.ReLU(),
            conv3(w(32), w(32), True, padding=1), nn.ReLU(),
            conv3(w(32), w(32), True, padding=1), nn.ReLU(),
            conv3(w(32), w(64), True), nn.Tanh(),
        )
        self.conv2d1 = conv3(w(64), w(48), True, padding=1)
        self.act1 = nn.ReLU()
        self.conv2d2 = conv3(w(48), w(52), True, padding=1)
        self.act2 = nn.Tanh()

    def forward(self, x):
        return self.act2(self.conv2d2(self.act1(self.conv2d1(self.seq(x)))))


class Conv2dPool(nn.Module):
    def __init__(self, width_divisor=1):
        super().__init__()
        w = lambda c: c // width_divisor
        self.seq = nn.Sequential(
            conv3(1, w(32), True, padding=1),
            nn.MaxPool2d(kernel_size=2, stride=2, padding=1),
            nn.ReLU(),
            conv3(w(32), w(64), True, padding=1),
            nn.Tanh(),
            nn.AvgPool2d(kernel_size=2, stride=2, padding=1),
        )
        self.conv2d1 = conv3(w(64), w(48), True, padding=1)
        self.maxpool = nn.MaxPool2d(kernel_size=2, stride=2, padding=1)
        self.af1 = nn.ReLU()
        self.conv2d2 = conv3(w(48), w(52), True, padding=1)
        self.conv2d3 = conv3(w(52), w(52), True, padding=1)

    def forward(self, x):
        x = self.af1(self.maxpool(self.conv2d1(self.seq(x))))
        x = F.avg_pool2d(self.conv2d2(x), kernel_size=2, stride=2, padding=1)
        return self.conv2d3(F.relu(x))


def _pool_flatten_trunk():
    return nn.Sequential(
        conv3(1, 3, True, padding=1),
        nn.MaxPool2d(kernel_size=2, stride=2, padding=1),
        nn.ReLU(),
        conv3(3, 5, True, padding=1),
        nn.Tanh(),
        nn.AvgPool2d(kernel_size=2, stride=2, padding=1),
    )


class Conv2dPoolFlattenFunctional(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = _pool_flatten_trunk()
        self.conv2d1 = conv3(5, 7, True, padding=1)
        self.af1 = nn.ReLU()
        self.conv2d2 = conv3(7, 11, True, padding=1)
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(11, 13, bias=True)

    def forward(self, x):
        x = F.max_pool2d(self.conv2d1(self.seq(x)), kernel_size=2, stride=2, padding=1)
        x = self.avg_pool(self.conv2d2(self.af1(x)))
        return self.fc(torch.flatten(x, 1))


class Conv2dPoolFlatten(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = _pool_flatten_trunk()
        self.conv2d1 = conv3(5, 7, True, padding=1)
        self.af1 = nn.ReLU()
        self.conv2d2 = conv3(7, 11, True, padding=1)
        self.avg_pool = nn.AdaptiveAvgPool2d((2, 2))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(44, 13, bias=True)

    def forward(self, x):
        x = F.max_pool2d(self.conv2d1(self.seq(x)), kernel_size=2, stride=2, padding=1)
        x = self.avg_pool(self.conv2d2(self.af1(x)))
        return self.fc(self.flatten(x))


class LSTMLinearModel(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim, num_layers):
        super().__init__()
        self.lstm = nn.LSTM(input_dim, hidden_dim, num_layers)
        self.linear = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        output, _ = self.lstm(x)
        return self.linear(output), output


class LSTMLayerNormLinearModel(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim, num_layers):
        super().__init__()
        self.lstm = nn.LSTM(input_dim, hidden_dim, num_layers)
        self.norm = nn.LayerNorm(hidden_dim)
        self.linear = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        x, state = self.lstm(x)
        return self.linear(self.norm(x)), state


MODEL_CLASSES = {
    c.__name__: c
    for c in [
        SimpleLinear, LinearBias, LinearActivation, LinearActivationFunctional, SimpleConv2d,
        Conv2dBias, Conv2dActivation, Conv2dPadBias, Conv2dPool, Conv2dPoolFlattenFunctional,
        Conv2dPoolFlatten, LSTMLinearModel, LSTMLayerNormLinearModel,
    ]
}

FORWARD = {
    "SimpleLinear": "seq.0 -> seq.1 -> seq.2 -> linear1 -> linear2",
    "LinearBias": "seq.0 -> seq.1 -> seq.2 -> seq.3 -> seq.4",
    "LinearActivation": "seq.0..seq.4 -> linear1 -> act1 -> linear2 -> act2",
    "LinearActivationFunctional": "seq.0..seq.4 -> linear1 -> F.relu -> linear2 -> F.relu -> "
    "linear3 -> F.relu (act1 unused)",
    "SimpleConv2d": "seq.0 -> seq.1 -> conv2d1 -> conv2d2",
    "Conv2dBias": "seq.0..seq.2 -> conv2d1 -> conv2d2",
    "Conv2dActivation": "seq.0..seq.5 -> conv2d1 -> F.relu -> conv2d2 -> F.hardtanh(-1, 1)",
    "Conv2dPadBias": "seq.0..seq.9 -> conv2d1 -> act1 -> conv2d2 -> act2",
    "Conv2dPool": "seq.0..seq.5 -> conv2d1 -> maxpool -> af1 -> conv2d2 -> "
    "F.avg_pool2d(k=2, s=2, p=1) -> F.relu -> conv2d3",
    "Conv2dPoolFlattenFunctional": "seq.0..seq.5 -> conv2d1 -> F.max_pool2d(k=2, s=2, p=1) -> "
    "af1 -> conv2d2 -> avg_pool -> torch.flatten(x, 1) -> fc",
    "Conv2dPoolFlatten": "seq.0..seq.5 -> conv2d1 -> F.max_pool2d(k=2, s=2, p=1) -> af1 -> "
    "conv2d2 -> avg_pool -> flatten -> fc",
    "LSTMLinearModel": "output, _ = lstm(x); return (linear(output), output)",
    "LSTMLayerNormLinearModel": "x, (h_n, c_n) = lstm(x); return (linear(norm(x)), (h_n, c_n))",
}


def describe_module(m):
    if isinstance(m, nn.Linear):
        return "Linear(%d->%d, bias=%s)" % (m.in_features, m.out_features, m.bias is not None)
    if isinstance(m, nn.Conv2d):
        return "Conv2d(%d->%d, k=%d, s=%d, p=%d, bias=%s)" % (
            m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0],
            m.bias is not None)
    if isinstance(m, nn.LSTM):
        return "LSTM(%d->%d, layers=%d)" % (m.input_size, m.hidden_size, m.num_layers)
    if isinstance(m, nn.LayerNorm):
        return "LayerNorm(%s)" % list(m.normalized_shape)
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        return "%s(k=%s, s=%s, p=%s)" % (type(m).__name__, m.kernel_size, m.stride, m.padding)
    if isinstance(m, (nn.AdaptiveAvgPool2d,)):
        return "AdaptiveAvgPool2d(%s)" % (tuple(m.output_size),)
    return type(m).__name__ + "()"


def architecture_string(name, model, x, outputs):
    mods = ", ".join(
        "%s=%s" % (fqn, describe_module(m))
        for fqn, m in model.named_modules()
        if fqn and not isinstance(m, nn.Sequential)
    )
    shapes = ", ".join(str(list(o.shape)) for o in outputs)
    return "%s: %s; forward: x%s -> %s -> outputs %s" % (
        name, mods, list(x.shape), FORWARD[name], shapes)


MODEL_CASES = {}


def model_case(file_name, class_name, args, input_shape, note=None):
    seed_for(file_name)
    model = MODEL_CLASSES[class_name](**args).eval()
    randomize_module(model, gain=math.sqrt(2.0))
    x = torch.randn(input_shape)
    with torch.no_grad():
        outputs = flatten_outputs(model(x))
    case = {
        "model": class_name,
        "args": args,
        "params": {k: Tensor(v) for k, v in model.state_dict().items()
                   if k != "num_batches_tracked"},
        "inputs": [Tensor(x)],
        "outputs": [Tensor(y) for y in outputs],
        "rtol": LOOSE_TOL[0],
        "atol": LOOSE_TOL[1],
        "architecture": architecture_string(class_name, model, x, outputs),
        "note": "whole model: float32 error accumulates across layers"
        + ("; " + note if note else ""),
    }
    MODEL_CASES[file_name] = case


def model_cases():
    for name in ["SimpleLinear", "LinearBias", "LinearActivation", "LinearActivationFunctional"]:
        model_case(name, name, {}, [4, 7])
    div = WIDE_CONV_WIDTH_DIVISOR
    wide_note = None
    if div != 1:
        wide_note = "channel widths divided by %d from upstream's (32/64/48/52)" % div
    wide = {
        "SimpleConv2d": [1, 1, 12, 11],
        "Conv2dBias": [1, 1, 14, 13],
        "Conv2dActivation": [1, 1, 14, 12],
        "Conv2dPadBias": [1, 1, 8, 9],
        "Conv2dPool": [1, 1, 11, 12],
    }
    for name, shape in wide.items():
        model_case(name, name, {"width_divisor": div}, shape, note=wide_note)
    model_case("Conv2dPoolFlattenFunctional", "Conv2dPoolFlattenFunctional", {}, [2, 1, 28, 28])
    model_case("Conv2dPoolFlatten", "Conv2dPoolFlatten", {}, [2, 1, 28, 28])
    for layers in (1, 2):
        args = {"input_dim": 8, "hidden_dim": 8, "output_dim": 4, "num_layers": layers}
        model_case("LSTMLinearModel_%dlayer" % layers, "LSTMLinearModel", args, [5, 2, 8])
        model_case("LSTMLayerNormLinearModel_%dlayer" % layers, "LSTMLayerNormLinearModel", args,
                   [5, 2, 8])


# ---------------------------------------------------------------------------------
# Writing and self-check
# ---------------------------------------------------------------------------------


def write_all():
    total = 0
    for directory, cases in ((OPS_DIR, OP_CASES), (MODELS_DIR, MODEL_CASES)):
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.json"):
            if stale.stem not in cases:
                stale.unlink()
        for name, case in sorted(cases.items()):
            total += write_json(directory / (name + ".json"), case)
    return total


def _same(expected, got, where):
    if list(expected.shape) != list(got.shape):
        raise AssertionError("%s: shape %s != %s" % (where, list(got.shape), list(expected.shape)))
    if not torch.equal(expected, got):
        diff = (expected - got).abs().max().item()
        raise AssertionError("%s: recomputed output differs by %g" % (where, diff))


def check_tensor_roundtrip(tensor_json, original, where):
    t = from_json_tensor(tensor_json)
    if not np.array_equal(t.reshape(-1).numpy().view(np.uint32), original.data.view(np.uint32)):
        raise AssertionError(where + ": float32 values do not round-trip")
    return t


def self_check():
    op_keys = ["op", "form", "attrs", "params", "inputs", "outputs", "rtol", "atol"]
    for name, case in OP_CASES.items():
        path = OPS_DIR / (name + ".json")
        f = json.loads(path.read_text(encoding="utf-8"))
        if list(f)[: len(op_keys)] != op_keys:
            raise AssertionError("%s: keys %s" % (path, list(f)))
        inputs = [check_tensor_roundtrip(t, o, "%s input" % name)
                  for t, o in zip(f["inputs"], case["inputs"])]
        if f["form"] == "module":
            module = build_module(f["op"], f["attrs"])
            params = {k: from_json_tensor(v) for k, v in f["params"].items()}
            missing, unexpected = module.load_state_dict(params, strict=False)
            if unexpected or set(missing) - {"num_batches_tracked"}:
                raise AssertionError("%s: params mismatch %s %s" % (name, missing, unexpected))
            outputs = run_module(f["op"], module, inputs)
        else:
            if f["params"]:
                raise AssertionError(name + ": functional with params")
            outputs = run_functional(f["op"], f["attrs"], inputs)
        if len(outputs) != len(f["outputs"]):
            raise AssertionError(name + ": output count")
        for i, (got, want) in enumerate(zip(outputs, f["outputs"])):
            _same(from_json_tensor(want), got, "%s output %d" % (name, i))
    for name, case in MODEL_CASES.items():
        f = json.loads((MODELS_DIR / (name + ".json")).read_text(encoding="utf-8"))
        model = MODEL_CLASSES[f["model"]](**f["args"]).eval()
        model.load_state_dict({k: from_json_tensor(v) for k, v in f["params"].items()}, strict=True)
        x = check_tensor_roundtrip(f["inputs"][0], case["inputs"][0], name + " input")
        with torch.no_grad():
            outputs = flatten_outputs(model(x))
        if len(outputs) != len(f["outputs"]):
            raise AssertionError(name + ": output count")
        for i, (got, want) in enumerate(zip(outputs, f["outputs"])):
            _same(from_json_tensor(want), got, "%s output %d" % (name, i))


def check_coverage():
    modules = {c["op"] for c in OP_CASES.values() if c["form"] == "module"}
    functionals = {c["op"] for c in OP_CASES.values() if c["form"] == "functional"}
    missing = (MODULE_OPS - modules) | (set(FUNCTIONALS) - functionals)
    if missing:
        raise AssertionError("ops without a case: %s" % sorted(missing))
    if set(MODEL_CLASSES) - {c["model"] for c in MODEL_CASES.values()}:
        raise AssertionError("models without a case")


def main():
    torch.set_num_threads(1)
    linear_cases()
    conv_cases()
    lstm_cases()
    pool_cases()
    shape_and_norm_cases()
    activation_cases()
    model_cases()
    check_coverage()
    total = write_all()
    self_check()
    print("wrote %d op fixtures and %d model fixtures, %.1f KiB; self-check passed"
          % (len(OP_CASES), len(MODEL_CASES), total / 1024.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
