#!/usr/bin/env bash
# test_digits.sh BPTT SOURCE_DIR BUILD_DIR
#
# The worked example on a real data set still works (docs/experiments.md, "5. Digits"):
#  1. tools/get_digits.sh writes the UCI optical digits into BUILD_DIR/digits/digits.csv
#     (skipped, exit 77, when the package cannot be obtained: no apt, no network);
#  2. the CSV has 1797 rows of 64 pixels and a label;
#  3. the shipped row-by-row LSTM (models/digits_lstm.yaml, T = 8, I = 8), trained for a
#     few hundred steps, scores a held-out accuracy well above the majority-class
#     baseline on the 297 held-out images, as `bptt eval` reports it.
set -euo pipefail

bptt=$1 src=$2 build=$3
steps=${DIGITS_TEST_STEPS:-400}
export OPENBLAS_NUM_THREADS=1
fail() { echo "FAIL: $*" >&2; exit 1; }

csv=$build/digits/digits.csv
if ! bash "$src/tools/get_digits.sh" "$csv"; then
    echo "SKIP: the digits could not be obtained (tools/get_digits.sh failed; see above)"
    exit 77
fi

rows=$(wc -l <"$csv")
[ "$rows" -eq 1797 ] || fail "$csv has $rows rows, not 1797"
awk -F, 'NF != 65 { print "row " NR " has " NF " cells"; bad = 1; exit } END { exit bad }' \
    "$csv" || fail "$csv: every row must hold 64 pixels and a label"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bptt_digits_test_XXXXXX")
trap 'rm -rf "$tmp"' EXIT
model=$src/models/digits_lstm.yaml
set_data=(--set "data.train=$csv")

"$bptt" train "$model" "${set_data[@]}" --steps "$steps" --quiet \
    --out "$tmp/ck.safetensors" --log "$tmp/log.csv" >"$tmp/train.out" 2>&1 ||
    { cat "$tmp/train.out"; fail "bptt train $model --steps $steps"; }
"$bptt" eval "$model" "${set_data[@]}" --weights "$tmp/ck.safetensors" >"$tmp/eval.out" 2>&1 ||
    { cat "$tmp/eval.out"; fail "bptt eval $model"; }
cat "$tmp/eval.out"

# "... on the validation set (297 sequences): loss L  accuracy A"
# "baseline (...): loss L  accuracy B"
acc=$(awk '/validation set/ { for (i = 1; i < NF; i++) if ($i == "accuracy") print $(i + 1); exit }' "$tmp/eval.out")
base=$(awk '/^baseline/ { for (i = 1; i < NF; i++) if ($i == "accuracy") print $(i + 1); exit }' "$tmp/eval.out")
n=$(sed -n 's/.*validation set (\([0-9]*\) sequences).*/\1/p' "$tmp/eval.out" | head -n 1)
[ -n "$acc" ] || fail "no held-out accuracy in bptt eval's output"
[ "$n" = 297 ] || fail "bptt eval used ${n:-?} held-out sequences, not the last 297 rows"
# the majority class of the first 1500 rows, its share of the last 297: the baseline
major=$(awk -F, 'NR <= 1500 { c[$65]++ } NR > 1500 { v[NR] = $65 }
    END { b = 0; for (k = 1; k <= 9; k++) if (c[k] > c[b]) b = k
          for (r in v) h += v[r] == b; printf "%.6f", h / 297 }' "$csv")
[ -z "$base" ] || awk -v a="$base" -v b="$major" 'BEGIN { exit !(a - b < 1e-5 && b - a < 1e-5) }' ||
    fail "bptt eval's baseline accuracy $base is not the majority class's share $major"
awk -v a="$acc" -v b="$major" 'BEGIN { exit !(a > 0.5 && a > b + 0.3) }' ||
    fail "held-out accuracy $acc after $steps steps: not well above the majority-class baseline $major (want > 0.5)"
echo "PASS: held-out accuracy $acc after $steps steps (majority-class baseline $major)"
