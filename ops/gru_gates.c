/* gru_gates — a GRU step's gates (PyTorch's equations, blocks r, z, n), fused into one node.
 * With a = xw + b_x and u = rec + b_h (B, 3H):
 *     r = sigmoid(a_r + u_r)   z = sigmoid(a_z + u_z)   n = tanh(a_n + r * u_n)
 *     y = [r, z, n]   (B, 3H)
 * xw = x_t W_x and rec = h_{t-1} W_h are (B, 3H); b_x, b_h are rows (3H), kept apart
 * because the n gate needs u_n on its own. The forward keeps u_n (B, H) in n->aux for
 * the backward, which then reads no input's value: rec's (B, 3H) buffer can go on to the
 * next step's product (bp_op.unsaved). */
#include "cell_util.h"

static bp_status gru_gates_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    return bp_cell_shape_sum(n, 3, 2, out, err);
}

/* Columns j0 .. j0 + m of each block of row r (m <= BP_CELL_CHUNK). */
BP_KERNEL_BODY void gru_chunk_forward(bp_node *n, size_t r, size_t j0, size_t m)
{
    bp_real s[2 * BP_CELL_CHUNK];
    size_t H = (size_t)n->shape.dim[1] / 3;
    bp_node *xw = n->in[0], *rec = n->in[1], *bx = n->in[2], *bh = n->in[3];
    bp_real *y = n->value + r * 3 * H, *un = (bp_real *)n->aux + r * H + j0;
    for (size_t g = 0; g < 2; g++) { /* r and z: sigmoid(a + u) */
        bp_real a[BP_CELL_CHUNK], *sg = s + g * m;
        bp_cell_sum_body(xw, NULL, bx, r, g * H + j0, m, a);
        bp_cell_sum_body(rec, NULL, bh, r, g * H + j0, m, sg);
        for (size_t j = 0; j < m; j++)
            sg[j] += a[j];
    }
    /* a whole row's r and z lie side by side: one call (at small H a call is bound by
     * the latency of its one chain of vectors) */
    if (m == H) {
        bp_vsigmoid(s, y, 2 * m);
    } else {
        bp_vsigmoid(s, y + j0, m);
        bp_vsigmoid(s + m, y + H + j0, m);
    }
    const bp_real *rg = y + j0;
    bp_cell_sum_body(rec, NULL, bh, r, 2 * H + j0, m, un);
    bp_cell_sum_body(xw, NULL, bx, r, 2 * H + j0, m, s);
    for (size_t j = 0; j < m; j++)
        s[j] += rg[j] * un[j];
    bp_vtanh(s, y + 2 * H + j0, m);
}

BP_KERNEL_BODY void gru_gates_forward_body(bp_node *n, bp_tape *t)
{
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1] / 3;
    if (!n->aux && !(n->aux = bp_tape_alloc(t, B * H * sizeof(bp_real)))) /* u_n */
        return; /* the tape has failed */
    for (size_t r = 0; r < B; r++)
        for (size_t j0 = 0; j0 < H; j0 += BP_CELL_CHUNK)
            gru_chunk_forward(n, r, j0, H - j0 < BP_CELL_CHUNK ? H - j0 : BP_CELL_CHUNK);
}
BP_KERNEL(static, gru_gates_forward, (bp_node *n, bp_tape *t), (n, t))

/* dn' = dn (1 - n^2):            da_n += dn';  du_n += dn' r
 * dr' = (dr + dn' u_n) r (1 - r):  da_r += dr';  du_r += dr'
 * dz' = dz z (1 - z):             da_z += dz';  du_z += dz'
 * dxw += da, db_x += da and drec += du, db_h += du (biases summed over the batch) */
BP_KERNEL_BODY void gru_chunk_backward(bp_node *n, bool store, size_t r, size_t j0, size_t m)
{
    bp_real d[BP_CELL_CHUNK], dr[BP_CELL_CHUNK];
    size_t H = (size_t)n->shape.dim[1] / 3;
    bp_node *xw = n->in[0], *rec = n->in[1], *bx = n->in[2], *bh = n->in[3];
    const bp_real *y = n->value + r * 3 * H, *dy = n->grad + r * 3 * H;
    const bp_real *un = (const bp_real *)n->aux + r * H + j0;
    const bp_real *rg = y + j0, *zg = y + H + j0, *ng = y + 2 * H + j0;
    const bp_real *drg = dy + j0, *dzg = dy + H + j0, *dng = dy + 2 * H + j0;
    for (size_t j = 0; j < m; j++) { /* the n block: d = dn' */
        d[j] = dng[j] * (1 - ng[j] * ng[j]);
        dr[j] = (drg[j] + d[j] * un[j]) * rg[j] * (1 - rg[j]);
    }
    bp_cell_accumulate(xw, bx, d, r, 2 * H + j0, m);
    for (size_t j = 0; j < m; j++)
        d[j] *= rg[j];
    bp_cell_write(rec, store, bh, d, r, 2 * H + j0, m);
    bp_cell_accumulate(xw, bx, dr, r, j0, m);
    bp_cell_write(rec, store, bh, dr, r, j0, m);
    for (size_t j = 0; j < m; j++)
        d[j] = dzg[j] * zg[j] * (1 - zg[j]);
    bp_cell_accumulate(xw, bx, d, r, H + j0, m);
    bp_cell_write(rec, store, bh, d, r, H + j0, m);
}

BP_KERNEL_BODY void gru_gates_backward_body(bp_node *n)
{
    size_t B = (size_t)n->shape.dim[0], H = (size_t)n->shape.dim[1] / 3;
    bool store = bp_grad_take_fresh(n->in[1]); /* drec written whole: = when fresh */
    for (size_t r = 0; r < B; r++) {
        bp_cell_prefetch(n->value, B, 3 * H, r, 0, H); /* r (z and n: gru_h's backward) */
        bp_cell_prefetch(n->aux, B, H, r, 0, H); /* u_n */
        for (size_t j0 = 0; j0 < H; j0 += BP_CELL_CHUNK)
            gru_chunk_backward(n, store, r, j0, H - j0 < BP_CELL_CHUNK ? H - j0 : BP_CELL_CHUNK);
    }
}
BP_KERNEL(static, gru_gates_backward, (bp_node *n), (n))

static void gru_gates_case(int k, bp_rng *rng, bp_check_case *c)
{
    bp_cell_case_sum(3, 2, k, rng, c);
}

const bp_op bp_op_gru_gates = {
    .name = "gru_gates",
    .n_in = BP_OP_NIN(gru_gates),
    .n_attr = BP_OP_NATTR(gru_gates),
    .formula = "a = xw + b_x, u = rec + b_h; y = [sigmoid(a_r + u_r), sigmoid(a_z + u_z), "
               "tanh(a_n + r * u_n)]",
    .inputs_doc = "xw, rec (B,3H); b_x, b_h (3H)",
    .grad_formula = "dn' = dn (1 − n²); dr' = (dr + dn' u_n) r (1 − r); dz' = dz z (1 − z); da = [dr', dz', dn'], du = [dr', dz', dn' r]",
    .shape = gru_gates_shape,
    .forward = gru_gates_forward,
    .backward = gru_gates_backward,
    .unsaved = 1 | 2 | 4 | 8, /* reads y, and u_n from aux */
    .grad_assign = 1u << 1, /* rec */
    .check = {.n_cases = 4, .make_case = gru_gates_case, .lo = -2, .hi = 2},
};
