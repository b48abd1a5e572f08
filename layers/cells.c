/* cells.c — one time step of each layer, as ops on the tape: two products and the
 * step's pointwise work fused into one to three nodes (ops rnn_tanh, lstm_gates...).
 * Nothing here knows about time: BPTT is the tape's backward over the recorded steps.
 * Shapes: x is (B, in), h and c are (B, H); gate products are (B, G*H). */
#include "net_internal.h"

typedef bp_node *(*act_fn)(bp_tape *, bp_node *);
static bp_node *apply(act_fn op, bp_tape *t, bp_node *x)
{
    return op ? op(t, x) : x;
}

/* act(x) by its op in BP_ACT_LIST (none: x itself). */
static bp_node *activate(bp_tape *t, bp_act act, bp_node *x)
{
    switch (act) {
#define APPLY(id, name, op, fused) \
    case BP_ACT_##id: return apply(op, t, x);
        BP_ACT_LIST(APPLY)
#undef APPLY
    default: break;
    }
    return x;
}

/* The rnn's fused step op for act (rnn_tanh, rnn_relu), or NULL when it has none. */
typedef bp_node *(*fused_fn)(bp_tape *, bp_node *, bp_node *, bp_node *);
static fused_fn fused_step(bp_act act)
{
    switch (act) {
#define FUSED(id, name, op, fused) \
    case BP_ACT_##id: return fused;
        BP_ACT_LIST(FUSED)
#undef FUSED
    default: break;
    }
    return NULL;
}

/* Where a recurrent layer passes h_t on: through clip_grad when set, so the gradient
 * dL/dh_t reaching the cell is clamped to [-c, c] (the lecture's "clip to 25"). */
static bp_node *clip_state(bp_tape *t, const net_layer *l, bp_node *h)
{
    return l->spec.clip_grad > 0 ? bp_clip_grad(t, h, l->spec.clip_grad) : h;
}

/* y = act(x W + b); x W, and x W + b under an activation, go back to the tape where no
 * backward reads them (release_products, below) */
bp_node *net_linear(bp_tape *t, const net_layer *l, bp_node *x)
{
    bp_node *xw = bp_matmul(t, x, l->W_x), *z = bp_add(t, xw, l->b);
    bp_node *y = activate(t, l->spec.act, z);
    bp_tape_release_value(t, xw);
    if (y != z)
        bp_tape_release_value(t, z);
    return y;
}

/* x_t W_x: made ahead for every step (a row view of one product), or here. */
static bp_node *input_product(bp_tape *t, const net_layer *l, const step_io *io)
{
    return io->xw ? io->xw : bp_matmul(t, io->x, l->W_x);
}

/* h_{t-1} W_h, of h_{t-1} after recurrent dropout when it is on */
static bp_node *recurrent_product(bp_tape *t, const net_layer *l, const step_io *io)
{
    return bp_matmul(t, io->h_rec ? io->h_rec : io->h, l->W_h);
}

/* The step's products are read by its cell op alone. Where that op's backward reads
 * neither (bp_op.unsaved), their buffers go back to the tape for the next step's products,
 * still in cache; the tape refuses a view (a row view of forward.c's block product) and
 * a value some backward reads, and keeps all when it keeps values. */
static void release_products(bp_tape *t, bp_node *xw, bp_node *rec)
{
    bp_tape_release_value(t, xw);
    bp_tape_release_value(t, rec);
}

/* h_t = act(x_t W_x + h_{t-1} W_h + b);  residual: h_t = h_{t-1} + act(...)
 * The sum and act are one fused node (rnn_tanh or rnn_relu). */
void net_rnn_step(bp_tape *t, const net_layer *l, step_io *io)
{
    io->rec = recurrent_product(t, l, io);
    bp_node *xw = input_product(t, l, io);
    fused_fn fused = fused_step(l->spec.act);
    bp_node *h = fused ? fused(t, xw, io->rec, l->b)
                       : activate(t, l->spec.act, bp_add(t, bp_add(t, xw, io->rec), l->b));
    release_products(t, xw, io->rec);
    if (l->spec.residual)
        h = bp_skip(t, h, io->h);
    io->h_new = clip_state(t, l, h);
}

/* PyTorch's LSTM, gate blocks i, f, g, o of z = x W_x + h W_h + b (B, 4H):
 *   i = sigma(z_i)  f = sigma(z_f)  g = tanh(z_g)  o = sigma(z_o)      (lstm_gates)
 *   c_t = f * c_{t-1} + i * g                                           (lstm_c)
 *   h_t = o * tanh(c_t)                                                 (lstm_h) */
void net_lstm_step(bp_tape *t, const net_layer *l, step_io *io)
{
    io->rec = recurrent_product(t, l, io);
    bp_node *xw = input_product(t, l, io);
    bp_node *gates = bp_lstm_gates(t, xw, io->rec, l->b);
    release_products(t, xw, io->rec);
    io->c_new = bp_lstm_c(t, gates, io->c);
    io->h_new = clip_state(t, l, bp_lstm_h(t, gates, io->c_new));
}

/* PyTorch's GRU, blocks r, z, n of a = x W_x + b_x and u = h W_h + b_h (B, 3H):
 *   r = sigma(a_r + u_r)   z = sigma(a_z + u_z)   n = tanh(a_n + r * u_n)   (gru_gates)
 *   h_t = (1 - z) * n + z * h_{t-1}  =  n + z * (h_{t-1} - n)            (gru_h) */
void net_gru_step(bp_tape *t, const net_layer *l, step_io *io)
{
    io->rec = recurrent_product(t, l, io);
    bp_node *xw = input_product(t, l, io);
    bp_node *gates = bp_gru_gates(t, xw, io->rec, l->b, l->b_h);
    release_products(t, xw, io->rec);
    io->h_new = clip_state(t, l, bp_gru_h(t, gates, io->h));
}
