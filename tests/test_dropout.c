/* test_dropout.c — dropout on the tape: the gradient of a net with dropout between layers,
 * variational dropout and recurrent dropout against finite differences with the masks
 * fixed (they are a function of the seed, so every forward draws the same ones); the masks'
 * rate and scaling; off outside training steps; the same masks under recomputation and
 * across threads. Double build. */
#include "test_trainer_config.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static bp_layer_spec layers[3];

/* lstm (dropout 0.3, recurrent 0.25) -> gru (variational 0.4, recurrent 0.2) -> rnn
 * (dropout 0.3) on the adding task, T = 6. */
static bp_model_config config(int batch, int threads)
{
    bp_layer_kind kinds[3] = {BP_LAYER_LSTM, BP_LAYER_GRU, BP_LAYER_RNN};
    for (int i = 0; i < 3; i++) {
        bp_layer_spec_default(&layers[i], kinds[i]);
        layers[i].size = 5;
    }
    layers[0].dropout = 0.3;
    layers[0].recurrent_dropout = 0.25;
    layers[1].dropout = 0.4;
    layers[1].variational = true;
    layers[1].recurrent_dropout = 0.2;
    layers[2].dropout = 0.3;
    bp_model_config c = test_config("dropout_test", layers, 3, "adding", 6, batch, threads);
    c.train.optim.kind = BP_OPT_SGD;
    c.train.optim.lr = 0.1;
    return c;
}

static bp_batch *batch_of(bp_trainer *tr, int B)
{
    bp_error err = {0};
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    bp_batch *b = bp_task_batch(bp_trainer_task(tr), B, BP_SPLIT_TRAIN, &rng, &err);
    cr_assert_not_null(b, "%s", err.msg);
    return b;
}

static double loss_of(bp_trainer *tr, const bp_batch *b)
{
    bp_tape *t = bp_trainer_tape(tr);
    bp_tape_reset(t);
    bp_node *l = bp_net_forward(bp_trainer_net(tr), t, b, 0, b->T, NULL);
    cr_assert_not_null(l, "%s", bp_tape_error(t)->msg);
    return l->value[0];
}

/* dL/dW by the tape against (L(W + e) - L(W - e)) / 2e, every element of every parameter,
 * the masks those of seed 99 in both. */
Test(dropout, gradient_with_fixed_masks_matches_finite_differences)
{
    bp_model_config c = config(3, 1);
    bp_trainer *tr = test_trainer(&c);
    bp_batch *b = batch_of(tr, 3);
    bp_net *net = bp_trainer_net(tr);
    bp_net_set_dropout(net, true, 99);
    bp_params *p = bp_trainer_params(tr);
    bp_params_zero_grad(p);
    bp_error err = {0};
    double loss;
    cr_assert_eq(bp_net_backward_batch(net, bp_trainer_tape(tr), NULL, b, 1, &loss, &err), BP_OK,
                 "%s", err.msg);
    cr_expect_float_eq(loss, loss_of(tr, b), 1e-15);
    const double eps = 1e-6;
    int checked = 0;
    for (int i = 0; i < bp_params_count(p); i++) {
        bp_node *w = bp_params_at(p, i);
        for (size_t j = 0; j < w->size; j++) {
            double v = w->value[j];
            w->value[j] = v + eps;
            double up = loss_of(tr, b);
            w->value[j] = v - eps;
            double down = loss_of(tr, b);
            w->value[j] = v;
            double num = (up - down) / (2 * eps), ana = w->grad[j];
            cr_expect(fabs(num - ana) <= 1e-7 + 1e-5 * fabs(num), "%s[%zu]: tape %.10g, finite "
                      "differences %.10g", w->name, j, ana, num);
            checked++;
        }
    }
    cr_expect_gt(checked, 300);
    bp_batch_free(b);
    bp_trainer_free(tr);
}

/* Off (a new net, evaluation, prediction): the same loss as the net without dropout; on:
 * another loss, the same for the same seed, different for another seed. */
Test(dropout, off_unless_set_and_a_function_of_the_seed)
{
    bp_model_config c = config(8, 1);
    bp_trainer *tr = test_trainer(&c);
    bp_batch *b = batch_of(tr, 8);
    bp_net *net = bp_trainer_net(tr);
    cr_expect(!bp_net_dropout_on(net));
    double off = loss_of(tr, b);
    bp_layer_spec keep[3];
    memcpy(keep, layers, sizeof keep);
    for (int i = 0; i < 3; i++)
        layers[i].dropout = layers[i].recurrent_dropout = 0, layers[i].variational = false;
    bp_trainer *plain = test_trainer(&c);
    cr_expect_eq(loss_of(plain, b), off, "no dropout in the forward of a net that is not training");
    memcpy(layers, keep, sizeof keep);
    bp_net_set_dropout(net, true, 5);
    double on5 = loss_of(tr, b);
    cr_expect_neq(on5, off);
    cr_expect_eq(loss_of(tr, b), on5);
    bp_net_set_dropout(net, true, 6);
    cr_expect_neq(loss_of(tr, b), on5);
    bp_net_set_dropout(net, false, 0);
    cr_expect_eq(loss_of(tr, b), off);
    bp_batch_free(b);
    bp_trainer_free(plain);
    bp_trainer_free(tr);
}

/* The masks on the tape: each a dropout op's constant input, zeros at rate p (to sampling
 * error over many elements), kept elements 1 / (1 - p); variational masks read at every step
 * are one node. */
Test(dropout, masks_drop_at_their_rate_and_scale_the_rest)
{
    for (int i = 0; i < 3; i++)
        layers[i].size = 64;
    bp_model_config c = config(64, 1);
    c.data.steps = 20;
    bp_trainer *tr = test_trainer(&c);
    bp_batch *b = batch_of(tr, 64);
    bp_net_set_dropout(bp_trainer_net(tr), true, 3);
    loss_of(tr, b);
    bp_tape *t = bp_trainer_tape(tr);
    long zeros = 0, total = 0, bad = 0;
    const bp_node *masks[256];
    int ops = 0, distinct = 0;
    for (int k = 0; k < bp_tape_len(t); k++) {
        const bp_node *n = bp_tape_node(t, k);
        if (n->op != &bp_op_dropout)
            continue;
        const bp_node *m = n->in[1];
        ops++;
        bool seen = false;
        for (int d = 0; d < distinct; d++)
            seen |= masks[d] == m;
        if (seen)
            continue;
        cr_assert_lt(distinct, 256);
        masks[distinct++] = m;
        for (size_t j = 0; j < m->size; j++) {
            double v = m->value[j];
            zeros += v == 0;
            bad += v != 0 && fabs(v - 1 / 0.7) > 1e-12 && fabs(v - 1 / 0.75) > 1e-12 &&
                   fabs(v - 1 / 0.6) > 1e-12 && fabs(v - 1 / 0.8) > 1e-12;
        }
        total += (long)m->size;
    }
    /* per step 5 dropout ops: the lstm's and the rnn's outputs (a mask per step), the lstm's
     * and the gru's h_{t-1} and the gru's output (variational: one mask for all steps) */
    cr_expect_eq(ops, 5 * 20);
    cr_expect_eq(distinct, 2 * 20 + 3);
    cr_expect_eq(bad, 0, "kept elements are scaled by 1 / (1 - p)");
    int repeats = 0; /* a mask drawn again equal to another: steps and layers draw their own */
    for (int d = 0; d < distinct; d++)
        for (int e = 0; e < d; e++)
            repeats += masks[d]->size == masks[e]->size &&
                       !memcmp(masks[d]->value, masks[e]->value, masks[d]->size * sizeof(bp_real));
    cr_expect_eq(repeats, 0);
    /* over the distinct masks: 20 (0.3 + 0.3) + 0.25 + 0.2 + 0.4 zeros per 43 masks */
    double rate = (20 * 0.6 + 0.85) / 43;
    cr_expect(fabs((double)zeros / (double)total - rate) < 0.01, "dropped %ld of %ld, not %.3f",
              zeros, total, rate);
    for (int i = 0; i < 3; i++)
        layers[i].size = 5;
    bp_batch_free(b);
    bp_trainer_free(tr);
}

/* model.recompute records the segments again: their masks are the first forward's, so
 * the gradients are those of plain BPTT (to rounding). */
Test(dropout, recomputation_draws_the_same_masks)
{
    bp_model_config c = config(4, 1);
    c.data.steps = 12;
    bp_trainer *plain = test_trainer(&c);
    c.net.recompute = 3;
    bp_trainer *rec = test_trainer(&c);
    bp_batch *b = batch_of(plain, 4);
    bp_error err = {0};
    double l1, l2;
    bp_trainer *trs[2] = {plain, rec};
    double *ls[2] = {&l1, &l2};
    for (int k = 0; k < 2; k++) {
        bp_net_set_dropout(bp_trainer_net(trs[k]), true, 11);
        bp_params_zero_grad(bp_trainer_params(trs[k]));
        cr_assert_eq(bp_net_backward_batch(bp_trainer_net(trs[k]), bp_trainer_tape(trs[k]), NULL,
                                           b, 1, ls[k], &err), BP_OK, "%s", err.msg);
    }
    cr_expect_float_eq(l1, l2, 1e-14);
    bp_params *p = bp_trainer_params(plain), *q = bp_trainer_params(rec);
    for (int i = 0; i < bp_params_count(p); i++)
        for (size_t j = 0; j < bp_params_at(p, i)->size; j++)
            cr_expect_float_eq(bp_params_at(p, i)->grad[j], bp_params_at(q, i)->grad[j], 1e-13,
                               "%s[%zu]", bp_params_at(p, i)->name, j);
    bp_batch_free(b);
    bp_trainer_free(plain);
    bp_trainer_free(rec);
}

/* A training step with dropout split across 3 threads: each worker draws its rows' masks,
 * so the step is the 1-thread step (to rounding). */
Test(dropout, threads_draw_the_masks_of_their_rows)
{
    bp_model_config c = config(7, 1);
    bp_trainer *one = test_trainer(&c);
    c.train.threads = 3;
    bp_trainer *three = test_trainer(&c);
    bp_error err = {0};
    for (int s = 0; s < 3; s++) {
        double a, b;
        cr_assert_eq(bp_trainer_step(one, &a, NULL, &err), BP_OK, "%s", err.msg);
        cr_assert_eq(bp_trainer_step(three, &b, NULL, &err), BP_OK, "%s", err.msg);
        cr_expect_float_eq(a, b, 1e-13, "step %d: %.17g vs %.17g", s, a, b);
    }
    bp_params *p = bp_trainer_params(one), *q = bp_trainer_params(three);
    for (int i = 0; i < bp_params_count(p); i++)
        for (size_t j = 0; j < bp_params_at(p, i)->size; j++)
            cr_expect_float_eq(bp_params_at(p, i)->value[j], bp_params_at(q, i)->value[j], 1e-13);
    bp_trainer_free(one);
    bp_trainer_free(three);
}
