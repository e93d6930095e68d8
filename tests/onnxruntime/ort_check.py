"""Cross-checks pruned models against ONNX Runtime (issue 5, acceptance 1).

For every PyTorch-exported fixture under tests/golden/onnx (and any extra model directory
given on the command line, laid out the same way: model.onnx, input_<i>.pb), this:
  1. runs the original model in ONNX Runtime and compares with PyTorch's output_<i>.pb;
  2. prunes it with `structprune prune --sparsity S --verify` (ours: masked == pruned);
  3. checks the pruned file with onnx.checker;
  4. runs the pruned file with `structprune run` and in ONNX Runtime, and compares.
Because --verify proves our pruned outputs equal the masked model's, step 4 shows ONNX
Runtime computes the masked model's outputs from the pruned file.
Usage: /usr/bin/python3 ort_check.py STRUCTPRUNE ORT_NODE_DIR [--sparsity S] [DIR...]
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, '..', 'golden', 'onnx')


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, 'rb') as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def numbered(directory, prefix):
    files = glob.glob(os.path.join(directory, prefix + '_*.pb'))
    return sorted(files, key=lambda p: int(re.findall(r'_(\d+)\.pb$', p)[0]))


def run_ort(node_dir, model, inputs, work):
    manifest = {'model': model, 'inputs': [], 'out_dir': work}
    for i, path in enumerate(inputs):
        a = read_pb(path).astype(np.float32)
        raw = os.path.join(work, 'in%d.bin' % i)
        a.tofile(raw)
        manifest['inputs'].append({'file': raw, 'shape': list(a.shape)})
    mpath = os.path.join(work, 'manifest.json')
    with open(mpath, 'w') as f:
        json.dump(manifest, f)
    env = dict(os.environ, NODE_PATH=os.path.join(node_dir, 'node_modules'))
    p = subprocess.run(['node', os.path.join(HERE, 'ort_run.js'), mpath], capture_output=True,
                       text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError('onnxruntime: ' + p.stderr.strip())
    shapes = json.load(open(os.path.join(work, 'ort_shapes.json')))
    return [np.fromfile(os.path.join(work, 'ort_output_%d.bin' % i), dtype=np.float32).reshape(s)
            for i, s in enumerate(shapes)]


def close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-3, atol=1e-4)


def check(structprune, node_dir, directory, sparsity):
    name = os.path.basename(os.path.normpath(directory))
    model = os.path.join(directory, 'model.onnx')
    inputs = numbered(directory, 'input')
    with tempfile.TemporaryDirectory() as work:
        # 1. ONNX Runtime reproduces PyTorch on the original file.
        expected = [read_pb(p) for p in numbered(directory, 'output')]
        ort_dense = run_ort(node_dir, model, inputs, work)
        if expected and not all(close(a, b) for a, b in zip(ort_dense, expected)):
            return name, 'FAIL original: ONNX Runtime differs from PyTorch'
        # 2. Prune (and verify masked == pruned).
        pruned = os.path.join(work, 'pruned.onnx')
        p = subprocess.run([structprune, 'prune', model, '-o', pruned, '--sparsity', str(sparsity),
                            '--verify'], capture_output=True, text=True)
        if p.returncode != 0:
            return name, 'FAIL prune (exit %d): %s' % (p.returncode, p.stderr.strip()[-200:])
        # 3. A valid ONNX file.
        onnx.checker.check_model(onnx.load(pruned))
        # 4. Ours and ONNX Runtime agree on the pruned file.
        out_dir = os.path.join(work, 'ours')
        os.makedirs(out_dir)
        args = [structprune, 'run', pruned, '--output-dir', out_dir]
        for path in inputs:
            args += ['--input', path]
        p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode != 0:
            return name, 'FAIL run (exit %d): %s' % (p.returncode, p.stderr.strip()[-200:])
        ours = [read_pb(p) for p in numbered(out_dir, 'output')]
        ort_pruned = run_ort(node_dir, pruned, inputs, work)
        if len(ours) != len(ort_pruned) or not all(close(a, b) for a, b in zip(ours, ort_pruned)):
            diffs = [float(np.max(np.abs(a - b))) if a.shape == b.shape else 'shape'
                     for a, b in zip(ours, ort_pruned)]
            return name, 'FAIL pruned: ONNX Runtime differs from ours %s' % diffs
        before = os.path.getsize(model)
        after = os.path.getsize(pruned)
        return name, 'ok (file %d -> %d bytes)' % (before, after)


def main():
    args = sys.argv[1:]
    structprune, node_dir = args[0], args[1]
    sparsity = 0.5
    rest = args[2:]
    if '--sparsity' in rest:
        i = rest.index('--sparsity')
        sparsity = float(rest[i + 1])
        del rest[i:i + 2]
    dirs = rest or sorted(d for d in glob.glob(os.path.join(GOLDEN, '*'))
                          if os.path.isfile(os.path.join(d, 'model.onnx')))
    failures = 0
    for d in dirs:
        name, status = check(structprune, node_dir, d, sparsity)
        failures += not status.startswith('ok')
        print('%-45s %s' % (name, status), flush=True)
    print('%d models, %d failed' % (len(dirs), failures))
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
