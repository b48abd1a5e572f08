/* cells.c — one time step of each layer, as plain ops on the tape. Nothing here
 * knows about time: BPTT is the tape's backward over the recorded steps.
 * Shapes: x is (B, in), h and c are (B, H); gate products are (B, G*H). */
#include "net_internal.h"

static bp_node *activate(bp_tape *t, bp_act act, bp_node *x)
{
    switch (act) {
    case BP_ACT_TANH: return bp_tanh(t, x);
    case BP_ACT_RELU: return bp_relu(t, x);
    case BP_ACT_NONE: break;
    }
    return x;
}

/* Where a recurrent layer passes h_t on: through clip_grad when set, so the gradient
 * dL/dh_t reaching the cell is clamped to [-c, c] (the lecture's "clip to 25"). */
static bp_node *clip_state(bp_tape *t, const net_layer *l, bp_node *h)
{
    return l->spec.clip_grad > 0 ? bp_clip_grad(t, h, l->spec.clip_grad) : h;
}

/* y = act(x W + b) */
bp_node *net_linear(bp_tape *t, const net_layer *l, bp_node *x)
{
    return activate(t, l->spec.act, bp_add(t, bp_matmul(t, x, l->W_x), l->b));
}

/* h_t = act(x_t W_x + h_{t-1} W_h + b);  residual: h_t = h_{t-1} + act(...) */
void net_rnn_step(bp_tape *t, const net_layer *l, step_io *io)
{
    io->rec = bp_matmul(t, io->h, l->W_h);
    bp_node *s = bp_add(t, bp_add(t, bp_matmul(t, io->x, l->W_x), io->rec), l->b);
    bp_node *h = activate(t, l->spec.act, s);
    if (l->spec.residual)
        h = bp_skip(t, h, io->h);
    io->h_new = clip_state(t, l, h);
}

/* PyTorch's LSTM, gate blocks i, f, g, o of z = x W_x + h W_h + b (B, 4H):
 *   i = sigma(z_i)  f = sigma(z_f)  g = tanh(z_g)  o = sigma(z_o)
 *   c_t = f * c_{t-1} + i * g     h_t = o * tanh(c_t) */
void net_lstm_step(bp_tape *t, const net_layer *l, step_io *io)
{
    int H = l->spec.size;
    io->rec = bp_matmul(t, io->h, l->W_h);
    bp_node *z = bp_add(t, bp_add(t, bp_matmul(t, io->x, l->W_x), io->rec), l->b);
    bp_node *i = bp_sigmoid(t, bp_slice(t, z, 0, H));
    bp_node *f = bp_sigmoid(t, bp_slice(t, z, H, H));
    bp_node *g = bp_tanh(t, bp_slice(t, z, 2 * H, H));
    bp_node *o = bp_sigmoid(t, bp_slice(t, z, 3 * H, H));
    io->c_new = bp_add(t, bp_mul(t, f, io->c), bp_mul(t, i, g));
    io->h_new = clip_state(t, l, bp_mul(t, o, bp_tanh(t, io->c_new)));
}

/* PyTorch's GRU, blocks r, z, n of a = x W_x + b_x and u = h W_h + b_h (B, 3H):
 *   r = sigma(a_r + u_r)   z = sigma(a_z + u_z)   n = tanh(a_n + r * u_n)
 *   h_t = (1 - z) * n + z * h_{t-1}  =  n + z * (h_{t-1} - n) */
void net_gru_step(bp_tape *t, const net_layer *l, step_io *io)
{
    int H = l->spec.size;
    io->rec = bp_matmul(t, io->h, l->W_h);
    bp_node *a = bp_add(t, bp_matmul(t, io->x, l->W_x), l->b);
    bp_node *u = bp_add(t, io->rec, l->b_h);
    bp_node *r = bp_sigmoid(t, bp_add(t, bp_slice(t, a, 0, H), bp_slice(t, u, 0, H)));
    bp_node *z = bp_sigmoid(t, bp_add(t, bp_slice(t, a, H, H), bp_slice(t, u, H, H)));
    bp_node *n = bp_tanh(t, bp_add(t, bp_slice(t, a, 2 * H, H),
                                   bp_mul(t, r, bp_slice(t, u, 2 * H, H))));
    bp_node *h = bp_add(t, n, bp_mul(t, z, bp_sub(t, io->h, n)));
    io->h_new = clip_state(t, l, h);
}
