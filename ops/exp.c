/* exp — y = exp(x), elementwise. */
#include "op_util.h"

#include <tgmath.h>

static void exp_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    for (size_t i = 0; i < n->size; i++)
        n->value[i] = exp(X(n)->value[i]);
}

/* d exp(x) = y */
static void exp_backward(bp_node *n)
{
    for (size_t i = 0; i < n->size; i++)
        X(n)->grad[i] += n->grad[i] * n->value[i];
}

const bp_op bp_op_exp = {
    .name = "exp",
    .n_in = BP_OP_NIN(exp),
    .n_attr = BP_OP_NATTR(exp),
    .formula = "y = exp(x)",
    .inputs_doc = "x",
    .grad_formula = "dx += dy y",
    .shape = bp_shape_like_input,
    .forward = exp_forward,
    .backward = exp_backward,
    .unsaved = 1,
    .check = {.n_cases = 3, .make_case = bp_case_unary, .lo = -2, .hi = 2},
};
