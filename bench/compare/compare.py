"""structprune vs PyTorch vs ONNX Runtime on the same models, threads and machine.

Run through scripts/compare.sh, which builds the binaries and installs what is missing:

    /usr/bin/python3 compare.py --build-dir BUILD --node-modules DIR [--threads "1 2"] [--quick]
                                [--models "mlp resnet18 mobilenet_v2 lstm"]

Exports the four models of bench/models_benchmark.cc to ONNX (export_models.py), prunes each
at 25/50/75 % with `structprune prune`, times every dense and pruned file with
`structprune bench`, with PyTorch eager (torch_runner.py) and with ONNX Runtime
(ort_bench.js), measures this machine's SGEMM peak (peak_benchmark), and prints one markdown
table. Writes BUILD/compare/{table.md, results.json, latency_vs_sparsity.svg}.
"""
import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys

import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import latency_plot  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {  # file stem: (name, input)
    "mlp": ("MLP 700-500-800-600-4", "128x700"),
    "resnet18": ("ResNet-18", "1x3x224x224"),
    "mobilenet_v2": ("MobileNetV2", "1x3x224x224"),
    "lstm": ("LSTM 2x256 -> Linear", "seq 32, batch 8, 64"),
}
SPARSITIES = [0, 25, 50, 75]
# Debian's OpenBLAS built for OpenMP, the runtime PyTorch's own threads use (scripts/compare.sh
# installs it: libtorch recommends OpenBLAS, without it PyTorch's Linear/LSTM/MatMul use the
# reference BLAS).
OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


def log(msg):
    print(f"[compare] {msg}", file=sys.stderr, flush=True)


def cpus_for(threads):
    """The CPUs every engine runs on with `threads` threads: the first `threads` this process may
    use, the same for all three, so that none gets a faster core than the others. Cores differ:
    on the 2-vCPU development VM one at a time (which one changes over the day) runs ResNet-18
    7 % and MobileNetV2 18 % slower than the other."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[:threads] if threads < len(allowed) else allowed


def run(cmd, env=None, cpus=None):
    """stdout of `cmd`, run on `cpus` (default: wherever this process may run); on failure its
    stderr and the command, then exit."""
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=pin)
    if proc.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def input_shapes(path):
    model = onnx.load(path, load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    return [[d.dim_value or 1 for d in i.type.tensor_type.shape.dim]
            for i in model.graph.input if i.name not in inits]


def prepare_models(cli, model_dir, stems):
    """Exports and prunes; {(stem, sparsity): {"file", "flops"}}."""
    log("exporting the models to ONNX (PyTorch, opset 13)")
    run([sys.executable, os.path.join(HERE, "export_models.py"), model_dir, *stems])
    files = {}
    for stem in stems:
        dense = os.path.join(model_dir, stem + ".onnx")
        for s in SPARSITIES[1:]:
            out = os.path.join(model_dir, f"{stem}_{s}.onnx")
            report = os.path.join(model_dir, f"{stem}_{s}.report.json")
            log(f"pruning {stem} at {s}%")
            run([cli, "prune", dense, "-o", out, "--sparsity", str(s / 100), "--report", report])
            with open(report) as f:
                r = json.load(f)
            files[(stem, 0)] = {"file": dense, "flops": r["flops_before"]}
            files[(stem, s)] = {"file": out, "flops": r["flops_after"]}
    return files


def measure_peak(peak_bin, quick, threads_list):
    """{threads: SGEMM FLOP/s} on the CPUs the models run on: the best over n = 512, 1024, 2048
    and 3 repetitions (quick: one short run at n = 512)."""
    log("measuring the SGEMM peak (oneDNN)")
    peak = {}
    for t in threads_list:
        cmd = [peak_bin, "--benchmark_format=json"]
        cmd += ([f"--benchmark_filter=BM_Sgemm/n:512/threads:{t}/", "--benchmark_min_time=0.01"] if quick
                else [f"--benchmark_filter=BM_Sgemm/.*/threads:{t}/", "--benchmark_repetitions=3"])
        for b in json.loads(run(cmd, cpus=cpus_for(t)))["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration":
                continue  # mean / median / stddev rows of the repetitions
            peak[t] = max(peak.get(t, 0.0), b["FLOPS"])
    return peak


def time_ours(cli, path, threads, seconds, min_iters):
    """Median ms from `structprune bench`: a short run sizes the timed one to ~`seconds`."""
    probe = json.loads(run([cli, "bench", path, "--threads", str(threads), "--iters", "3",
                            "--warmup", "1", "--json"], cpus=cpus_for(threads)))
    if seconds <= 0.1:
        return probe["median_ms"]
    iters = max(min_iters, min(100000, math.ceil(seconds * 1e3 / max(probe["median_ms"], 1e-3))))
    out = json.loads(run([cli, "bench", path, "--threads", str(threads), "--iters", str(iters),
                          "--warmup", str(max(2, iters // 10)), "--json"], cpus=cpus_for(threads)))
    return out["median_ms"]


def time_torch(paths, threads, seconds, min_iters):
    """{path: torch_runner.py's result}."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if os.path.isdir(OPENBLAS_DIR):
        env["LD_LIBRARY_PATH"] = ":".join(filter(None, [OPENBLAS_DIR, env.get("LD_LIBRARY_PATH")]))
    out = run([sys.executable, os.path.join(HERE, "torch_runner.py"), "--threads", str(threads),
               "--seconds", str(seconds), "--min-iters", str(min_iters), *paths], env=env,
              cpus=cpus_for(threads))
    return {r["file"]: r for r in json_lines(out)}


def time_ort(node_modules, paths, threads, seconds, min_iters):
    """{path: ort_bench.js's result}."""
    env = dict(os.environ, NODE_PATH=node_modules)
    args = []
    for p in paths:
        args += [p, json.dumps(input_shapes(p))]
    out = run(["node", os.path.join(HERE, "ort_bench.js"), "--threads", str(threads),
               "--seconds", str(seconds), "--min-iters", str(min_iters), *args], env=env,
              cpus=cpus_for(threads))
    return {r["file"]: r for r in json_lines(out)}


def ratio(a, b):
    return a / b if a and b else None


def build_rows(stems, files, timings, peak, threads_list):
    rows = []
    for stem in stems:
        name, input_desc = MODELS[stem]
        for t in threads_list:
            dense = files[(stem, 0)]
            ours_dense = timings[(stem, 0, t)]["ours_ms"]
            for s in SPARSITIES:
                f, tm = files[(stem, s)], timings[(stem, s, t)]
                flops_ratio = dense["flops"] / f["flops"]
                gflops = f["flops"] / (tm["ours_ms"] * 1e6)
                rows.append({
                    "model": name, "input": input_desc, "file": os.path.basename(f["file"]),
                    "sparsity": s, "threads": t,
                    "ours_ms": tm["ours_ms"], "torch_ms": tm["torch_ms"],
                    "torch_path": tm["torch_path"], "ort_ms": tm["ort_ms"],
                    "ours_over_torch": ratio(tm["ours_ms"], tm["torch_ms"]),
                    "ours_over_ort": ratio(tm["ours_ms"], tm["ort_ms"]),
                    "flops": f["flops"], "flops_ratio": flops_ratio,
                    "speedup": ours_dense / tm["ours_ms"],
                    "ideal_ms": ours_dense / flops_ratio,
                    "gflops": gflops,
                    "peak_fraction": gflops * 1e9 / peak[t] if t in peak else None,
                })
    return rows


def markdown(rows, meta):
    def f(v, fmt):
        return "n/a" if v is None else format(v, fmt)

    lines = [
        f"structprune vs PyTorch {meta['torch']} (eager; MLP: best of eager and to_mkldnn) vs "
        f"ONNX Runtime {meta['onnxruntime']} (CPU) on {meta['cpu']}, {meta['date']}"
        + (" -- QUICK RUN, numbers are not meaningful" if meta["quick"] else ""),
        f"PyTorch's BLAS: {'; '.join(meta['torch_blas'])}",
        "SGEMM peak (oneDNN dnnl_sgemm, best of n = 512..2048): "
        + ", ".join(f"{t} thread(s) {p / 1e9:.1f} GFLOP/s"
                    for t, p in sorted(meta["peak_flops"].items()))
        + f"; load average before/after: {meta['load_before']} / {meta['load_after']}",
        "Every engine and the peak run on the same CPUs per thread count: "
        + ", ".join(f"{t} thread(s) on CPU {','.join(map(str, c))}" for t, c in sorted(meta["cpus"].items()))
        + ".",
        "Latencies are medians in ms; ours/X < 1 means structprune is faster. "
        "FLOPs ratio = dense / pruned FLOPs, speedup = our dense / our pruned latency.",
        "",
        "| model | input | sparsity | threads | ours ms | PyTorch ms | ORT ms | ours/PyTorch "
        "| ours/ORT | FLOPs ratio | speedup | GFLOP/s | of peak |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        torch_ms = f(r["torch_ms"], ".3f") + (" (mkldnn)" if r["torch_path"] == "mkldnn" else "")
        cells = [r["model"], r["input"], f"{r['sparsity']}%", r["threads"], f(r["ours_ms"], ".3f"),
                 torch_ms, f(r["ort_ms"], ".3f"), f(r["ours_over_torch"], ".2f"),
                 f(r["ours_over_ort"], ".2f"), f(r["flops_ratio"], ".2f"), f(r["speedup"], ".2f"),
                 f(r["gflops"], ".1f"), f(r["peak_fraction"], ".0%")]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def machine():
    try:
        with open("/proc/cpuinfo") as f:
            name = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        name = platform.processor() or "unknown CPU"
    return f"{name} ({os.cpu_count()} logical CPUs)"


def versions(node_modules):
    torch_version = run([sys.executable, "-c", "import torch; print(torch.__version__)"]).strip()
    with open(os.path.join(node_modules, "onnxruntime-node", "package.json")) as f:
        ort_version = json.load(f)["version"]
    return torch_version, ort_version


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--node-modules", required=True,
                        help="the node_modules holding onnxruntime-node")
    parser.add_argument("--threads", default="1 2", help='thread counts, e.g. "1 2"')
    parser.add_argument("--quick", action="store_true", help="a few iterations: a smoke test")
    parser.add_argument("--models", default=" ".join(MODELS),
                        help=f'a subset of "{" ".join(MODELS)}"')
    args = parser.parse_args()
    threads_list = [int(t) for t in args.threads.split()]
    stems = args.models.split()
    if not stems or any(s not in MODELS for s in stems):
        parser.error(f"--models takes some of: {' '.join(MODELS)}")
    cli = os.path.join(args.build_dir, "tools", "structprune")
    peak_bin = os.path.join(args.build_dir, "bench", "peak_benchmark")
    out_dir = os.path.join(args.build_dir, "compare")
    seconds, min_iters = (0.05, 3) if args.quick else (1.5, 10)
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())

    files = prepare_models(cli, os.path.join(out_dir, "models"), stems)
    peak = measure_peak(peak_bin, args.quick, threads_list)
    timings = {}
    for t in threads_list:
        paths = [files[(stem, s)]["file"] for stem in stems for s in SPARSITIES]
        log(f"{t} thread(s): PyTorch")
        torch_res = time_torch(paths, t, seconds, min_iters)
        log(f"{t} thread(s): ONNX Runtime")
        ort_res = time_ort(args.node_modules, paths, t, seconds, min_iters)
        for stem in stems:
            for s in SPARSITIES:
                path = files[(stem, s)]["file"]
                log(f"{t} thread(s): structprune {os.path.basename(path)}")
                timings[(stem, s, t)] = {
                    "ours_ms": time_ours(cli, path, t, seconds, min_iters),
                    "torch_ms": torch_res[path]["median_ms"],
                    "torch_path": torch_res[path]["path"],
                    "torch_blas": torch_res[path]["blas"],
                    "ort_ms": ort_res[path]["median_ms"],
                }

    torch_version, ort_version = versions(args.node_modules)
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu": machine(),
            "torch": torch_version, "onnxruntime": ort_version, "threads": threads_list,
            "torch_blas": sorted({tm["torch_blas"] for tm in timings.values()}),
            "quick": args.quick, "seconds_per_measurement": seconds, "peak_flops": peak,
            "cpus": {t: cpus_for(t) for t in threads_list},
            "load_before": load_before,
            "load_after": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    rows = build_rows(stems, files, timings, peak, threads_list)
    table = markdown(rows, meta)
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(table)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    svg = os.path.join(out_dir, "latency_vs_sparsity.svg")
    latency_plot.write_svg(rows, svg, f"Forward latency vs channel sparsity ({meta['cpu']})")
    print(table)
    log(f"wrote {out_dir}/table.md, results.json and latency_vs_sparsity.svg")


if __name__ == "__main__":
    main()
