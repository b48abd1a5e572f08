/* rnn_relu — h = max(xw + rec + b, 0), the ReLU (IRNN) step's pointwise work fused into
 * one node: xw = x_t W_x and rec = h_{t-1} W_h are (B, H), b is one row (H). */
#include "cell_util.h"

static bp_status rnn_relu_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    return bp_cell_shape_sum(n, 1, 1, out, err);
}

BP_KERNEL_BODY void rnn_relu_forward_body(bp_node *n, bp_tape *t)
{
    (void)t;
    bp_real z[BP_CELL_CHUNK];
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1];
    for (size_t r = 0; r < B; r++)
        for (size_t j0 = 0; j0 < H; j0 += BP_CELL_CHUNK) {
            size_t m = H - j0 < BP_CELL_CHUNK ? H - j0 : BP_CELL_CHUNK;
            bp_real *h = n->value + r * H + j0;
            bp_cell_sum_body(n->in[0], n->in[1], n->in[2], r, j0, m, z);
            for (size_t j = 0; j < m; j++)
                h[j] = z[j] > 0 ? z[j] : 0;
        }
}
BP_KERNEL(static, rnn_relu_forward, (bp_node *n, bp_tape *t), (n, t))

/* dz = dh [h > 0];  dxw += dz;  drec += dz;  db += dz summed over the batch */
BP_KERNEL_BODY void rnn_relu_backward_body(bp_node *n)
{
    bool store = bp_grad_take_fresh(n->in[1]); /* drec written whole: = when fresh */
    bp_real dz[BP_CELL_CHUNK];
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1];
    for (size_t r = 0; r < B; r++)
        for (size_t j0 = 0; j0 < H; j0 += BP_CELL_CHUNK) {
            size_t m = H - j0 < BP_CELL_CHUNK ? H - j0 : BP_CELL_CHUNK;
            const bp_real *h = n->value + r * H + j0, *dh = n->grad + r * H + j0;
            for (size_t j = 0; j < m; j++)
                dz[j] = h[j] > 0 ? dh[j] : 0;
            bp_cell_accumulate(n->in[0], n->in[2], dz, r, j0, m);
            bp_cell_write(n->in[1], store, NULL, dz, r, j0, m);
        }
}
BP_KERNEL(static, rnn_relu_backward, (bp_node *n), (n))

static void rnn_relu_case(int k, bp_rng *rng, bp_check_case *c)
{
    bp_cell_case_sum(1, 1, k, rng, c);
}

/* The kink's argument at element i: the sum xw + rec + b, whose sign the step takes. */
static double rnn_relu_kink_arg(const bp_node *n, size_t i)
{
    size_t H = (size_t)n->shape.dim[1];
    bp_real z;
    bp_cell_sum(n->in[0], n->in[1], n->in[2], i / H, i % H, 1, &z); /* as forward sums */
    return z;
}

/* Not smooth where the sum is 0; the checker keeps each input away from 0, and a sum
 * within eps of 0 has probability ~1e-6 per element (the seeds are fixed). A model check
 * reads the sum itself (kink_arg). */
const bp_op bp_op_rnn_relu = {
    .name = "rnn_relu",
    .n_in = BP_OP_NIN(rnn_relu),
    .n_attr = BP_OP_NATTR(rnn_relu),
    .formula = "h = max(xw + rec + b, 0)  (b one row)",
    .inputs_doc = "xw, rec (B,H); b (H)",
    .grad_formula = "dz = dh [h > 0]; dxw, drec, db as rnn_tanh",
    .shape = rnn_relu_shape,
    .forward = rnn_relu_forward,
    .backward = rnn_relu_backward,
    .unsaved = 1 | 2 | 4,
    .grad_assign = 1u << 1, /* rec */
    .check = {.n_cases = 4, .make_case = rnn_relu_case, .lo = -1, .hi = 1, .kinks = {0},
              .n_kinks = 1, .kink_arg = rnn_relu_kink_arg},
};
