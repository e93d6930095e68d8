#!/usr/bin/env bash
# Builds everything and runs every test (ctest prints the count it ran).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
cd "${SP_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)"
