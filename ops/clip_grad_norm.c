/* clip_grad_norm — y = x going forward; going backward the gradient is rescaled
 * so that its L2 norm (over the whole tensor) is at most c. */
#include "op_util.h"

#include <tgmath.h>

/* dx += dy * min(1, c / |dy|) */
static void clip_grad_norm_backward(bp_node *n)
{
    double ss = 0;
    for (size_t i = 0; i < n->size; i++)
        ss += (double)n->grad[i] * (double)n->grad[i];
    double norm = sqrt(ss), c = n->attr[0];
    bp_real s = (bp_real)(norm > c ? c / norm : 1);
    for (size_t i = 0; i < n->size; i++)
        X(n)->grad[i] += s * n->grad[i];
}

const bp_op bp_op_clip_grad_norm = {
    .name = "clip_grad_norm",
    .n_in = BP_OP_NIN(clip_grad_norm),
    .n_attr = BP_OP_NATTR(clip_grad_norm),
    .attr_names = {"c"},
    .formula = "y = x;  dx = dy min(1, c / |dy|)",
    .inputs_doc = "x",
    .grad_formula = "dx += dy · min(1, c / ‖dy‖)",
    .shape = bp_shape_clip,
    .forward = bp_identity_forward,
    .backward = clip_grad_norm_backward,
    .check = {.n_cases = 3, .make_case = bp_case_clip, .lo = -1, .hi = 1},
};
