/* tanh — y = tanh(x), elementwise. */
#include "op_util.h"

#include <tgmath.h>

static void tanh_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    for (size_t i = 0; i < n->size; i++)
        n->value[i] = tanh(X(n)->value[i]);
}

/* d tanh(x) = 1 - y^2 */
static void tanh_backward(bp_node *n)
{
    const bp_real *y = n->value;
    for (size_t i = 0; i < n->size; i++)
        X(n)->grad[i] += n->grad[i] * (1 - y[i] * y[i]);
}

const bp_op bp_op_tanh = {
    .name = "tanh",
    .n_in = BP_OP_NIN(tanh),
    .n_attr = BP_OP_NATTR(tanh),
    .formula = "y = tanh(x)",
    .inputs_doc = "x",
    .grad_formula = "dx += dy (1 − y²)",
    .shape = bp_shape_like_input,
    .forward = tanh_forward,
    .backward = tanh_backward,
    .unsaved = 1,
    .check = {.n_cases = 3, .make_case = bp_case_unary, .lo = -2, .hi = 2},
};
