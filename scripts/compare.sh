#!/usr/bin/env bash
# structprune vs PyTorch (Debian's python3-torch, eager) vs ONNX Runtime (npm onnxruntime-node,
# CPU) on the MLP, ResNet-18, MobileNetV2 and LSTM models, dense and pruned at 25/50/75 %, with
# the same thread counts on this machine. Prints one markdown table and writes it, a JSON and
# latency_vs_sparsity.svg to $SP_BUILD_DIR/compare/ (default build/compare/).
# Usage: scripts/compare.sh [--threads "1 2"] [--quick] [--models "mlp resnet18 mobilenet_v2 lstm"]
# (--quick: a few iterations, a smoke test; --models: a subset)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads="1 2"
quick=()
models=(--models "mlp resnet18 mobilenet_v2 lstm")
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --quick) quick=(--quick); shift ;;
    --models) models=(--models "$2"); shift 2 ;;
    *) echo "usage: scripts/compare.sh [--threads \"1 2\"] [--quick] [--models \"mlp ...\"]" >&2
       exit 2 ;;
  esac
done
build_dir=${SP_BUILD_DIR:-$root/build}

# The comparison's own packages: Debian's PyTorch, torchvision and onnx (for /usr/bin/python3,
# not a pyenv python), OpenBLAS (libtorch recommends it; without it PyTorch's Linear and LSTM
# run on the reference BLAS), and node and npm unless some other package provides them.
packages=(python3-torch python3-torchvision python3-onnx libopenblas0-openmp)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

SP_BUILD_DIR=$build_dir "$root/scripts/build.sh" structprune_cli peak_benchmark >&2

# ONNX Runtime's CPU build ships inside the npm package; --ignore-scripts skips the install
# script (it only fetches GPU providers).
ort_version=${SP_ORT_VERSION:-1.30.0}
npm_dir=$build_dir/compare/npm
ort_package=$npm_dir/node_modules/onnxruntime-node/package.json
if [ ! -f "$ort_package" ] || ! grep -q "\"version\": \"$ort_version\"" "$ort_package"; then
  mkdir -p "$npm_dir"
  echo "installing onnxruntime-node@$ort_version into $npm_dir" >&2
  npm install --ignore-scripts --no-audit --no-fund --silent --prefix "$npm_dir" \
    "onnxruntime-node@$ort_version" >&2
fi

exec /usr/bin/python3 "$root/bench/compare/compare.py" --build-dir "$build_dir" \
  --node-modules "$npm_dir/node_modules" --threads "$threads" "${models[@]}" "${quick[@]}"
