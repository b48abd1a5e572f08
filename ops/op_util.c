/* op_util.c — see op_util.h. */
#include "op_util.h"

bp_status bp_shape_like_input(const bp_node *n, bp_shape *out, bp_error *err)
{
    (void)err;
    *out = X(n)->shape;
    return BP_OK;
}

bp_status bp_shape_scalar(const bp_node *n, bp_shape *out, bp_error *err)
{
    (void)n;
    (void)err;
    *out = bp_shape1(1);
    return BP_OK;
}

bp_status bp_shape_exact(const bp_node *n, bp_shape *out, bp_error *err)
{
    char sa[64], sb[64];
    if (!bp_shape_eq(X(n)->shape, Y(n)->shape))
        return bp_error_set(err, BP_ERR_SHAPE, "inputs must have the same shape, not %s and %s",
                            bp_shape_str(X(n)->shape, sa, sizeof sa),
                            bp_shape_str(Y(n)->shape, sb, sizeof sb));
    *out = X(n)->shape;
    return BP_OK;
}

bp_status bp_shape_exact_scalar(const bp_node *n, bp_shape *out, bp_error *err)
{
    bp_status st = bp_shape_exact(n, out, err);
    *out = bp_shape1(1);
    return st;
}

bp_status bp_shape_broadcast(const bp_node *n, bp_shape *out, bp_error *err)
{
    bp_shape a = X(n)->shape, b = Y(n)->shape;
    int last = a.dim[a.ndim - 1];
    bool row = (b.ndim == 1 && b.dim[0] == last) ||
               (b.ndim == 2 && b.dim[0] == 1 && b.dim[1] == last);
    if (!bp_shape_eq(a, b) && !row) {
        char sa[64], sb[64];
        return bp_error_set(err, BP_ERR_SHAPE,
                            "shapes %s and %s do not match (the second must equal the first, "
                            "or be one row of %d)",
                            bp_shape_str(a, sa, sizeof sa), bp_shape_str(b, sb, sizeof sb), last);
    }
    *out = a;
    return BP_OK;
}

/* y = a + b; b repeats every b->size elements (one row when broadcast). */
void bp_add_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    const bp_real *a = X(n)->value, *b = Y(n)->value;
    size_t nb = Y(n)->size, rows = n->size / nb;
    bp_real *y = n->value;
    for (size_t r = 0; r < rows; r++, a += nb, y += nb)
        for (size_t j = 0; j < nb; j++)
            y[j] = a[j] + b[j];
}

/* da += dy; db += dy summed over the broadcast rows */
void bp_add_backward(bp_node *n)
{
    if (X(n)->requires_grad)
        bp_accumulate(X(n)->grad, n->grad, n->size);
    if (Y(n)->requires_grad) {
        size_t nb = Y(n)->size, rows = n->size / nb;
        const bp_real *dy = n->grad;
        for (size_t r = 0; r < rows; r++, dy += nb)
            bp_accumulate(Y(n)->grad, dy, nb);
    }
}

int bp_case_dim(bp_rng *rng)
{
    return 2 + (int)bp_rng_below(rng, 5);
}

void bp_case_unary(int k, bp_rng *rng, bp_check_case *c)
{
    if (k == 0)
        c->in_shape[0] = bp_shape2(1, bp_case_dim(rng));
    else if (k == 1)
        c->in_shape[0] = (bp_shape){3, {2, bp_case_dim(rng), 3}};
    else
        c->in_shape[0] = bp_shape2(bp_case_dim(rng), bp_case_dim(rng));
}

void bp_case_matrix(int k, bp_rng *rng, bp_check_case *c)
{
    c->in_shape[0] = bp_shape2(k == 0 ? 1 : bp_case_dim(rng), bp_case_dim(rng));
}

void bp_case_same(int k, bp_rng *rng, bp_check_case *c)
{
    bp_case_unary(k, rng, c);
    c->in_shape[1] = c->in_shape[0];
}

void bp_case_bcast(int k, bp_rng *rng, bp_check_case *c)
{
    bp_case_unary(k, rng, c);
    bp_shape a = c->in_shape[0];
    int last = a.dim[a.ndim - 1];
    switch (k % 3) {
    case 0: c->in_shape[1] = a; break;
    case 1: c->in_shape[1] = bp_shape1(last); break;
    default: c->in_shape[1] = bp_shape2(1, last); break;
    }
}
