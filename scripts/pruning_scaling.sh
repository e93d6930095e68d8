#!/usr/bin/env bash
# Does the pruning pass (Prepare + Step + Prune) grow linearly with the number of layers? A
# timer alone cannot say: on this kind of machine a pass over 1,000 layers runs from the CPU
# caches and one over 10,000 from DRAM, so the time per layer rises with the working set even
# when the work per layer does not. This script counts the work: it runs bench/pruning_pass
# under callgrind, which counts the instructions executed inside the pass and simulates two
# cache levels (this machine's 1 MiB L2 in place of L1, and a 32 MiB last level), at 1,000,
# 10,000 and 30,000 layers of a Linear chain and a residual network, and prints per layer:
# instructions, simulated read misses of both levels, and the pass's native wall time (median
# of 3 after a warm-up pass). The "minimal" rows are the least pass that prunes the chain
# (bench::RunMinimalChainPass): how much of the wall time's growth any pass gets from the machine.
# Usage: scripts/pruning_scaling.sh [LAYER COUNTS...]   (default: 1000 10000 30000; ~5 min)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh" --valgrind
build_dir=${SP_BUILD_DIR:-$root/build}
SP_BUILD_DIR=$build_dir "$root/scripts/build.sh" pruning_pass >&2
pass=$build_dir/bench/pruning_pass
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(1000 10000 30000)

echo "| model | layers | instructions / layer | read misses / layer, 1 MiB | 32 MiB | wall time / layer |"
echo "|---|--:|--:|--:|--:|--:|"
for model in minimal chain residual; do
  for layers in "${counts[@]}"; do
    # callgrind's summary line "Collected : Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw" holds the
    # events counted inside RunPruningPass only (--toggle-collect).
    collected=$(valgrind --tool=callgrind --toggle-collect='structprune::bench::RunPruningPass*' \
                  --cache-sim=yes --D1=1048576,8,64 --LL=33554432,16,64 --callgrind-out-file=/dev/null \
                  "$pass" "$model" "$layers" 2>&1 >/dev/null | sed -n 's/.*Collected : //p')
    wall=$("$pass" "$model" "$layers" 4 | sed -n 's/.*, \([0-9.]*\) us\/layer/\1/p' | sort -n | sed -n 2p)
    read -r ir _ _ _ d1mr _ _ dlmr _ <<<"$collected"
    awk -v m="$model" -v n="$layers" -v ir="$ir" -v l2="$d1mr" -v lm="$dlmr" -v w="$wall" \
      'BEGIN { printf "| %s | %d | %.0f | %.0f | %.0f | %s us |\n", m, n, ir / n, l2 / n, lm / n, w }'
  done
done
