/* lstm_gates — an LSTM step's gates from z = xw + rec + b (B, 4H), blocks i, f, g, o
 * (PyTorch's order), fused into one node:
 *     y = [sigmoid(z_i), sigmoid(z_f), tanh(z_g), sigmoid(z_o)]   (B, 4H)
 * xw = x_t W_x and rec = h_{t-1} W_h are (B, 4H), b is one row (4H). */
#include "cell_util.h"

static bp_status lstm_gates_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    return bp_cell_shape_sum(n, 4, 1, out, err);
}

/* Column j0 .. j0 + m of a row lies within one activation's span when chunks stop at
 * 2H (i and f, both sigmoid, in one call), 3H (g, tanh) and 4H (o): at small H a call is
 * bound by the latency of its one chain of vectors, so fewer, longer calls (4 -> 3 a row
 * for H <= 128, where i and f fit one chunk). */
static size_t chunk_len(size_t j0, size_t H)
{
    size_t end = j0 < 2 * H ? 2 * H : (j0 / H + 1) * H, left = end - j0;
    return left < BP_CELL_CHUNK ? left : BP_CELL_CHUNK;
}

BP_KERNEL_BODY void lstm_gates_forward_body(bp_node *n, bp_tape *t)
{
    (void)t;
    bp_real z[BP_CELL_CHUNK];
    size_t B = (size_t)n->shape.dim[0], W = (size_t)n->shape.dim[1], H = W / 4;
    for (size_t r = 0; r < B; r++)
        for (size_t j0 = 0, m; j0 < W; j0 += m) {
            m = chunk_len(j0, H);
            bp_cell_sum_body(n->in[0], n->in[1], n->in[2], r, j0, m, z);
            if (j0 / H == 2)
                bp_vtanh(z, n->value + r * W + j0, m);
            else
                bp_vsigmoid(z, n->value + r * W + j0, m);
        }
}
BP_KERNEL(static, lstm_gates_forward, (bp_node *n, bp_tape *t), (n, t))

/* dz = dy y (1 - y) in the sigmoid blocks, dy (1 - y^2) in g;
 * dxw += dz;  drec += dz;  db += dz summed over the batch */
BP_KERNEL_BODY void lstm_gates_backward_body(bp_node *n)
{
    bool store = bp_grad_take_fresh(n->in[1]); /* drec written whole: = when fresh */
    bp_real dz[BP_CELL_CHUNK];
    size_t B = (size_t)n->shape.dim[0], W = (size_t)n->shape.dim[1], H = W / 4;
    for (size_t r = 0; r < B; r++)
        for (size_t j0 = 0, m; j0 < W; j0 += m) {
            m = chunk_len(j0, H);
            const bp_real *y = n->value + r * W + j0, *dy = n->grad + r * W + j0;
            if (j0 / H == 2)
                for (size_t j = 0; j < m; j++)
                    dz[j] = dy[j] * (1 - y[j] * y[j]);
            else
                for (size_t j = 0; j < m; j++)
                    dz[j] = dy[j] * y[j] * (1 - y[j]);
            bp_cell_accumulate(n->in[0], n->in[2], dz, r, j0, m);
            bp_cell_write(n->in[1], store, NULL, dz, r, j0, m);
        }
}
BP_KERNEL(static, lstm_gates_backward, (bp_node *n), (n))

static void lstm_gates_case(int k, bp_rng *rng, bp_check_case *c)
{
    bp_cell_case_sum(4, 1, k, rng, c);
}

const bp_op bp_op_lstm_gates = {
    .name = "lstm_gates",
    .n_in = BP_OP_NIN(lstm_gates),
    .n_attr = BP_OP_NATTR(lstm_gates),
    .formula = "z = xw + rec + b; y = [sigmoid z_i, sigmoid z_f, tanh z_g, sigmoid z_o]",
    .inputs_doc = "xw, rec (B,4H); b (4H)",
    .grad_formula = "dz = dy y (1 − y) (σ blocks), dy (1 − y²) (g); dxw, drec, db += dz",
    .shape = lstm_gates_shape,
    .forward = lstm_gates_forward,
    .backward = lstm_gates_backward,
    .unsaved = 1 | 2 | 4,
    .grad_assign = 1u << 1, /* rec */
    .check = {.n_cases = 4, .make_case = lstm_gates_case, .lo = -2, .hi = 2},
};
