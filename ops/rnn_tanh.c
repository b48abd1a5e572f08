/* rnn_tanh — h = tanh(xw + rec + b), an Elman step's pointwise work fused into one node:
 * xw = x_t W_x and rec = h_{t-1} W_h are (B, H), b is one row (H). */
#include "cell_util.h"

static bp_status rnn_tanh_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    return bp_cell_shape_sum(n, 1, 1, out, err);
}

BP_KERNEL_BODY void rnn_tanh_forward_body(bp_node *n, bp_tape *t)
{
    (void)t;
    bp_real z[BP_CELL_CHUNK];
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1];
    for (size_t r = 0; r < B; r++)
        for (size_t j0 = 0; j0 < H; j0 += BP_CELL_CHUNK) {
            size_t m = H - j0 < BP_CELL_CHUNK ? H - j0 : BP_CELL_CHUNK;
            bp_cell_sum_body(n->in[0], n->in[1], n->in[2], r, j0, m, z);
            bp_vtanh(z, n->value + r * H + j0, m);
        }
}
BP_KERNEL(static, rnn_tanh_forward, (bp_node *n, bp_tape *t), (n, t))

/* dz = dh (1 - h^2);  dxw += dz;  drec += dz;  db += dz summed over the batch */
BP_KERNEL_BODY void rnn_tanh_backward_body(bp_node *n)
{
    bool store = bp_grad_take_fresh(n->in[1]); /* drec written whole: = when fresh */
    bp_real dz[BP_CELL_CHUNK];
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1];
    for (size_t r = 0; r < B; r++)
        for (size_t j0 = 0; j0 < H; j0 += BP_CELL_CHUNK) {
            size_t m = H - j0 < BP_CELL_CHUNK ? H - j0 : BP_CELL_CHUNK;
            const bp_real *h = n->value + r * H + j0, *dh = n->grad + r * H + j0;
            for (size_t j = 0; j < m; j++)
                dz[j] = dh[j] * (1 - h[j] * h[j]);
            bp_cell_accumulate(n->in[0], n->in[2], dz, r, j0, m);
            bp_cell_write(n->in[1], store, NULL, dz, r, j0, m);
        }
}
BP_KERNEL(static, rnn_tanh_backward, (bp_node *n), (n))

static void rnn_tanh_case(int k, bp_rng *rng, bp_check_case *c)
{
    bp_cell_case_sum(1, 1, k, rng, c);
}

const bp_op bp_op_rnn_tanh = {
    .name = "rnn_tanh",
    .n_in = BP_OP_NIN(rnn_tanh),
    .n_attr = BP_OP_NATTR(rnn_tanh),
    .formula = "h = tanh(xw + rec + b)  (b one row)",
    .inputs_doc = "xw, rec (B,H); b (H)",
    .grad_formula = "dz = dh (1 − h²); dxw += dz; drec += dz; db += Σ_b dz",
    .shape = rnn_tanh_shape,
    .forward = rnn_tanh_forward,
    .backward = rnn_tanh_backward,
    .unsaved = 1 | 2 | 4,
    .grad_assign = 1u << 1, /* rec */
    .check = {.n_cases = 4, .make_case = rnn_tanh_case, .lo = -1, .hi = 1},
};
