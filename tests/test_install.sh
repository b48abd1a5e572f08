#!/usr/bin/env bash
# test_install.sh CMAKE BUILD_DIR SOURCE_DIR CC SANITIZE
#
# The documentation's programs build and run against the INSTALLED library:
#  1. `cmake --install BUILD_DIR --prefix TMP` (a prefix other than the configured one);
#  2. pkg-config, with PKG_CONFIG_PATH pointing into TMP only, gives flags inside TMP;
#  3. every example under docs/examples/ is copied out of the tree and built with the
#     very `cc ...` line its header comment shows (plus -Wall -Wextra -Werror), so the
#     headers it needs must have been installed; it runs with the line the comment
#     shows, must exit 0 and print what the docs say it prints, and must load the
#     library from TMP;
#  4. code quoted in docs/*.md under a `<!-- from docs/examples/FILE -->` marker is
#     still in FILE, line for line.
# In a sanitizer build (SANITIZE=ON) the installed library is instrumented, so the
# examples are built with the same -fsanitize flags: they then run under ASan+UBSan.
set -euo pipefail

cmake_cmd=$1 build=$2 src=$3 compiler=${4:-cc} sanitize=${5:-OFF}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bptt_install_XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. install
prefix=$tmp/prefix
"$cmake_cmd" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "cmake --install $build --prefix $prefix"; }
prefix=$(cd "$prefix" && pwd -P)
pc=$(find "$prefix" -name bptt.pc -print -quit)
[ -n "$pc" ] || fail "no bptt.pc under $prefix"
[ -f "$(dirname "$pc")/bptt_f64.pc" ] || fail "no bptt_f64.pc beside $pc"

# 2. pkg-config sees only the prefix
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
for lib in bptt bptt_f64; do
  flags=$(pkg-config --cflags --libs "$lib") || fail "pkg-config $lib"
  echo "pkg-config --cflags --libs $lib: $flags"
  case "$flags" in
    *"$prefix"*) ;;
    *) fail "$lib: flags do not point into the prefix $prefix" ;;
  esac
  case "$flags" in
    *"$src"*) fail "$lib: flags point into the source tree $src" ;;
  esac
done
libdir=$(cd "$(pkg-config --variable=libdir bptt)" && pwd -P)
# the installed programs start on their own (their RPATH), before LD_LIBRARY_PATH is set
for exe in bptt bptt-f64; do
  env -u LD_LIBRARY_PATH "$prefix/bin/$exe" --version >"$tmp/version.out" 2>&1 ||
    { cat "$tmp/version.out"; fail "the installed $exe does not start"; }
done
env -u LD_LIBRARY_PATH "$prefix/bin/bptt" train "$src/models/irnn_adding.yaml" --steps 3 \
  --set train.batch=2 --set train.eval_batch=2 --quiet --out "$tmp/irnn.safetensors" \
  >"$tmp/train.out" 2>&1 ||
  { cat "$tmp/train.out"; fail "the installed bptt cannot train"; }
echo "the installed bptt and bptt-f64 start and train on their own"
# every installed header compiles on its own, and names no file that is not installed
incdir=$(pkg-config --variable=includedir bptt)/bptt
for h in "$incdir"/*.h; do
  echo "#include <$(basename "$h")>" | "$compiler" -std=c11 -Wall -Wextra -Werror -fsyntax-only \
    $(pkg-config --cflags bptt) -x c - || fail "$(basename "$h") does not compile on its own"
  for ref in $(grep -o '[A-Za-z_]*\.md' "$h" | sort -u); do
    [ -f "$prefix/share/doc/bptt/$ref" ] || fail "$(basename "$h") names $ref, which is not installed"
  done
done
echo "installed headers: self-contained, and the pages they name are installed"
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPENBLAS_NUM_THREADS=1

san=()
if [ "$sanitize" = ON ]; then
  san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  echo "sanitizer build: the examples are built with ${san[*]}"
fi
# `cc` in an example's comment means: this compiler, strict, sanitized like the library.
cc() { command "$compiler" -Wall -Wextra -Werror "${san[@]}" "$@"; }

# 3. the examples, built and run as their comments say
cp -R "$src/docs/examples" "$tmp/examples"
# example_run FILE EXPECTED... — build FILE by its comment's `cc` line, run it by its
# comment's `./` line in FILE's folder, check exit 0 and each EXPECTED output line.
example_run() {
  local file=$1
  shift
  local dir
  dir=$(dirname "$tmp/examples/$file")
  local build_line run_line
  build_line=$(sed -n 's/^ \*     \(cc .*\)$/\1/p' "$dir/$(basename "$file")" | head -n 1)
  run_line=$(sed -n 's/^ \*     \(\.\/.*\)$/\1/p' "$dir/$(basename "$file")" | head -n 1)
  [ -n "$build_line" ] || fail "$file: no '*     cc ...' build line in its comment"
  [ -n "$run_line" ] || fail "$file: no '*     ./...' run line in its comment"
  echo "== $file: $build_line"
  (cd "$dir" && eval "$build_line") || fail "$file: the documented build line failed"
  local exe
  exe=$(cd "$dir" && eval "set -- $run_line" && echo "$1")
  if command -v ldd >/dev/null; then
    local libs
    libs=$(ldd "$dir/$exe") # not piped into grep -q: with pipefail, SIGPIPE would fail it
    grep -q "libbptt[_a-z0-9]*\.so.* => $libdir" <<<"$libs" ||
      { echo "$libs"; fail "$file: not linked against the installed library in $libdir"; }
  fi
  echo "== $file: $run_line"
  local out rc=0
  out=$(cd "$dir" && eval "$run_line" 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -eq 0 ] || fail "$file: '$run_line' exited with $rc"
  for want in "$@"; do
    grep -qE -- "$want" <<<"$out" || fail "$file: no output line matching '$want'"
  done
}

example_run train_by_hand.c \
  '^step 0: loss [0-9.]+  \|dL/dW_h\| ' '^mean loss of the last 50 steps: '
example_run own_data/classify.c '^held-out accuracy [0-9.]+ \(majority class ' \
  '^sequence 0 \([0-9]+ steps, label [01]\): p\(0\) '
example_run check_gradients.c '^d/dx: .*, pass ' '^d/dW: .*, pass ' '^d/db: .*, pass '
example_run check_model.c 'Synthesis: Tested: 2 \| Passing: 2 \| Failing: 0'
# the custom op as a plugin: built out of tree by swish.c's own `cc` lines (float and
# double), then used by the installed bptt through --plugin, and bptt-f64 finding the twin
plugdir=$tmp/examples/custom_op
while read -r line; do
  echo "== custom_op/swish.c: $line"
  (cd "$plugdir" && eval "$line") || fail "custom_op/swish.c: '$line' failed"
done < <(sed -n 's/^ \*     \(cc .*\)$/\1/p' "$plugdir/swish.c")
[ -f "$plugdir/libswish.so" ] && [ -f "$plugdir/libswish_f64.so" ] ||
  fail "custom_op/swish.c: its cc lines made no libswish.so and libswish_f64.so"
plugin_run() { # plugin_run EXPECTED ARGS...: the installed bptt with the plugin, in its folder
  local want=$1 out rc=0
  shift
  echo "== custom_op: bptt $* --plugin ./libswish.so"
  out=$(cd "$plugdir" && "$prefix/bin/bptt" "$@" --plugin ./libswish.so 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -eq 0 ] || fail "bptt $* --plugin ./libswish.so exited with $rc"
  grep -qE -- "$want" <<<"$out" || fail "bptt $*: no output line matching '$want'"
}
plugin_run '^eval  step 300: loss ' train swish_rnn.yaml --quiet --out "$tmp/swish.safetensors"
plugin_run '^op swish: 4 cases, all passed$' gradcheck swish_rnn.yaml --set data.steps=5
plugin_run '^checked [0-9]+ elements: 0 failed' gradcheck swish_rnn.yaml --set data.steps=5

# the example's model file is refused without the op: the op really comes from swish.c
if "$prefix/bin/bptt" summary "$tmp/examples/custom_op/swish_rnn.yaml" >"$tmp/cli.out" 2>&1; then
  fail "bptt summary loaded swish_rnn.yaml, which names an op only swish.c registers"
fi
grep -q "unknown op 'swish'" "$tmp/cli.out" ||
  { cat "$tmp/cli.out"; fail "no 'unknown op' message"; }

# 4. quotes in the docs are still in their files
quoted=0
for doc in "$src"/docs/*.md; do
  # lines "FILE<TAB>LANG<TAB>LINE" of every fenced block after a "from" marker
  while IFS=$'\t' read -r file lang line; do
    [ -f "$src/$file" ] || fail "$(basename "$doc"): quotes $file, which does not exist"
    trimmed=${line#"${line%%[![:space:]]*}"}
    case "$trimmed" in "" | "..." | "/* ... */") continue ;; esac
    if [ "$lang" = sh ]; then
      grep -qF -- "$trimmed" "$src/$file" || fail "$(basename "$doc") quotes '$line', not in $file"
    else
      grep -qxF -- "$line" "$src/$file" || fail "$(basename "$doc") quotes '$line', not in $file"
    fi
    quoted=$((quoted + 1))
  done < <(awk '
    /^<!-- from [^ ]+ -->$/ { file = $3; next }
    /^```[a-z]+$/ && !inblock && file { inblock = 1; lang = substr($0, 4); next }
    /^```$/ && inblock { inblock = 0; file = ""; next }
    inblock { print file "\t" lang "\t" $0 }
  ' "$doc")
done
[ "$quoted" -gt 0 ] || fail "no quoted lines found in docs/*.md"
echo "docs: $quoted quoted lines match their files"
echo "install test passed"
