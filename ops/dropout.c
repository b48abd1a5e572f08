/* dropout — y = x * m: m is a constant mask of x's shape whose elements are 0 (dropped)
 * or 1 / (1 - p) (kept, scaled so that E[y] = x: inverted dropout, as PyTorch). The mask
 * is made by whoever records the op (layers/dropout.c draws it from the trainer's seeded
 * stream) and stays on the tape, so the backward reads the very mask the forward used and
 * a recompute that draws it again gets the same one. It takes no gradient. */
#include "op_util.h"

static void dropout_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    const bp_real *x = X(n)->value, *m = Y(n)->value;
    bp_real *y = n->value;
    for (size_t i = 0; i < n->size; i++)
        y[i] = x[i] * m[i];
}

/* dx += dy * m */
static void dropout_backward(bp_node *n)
{
    if (!X(n)->requires_grad)
        return;
    const bp_real *m = Y(n)->value, *dy = n->grad;
    bp_real *dx = X(n)->grad;
    for (size_t i = 0; i < n->size; i++)
        dx[i] += dy[i] * m[i];
}

/* A mask as the trainer draws it: each element 0 with probability p = 1/4, else 1/(1-p). */
static void dropout_mask(int input, bp_node *m, const bp_check_case *c, bp_rng *rng)
{
    (void)input;
    (void)c;
    for (size_t i = 0; i < m->size; i++)
        m->value[i] = bp_rng_below(rng, 4) ? (bp_real)(4.0 / 3.0) : 0;
}

const bp_op bp_op_dropout = {
    .name = "dropout",
    .n_in = BP_OP_NIN(dropout),
    .n_attr = BP_OP_NATTR(dropout),
    .formula = "y = x * m  (m a constant mask: 0, or 1/(1-p) for a kept element)",
    .inputs_doc = "x, m (x's shape) mask",
    .grad_formula = "dx += dy ⊙ m",
    .shape = bp_shape_exact,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .check = {.n_cases = 4, .make_case = bp_case_same, .lo = -2, .hi = 2,
              .const_inputs = 1u << 1, .fill_const = dropout_mask},
};
