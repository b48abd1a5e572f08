/* gru_h — the GRU output h_t = (1 - z) * n + z * h_{t-1} = n + z * (h_{t-1} - n), from
 * the gates y = [r, z, n] (B, 3H) that gru_gates gives and h_{t-1} (B, H). */
#include "cell_util.h"

static bp_status gru_h_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    return bp_cell_shape_state(n, 3, out, err);
}

BP_KERNEL_BODY void gru_h_forward_body(bp_node *n, bp_tape *t)
{
    (void)t;
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1];
    for (size_t r = 0; r < B; r++) {
        const bp_real *z = n->in[0]->value + r * 3 * H + H, *ng = z + H;
        const bp_real *hp = n->in[1]->value + r * H;
        bp_real *h = n->value + r * H;
        for (size_t j = 0; j < H; j++)
            h[j] = ng[j] + z[j] * (hp[j] - ng[j]);
    }
}
BP_KERNEL(static, gru_h_forward, (bp_node *n, bp_tape *t), (n, t))

/* dz += dh (h_{t-1} - n);  dn += dh (1 - z);  dh_{t-1} += dh z */
BP_KERNEL_BODY void gru_h_backward_body(bp_node *n)
{
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1];
    bp_node *G = n->in[0], *P = n->in[1];
    bool store = bp_grad_take_fresh(P); /* dh_{t-1}: = when fresh */
    for (size_t r = 0; r < B; r++) {
        bp_cell_prefetch(G->value, B, 3 * H, r, H, 2 * H); /* z, n */
        bp_cell_prefetch(P->value, B, H, r, 0, H);
        const bp_real *z = G->value + r * 3 * H + H, *ng = z + H;
        const bp_real *hp = P->value + r * H, *dh = n->grad + r * H;
        if (G->requires_grad) {
            bp_real *dz = G->grad + r * 3 * H + H, *dn = dz + H;
            for (size_t j = 0; j < H; j++) /* one store per loop, so both vectorise */
                dz[j] += dh[j] * (hp[j] - ng[j]);
            for (size_t j = 0; j < H; j++)
                dn[j] += dh[j] * (1 - z[j]);
        }
        if (P->requires_grad) {
            bp_real *dhp = P->grad + r * H;
            if (store)
                for (size_t j = 0; j < H; j++)
                    dhp[j] = dh[j] * z[j];
            else
                for (size_t j = 0; j < H; j++)
                    dhp[j] += dh[j] * z[j];
        }
    }
}
BP_KERNEL(static, gru_h_backward, (bp_node *n), (n))

static void gru_h_case(int k, bp_rng *rng, bp_check_case *c)
{
    bp_cell_case_state(3, k, rng, c);
}

const bp_op bp_op_gru_h = {
    .name = "gru_h",
    .n_in = BP_OP_NIN(gru_h),
    .n_attr = BP_OP_NATTR(gru_h),
    .formula = "h = n + z * (h_prev - n)  (gates y = [r, z, n], B x 3H)",
    .inputs_doc = "y (B,3H) gates, h_prev (B,H)",
    .grad_formula = "dz += dh (h_prev − n); dn += dh (1 − z); dh_prev += dh z",
    .shape = gru_h_shape,
    .forward = gru_h_forward,
    .backward = gru_h_backward,
    .grad_assign = 1u << 1, /* the state's gradient, written whole */
    .check = {.n_cases = 4, .make_case = gru_h_case, .lo = -1, .hi = 1},
};
