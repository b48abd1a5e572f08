#!/usr/bin/env bash
# test_new_op.sh — "an op is one file and one line; an activation one line more", proved:
# in a scratch copy of the tree, add ops/hardtanh.c and its registry line, and hardtanh to
# BP_ACT_LIST; regenerate the op tables with `bptt ops --update` (no table edited by
# hand); build; then the registry-wide op check, the docs check and a model file that
# uses the activation (gradient-checked, trained a few steps) must all pass there.
#   usage: tests/test_new_op.sh SOURCE_DIR [CMAKE]
set -euo pipefail
src=$1
cmake_bin=${2:-cmake}
scratch=$(mktemp -d /tmp/bptt_new_op_XXXXXX)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "test_new_op: $*" >&2; exit 1; }

# the tree as git sees it (tracked and untracked, not ignored), without build folders
(cd "$src" && git ls-files -co --exclude-standard -z) |
  (cd "$src" && xargs -0 cp --parents -t "$scratch") 2>/dev/null ||
  fail "cannot copy the tree (is $src a git checkout?)"
cd "$scratch"

cat > ops/hardtanh.c <<'OP'
/* hardtanh — y = clamp(x, -1, 1): a throwaway op of tests/test_new_op.sh. */
#include "op_util.h"

static void hardtanh_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    for (size_t i = 0; i < n->size; i++) {
        bp_real x = X(n)->value[i];
        n->value[i] = x < -1 ? -1 : x > 1 ? 1 : x;
    }
}

/* dx += dy [|x| < 1] */
static void hardtanh_backward(bp_node *n)
{
    for (size_t i = 0; i < n->size; i++)
        X(n)->grad[i] += X(n)->value[i] > -1 && X(n)->value[i] < 1 ? n->grad[i] : 0;
}

const bp_op bp_op_hardtanh = {
    .name = "hardtanh",
    .n_in = BP_OP_NIN(hardtanh),
    .n_attr = BP_OP_NATTR(hardtanh),
    .formula = "y = clamp(x, -1, 1)",
    .inputs_doc = "x",
    .grad_formula = "dx += dy [|x| < 1]",
    .shape = bp_shape_like_input,
    .forward = hardtanh_forward,
    .backward = hardtanh_backward,
    .check = {.n_cases = 3, .make_case = bp_case_unary, .lo = -2, .hi = 2, .kinks = {-1, 1},
              .n_kinks = 2},
};
OP
echo "BP_OP(hardtanh, 1, 0)" >> ops/registry.def
# the activation: one line in BP_ACT_LIST (no fused rnn op: the rnn records it unfused)
sed -i 's|^    X(RELU, "relu", bp_relu, bp_rnn_relu)$|    X(RELU, "relu", bp_relu, bp_rnn_relu) \\\n    X(HARDTANH, "hardtanh", bp_hardtanh, NULL)|' layers/bptt_layers.h
grep -q 'X(HARDTANH' layers/bptt_layers.h || fail "could not add the activation line"

"$cmake_bin" -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
"$cmake_bin" --build build -j"$(nproc)" --target bptt_cli bptt_cli_f64 test_ops test_docs >/dev/null
./build/bptt ops --update README.md docs/ops.md
grep -q '| hardtanh |' docs/ops.md || fail "docs/ops.md's table has no hardtanh"
export OPENBLAS_NUM_THREADS=1
./build/tests/test_ops --jobs 2 >/dev/null 2>&1 || fail "the registry-wide op check failed"
./build/tests/test_docs >/dev/null 2>&1 || fail "the docs check failed"
./build/bptt gradcheck --ops | grep -q '^hardtanh .* pass$' || fail "gradcheck --ops lacks hardtanh"
cat > m.yaml <<'YAML'
model:
  layers:
    - {type: rnn, hidden: 6, activation: hardtanh}
    - {type: linear, size: 4, activation: hardtanh}
data: {task: adding, steps: 5}
train: {batch: 4, steps: 20, eval_batch: 4}
YAML
./build/bptt gradcheck m.yaml --batch-size 2 >gc.out 2>&1 || { cat gc.out; fail "gradcheck of a hardtanh model"; }
./build/bptt train m.yaml --quiet >/dev/null || fail "training a hardtanh model"
echo "test_new_op: an op in one file and one line, an activation in one more: all checks pass"
