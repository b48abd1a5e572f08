/* test_gradflow.c — bp_gradflow's figures against an independent computation.
 *
 * The closed form: a relu rnn whose pre-activations are all positive is linear,
 * h_k = x_k W_x + h_{k-1} W_h + b, so with L = mse(h_{T-1} W_o + b_o, y)
 *   dL/dh_{T-1} = dL/dp W_o^T,   dL/dh_k = dL/dh_{k+1} W_h^T   (powers of W_h^T),
 *   step k's term of dL/dW_h = h_{k-1}^T dL/dh_k.
 * The test computes all of it with plain loops from the parameters' values and
 * compares with what gradflow read from the tape (double build: tight tolerances). */
#include "bptt_gradflow.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { B = 4, H = 8, F = 2 };

static bp_layer_spec layer;

static bp_model_config config(const char *task, int T, bp_layer_kind kind)
{
    bp_model_config c = {0};
    snprintf(c.name, sizeof c.name, "gradflow_test");
    bp_layer_spec_default(&layer, kind);
    layer.size = H;
    if (kind == BP_LAYER_RNN)
        layer.act = BP_ACT_RELU;
    bp_net_spec_default(&c.net);
    c.net.input_size = c.net.output_size = 0;
    c.net.n_layers = 1;
    c.net.layers = &layer;
    c.layers = &layer;
    snprintf(c.data.task, sizeof c.data.task, "%s", task);
    c.data.steps = T;
    bp_train_config_default(&c.train);
    c.train.batch = B;
    c.train.eval_batch = B;
    return c;
}

static bp_trainer *trainer(const bp_model_config *c)
{
    bp_error err;
    bp_trainer *tr = bp_trainer_new(c, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    return tr;
}

static bp_batch *batch(bp_trainer *tr, uint64_t seed)
{
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    bp_error err;
    bp_batch *b = bp_task_batch(bp_trainer_task(tr), B, BP_SPLIT_TRAIN, &rng, &err);
    cr_assert_not_null(b, "%s", err.msg);
    return b;
}

static bp_real *param(bp_trainer *tr, const char *name)
{
    bp_node *p = bp_params_find(bp_trainer_params(tr), name);
    cr_assert_not_null(p, "no parameter %s", name);
    return p->value;
}

/* Positive weights, W_h with every row summing to rho (so its spectral radius is
 * rho): with x >= 0 every pre-activation is positive and the relu is the identity. */
static void set_linear_weights(bp_trainer *tr, double rho, uint64_t seed)
{
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    bp_real *wx = param(tr, "rnn0.W_x"), *wh = param(tr, "rnn0.W_h"), *b = param(tr, "rnn0.b");
    bp_real *wo = param(tr, "out.W"), *bo = param(tr, "out.b");
    for (int i = 0; i < F * H; i++)
        wx[i] = (bp_real)(0.1 + 0.5 * bp_rng_uniform(&rng));
    for (int i = 0; i < H; i++) {
        double s = 0;
        for (int j = 0; j < H; j++)
            s += wh[i * H + j] = (bp_real)(0.1 + bp_rng_uniform(&rng));
        for (int j = 0; j < H; j++)
            wh[i * H + j] = (bp_real)(rho * wh[i * H + j] / s);
        b[i] = (bp_real)(0.05 + 0.1 * bp_rng_uniform(&rng));
        wo[i] = (bp_real)(bp_rng_uniform(&rng) - 0.5);
    }
    bo[0] = 0.25;
}

/* The reference: forward and backward of the linear rnn by plain loops.
 * dh[k] = ||g_k|| with g_k = clamp(g_{k+1} W_h^T) chained (clip c > 0) or plain;
 * raw[k] = ||g_k before clamping||; dw[k] = ||h_{k-1}^T g_k||; total = ||sum_k terms||. */
typedef struct reference {
    double *dh, *raw, *dw, total, loss;
    long *clipped;
} reference;

static reference closed_form(bp_trainer *tr, const bp_batch *bt, double c)
{
    int T = bt->T;
    bp_real *wx = param(tr, "rnn0.W_x"), *wh = param(tr, "rnn0.W_h"), *bb = param(tr, "rnn0.b");
    bp_real *wo = param(tr, "out.W"), *bo = param(tr, "out.b");
    double(*h)[B][H] = calloc((size_t)T + 1, sizeof *h); /* h[k + 1] = h_k, h[0] = 0 */
    double(*g)[B][H] = calloc((size_t)T, sizeof *g);
    reference r = {calloc((size_t)T, sizeof(double)), calloc((size_t)T, sizeof(double)),
                   calloc((size_t)T, sizeof(double)), 0, 0, calloc((size_t)T, sizeof(long))};
    for (int k = 0; k < T; k++)
        for (int n = 0; n < B; n++)
            for (int j = 0; j < H; j++) {
                double s = bb[j];
                for (int f = 0; f < F; f++)
                    s += bt->x[((size_t)n * T + k) * F + f] * wx[f * H + j];
                for (int i = 0; i < H; i++)
                    s += h[k][n][i] * wh[i * H + j];
                cr_assert_gt(s, 0, "the relu must stay open (step %d)", k);
                h[k + 1][n][j] = s;
            }
    double dp[B];
    for (int n = 0; n < B; n++) {
        double p = bo[0];
        for (int i = 0; i < H; i++)
            p += h[T][n][i] * wo[i];
        r.loss += (p - bt->y[n]) * (p - bt->y[n]) / B;
        dp[n] = 2 * (p - bt->y[n]) / B; /* d mean((p - y)^2) / dp */
    }
    double total[H][H] = {{0}};
    for (int k = T - 1; k >= 0; k--) {
        double s = 0, sr = 0;
        for (int n = 0; n < B; n++)
            for (int i = 0; i < H; i++) {
                double v = 0; /* arriving: from the readout or from step k + 1 */
                if (k == T - 1)
                    v = dp[n] * wo[i];
                else
                    for (int j = 0; j < H; j++)
                        v += g[k + 1][n][j] * wh[i * H + j]; /* g_{k+1} W_h^T */
                sr += v * v;
                if (c > 0 && fabs(v) > c) {
                    v = v > 0 ? c : -c;
                    r.clipped[k]++;
                }
                g[k][n][i] = v;
                s += v * v;
            }
        r.dh[k] = sqrt(s);
        r.raw[k] = sqrt(sr);
        double term = 0;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < H; j++) {
                double m = 0;
                for (int n = 0; n < B; n++)
                    m += h[k][n][i] * g[k][n][j]; /* h_{k-1}^T g_k */
                term += m * m;
                total[i][j] += m;
            }
        r.dw[k] = sqrt(term);
    }
    for (int i = 0; i < H; i++)
        for (int j = 0; j < H; j++)
            r.total += total[i][j] * total[i][j];
    r.total = sqrt(r.total);
    free(h);
    free(g);
    return r;
}

static void reference_free(reference *r)
{
    free(r->dh);
    free(r->raw);
    free(r->dw);
    free(r->clipped);
}

static void expect_close(double got, double want, double rtol, const char *what, int k)
{
    cr_expect(fabs(got - want) <= rtol * fabs(want) + 1e-300, "%s at step %d: %.17g, want %.17g",
              what, k, got, want);
}

static void check_linear(double rho, double clip, int T)
{
    bp_model_config c = config("adding", T, BP_LAYER_RNN);
    layer.clip_grad = clip;
    bp_trainer *tr = trainer(&c);
    set_linear_weights(tr, rho, 7);
    bp_batch *bt = batch(tr, 11);
    bp_error err;
    bp_gradflow *g = bp_gradflow_run(tr, bt, &err);
    cr_assert_not_null(g, "%s", err.msg);
    reference r = closed_form(tr, bt, clip);
    cr_assert_eq(g->steps, T);
    cr_assert_eq(g->batch, B);
    cr_assert_eq(g->n_layers, 1);
    const bp_gradflow_layer *L = &g->layers[0];
    cr_expect_str_eq(L->name, "rnn0");
    cr_expect_eq(L->layer, 0);
    cr_expect_eq(L->clip_grad, clip);
    expect_close(g->loss, r.loss, 1e-12, "loss", T - 1);
    for (int k = 0; k < T; k++) {
        expect_close(L->dh[k], r.dh[k], 1e-10, "dh", k);
        expect_close(L->dh_raw[k], r.raw[k], 1e-10, "dh_raw", k);
        expect_close(L->dw[k], r.dw[k], 1e-10, "dw", k);
        cr_expect_eq(L->clipped[k], r.clipped[k], "clipped at step %d: %ld, want %ld", k,
                     L->clipped[k], r.clipped[k]);
    }
    expect_close(L->dw_total, r.total, 1e-10, "dw_total", -1);
    reference_free(&r);
    bp_gradflow_free(g);
    bp_batch_free(bt);
    bp_trainer_free(tr);
}

Test(gradflow, vanishing_linear_rnn_matches_powers_of_W_h)
{
    check_linear(0.8, 0, 40);
}

Test(gradflow, exploding_linear_rnn_matches_powers_of_W_h)
{
    check_linear(1.15, 0, 40);
}

Test(gradflow, clipped_linear_rnn_reports_both_sides_of_the_clip_node)
{
    check_linear(1.15, 2e-3, 40);
}

/* The curves decay / grow as rho^distance, a check that shares nothing with the
 * reference's loops: W_h is positive (Perron), so g (W_h^T)^n ~ rho^n times a fixed
 * vector once n is large; compare the log-slope between distances 20 and 50. */
Test(gradflow, slope_follows_the_spectral_radius)
{
    enum { T = 60 };
    double rho[2] = {0.7, 1.2};
    for (int v = 0; v < 2; v++) {
        bp_model_config c = config("adding", T, BP_LAYER_RNN);
        bp_trainer *tr = trainer(&c);
        set_linear_weights(tr, rho[v], 3);
        bp_batch *bt = batch(tr, 5);
        bp_error err;
        bp_gradflow *g = bp_gradflow_run(tr, bt, &err);
        cr_assert_not_null(g, "%s", err.msg);
        const double *dh = g->layers[0].dh;
        double slope = log(bp_gradflow_at(g, dh, 50) / bp_gradflow_at(g, dh, 20)) / 30;
        cr_expect(fabs(slope - log(rho[v])) < 0.01, "rho %g: log-slope %g, want %g", rho[v],
                  slope, log(rho[v]));
        cr_expect(isnan(bp_gradflow_at(g, dh, T)));
        cr_expect(isnan(bp_gradflow_at(g, dh, -1)));
        cr_expect_eq(bp_gradflow_at(g, dh, 0), dh[T - 1]);
        bp_gradflow_free(g);
        bp_batch_free(bt);
        bp_trainer_free(tr);
    }
}

/* Sequence to sequence: only the last step's loss counts. The loss and dL/dh_{T-1}
 * are recomputed by hand from the last step's logits: softmax_xent's gradient
 * (softmax(z) - onehot(y)) / B, times out.W^T. */
Test(gradflow, sequence_models_use_the_last_step_loss_alone)
{
    bp_model_config c = config("copy", 3, BP_LAYER_LSTM);
    bp_trainer *tr = trainer(&c);
    bp_batch *bt = batch(tr, 9);
    bp_error err;
    bp_gradflow *g = bp_gradflow_run(tr, bt, &err);
    cr_assert_not_null(g, "%s", err.msg);
    int T = bt->T, O = bt->O;
    cr_assert_eq(g->steps, T);
    const bp_node *z = bp_net_trace(bp_trainer_net(tr))->logits[T - 1];
    const bp_real *wo = param(tr, "out.W"); /* [H, O] */
    double loss = 0, s = 0;
    for (int n = 0; n < B; n++) {
        int y = (int)bt->y[(size_t)n * T + T - 1];
        double m = -INFINITY, sum = 0, p[16];
        for (int o = 0; o < O; o++)
            m = fmax(m, z->value[n * O + o]);
        for (int o = 0; o < O; o++)
            sum += p[o] = exp(z->value[n * O + o] - m);
        loss += -(z->value[n * O + y] - m - log(sum)) / B;
        for (int i = 0; i < H; i++) {
            double v = 0;
            for (int o = 0; o < O; o++)
                v += (p[o] / sum - (o == y)) / B * wo[i * O + o];
            s += v * v;
        }
    }
    expect_close(g->loss, loss, 1e-12, "loss", T - 1);
    expect_close(g->layers[0].dh[T - 1], sqrt(s), 1e-10, "dh", T - 1);
    for (int k = 0; k < T; k++) {
        cr_expect_eq(g->layers[0].dh[k], g->layers[0].dh_raw[k]);
        cr_expect_eq(g->layers[0].clipped[k], 0);
        cr_expect_gt(g->layers[0].dh[k], 0);
    }
    cr_expect_eq(g->layers[0].dw[0], 0, "h_{-1} = 0: step 0 adds nothing to dL/dW_h");
    cr_expect_gt(g->layers[0].dw_total, 0);
    bp_gradflow_free(g);
    bp_batch_free(bt);
    bp_trainer_free(tr);
}

/* Works on weights loaded from a file: the same figures as the trainer that saved them. */
Test(gradflow, a_loaded_checkpoint_gives_the_same_figures)
{
    bp_model_config c = config("adding", 20, BP_LAYER_GRU);
    bp_trainer *a = trainer(&c);
    c.train.seed = 99;
    bp_trainer *b2 = trainer(&c);
    char path[] = "/tmp/bptt_gradflow_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    bp_error err;
    cr_assert_eq(bp_trainer_save_weights(a, path, &err), BP_OK, "%s", err.msg);
    cr_assert_eq(bp_trainer_load(b2, path, true, &err), BP_OK, "%s", err.msg);
    unlink(path);
    bp_batch *bt = batch(a, 4);
    bp_gradflow *ga = bp_gradflow_run(a, bt, &err), *gb = bp_gradflow_run(b2, bt, &err);
    cr_assert(ga && gb, "%s", err.msg);
    for (int k = 0; k < ga->steps; k++) {
        cr_expect_eq(ga->layers[0].dh[k], gb->layers[0].dh[k], "dh at step %d", k);
        cr_expect_eq(ga->layers[0].dw[k], gb->layers[0].dw[k], "dw at step %d", k);
    }
    bp_gradflow_free(ga);
    bp_gradflow_free(gb);
    bp_batch_free(bt);
    bp_trainer_free(a);
    bp_trainer_free(b2);
}

/* A stack: one curve per recurrent layer, named; a linear layer between adds none. */
Test(gradflow, one_curve_per_recurrent_layer)
{
    bp_model_config c = config("adding", 12, BP_LAYER_RNN);
    bp_layer_spec ls[3];
    bp_layer_spec_default(&ls[0], BP_LAYER_RNN);
    bp_layer_spec_default(&ls[1], BP_LAYER_LINEAR);
    bp_layer_spec_default(&ls[2], BP_LAYER_LSTM);
    ls[0].size = ls[1].size = ls[2].size = 6;
    ls[1].act = BP_ACT_TANH;
    ls[2].clip_grad = 1e-4;
    c.net.layers = c.layers = ls;
    c.net.n_layers = 3;
    bp_trainer *tr = trainer(&c);
    bp_batch *bt = batch(tr, 1);
    bp_error err;
    bp_gradflow *g = bp_gradflow_run(tr, bt, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert_eq(g->n_layers, 2);
    cr_expect_str_eq(g->layers[0].name, "rnn0");
    cr_expect_eq(g->layers[1].layer, 2);
    cr_expect_eq(g->layers[1].kind, BP_LAYER_LSTM);
    long clipped = 0;
    for (int k = 0; k < g->steps; k++) {
        clipped += g->layers[1].clipped[k];
        cr_expect_leq(g->layers[1].dh[k], g->layers[1].dh_raw[k] * (1 + 1e-12));
        cr_expect_leq(g->layers[1].dh[k], 1e-4 * sqrt(B * 6) * (1 + 1e-12));
    }
    cr_expect_gt(clipped, 0, "the clip node fired");
    bp_gradflow_free(g);
    bp_batch_free(bt);
    bp_trainer_free(tr);
}

Test(gradflow, a_model_without_recurrence_is_refused)
{
    bp_model_config c = config("adding", 5, BP_LAYER_LINEAR);
    layer.act = BP_ACT_TANH;
    bp_trainer *tr = trainer(&c);
    bp_batch *bt = batch(tr, 1);
    bp_error err = {0};
    cr_expect_null(bp_gradflow_run(tr, bt, &err));
    cr_expect_eq(err.status, BP_ERR_VALUE);
    cr_expect(strstr(err.msg, "no recurrent layer"), "%s", err.msg);
    bp_batch_free(bt);
    bp_trainer_free(tr);
}

/* The graph form: a cell written node by node gives the same kind of curves, and its
 * W_h's gradient is the sum of the step terms (so its norm is at most their sum). */
Test(gradflow, a_graph_form_cell_is_measured_too)
{
    bp_error err;
    bp_model_config *c = bp_model_config_load(BPTT_SOURCE_DIR "/models/graph_lnrnn.yaml",
                                              (const char *[]){"data.steps=15"}, 1, &err);
    cr_assert_not_null(c, "%s", err.msg);
    c->train.batch = 3;
    bp_trainer *tr = trainer(c);
    bp_batch *bt = batch(tr, 2);
    bp_gradflow *g = bp_gradflow_run(tr, bt, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert_eq(g->n_layers, 1);
    cr_expect_eq(g->steps, 15);
    const bp_gradflow_layer *L = &g->layers[0];
    const bp_node *W_h = bp_params_find(bp_trainer_params(tr), "cell.W_h");
    cr_assert_not_null(W_h);
    double norm = 0, sum = 0;
    for (size_t i = 0; i < W_h->size; i++)
        norm += (double)W_h->grad[i] * W_h->grad[i];
    for (int k = 0; k < g->steps; k++) {
        cr_expect_gt(L->dh[k], 0);
        sum += L->dw[k];
    }
    cr_expect_gt(L->dw_total, 0);
    cr_expect(fabs(L->dw_total - sqrt(norm)) <= 1e-12 * sqrt(norm), "%g vs %g", L->dw_total,
              sqrt(norm));
    cr_expect_leq(L->dw_total, sum * (1 + 1e-12));
    bp_gradflow_free(g);
    bp_batch_free(bt);
    bp_trainer_free(tr);
    bp_model_config_free(c);
}

/* gradflow keeps denormals while it measures (bp_gradflow_run), then gives the trainer's
 * tape its own switch back, on or off. */
Test(gradflow, the_trainers_denormal_flush_is_put_back)
{
    for (int on = 0; on < 2; on++) {
        bp_model_config c = config("adding", 5, BP_LAYER_RNN);
        bp_trainer *tr = trainer(&c);
        bp_tape_set_flush_denormals(bp_trainer_tape(tr), on);
        bp_batch *bt = batch(tr, 3);
        bp_error err;
        bp_gradflow *g = bp_gradflow_run(tr, bt, &err);
        cr_assert_not_null(g, "%s", err.msg);
        cr_expect_eq(bp_tape_flushes_denormals(bp_trainer_tape(tr)), (bool)on);
        bp_gradflow_free(g);
        bp_batch_free(bt);
        bp_trainer_free(tr);
    }
}
