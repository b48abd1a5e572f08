/* forward.c — record a net over steps [t0, t1) of a batch (or a segment of them): inputs,
 * the layer stack (time major: at each step every layer in turn), the readout and the
 * loss. */
#include "fpmode.h"
#include "net_internal.h"

#include <stdlib.h>
#include <string.h>

bp_status bp_net_check_batch(const bp_net *net, const bp_batch *b, bp_error *err)
{
    const bp_net_spec *s = &net->def->spec;
    if (b->tokens != s->tokens)
        return bp_error_set(err, BP_ERR_SHAPE, "net: the batch holds %s; the net reads %s",
                            b->tokens ? "token ids" : "feature vectors",
                            s->tokens ? "token ids" : "feature vectors");
    if (!s->tokens && b->F != s->input_size)
        return bp_error_set(err, BP_ERR_SHAPE, "net: the batch has %d features per step; the "
                            "input size is %d", b->F, s->input_size);
    bool seq = bp_target_per_step(b->target);
    if (seq != (s->head == BP_HEAD_SEQ))
        return bp_error_set(err, BP_ERR_SHAPE, "net: head '%s' needs %s targets; the batch has %s",
                            bp_head_kind_name(s->head), s->head == BP_HEAD_SEQ ? "per-step" :
                            "last-step", b->target == BP_TARGET_CLASS_SEQ ? "per-step class "
                            "targets [B, T]" : seq ? "per-step value targets [B, T, O]" :
                            "last-step targets");
    int top = s->n_layers - 1;
    if (b->len && s->head == BP_HEAD_LAST && !net_output_held(net, top))
        return bp_error_set(err, BP_ERR_SHAPE, "net: the batch's sequences have their own "
                            "lengths, but the output of layer '%s' is not a recurrent state held "
                            "past a sequence's end, so the last-step head cannot read each "
                            "sequence's own last step (end the stack with a recurrent layer, or "
                            "linear layers above one)", net->def->layers[top].spec.name);
    if (b->O != s->output_size)
        return bp_error_set(err, BP_ERR_SHAPE, "net: the batch's targets have %d %s; the output "
                            "size is %d", b->O, bp_target_is_class(b->target) ? "classes" :
                            "values", s->output_size);
    return BP_OK;
}

/* The batch must fit the net (bp_net_check_batch) and the steps asked for. */
static bool check_batch(bp_net *net, bp_tape *t, const bp_batch *b, int t0, int t1,
                        const bp_net_state *state, int steps)
{
    const bp_net_spec *s = &net->def->spec;
    bp_error e;
    if (bp_net_check_batch(net, b, &e) != BP_OK) {
        bp_tape_fail(t, e.status, "%s", e.msg);
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
    int width = s->tokens ? s->input_size : b->F;
    size_t need = (size_t)b->B * (size_t)(width > b->O ? width : b->O);
    if (need > net->buf_cap) {
        bp_real *buf = realloc(net->buf, need * sizeof *buf);
        if (!buf) {
            bp_tape_fail(t, BP_ERR_NOMEM, "net: out of memory");
            return false;
        }
        net->buf = buf;
        net->buf_cap = need;
    }
    if (!net_reserve(net, steps)) {
        bp_tape_fail(t, BP_ERR_NOMEM, "net: out of memory");
        return false;
    }
    return true;
}

bool net_output_held(const bp_net *net, int i)
{
    const bp_layer_spec *l = &net->def->layers[i].spec;
    bool held = bp_layer_is_recurrent(l->kind) ||
                (l->kind == BP_LAYER_LINEAR && i > 0 && net_output_held(net, i - 1));
    if (l->skip_from == BP_SKIP_INPUT) /* the layer's own input: the raw x_t for layer 0 */
        return held && i > 0 && net_output_held(net, i - 1);
    return held && (l->skip_from == BP_SKIP_NONE || net_output_held(net, l->skip_from));
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
    int B = b->B, F = net->def->spec.tokens ? net->def->spec.input_size : b->F;
    bp_node *x = bp_tape_input(t, bp_shape2(steps * B, F), NULL, false); /* zeros */
    if (!x)
        return NULL;
    for (int k = 0; k < steps; k++) {
        bp_real *xk = x->value + (size_t)k * B * F;
        if (!net->def->spec.tokens) {
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

/* The net's input at each step of the span: (B, F) rows of the sequence node (whose first
 * row is step in_lo), viewed in place, made on first use (a first recurrent layer reads the
 * sequence node itself). */
static bp_node **step_inputs(bp_net *net, bp_tape *t, int B, const net_span *sp)
{
    if (net->in_seq && !net->in_nodes[0])
        for (int k = 0; k < sp->b - sp->a; k++)
            net->in_nodes[k] = bp_rows(t, net->in_seq, (double)(sp->a - net->in_lo + k) * B, B);
    return net->in_nodes;
}

/* Before step 0: layer i's input, its input blocks, and (recurrent) its entering state,
 * a tape input holding the state's value (a constant unless the span asks for its
 * gradient). */
static void start_layer(bp_net *net, bp_tape *t, int i, int B, const net_span *sp)
{
    net_layer *l = &net->def->layers[i];
    net_run *run = &net->runs[i];
    bool project = net_projects(net, i);
    *run = (net_run){0};
    run->io.vals = net->cell_vals[i];
    run->in = i > 0 ? net->outs + (size_t)(i - 1) * (size_t)net->cap_steps
              : project && l->spec.skip_from != BP_SKIP_INPUT ? NULL
                                                               : step_inputs(net, t, B, sp);
    run->blk = project ? net_projection_block(B, l->W_x->shape.dim[1], sp->t1 - sp->t0) : 0;
    int r = l->rec_index;
    if (r < 0)
        return;
    run->io.h = bp_tape_input(t, bp_shape2(B, l->spec.size), sp->h0 ? sp->h0[r] : NULL,
                              sp->state_grad);
    run->io.c = NULL;
    if (net_c_size(l))
        run->io.c = bp_tape_input(t, bp_shape2(B, net_c_size(l)), sp->c0 ? sp->c0[r] : NULL,
                                  sp->state_grad);
    net->tr_h0[r] = run->io.h;
    net->tr_c0[r] = run->io.c;
}

/* Layer i at step k of the span (chunk step a + k): reads layer i-1's output (or the
 * input), writes its own. */
static void record_step(bp_net *net, bp_tape *t, int i, int k, int B, const net_span *sp)
{
    net_layer *l = &net->def->layers[i];
    net_run *run = &net->runs[i];
    size_t cap = (size_t)net->cap_steps;
    bp_node **in = run->in, **out = net->outs + (size_t)i * cap;
    int r = l->rec_index, s = sp->a + k;
    if (r < 0) {
        out[k] = l->spec.kind == BP_LAYER_EMBEDDING ? bp_embedding(t, l->W_x, in[k])
                                                    : net_linear(t, l, in[k]);
    } else {
        step_io *io = &run->io;
        if (run->blk && (k == 0 || (s - sp->t0) % run->blk == 0)) {
            /* x W_x of the next block of steps at once, into the last block's buffer
             * when the tape takes it back (its rows' consumers have all been recorded;
             * bp_tape_release_value) */
            if (k > 0)
                bp_tape_release_value(t, run->cur.xw);
            run->cur = net_block_product(net, t, l, run, s, B, sp);
            if (k == 0)
                net->blk_first = run->cur;
            net->blk_last = run->cur;
        }
        /* step k's x_t W_x: rows of the block's product (a view), or the cell makes it */
        io->x = run->blk ? NULL : in[k];
        io->xw = run->blk ? bp_rows(t, run->cur.xw, (double)(s - run->cur.r0) * B, B) : NULL;
        io->h_rec = l->spec.recurrent_dropout > 0 ? net_dropout(net, t, i, true, s, io->h) : NULL;
        switch (l->spec.kind) {
        case BP_LAYER_RNN: net_rnn_step(t, l, io); break;
        case BP_LAYER_LSTM: net_lstm_step(t, l, io); break;
        case BP_LAYER_CELL: net_cell_step(t, l, io); break;
        default: net_gru_step(t, l, io); break;
        }
        if (net->mask && io->h_new) { /* rows past their end keep their state */
            io->h_new = bp_where(t, net->mask, io->h_new, io->h);
            if (io->c_new)
                io->c_new = bp_where(t, net->mask, io->c_new, io->c);
        }
        net->tr_h_rows[r][k] = out[k] = io->h_new;
        net->tr_rec_rows[r][k] = io->rec;
        io->h = io->h_new;
        io->c = io->c_new;
        net->last_c[r] = io->c;
    }
    /* a skip connection in the stack: y = f(x) + x_skip, a skip node */
    int from = l->spec.skip_from;
    if (from != BP_SKIP_NONE) {
        bp_node **src = from == BP_SKIP_INPUT ? in : net->outs + (size_t)from * cap;
        out[k] = bp_skip(t, out[k], src[k]);
    }
    if (l->spec.dropout > 0) /* what the next layer (or the readout) reads */
        out[k] = net_dropout(net, t, i, false, s, out[k]);
}

/* logits = h out.W + out.b, (B, O); h out.W goes back to the tape (add's backward reads
 * no value) */
static bp_node *readout(bp_net *net, bp_tape *t, bp_node *h)
{
    bp_node *hw = bp_matmul(t, h, net->def->out_W), *z = bp_add(t, hw, net->def->out_b);
    bp_tape_release_value(t, hw);
    return z;
}

/* Step s's mask, m_r = [s < len_r], as a tape input; NULL when every row is still within
 * its sequence at s (then nothing is masked, and the tape is what it is without lengths). */
static bp_node *step_mask(bp_tape *t, const bp_batch *b, int s, int min_len)
{
    if (s < min_len)
        return NULL;
    bp_node *m = bp_tape_input(t, bp_shape1(b->B), NULL, false);
    for (int r = 0; m && r < b->B; r++)
        m->value[r] = s < b->len[r];
    return m;
}

/* Step s's loss: xent of the logits against its class ids (-1, no target, past a row's
 * end), or mse against its values (a finished row's prediction replaced by its target,
 * so it adds 0 and takes no gradient). */
static bp_node *step_loss(bp_net *net, bp_tape *t, const bp_batch *b, int s, bp_node *z)
{
    int B = b->B, O = b->O;
    if (b->target == BP_TARGET_CLASS_SEQ) {
        for (int r = 0; r < B; r++)
            net->buf[r] = s < bp_batch_len(b, r) ? b->y[(size_t)r * b->T + s] : -1;
        return bp_softmax_xent(t, z, bp_tape_input(t, bp_shape1(B), net->buf, false));
    }
    for (int r = 0; r < B; r++)
        memcpy(net->buf + (size_t)r * O, b->y + ((size_t)r * b->T + s) * O, (size_t)O * sizeof(bp_real));
    bp_node *y = bp_tape_input(t, bp_shape2(B, O), net->buf, false);
    return bp_mse(t, net->mask ? bp_where(t, net->mask, z, y) : z, y);
}

/* Sequence to sequence, step k of the span: its readout and loss, added to the running
 * sum: total + loss(logits_k, y[:, a + k]). */
static bp_node *record_seq_step(bp_net *net, bp_tape *t, const bp_batch *b, int k, bp_node *top,
                                bp_node *total, const net_span *sp)
{
    bp_node *z = net->logits[k] = readout(net, t, top);
    bp_node *l = z ? step_loss(net, t, b, sp->a + k, z) : NULL;
    if (!total && sp->total_in) /* the sum of the steps before the span, a constant */
        total = bp_tape_input(t, bp_shape1(1), sp->total_in, false);
    return total ? bp_add(t, total, l) : l;
}

/* After the last step: the sequence-to-one readout, or the mean of the per-step losses:
 * L = (1/steps) sum_k loss(logits_k, y[:, t0 + k]) over the chunk's steps; with lengths,
 * the mean over the (row, step) pairs within their sequences: L = (B / n) sum_k loss_k,
 * each loss_k being a sum over its rows divided by B. */
static bp_node *record_loss(bp_net *net, bp_tape *t, const bp_batch *b, bp_node *total,
                            const net_span *sp)
{
    int steps = sp->b - sp->a, B = b->B;
    if (net->def->spec.head == BP_HEAD_SEQ && b->len) {
        long n = bp_batch_count_steps(b, sp->t0, sp->t1);
        return bp_scale(t, total, n ? (double)B / (double)n : 0);
    }
    if (net->def->spec.head == BP_HEAD_SEQ)
        return sp->t1 - sp->t0 == 1 ? total : bp_scale(t, total, 1.0 / (sp->t1 - sp->t0));
    if (sp->b != b->T) /* no target in this chunk */
        return bp_tape_input(t, bp_shape1(1), NULL, false);
    bp_node **top = net->outs + (size_t)(net->def->spec.n_layers - 1) * (size_t)net->cap_steps;
    bp_node *z = net->logits[steps - 1] = readout(net, t, top[steps - 1]);
    if (b->target == BP_TARGET_VALUES)
        return bp_mse(t, z, bp_tape_input(t, bp_shape2(B, b->O), b->y, false));
    return bp_softmax_xent(t, z, bp_tape_input(t, bp_shape1(B), b->y, false));
}

/* Time major: at each step every layer in turn, then (seq head) the step's readout and
 * loss. A node's consumers at later steps then come after all of its own step's on the
 * tape, so backward adds what flows back through time into dL/dh_t before what comes
 * from above at step t — the order a segment recomputed from h_t sees too (recompute.c:
 * its gradients equal these bit for bit). */
bp_node *net_record(bp_net *net, bp_tape *t, const bp_batch *b, const net_span *sp)
{
    if (bp_tape_error(t) || !check_batch(net, t, b, sp->t0, sp->t1, NULL, sp->b - sp->a))
        return NULL;
    if (sp->a < sp->t0 || sp->b <= sp->a || sp->b > sp->t1) {
        bp_tape_fail(t, BP_ERR_VALUE, "net: steps [%d, %d) are not within [%d, %d)", sp->a,
                     sp->b, sp->t0, sp->t1);
        return NULL;
    }
    int steps = sp->b - sp->a, B = b->B, L = net->def->spec.n_layers;
    net->trace.steps = steps;
    net->trace.t0 = sp->a;
    net->row0 = b->row0;
    net->blk_first = net->blk_last = (net_block){0};
    bool ids = net->def->spec.tokens && net->def->layers[0].spec.kind == BP_LAYER_EMBEDDING;
    /* the input rows: the span's steps, and those of the first layer's blocks around them
     * that are computed here (a block begun before the span may be in the cache) */
    int lo = sp->a, hi = sp->b;
    net->in_seq = NULL;
    if (net_projects(net, 0)) {
        int blk = net_projection_block(B, net->def->layers[0].W_x->shape.dim[1], sp->t1 - sp->t0);
        int p0 = sp->t0 + (sp->a - sp->t0) / blk * blk, pl = sp->t0 + (sp->b - 1 - sp->t0) / blk * blk;
        int ql = pl + blk < sp->t1 ? pl + blk : sp->t1;
        bool cached = p0 < sp->a && net->xw_cache && net->xw_cache->p == p0;
        if (!cached)
            lo = p0;
        if (pl > p0 || !cached)
            hi = ql;
    }
    net->in_lo = lo;
    net->in_seq = ids ? NULL : sequence_input(net, t, b, lo, hi - lo);
    for (int k = 0; k < steps; k++)
        net->in_nodes[k] = ids ? step_ids(net, t, b, sp->a + k) : NULL;
    for (int i = 0; i < L; i++)
        start_layer(net, t, i, B, sp);
    bp_node *total = NULL, **top = net->outs + (size_t)(L - 1) * (size_t)net->cap_steps;
    int min_len = bp_batch_min_len(b);
    for (int k = 0; k < steps && !bp_tape_error(t); k++) {
        net->mask = step_mask(t, b, sp->a + k, min_len);
        for (int i = 0; i < L; i++)
            record_step(net, t, i, k, B, sp);
        net->logits[k] = NULL;
        if (net->def->spec.head == BP_HEAD_SEQ)
            total = record_seq_step(net, t, b, k, top[k], total, sp);
    }
    net->mask = NULL;
    bp_node *loss = bp_tape_error(t) ? NULL : record_loss(net, t, b, total, sp);
    return loss && !bp_tape_error(t) ? loss : NULL;
}

bp_node *bp_net_forward(bp_net *net, bp_tape *t, const bp_batch *b, int t0, int t1,
                        bp_net_state *state)
{
    if (bp_tape_error(t) || !check_batch(net, t, b, t0, t1, state, 1))
        return NULL;
    net_span sp = {.t0 = t0, .t1 = t1, .a = t0, .b = t1};
    if (state) {
        sp.h0 = state->h;
        sp.c0 = state->c;
    }
    bp_fp_scope fp = bp_fp_flush_begin(bp_tape_flushes_denormals(t));
    bp_node *loss = net_record(net, t, b, &sp);
    bp_fp_flush_end(fp);
    if (!loss)
        return NULL;
    if (state) /* carry the values, after step t1 - 1, to the next chunk */
        for (int r = 0; r < net->def->n_rec; r++) {
            const bp_node *h = net->tr_h_rows[r][t1 - t0 - 1];
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
    const bp_net_spec *s = &net->def->spec;
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
