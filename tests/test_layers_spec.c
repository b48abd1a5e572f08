/* test_layers_spec.c — parameter names and shapes, spec errors, batch errors,
 * initialisation schemes and the spectral radius. */
#include "test_layers_util.h"

#include <math.h>
#include <stdio.h>

/* ---------------------------------------------------------------- names and shapes */

static void expect_param(bp_params *p, const char *name, bp_shape s)
{
    bp_node *n = bp_params_find(p, name);
    char a[64], b[64];
    cr_assert_not_null(n, "no parameter %s", name);
    cr_expect(bp_shape_eq(n->shape, s), "%s is %s, want %s", name,
              bp_shape_str(n->shape, a, sizeof a), bp_shape_str(s, b, sizeof b));
}

Test(layers_spec, parameter_names_and_shapes_follow_the_design)
{
    bp_layer_spec l[5] = {fx_layer(BP_LAYER_EMBEDDING, 6), fx_layer(BP_LAYER_RNN, 5),
                          fx_layer(BP_LAYER_LSTM, 4), fx_layer(BP_LAYER_GRU, 3),
                          fx_layer(BP_LAYER_LINEAR, 7)};
    snprintf(l[1].name, sizeof l[1].name, "enc");
    fixture f;
    fx_net(&f, l, 5, 10, true, BP_HEAD_SEQ, 9, 0, 1);
    expect_param(f.params, "embedding0.E", bp_shape2(10, 6));
    expect_param(f.params, "enc.W_x", bp_shape2(6, 5));
    expect_param(f.params, "enc.W_h", bp_shape2(5, 5));
    expect_param(f.params, "enc.b", bp_shape1(5));
    expect_param(f.params, "lstm0.W_x", bp_shape2(5, 16));
    expect_param(f.params, "lstm0.W_h", bp_shape2(4, 16));
    expect_param(f.params, "lstm0.b", bp_shape1(16));
    expect_param(f.params, "gru0.W_x", bp_shape2(4, 9));
    expect_param(f.params, "gru0.W_h", bp_shape2(3, 9));
    expect_param(f.params, "gru0.b_x", bp_shape1(9));
    expect_param(f.params, "gru0.b_h", bp_shape1(9));
    expect_param(f.params, "linear0.W", bp_shape2(3, 7));
    expect_param(f.params, "linear0.b", bp_shape1(7));
    expect_param(f.params, "out.W", bp_shape2(7, 9));
    expect_param(f.params, "out.b", bp_shape1(9));
    cr_expect_eq(bp_params_count(f.params), 15);
    cr_expect_eq(bp_net_param(f.net, 3, "b_h"), bp_params_find(f.params, "gru0.b_h"));
    cr_expect_eq(bp_net_param(f.net, 1, "W_h"), bp_params_find(f.params, "enc.W_h"));
    cr_expect_null(bp_net_param(f.net, 1, "b_h"));
    cr_expect_null(bp_net_param(f.net, 9, "W_h"));
    cr_expect_str_eq(bp_net_spec_of(f.net)->layers[2].name, "lstm0");
    fx_free(&f);
}

Test(layers_spec, names_parse_both_ways)
{
    bp_layer_kind k;
    bp_act a;
    bp_init_kind i;
    bp_head_kind h;
    for (int j = 0; j <= BP_LAYER_EMBEDDING; j++)
        cr_expect(bp_layer_kind_parse(bp_layer_kind_name((bp_layer_kind)j), &k) && (int)k == j);
    for (int j = 0; j <= BP_ACT_RELU; j++)
        cr_expect(bp_act_parse(bp_act_name((bp_act)j), &a) && (int)a == j);
    for (int j = 0; j <= BP_INIT_ORTHOGONAL; j++)
        cr_expect(bp_init_kind_parse(bp_init_kind_name((bp_init_kind)j), &i) && (int)i == j);
    cr_expect(bp_head_kind_parse("seq", &h) && h == BP_HEAD_SEQ);
    cr_expect_not(bp_layer_kind_parse("transformer", &k));
    cr_expect_not(bp_act_parse(NULL, &a));
}

/* ---------------------------------------------------------------- spec errors */

static void expect_error(const bp_layer_spec *l, int n, int input, bool tokens, bp_status st,
                         const char *msg)
{
    bp_net_spec s;
    bp_net_spec_default(&s);
    s.input_size = input;
    s.tokens = tokens;
    s.n_layers = n;
    s.layers = l;
    bp_params *p = bp_params_new();
    bp_error err = {0};
    bp_net *net = bp_net_new(&s, p, &err);
    cr_expect_null(net, "accepted; wanted \"%s\"", msg);
    cr_expect_eq(err.status, st, "status %s for \"%s\"", bp_status_name(err.status), err.msg);
    cr_expect_str_eq(err.msg, msg);
    cr_expect_eq(bp_params_count(p), 0, "a refused spec added parameters");
    bp_net_free(net);
    bp_params_free(p);
}

Test(layers_spec, errors_name_the_layer_and_the_setting)
{
    bp_layer_spec l[2] = {fx_layer(BP_LAYER_RNN, 32), fx_layer(BP_LAYER_RNN, 64)};
    l[1].skip_from = 0;
    expect_error(l, 2, 2, false, BP_ERR_SHAPE, "layer 'rnn1': skip from 'rnn0' needs size 64, has 32");
    l[1].skip_from = BP_SKIP_INPUT;
    expect_error(l, 2, 2, false, BP_ERR_SHAPE, "layer 'rnn1': skip from its input needs size 64, has 32");
    l[1].skip_from = 1;
    expect_error(l, 2, 2, false, BP_ERR_VALUE,
                 "layer 'rnn1': skip_from 1 is not an earlier layer (0..0) or the input");
    l[1] = fx_layer(BP_LAYER_RNN, 0);
    expect_error(l, 2, 2, false, BP_ERR_VALUE, "layer 'rnn1': size must be in [1, 65536], not 0");
    l[1] = fx_layer(BP_LAYER_LSTM, 8);
    l[1].init = BP_INIT_IDENTITY;
    expect_error(l, 2, 2, false, BP_ERR_VALUE, "layer 'lstm0': init identity applies to rnn layers only");
    l[1] = fx_layer(BP_LAYER_GRU, 8);
    l[1].spectral_radius = 1.1;
    expect_error(l, 2, 2, false, BP_ERR_VALUE,
                 "layer 'gru0': spectral_radius applies to rnn layers only (W_h must be square)");
    l[1] = fx_layer(BP_LAYER_LSTM, 8);
    l[1].residual = true;
    expect_error(l, 2, 2, false, BP_ERR_VALUE,
                 "layer 'lstm0': residual (h_t = h_{t-1} + f) applies to rnn layers only");
    l[1] = fx_layer(BP_LAYER_LINEAR, 8);
    l[1].clip_grad = 25;
    expect_error(l, 2, 2, false, BP_ERR_VALUE, "layer 'linear0': clip_grad applies to recurrent layers only");
    l[1] = fx_layer(BP_LAYER_RNN, 8);
    l[1].act = BP_ACT_NONE;
    expect_error(l, 2, 2, false, BP_ERR_VALUE, "layer 'rnn1': an rnn needs an activation, not none");
    l[1] = fx_layer(BP_LAYER_RNN, 8);
    l[1].clip_grad = -1;
    expect_error(l, 2, 2, false, BP_ERR_VALUE, "layer 'rnn1': clip_grad must be >= 0 (0 = off), not -1");
    l[1] = fx_layer(BP_LAYER_GRU, 8);
    l[1].forget_bias = 1;
    expect_error(l, 2, 2, false, BP_ERR_VALUE, "layer 'gru0': forget_bias applies to lstm layers only");
    l[1] = fx_layer(BP_LAYER_RNN, 8);
    l[1].init = BP_INIT_NORMAL;
    l[1].init_std = 0;
    expect_error(l, 2, 2, false, BP_ERR_VALUE, "layer 'rnn1': init std must be > 0, not 0");
    l[1] = fx_layer(BP_LAYER_EMBEDDING, 8);
    expect_error(l, 2, 5, true, BP_ERR_VALUE,
                 "layer 'embedding0': an embedding must be the first layer, and the input tokens");
    expect_error(&l[1], 1, 5, false, BP_ERR_VALUE,
                 "layer 'embedding0': an embedding must be the first layer, and the input tokens");
    l[1] = fx_layer(BP_LAYER_RNN, 8);
    snprintf(l[1].name, sizeof l[1].name, "rnn0");
    expect_error(l, 2, 2, false, BP_ERR_NAME, "layer 'rnn0': the name is taken by layer 0");
    snprintf(l[1].name, sizeof l[1].name, "out");
    expect_error(l, 2, 2, false, BP_ERR_NAME, "layer 'out': the name 'out' is the readout's");
    snprintf(l[1].name, sizeof l[1].name, "a.b");
    expect_error(l, 2, 2, false, BP_ERR_NAME,
                 "layer 1: a name is at most 31 characters of letters, digits, '_' and '-'");
    l[1] = fx_layer(BP_LAYER_RNN, 8);
    expect_error(l, 0, 2, false, BP_ERR_VALUE, "net: needs 1 to 1024 layers, has 0");
    expect_error(l, 2, 0, false, BP_ERR_VALUE, "net: the input size must be in [1, 65536], not 0");
    expect_error(l, 2, 70000, true, BP_ERR_VALUE, "net: the vocabulary must be in [1, 65536], not 70000");
}

/* ---------------------------------------------------------------- batch errors */

static void expect_forward_error(fixture *f, int t0, int t1, const char *msg)
{
    bp_tape *t = bp_tape_new();
    cr_expect_null(bp_net_forward(f->net, t, f->batch, t0, t1, NULL));
    const bp_error *e = bp_tape_error(t);
    cr_assert_not_null(e);
    cr_expect_str_eq(e->msg, msg);
    bp_tape_free(t);
}

Test(layers_spec, a_batch_that_does_not_fit_is_refused_with_its_sizes)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 4);
    fixture f, g;
    fx_net(&f, &l, 1, 2, false, BP_HEAD_LAST, 1, 0, 1);
    fx_net(&g, &l, 1, 3, false, BP_HEAD_SEQ, 1, 0, 1);
    fx_batch(&g, 2, 4, BP_TARGET_CLASS_SEQ, 2); /* 3 features, seq targets */
    f.batch = g.batch;
    expect_forward_error(&f, 0, 4, "net: the batch has 3 features per step; the input size is 2");
    expect_forward_error(&g, 0, 5, "net: steps [0, 5) are not a range within the batch's 4 steps");
    expect_forward_error(&g, 2, 2, "net: steps [2, 2) are not a range within the batch's 4 steps");
    f.batch = NULL;
    fx_free(&f);
    fx_net(&f, &l, 1, 3, false, BP_HEAD_LAST, 1, 0, 1);
    f.batch = g.batch;
    expect_forward_error(&f, 0, 4, "net: head 'last' needs last-step targets; the batch has "
                         "per-step class targets [B, T]");
    f.batch = NULL;
    fx_free(&f);
    /* one-hot tokens: an id out of the vocabulary */
    fx_net(&f, &l, 1, 5, true, BP_HEAD_LAST, 2, 0, 1);
    fx_batch(&f, 2, 3, BP_TARGET_CLASS_LAST, 3);
    f.batch->x[1 * 3 + 2] = 5;
    expect_forward_error(&f, 0, 3, "net: token id 5 at row 1, step 2 is not in [0, 5)");
    fx_free(&f);
    fx_free(&g);
}

/* ---------------------------------------------------------------- init schemes */

Test(layers_spec, init_is_deterministic_and_follows_each_scheme)
{
    bp_layer_spec l[4] = {fx_layer(BP_LAYER_LINEAR, 6), fx_layer(BP_LAYER_RNN, 16),
                          fx_layer(BP_LAYER_LSTM, 8), fx_layer(BP_LAYER_RNN, 16)};
    l[1].init = BP_INIT_IDENTITY;
    l[1].init_gain = 0.5;
    l[2].init = BP_INIT_ORTHOGONAL;
    l[2].init_gain = 2;
    l[2].forget_bias = 1;
    l[3].init = BP_INIT_NORMAL;
    l[3].init_std = 0.3;
    fixture f, g;
    fx_net(&f, l, 4, 4, false, BP_HEAD_LAST, 1, 0, 7);
    fx_net(&g, l, 4, 4, false, BP_HEAD_LAST, 1, 0, 7);
    for (int i = 0; i < bp_params_count(f.params); i++) {
        bp_node *a = bp_params_at(f.params, i), *b = bp_params_at(g.params, i);
        cr_expect_eq(memcmp(a->value, b->value, a->size * sizeof(bp_real)), 0, "%s differs", a->name);
    }
    /* linear: U(-1/sqrt(in), 1/sqrt(in)) */
    bp_node *W = bp_params_find(f.params, "linear0.W");
    for (size_t i = 0; i < W->size; i++)
        cr_expect_leq(fabs(W->value[i]), 0.5);
    /* identity: W_h = 0.5 I, b = 0, W_x small */
    bp_node *Wh = bp_params_find(f.params, "rnn0.W_h"), *Wx = bp_params_find(f.params, "rnn0.W_x");
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            cr_expect_eq(Wh->value[i * 16 + j], i == j ? 0.5 : 0);
    for (size_t i = 0; i < Wx->size; i++)
        cr_expect_leq(fabs(Wx->value[i]), 0.006); /* 6 sigma of N(0, 0.001^2) */
    /* orthogonal per gate block: Q^T Q = gain^2 I */
    bp_node *Q = bp_params_find(f.params, "lstm0.W_h");
    for (int g4 = 0; g4 < 4; g4++)
        for (int a = 0; a < 8; a++)
            for (int c = 0; c < 8; c++) {
                double s = 0;
                for (int r = 0; r < 8; r++)
                    s += Q->value[r * 32 + g4 * 8 + a] * Q->value[r * 32 + g4 * 8 + c];
                cr_expect(fabs(s - (a == c ? 4 : 0)) < 1e-12, "block %d (%d, %d): %g", g4, a, c, s);
            }
    /* forget bias: the f block of b */
    bp_node *b = bp_params_find(f.params, "lstm0.b");
    for (int i = 0; i < 32; i++)
        if (i >= 8 && i < 16)
            cr_expect_eq(b->value[i], 1);
        else
            cr_expect_leq(fabs(b->value[i]), 1 / sqrt(8.0));
    /* normal(0.3): the sample standard deviation of 256 draws */
    bp_node *N = bp_params_find(f.params, "rnn1.W_h");
    double ss = 0;
    for (size_t i = 0; i < N->size; i++)
        ss += N->value[i] * N->value[i];
    cr_expect(fabs(sqrt(ss / N->size) - 0.3) < 0.05, "std %g", sqrt(ss / N->size));
    /* default: U(-1/sqrt(H), 1/sqrt(H)) */
    bp_node *D = bp_params_find(f.params, "rnn1.W_x");
    for (size_t i = 0; i < D->size; i++)
        cr_expect_leq(fabs(D->value[i]), 0.25);
    fx_free(&f);
    fx_free(&g);
}

/* ---------------------------------------------------------------- spectral radius */

Test(layers_spec, spectral_radius_of_rotations_and_diagonals)
{
    double rho;
    bp_error err;
    /* a rotation by 0.7 rad scaled by 0.8: eigenvalues 0.8 e^(+-0.7i), a complex pair */
    bp_real R[4] = {0.8 * cos(0.7), -0.8 * sin(0.7), 0.8 * sin(0.7), 0.8 * cos(0.7)};
    cr_assert_eq(bp_spectral_radius(R, 2, &rho, &err), BP_OK);
    cr_expect(fabs(rho - 0.8) < 1e-12, "rotation: %.15g", rho);
    /* two such blocks, radii 0.6 and 1.3, coupled: not normal, so ||W^k v|| oscillates
     * and the estimate is close (1e-4) rather than exact */
    bp_real D2[16] = {0};
    double a = 2.1, r2 = 1.3;
    D2[0] = D2[5] = 0.6 * cos(a);
    D2[1] = -(D2[4] = 0.6 * sin(a));
    D2[10] = D2[15] = r2 * cos(1.1);
    D2[11] = -(D2[14] = r2 * sin(1.1));
    D2[2] = 3; /* upper-triangular coupling: same eigenvalues, not normal */
    cr_assert_eq(bp_spectral_radius(D2, 4, &rho, &err), BP_OK);
    cr_expect(fabs(rho - 1.3) < 1e-4, "coupled rotations: %.15g", rho);
    /* a diagonal whose largest eigenvalue is negative */
    bp_real Dg[16] = {0.3, 0, 0, 0, 0, -1.7, 0, 0, 0, 0, 0.9, 0, 0, 0, 0, 1.2};
    cr_assert_eq(bp_spectral_radius(Dg, 4, &rho, &err), BP_OK);
    cr_expect(fabs(rho - 1.7) < 1e-12, "diagonal: %.15g", rho);
    /* zero and nilpotent: radius 0, and scaling to a radius is refused */
    bp_real Z[4] = {0, 5, 0, 0};
    cr_assert_eq(bp_spectral_radius(Z, 2, &rho, &err), BP_OK);
    cr_expect_eq(rho, 0);
    cr_expect_eq(bp_set_spectral_radius(Z, 2, 0.9, &err), BP_ERR_VALUE);
    cr_expect_str_eq(err.msg, "spectral radius: W_h has radius 0 and cannot be scaled to 0.9");
    bp_real bad[1] = {NAN};
    cr_expect_eq(bp_spectral_radius(bad, 1, &rho, &err), BP_ERR_NONFINITE);
}

/* rho by a long independent run: log ||W^(2n) v|| - log ||W^n v|| over n, one vector. */
static double long_run_radius(const bp_real *W, int n, int iters)
{
    double *v = malloc(n * sizeof *v), *u = malloc(n * sizeof *u), la = 0, lb = 0;
    for (int i = 0; i < n; i++)
        v[i] = 1.0 + 0.01 * i;
    for (int k = 1; k <= 2 * iters; k++) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            u[i] = 0;
            for (int j = 0; j < n; j++)
                u[i] += W[i * n + j] * v[j];
            s += u[i] * u[i];
        }
        s = sqrt(s);
        for (int i = 0; i < n; i++)
            v[i] = u[i] / s;
        *(k <= iters ? &la : &lb) += log(s);
    }
    free(v);
    free(u);
    return exp(lb / iters);
}

Test(layers_spec, spectral_radius_setting_gives_the_requested_radius)
{
    const double targets[3] = {0.5, 0.95, 1.5};
    for (int k = 0; k < 3; k++) {
        bp_layer_spec l = fx_layer(BP_LAYER_RNN, 32);
        l.spectral_radius = targets[k];
        l.init = k == 1 ? BP_INIT_ORTHOGONAL : BP_INIT_DEFAULT;
        fixture f;
        fx_net(&f, &l, 1, 2, false, BP_HEAD_LAST, 1, 0, 500 + (uint64_t)k);
        bp_node *Wh = bp_params_find(f.params, "rnn0.W_h");
        double rho, check = long_run_radius(Wh->value, 32, 4000);
        bp_error err;
        cr_assert_eq(bp_spectral_radius(Wh->value, 32, &rho, &err), BP_OK);
        cr_expect(fabs(rho - targets[k]) < 1e-6 * targets[k], "estimate %.10g, want %g", rho,
                  targets[k]);
        cr_expect(fabs(check - targets[k]) < 2e-3 * targets[k], "long run %.10g, want %g", check,
                  targets[k]);
        fx_free(&f);
    }
}
