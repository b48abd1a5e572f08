/* relu — y = max(x, 0), elementwise. Not differentiable at 0 (we use 0 there). */
#include "op_util.h"

static void relu_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    for (size_t i = 0; i < n->size; i++)
        n->value[i] = X(n)->value[i] > 0 ? X(n)->value[i] : 0;
}

/* d relu(x) = [x > 0] */
static void relu_backward(bp_node *n)
{
    for (size_t i = 0; i < n->size; i++)
        if (X(n)->value[i] > 0)
            X(n)->grad[i] += n->grad[i];
}

const bp_op bp_op_relu = {
    .name = "relu",
    .n_in = BP_OP_NIN(relu),
    .n_attr = BP_OP_NATTR(relu),
    .formula = "y = max(x, 0)",
    .inputs_doc = "x",
    .grad_formula = "dx += dy [x > 0] (not smooth at 0)",
    .shape = bp_shape_like_input,
    .forward = relu_forward,
    .backward = relu_backward,
    .unsaved = BP_UNSAVED_OUT,
    .check = {.n_cases = 3, .make_case = bp_case_unary, .lo = -1, .hi = 1,
              .kinks = {0}, .n_kinks = 1},
};
