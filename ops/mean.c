/* mean — y = (1/n) sum_i x_i over every element; y has shape [1]. */
#include "op_util.h"

static void mean_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    double s = 0;
    for (size_t i = 0; i < X(n)->size; i++)
        s += X(n)->value[i];
    n->value[0] = (bp_real)(s / (double)X(n)->size);
}

/* dx_i += dy / n */
static void mean_backward(bp_node *n)
{
    bp_real g = n->grad[0] / (bp_real)X(n)->size;
    for (size_t i = 0; i < X(n)->size; i++)
        X(n)->grad[i] += g;
}

const bp_op bp_op_mean = {
    .name = "mean",
    .n_in = BP_OP_NIN(mean),
    .n_attr = BP_OP_NATTR(mean),
    .formula = "y = (1/n) sum_i x_i",
    .inputs_doc = "x",
    .grad_formula = "dx += dy / n",
    .shape = bp_shape_scalar,
    .forward = mean_forward,
    .backward = mean_backward,
    .unsaved = 1 | BP_UNSAVED_OUT,
    .check = {.n_cases = 3, .make_case = bp_case_unary, .lo = -1, .hi = 1},
};
