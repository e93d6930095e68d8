#!/usr/bin/env python3
"""ONNX's backend node tests for the ops structprune imports, run through `structprune run`.

Usage: /usr/bin/python3 tests/onnx/backend_node_tests.py PATH/TO/structprune [NODE_DIR]

NODE_DIR defaults to /usr/share/libonnx-testdata/data/node (Debian's libonnx-testdata). The
script selects the single-node tests whose op is one the importer reads (SUPPORTED_OPS), runs
every data set through

    structprune run model.onnx --input input_0.pb [--input input_1.pb ...] --output-dir DIR

(weights given as graph inputs are bound by `run`) and compares each output_<i>.pb with ONNX's
(rtol 1e-3, atol 1e-5, NaN equal to NaN). A selected test must either pass, or be listed in
EXPECTED_UNSUPPORTED and fail with exit code 2 and a message holding the listed text. The
script fails when a test regresses, when an unsupported one crashes (any exit code but 0 and 2)
or fails for another reason, and when a listed one starts to pass (then remove it from the
list). It prints the counts. Exit 77 (ctest's SKIP_RETURN_CODE) when the data, numpy or onnx
is missing; run it with /usr/bin/python3 (Debian's python3-onnx and python3-numpy).
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

SKIP = 77
DEFAULT_NODE_DIR = "/usr/share/libonnx-testdata/data/node"

# The ONNX op types SPEC section 6 lists (the anchors of the import table, plus Gelu and Mish
# for when the data has them).
SUPPORTED_OPS = {
    "Conv", "Gemm", "MatMul", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Celu", "Selu",
    "HardSigmoid", "HardSwish", "Softplus", "Softsign", "PRelu", "Clip", "Gelu", "Mish",
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape",
    "BatchNormalization", "LayerNormalization", "LSTM", "Add", "Concat", "Identity", "Dropout",
}

# Test -> a text its error message must hold. Each of these is a valid ONNX form that the
# importer refuses because the engine (PyTorch's ops, float32 tensors) cannot express it.
EXPECTED_UNSUPPORTED = {
    # Values that are not tensors (optional, sequence).
    "test_identity_opt": "is not a float tensor (not a tensor)",
    "test_identity_sequence": "is not a float tensor (not a tensor)",
}


def numbered(paths):
    return sorted(paths, key=lambda p: int(re.findall(r"_(\d+)\.pb$", p)[0]))


def run_data_set(structprune, model, data_set, onnx, numpy_helper, np):
    """'' when `structprune run` reproduces the data set, else what went wrong; (code, stderr)."""
    inputs = numbered(glob.glob(os.path.join(data_set, "input_*.pb")))
    outputs = numbered(glob.glob(os.path.join(data_set, "output_*.pb")))
    with tempfile.TemporaryDirectory() as out_dir:
        cmd = [structprune, "run", model, "--output-dir", out_dir]
        for path in inputs:
            cmd += ["--input", path]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            return "exit %d" % p.returncode, p.returncode, p.stderr.strip()
        for i, path in enumerate(outputs):
            expected = numpy_helper.to_array(onnx.load_tensor(path))
            got_path = os.path.join(out_dir, "output_%d.pb" % i)
            if not os.path.exists(got_path):
                return "output %d missing" % i, 0, ""
            got = numpy_helper.to_array(onnx.load_tensor(got_path))
            if got.shape != expected.shape:
                return "output %d: shape %s, expected %s" % (i, got.shape, expected.shape), 0, ""
            if not np.allclose(got, expected, rtol=1e-3, atol=1e-5, equal_nan=True):
                diff = np.nanmax(np.abs(got.astype(np.float64) - expected.astype(np.float64)))
                return "output %d: max |difference| %.3g" % (i, diff), 0, ""
    return "", 0, ""


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    structprune = os.path.abspath(sys.argv[1])
    node_dir = sys.argv[2] if len(sys.argv) == 3 else DEFAULT_NODE_DIR
    if not os.path.isdir(node_dir):
        print("skipped: %s is missing (install libonnx-testdata)" % node_dir)
        return SKIP
    try:
        import numpy as np
        import onnx
        from onnx import numpy_helper
    except ImportError as e:
        print("skipped: %s (run with /usr/bin/python3: python3-onnx, python3-numpy)" % e)
        return SKIP

    passed, unsupported, problems = [], [], []
    seen = set()
    for name in sorted(os.listdir(node_dir)):
        model = os.path.join(node_dir, name, "model.onnx")
        if not os.path.exists(model):
            continue
        nodes = onnx.load(model, load_external_data=False).graph.node
        if len(nodes) != 1 or nodes[0].op_type not in SUPPORTED_OPS:
            continue
        seen.add(name)
        data_sets = sorted(glob.glob(os.path.join(node_dir, name, "test_data_set_*")))
        failure, code, stderr = "", 0, ""
        for data_set in data_sets:
            failure, code, stderr = run_data_set(structprune, model, data_set, onnx,
                                                 numpy_helper, np)
            if failure:
                break
        expected = EXPECTED_UNSUPPORTED.get(name)
        if not failure:
            if expected is None:
                passed.append(name)
            else:
                problems.append("%s: passes now; remove it from EXPECTED_UNSUPPORTED" % name)
        elif expected is None:
            problems.append("%s: %s %s" % (name, failure, stderr))
        elif code != 2 or expected not in stderr:
            problems.append("%s: expected exit 2 with '%s', got %s: %s" %
                            (name, expected, failure, stderr or "(no message)"))
        else:
            unsupported.append(name)

    print("ONNX backend node tests (%s) through %s:" % (node_dir, structprune))
    print("  %d selected: %d passed, %d expected unsupported (exit 2 with a clear error)" %
          (len(seen), len(passed), len(unsupported)))
    absent = sorted(set(EXPECTED_UNSUPPORTED) - seen)
    if absent:  # another version of the test data
        print("  not in this data: " + ", ".join(absent))
    for p in problems:
        print("FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
