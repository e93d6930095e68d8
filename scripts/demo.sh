#!/usr/bin/env bash
# The main job: build (if needed) and run `structprune demo` on its built-in model.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" structprune_cli >&2
exec "${SP_BUILD_DIR:-$root/build}/tools/structprune" demo
