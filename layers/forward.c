/* forward.c — record a net over steps [t0, t1) of a batch: inputs, the layer stack
 * (layer by layer, step by step), the readout and the loss. */
#include "net_internal.h"

#include <stdlib.h>
#include <string.h>

/* The batch must fit the net: input kind and width, targets, and the steps asked for. */
static bool check_batch(bp_net *net, bp_tape *t, const bp_batch *b, int t0, int t1,
                        const bp_net_state *state)
{
    const bp_net_spec *s = &net->spec;
    if (b->tokens != s->tokens) {
        bp_tape_fail(t, BP_ERR_SHAPE, "net: the batch holds %s; the net reads %s",
                     b->tokens ? "token ids" : "feature vectors",
                     s->tokens ? "token ids" : "feature vectors");
        return false;
    }
    if (!s->tokens && b->F != s->input_size) {
        bp_tape_fail(t, BP_ERR_SHAPE, "net: the batch has %d features per step; the input size "
                     "is %d", b->F, s->input_size);
        return false;
    }
    bool seq = b->target == BP_TARGET_CLASS_SEQ;
    if (seq != (s->head == BP_HEAD_SEQ)) {
        bp_tape_fail(t, BP_ERR_SHAPE, "net: head '%s' needs %s targets; the batch has %s",
                     bp_head_kind_name(s->head), s->head == BP_HEAD_SEQ ? "per-step class" :
                     "last-step", seq ? "per-step class targets [B, T]" : "last-step targets");
        return false;
    }
    if (b->O != s->output_size) {
        bp_tape_fail(t, BP_ERR_SHAPE, "net: the batch's targets have %d %s; the output size is %d",
                     b->O, b->target == BP_TARGET_VALUES ? "values" : "classes", s->output_size);
        return false;
    }
    if (t0 < 0 || t1 <= t0 || t1 > b->T) {
        bp_tape_fail(t, BP_ERR_VALUE, "net: steps [%d, %d) are not a range within the batch's "
                     "%d steps", t0, t1, b->T);
        return false;
    }
    if (state && (state->net != net || state->B != b->B)) {
        bp_tape_fail(t, BP_ERR_SHAPE, "net: the state is for %s (batch %d); the batch has %d rows",
                     state->net != net ? "another net" : "this net", state->B, b->B);
        return false;
    }
    size_t need = (size_t)b->B * (size_t)(s->tokens ? s->input_size : b->F);
    if (need > net->buf_cap) {
        bp_real *buf = realloc(net->buf, need * sizeof *buf);
        if (!buf) {
            bp_tape_fail(t, BP_ERR_NOMEM, "net: out of memory");
            return false;
        }
        net->buf = buf;
        net->buf_cap = need;
    }
    if (!net_reserve(net, t1 - t0)) {
        bp_tape_fail(t, BP_ERR_NOMEM, "net: out of memory");
        return false;
    }
    return true;
}

/* The net's input at step t when it is token ids read by an embedding: (B). */
static bp_node *step_ids(bp_net *net, bp_tape *t, const bp_batch *b, int step)
{
    for (int r = 0; r < b->B; r++)
        net->buf[r] = b->x[(size_t)r * b->T + step];
    return bp_tape_input(t, bp_shape1(b->B), net->buf, false); /* checked by embedding */
}

/* The net's input over steps [t0, t0 + steps) as one node, time major: row k B + r is
 * row r's step t0 + k, its features (F) or its token one-hot (V). One node, so that a
 * first recurrent layer projects every step in one product. */
static bp_node *sequence_input(bp_net *net, bp_tape *t, const bp_batch *b, int t0, int steps)
{
    int B = b->B, F = net->spec.tokens ? net->spec.input_size : b->F;
    bp_node *x = bp_tape_input(t, bp_shape2(steps * B, F), NULL, false); /* zeros */
    if (!x)
        return NULL;
    for (int k = 0; k < steps; k++) {
        bp_real *xk = x->value + (size_t)k * B * F;
        if (!net->spec.tokens) {
            bp_batch_step(b, t0 + k, xk);
            continue;
        }
        for (int r = 0; r < B; r++) {
            bp_real id = b->x[(size_t)r * b->T + t0 + k];
            if (!(id >= 0 && id < F) || (bp_real)(int)id != id) {
                bp_tape_fail(t, BP_ERR_VALUE, "net: token id %g at row %d, step %d is not in "
                             "[0, %d)", (double)id, r, t0 + k, F);
                return NULL;
            }
            xk[(size_t)r * F + (int)id] = 1;
        }
    }
    return x;
}

/* The net's input at each step: (B, F) rows of the sequence node, viewed in place, made
 * on first use (a first recurrent layer reads the sequence node itself). */
static bp_node **step_inputs(bp_net *net, bp_tape *t, int B, int steps)
{
    if (net->in_seq && !net->in_nodes[0])
        for (int k = 0; k < steps; k++)
            net->in_nodes[k] = bp_rows(t, net->in_seq, (double)k * B, B);
    return net->in_nodes;
}

/* Steps per input product of a first layer: all of them when the product [n B, W] is
 * small, else blocks of about BLOCK_BYTES, so that backward adds into a block's gradient
 * while it is still in cache (it is zeroed when the block's last step is reached). */
enum { BLOCK_BYTES = 256 * 1024 };
static int projection_block(int B, int W, int steps)
{
    size_t per_step = (size_t)B * (size_t)W * sizeof(bp_real);
    size_t n = BLOCK_BYTES / per_step;
    return n < 1 ? 1 : n > (size_t)steps ? steps : (int)n;
}

/* Layer i over the chunk: reads layer i-1's outputs (or the inputs), writes its own. */
static void record_layer(bp_net *net, bp_tape *t, int i, int B, int steps,
                         const bp_net_state *state)
{
    net_layer *l = &net->layers[i];
    size_t cap = (size_t)net->cap_steps;
    bp_layer_kind kind = l->spec.kind;
    /* a first rnn, lstm or gru layer: x W_x of every step in one product, [steps B, G H] */
    bool project = i == 0 && net->in_seq &&
                   (kind == BP_LAYER_RNN || kind == BP_LAYER_LSTM || kind == BP_LAYER_GRU);
    bp_node **in = i > 0 ? net->outs + (size_t)(i - 1) * cap
                   : project && l->spec.skip_from != BP_SKIP_INPUT ? NULL
                                                                    : step_inputs(net, t, B, steps);
    bp_node **out = net->outs + (size_t)i * cap;
    int r = l->rec_index;
    if (r < 0) {
        for (int k = 0; k < steps; k++)
            out[k] = l->spec.kind == BP_LAYER_EMBEDDING ? bp_embedding(t, l->W_x, in[k])
                                                        : net_linear(t, l, in[k]);
    } else {
        /* the carried state enters as a constant: its value, no gradient */
        bp_shape hs = bp_shape2(B, l->spec.size);
        step_io io = {0};
        io.h = bp_tape_input(t, hs, state ? state->h[r] : NULL, false);
        if (net_c_size(l))
            io.c = bp_tape_input(t, bp_shape2(B, net_c_size(l)), state ? state->c[r] : NULL,
                                 false);
        net->tr_h0[r] = io.h;
        int block = project ? projection_block(B, l->W_x->shape.dim[1], steps) : 0;
        bp_node *xw = NULL;
        for (int k = 0; k < steps; k++) {
            if (project && k % block == 0) { /* x W_x of the next block of steps at once */
                int n = steps - k < block ? steps - k : block;
                bp_node *x = n == steps ? net->in_seq : bp_rows(t, net->in_seq, (double)k * B, n * B);
                xw = bp_matmul(t, x, l->W_x);
            }
            /* step k's x_t W_x: rows of the block's product (a view), or the cell makes it */
            io.x = project ? NULL : in[k];
            io.xw = project ? bp_rows(t, xw, (double)(k % block) * B, B) : NULL;
            switch (l->spec.kind) {
            case BP_LAYER_RNN: net_rnn_step(t, l, &io); break;
            case BP_LAYER_LSTM: net_lstm_step(t, l, &io); break;
            case BP_LAYER_CELL: net_cell_step(t, l, &io); break;
            default: net_gru_step(t, l, &io); break;
            }
            net->tr_h_rows[r][k] = out[k] = io.h_new;
            net->tr_rec_rows[r][k] = io.rec;
            io.h = io.h_new;
            io.c = io.c_new;
        }
        net->last_c[r] = io.c;
    }
    /* a skip connection in the stack: y = f(x) + x_skip, a skip node */
    int from = l->spec.skip_from;
    if (from != BP_SKIP_NONE) {
        bp_node **src = from == BP_SKIP_INPUT ? in : net->outs + (size_t)from * cap;
        for (int k = 0; k < steps; k++)
            out[k] = bp_skip(t, out[k], src[k]);
    }
}

/* logits = h out.W + out.b, (B, O) */
static bp_node *readout(bp_net *net, bp_tape *t, bp_node *h)
{
    return bp_add(t, bp_matmul(t, h, net->out_W), net->out_b);
}

static bp_node *record_head(bp_net *net, bp_tape *t, const bp_batch *b, int t0, int t1)
{
    int steps = t1 - t0, B = b->B;
    bp_node **top = net->outs + (size_t)(net->spec.n_layers - 1) * (size_t)net->cap_steps;
    for (int k = 0; k < steps; k++)
        net->logits[k] = NULL;
    if (net->spec.head == BP_HEAD_LAST) {
        if (t1 != b->T) /* no target in this chunk */
            return bp_tape_input(t, bp_shape1(1), NULL, false);
        bp_node *z = net->logits[steps - 1] = readout(net, t, top[steps - 1]);
        if (b->target == BP_TARGET_VALUES)
            return bp_mse(t, z, bp_tape_input(t, bp_shape2(B, b->O), b->y, false));
        return bp_softmax_xent(t, z, bp_tape_input(t, bp_shape1(B), b->y, false));
    }
    /* sequence to sequence: L = (1/steps) sum_k xent(logits_k, y[:, t0 + k]) */
    bp_node *total = NULL;
    for (int k = 0; k < steps; k++) {
        bp_node *z = net->logits[k] = readout(net, t, top[k]);
        for (int r = 0; r < B; r++)
            net->buf[r] = b->y[(size_t)r * b->T + t0 + k];
        bp_node *l = bp_softmax_xent(t, z, bp_tape_input(t, bp_shape1(B), net->buf, false));
        total = total ? bp_add(t, total, l) : l;
    }
    return steps == 1 ? total : bp_scale(t, total, 1.0 / steps);
}

bp_node *bp_net_forward(bp_net *net, bp_tape *t, const bp_batch *b, int t0, int t1,
                        bp_net_state *state)
{
    if (bp_tape_error(t) || !check_batch(net, t, b, t0, t1, state))
        return NULL;
    int steps = t1 - t0;
    net->trace.steps = steps;
    net->trace.t0 = t0;
    bool ids = net->spec.tokens && net->layers[0].spec.kind == BP_LAYER_EMBEDDING;
    net->in_seq = ids ? NULL : sequence_input(net, t, b, t0, steps);
    for (int k = 0; k < steps; k++)
        net->in_nodes[k] = ids ? step_ids(net, t, b, t0 + k) : NULL;
    for (int i = 0; i < net->spec.n_layers; i++)
        record_layer(net, t, i, b->B, steps, state);
    bp_node *loss = record_head(net, t, b, t0, t1);
    if (!loss || bp_tape_error(t))
        return NULL;
    if (state) /* carry the values, after step t1 - 1, to the next chunk */
        for (int r = 0; r < net->n_rec; r++) {
            const bp_node *h = net->tr_h_rows[r][steps - 1];
            memcpy(state->h[r], h->value, h->size * sizeof(bp_real));
            if (state->c[r])
                memcpy(state->c[r], net->last_c[r]->value,
                       net->last_c[r]->size * sizeof(bp_real));
        }
    return loss;
}

/* Nodes of one step = nodes(T = 3) - nodes(T = 2) on a zero batch of one row (from
 * T = 2 on, the seq head's per-sequence scale node is there in both). */
int bp_net_step_nodes(bp_net *net, bp_error *err)
{
    const bp_net_spec *s = &net->spec;
    bp_target_kind target = s->head == BP_HEAD_SEQ ? BP_TARGET_CLASS_SEQ : BP_TARGET_VALUES;
    int len[2] = {0, 0};
    bp_tape *t = bp_tape_new();
    if (!t) {
        bp_error_set(err, BP_ERR_NOMEM, "net: out of memory");
        return -1;
    }
    for (int T = 2; T <= 3; T++) {
        bp_batch *b = bp_batch_new(1, T, s->input_size, s->tokens, target, s->output_size, err);
        if (!b) {
            bp_tape_free(t);
            return -1;
        }
        bp_tape_reset(t);
        bp_node *loss = bp_net_forward(net, t, b, 0, T, NULL);
        bp_batch_free(b);
        if (!loss) {
            bp_error_set(err, bp_tape_error(t)->status, "%s", bp_tape_error(t)->msg);
            bp_tape_free(t);
            return -1;
        }
        len[T - 2] = bp_tape_len(t);
    }
    bp_tape_free(t);
    return len[1] - len[0];
}
