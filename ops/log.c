/* log — y = ln(x), elementwise; x <= 0 gives -inf or NaN, as in IEEE arithmetic. */
#include "op_util.h"

#include <tgmath.h>

static void log_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    for (size_t i = 0; i < n->size; i++)
        n->value[i] = log(X(n)->value[i]);
}

/* d ln(x) = 1 / x */
static void log_backward(bp_node *n)
{
    for (size_t i = 0; i < n->size; i++)
        X(n)->grad[i] += n->grad[i] / X(n)->value[i];
}

const bp_op bp_op_log = {
    .name = "log",
    .n_in = BP_OP_NIN(log),
    .n_attr = BP_OP_NATTR(log),
    .formula = "y = ln(x)",
    .inputs_doc = "x",
    .grad_formula = "dx += dy / x",
    .shape = bp_shape_like_input,
    .forward = log_forward,
    .backward = log_backward,
    .unsaved = BP_UNSAVED_OUT,
    .check = {.n_cases = 3, .make_case = bp_case_unary, .lo = 0.5, .hi = 3},
};
