/* mse — y = (1/n) sum_i (p_i - t_i)^2, the mean squared error; y has shape [1]. */
#include "op_util.h"

static void mse_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    const bp_real *p = X(n)->value, *q = Y(n)->value;
    double s = 0;
    for (size_t i = 0; i < X(n)->size; i++)
        s += (double)(p[i] - q[i]) * (double)(p[i] - q[i]);
    n->value[0] = (bp_real)(s / (double)X(n)->size);
}

/* dp += 2 (p - t) / n dy;  dt -= 2 (p - t) / n dy */
static void mse_backward(bp_node *n)
{
    const bp_real *p = X(n)->value, *q = Y(n)->value;
    bp_real g = 2 * n->grad[0] / (bp_real)X(n)->size;
    for (size_t i = 0; i < X(n)->size; i++) {
        bp_real d = g * (p[i] - q[i]);
        if (X(n)->requires_grad) X(n)->grad[i] += d;
        if (Y(n)->requires_grad) Y(n)->grad[i] -= d;
    }
}

const bp_op bp_op_mse = {
    .name = "mse",
    .n_in = BP_OP_NIN(mse),
    .n_attr = BP_OP_NATTR(mse),
    .formula = "y = mean((p - t)^2)",
    .inputs_doc = "p, t (same shape)",
    .grad_formula = "dp += 2(p − t) dy / n; dt −= the same",
    .shape = bp_shape_exact_scalar,
    .forward = mse_forward,
    .backward = mse_backward,
    .check = {.n_cases = 3, .make_case = bp_case_same, .lo = -1, .hi = 1},
};
