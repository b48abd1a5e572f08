/* test_lengths.c — variable-length sequences (bp_batch.len): a padded batch gives the
 * gradients of its sequences run one by one (PyTorch's pack_padded_sequence semantics),
 * to 1e-10 in double, for every cell and head; recomputation keeps them bit for bit. */
#include "bptt_layers.h"
#include "bptt_ops.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { B = 3, T = 6, F = 2, O = 3 };
static const int lens[B] = {6, 2, 4};

typedef struct net_case {
    bp_params *params;
    bp_net *net;
    size_t n;      /* parameter elements */
} net_case;

static void make_net(net_case *c, const bp_layer_spec *layers, int n_layers, bp_head_kind head)
{
    bp_net_spec s;
    bp_net_spec_default(&s);
    s.input_size = F;
    s.n_layers = n_layers;
    s.layers = layers;
    s.head = head;
    s.output_size = O;
    bp_error err = {0};
    c->params = bp_params_new();
    c->net = bp_net_new(&s, c->params, &err);
    cr_assert_not_null(c->net, "%s", err.msg);
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    cr_assert_eq(bp_net_init(c->net, &rng, &err), BP_OK, "%s", err.msg);
    c->n = bp_params_elements(c->params);
}

static void free_net(net_case *c)
{
    bp_net_free(c->net);
    bp_params_free(c->params);
}

static size_t y_per_step(bp_target_kind k) { return k == BP_TARGET_VALUES_SEQ ? O : 1; }

/* A batch of B rows, lengths lens, padding past each end filled with junk (it must not
 * matter). */
static bp_batch *padded_batch(bp_target_kind target)
{
    bp_error err = {0};
    bp_batch *b = bp_batch_new(B, T, F, false, target, O, &err);
    cr_assert_not_null(b, "%s", err.msg);
    bp_rng rng;
    bp_rng_seed(&rng, 11);
    for (size_t i = 0; i < (size_t)B * T * F; i++)
        b->x[i] = (bp_real)(2 * bp_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < bp_batch_y_size(b); i++)
        b->y[i] = bp_target_is_class(target) ? (bp_real)bp_rng_below(&rng, O)
                                             : (bp_real)bp_rng_uniform(&rng);
    cr_assert_eq(bp_batch_set_lengths(b, lens, &err), BP_OK, "%s", err.msg);
    return b;
}

/* Row r alone, cut to its own length. */
static bp_batch *row_batch(const bp_batch *b, int r)
{
    int L = b->len[r];
    bp_batch *s = bp_batch_new(1, L, F, false, b->target, O, NULL);
    cr_assert_not_null(s);
    memcpy(s->x, b->x + (size_t)r * T * F, (size_t)L * F * sizeof(bp_real));
    if (bp_target_per_step(b->target)) {
        size_t w = y_per_step(b->target);
        memcpy(s->y, b->y + (size_t)r * T * w, (size_t)L * w * sizeof(bp_real));
    } else {
        size_t w = b->target == BP_TARGET_VALUES ? O : 1;
        memcpy(s->y, b->y + (size_t)r * w, w * sizeof(bp_real));
    }
    return s;
}

/* Loss and every parameter's gradient (flattened) of one batch. */
static double grads(net_case *c, const bp_batch *b, double *g, int recompute)
{
    bp_tape *t = bp_tape_new();
    bp_params_zero_grad(c->params);
    bp_error err = {0};
    double loss;
    if (recompute) {
        cr_assert_eq(bp_net_backward_recompute(c->net, t, b, 0, b->T, NULL, recompute, 1, &loss,
                                               &err), BP_OK, "%s", err.msg);
    } else {
        bp_node *l = bp_net_forward(c->net, t, b, 0, b->T, NULL);
        cr_assert_not_null(l, "%s", bp_tape_error(t) ? bp_tape_error(t)->msg : "");
        loss = l->value[0];
        cr_assert_eq(bp_backward(t, l, &err), BP_OK, "%s", err.msg);
    }
    size_t k = 0;
    for (int i = 0; i < bp_params_count(c->params); i++) {
        const bp_node *p = bp_params_at(c->params, i);
        for (size_t e = 0; e < p->size; e++)
            g[k++] = p->grad[e];
    }
    bp_tape_free(t);
    return loss;
}

/* The padded batch against its rows one by one: the last-step head's loss is the mean
 * over rows, the per-step head's the mean over the (row, step) pairs within sequences. */
static void check_against_rows(const bp_layer_spec *layers, int n_layers, bp_target_kind target)
{
    bp_head_kind head = bp_target_per_step(target) ? BP_HEAD_SEQ : BP_HEAD_LAST;
    net_case c;
    make_net(&c, layers, n_layers, head);
    bp_batch *b = padded_batch(target);
    double *g = calloc(c.n, sizeof *g), *want = calloc(c.n, sizeof *want),
           *gr = calloc(c.n, sizeof *gr);
    double loss = grads(&c, b, g, 0), want_loss = 0;
    long pairs = bp_batch_count_steps(b, 0, T);
    cr_assert_eq(pairs, 12);
    for (int r = 0; r < B; r++) {
        bp_batch *s = row_batch(b, r);
        double w = head == BP_HEAD_SEQ ? (double)lens[r] / (double)pairs : 1.0 / B;
        want_loss += w * grads(&c, s, gr, 0);
        for (size_t i = 0; i < c.n; i++)
            want[i] += w * gr[i];
        bp_batch_free(s);
    }
    cr_assert(fabs(loss - want_loss) < 1e-12, "loss %.17g, rows one by one %.17g", loss,
              want_loss);
    for (size_t i = 0; i < c.n; i++)
        cr_assert(fabs(g[i] - want[i]) < 1e-10, "element %zu: padded %.17g, one by one %.17g", i,
                  g[i], want[i]);
    /* recomputation in segments of 2 steps: the same numbers, bit for bit */
    double rloss = grads(&c, b, gr, 2);
    cr_assert_eq(rloss, loss);
    for (size_t i = 0; i < c.n; i++)
        cr_assert_eq(gr[i], g[i], "element %zu: recomputed %.17g, plain %.17g", i, gr[i], g[i]);
    free(g);
    free(want);
    free(gr);
    bp_batch_free(b);
    free_net(&c);
}

static bp_layer_spec layer(bp_layer_kind kind, int size)
{
    bp_layer_spec l;
    bp_layer_spec_default(&l, kind);
    l.size = size;
    return l;
}

static const bp_target_kind targets[] = {BP_TARGET_VALUES, BP_TARGET_CLASS_LAST,
                                         BP_TARGET_CLASS_SEQ, BP_TARGET_VALUES_SEQ};

Test(lengths, every_cell_and_head_equals_its_rows_one_by_one)
{
    bp_layer_kind kinds[] = {BP_LAYER_RNN, BP_LAYER_LSTM, BP_LAYER_GRU};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        for (size_t h = 0; h < sizeof targets / sizeof *targets; h++) {
            bp_layer_spec l = layer(kinds[k], 4);
            check_against_rows(&l, 1, targets[h]);
        }
}

Test(lengths, stacks_with_skips_and_a_linear_top_equal_their_rows)
{
    bp_layer_spec l[3] = {layer(BP_LAYER_LSTM, 4), layer(BP_LAYER_GRU, 4), layer(BP_LAYER_LINEAR, 5)};
    l[1].skip_from = 0;
    l[2].act = BP_ACT_TANH;
    for (size_t h = 0; h < sizeof targets / sizeof *targets; h++)
        check_against_rows(l, 3, targets[h]);
    bp_layer_spec r[2] = {layer(BP_LAYER_RNN, 4), layer(BP_LAYER_RNN, 4)};
    r[0].act = BP_ACT_RELU;
    r[0].init = BP_INIT_IDENTITY;
    r[1].residual = true;
    /* (no clip_grad: it clamps dL/dh, which the batch's 1/B scales first, so a clipped
     * batch is not the mean of its clipped rows -- in any framework) */
    for (size_t h = 0; h < sizeof targets / sizeof *targets; h++)
        check_against_rows(r, 2, targets[h]);
}

Test(lengths, a_last_head_that_reads_the_raw_input_is_refused)
{
    bp_layer_spec l[1] = {layer(BP_LAYER_RNN, F)};
    l[0].skip_from = BP_SKIP_INPUT; /* adds x_t, which is padding past a row's end */
    net_case c;
    make_net(&c, l, 1, BP_HEAD_LAST);
    bp_batch *b = padded_batch(BP_TARGET_VALUES);
    bp_tape *t = bp_tape_new();
    cr_assert_null(bp_net_forward(c.net, t, b, 0, T, NULL));
    cr_assert(strstr(bp_tape_error(t)->msg, "own lengths"), "%s", bp_tape_error(t)->msg);
    /* the same batch without lengths is fine */
    free(b->len);
    b->len = NULL;
    bp_tape_reset(t);
    cr_assert_not_null(bp_net_forward(c.net, t, b, 0, T, NULL));
    bp_tape_free(t);
    bp_batch_free(b);
    free_net(&c);
}

Test(lengths, full_lengths_record_the_tape_of_no_lengths)
{
    bp_layer_spec l = layer(BP_LAYER_LSTM, 4);
    net_case c;
    make_net(&c, &l, 1, BP_HEAD_SEQ);
    bp_batch *b = padded_batch(BP_TARGET_CLASS_SEQ);
    int full[B] = {T, T, T};
    cr_assert_eq(bp_batch_set_lengths(b, full, NULL), BP_OK);
    double *g1 = calloc(c.n, sizeof *g1), *g2 = calloc(c.n, sizeof *g2);
    double l1 = grads(&c, b, g1, 0);
    free(b->len);
    b->len = NULL;
    double l2 = grads(&c, b, g2, 0);
    cr_assert_eq(l1, l2);
    for (size_t i = 0; i < c.n; i++)
        cr_assert_eq(g1[i], g2[i]);
    free(g1);
    free(g2);
    bp_batch_free(b);
    free_net(&c);
}

Test(lengths, lengths_out_of_range_are_refused)
{
    bp_batch *b = bp_batch_new(2, 4, 1, false, BP_TARGET_VALUES, 1, NULL);
    bp_error err = {0};
    int bad[2] = {4, 5};
    cr_assert_eq(bp_batch_set_lengths(b, bad, &err), BP_ERR_VALUE);
    cr_assert(strstr(err.msg, "row 1 has length 5, not in [1, 4]"), "%s", err.msg);
    int zero[2] = {0, 1};
    cr_assert_eq(bp_batch_set_lengths(b, zero, &err), BP_ERR_VALUE);
    cr_assert_null(b->len);
    bp_batch_free(b);
}
