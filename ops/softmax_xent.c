/* softmax_xent — y = -(1/B) sum_b log softmax(z_b)[t_b]: softmax and cross-entropy
 * fused, for numerical stability. z is (B, C) logits; t is (B) class ids 0..C-1,
 * stored as reals (they take no gradient), or -1 for a row with no target (PyTorch's
 * ignore_index: it adds nothing and takes no gradient; a padded step of a shorter
 * sequence). y has shape [1]. */
#include "op_util.h"

#include <tgmath.h>

static bp_status xent_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    bp_shape z = X(n)->shape, t = Y(n)->shape;
    char sz[64], st[64];
    if (z.ndim != 2 || !((t.ndim == 1 && t.dim[0] == z.dim[0]) ||
                         (t.ndim == 2 && t.dim[0] == z.dim[0] && t.dim[1] == 1)))
        return bp_error_set(err, BP_ERR_SHAPE,
                            "logits %s and targets %s do not fit (needs (B, C) and (B))",
                            bp_shape_str(z, sz, sizeof sz), bp_shape_str(t, st, sizeof st));
    *out = bp_shape1(1);
    return BP_OK;
}

/* p = softmax(z) row by row, kept in aux for backward; log-sum-exp shifted by the max. */
static void xent_forward(bp_node *n, bp_tape *t)
{
    int B = X(n)->shape.dim[0], C = X(n)->shape.dim[1];
    bp_real *p = bp_tape_alloc(t, (size_t)B * C * sizeof(bp_real));
    if (!p)
        return;
    n->aux = p;
    double loss = 0;
    for (int b = 0; b < B; b++) {
        const bp_real *z = X(n)->value + (size_t)b * C;
        bp_real *pb = p + (size_t)b * C;
        bp_real target = Y(n)->value[b];
        if (target == -1)
            continue;
        /* the range first: converting a NaN, an infinity or 1e30 to int is undefined */
        if (!(target >= 0 && target < C) || (bp_real)(int)target != target) {
            bp_tape_fail(t, BP_ERR_VALUE, "softmax_xent: target %g in row %d is not a class in [0, %d)",
                         (double)target, b, C);
            return;
        }
        int cls = (int)target;
        bp_real m = z[0];
        for (int c = 1; c < C; c++)
            m = z[c] > m ? z[c] : m;
        double s = 0;
        for (int c = 0; c < C; c++)
            s += (double)(pb[c] = exp(z[c] - m));
        for (int c = 0; c < C; c++)
            pb[c] = (bp_real)(pb[c] / s);
        loss -= (double)(z[cls] - m) - log(s);
    }
    n->value[0] = (bp_real)(loss / B);
}

/* dz_b += (p_b - onehot(t_b)) dy / B */
static void xent_backward(bp_node *n)
{
    if (!X(n)->requires_grad)
        return;
    int B = X(n)->shape.dim[0], C = X(n)->shape.dim[1];
    const bp_real *p = n->aux;
    bp_real g = n->grad[0] / (bp_real)B;
    for (int b = 0; b < B; b++) {
        bp_real *dz = X(n)->grad + (size_t)b * C;
        int cls = (int)Y(n)->value[b];
        if (cls < 0)
            continue;
        for (int c = 0; c < C; c++)
            dz[c] += g * (p[(size_t)b * C + c] - (c == cls));
    }
}

static void xent_case(int k, bp_rng *rng, bp_check_case *c)
{
    int B = k == 0 ? 1 : bp_case_dim(rng);
    c->in_shape[0] = bp_shape2(B, bp_case_dim(rng));
    c->in_shape[1] = bp_shape1(B);
}

static void xent_targets(int input, bp_node *x, const bp_check_case *c, bp_rng *rng)
{
    (void)input;
    for (size_t i = 0; i < x->size; i++)
        x->value[i] = (bp_real)bp_rng_below(rng, (uint32_t)c->in_shape[0].dim[1]);
}

const bp_op bp_op_softmax_xent = {
    .name = "softmax_xent",
    .n_in = BP_OP_NIN(softmax_xent),
    .n_attr = BP_OP_NATTR(softmax_xent),
    .formula = "y = -(1/B) sum_b log softmax(z_b)[t_b] (t_b = -1: no target)",
    .inputs_doc = "z (B,C) logits, t (B) class ids (−1: none)",
    .grad_formula = "dz_b += (softmax(z_b) − onehot(t_b)) dy / B",
    .shape = xent_shape,
    .forward = xent_forward,
    .backward = xent_backward,
    .check = {.n_cases = 3, .make_case = xent_case, .lo = -3, .hi = 3, .const_inputs = 1u << 1,
              .fill_const = xent_targets},
};
