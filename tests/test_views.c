/* test_views.c — view ops (rows) on the tape: no buffer of their own, gradients land in
 * the input directly; gradients zeroed just in time and, with keep_grads off, released
 * once used; the fused cell ops equal the plain ops they replace, also on rows wider than
 * one kernel chunk; a first recurrent layer projects every step in one product. */
#include "bptt_layers.h"
#include "bptt_ops.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

static bp_node *leaf(bp_shape s, bool grad, bp_rng *rng, double lo, double hi)
{
    bp_node *n = bp_leaf_new(s, grad, NULL);
    cr_assert_not_null(n);
    bp_fill_uniform(n->value, n->size, lo, hi, rng);
    return n;
}

Test(views, rows_share_the_input_buffers_forward_and_backward)
{
    bp_rng rng;
    bp_rng_seed(&rng, 1);
    bp_tape *t = bp_tape_new();
    bp_node *W = leaf(bp_shape2(3, 4), true, &rng, -1, 1);
    bp_node *x = bp_tape_input(t, bp_shape2(6, 3), NULL, false);
    bp_fill_uniform(x->value, x->size, -1, 1, &rng);
    bp_node *xw = bp_matmul(t, x, W); /* (6, 4): two steps of batch 3 */
    size_t before = bp_tape_arena_bytes(t);
    bp_node *s0 = bp_rows(t, xw, 0, 3), *s1 = bp_rows(t, xw, 3, 3);
    cr_assert_not_null(s1);
    cr_expect_eq(s0->value, xw->value);
    cr_expect_eq(s1->value, xw->value + 3 * 4, "step 1 is rows 3..5 of the product, in place");
    cr_expect_eq(bp_tape_arena_bytes(t), before);
    /* L = sum(s0) + 2 sum(s1) + sum(xw): dxw = 2 in rows 0..2, 3 in rows 3..5 */
    bp_node *L = bp_add(t, bp_add(t, bp_sum(t, s0), bp_scale(t, bp_sum(t, s1), 2)),
                        bp_sum(t, xw));
    bp_error err;
    W->grad[5] = 7; /* a leaf's grad accumulates: backward must not clear it */
    cr_assert_eq(bp_backward(t, L, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(s1->grad, xw->grad + 3 * 4, "the view's grad is the same rows of the input's");
    for (int i = 0; i < 24; i++)
        cr_expect_eq(xw->grad[i], i < 12 ? 2 : 3, "dxw[%d] = %g", i, xw->grad[i]);
    for (int k = 0; k < 3; k++) /* dW = x^T dxw */
        for (int j = 0; j < 4; j++) {
            double want = k * 4 + j == 5 ? 7 : 0;
            for (int r = 0; r < 6; r++)
                want += x->value[r * 3 + k] * (r < 3 ? 2 : 3);
            cr_expect(fabs(W->grad[k * 4 + j] - want) < 1e-12, "dW[%d][%d] %g, want %g", k, j,
                      W->grad[k * 4 + j], want);
        }
    /* a second backward on the same tape gives the same tape grads (zeroed again) */
    cr_assert_eq(bp_backward(t, L, &err), BP_OK);
    cr_expect_eq(xw->grad[0], 2);
    bp_leaf_free(W);
    bp_tape_free(t);
}

/* Grads are zeroed just in time: a second backward, from another output, must still
 * leave dL/dnode in every tape node — zero where the output does not depend on it. */
Test(views, every_tape_grad_is_exact_after_a_backward_from_another_output)
{
    bp_rng rng;
    bp_rng_seed(&rng, 5);
    bp_tape *t = bp_tape_new();
    bp_node *W = leaf(bp_shape2(2, 2), true, &rng, -1, 1);
    bp_node *a = bp_tanh(t, W), *b = bp_scale(t, W, 3);
    bp_node *La = bp_sum(t, a), *Lb = bp_sum(t, b), *both = bp_add(t, La, bp_sum(t, a));
    bp_error err;
    cr_assert_eq(bp_backward(t, both, &err), BP_OK);
    cr_expect_eq(a->grad[0], 2, "a is read twice by 'both'");
    cr_assert_eq(bp_backward(t, Lb, &err), BP_OK);
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(a->grad[i], 0, "a does not reach Lb: its grad is 0, not %g", a->grad[i]);
        cr_expect_eq(b->grad[i], 1);
    }
    cr_expect_eq(La->grad[0], 0);
    cr_expect_eq(Lb->grad[0], 1);
    bp_leaf_free(W);
    bp_tape_free(t);
}

Test(views, rows_of_a_leaf_add_into_the_leafs_grad)
{
    bp_rng rng;
    bp_rng_seed(&rng, 2);
    bp_tape *t = bp_tape_new();
    bp_node *P = leaf(bp_shape2(4, 2), true, &rng, -1, 1);
    for (size_t i = 0; i < P->size; i++)
        P->grad[i] = 1;
    bp_node *v = bp_rows(t, P, 1, 2);
    bp_real seed[4] = {10, 20, 30, 40};
    bp_error err;
    cr_assert_eq(bp_backward_seed(t, v, seed, &err), BP_OK, "%s", err.msg);
    bp_real want[8] = {1, 1, 11, 21, 31, 41, 1, 1};
    for (int i = 0; i < 8; i++)
        cr_expect_eq(P->grad[i], want[i], "dP[%d] = %g, want %g", i, P->grad[i], want[i]);
    bp_leaf_free(P);
    bp_tape_free(t);
}

Test(views, rows_refuse_windows_outside_the_input)
{
    bp_tape *t = bp_tape_new();
    bp_node *x = bp_tape_input(t, bp_shape2(4, 2), NULL, false);
    cr_expect_null(bp_rows(t, x, 3, 2));
    cr_assert_not_null(bp_tape_error(t));
    cr_expect_not_null(strstr(bp_tape_error(t)->msg, "rows: begin 3, count 2 do not fit the 4 "
                                                     "rows"), "%s", bp_tape_error(t)->msg);
    bp_tape_free(t);
}

/* ---------------------------------------------------------------- fused = plain */

#define B 3
#define H 300 /* wider than a kernel chunk (256) */

typedef bp_node *(*build_fn)(bp_tape *t, bp_node *const in[]);

/* Run fn on fresh inputs, backward with a fixed random dout; copy out value and grads. */
static void run(build_fn fn, bp_node *const in[], int n_in, bp_real *out, bp_real **grads)
{
    bp_tape *t = bp_tape_new();
    bp_node *y = fn(t, in);
    cr_assert_not_null(y, "%s", bp_tape_error(t) ? bp_tape_error(t)->msg : "");
    memcpy(out, y->value, y->size * sizeof(bp_real));
    bp_rng rng;
    bp_rng_seed(&rng, 99);
    bp_real *dout = malloc(y->size * sizeof *dout);
    bp_fill_uniform(dout, y->size, -1, 1, &rng);
    for (int i = 0; i < n_in; i++)
        memset(in[i]->grad, 0, in[i]->size * sizeof(bp_real));
    bp_error err;
    cr_assert_eq(bp_backward_seed(t, y, dout, &err), BP_OK, "%s", err.msg);
    for (int i = 0; i < n_in; i++)
        memcpy(grads[i], in[i]->grad, in[i]->size * sizeof(bp_real));
    free(dout);
    bp_tape_free(t);
}

static void expect_same(build_fn fused, build_fn plain, bp_node *const in[], int n_in,
                        size_t out_size, const char *what)
{
    bp_real *a = malloc(out_size * sizeof *a), *b = malloc(out_size * sizeof *b);
    bp_real *ga[5], *gb[5];
    for (int i = 0; i < n_in; i++) {
        ga[i] = malloc(in[i]->size * sizeof(bp_real));
        gb[i] = malloc(in[i]->size * sizeof(bp_real));
    }
    run(fused, in, n_in, a, ga);
    run(plain, in, n_in, b, gb);
    for (size_t j = 0; j < out_size; j++)
        cr_expect(fabs(a[j] - b[j]) <= 1e-12, "%s: value %zu fused %.17g, plain %.17g", what, j,
                  a[j], b[j]);
    for (int i = 0; i < n_in; i++) {
        double worst = 0;
        for (size_t j = 0; j < in[i]->size; j++)
            worst = fmax(worst, fabs(ga[i][j] - gb[i][j]));
        cr_expect(worst <= 1e-12, "%s: grad of input %d differs by %g", what, i, worst);
        free(ga[i]);
        free(gb[i]);
    }
    free(a);
    free(b);
}

static bp_node *rnn_fused(bp_tape *t, bp_node *const in[])
{
    return bp_rnn_tanh(t, in[0], in[1], in[2]);
}
static bp_node *rnn_plain(bp_tape *t, bp_node *const in[])
{
    return bp_tanh(t, bp_add(t, bp_add(t, in[0], in[1]), in[2]));
}
static bp_node *relu_fused(bp_tape *t, bp_node *const in[])
{
    return bp_rnn_relu(t, in[0], in[1], in[2]);
}
static bp_node *relu_plain(bp_tape *t, bp_node *const in[])
{
    return bp_relu(t, bp_add(t, bp_add(t, in[0], in[1]), in[2]));
}

/* h and c of an lstm step, as one output [h, c] (B, 2H) */
static bp_node *lstm_fused(bp_tape *t, bp_node *const in[])
{
    bp_node *g = bp_lstm_gates(t, in[0], in[1], in[2]);
    bp_node *c = bp_lstm_c(t, g, in[3]);
    return bp_concat(t, bp_lstm_h(t, g, c), c);
}
static bp_node *lstm_plain(bp_tape *t, bp_node *const in[])
{
    bp_node *z = bp_add(t, bp_add(t, in[0], in[1]), in[2]);
    bp_node *i = bp_sigmoid(t, bp_slice(t, z, 0, H)), *f = bp_sigmoid(t, bp_slice(t, z, H, H));
    bp_node *g = bp_tanh(t, bp_slice(t, z, 2 * H, H)), *o = bp_sigmoid(t, bp_slice(t, z, 3 * H, H));
    bp_node *c = bp_add(t, bp_mul(t, f, in[3]), bp_mul(t, i, g));
    return bp_concat(t, bp_mul(t, o, bp_tanh(t, c)), c);
}

static bp_node *gru_fused(bp_tape *t, bp_node *const in[])
{
    return bp_gru_h(t, bp_gru_gates(t, in[0], in[1], in[2], in[3]), in[4]);
}
static bp_node *gru_plain(bp_tape *t, bp_node *const in[])
{
    bp_node *a = bp_add(t, in[0], in[2]), *u = bp_add(t, in[1], in[3]);
    bp_node *r = bp_sigmoid(t, bp_add(t, bp_slice(t, a, 0, H), bp_slice(t, u, 0, H)));
    bp_node *z = bp_sigmoid(t, bp_add(t, bp_slice(t, a, H, H), bp_slice(t, u, H, H)));
    bp_node *n = bp_tanh(t, bp_add(t, bp_slice(t, a, 2 * H, H), bp_mul(t, r, bp_slice(t, u, 2 * H, H))));
    return bp_add(t, n, bp_mul(t, z, bp_sub(t, in[4], n)));
}

Test(views, fused_cells_equal_the_plain_ops_they_replace)
{
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    bp_node *in[5];
    in[0] = leaf(bp_shape2(B, H), true, &rng, -2, 2);
    in[1] = leaf(bp_shape2(B, H), true, &rng, -2, 2);
    in[2] = leaf(bp_shape1(H), true, &rng, -1, 1);
    expect_same(rnn_fused, rnn_plain, in, 3, B * H, "rnn_tanh");
    expect_same(relu_fused, relu_plain, in, 3, B * H, "rnn_relu");
    for (int i = 0; i < 3; i++)
        bp_leaf_free(in[i]);

    in[0] = leaf(bp_shape2(B, 4 * H), true, &rng, -2, 2);
    in[1] = leaf(bp_shape2(B, 4 * H), true, &rng, -2, 2);
    in[2] = leaf(bp_shape2(1, 4 * H), true, &rng, -1, 1);
    in[3] = leaf(bp_shape2(B, H), true, &rng, -1, 1);
    expect_same(lstm_fused, lstm_plain, in, 4, B * 2 * H, "lstm");
    for (int i = 0; i < 4; i++)
        bp_leaf_free(in[i]);

    in[0] = leaf(bp_shape2(B, 3 * H), true, &rng, -2, 2);
    in[1] = leaf(bp_shape2(B, 3 * H), true, &rng, -2, 2);
    in[2] = leaf(bp_shape1(3 * H), true, &rng, -1, 1);
    in[3] = leaf(bp_shape1(3 * H), true, &rng, -1, 1);
    in[4] = leaf(bp_shape2(B, H), true, &rng, -1, 1);
    expect_same(gru_fused, gru_plain, in, 5, B * H, "gru");
    for (int i = 0; i < 5; i++)
        bp_leaf_free(in[i]);
}

/* ---------------------------------------------------------------- the first layer */

/* An rnn reading features: x W_x of all T steps is one [T B, H] product (or one per
 * block of steps when that is large: 256 KiB), and each step reads its rows as a view. */
static void check_projection(int T, int Bn, int F, int Hn, int want_products)
{
    bp_layer_spec l;
    bp_layer_spec_default(&l, BP_LAYER_RNN);
    l.size = Hn;
    bp_net_spec s;
    bp_net_spec_default(&s);
    s.input_size = F;
    s.n_layers = 1;
    s.layers = &l;
    s.output_size = 1;
    bp_error err = {0};
    bp_params *p = bp_params_new();
    bp_net *net = bp_net_new(&s, p, &err);
    cr_assert_not_null(net, "%s", err.msg);
    bp_rng rng;
    bp_rng_seed(&rng, 4);
    cr_assert_eq(bp_net_init(net, &rng, &err), BP_OK);
    bp_batch *b = bp_batch_new(Bn, T, F, false, BP_TARGET_VALUES, 1, &err);
    bp_fill_uniform(b->x, (size_t)Bn * T * F, -1, 1, &rng);
    bp_tape *t = bp_tape_new();
    bp_node *loss = bp_net_forward(net, t, b, 0, T, NULL);
    cr_assert_not_null(loss);
    bp_node *W_x = bp_net_param(net, 0, "W_x");
    int products = 0;
    bp_node *xw = NULL;
    for (int i = 0; i < bp_tape_len(t); i++) {
        bp_node *n = bp_tape_node(t, i);
        if (n->op == &bp_op_matmul && n->in[1] == W_x) {
            products++;
            xw = n;
        }
    }
    cr_expect_eq(products, want_products);
    cr_assert_not_null(xw);
    /* row k B + r of the net's input is batch row r at step k */
    const bp_node *x = bp_tape_node(t, 0);
    cr_assert_eq(x->shape.dim[0], T * Bn);
    for (int k = 0; k < T; k++)
        for (int r = 0; r < Bn; r++)
            for (int f = 0; f < F; f++)
                cr_expect_eq(x->value[(k * Bn + r) * F + f], b->x[(r * T + k) * F + f]);
    /* step k reads rows of its block's product, which are x_k W_x */
    const bp_trace *tr = bp_net_trace(net);
    for (int k = 0; k < T; k++) {
        bp_node *cell = tr->h[0][k], *v = cell->in[0], *prod = v->in[0];
        cr_expect_eq(cell->op, &bp_op_rnn_tanh);
        cr_expect_eq(cell->in[1], tr->rec[0][k]);
        cr_assert_eq(v->op, &bp_op_rows);
        cr_assert_eq(prod->op, &bp_op_matmul);
        for (int j = 0; j < Hn; j += Hn / 3) {
            double want = 0;
            for (int f = 0; f < F; f++)
                want += x->value[(size_t)k * Bn * F + f] * W_x->value[(size_t)f * Hn + j];
            cr_expect(fabs(v->value[j] - want) < 1e-12, "step %d, x W_x [0][%d]", k, j);
        }
    }
    bp_tape_free(t);
    bp_batch_free(b);
    bp_net_free(net);
    bp_params_free(p);
}

Test(views, a_first_layer_projects_every_step_in_one_product)
{
    check_projection(4, 2, 3, 5, 1);
}

Test(views, a_large_projection_goes_by_blocks_of_steps)
{
    /* one step's product is 32 x 1024 doubles = 256 KiB: one step per block */
    check_projection(3, 32, 2, 1024, 3);
}

/* ---------------------------------------------------------------- released grads */

typedef struct net_case {
    bp_params *p;
    bp_net *net;
    bp_batch *b;
} net_case;

/* A stack that uses every cell, clip, skip and a first-layer projection, on a batch. */
static void net_case_new(net_case *c, int T)
{
    bp_layer_spec l[3];
    bp_layer_spec_default(&l[0], BP_LAYER_LSTM);
    bp_layer_spec_default(&l[1], BP_LAYER_RNN);
    bp_layer_spec_default(&l[2], BP_LAYER_GRU);
    l[0].size = l[1].size = l[2].size = 6;
    l[1].clip_grad = 0.5;
    l[2].skip_from = 0;
    bp_net_spec s;
    bp_net_spec_default(&s);
    s.input_size = 3;
    s.n_layers = 3;
    s.layers = l;
    s.output_size = 2;
    bp_error err = {0};
    c->p = bp_params_new();
    c->net = bp_net_new(&s, c->p, &err);
    cr_assert_not_null(c->net, "%s", err.msg);
    bp_rng rng;
    bp_rng_seed(&rng, 6);
    cr_assert_eq(bp_net_init(c->net, &rng, &err), BP_OK);
    c->b = bp_batch_new(4, T, 3, false, BP_TARGET_VALUES, 2, &err);
    bp_fill_uniform(c->b->x, (size_t)4 * T * 3, -1, 1, &rng);
    bp_fill_uniform(c->b->y, 8, -1, 1, &rng);
}

static void net_case_free(net_case *c)
{
    bp_batch_free(c->b);
    bp_net_free(c->net);
    bp_params_free(c->p);
}

/* Every parameter's grad after one backward on t; the arena's size after a second step. */
static double *grads_of(net_case *c, bp_tape *t, size_t *arena)
{
    double *g = malloc(bp_params_elements(c->p) * sizeof *g);
    bp_error err;
    for (int step = 0; step < 2; step++) {
        bp_params_zero_grad(c->p);
        bp_tape_reset(t);
        bp_node *loss = bp_net_forward(c->net, t, c->b, 0, c->b->T, NULL);
        cr_assert_not_null(loss);
        cr_assert_eq(bp_backward(t, loss, &err), BP_OK, "%s", err.msg);
    }
    *arena = bp_tape_arena_bytes(t);
    size_t k = 0;
    for (int i = 0; i < bp_params_count(c->p); i++) {
        bp_node *w = bp_params_at(c->p, i);
        for (size_t j = 0; j < w->size; j++)
            g[k++] = w->grad[j];
    }
    return g;
}

Test(views, released_grads_give_the_same_gradients_in_less_memory)
{
    net_case c;
    net_case_new(&c, 400); /* long enough to outgrow the first arena block */
    bp_tape *keep = bp_tape_new(), *rel = bp_tape_new();
    bp_tape_set_keep_grads(rel, false);
    size_t a_keep, a_rel;
    double *gk = grads_of(&c, keep, &a_keep), *gr = grads_of(&c, rel, &a_rel);
    for (size_t j = 0; j < bp_params_elements(c.p); j++)
        cr_expect_eq(gk[j], gr[j], "parameter grad element %zu: kept %.17g, released %.17g", j,
                     gk[j], gr[j]);
    cr_expect_leq(a_rel, a_keep, "arena %zu bytes with released grads, %zu kept", a_rel, a_keep);
    /* after a released backward op nodes hold no grad; the trace's are gone with them */
    int with_grad = 0;
    for (int i = 0; i < bp_tape_len(rel); i++) {
        bp_node *n = bp_tape_node(rel, i);
        with_grad += n->op && n->grad != NULL;
    }
    cr_expect_eq(with_grad, 0);
    cr_expect_null(bp_net_trace(c.net)->h[0][0]->grad);
    free(gk);
    free(gr);
    bp_tape_free(keep);
    bp_tape_free(rel);
    net_case_free(&c);
}

/* A training step's tape also gives back the values no backward reads: the same
 * gradients, bit for bit, in less memory; every layer's step product h W_h goes back, and
 * the steps' products go round a few buffers (gru_gates keeps the u_n it needs itself). */
Test(views, released_values_give_the_same_gradients_in_less_memory)
{
    net_case c;
    net_case_new(&c, 400);
    bp_tape *keep = bp_tape_new(), *rel = bp_tape_new();
    bp_tape_set_keep_grads(keep, false);
    bp_tape_set_keep_grads(rel, false);
    bp_tape_set_keep_values(rel, false);
    size_t a_keep, a_rel;
    double *gk = grads_of(&c, keep, &a_keep), *gr = grads_of(&c, rel, &a_rel);
    for (size_t j = 0; j < bp_params_elements(c.p); j++)
        cr_expect_eq(gk[j], gr[j], "parameter grad element %zu: values kept %.17g, released "
                     "%.17g", j, gk[j], gr[j]);
    cr_expect_lt(a_rel, a_keep, "arena %zu bytes with released values, %zu kept", a_rel, a_keep);
    const bp_trace *tr = bp_net_trace(c.net);
    for (int l = 0; l < 3; l++) {
        const bp_real *seen[8];
        int distinct = 0;
        for (int k = 0; k < tr->steps; k++) {
            cr_expect(tr->rec[l][k]->released, "step %d: layer %d's h W_h was not released", k,
                      l);
            int j = 0;
            while (j < distinct && seen[j] != tr->rec[l][k]->value)
                j++;
            if (j == distinct && distinct < 8)
                seen[distinct++] = tr->rec[l][k]->value;
        }
        /* the rnn's (4, 6) is also the size of its h and its clip_grad's output, which
         * take released buffers as well: only the lstm's and the gru's stay in a ring */
        if (l != 1)
            cr_expect_leq(distinct, 3, "layer %d's h W_h of %d steps took %d buffers", l,
                          tr->steps, distinct);
    }
    int released = 0;
    for (int i = 0; i < bp_tape_len(keep); i++)
        released += bp_tape_node(keep, i)->released;
    cr_expect_eq(released, 0, "a tape that keeps values released %d", released);
    free(gk);
    free(gr);
    bp_tape_free(keep);
    bp_tape_free(rel);
    net_case_free(&c);
}

/* bp_tape_release_value gives back only what no backward reads, on a tape that asks. */
Test(views, a_value_is_released_only_when_nothing_reads_it)
{
    bp_rng rng;
    bp_rng_seed(&rng, 9);
    bp_tape *t = bp_tape_new();
    bp_node *W = leaf(bp_shape2(3, 3), true, &rng, -1, 1);
    bp_node *x = bp_tape_input(t, bp_shape2(4, 3), NULL, true);
    bp_node *y = bp_matmul(t, x, W);
    cr_expect_not(bp_tape_release_value(t, y), "released on a tape that keeps values");
    bp_tape_set_keep_values(t, false);
    cr_expect_not(bp_tape_release_value(t, W), "a leaf released");
    cr_expect_not(bp_tape_release_value(t, x), "a tape input released");
    bp_node *v = bp_rows(t, y, 1, 2);
    cr_expect_not(bp_tape_release_value(t, v), "a view released");
    bp_node *m = bp_mul(t, y, y); /* mul's backward reads both inputs */
    cr_expect(y->saved);
    cr_expect_not(bp_tape_release_value(t, y), "an input mul's backward reads was released");
    bp_node *z = bp_matmul(t, x, W), *s = bp_tanh(t, z); /* tanh reads its output only */
    bp_node *zv = bp_rows(t, z, 0, 2), *u = bp_mul(t, zv, zv);
    cr_expect(z->saved, "a consumer of a view reads the viewed node's buffer");
    bp_node *p = bp_matmul(t, x, W), *q = bp_tanh(t, p);
    cr_expect_not(p->saved);
    cr_expect(bp_tape_release_value(t, p));
    cr_expect(p->released);
    cr_expect_not(bp_tape_release_value(t, p), "released twice");
    bp_node *next = bp_matmul(t, x, W); /* the next node of its size gets its buffer */
    cr_expect_eq(next->value, p->value);
    bp_tape *t2 = bp_tape_new(); /* an op on a released value is refused, naming it */
    bp_tape_set_keep_values(t2, false);
    bp_node *x2 = bp_tape_input(t2, bp_shape2(4, 3), NULL, false);
    bp_node *r = bp_matmul(t2, x2, W);
    bp_node *r2 = bp_tanh(t2, r); /* tanh reads its output, not r */
    cr_assert_not_null(r2);
    cr_expect(bp_tape_release_value(t2, r));
    cr_expect_null(bp_tanh(t2, r));
    cr_assert_not_null(bp_tape_error(t2));
    cr_expect_str_eq(bp_tape_error(t2)->msg, "tanh: input 0's value was released "
                     "(bp_tape_release_value)");
    bp_tape_free(t2);
    bp_tape *t3 = bp_tape_new(); /* so is one on a view of a released value */
    bp_tape_set_keep_values(t3, false);
    bp_node *x3 = bp_tape_input(t3, bp_shape2(4, 3), NULL, false);
    bp_node *r3 = bp_matmul(t3, x3, W), *v3 = bp_rows(t3, r3, 0, 2);
    cr_expect(bp_tape_release_value(t3, r3));
    cr_expect(bp_value_released(v3) && !bp_value_released(x3));
    cr_expect_null(bp_tanh(t3, v3));
    cr_expect(strstr(bp_tape_error(t3)->msg, "was released") != NULL);
    bp_tape_free(t3);
    bp_node *L = bp_add(t, bp_add(t, bp_sum(t, m), bp_sum(t, s)),
                        bp_add(t, bp_sum(t, u), bp_add(t, bp_sum(t, q), bp_sum(t, next))));
    bp_error err;
    cr_assert_eq(bp_backward(t, L, &err), BP_OK, "%s", err.msg);
    bp_leaf_free(W);
    bp_tape_free(t);
}

Test(views, released_grads_keep_the_inputs_that_asked_for_one)
{
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    bp_tape *t = bp_tape_new();
    bp_tape_set_keep_grads(t, false);
    bp_node *W = leaf(bp_shape2(3, 3), true, &rng, -1, 1);
    bp_node *x = bp_tape_input(t, bp_shape2(4, 3), NULL, true);
    bp_fill_uniform(x->value, x->size, -1, 1, &rng);
    bp_node *y = bp_matmul(t, x, W);
    bp_node *L = bp_add(t, bp_sum(t, bp_tanh(t, bp_rows(t, y, 1, 2))), bp_sum(t, y));
    bp_error err;
    cr_assert_eq(bp_backward(t, L, &err), BP_OK, "%s", err.msg);
    cr_assert_not_null(x->grad, "a tape input with requires_grad keeps dL/dx");
    cr_expect_null(y->grad);
    /* dL/dx = dy W^T with dy = 1 + [rows 1, 2] (1 - tanh^2) */
    bp_node *again = bp_tape_node(t, 0);
    cr_expect_eq(again, x);
    double dx00 = 0;
    for (int j = 0; j < 3; j++)
        dx00 += W->value[j];
    cr_expect(fabs(x->grad[0] - dx00) < 1e-12, "dx[0][0] %g, want %g", x->grad[0], dx00);
    /* a second backward on the same tape works the same */
    double first = x->grad[4];
    cr_assert_eq(bp_backward(t, L, &err), BP_OK);
    cr_expect_eq(x->grad[4], first);
    bp_leaf_free(W);
    bp_tape_free(t);
}

/* A walk's first pass, which marks every node unreached, is skipped on a recording's
 * first walk with released grads; a second walk from another output must not take the
 * first one's marks: here it would run L1's backward, whose grad was released. */
Test(views, a_second_walk_from_another_output_forgets_the_first)
{
    bp_tape *t = bp_tape_new();
    bp_tape_set_keep_grads(t, false);
    bp_node *x = bp_tape_input(t, bp_shape2(2, 3), (const bp_real[]){1, 2, 3, 4, 5, 6}, true);
    bp_node *L1 = bp_sum(t, bp_tanh(t, x));
    bp_node *L2 = bp_sum(t, bp_scale(t, x, 2));
    bp_error err;
    cr_assert_eq(bp_backward(t, L1, &err), BP_OK, "%s", err.msg);
    cr_expect(fabs(x->grad[0] - (1 - tanh(1.0) * tanh(1.0))) < 1e-6);
    cr_assert_eq(bp_backward(t, L2, &err), BP_OK, "%s", err.msg);
    for (int i = 0; i < 6; i++)
        cr_expect_eq(x->grad[i], 2, "dL2/dx[%d] = %g, want 2", i, (double)x->grad[i]);
    bp_tape_free(t);
}

/* The tidy pass over nodes the output never reached runs only when the walk counted one:
 * with kept grads, a node reached by the first walk and not by the second must read 0. */
Test(views, a_node_the_second_walk_does_not_reach_reads_zero)
{
    bp_tape *t = bp_tape_new();
    bp_node *x = bp_tape_input(t, bp_shape2(2, 3), (const bp_real[]){1, 2, 3, 4, 5, 6}, true);
    bp_node *th = bp_tanh(t, x);
    bp_node *L1 = bp_sum(t, th);
    bp_node *L2 = bp_sum(t, bp_scale(t, x, 2));
    bp_error err;
    cr_assert_eq(bp_backward(t, L1, &err), BP_OK, "%s", err.msg);
    cr_assert_eq(th->grad[0], 1);
    cr_assert_eq(bp_backward(t, L2, &err), BP_OK, "%s", err.msg);
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(th->grad[i], 0, "dL2/dtanh[%d] = %g, want 0", i, (double)th->grad[i]);
        cr_expect_eq(x->grad[i], 2);
    }
    bp_tape_free(t);
}

/* A view's gradient is a window of its owner's: a leaf that takes a gradient without a
 * buffer for it is refused when the view is recorded, not met by the walk. */
Test(views, a_view_of_a_leaf_without_its_grad_buffer_is_refused)
{
    bp_node *w = bp_leaf_new(bp_shape2(4, 2), true, NULL);
    cr_assert_not_null(w);
    bp_real *grad = w->grad;
    w->grad = NULL;
    bp_tape *t = bp_tape_new();
    cr_expect_null(bp_rows(t, w, 1, 2));
    cr_assert_not_null(bp_tape_error(t));
    cr_expect(strstr(bp_tape_error(t)->msg, "no gradient buffer"), "%s", bp_tape_error(t)->msg);
    w->grad = grad;
    bp_leaf_free(w);
    bp_tape_free(t);
}

/* probe: y = x, and its backward notes where its grad lives */
static const bp_real *probe_seen[64];
static int probe_n;

static bp_status probe_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    (void)err;
    *out = n->in[0]->shape;
    return BP_OK;
}
static void probe_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    memcpy(n->value, n->in[0]->value, n->size * sizeof(bp_real));
}
static void probe_backward(bp_node *n)
{
    probe_seen[probe_n++] = n->grad;
    for (size_t i = 0; i < n->size; i++)
        n->in[0]->grad[i] += n->grad[i];
}
static const bp_op probe = {.name = "probe", .n_in = 1, .shape = probe_shape,
                            .forward = probe_forward, .backward = probe_backward};

/* A chain of 32 steps: kept, every step has its own grad buffer; released, the buffers
 * go round (each is free again once its node's backward is done). */
Test(views, released_grad_buffers_are_reused)
{
    for (int keep = 0; keep < 2; keep++) {
        bp_tape *t = bp_tape_new();
        bp_tape_set_keep_grads(t, keep);
        bp_node *W = bp_leaf_new(bp_shape2(4, 8), true, NULL);
        bp_node *y = W;
        for (int k = 0; k < 32; k++)
            y = bp_apply(t, &probe, (bp_node *const[]){bp_tanh(t, y)}, NULL);
        bp_error err;
        probe_n = 0;
        cr_assert_eq(bp_backward(t, bp_sum(t, y), &err), BP_OK);
        cr_assert_eq(probe_n, 32);
        int distinct = 0;
        for (int i = 0; i < 32; i++) {
            bool seen = false;
            for (int j = 0; j < i; j++)
                seen |= probe_seen[j] == probe_seen[i];
            distinct += !seen;
        }
        if (keep)
            cr_expect_eq(distinct, 32);
        else
            cr_expect_leq(distinct, 3, "%d distinct grad buffers for 32 steps", distinct);
        bp_leaf_free(W);
        bp_tape_free(t);
    }
}
