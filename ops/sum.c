/* sum — y = sum_i x_i over every element; y has shape [1]. */
#include "op_util.h"

static void sum_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    double s = 0; /* accumulate in double: a float sum of 10^6 terms drifts */
    for (size_t i = 0; i < X(n)->size; i++)
        s += X(n)->value[i];
    n->value[0] = (bp_real)s;
}

/* dx_i += dy */
static void sum_backward(bp_node *n)
{
    for (size_t i = 0; i < X(n)->size; i++)
        X(n)->grad[i] += n->grad[0];
}

const bp_op bp_op_sum = {
    .name = "sum",
    .n_in = BP_OP_NIN(sum),
    .n_attr = BP_OP_NATTR(sum),
    .formula = "y = sum_i x_i",
    .inputs_doc = "x",
    .grad_formula = "dx += dy",
    .shape = bp_shape_scalar,
    .forward = sum_forward,
    .backward = sum_backward,
    .unsaved = 1 | BP_UNSAVED_OUT,
    .check = {.n_cases = 3, .make_case = bp_case_unary, .lo = -1, .hi = 1},
};
