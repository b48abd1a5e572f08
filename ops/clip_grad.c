/* clip_grad — y = x going forward; going backward the gradient is clamped
 * elementwise to [-c, c] (the lecture's "clip to 25", placed on a hidden state). */
#include "op_util.h"

bp_status bp_shape_clip(const bp_node *n, bp_shape *out, bp_error *err)
{
    if (!(n->attr[0] > 0))
        return bp_error_set(err, BP_ERR_VALUE, "the clip threshold c must be > 0, not %g",
                            n->attr[0]);
    *out = X(n)->shape;
    return BP_OK;
}

void bp_identity_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    memcpy(n->value, X(n)->value, n->size * sizeof(bp_real));
}

/* dx += clamp(dy, -c, c) */
static void clip_grad_backward(bp_node *n)
{
    bp_real c = (bp_real)n->attr[0];
    for (size_t i = 0; i < n->size; i++) {
        bp_real g = n->grad[i];
        X(n)->grad[i] += g > c ? c : g < -c ? -c : g;
    }
}

/* The checker's upstream gradient lies in [-1, 1]: with c = 10 the clip is inactive
 * there, which is where the identity's gradient is the right answer. */
void bp_case_clip(int k, bp_rng *rng, bp_check_case *c)
{
    bp_case_unary(k, rng, c);
    c->attr[0] = 10;
}

const bp_op bp_op_clip_grad = {
    .name = "clip_grad",
    .n_in = BP_OP_NIN(clip_grad),
    .n_attr = BP_OP_NATTR(clip_grad),
    .attr_names = {"c"},
    .formula = "y = x;  dx = clamp(dy, -c, c)",
    .inputs_doc = "x",
    .grad_formula = "dx += clamp(dy, −c, c)",
    .shape = bp_shape_clip,
    .forward = bp_identity_forward,
    .backward = clip_grad_backward,
    .unsaved = 1 | BP_UNSAVED_OUT,
    .check = {.n_cases = 3, .make_case = bp_case_clip, .lo = -1, .hi = 1},
};
