#!/usr/bin/env bash
# End-to-end tests of the structprune program (SPEC section 7): each subcommand's success path
# and exit codes 0 (ok), 1 (verification failed) and 2 (bad input: one message on stderr,
# never a crash). Inputs come from tests/tools/data (tests/tools/make_cli_data.py); broken
# files are made here with head/printf/dd.
#
# usage: cli_test.sh path/to/structprune path/to/tests/tools/data [path/to/tests/golden/onnx]
# With the third argument, every golden ONNX model (tests/golden/generate_onnx.py) must also
# pass info, prune --verify and run, and every model under bad/ must give exit code 2.
set -u
if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 STRUCTPRUNE_BINARY DATA_DIR [GOLDEN_ONNX_DIR]" >&2
  exit 2
fi
BIN=$1
DATA=$2
GOLDEN=${3:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OUT=$TMP/stdout
ERR=$TMP/stderr
count=0
failures=0

fail() {
  echo "FAIL $1"
  shift
  for line in "$@"; do echo "     $line"; done
  sed 's/^/     stderr: /' "$ERR" | head -n 5
  failures=$((failures + 1))
}

# expect CODE NAME COMMAND...: runs COMMAND (stdout, stderr kept in $OUT, $ERR) and checks its
# exit code; for code 2, that stderr is exactly one line starting "structprune".
expect() {
  local want=$1 name=$2
  shift 2
  count=$((count + 1))
  "$@" >"$OUT" 2>"$ERR"
  local got=$?
  if [[ $got -ne $want ]]; then
    fail "$name" "exit code $got, expected $want: $*"
    return 1
  fi
  if [[ $want -eq 2 ]]; then
    local lines
    lines=$(wc -l <"$ERR")
    if [[ $lines -ne 1 ]] || ! grep -q '^structprune' "$ERR"; then
      fail "$name" "expected one 'structprune ...' line on stderr, got $lines"
      return 1
    fi
  fi
  echo "ok   $name"
}

# expect_error NAME MESSAGE COMMAND...: exit code 2 and MESSAGE (fixed string) on stderr.
expect_error() {
  local name=$1 message=$2
  shift 2
  expect 2 "$name" "$@" || return 1
  if ! grep -qF -- "$message" "$ERR"; then
    fail "$name (message)" "stderr lacks: $message"
    return 1
  fi
}

# check NAME CONDITION...: an extra assertion (counted like a test).
check() {
  local name=$1
  shift
  count=$((count + 1))
  if "$@"; then
    echo "ok   $name"
  else
    fail "$name" "condition failed: $*"
  fi
}

contains() { grep -qF -- "$2" "$1"; }
# The JSON file's text without whitespace, to compare small JSON values exactly.
compact() { tr -d ' \n' <"$1"; }
# How many 0 entries the mask of tensor $2 has in MASKS.json $1.
zeros_in_mask() { compact "$1" | grep -o "\"$2\":\[[01,]*\]" | cut -d: -f2 | grep -o '0' | wc -l; }
# Exit code in {0, 2} and no signal: what every malformed input must give.
not_crashed() { [[ $1 -eq 0 || $1 -eq 2 ]]; }

MLP=$DATA/mlp.onnx
CONV=$DATA/convnet.onnx
LSTM=$DATA/lstm.onnx
PAD=$DATA/padconv.onnx

# ---- usage ----------------------------------------------------------------------------
expect 0 "--help lists the commands" "$BIN" --help && check "--help names prune" contains "$OUT" "prune"
expect_error "no command" "missing command" "$BIN"
expect 2 "unknown command" "$BIN" frobnicate && check "unknown command named" contains "$ERR" "unknown command 'frobnicate'"
for cmd in prune info run bench demo; do
  expect 0 "$cmd --help" "$BIN" "$cmd" --help && check "$cmd --help usage" contains "$OUT" "usage: structprune $cmd"
done
expect 0 "help bench" "$BIN" help bench && check "help bench shows --iters" contains "$OUT" "--iters N"
expect 0 "prune -h" "$BIN" prune -h && check "prune help shows flags" contains "$OUT" "--masks-out MASKS.json"

# ---- info -----------------------------------------------------------------------------
expect 0 "info mlp" "$BIN" info "$MLP"
check "info mlp: layers" contains "$OUT" "fc1"
check "info mlp: totals" contains "$OUT" "total"
check "info mlp: symbolic batch shown" contains "$OUT" "[?, 8]"
check "info mlp: groups" contains "$OUT" "prunable groups"
check "info mlp: no progress when stderr is not a terminal" test ! -s "$ERR"
expect 0 "info convnet" "$BIN" info "$CONV"
check "info convnet: residual group couples producers" grep -qE "producers (stem|conv1|conv2)\.weight, " "$OUT"
expect 0 "info lstm" "$BIN" info "$LSTM" && check "info lstm: hidden units" contains "$OUT" "8 hidden units"
# A model prune refuses outright (training-mode BatchNormalization): info says so instead of
# listing groups. Written with onnx.helper (Debian's python3-onnx, which the tests install).
/usr/bin/python3 - "$TMP/bn_training.onnx" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
inits = [numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 2, 1, 1)).astype(np.float32), "conv.weight")]
inits += [numpy_helper.from_array(np.full(4, v, np.float32), n)
          for n, v in [("s", 1.0), ("b", 0.0), ("mean", 0.0), ("var", 1.0)]]
nodes = [helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="/conv/Conv"),
         helper.make_node("BatchNormalization", ["c", "s", "b", "mean", "var"], ["y", "m", "v"],
                          name="/bn/BatchNormalization", training_mode=1)]
graph = helper.make_graph(nodes, "bn_training",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2, 3, 3])],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "m", "v")],
                          inits)
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]), sys.argv[1])
PY
expect 0 "info: training-mode BatchNorm" "$BIN" info "$TMP/bn_training.onnx" &&
  check "info: says prune refuses training-mode BatchNorm" contains "$OUT" "none: cannot prune a model calling"
expect_error "info: missing file" "$TMP/missing.onnx" "$BIN" info "$TMP/missing.onnx"
expect_error "info: missing model argument" "missing MODEL.onnx" "$BIN" info
expect_error "info: extra argument" "unexpected argument 'extra'" "$BIN" info "$MLP" extra
expect_error "info: unknown flag" "unknown flag '--frob'" "$BIN" info "$MLP" --frob

# ---- malformed model files: exit 2, never a crash --------------------------------------
: >"$TMP/empty.onnx"
expect_error "empty file" "empty.onnx" "$BIN" info "$TMP/empty.onnx"
printf 'this is not an ONNX model\n' >"$TMP/garbage.onnx"
expect_error "garbage file" "garbage.onnx" "$BIN" info "$TMP/garbage.onnx"
head -c 200 "$MLP" >"$TMP/truncated.onnx"
expect_error "truncated file" "truncated.onnx" "$BIN" info "$TMP/truncated.onnx"
expect_error "truncated file (prune)" "truncated.onnx" "$BIN" prune "$TMP/truncated.onnx" -o "$TMP/x.onnx"
expect_error "truncated file (bench)" "truncated.onnx" "$BIN" bench "$TMP/truncated.onnx"
cp "$MLP" "$TMP/flipped.onnx"
printf '\xff' | dd of="$TMP/flipped.onnx" bs=1 seek=0 conv=notrunc status=none  # an invalid field tag
expect_error "bit-flipped header" "flipped.onnx" "$BIN" info "$TMP/flipped.onnx"
expect_error "directory as model" "$TMP" "$BIN" info "$TMP"
size=$(stat -c %s "$MLP")
crashes=0
for i in $(seq 1 40); do
  offset=$(( (i * 7919) % size ))
  cp "$MLP" "$TMP/fuzz.onnx"
  # shellcheck disable=SC2059  # the format is the byte's escape, built on purpose
  printf "\\x$(printf %02x $(( (i * 37) % 256 )))" | dd of="$TMP/fuzz.onnx" bs=1 seek="$offset" conv=notrunc status=none
  "$BIN" info "$TMP/fuzz.onnx" >/dev/null 2>&1
  not_crashed $? || { crashes=$((crashes + 1)); echo "     crash: byte $offset of mlp.onnx flipped"; }
  head -c $(( (i * 61) % size )) "$MLP" >"$TMP/fuzz.onnx"
  "$BIN" prune "$TMP/fuzz.onnx" -o "$TMP/fuzz_out.onnx" >/dev/null 2>&1
  not_crashed $? || { crashes=$((crashes + 1)); echo "     crash: mlp.onnx truncated to $(( (i * 61) % size )) bytes"; }
done
check "40 flipped bytes and 40 truncations: exit 0 or 2, no crash" test "$crashes" -eq 0

# ---- prune ----------------------------------------------------------------------------
expect 0 "prune mlp --verify" "$BIN" prune "$MLP" -o "$TMP/mlp_pruned.onnx" --verify \
  --report "$TMP/mlp_report.json" --masks-out "$TMP/mlp_masks.json"
check "prune mlp: output written" test -s "$TMP/mlp_pruned.onnx"
check "prune mlp: summary says equivalent" contains "$OUT" "verification: equivalent"
check "prune mlp: stderr empty" test ! -s "$ERR"
check "prune mlp: report verification" grep -q '"equivalent": true' "$TMP/mlp_report.json"
check "prune mlp: report params" grep -q '"params_after": ' "$TMP/mlp_report.json"
check "prune mlp: report flops" grep -q '"flops_before": ' "$TMP/mlp_report.json"
check "prune mlp: report layer shapes" grep -q '"output_after": "\[1, 8\]"' "$TMP/mlp_report.json"
check "prune mlp: fc1 half masked" test "$(zeros_in_mask "$TMP/mlp_masks.json" fc1.weight)" -eq 8
check "prune mlp: fc2 half masked" test "$(zeros_in_mask "$TMP/mlp_masks.json" fc2.weight)" -eq 8
check "prune mlp: output layer fc3 not configured" test "$(compact "$TMP/mlp_masks.json" | grep -c fc3)" -eq 0
expect 0 "info on the pruned mlp" "$BIN" info "$TMP/mlp_pruned.onnx"
check "pruned mlp: fc1 has 8 rows" grep -qE "fc1 .*\[1, 8\]" "$OUT"
for criterion in l1 l2 fpgm; do
  expect 0 "prune convnet --criterion $criterion --verify" "$BIN" prune "$CONV" -o "$TMP/conv_$criterion.onnx" \
    --criterion "$criterion" --verify --masks-out "$TMP/conv_masks_$criterion.json"
  check "prune convnet $criterion: residual producers share one mask" test \
    "$(compact "$TMP/conv_masks_$criterion.json" | grep -o '"conv2.weight":\[[01,]*\]' | cut -d: -f2)" = \
    "$(compact "$TMP/conv_masks_$criterion.json" | grep -o '"stem.weight":\[[01,]*\]' | cut -d: -f2)"
done
expect 0 "run the pruned convnet" "$BIN" run "$TMP/conv_l1.onnx" --input "$DATA/convnet_input_0.pb" --output-dir "$TMP/conv_run"
check "pruned convnet: output shape kept" test "$(stat -c %s "$TMP/conv_run/output_0.pb")" -eq \
  "$(stat -c %s "$DATA/convnet_output_0.pb")"
printf '{"groups": [{"tensor_fqn": "stem.weight"}, {"tensor_fqn": "dw.weight"}]}' >"$TMP/dw.json"
expect 0 "config naming a depthwise conv: it follows its group" "$BIN" prune "$CONV" -o "$TMP/x.onnx" \
  --config "$TMP/dw.json" --verify --masks-out "$TMP/dw_masks.json"
expect 0 "info on it" "$BIN" info "$TMP/x.onnx"
check "depthwise conv follows the stem's group" grep -qE "^dw .*\[1, 4, 8, 8\]" "$OUT"
expect 0 "prune convnet --round-to 3 --sparsity 0.3" "$BIN" prune "$CONV" -o "$TMP/conv_r.onnx" --round-to 3 \
  --sparsity 0.3 --verify --masks-out "$TMP/conv_r_masks.json"
check "round-to 3: conv1 keeps 6 of 8" test "$(zeros_in_mask "$TMP/conv_r_masks.json" conv1.weight)" -eq 2
expect 0 "prune convnet --sparsity 1: no layer pruned to zero width" "$BIN" prune "$CONV" -o "$TMP/conv_1.onnx" \
  --sparsity 1 --verify
expect 0 "prune convnet --global" "$BIN" prune "$CONV" -o "$TMP/conv_g.onnx" --global --verify
expect 0 "prune convnet --sparsity=0" "$BIN" prune "$CONV" -o "$TMP/conv_0.onnx" --sparsity=0 --report "$TMP/conv_0.json"
check "sparsity 0: params unchanged" test "$(grep -o '"params_before": [0-9]*' "$TMP/conv_0.json" | cut -d' ' -f2)" = \
  "$(grep -o '"params_after": [0-9]*' "$TMP/conv_0.json" | cut -d' ' -f2)"
expect 0 "prune lstm --verify" "$BIN" prune "$LSTM" -o "$TMP/lstm_pruned.onnx" --verify --masks-out "$TMP/lstm_masks.json"
check "prune lstm: half the hidden units" test "$(zeros_in_mask "$TMP/lstm_masks.json" lstm.weight_ih_l0)" -eq 4
expect 0 "run the pruned lstm" "$BIN" run "$TMP/lstm_pruned.onnx" --input "$DATA/lstm_input_0.pb" --output-dir "$TMP/lstm_run"

# Pools padded on one side (auto_pad SAME_UPPER / SAME_LOWER): channels pass through them.
ASYM=$DATA/asympool.onnx
expect 0 "prune asympool --sparsity 0.5 --verify" "$BIN" prune "$ASYM" -o "$TMP/asym.onnx" \
  --sparsity 0.5 --verify --masks-out "$TMP/asym_masks.json"
check "prune asympool: half of conv1's channels" test "$(zeros_in_mask "$TMP/asym_masks.json" conv1.weight)" -eq 4
expect 0 "run the pruned asympool" "$BIN" run "$TMP/asym.onnx" --input "$DATA/asympool_input_0.pb" --output-dir "$TMP/asym_run"

# Exactness: with prune_bias false a pruned conv1 channel is relu(bias) > 0 entering a
# zero-padded conv; exact mode keeps it (report says why), approximate mode removes it.
expect 0 "prune padconv --verify" "$BIN" prune "$PAD" -o "$TMP/pad.onnx" --verify
expect 0 "prune padconv --no-prune-bias keeps channels" "$BIN" prune "$PAD" -o "$TMP/pad_keep.onnx" \
  --no-prune-bias --verify --report "$TMP/pad_keep.json"
check "kept channels in the summary" contains "$OUT" "conv1: ["
check "kept channels in the report" grep -q '"kept_reason": ".\+"' "$TMP/pad_keep.json"
expect 1 "prune padconv --approximate --verify: exit 1" "$BIN" prune "$PAD" -o "$TMP/pad_approx.onnx" \
  --no-prune-bias --approximate --verify --report "$TMP/pad_approx.json"
check "approximate: summary says DIFFERENT" contains "$OUT" "DIFFERENT"
check "approximate: model still written" test -s "$TMP/pad_approx.onnx"
check "approximate: report says not equivalent" grep -q '"equivalent": false' "$TMP/pad_approx.json"
expect 0 "prune padconv --approximate without --verify" "$BIN" prune "$PAD" -o "$TMP/pad_approx2.onnx" \
  --no-prune-bias --approximate

# ---- prune with CONFIG.json -------------------------------------------------------------
expect 0 "config naming an ONNX initializer" "$BIN" prune "$MLP" -o "$TMP/mlp_cfg.onnx" \
  --config "$DATA/mlp_config_onnx_name.json" --masks-out "$TMP/mlp_cfg_masks.json" --verify
check "config: fc1 (onnx::MatMul name) at 0.25" test "$(zeros_in_mask "$TMP/mlp_cfg_masks.json" fc1.weight)" -eq 4
check "config: fc2 at the default 0.5" test "$(zeros_in_mask "$TMP/mlp_cfg_masks.json" fc2.weight)" -eq 8
printf '{"defaults": {"sparsity_level": 0.25}}' >"$TMP/defaults.json"
expect 0 "config defaults only" "$BIN" prune "$MLP" -o "$TMP/mlp_d.onnx" --config "$TMP/defaults.json" \
  --masks-out "$TMP/mlp_d_masks.json"
check "config defaults: every layer at 0.25" test "$(zeros_in_mask "$TMP/mlp_d_masks.json" fc2.weight)" -eq 4
expect 0 "--sparsity overrides config defaults" "$BIN" prune "$MLP" -o "$TMP/mlp_d2.onnx" --config "$TMP/defaults.json" \
  --sparsity 0.75 --masks-out "$TMP/mlp_d2_masks.json"
check "flag wins: fc2 at 0.75" test "$(zeros_in_mask "$TMP/mlp_d2_masks.json" fc2.weight)" -eq 12
printf '{"groups": [{"tensor_fqn": "conv1.weight", "mask": [1, 0, 1, 0, 1, 1, 1, 1]}]}' >"$TMP/mask.json"
expect 0 "config explicit mask" "$BIN" prune "$PAD" -o "$TMP/pad_mask.onnx" --config "$TMP/mask.json" \
  --masks-out "$TMP/pad_mask_masks.json" --verify
check "explicit mask applied as is" test "$(compact "$TMP/pad_mask_masks.json")" = '{"conv1.weight":[1,0,1,0,1,1,1,1]}'
printf '{"defaults": {"ignored_layers": "fc1"}}' >"$TMP/ignored.json"
expect 0 "config ignored_layers" "$BIN" prune "$MLP" -o "$TMP/mlp_i.onnx" --config "$TMP/ignored.json" \
  --masks-out "$TMP/mlp_i_masks.json" --verify
check "ignored layer fc1 keeps every channel" test "$(compact "$TMP/mlp_i_masks.json" | grep -c fc1)" -eq 0
check "fc2 still pruned" test "$(zeros_in_mask "$TMP/mlp_i_masks.json" fc2.weight)" -eq 8
printf '{"groups": [{"tensor_fqn": "conv9.weight"}]}' >"$TMP/unknown.json"
expect_error "config: unknown tensor" "config group 0: no tensor named 'conv9.weight'" \
  "$BIN" prune "$PAD" -o "$TMP/x.onnx" --config "$TMP/unknown.json"
printf '{"groups": [{"tensor_fqn": "conv1.weight", "mask": [1, 0, 1]}]}' >"$TMP/short.json"
expect_error "config: mask of the wrong length" "config group 0 ('conv1.weight'): mask has 3 entries, expected 8" \
  "$BIN" prune "$PAD" -o "$TMP/x.onnx" --config "$TMP/short.json"
printf '{"groups": [{"tensor_fqn": "conv1.weight", "mask": [1, 0, 2, 1, 1, 1, 1, 1]}]}' >"$TMP/badmask.json"
expect_error "config: mask entry not 0/1" "'mask' entry 2 is 2, expected 0 or 1" \
  "$BIN" prune "$PAD" -o "$TMP/x.onnx" --config "$TMP/badmask.json"
printf '{"groups": [{"tensor_fqn": "act.weight"}]}' >"$TMP/notprunable.json"
expect 2 "config: tensor that is not prunable" "$BIN" prune "$PAD" -o "$TMP/x.onnx" --config "$TMP/notprunable.json"
printf '{"defaults": {"sparsity_level": 0.5,}}' >"$TMP/invalid.json"
expect_error "config: invalid JSON" "not valid JSON: parse error at line 1" \
  "$BIN" prune "$PAD" -o "$TMP/x.onnx" --config "$TMP/invalid.json"
expect_error "config: missing file" "cannot read CONFIG '$TMP/none.json'" \
  "$BIN" prune "$PAD" -o "$TMP/x.onnx" --config "$TMP/none.json"

# ---- prune: bad flags -------------------------------------------------------------------
expect_error "--sparsity 1.5" "--sparsity must be in [0, 1], got 1.5" "$BIN" prune "$MLP" -o "$TMP/x.onnx" --sparsity 1.5
expect_error "--sparsity abc" "invalid value 'abc' for --sparsity: expected a number" \
  "$BIN" prune "$MLP" -o "$TMP/x.onnx" --sparsity abc
expect_error "--sparsity without value" "flag --sparsity needs a value" "$BIN" prune "$MLP" -o "$TMP/x.onnx" --sparsity
expect_error "--criterion l3" "--criterion must be l1, l2 or fpgm, got 'l3'" "$BIN" prune "$MLP" -o "$TMP/x.onnx" --criterion l3
expect_error "--round-to 0" "--round-to must be at least 1, got 0" "$BIN" prune "$MLP" -o "$TMP/x.onnx" --round-to 0
expect_error "fpgm with --global" "--global and --round-to need a criterion with channel scores" \
  "$BIN" prune "$MLP" -o "$TMP/x.onnx" --criterion fpgm --global
expect_error "missing -o" "missing -o OUT.onnx" "$BIN" prune "$MLP"
expect_error "flag of another command" "unknown flag '--iters'" "$BIN" prune "$MLP" -o "$TMP/x.onnx" --iters 3
expect_error "missing model" "missing.onnx" "$BIN" prune "$TMP/missing.onnx" -o "$TMP/x.onnx"
expect 2 "unwritable output" "$BIN" prune "$MLP" -o "$TMP/no/such/dir/out.onnx"
expect 2 "unwritable report" "$BIN" prune "$MLP" -o "$TMP/x.onnx" --report "$TMP/no/such/dir/r.json"

# ---- run --------------------------------------------------------------------------------
for model in mlp convnet lstm padconv asympool; do
  expect 0 "run $model" "$BIN" run "$DATA/$model.onnx" --input "$DATA/${model}_input_0.pb" --output-dir "$TMP/run_$model"
  check "run $model: output_0.pb like PyTorch's" test "$(stat -c %s "$TMP/run_$model/output_0.pb")" -eq \
    "$(stat -c %s "$DATA/${model}_output_0.pb")"
done
# With Python's onnx and numpy at hand, compare the values too (CI may lack them).
if python3 -c 'import onnx, numpy' 2>/dev/null; then
  for model in mlp convnet lstm padconv asympool; do
    check "run $model: values match PyTorch" python3 -c '
import sys, numpy as np, onnx, onnx.numpy_helper as h
a = h.to_array(onnx.load_tensor(sys.argv[1])); b = h.to_array(onnx.load_tensor(sys.argv[2]))
sys.exit(0 if a.shape == b.shape and np.abs(a - b).max() <= 1e-4 * max(1.0, np.abs(b).max()) else 1)' \
      "$TMP/run_$model/output_0.pb" "$DATA/${model}_output_0.pb"
  done
fi
expect_error "run: wrong input shape" "expected float32 [1, 8], got float32 [1, 3, 8, 8]" "$BIN" run "$MLP" --input "$DATA/convnet_input_0.pb" --output-dir "$TMP/r"
expect 2 "run: wrong input shape (static dims)" "$BIN" run "$PAD" --input "$DATA/mlp_input_0.pb" --output-dir "$TMP/r"
expect_error "run: two inputs for one" "got 2" "$BIN" run "$MLP" --input "$DATA/mlp_input_0.pb" \
  --input "$DATA/mlp_input_0.pb" --output-dir "$TMP/r"
expect_error "run: missing --input" "missing --input" "$BIN" run "$MLP" --output-dir "$TMP/r"
expect_error "run: missing --output-dir" "missing --output-dir" "$BIN" run "$MLP" --input "$DATA/mlp_input_0.pb"
head -c 20 "$DATA/mlp_input_0.pb" >"$TMP/short_input.pb"
expect_error "run: truncated input" "short_input.pb" "$BIN" run "$MLP" --input "$TMP/short_input.pb" --output-dir "$TMP/r"
expect_error "run: missing input file" "nothing.pb" "$BIN" run "$MLP" --input "$TMP/nothing.pb" --output-dir "$TMP/r"
touch "$TMP/a_file"
expect_error "run: output dir is a file" "cannot create output directory" "$BIN" run "$MLP" \
  --input "$DATA/mlp_input_0.pb" --output-dir "$TMP/a_file"

# ---- bench ------------------------------------------------------------------------------
expect 0 "bench" "$BIN" bench "$CONV" --iters 5 --warmup 1 && check "bench: median and p90" grep -q "median .* ms, p90 .* ms" "$OUT"
expect 0 "bench --json" "$BIN" bench "$MLP" --iters 7 --warmup 0 --json --threads 2
check "bench --json: exactly the three keys" grep -qxE \
  '\{"median_ms": [0-9]+\.[0-9]+, "p90_ms": [0-9]+\.[0-9]+, "throughput": [0-9]+\.[0-9]+\}' "$OUT"
check "bench --json: one line" test "$(wc -l <"$OUT")" -eq 1
expect_error "bench --iters 0" "--iters must be in [1, 10000000], got 0" "$BIN" bench "$MLP" --iters 0
expect_error "bench --threads abc" "invalid value 'abc' for --threads: expected an integer" "$BIN" bench "$MLP" --threads abc
expect_error "bench --warmup -1" "--warmup must be in [0, 10000000], got -1" "$BIN" bench "$MLP" --warmup -1

# ---- demo -------------------------------------------------------------------------------
expect 0 "demo" "$BIN" demo && check "demo: verified" contains "$OUT" "equivalence (pruned vs masked"
expect_error "demo takes no arguments" "unexpected argument" "$BIN" demo extra

# ---- the golden ONNX models, when given ---------------------------------------------------
if [[ -n $GOLDEN ]]; then
  for dir in "$GOLDEN"/*/; do
    name=$(basename "$dir")
    [[ -f $dir/model.onnx ]] || continue
    inputs=()
    for f in "$dir"/input_*.pb; do inputs+=(--input "$f"); done
    expect 0 "golden $name: info" "$BIN" info "$dir/model.onnx"
    expect 0 "golden $name: prune --verify" "$BIN" prune "$dir/model.onnx" -o "$TMP/golden.onnx" --verify
    expect 0 "golden $name: run" "$BIN" run "$dir/model.onnx" "${inputs[@]}" --output-dir "$TMP/golden_run"
    rm -rf "$TMP/golden_run"
  done
  for model in "$GOLDEN"/bad/*.onnx; do
    [[ -f $model ]] && expect 2 "golden bad/$(basename "$model"): info" "$BIN" info "$model"
  done
fi

echo "$((count - failures)) of $count checks passed"
[[ $failures -eq 0 ]]
