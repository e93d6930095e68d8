#!/usr/bin/env bash
# Builds with clang, ASan + UBSan and the libFuzzer targets (build-asan, or SP_ASAN_BUILD_DIR),
# runs every test under the sanitizers, then runs each fuzzer for SP_FUZZ_SECONDS (default 60)
# on a copy of its seed corpus. Any sanitizer report, failed test or fuzzer finding fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh" --sanitizers
build_dir=${SP_ASAN_BUILD_DIR:-$root/build-asan}
fuzz_seconds=${SP_FUZZ_SECONDS:-60}
jobs=${SP_JOBS:-$(nproc)}

# -O1 with line tables: readable stack traces, tests and fuzzers fast enough.
if [ ! -f "$build_dir/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DSP_SANITIZE=ON -DSP_BUILD_FUZZERS=ON -DSP_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build_dir" -j "$jobs"

export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=print_suppressions=0
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer

# InstallConsumer builds an outside project with the system compiler and no sanitizer runtime,
# which cannot link a sanitized libstructprune; scripts/test.sh runs it.
(cd "$build_dir" && ctest --output-on-failure -j "$jobs" -E '^InstallConsumer\.')

# Fuzzing: on a scratch copy of each corpus (new inputs never land in fuzz/corpus/), $jobs
# fuzzers at a time; a crash, leak, sanitizer report, timeout or out-of-memory leaves its
# input and log in fuzz-artifacts/.
artifacts=$build_dir/fuzz-artifacts
rm -rf "$artifacts" "$build_dir/fuzz-corpus"
mkdir -p "$artifacts"
fuzz_one() {
  local name=$1 corpus=$build_dir/fuzz-corpus/$1 rc=0
  mkdir -p "$corpus"
  cp -R "$root/fuzz/corpus/$name/." "$corpus/"
  "$build_dir/fuzz/${name}_fuzzer" -max_total_time="$fuzz_seconds" -timeout=60 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" "$corpus" \
    >"$artifacts/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$artifacts/$name.rc"
}
names=()
for fuzzer in "$build_dir"/fuzz/*_fuzzer; do
  names+=("$(basename "$fuzzer" _fuzzer)")
  fuzz_one "${names[-1]}" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
wait
failed=0
for name in "${names[@]}"; do
  if [ "$(cat "$artifacts/$name.rc" 2>/dev/null)" != 0 ]; then
    tail -n 60 "$artifacts/$name.log" >&2
    echo "FAIL: $name fuzzer found a problem; input and log in $artifacts/" >&2
    failed=1
    continue
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$artifacts/$name.log")
  echo "fuzz $name: ${runs:-?} inputs in ${fuzz_seconds}s, no findings"
done
exit "$failed"
