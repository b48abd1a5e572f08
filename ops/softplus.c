/* softplus — y = ln(1 + exp(x)), elementwise, written so exp never overflows. */
#include "op_util.h"

#include <tgmath.h>

static void softplus_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    for (size_t i = 0; i < n->size; i++) {
        bp_real x = X(n)->value[i];
        n->value[i] = (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
    }
}

/* d softplus(x) = sigmoid(x) */
static void softplus_backward(bp_node *n)
{
    for (size_t i = 0; i < n->size; i++)
        X(n)->grad[i] += n->grad[i] / (1 + exp(-X(n)->value[i]));
}

const bp_op bp_op_softplus = {
    .name = "softplus",
    .n_in = BP_OP_NIN(softplus),
    .n_attr = BP_OP_NATTR(softplus),
    .formula = "y = ln(1 + exp(x))",
    .inputs_doc = "x",
    .grad_formula = "dx += dy · sigmoid(x)",
    .shape = bp_shape_like_input,
    .forward = softplus_forward,
    .backward = softplus_backward,
    .unsaved = BP_UNSAVED_OUT,
    .check = {.n_cases = 3, .make_case = bp_case_unary, .lo = -3, .hi = 3},
};
