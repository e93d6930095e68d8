#!/usr/bin/env bash
# Installs the Debian packages structprune builds with; quiet and fast when all are present.
# Usage: scripts/install_deps.sh [--sanitizers | --valgrind]  (--sanitizers adds clang, its
# ASan/UBSan/libFuzzer runtimes and llvm-symbolizer, for scripts/test_sanitized.sh; --valgrind
# adds valgrind, for scripts/pruning_scaling.sh)
set -euo pipefail
packages=(cmake ninja-build g++ ccache libeigen3-dev libdnnl-dev libabsl-dev libgtest-dev libgmock-dev
          libbenchmark-dev libprotobuf-dev protobuf-compiler libonnx-dev nlohmann-json3-dev
          libonnx-testdata python3-onnx python3-numpy)  # the last three: ONNX's backend tests
case "${1:-}" in
  --sanitizers) packages+=(clang libclang-rt-14-dev llvm-14) ;;
  --valgrind) packages+=(valgrind) ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
