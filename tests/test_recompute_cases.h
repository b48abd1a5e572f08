/* test_recompute_cases.h — the cases of test_recompute.c (double build) and
 * test_f32_recompute.c (float build): bp_net_backward_recompute gives the very same
 * loss, parameter gradients and carried state as plain BPTT, compared with memcmp, for
 * every layer kind, a stack with skips, a graph cell with two states, both heads,
 * truncated chunks, and segment lengths 1, 2, 3, sqrt(T), T and ones T is no multiple
 * of; with small and with blocked first-layer input products; with everything kept, grads
 * released, and grads and values released (a training step's tape: the same numbers
 * again, plain or recomputed). */
#ifndef TEST_RECOMPUTE_CASES_H
#define TEST_RECOMPUTE_CASES_H

#include "test_layers_util.h"
#include "test_valgrind.h"

#include <stdio.h>
#include <stdlib.h>

/* The loss, every parameter's grad and the carried state after one run. */
typedef struct run {
    double loss;
    bp_real *grads;
    size_t n_grads;
    bp_net_state *state;
} run;

/* Widths of the i-th recurrent layer's h and c (0: none). */
static void state_widths(const bp_net *net, int i, int *h, int *c)
{
    const bp_net_spec *s = bp_net_spec_of(net);
    for (int j = 0, r = 0; j < s->n_layers; j++) {
        const bp_layer_spec *l = &s->layers[j];
        if (!bp_layer_is_recurrent(l->kind) || r++ != i)
            continue;
        *h = l->size;
        *c = l->kind == BP_LAYER_LSTM                           ? l->size
             : l->kind == BP_LAYER_CELL && l->cell->n_states > 1 ? l->cell->state_sizes[1]
                                                                 : 0;
        return;
    }
    *h = *c = 0;
}

/* What the tape gives back: nothing, the grads once used, or also the values no backward
 * reads (bp_tape_set_keep_grads, bp_tape_set_keep_values). */
enum { KEEP_ALL, RELEASE_GRADS, RELEASE_VALUES, N_RELEASE };
static const char *const release_names[] = {"all kept", "grads released",
                                            "grads and values released"};

/* Plain BPTT (k = 0) or recomputation with segment length k, over chunks of `chunk`
 * steps (0: whole), each chunk seeded as the trainer seeds it (seq head: len / T). */
static run run_once(fixture *f, int chunk, int k, int release, bp_tape *t)
{
    const bp_batch *b = f->batch;
    int T = b->T, K = chunk ? chunk : T;
    bool seq = bp_net_spec_of(f->net)->head == BP_HEAD_SEQ;
    bp_error err = {0};
    run r = {0};
    r.state = bp_net_state_new(f->net, b->B, &err);
    cr_assert_not_null(r.state, "%s", err.msg);
    bp_params_zero_grad(f->params);
    bp_tape_set_keep_grads(t, release == KEEP_ALL);
    bp_tape_set_keep_values(t, release != RELEASE_VALUES);
    for (int t0 = 0; t0 < T; t0 += K) {
        int t1 = t0 + K < T ? t0 + K : T;
        bp_real w = seq ? (bp_real)(t1 - t0) / (bp_real)T : 1;
        double l;
        if (!k) {
            bp_tape_reset(t);
            bp_node *loss = bp_net_forward(f->net, t, b, t0, t1, r.state);
            cr_assert_not_null(loss, "%s", bp_tape_error(t)->msg);
            l = loss->value[0];
            cr_assert_eq(bp_backward_seed(t, loss, &w, &err), BP_OK, "%s", err.msg);
        } else {
            cr_assert_eq(bp_net_backward_recompute(f->net, t, b, t0, t1, r.state, k, w, &l, &err),
                         BP_OK, "k = %d: %s", k, err.msg);
        }
        r.loss += (double)w * l;
    }
    r.n_grads = bp_params_elements(f->params);
    r.grads = malloc(r.n_grads * sizeof(bp_real));
    cr_assert_not_null(r.grads);
    for (int i = 0, off = 0; i < bp_params_count(f->params); i++) {
        bp_node *p = bp_params_at(f->params, i);
        memcpy(r.grads + off, p->grad, p->size * sizeof(bp_real));
        off += (int)p->size;
    }
    return r;
}

static void run_free(run *r)
{
    free(r->grads);
    bp_net_state_free(r->state);
}

/* memcmp of the loss, every parameter's grad and the state after the last step; names
 * the first element that differs. */
static void expect_same(const fixture *f, const run *plain, const run *rc, const char *what,
                        int k)
{
    cr_expect(memcmp(&plain->loss, &rc->loss, sizeof plain->loss) == 0,
              "%s, k = %d: loss %.17g, plain %.17g", what, k, rc->loss, plain->loss);
    cr_assert_eq(plain->n_grads, rc->n_grads);
    for (int i = 0, off = 0; i < bp_params_count(f->params); i++) {
        const bp_node *p = bp_params_at(f->params, i);
        const bp_real *x = plain->grads + off, *y = rc->grads + off;
        if (memcmp(x, y, p->size * sizeof(bp_real))) {
            size_t j = 0;
            while (memcmp(x + j, y + j, sizeof(bp_real)) == 0)
                j++;
            cr_expect(false, "%s, k = %d: %s differs at element %zu: %.17g, plain %.17g", what,
                      k, p->name, j, (double)y[j], (double)x[j]);
        }
        off += (int)p->size;
    }
    int B = f->batch->B;
    for (int i = 0; bp_net_state_h(plain->state, i); i++) {
        int h, c;
        state_widths(f->net, i, &h, &c);
        cr_expect(memcmp(bp_net_state_h(plain->state, i), bp_net_state_h(rc->state, i),
                         (size_t)B * h * sizeof(bp_real)) == 0,
                  "%s, k = %d: the carried h of recurrent layer %d differs", what, k, i);
        if (c)
            cr_expect(memcmp(bp_net_state_c(plain->state, i), bp_net_state_c(rc->state, i),
                             (size_t)B * c * sizeof(bp_real)) == 0,
                      "%s, k = %d: the carried c of recurrent layer %d differs", what, k, i);
    }
}

/* Plain with everything kept against plain and every k in ks (0-terminated), with
 * everything kept and with grads and values released (a training step); plain alone
 * with grads released, values kept (the ks there would add minutes under valgrind and
 * nothing the two others do not cover). */
static void check_ks(fixture *f, int chunk, const int *ks, const char *what)
{
    bp_tape *t = bp_tape_new();
    cr_assert_not_null(t);
    run plain = run_once(f, chunk, 0, KEEP_ALL, t);
    bool nonzero = false;
    for (size_t j = 0; j < plain.n_grads; j++)
        nonzero |= plain.grads[j] != 0;
    cr_assert(nonzero, "%s: the plain gradient is zero: the comparison would prove nothing",
              what);
    for (int rel = KEEP_ALL; rel < N_RELEASE; rel++) {
        char w[160];
        snprintf(w, sizeof w, "%s, %s", what, release_names[rel]);
        if (rel != KEEP_ALL) { /* k = 0 below: plain BPTT on this tape */
            run other = run_once(f, chunk, 0, rel, t);
            expect_same(f, &plain, &other, w, 0);
            run_free(&other);
        }
        for (const int *k = ks; *k && rel != RELEASE_GRADS; k++) {
            run rc = run_once(f, chunk, *k, rel, t);
            expect_same(f, &plain, &rc, w, *k);
            run_free(&rc);
        }
    }
    run_free(&plain);
    bp_tape_free(t);
}

/* 1, 2, 3, 4 = ceil(sqrt(10)) (also as BP_RECOMPUTE_SQRT), 7 (10 is no multiple), 10, 25 */
static const int ks_10[] = {1, 2, 3, 4, BP_RECOMPUTE_SQRT, 7, 10, 25, 0};

static void one_layer(bp_layer_spec l, bp_head_kind head, int in, int B, int T, int chunk,
                      const int *ks, const char *what)
{
    fixture f;
    bool tok = head == BP_HEAD_SEQ;
    fx_net(&f, &l, 1, in, tok, head, head == BP_HEAD_SEQ ? 4 : 2, chunk, 7);
    fx_batch(&f, B, T, head == BP_HEAD_SEQ ? BP_TARGET_CLASS_SEQ : BP_TARGET_VALUES, 8);
    check_ks(&f, chunk, ks, what);
    fx_free(&f);
}

Test(recompute, rnn_tanh_seq_to_one)
{
    one_layer(fx_layer(BP_LAYER_RNN, 5), BP_HEAD_LAST, 3, 3, 10, 0, ks_10, "rnn");
}

Test(recompute, irnn_with_clip_and_residual)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 5);
    l.act = BP_ACT_RELU;
    l.init = BP_INIT_IDENTITY;
    l.clip_grad = 0.01; /* active: the clamp is part of what must match */
    l.residual = true;
    one_layer(l, BP_HEAD_LAST, 3, 3, 10, 0, ks_10, "irnn, clip_grad, residual");
}

Test(recompute, lstm_seq_to_one)
{
    one_layer(fx_layer(BP_LAYER_LSTM, 4), BP_HEAD_LAST, 3, 2, 10, 0, ks_10, "lstm");
}

Test(recompute, gru_seq_to_one)
{
    one_layer(fx_layer(BP_LAYER_GRU, 4), BP_HEAD_LAST, 3, 2, 10, 0, ks_10, "gru");
}

Test(recompute, gru_seq_to_seq_one_hot_tokens)
{
    one_layer(fx_layer(BP_LAYER_GRU, 4), BP_HEAD_SEQ, 5, 3, 10, 0, ks_10, "gru, seq head");
}

Test(recompute, lstm_seq_to_seq_one_step_chunks_and_length_one)
{
    static const int ks[] = {1, 2, BP_RECOMPUTE_SQRT, 0};
    one_layer(fx_layer(BP_LAYER_LSTM, 4), BP_HEAD_SEQ, 5, 2, 1, 0, ks, "lstm, T = 1");
    one_layer(fx_layer(BP_LAYER_LSTM, 4), BP_HEAD_SEQ, 5, 2, 7, 1, ks, "lstm, chunks of 1");
}

/* embedding, then rnn, lstm (skip from the rnn), gru (skip from its input), linear; the
 * seq head reads the linear layer */
Test(recompute, stack_with_skips_seq_to_seq)
{
    bp_layer_spec l[5] = {fx_layer(BP_LAYER_EMBEDDING, 4), fx_layer(BP_LAYER_RNN, 4),
                          fx_layer(BP_LAYER_LSTM, 4), fx_layer(BP_LAYER_GRU, 4),
                          fx_layer(BP_LAYER_LINEAR, 3)};
    l[1].clip_grad = 0.05;
    l[2].skip_from = 1;
    l[3].skip_from = BP_SKIP_INPUT;
    l[4].act = BP_ACT_TANH;
    fixture f;
    fx_net(&f, l, 5, 6, true, BP_HEAD_SEQ, 3, 0, 21);
    fx_batch(&f, 3, 10, BP_TARGET_CLASS_SEQ, 22);
    check_ks(&f, 0, ks_10, "stack with skips, seq head");
    fx_free(&f);
}

/* a first lstm with a skip from its input (read as rows of the sequence), a gru with a
 * skip from the lstm, sequence to one */
Test(recompute, stack_with_skips_seq_to_one)
{
    bp_layer_spec l[3] = {fx_layer(BP_LAYER_LSTM, 3), fx_layer(BP_LAYER_GRU, 3),
                          fx_layer(BP_LAYER_RNN, 3)};
    l[0].skip_from = BP_SKIP_INPUT;
    l[1].skip_from = 0;
    l[2].skip_from = 1;
    fixture f;
    fx_net(&f, l, 3, 3, false, BP_HEAD_LAST, 2, 0, 31);
    fx_batch(&f, 2, 10, BP_TARGET_VALUES, 32);
    check_ks(&f, 0, ks_10, "stack with skips, seq to one");
    fx_free(&f);
}

/* A graph cell with two states:
 *   g = tanh(x W_x + h W_h + b);  c' = 0.5 c + g;  h' = tanh(c') * g */
Test(recompute, graph_cell_with_two_states)
{
    bp_cell_spec cell = fx_two_state_cell();
    bp_layer_spec l = fx_layer(BP_LAYER_CELL, 4);
    l.cell = &cell;
    bp_layer_spec stack[2] = {l, fx_layer(BP_LAYER_RNN, 3)};
    fixture f;
    fx_net(&f, stack, 2, 3, false, BP_HEAD_LAST, 2, 0, 41);
    fx_batch(&f, 3, 10, BP_TARGET_VALUES, 42);
    check_ks(&f, 0, ks_10, "graph cell, two states");
    fx_free(&f);
}

/* On a training step's tape the graph cell gives back, every step, the values no
 * backward reads: xw, hw, pre, preb and cs (add, scale and tanh read no input), not g
 * and hc (mul reads both), nor the states; and the readout its h W_o. */
Test(recompute, graph_cell_releases_what_no_backward_reads)
{
    bp_cell_spec cell = fx_two_state_cell();
    bp_layer_spec l = fx_layer(BP_LAYER_CELL, 4);
    l.cell = &cell;
    fixture f;
    fx_net(&f, &l, 1, 3, false, BP_HEAD_LAST, 2, 0, 43);
    fx_batch(&f, 3, 10, BP_TARGET_VALUES, 44);
    bp_tape *t = bp_tape_new();
    run r = run_once(&f, 0, 0, RELEASE_VALUES, t);
    int released = 0, by_op[3] = {0}; /* matmul, add, scale */
    for (int i = 0; i < bp_tape_len(t); i++) {
        const bp_node *n = bp_tape_node(t, i);
        released += n->released;
        by_op[0] += n->released && n->op == &bp_op_matmul;
        by_op[1] += n->released && n->op == &bp_op_add;
        by_op[2] += n->released && n->op == &bp_op_scale;
        cr_expect(!n->released || !n->saved, "tape node %d (%s) was released, but a backward "
                  "reads it", i, n->op ? n->op->name : "input");
    }
    cr_expect_eq(released, 5 * 10 + 1, "%d values released over 10 steps", released);
    cr_expect(by_op[0] == 21 && by_op[1] == 20 && by_op[2] == 10, "released: %d matmul, %d add, "
              "%d scale", by_op[0], by_op[1], by_op[2]);
    run_free(&r);
    bp_tape_free(t);
    fx_free(&f);
}

/* Truncated BPTT: each chunk is recomputed in segments; the state crosses chunks. */
Test(recompute, truncated_chunks)
{
    static const int ks[] = {1, 2, 3, BP_RECOMPUTE_SQRT, 5, 0};
    fixture f;
    bp_layer_spec l[2] = {fx_layer(BP_LAYER_LSTM, 4), fx_layer(BP_LAYER_RNN, 3)};
    fx_net(&f, l, 2, 3, false, BP_HEAD_LAST, 2, 4, 51);
    fx_batch(&f, 2, 11, BP_TARGET_VALUES, 52);
    check_ks(&f, 4, ks, "lstm + rnn, chunks of 4, seq to one");
    fx_free(&f);
    fx_net(&f, l, 2, 5, true, BP_HEAD_SEQ, 3, 5, 53);
    fx_batch(&f, 2, 13, BP_TARGET_CLASS_SEQ, 54);
    check_ks(&f, 5, ks, "lstm + rnn, chunks of 5, seq head");
    fx_free(&f);
}

/* Blocked input products: the first layer's x W_x is made per block of steps counted
 * from the chunk's start (projection.c: 256 KiB per block), and segments of every length
 * cut through blocks. Each block's product and its dW_x must still be one product. */
Test(recompute, blocked_input_products)
{
    /* B W sizeof(bp_real) bytes per step: 32 KiB (double) or 16 KiB (float), so blocks of
     * 8 or 16 steps; with T = 37 the last block is shorter */
    int B = 16, H = 64, W = 4 * H, per_step = B * W * (int)sizeof(bp_real);
    int blk = 256 * 1024 / per_step;
    cr_assert_lt(blk, 37, "the blocks must be shorter than the sequence");
    static const int ks[] = {1, 3, 5, 7, BP_RECOMPUTE_SQRT, 8, 16, 20, 37, 0};
    /* under valgrind (where this test took 71 s with four lengths): segments that cut
     * through block ends */
    static const int ks_vg[] = {7, 0};
    one_layer(fx_layer(BP_LAYER_LSTM, H), BP_HEAD_LAST, 3, B, 37, 0,
              under_valgrind() ? ks_vg : ks, "lstm, blocked");
    static const int ks2[] = {3, 6, 10, 0}, ks2_vg[] = {6, 0};
    bp_layer_spec g = fx_layer(BP_LAYER_GRU, H);
    g.skip_from = BP_SKIP_INPUT; /* input width = H */
    fixture f;
    fx_net(&f, &g, 1, H, false, BP_HEAD_LAST, 2, 13, 61);
    fx_batch(&f, B, 40, BP_TARGET_VALUES, 62);
    check_ks(&f, 13, under_valgrind() ? ks2_vg : ks2, "gru with an input skip, blocked, chunks "
             "of 13");
    fx_free(&f);
}

/* What the tape holds afterwards: the first segment, whose grads are dL/d(node) as on
 * the plain tape; and it needs far less memory. */
Test(recompute, tape_holds_the_first_segment_and_less)
{
    /* input blocks of 32 (double) or 64 (float) steps; under valgrind, where the double
     * test took 58 s, it takes the float test's bytes per step instead (H = 32: blocks of
     * 64 steps, a quarter of the arithmetic; the arena's ratio below holds at those) */
    enum { B = 16, T = 900 };
    const int H = under_valgrind() ? 64 * 4 / (int)sizeof(bp_real) : 64;
    fixture f;
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, H);
    fx_net(&f, &l, 1, 2, false, BP_HEAD_LAST, 1, 0, 71);
    fx_batch(&f, B, T, BP_TARGET_VALUES, 72);
    bp_tape *plain = bp_tape_new(), *t = bp_tape_new();
    bp_error err = {0};
    bp_node *loss = bp_net_forward(f.net, plain, f.batch, 0, T, NULL);
    cr_assert_not_null(loss);
    cr_assert_eq(bp_backward(plain, loss, &err), BP_OK);
    bp_real *dh0 = malloc(B * H * sizeof(bp_real));
    memcpy(dh0, bp_net_trace(f.net)->h[0][0]->grad, B * H * sizeof(bp_real));
    int plain_len = bp_tape_len(plain);
    double rl;
    cr_assert_eq(bp_net_backward_recompute(f.net, t, f.batch, 0, T, NULL, BP_RECOMPUTE_SQRT, 1,
                                           &rl, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(rl, (double)loss->value[0]);
    const bp_trace *tr = bp_net_trace(f.net);
    cr_expect_eq(tr->t0, 0);
    cr_expect_eq(tr->steps, 30);
    cr_expect_lt(bp_tape_len(t) * 20, plain_len, "plain %d nodes, recompute %d", plain_len,
                 bp_tape_len(t));
    cr_expect(memcmp(tr->h[0][0]->grad, dh0, B * H * sizeof(bp_real)) == 0);
    size_t a = bp_tape_arena_bytes(t), p = bp_tape_arena_bytes(plain);
    cr_expect_lt(a * 8, p, "arena: recompute %zu bytes, plain %zu", a, p);
    free(dh0);
    bp_tape_free(plain);
    bp_tape_free(t);
    fx_free(&f);
}

Test(recompute, bad_arguments)
{
    fixture f;
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 3);
    fx_net(&f, &l, 1, 2, false, BP_HEAD_LAST, 1, 0, 81);
    fx_batch(&f, 2, 5, BP_TARGET_VALUES, 82);
    bp_tape *t = bp_tape_new();
    bp_error err = {0};
    double loss;
    cr_expect_eq(bp_net_backward_recompute(f.net, t, f.batch, 0, 5, NULL, 0, 1, &loss, &err),
                 BP_ERR_VALUE);
    cr_expect(strstr(err.msg, "segment length must be > 0"), "%s", err.msg);
    cr_expect_eq(bp_net_backward_recompute(f.net, t, f.batch, 0, 6, NULL, 2, 1, &loss, &err),
                 BP_ERR_VALUE);
    cr_expect(strstr(err.msg, "steps [0, 6)"), "%s", err.msg);
    bp_net_state *s = bp_net_state_new(f.net, 3, &err);
    cr_expect_eq(bp_net_backward_recompute(f.net, t, f.batch, 0, 5, s, 2, 1, &loss, &err),
                 BP_ERR_SHAPE);
    cr_expect(strstr(err.msg, "batch 3"), "%s", err.msg);
    cr_expect_eq(bp_recompute_segment(BP_RECOMPUTE_SQRT, 10000), 100);
    cr_expect_eq(bp_recompute_segment(BP_RECOMPUTE_SQRT, 10001), 101);
    cr_expect_eq(bp_recompute_segment(BP_RECOMPUTE_SQRT, 1), 1);
    cr_expect_eq(bp_recompute_segment(50, 20), 20);
    cr_expect_eq(bp_recompute_segment(-3, 20), 0);
    bp_net_state_free(s);
    bp_tape_free(t);
    fx_free(&f);
}

#endif
