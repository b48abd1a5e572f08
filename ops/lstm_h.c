/* lstm_h — the LSTM output h_t = o * tanh(c_t), from the gates y = [i, f, g, o] (B, 4H)
 * that lstm_gates gives and c_t (B, H). tanh(c_t) is recomputed in backward rather than
 * kept: one more tanh per element instead of B H stored values per step. */
#include "cell_util.h"

static bp_status lstm_h_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    return bp_cell_shape_state(n, 4, out, err);
}

BP_KERNEL_BODY void lstm_h_forward_body(bp_node *n, bp_tape *t)
{
    (void)t;
    bp_real tc[BP_CELL_CHUNK];
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1];
    for (size_t r = 0; r < B; r++)
        for (size_t j0 = 0; j0 < H; j0 += BP_CELL_CHUNK) {
            size_t m = H - j0 < BP_CELL_CHUNK ? H - j0 : BP_CELL_CHUNK;
            const bp_real *o = n->in[0]->value + r * 4 * H + 3 * H + j0;
            bp_real *h = n->value + r * H + j0;
            bp_vtanh(n->in[1]->value + r * H + j0, tc, m);
            for (size_t j = 0; j < m; j++)
                h[j] = o[j] * tc[j];
        }
}
BP_KERNEL(static, lstm_h_forward, (bp_node *n, bp_tape *t), (n, t))

/* do += dh tanh(c);  dc += dh o (1 - tanh(c)^2) */
BP_KERNEL_BODY void lstm_h_backward_body(bp_node *n)
{
    bp_real tc[BP_CELL_CHUNK];
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1];
    bp_node *G = n->in[0], *C = n->in[1];
    bool store = bp_grad_take_fresh(C); /* dc: = when fresh */
    for (size_t r = 0; r < B; r++) {
        bp_cell_prefetch(G->value, B, 4 * H, r, 3 * H, H); /* o */
        bp_cell_prefetch(C->value, B, H, r, 0, H);
        for (size_t j0 = 0; j0 < H; j0 += BP_CELL_CHUNK) {
            size_t m = H - j0 < BP_CELL_CHUNK ? H - j0 : BP_CELL_CHUNK;
            const bp_real *o = G->value + r * 4 * H + 3 * H + j0, *dh = n->grad + r * H + j0;
            bp_vtanh(C->value + r * H + j0, tc, m);
            if (G->requires_grad) {
                bp_real *d_o = G->grad + r * 4 * H + 3 * H + j0;
                for (size_t j = 0; j < m; j++)
                    d_o[j] += dh[j] * tc[j];
            }
            if (C->requires_grad) {
                bp_real *dc = C->grad + r * H + j0;
                if (store)
                    for (size_t j = 0; j < m; j++)
                        dc[j] = dh[j] * o[j] * (1 - tc[j] * tc[j]);
                else
                    for (size_t j = 0; j < m; j++)
                        dc[j] += dh[j] * o[j] * (1 - tc[j] * tc[j]);
            }
        }
    }
}
BP_KERNEL(static, lstm_h_backward, (bp_node *n), (n))

static void lstm_h_case(int k, bp_rng *rng, bp_check_case *c)
{
    bp_cell_case_state(4, k, rng, c);
}

const bp_op bp_op_lstm_h = {
    .name = "lstm_h",
    .n_in = BP_OP_NIN(lstm_h),
    .n_attr = BP_OP_NATTR(lstm_h),
    .formula = "h = o * tanh(c)  (gates y = [i, f, g, o], B x 4H)",
    .inputs_doc = "y (B,4H) gates, c (B,H)",
    .grad_formula = "do += dh tanh c; dc += dh o (1 − tanh² c)",
    .shape = lstm_h_shape,
    .forward = lstm_h_forward,
    .backward = lstm_h_backward,
    .grad_assign = 1u << 1, /* the state's gradient, written whole */
    .check = {.n_cases = 4, .make_case = lstm_h_case, .lo = -2, .hi = 2},
};
