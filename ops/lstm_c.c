/* lstm_c — the LSTM cell state c_t = f * c_{t-1} + i * g, from the gates y = [i, f, g, o]
 * (B, 4H) that lstm_gates gives and c_{t-1} (B, H). */
#include "cell_util.h"

static bp_status lstm_c_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    return bp_cell_shape_state(n, 4, out, err);
}

BP_KERNEL_BODY void lstm_c_forward_body(bp_node *n, bp_tape *t)
{
    (void)t;
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1];
    for (size_t r = 0; r < B; r++) {
        const bp_real *i = n->in[0]->value + r * 4 * H, *f = i + H, *g = i + 2 * H;
        const bp_real *cp = n->in[1]->value + r * H;
        bp_real *c = n->value + r * H;
        for (size_t j = 0; j < H; j++)
            c[j] = f[j] * cp[j] + i[j] * g[j];
    }
}
BP_KERNEL(static, lstm_c_forward, (bp_node *n, bp_tape *t), (n, t))

/* di += dc g;  df += dc c_{t-1};  dg += dc i;  dc_{t-1} += dc f */
BP_KERNEL_BODY void lstm_c_backward_body(bp_node *n)
{
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1];
    bp_node *G = n->in[0], *C = n->in[1];
    bool store = bp_grad_take_fresh(C); /* dc_{t-1}: = when fresh */
    for (size_t r = 0; r < B; r++) {
        const bp_real *i = G->value + r * 4 * H, *f = i + H, *g = i + 2 * H;
        const bp_real *cp = C->value + r * H, *dc = n->grad + r * H;
        bp_cell_prefetch(G->value, B, 4 * H, r, 0, 3 * H); /* i, f, g */
        bp_cell_prefetch(C->value, B, H, r, 0, H);
        if (G->requires_grad) {
            /* one store per loop: the compiler vectorises each (checking aliasing) */
            bp_real *di = G->grad + r * 4 * H, *df = di + H, *dg = di + 2 * H;
            for (size_t j = 0; j < H; j++)
                di[j] += dc[j] * g[j];
            for (size_t j = 0; j < H; j++)
                df[j] += dc[j] * cp[j];
            for (size_t j = 0; j < H; j++)
                dg[j] += dc[j] * i[j];
        }
        if (C->requires_grad) {
            bp_real *dcp = C->grad + r * H;
            if (store)
                for (size_t j = 0; j < H; j++)
                    dcp[j] = dc[j] * f[j];
            else
                for (size_t j = 0; j < H; j++)
                    dcp[j] += dc[j] * f[j];
        }
    }
}
BP_KERNEL(static, lstm_c_backward, (bp_node *n), (n))

static void lstm_c_case(int k, bp_rng *rng, bp_check_case *c)
{
    bp_cell_case_state(4, k, rng, c);
}

const bp_op bp_op_lstm_c = {
    .name = "lstm_c",
    .n_in = BP_OP_NIN(lstm_c),
    .n_attr = BP_OP_NATTR(lstm_c),
    .formula = "c = f * c_prev + i * g  (gates y = [i, f, g, o], B x 4H)",
    .inputs_doc = "y (B,4H) gates, c_prev (B,H)",
    .grad_formula = "di += dc g; df += dc c_prev; dg += dc i; dc_prev += dc f",
    .shape = lstm_c_shape,
    .forward = lstm_c_forward,
    .backward = lstm_c_backward,
    .grad_assign = 1u << 1, /* the state's gradient, written whole */
    .check = {.n_cases = 4, .make_case = lstm_c_case, .lo = -1, .hi = 1},
};
