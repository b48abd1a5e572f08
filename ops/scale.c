/* scale — y = c x for a constant c. */
#include "op_util.h"

static void scale_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    bp_real c = (bp_real)n->attr[0];
    for (size_t i = 0; i < n->size; i++)
        n->value[i] = c * X(n)->value[i];
}

/* dx += c dy */
static void scale_backward(bp_node *n)
{
    bp_real c = (bp_real)n->attr[0];
    for (size_t i = 0; i < n->size; i++)
        X(n)->grad[i] += c * n->grad[i];
}

static void scale_case(int k, bp_rng *rng, bp_check_case *c)
{
    bp_case_unary(k, rng, c);
    c->attr[0] = -3 + 6 * bp_rng_uniform(rng);
}

const bp_op bp_op_scale = {
    .name = "scale",
    .n_in = BP_OP_NIN(scale),
    .n_attr = BP_OP_NATTR(scale),
    .attr_names = {"c"},
    .formula = "y = c x",
    .inputs_doc = "x",
    .grad_formula = "dx += c dy",
    .shape = bp_shape_like_input,
    .forward = scale_forward,
    .backward = scale_backward,
    .unsaved = 1 | BP_UNSAVED_OUT,
    .check = {.n_cases = 3, .make_case = scale_case, .lo = -1, .hi = 1},
};
