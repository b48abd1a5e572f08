/* mul — y = a * b elementwise; b has a's shape or is one row broadcast over a's rows. */
#include "op_util.h"

static void mul_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    const bp_real *a = X(n)->value, *b = Y(n)->value;
    size_t nb = Y(n)->size, rows = n->size / nb;
    bp_real *y = n->value;
    for (size_t r = 0; r < rows; r++, a += nb, y += nb)
        for (size_t j = 0; j < nb; j++)
            y[j] = a[j] * b[j];
}

/* da += dy * b; db += dy * a (summed over broadcast rows) */
static void mul_backward(bp_node *n)
{
    const bp_real *a = X(n)->value, *b = Y(n)->value, *dy = n->grad;
    size_t nb = Y(n)->size, rows = n->size / nb;
    bp_real *da = X(n)->requires_grad ? X(n)->grad : NULL;
    bp_real *db = Y(n)->requires_grad ? Y(n)->grad : NULL;
    for (size_t r = 0; r < rows; r++, a += nb, dy += nb) {
        if (da) {
            for (size_t j = 0; j < nb; j++)
                da[j] += dy[j] * b[j];
            da += nb;
        }
        if (db)
            for (size_t j = 0; j < nb; j++)
                db[j] += dy[j] * a[j];
    }
}

const bp_op bp_op_mul = {
    .name = "mul",
    .n_in = BP_OP_NIN(mul),
    .n_attr = BP_OP_NATTR(mul),
    .formula = "y = a * b  (elementwise; b may be one row, broadcast over the batch)",
    .inputs_doc = "a, b (a's shape, or one row)",
    .grad_formula = "da += dy ⊙ b; db += dy ⊙ a",
    .shape = bp_shape_broadcast,
    .forward = mul_forward,
    .backward = mul_backward,
    .unsaved = BP_UNSAVED_OUT,
    .check = {.n_cases = 4, .make_case = bp_case_bcast, .lo = -2, .hi = 2},
};
