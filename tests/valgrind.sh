#!/usr/bin/env bash
# The whole test suite under valgrind memcheck, then the bptt commands themselves.
# Fails on any invalid read or write, use of uninitialised memory or bad free, and, in
# the commands' pass, on a leak (definitely or indirectly lost). The tests' workers are
# not leak-checked here: the scan at each worker's exit cost about 0.9 s of the ~3.5 s a
# worker takes, and LeakSanitizer already fails any leak of any test or of the commands
# they start (tools/check.sh --sanitize). Criterion runs each test in a worker it executes
# anew, so --trace-children follows the workers; the bptt binaries that tests start
# (and the shell) run natively there — they get their own pass at the end; children
# that tests fork (kill -9 writers, file-size-limited runs) are not reported.
# Left out by default: test_f32_learning, which trains to convergence (2 s natively, ten
# minutes under valgrind) through code paths the other tests cover; and the tests that
# drive the bptt command line (test_cli*, *_cli, test_mpi, test_badinput, _hostile,
# _data): their bptt processes run natively here whatever the script does, so memcheck
# would see only their workers' start and the reading of an output (some 70 workers,
# 1.5 minutes of the stage); the commands' pass below is theirs.
#   usage: tests/valgrind.sh [BUILD_DIR (build)] [ctest -R regex]
#   env:   VALGRIND_EXCLUDE (a ctest -E regex; default: those above)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
filter=${2:-}
logs=$build/valgrind
rm -rf "$logs"
mkdir -p "$logs"
export OPENBLAS_NUM_THREADS=1 BPTT_UNDER_VALGRIND=1
vg=(valgrind -q --trace-children=yes --child-silent-after-fork=yes
    "--trace-children-skip=*/bptt,*/bptt-f64,/bin/*,/usr/bin/*"
    --leak-check=no --track-origins=no --suppressions="$PWD/tests/valgrind.supp")
leaks=(--leak-check=full --show-leak-kinds=definite,indirect
       --errors-for-leak-kinds=definite,indirect)
exclude=${VALGRIND_EXCLUDE-'learning|test_cli|_cli$|test_mpi|test_badinput(_hostile|_data)?$'}
tests=$(ctest --test-dir "$build" -N ${filter:+-R "$filter"} ${exclude:+-E "$exclude"} |
        sed -n 's/^ *Test *#[0-9]*: //p')
# Longest first, so that no long executable starts last while the other core idles. Under
# valgrind a Criterion test costs about 2 s of start-up (each runs in a worker executed
# anew: the loader, OpenBLAS's and Criterion's own start) plus ~50 times its native time,
# which the README's test run left in ctest's cost file (0 where there is none).
costs=$build/Testing/Temporary/CTestCostData.txt
tests=$(for t in $tests; do
          n=0
          [ -x "$build/tests/$t" ] && n=$("$build/tests/$t" --list 2>/dev/null | grep -c '[├└]' || true)
          native=$(awk -v t="$t" '$1 == t {print $3}' "$costs" 2>/dev/null)
          awk -v t="$t" -v n="$n" -v s="${native:-0}" 'BEGIN {printf "%d %s\n", 2 * n + 50 * s, t}'
        done | sort -rn | awk '{print $2}')
failed=0
# one test executable per core at a time, each with one Criterion job
one() {
  local t=$1 start=$SECONDS rc=0
  if [ ! -x "$build/tests/$t" ]; then
    echo "valgrind $t: not a test executable, skipped"
    return 0
  fi
  (cd "$build/tests" && "${vg[@]}" --log-file="$logs/$t.%p.log" "./$t" --jobs 1 \
     >"$logs/$t.out" 2>&1) || rc=$?
  echo "valgrind $t: exit $rc, $((SECONDS - start)) s"
  if [ "$rc" -ne 0 ]; then
    tail -20 "$logs/$t.out"
    touch "$logs/FAILED"
  fi
}
export -f one
export build logs
export VG="${vg[*]}"
printf '%s\n' $tests | xargs -P "$(nproc)" -I{} bash -c 'set -f; vg=($VG); one {}'
[ -e "$logs/FAILED" ] && failed=1
if [ -z "$filter" ]; then
  # the command line itself: every subcommand that reads or writes a file
  m=$PWD/models
  tiny=(--set 'model.layers[0].hidden=8' --set train.batch=2 --set train.eval_batch=2
        --set data.steps=4)
  b=$build/bptt
  w=$logs/work
  mkdir -p "$w"
  run() { "${vg[@]}" "${leaks[@]}" --log-file="$logs/bptt.%p.log" "$@" >>"$logs/bptt.out" 2>&1; }
  run "$b" train "$m/tanh_adding.yaml" "${tiny[@]}" --steps 3 --quiet --out "$w/ck.st" \
    --log "$w/log.csv" || failed=1
  run "$b" train "$m/tanh_adding.yaml" "${tiny[@]}" --steps 5 --quiet --resume "$w/ck.st" \
    --out "$w/ck2.st" || failed=1
  run "$b" init "$m/char_lstm.yaml" --set data.steps=8 --out "$w/w.st" || failed=1
  run "$b" batch "$m/gru_copy.yaml" --set data.steps=3 --size 2 --out "$w/b.st" || failed=1
  run "$b" eval "$m/gru_copy.yaml" --set data.steps=3 --batch "$w/b.st" || failed=1
  run "$b" grads "$m/tanh_adding.yaml" "${tiny[@]}" --weights "$w/ck.st" \
    --batch "$w/ck.st" --out "$w/g.st" && failed=1 # a checkpoint is not a batch: exit 2
  run "$b" summary "$m/graph_lnrnn.yaml" || failed=1
  run "$b" summary "$m/stacked_skip.yaml" --set 'model.layers[0].hidden=65536' && failed=1
  run "$b" eval "$m/tanh_adding.yaml" "${tiny[@]}" --weights "$w/b.st" && failed=1
  echo "valgrind bptt commands: done"
fi
# with -q, valgrind writes a log line only for an error
bad=$(find "$logs" -name '*.log' -size +0 | sort)
if [ -n "$bad" ]; then
  echo "valgrind found errors:"
  for f in $bad; do echo "== $f"; head -60 "$f"; done
  failed=1
fi
exit $failed
