/* rows — y = x[begin : begin + count, :], whole rows of a matrix x (N, F), viewed in
 * place: nothing is copied forward or backward. A view op: the tape gives y no buffer of
 * its own; y's value and grad are the same rows of x's (see bp_op.view). How the steps
 * of a sequence are read from one product over all steps, [T B, F] -> step t's [B, F]. */
#include "op_util.h"


static bp_status rows_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    bp_shape x = X(n)->shape;
    double begin = n->attr[0], count = n->attr[1];
    char sx[64];
    if (x.ndim != 2)
        return bp_error_set(err, BP_ERR_SHAPE, "needs an (N, F) input, not %s",
                            bp_shape_str(x, sx, sizeof sx));
    /* whole numbers in range (compared before the casts, which a NaN or a huge value
     * would make undefined) */
    if (!(begin >= 0 && count >= 1 && begin + count <= x.dim[0]) ||
        begin != (double)(int)begin || count != (double)(int)count)
        return bp_error_set(err, BP_ERR_SHAPE, "begin %g, count %g do not fit the %d rows of %s",
                            begin, count, x.dim[0], bp_shape_str(x, sx, sizeof sx));
    *out = bp_shape2((int)count, x.dim[1]);
    return BP_OK;
}

static void rows_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    n->value = X(n)->value + (size_t)n->attr[0] * (size_t)X(n)->shape.dim[1];
}

/* dx[begin : begin + count, :] += dy — already done: n->grad is those rows of dx */
static void rows_backward(bp_node *n)
{
    (void)n;
}

static void rows_case(int k, bp_rng *rng, bp_check_case *c)
{
    int N = 1 + bp_case_dim(rng);
    c->in_shape[0] = bp_shape2(N, k == 0 ? 1 : bp_case_dim(rng));
    c->attr[0] = (double)bp_rng_below(rng, (uint32_t)N);
    c->attr[1] = 1 + (double)bp_rng_below(rng, (uint32_t)(N - (int)c->attr[0]));
}

const bp_op bp_op_rows = {
    .name = "rows",
    .n_in = BP_OP_NIN(rows),
    .n_attr = BP_OP_NATTR(rows),
    .attr_names = {"begin", "count"},
    .formula = "y = x[begin : begin + count, :]  (a view: no copy)",
    .inputs_doc = "x (N,F)",
    .grad_formula = "nothing to do: dy is written into those rows of dx",
    .shape = rows_shape,
    .forward = rows_forward,
    .backward = rows_backward,
    .unsaved = 1 | BP_UNSAVED_OUT,
    .view = true,
    .check = {.n_cases = 4, .make_case = rows_case, .lo = -1, .hi = 1},
};
