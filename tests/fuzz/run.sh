#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan + UBSan) and run each for a bounded time.
# Fails on any crash, leak, timeout (25 s per input), out-of-memory (2 GiB) or sanitizer
# report; the input that caused it is left in BUILD/tests/fuzz/artifacts/. Prints the
# executions per target.
#   usage: tests/fuzz/run.sh [SECONDS_PER_TARGET (60)] [BUILD_DIR (build-fuzz)]
#   (FUZZ_TARGETS="npy csv" runs only those, of: model safetensors npy csv dataset)
#   reproduce: BUILD/tests/fuzz/fuzz_model ARTIFACT   (or fuzz_safetensors, fuzz_npy, fuzz_csv)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
dir=${2:-build-fuzz}
CC=${FUZZ_CC:-clang} cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPTT_FUZZ=ON \
  >/dev/null
cmake --build "$dir" -j"$(nproc)" --target fuzz_model fuzz_safetensors fuzz_npy fuzz_csv fuzz_dataset \
  fuzz_seeds >/dev/null
fz=$dir/tests/fuzz
export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# one target per core at a time (each for the same time), reported in the list's order
fuzz_one() {
  local target=$1 corpus=$fz/corpus/$1 art=$fz/artifacts/$1 log=$fz/$1.log rc=0
  mkdir -p "$corpus" "$art"
  local dict=()
  [ -f "tests/fuzz/$target.dict" ] && dict=(-dict="tests/fuzz/$target.dict")
  "$fz/fuzz_$target" "$corpus" "$fz/seeds/$target" "tests/data/fuzz/$target" "${dict[@]}" -max_total_time="$secs" \
    -timeout=25 -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art/" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$fz/$target.rc"
}
targets=${FUZZ_TARGETS:-model safetensors npy csv dataset}
jobs=$(nproc)
for target in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$target" &
done
wait
failed=0
for target in $targets; do
  art=$fz/artifacts/$target
  log=$fz/$target.log
  rc=$(cat "$fz/$target.rc" 2>/dev/null || echo 1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  echo "fuzz_$target: ${runs:-?} executions in ${secs} s, ${cov:-cov ?}, corpus $(ls "$fz/corpus/$target" | wc -l) files, exit $rc"
  if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$art")" ]; then
    echo "fuzz_$target FAILED; the end of $log:"
    tail -40 "$log"
    ls -l "$art"
    failed=1
  fi
done
exit $failed
