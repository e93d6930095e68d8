"""Times ONNX models in PyTorch eager mode on the CPU, for scripts/compare.sh.

    /usr/bin/python3 torch_runner.py --threads N [--seconds S] [--min-iters K] FILE.onnx...

PyTorch cannot load ONNX, so each graph is turned into torch calls once: initializers become
tensors, attributes are read up front, and every node becomes one torch.nn.functional call
(an ONNX LSTM becomes an nn.LSTM holding its weights in PyTorch's gate order). A forward
pass then runs these calls in order under torch.no_grad() with torch.set_num_threads(N):
what PyTorch eager does for the same layers. A chain of Gemm and Relu (the MLP) is also run
as nn.Sequential converted with torch.utils.mkldnn.to_mkldnn, PyTorch's fastest CPU path for
Linear layers; the better of the two is reported.

Prints one JSON line per file: {"file", "median_ms", "path" ("eager" or "mkldnn"),
"eager_ms", "mkldnn_ms" (null when not applicable), "iters", "blas" (the BLAS library loaded)}.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
import torch.utils.mkldnn
from onnx import numpy_helper

# ONNX LSTM gate blocks are i, o, f, c; PyTorch's are i, f, g (= c), o.
_LSTM_GATES_TO_TORCH = [0, 2, 3, 1]


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pairs(pads):
    """ONNX 2-D pads [top, left, bottom, right] -> (symmetric (h, w), or F.pad's tuple)."""
    top, left, bottom, right = pads
    if (top, left) == (bottom, right):
        return (top, left), None
    return (0, 0), (left, right, top, bottom)


def _lstm_module(node, consts):
    """An nn.LSTM holding the ONNX LSTM's weights (W [D, 4H, I], R [D, 4H, H], B [D, 8H])."""
    a = _attrs(node)
    if a.get("layout", 0) != 0:
        raise NotImplementedError("LSTM layout=1")
    w, r = consts[node.input[1]], consts[node.input[2]]
    directions, hidden = w.shape[0], a["hidden_size"]
    has_bias = len(node.input) > 3 and node.input[3] != ""
    lstm = torch.nn.LSTM(w.shape[2], hidden, bias=has_bias, bidirectional=directions == 2)

    def gates(t):
        return t.reshape(4, hidden, *t.shape[1:])[_LSTM_GATES_TO_TORCH].reshape(t.shape)

    with torch.no_grad():
        for d in range(directions):
            suffix = "_l0" + ("_reverse" if d == 1 else "")
            getattr(lstm, "weight_ih" + suffix).copy_(gates(w[d]))
            getattr(lstm, "weight_hh" + suffix).copy_(gates(r[d]))
            if has_bias:
                b = consts[node.input[3]][d]
                getattr(lstm, "bias_ih" + suffix).copy_(gates(b[:4 * hidden]))
                getattr(lstm, "bias_hh" + suffix).copy_(gates(b[4 * hidden:]))
    return lstm.eval(), directions, hidden


def _initializers(graph):
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}


def _compile_node(node, consts):
    """fn(*inputs) -> output or tuple of outputs, for one ONNX node."""
    op, a = node.op_type, _attrs(node)
    const = lambda i: consts[node.input[i]] if len(node.input) > i and node.input[i] else None
    if op == "Conv":
        padding, pad = _pairs(a.get("pads", [0, 0, 0, 0]))
        stride, dilation = a.get("strides", [1, 1]), a.get("dilations", [1, 1])
        groups = a.get("group", 1)
        if pad is None:
            return lambda x, w, b=None: F.conv2d(x, w, b, stride, padding, dilation, groups)
        return lambda x, w, b=None: F.conv2d(F.pad(x, pad), w, b, stride, 0, dilation, groups)
    if op == "Gemm":
        alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
        b = const(1)
        if b is not None and not a.get("transA", 0) and alpha == 1.0 and beta == 1.0:
            weight = (b if a.get("transB", 0) else b.t()).contiguous()  # [out, in]
            return lambda x, _w, c=None: F.linear(x, weight, c)
        def gemm(x, w, c=None):
            x = x.t() if a.get("transA", 0) else x
            w = w.t() if a.get("transB", 0) else w
            if c is None:
                return alpha * (x @ w)
            return torch.addmm(c, x, w, beta=beta, alpha=alpha)
        return gemm
    if op in ("MaxPool", "AveragePool"):
        k, stride = a["kernel_shape"], a.get("strides", [1, 1])
        padding, pad = _pairs(a.get("pads", [0, 0, 0, 0]))
        ceil = bool(a.get("ceil_mode", 0))
        if op == "MaxPool":
            pre = (lambda x: F.pad(x, pad, value=float("-inf"))) if pad else (lambda x: x)
            dilation = a.get("dilations", [1, 1])
            return lambda x: F.max_pool2d(pre(x), k, stride, padding, dilation, ceil)
        if pad:
            raise NotImplementedError("AveragePool with asymmetric pads")
        count_pad = bool(a.get("count_include_pad", 0))
        return lambda x: F.avg_pool2d(x, k, stride, padding, ceil, count_pad)
    if op == "LSTM":
        lstm, directions, hidden = _lstm_module(node, consts)

        def run_lstm(x, _w, _r, _b=None, _lens=None, h0=None, c0=None, *_):
            if h0 is None:
                h0 = x.new_zeros(directions, x.shape[1], hidden)
            if c0 is None:
                c0 = x.new_zeros(directions, x.shape[1], hidden)
            y, (h, c) = lstm(x, (h0, c0))
            # [T, B, D * H] -> ONNX's Y [T, D, B, H]
            return y.view(y.shape[0], y.shape[1], directions, hidden).transpose(1, 2), h, c
        return run_lstm
    simple = {
        "Relu": torch.relu,
        "Sigmoid": torch.sigmoid,
        "Tanh": torch.tanh,
        "Identity": lambda x: x,
        "Add": torch.add,
        "Sub": torch.sub,
        "Mul": torch.mul,
        "Div": torch.div,
        "MatMul": torch.matmul,
        "GlobalAveragePool": lambda x: F.adaptive_avg_pool2d(x, 1),
        "GlobalMaxPool": lambda x: F.adaptive_max_pool2d(x, 1),
        "Shape": lambda x: torch.tensor(x.shape, dtype=torch.int64),
    }
    if op in simple:
        return simple[op]
    if op == "Clip":
        lo, hi = const(1), const(2)
        lo = float(lo) if lo is not None else None
        hi = float(hi) if hi is not None else None
        return lambda x, *_: torch.clamp(x, lo, hi)
    if op == "Flatten":
        axis = a.get("axis", 1)
        return lambda x: x.reshape(int(np.prod(x.shape[:axis])), -1)
    if op == "Reshape":
        def reshape(x, shape):
            dims = [x.shape[i] if d == 0 else int(d) for i, d in enumerate(shape.tolist())]
            return x.reshape(dims)
        return reshape
    if op == "Transpose":
        perm = a.get("perm")
        return lambda x: x.permute(perm or list(reversed(range(x.dim()))))
    if op == "Softmax":
        return lambda x: torch.softmax(x, a.get("axis", -1))
    if op == "Concat":
        return lambda *xs: torch.cat(xs, a["axis"])
    if op == "Unsqueeze":
        def unsqueeze(x, axes):
            for axis in sorted(int(v) % (x.dim() + len(axes)) for v in axes.tolist()):
                x = x.unsqueeze(axis)
            return x
        return unsqueeze
    if op == "Squeeze":
        def squeeze(x, axes=None):
            if axes is None:
                return x.squeeze()
            for axis in sorted((int(v) % x.dim() for v in axes.tolist()), reverse=True):
                x = x.squeeze(axis)
            return x
        return squeeze
    if op == "Gather":
        axis = a.get("axis", 0)
        def gather(x, idx):
            picked = torch.index_select(x, axis, idx.reshape(-1) % x.shape[axis])
            shape = tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:])
            return picked.reshape(shape)
        return gather
    if op == "Expand":
        return lambda x, shape: x.expand(torch.broadcast_shapes(x.shape, tuple(shape.tolist())))
    if op == "BatchNormalization":
        eps = a.get("epsilon", 1e-5)
        return lambda x, scale, bias, mean, var: F.batch_norm(x, mean, var, scale, bias,
                                                              False, 0.0, eps)
    raise NotImplementedError(f"ONNX op {op} (node '{node.name}')")


class OnnxGraph:
    """An ONNX graph as a list of torch calls over a name -> tensor environment."""

    def __init__(self, model):
        graph = model.graph
        self.consts = _initializers(graph)
        self.steps = []
        for node in graph.node:
            if node.op_type == "Constant":
                self.consts[node.output[0]] = torch.from_numpy(
                    numpy_helper.to_array(node.attribute[0].t).copy())
                continue
            fn = _compile_node(node, self.consts)
            if node.op_type != "LSTM" and all(n in self.consts for n in node.input if n):
                # Constant folding (e.g. an exported LSTM's bias, a Concat of constants).
                folded = fn(*(self.consts.get(n) for n in node.input))
                self._store(self.consts, list(node.output), folded)
                continue
            self.steps.append((fn, list(node.input), list(node.output)))
        self.inputs = [i.name for i in graph.input if i.name not in self.consts]
        self.outputs = [o.name for o in graph.output]

    def __call__(self, *xs):
        env = dict(self.consts)
        env.update(zip(self.inputs, xs))
        for fn, ins, outs in self.steps:
            self._store(env, outs, fn(*(env[n] if n else None for n in ins)))
        return [env[n] for n in self.outputs]

    @staticmethod
    def _store(env, outs, result):
        if isinstance(result, tuple):
            env.update((n, r) for n, r in zip(outs, result) if n)
        else:
            env[outs[0]] = result


def mkldnn_mlp(model):
    """nn.Sequential of Linear/ReLU converted by to_mkldnn, for a plain Gemm/Relu chain; or None."""
    graph = model.graph
    consts = _initializers(graph)
    layers = []
    for node in graph.node:
        a = _attrs(node)
        if node.op_type == "Relu":
            layers.append(torch.nn.ReLU())
        elif (node.op_type == "Gemm" and a.get("transB", 0) == 1 and not a.get("transA", 0)
              and a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0
              and all(n in consts for n in node.input[1:])):
            w = consts[node.input[1]]
            linear = torch.nn.Linear(w.shape[1], w.shape[0], bias=len(node.input) > 2)
            with torch.no_grad():
                linear.weight.copy_(w)
                if len(node.input) > 2:
                    linear.bias.copy_(consts[node.input[2]])
            layers.append(linear)
        else:
            return None
    seq = torch.utils.mkldnn.to_mkldnn(torch.nn.Sequential(*layers).eval())
    return lambda x: [seq(x.to_mkldnn()).to_dense()]


def input_tensors(model, gen):
    shapes = []
    inits = {t.name for t in model.graph.initializer}
    for i in model.graph.input:
        if i.name not in inits:
            shapes.append([d.dim_value or 1 for d in i.type.tensor_type.shape.dim])
    return [torch.randn(s, generator=gen) for s in shapes]


def time_ms(fn, xs, seconds, min_iters):
    """Median of at least `min_iters` timed passes lasting `seconds` in all, after a warm-up."""
    warm_end = time.perf_counter() + min(0.2, seconds / 5)
    for i in range(1000):
        fn(*xs)
        if i >= 1 and time.perf_counter() > warm_end:
            break
    samples = []
    end = time.perf_counter() + seconds
    while len(samples) < min_iters or time.perf_counter() < end:
        t0 = time.perf_counter()
        fn(*xs)
        samples.append((time.perf_counter() - t0) * 1e3)
        if len(samples) >= 100000:
            break
    return statistics.median(samples), len(samples)


def blas_library():
    """The BLAS this process mapped (Debian's torch links libblas.so.3, an alternative)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "blas" in line.split()[-1]}
    return ", ".join(sorted(os.path.realpath(p) for p in paths)) or "none"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--min-iters", type=int, default=10)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for path in args.files:
            model = onnx.load(path)
            xs = input_tensors(model, gen)
            eager_ms, iters = time_ms(OnnxGraph(model), xs, args.seconds, args.min_iters)
            mkldnn, mkldnn_ms = mkldnn_mlp(model), None
            if mkldnn is not None and torch.backends.mkldnn.is_available():
                mkldnn_ms, _ = time_ms(mkldnn, xs, args.seconds, args.min_iters)
            best = min(eager_ms, mkldnn_ms) if mkldnn_ms is not None else eager_ms
            print(json.dumps({"file": path, "median_ms": best,
                              "path": "mkldnn" if best != eager_ms else "eager",
                              "eager_ms": eager_ms, "mkldnn_ms": mkldnn_ms, "iters": iters,
                              "blas": blas_library()}),
                  flush=True)


if __name__ == "__main__":
    main()
