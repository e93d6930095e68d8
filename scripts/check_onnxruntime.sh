#!/usr/bin/env bash
# Cross-checks pruned models in ONNX Runtime (needs the npm registry: installs
# onnxruntime-node with --ignore-scripts under build/onnxruntime). Not part of CI, whose
# machines reach only Debian's registry. Usage: scripts/check_onnxruntime.sh [--sparsity S] [DIR...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" structprune_cli
node_dir="$root/build/onnxruntime"
if [ ! -d "$node_dir/node_modules/onnxruntime-node" ]; then
  mkdir -p "$node_dir"
  (cd "$node_dir" && npm init -y >/dev/null && npm install --ignore-scripts onnxruntime-node >/dev/null)
fi
exec /usr/bin/python3 "$root/tests/onnxruntime/ort_check.py" "$root/build/tools/structprune" "$node_dir" "$@"
