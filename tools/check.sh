#!/usr/bin/env bash
# Build bptt and run the whole test suite. With --sanitize: the same in a separate
# AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/), where any report of
# either (a leak included) fails the run: each process writes its reports to
# build-asan/sanitizer/, since Criterion counts a test whose worker reports a leak as
# passed once its body has returned.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
dir=build
flags=(-DCMAKE_BUILD_TYPE=Release)
reports= # the sanitizer build's report folder
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPTT_SANITIZE=ON)
  reports=$PWD/$dir/sanitizer
  rm -rf "$reports"
  mkdir -p "$reports"
  export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:log_path=$reports/asan
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:log_path=$reports/ubsan
fi
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
rc=0
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" || rc=$?
if [ -n "$reports" ] && [ -n "$(ls -A "$reports")" ]; then
  echo "sanitizer reports (tools/check.sh --sanitize fails on any):"
  for f in "$reports"/*; do echo "== $f"; head -40 "$f"; done
  rc=1
fi
exit $rc
