/* layernorm — y = (x - mean(x)) / sqrt(var(x) + eps) over the feature (last) axis,
 * row by row; x is (B, F). No affine part: compose mul and add for gain and bias. */
#include "op_util.h"

#include <tgmath.h>

static bp_status layernorm_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    char s[64];
    if (X(n)->shape.ndim != 2)
        return bp_error_set(err, BP_ERR_SHAPE, "needs a (B, F) input, not %s",
                            bp_shape_str(X(n)->shape, s, sizeof s));
    if (!(n->attr[0] > 0))
        return bp_error_set(err, BP_ERR_VALUE, "eps must be > 0, not %g", n->attr[0]);
    *out = X(n)->shape;
    return BP_OK;
}

/* aux keeps 1/sigma per row for backward */
static void layernorm_forward(bp_node *n, bp_tape *t)
{
    int B = n->shape.dim[0], F = n->shape.dim[1];
    bp_real *inv_sigma = bp_tape_alloc(t, (size_t)B * sizeof(bp_real));
    if (!inv_sigma)
        return;
    n->aux = inv_sigma;
    for (int b = 0; b < B; b++) {
        const bp_real *x = X(n)->value + (size_t)b * F;
        bp_real *y = n->value + (size_t)b * F;
        double mu = 0, var = 0;
        for (int j = 0; j < F; j++)
            mu += x[j];
        mu /= F;
        for (int j = 0; j < F; j++)
            var += (x[j] - mu) * (x[j] - mu);
        var /= F;
        inv_sigma[b] = (bp_real)(1 / sqrt(var + n->attr[0]));
        for (int j = 0; j < F; j++)
            y[j] = (bp_real)((x[j] - mu) * inv_sigma[b]);
    }
}

/* dx = (1/sigma) (dy - mean(dy) - y mean(dy y)), row by row */
static void layernorm_backward(bp_node *n)
{
    int B = n->shape.dim[0], F = n->shape.dim[1];
    const bp_real *inv_sigma = n->aux;
    for (int b = 0; b < B; b++) {
        const bp_real *y = n->value + (size_t)b * F, *dy = n->grad + (size_t)b * F;
        bp_real *dx = X(n)->grad + (size_t)b * F;
        double m_dy = 0, m_dyy = 0;
        for (int j = 0; j < F; j++) {
            m_dy += dy[j];
            m_dyy += dy[j] * y[j];
        }
        m_dy /= F;
        m_dyy /= F;
        for (int j = 0; j < F; j++)
            dx[j] += (bp_real)(inv_sigma[b] * (dy[j] - m_dy - y[j] * m_dyy));
    }
}

static void layernorm_case(int k, bp_rng *rng, bp_check_case *c)
{
    bp_case_matrix(k, rng, c);
    c->attr[0] = 1e-5;
}

const bp_op bp_op_layernorm = {
    .name = "layernorm",
    .n_in = BP_OP_NIN(layernorm),
    .n_attr = BP_OP_NATTR(layernorm),
    .attr_names = {"eps"},
    .formula = "y = (x - mean(x)) / sqrt(var(x) + eps)  (per row)",
    .inputs_doc = "x (B,F)",
    .grad_formula = "dx += (dy − mean(dy) − y · mean(dy ⊙ y)) / σ",
    .shape = layernorm_shape,
    .forward = layernorm_forward,
    .backward = layernorm_backward,
    .check = {.n_cases = 4, .make_case = layernorm_case, .lo = -2, .hi = 2},
};
