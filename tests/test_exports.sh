#!/usr/bin/env bash
# test_exports.sh — the shared libraries export exactly the documented API: every symbol
# libbptt and libbptt_f64 define for others is declared in an installed header (the
# bptt_*.h files and registry.def), and nothing internal leaks. Prints the counts.
#   usage: tests/test_exports.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
headers=$(ls "$src"/*/bptt_*.h "$src"/models/*/bptt_*.h)
# the names a header declares: identifiers in it, plus the op wrappers and descriptors
# that registry.def's lines make (bp_<op>, bp_op_<op>)
declared=$( (cat $headers | grep -o '\bbp_[A-Za-z0-9_]*' ;
             sed -n 's/^BP_OP(\([a-z_0-9]*\),.*/bp_\1\nbp_op_\1/p' "$src/ops/registry.def") |
           sort -u)
status=0
for lib in libbptt.so libbptt_f64.so; do
  # (names starting with _ are the toolchain's: a sanitizer's instrumentation, _init...)
  exported=$(nm -D --defined-only "$build/$lib" | awk '$2 ~ /^[TDRBV]$/ && $3 !~ /^_/ {print $3}' | sort -u)
  n=$(wc -l <<<"$exported")
  undeclared=$(comm -23 <(echo "$exported") <(echo "$declared"))
  if [ -n "$undeclared" ]; then
    echo "$lib exports symbols no installed header declares:"
    echo "$undeclared" | sed 's/^/  /'
    status=1
  fi
  echo "$lib: $n exported symbols, all declared in installed headers: $([ -z "$undeclared" ] && echo yes || echo no)"
done
exit $status
