/* cell_util.c — see cell_util.h. */
#include "cell_util.h"

static bool is_row(bp_shape b, int w)
{
    return (b.ndim == 1 && b.dim[0] == w) || (b.ndim == 2 && b.dim[0] == 1 && b.dim[1] == w);
}

bp_status bp_cell_shape_sum(const bp_node *n, int gates, int n_bias, bp_shape *out,
                            bp_error *err)
{
    bp_shape x = n->in[0]->shape, y = n->in[1]->shape;
    char sx[64], sy[64];
    if (x.ndim != 2 || x.dim[1] % gates)
        return bp_error_set(err, BP_ERR_SHAPE, "needs an input of (B, %d H), not %s", gates,
                            bp_shape_str(x, sx, sizeof sx));
    if (!bp_shape_eq(x, y))
        return bp_error_set(err, BP_ERR_SHAPE, "inputs 0 and 1 must have the same shape, not %s "
                            "and %s", bp_shape_str(x, sx, sizeof sx), bp_shape_str(y, sy, sizeof sy));
    for (int i = 2; i < 2 + n_bias; i++)
        if (!is_row(n->in[i]->shape, x.dim[1]))
            return bp_error_set(err, BP_ERR_SHAPE, "input %d (a bias) must be one row of %d, not %s",
                                i, x.dim[1], bp_shape_str(n->in[i]->shape, sy, sizeof sy));
    *out = x;
    return BP_OK;
}

bp_status bp_cell_shape_state(const bp_node *n, int gates, bp_shape *out, bp_error *err)
{
    bp_shape g = n->in[0]->shape, s = n->in[1]->shape;
    char sg[64], ss[64];
    if (g.ndim != 2 || s.ndim != 2 || g.dim[0] != s.dim[0] || g.dim[1] != gates * s.dim[1])
        return bp_error_set(err, BP_ERR_SHAPE, "needs gates (B, %d H) and a state (B, H), not %s "
                            "and %s", gates, bp_shape_str(g, sg, sizeof sg),
                            bp_shape_str(s, ss, sizeof ss));
    *out = s;
    return BP_OK;
}

void bp_cell_case_sum(int gates, int n_bias, int k, bp_rng *rng, bp_check_case *c)
{
    int B = k == 0 ? 1 : bp_case_dim(rng), W = gates * bp_case_dim(rng);
    c->in_shape[0] = c->in_shape[1] = bp_shape2(B, W);
    for (int i = 2; i < 2 + n_bias; i++)
        c->in_shape[i] = k % 2 ? bp_shape2(1, W) : bp_shape1(W);
}

void bp_cell_case_state(int gates, int k, bp_rng *rng, bp_check_case *c)
{
    int B = k == 0 ? 1 : bp_case_dim(rng), H = bp_case_dim(rng);
    c->in_shape[0] = bp_shape2(B, gates * H);
    c->in_shape[1] = bp_shape2(B, H);
}

BP_KERNEL(, bp_cell_sum,
          (const bp_node *x, const bp_node *y, const bp_node *b, size_t r, size_t j0, size_t m,
           bp_real *restrict z),
          (x, y, b, r, j0, m, z))
