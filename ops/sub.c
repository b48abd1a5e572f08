/* sub — y = a - b; b has a's shape or is one row broadcast over a's rows. */
#include "op_util.h"

static void sub_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    const bp_real *a = X(n)->value, *b = Y(n)->value;
    size_t nb = Y(n)->size, rows = n->size / nb;
    bp_real *y = n->value;
    for (size_t r = 0; r < rows; r++, a += nb, y += nb)
        for (size_t j = 0; j < nb; j++)
            y[j] = a[j] - b[j];
}

/* da += dy; db -= dy (summed over broadcast rows) */
static void sub_backward(bp_node *n)
{
    if (X(n)->requires_grad)
        bp_accumulate(X(n)->grad, n->grad, n->size);
    if (Y(n)->requires_grad) {
        size_t nb = Y(n)->size, rows = n->size / nb;
        const bp_real *dy = n->grad;
        bp_real *db = Y(n)->grad;
        for (size_t r = 0; r < rows; r++, dy += nb)
            for (size_t j = 0; j < nb; j++)
                db[j] -= dy[j];
    }
}

const bp_op bp_op_sub = {
    .name = "sub",
    .n_in = BP_OP_NIN(sub),
    .n_attr = BP_OP_NATTR(sub),
    .formula = "y = a - b  (b may be one row, broadcast over the batch)",
    .inputs_doc = "a, b (a's shape, or one row)",
    .grad_formula = "da += dy; db −= dy",
    .shape = bp_shape_broadcast,
    .forward = sub_forward,
    .backward = sub_backward,
    .unsaved = 1 | 2 | BP_UNSAVED_OUT,
    .check = {.n_cases = 4, .make_case = bp_case_bcast, .lo = -1, .hi = 1},
};
