"""PyTorch's *masked* seed networks: the reference for structprune's equivalence contract.

Run with Debian's interpreter (it has torch 1.13):

    /usr/bin/python3 tests/golden/generate_masked.py

For each seed network of generate_golden.py (same model definitions, parameters and inputs
as tests/golden/models/<name>.json: this script imports that module and reruns its
model_cases()) and each prune_bias in (true, false), it chooses explicit channel masks for the
layers upstream's structured-pruning tests configure (never the layer feeding the model output),
prepares the model the way the seed's BaseStructuredSparsifier does, and records the masked
model's forward pass. structprune's prepared model and its pruned model must both reproduce it
(tests/pruning/pytorch_masked_test.cc).

It rewrites every tests/golden/masked/*.json (deleting stale ones), then re-reads each file and
recomputes it with torch as a self-check. Output is byte-identical from run to run.

Masking, as the seed does it
----------------------------
Linear / Conv2d weight: FakeStructuredSparsity (weight rows of pruned channels read as zero);
the bias is moved aside to `_bias` and a BiasHook adds it back after the layer, its pruned
entries zeroed when prune_bias is true and left as they are when false. A masked channel is
therefore the constant 0 (prune_bias) or its bias (not), before whatever follows.

LSTM layer k (configured as lstm.weight_ih_l<k>, one mask entry per hidden unit): structprune's
whole-unit semantics (SPEC section 4), not the seed's per-row mask on weight_ih alone. A pruned
unit u has its four gate rows (g * H + u, gates i, f, g, o) zeroed in weight_ih_lk, weight_hh_lk,
bias_ih_lk and bias_hh_lk (whatever prune_bias says) and its column u zeroed in weight_hh_lk:
every gate pre-activation is 0, so c = 0.5 * c_prev + 0.5 * tanh(0) stays 0 and h = 0 over the
whole sequence. Every layer of one LSTM prunes the same number of units (nn.LSTM has one
hidden_size).

Masks: seeded by the fixture's model name (so both prune_bias variants share them); per
configured tensor of n channels, k distinct channels with ceil(0.3 n) <= k <= floor(0.5 n)
(clamped to 1 <= k <= n - 1). A draw is used only if the masked model stays a useful reference
(see choose_masks: outputs not mostly zero, prune_bias observable); otherwise the next seeded
draw is taken.

Fixture format (T as in generate_golden.py)
-------------------------------------------
masked/<name>_prune_bias_<true|false>.json:
  {"model": class name, "args": constructor args, "params": {state_dict FQN: T} (the unmasked
   originals, identical to models/<name>.json), "prune_bias": bool,
   "masks": {tensor_fqn: [1 keep / 0 pruned, ...]} (config order), "inputs": [T],
   "outputs": [T..] (the masked model's forward, flattened depth first), "rtol", "atol",
   "architecture", "note"}
"""

import json
import math
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils import parametrize

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate_golden as gg  # noqa: E402  (model classes, randomization, JSON writer)

MASKED_DIR = HERE / "masked"

RTOL, ATOL = gg.LOOSE_TOL  # 1e-4, 1e-5

_LINEAR_ACT = ["seq.0.weight", "seq.2.weight", "seq.4.weight", "linear1.weight"]
_CONV_POOL = ["seq.0.weight", "seq.3.weight", "conv2d1.weight", "conv2d2.weight"]

# Model fixture name -> configured tensors: the union of what upstream's
# test_structured_sparsifier.py configures for that network.
CONFIGS = {
    "SimpleLinear": ["seq.0.weight", "seq.1.weight", "seq.2.weight", "linear1.weight"],
    "LinearBias": ["seq.0.weight", "seq.1.weight", "seq.2.weight", "seq.3.weight"],
    "LinearActivation": _LINEAR_ACT,
    "LinearActivationFunctional": _LINEAR_ACT,
    "SimpleConv2d": ["seq.0.weight", "seq.1.weight", "conv2d1.weight"],
    "Conv2dBias": ["seq.0.weight", "seq.1.weight", "seq.2.weight", "conv2d1.weight"],
    "Conv2dActivation": ["seq.0.weight", "seq.2.weight", "seq.4.weight", "conv2d1.weight"],
    "Conv2dPadBias": ["seq.0.weight", "seq.2.weight", "seq.4.weight", "seq.6.weight",
                      "seq.8.weight"],
    "Conv2dPool": _CONV_POOL,
    "Conv2dPoolFlattenFunctional": _CONV_POOL,
    "Conv2dPoolFlatten": _CONV_POOL,
    "LSTMLinearModel_1layer": ["lstm.weight_ih_l0"],
    "LSTMLinearModel_2layer": ["lstm.weight_ih_l0", "lstm.weight_ih_l1"],
    "LSTMLayerNormLinearModel_1layer": ["lstm.weight_ih_l0"],
}

# ---------------------------------------------------------------------------------
# The seed's masking (torch/ao/pruning/_experimental/pruner/parametrization.py)
# ---------------------------------------------------------------------------------


class FakeStructuredSparsity(nn.Module):
    """Row mask: rows of pruned output channels read as zero."""

    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, x):
        assert self.mask.shape[0] == x.shape[0]
        shape = [1] * len(x.shape)
        shape[0] = -1
        return self.mask.reshape(shape) * x


class BiasHook:
    """Adds the moved-aside bias back after the layer; pruned entries zero if prune_bias."""

    def __init__(self, parametrization, prune_bias):
        self.param = parametrization
        self.prune_bias = prune_bias

    def __call__(self, module, input, output):
        if getattr(module, "_bias", None) is not None:
            bias = module._bias.data
            if self.prune_bias:
                bias[~self.param.mask] = 0
            idx = [1] * len(output.shape)
            idx[1] = -1
            bias = bias.reshape(idx)
            output += bias
        return output


def prepare_layer(module, mask, prune_bias):
    """BaseStructuredSparsifier._prepare for one Linear/Conv2d weight."""
    parametrize.register_parametrization(module, "weight", FakeStructuredSparsity(mask))
    if module.bias is not None:
        module.register_parameter("_bias", nn.Parameter(module.bias.detach()))
        module.bias = None
    module.register_forward_hook(BiasHook(module.parametrizations.weight[0], prune_bias))


def mask_lstm_layer(lstm, layer, mask):
    """Whole-unit masking of LSTM layer `layer` (see the module docstring)."""
    hidden = lstm.hidden_size
    pruned = [u for u in range(hidden) if not bool(mask[u])]
    rows = [g * hidden + u for g in range(4) for u in pruned]
    with torch.no_grad():
        for name in ("weight_ih_l%d", "weight_hh_l%d", "bias_ih_l%d", "bias_hh_l%d"):
            p = getattr(lstm, name % layer)
            p[rows] = 0.0
        getattr(lstm, "weight_hh_l%d" % layer)[:, pruned] = 0.0


def prepare_masked(model, masks, prune_bias):
    modules = dict(model.named_modules())
    for fqn, mask in masks.items():
        module_fqn, tensor_name = fqn.rsplit(".", 1)
        module = modules[module_fqn]
        mask = torch.tensor(mask, dtype=torch.bool)
        if isinstance(module, nn.LSTM):
            assert tensor_name.startswith("weight_ih_l"), fqn
            mask_lstm_layer(module, int(tensor_name[len("weight_ih_l"):]), mask)
        else:
            assert isinstance(module, (nn.Linear, nn.Conv2d)) and tensor_name == "weight", fqn
            prepare_layer(module, mask, prune_bias)
    return model


# ---------------------------------------------------------------------------------
# Masks and cases
# ---------------------------------------------------------------------------------


def pruned_count(n, rng):
    lo = min(max(1, math.ceil(0.3 * n)), n - 1)
    hi = max(lo, min(n - 1, math.floor(0.5 * n)))
    return int(rng.randint(lo, hi + 1))


def rows_of(model, fqn):
    module_fqn, tensor_name = fqn.rsplit(".", 1)
    module = dict(model.named_modules())[module_fqn]
    if isinstance(module, nn.LSTM):
        return module.hidden_size
    return getattr(module, tensor_name).shape[0]


def draw_masks(name, model, attempt):
    key = "masked/" + name + ("" if attempt == 0 else "#%d" % attempt)
    rng = np.random.RandomState(zlib.crc32(key.encode("utf-8")))
    fqns = CONFIGS[name]
    masks = {}
    lstm_k = None  # one unit count for every layer of an LSTM
    for fqn in fqns:
        n = rows_of(model, fqn)
        if fqn.startswith("lstm."):
            if lstm_k is None:
                lstm_k = pruned_count(n, rng)
            k = lstm_k
        else:
            k = pruned_count(n, rng)
        pruned = set(int(i) for i in rng.choice(n, size=k, replace=False))
        masks[fqn] = [0 if i in pruned else 1 for i in range(n)]
    return masks


def has_masked_bias(model, masks):
    """Whether prune_bias changes the masked model: a configured Linear/Conv2d has a bias."""
    modules = dict(model.named_modules())
    return any(isinstance(modules[fqn.rsplit(".", 1)[0]], (nn.Linear, nn.Conv2d))
               and modules[fqn.rsplit(".", 1)[0]].bias is not None for fqn in masks)


MIN_NONZERO = 0.25  # of every masked output's entries
MAX_ATTEMPTS = 100


def choose_masks(name, base, params, x):
    """The first seeded draw whose masked model is a useful reference: every output keeps at
    least MIN_NONZERO of its entries nonzero for both prune_bias values (masking can kill a
    ReLU network outright), and prune_bias visibly changes the outputs when a configured layer
    has a bias."""
    model = load_model(base["model"], base["args"], params)
    for attempt in range(MAX_ATTEMPTS):
        masks = draw_masks(name, model, attempt)
        outs = [masked_forward(base["model"], base["args"], params, masks, pb, x)
                for pb in (True, False)]
        if any(float((o != 0).float().mean()) < MIN_NONZERO for out in outs for o in out):
            continue
        if has_masked_bias(model, masks):
            diff = max(float((a - b).abs().max()) for a, b in zip(*outs))
            if diff <= 100 * ATOL:
                continue
        if attempt:
            print("%s: masks of draw %d (earlier draws degenerate)" % (name, attempt))
        return masks
    raise AssertionError(name + ": no useful masks in %d draws" % MAX_ATTEMPTS)


def load_model(class_name, args, params):
    model = gg.MODEL_CLASSES[class_name](**args).eval()
    model.load_state_dict(params, strict=True)
    return model


def masked_forward(class_name, args, params, masks, prune_bias, x):
    model = prepare_masked(load_model(class_name, args, params), masks, prune_bias)
    with torch.no_grad():
        return gg.flatten_outputs(model(x))


def tensor_of(t):
    return torch.tensor(t.data.copy()).reshape(t.shape)


def file_name(name, prune_bias):
    return "%s_prune_bias_%s" % (name, "true" if prune_bias else "false")


def masked_cases():
    gg.model_cases()  # the model fixtures' parameters and inputs, seeded as there
    cases = {}
    for name, base in gg.MODEL_CASES.items():
        if name not in CONFIGS:
            continue
        params = {k: tensor_of(v) for k, v in base["params"].items()}
        x = tensor_of(base["inputs"][0])
        masks = choose_masks(name, base, params, x)
        unmasked = [tensor_of(t) for t in base["outputs"]]
        for prune_bias in (True, False):
            outputs = masked_forward(base["model"], base["args"], params, masks, prune_bias, x)
            if all(torch.equal(a, b) for a, b in zip(outputs, unmasked)):
                raise AssertionError(name + ": masks change nothing")
            pruned = {fqn: [i for i, m in enumerate(v) if not m] for fqn, v in masks.items()}
            cases[file_name(name, prune_bias)] = {
                "model": base["model"],
                "args": base["args"],
                "params": base["params"],
                "prune_bias": prune_bias,
                "masks": masks,
                "inputs": base["inputs"],
                "outputs": [gg.Tensor(y) for y in outputs],
                "rtol": RTOL,
                "atol": ATOL,
                "architecture": base["architecture"],
                "note": "masked as the seed prepares it (prune_bias %s); pruned channels %s"
                % ("true" if prune_bias else "false", json.dumps(pruned)),
            }
    missing = set(CONFIGS) - {c for c in gg.MODEL_CASES if c in CONFIGS}
    if missing:
        raise AssertionError("no model fixture for %s" % sorted(missing))
    return cases


# ---------------------------------------------------------------------------------
# Writing and self-check
# ---------------------------------------------------------------------------------


def write_all(cases):
    MASKED_DIR.mkdir(parents=True, exist_ok=True)
    for stale in MASKED_DIR.glob("*.json"):
        if stale.stem not in cases:
            stale.unlink()
    total = 0
    for name, case in sorted(cases.items()):
        total += gg.write_json(MASKED_DIR / (name + ".json"), case)
    return total


KEYS = ["model", "args", "params", "prune_bias", "masks", "inputs", "outputs", "rtol", "atol"]


def self_check(cases):
    for name, case in cases.items():
        f = json.loads((MASKED_DIR / (name + ".json")).read_text(encoding="utf-8"))
        if list(f)[: len(KEYS)] != KEYS:
            raise AssertionError("%s: keys %s" % (name, list(f)))
        params = {k: gg.from_json_tensor(v) for k, v in f["params"].items()}
        x = gg.check_tensor_roundtrip(f["inputs"][0], case["inputs"][0], name + " input")
        for fqn, mask in f["masks"].items():
            if not 0 < mask.count(0) < len(mask):
                raise AssertionError("%s: %s prunes %d of %d" % (name, fqn, mask.count(0), len(mask)))
        outputs = masked_forward(f["model"], f["args"], params, f["masks"], f["prune_bias"], x)
        if len(outputs) != len(f["outputs"]):
            raise AssertionError(name + ": output count")
        for i, (got, want) in enumerate(zip(outputs, f["outputs"])):
            gg._same(gg.from_json_tensor(want), got, "%s output %d" % (name, i))
        # A masked LSTM unit is exactly zero in the sequence output (LSTMLinearModel's second
        # output) and in h_n / c_n (LSTMLayerNormLinearModel's second and third).
        lstm_masks = [(int(k.rsplit("_l", 1)[1]), torch.tensor(v) == 0)
                      for k, v in f["masks"].items() if k.startswith("lstm.")]
        if f["model"] == "LSTMLinearModel":
            last = max(layer for layer, _ in lstm_masks)
            pruned = dict(lstm_masks)[last]
            if not torch.all(outputs[1][..., pruned] == 0):
                raise AssertionError(name + ": masked units of the last layer are not zero")
        if f["model"] == "LSTMLayerNormLinearModel":
            for layer, pruned in lstm_masks:
                for state in outputs[1:]:
                    if not torch.all(state[layer][..., pruned] == 0):
                        raise AssertionError(name + ": masked units' state is not zero")


def main():
    torch.set_num_threads(1)
    cases = masked_cases()
    total = write_all(cases)
    self_check(cases)
    print("wrote %d masked fixtures, %.1f KiB; self-check passed" % (len(cases), total / 1024.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
