/* sigmoid — y = 1 / (1 + exp(-x)), elementwise; written to never overflow exp. */
#include "op_util.h"

#include <tgmath.h>

static void sigmoid_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    for (size_t i = 0; i < n->size; i++) {
        bp_real x = X(n)->value[i];
        if (x >= 0) {
            n->value[i] = 1 / (1 + exp(-x));
        } else {
            bp_real e = exp(x);
            n->value[i] = e / (1 + e);
        }
    }
}

/* d sigmoid(x) = y (1 - y) */
static void sigmoid_backward(bp_node *n)
{
    const bp_real *y = n->value;
    for (size_t i = 0; i < n->size; i++)
        X(n)->grad[i] += n->grad[i] * y[i] * (1 - y[i]);
}

const bp_op bp_op_sigmoid = {
    .name = "sigmoid",
    .n_in = BP_OP_NIN(sigmoid),
    .n_attr = BP_OP_NATTR(sigmoid),
    .formula = "y = 1 / (1 + exp(-x))",
    .inputs_doc = "x",
    .grad_formula = "dx += dy y (1 − y)",
    .shape = bp_shape_like_input,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
    .unsaved = 1,
    .check = {.n_cases = 3, .make_case = bp_case_unary, .lo = -3, .hi = 3},
};
