/* slice — y = x[:, begin : begin + len] along the feature (last) axis; x is (B, F).
 * How gates are cut from one wide product. */
#include "op_util.h"

#include <math.h>

static bp_status slice_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    bp_shape x = X(n)->shape;
    double begin = n->attr[0], len = n->attr[1];
    char sx[64];
    if (x.ndim != 2)
        return bp_error_set(err, BP_ERR_SHAPE, "needs a (B, F) input, not %s",
                            bp_shape_str(x, sx, sizeof sx));
    if (begin != floor(begin) || len != floor(len) || begin < 0 || len < 1 ||
        begin + len > x.dim[1])
        return bp_error_set(err, BP_ERR_SHAPE,
                            "begin %g, len %g do not fit the %d features of %s", begin, len,
                            x.dim[1], bp_shape_str(x, sx, sizeof sx));
    *out = bp_shape2(x.dim[0], (int)len);
    return BP_OK;
}

static void slice_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    int B = n->shape.dim[0], F = X(n)->shape.dim[1], L = n->shape.dim[1], b0 = (int)n->attr[0];
    for (int r = 0; r < B; r++)
        memcpy(n->value + (size_t)r * L, X(n)->value + (size_t)r * F + b0,
               (size_t)L * sizeof(bp_real));
}

/* dx[:, begin : begin + len] += dy */
static void slice_backward(bp_node *n)
{
    int B = n->shape.dim[0], F = X(n)->shape.dim[1], L = n->shape.dim[1], b0 = (int)n->attr[0];
    for (int r = 0; r < B; r++)
        bp_accumulate(X(n)->grad + (size_t)r * F + b0, n->grad + (size_t)r * L, (size_t)L);
}

static void slice_case(int k, bp_rng *rng, bp_check_case *c)
{
    int F = 3 + bp_case_dim(rng);
    c->in_shape[0] = bp_shape2(k == 0 ? 1 : bp_case_dim(rng), F);
    c->attr[0] = (double)bp_rng_below(rng, (uint32_t)F - 1);
    c->attr[1] = 1 + (double)bp_rng_below(rng, (uint32_t)(F - (int)c->attr[0]));
}

const bp_op bp_op_slice = {
    .name = "slice",
    .n_in = BP_OP_NIN(slice),
    .n_attr = BP_OP_NATTR(slice),
    .attr_names = {"begin", "len"},
    .formula = "y = x[:, begin : begin + len]",
    .inputs_doc = "x (B,F)",
    .grad_formula = "dx[:, begin : begin+len] += dy",
    .shape = slice_shape,
    .forward = slice_forward,
    .backward = slice_backward,
    .unsaved = 1 | BP_UNSAVED_OUT,
    .check = {.n_cases = 4, .make_case = slice_case, .lo = -1, .hi = 1},
};
