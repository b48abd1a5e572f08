/* test_bptt.c — BPTT against the lecture's formula, clipping that clamps exactly,
 * the IRNN's copy of its state, PyTorch's LSTM and GRU equations, the trace, and
 * truncated BPTT's carried state. Double build. */
#include "test_layers_util.h"

#include <math.h>
#include <stdio.h>

static bp_node *param(const fixture *f, const char *name)
{
    bp_node *p = bp_params_find(f->params, name);
    cr_assert_not_null(p, "no parameter %s", name);
    return p;
}

/* ---------------------------------------------------------------- the lecture's formula */

/* For h_t = tanh(x_t W_x + h_{t-1} W_h + b) and a loss at step T:
 *   dL/dW_h = sum_k dL/dh_T (prod_{j=k+1..T} dh_j/dh_{j-1}) d+h_k/dW_h,
 * with dh_j/dh_{j-1} [a][c] = (1 - h_j[a]^2) W_h[c][a] and
 * d+h_k[a]/dW_h[c][a] = (1 - h_k[a]^2) h_{k-1}[c] (the immediate partial). Computed
 * here by explicit loops over Jacobian matrices, with no tape. */
#define NI 2
#define NH 3
#define NB 2
#define NT 5
Test(bptt, tanh_rnn_gradient_is_the_lectures_sum_of_products)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, NH);
    fixture f;
    fx_net(&f, &l, 1, NI, false, BP_HEAD_LAST, 1, 0, 11);
    fx_batch(&f, NB, NT, BP_TARGET_VALUES, 12);
    bp_node *Wx = param(&f, "rnn0.W_x"), *Wh = param(&f, "rnn0.W_h"), *b = param(&f, "rnn0.b"),
            *Wo = param(&f, "out.W"), *bo = param(&f, "out.b");
    /* a recurrent matrix big enough that far steps matter */
    for (size_t i = 0; i < Wh->size; i++)
        Wh->value[i] *= 3;

    /* the tape */
    bp_tape *t = bp_tape_new();
    bp_params_zero_grad(f.params);
    bp_node *loss = bp_net_forward(f.net, t, f.batch, 0, NT, NULL);
    cr_assert_not_null(loss);
    bp_error err;
    cr_assert_eq(bp_backward(t, loss, &err), BP_OK, "%s", err.msg);

    /* by hand: h[k] for k = 0..T, h[0] = 0 */
    double h[NT + 1][NB][NH] = {{{0}}};
    for (int k = 1; k <= NT; k++)
        for (int r = 0; r < NB; r++)
            for (int a = 0; a < NH; a++) {
                double s = b->value[a];
                for (int c = 0; c < NI; c++)
                    s += f.batch->x[((size_t)r * NT + k - 1) * NI + c] * Wx->value[c * NH + a];
                for (int c = 0; c < NH; c++)
                    s += h[k - 1][r][c] * Wh->value[c * NH + a];
                h[k][r][a] = tanh(s);
            }
    double dWh[NH][NH] = {{0}}, dWx[NI][NH] = {{0}};
    for (int r = 0; r < NB; r++) {
        /* dL/dh_T: L = (1/B) sum_r (p_r - y_r)^2, p_r = h_T W_o + b_o */
        double p = bo->value[0], dh_T[NH];
        for (int a = 0; a < NH; a++)
            p += h[NT][r][a] * Wo->value[a];
        for (int a = 0; a < NH; a++)
            dh_T[a] = 2.0 / NB * (p - f.batch->y[r]) * Wo->value[a];
        for (int k = 1; k <= NT; k++) {
            /* P = prod_{j=k+1..T} dh_j/dh_{j-1}, multiplied left to right from j = T */
            double P[NH][NH];
            for (int a = 0; a < NH; a++)
                for (int c = 0; c < NH; c++)
                    P[a][c] = a == c;
            for (int j = NT; j >= k + 1; j--) {
                double J[NH][NH], Q[NH][NH];
                for (int a = 0; a < NH; a++)
                    for (int c = 0; c < NH; c++)
                        J[a][c] = (1 - h[j][r][a] * h[j][r][a]) * Wh->value[c * NH + a];
                for (int a = 0; a < NH; a++)
                    for (int c = 0; c < NH; c++) {
                        Q[a][c] = 0;
                        for (int m = 0; m < NH; m++)
                            Q[a][c] += P[a][m] * J[m][c];
                    }
                memcpy(P, Q, sizeof P);
            }
            /* g = dL/dh_T P: dL/dh_k through the chain of steps k+1..T */
            double g[NH] = {0};
            for (int a = 0; a < NH; a++)
                for (int c = 0; c < NH; c++)
                    g[c] += dh_T[a] * P[a][c];
            for (int a = 0; a < NH; a++) {
                double d = g[a] * (1 - h[k][r][a] * h[k][r][a]);
                for (int c = 0; c < NH; c++)
                    dWh[c][a] += d * h[k - 1][r][c];
                for (int c = 0; c < NI; c++)
                    dWx[c][a] += d * f.batch->x[((size_t)r * NT + k - 1) * NI + c];
            }
        }
    }
    for (int c = 0; c < NH; c++)
        for (int a = 0; a < NH; a++)
            cr_expect(fabs(Wh->grad[c * NH + a] - dWh[c][a]) <= 1e-12 * (1 + fabs(dWh[c][a])),
                      "dL/dW_h[%d][%d]: tape %.15g, formula %.15g", c, a, Wh->grad[c * NH + a],
                      dWh[c][a]);
    for (int c = 0; c < NI; c++)
        for (int a = 0; a < NH; a++)
            cr_expect(fabs(Wx->grad[c * NH + a] - dWx[c][a]) <= 1e-12 * (1 + fabs(dWx[c][a])),
                      "dL/dW_x[%d][%d]: tape %.15g, formula %.15g", c, a, Wx->grad[c * NH + a],
                      dWx[c][a]);
    /* and far steps do contribute: the gradient is not just the last step's */
    double norm = 0;
    for (int c = 0; c < NH; c++)
        for (int a = 0; a < NH; a++)
            norm += dWh[c][a] * dWh[c][a];
    cr_expect_gt(norm, 1e-8);
    bp_tape_free(t);
    fx_free(&f);
}

/* ---------------------------------------------------------------- the trace */

/* Step k's share of dL/dW_h is h_{k-1}^T dL/d(h_{k-1} W_h); the shares sum to the grad. */
Test(bptt, trace_shares_sum_to_the_recurrent_gradient)
{
    bp_layer_spec l[2] = {fx_layer(BP_LAYER_RNN, 4), fx_layer(BP_LAYER_LSTM, 3)};
    l[0].clip_grad = 5;
    fixture f;
    fx_net(&f, l, 2, 2, false, BP_HEAD_LAST, 1, 0, 21);
    fx_batch(&f, 3, 6, BP_TARGET_VALUES, 22);
    bp_tape *t = bp_tape_new();
    bp_params_zero_grad(f.params);
    bp_node *loss = bp_net_forward(f.net, t, f.batch, 0, 6, NULL);
    bp_error err;
    cr_assert_eq(bp_backward(t, loss, &err), BP_OK);
    const bp_trace *tr = bp_net_trace(f.net);
    cr_assert_eq(tr->n_layers, 2);
    cr_assert_eq(tr->steps, 6);
    cr_expect_eq(tr->layer[1], 1);
    const char *wh[2] = {"rnn0.W_h", "lstm0.W_h"};
    for (int li = 0; li < 2; li++) {
        bp_node *W = param(&f, wh[li]);
        int H = W->shape.dim[0], N = W->shape.dim[1];
        double *sum = calloc(W->size, sizeof *sum);
        for (int k = 0; k < tr->steps; k++) {
            bp_node *rec = tr->rec[li][k], *hp = rec->in[0];
            cr_assert_eq(rec->in[1], W);
            cr_assert_eq(hp, k == 0 ? tr->h0[li] : tr->h[li][k - 1]);
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < H; c++)
                    for (int a = 0; a < N; a++)
                        sum[c * N + a] += hp->value[r * H + c] * rec->grad[r * N + a];
        }
        for (size_t i = 0; i < W->size; i++)
            cr_expect(fabs(sum[i] - W->grad[i]) <= 1e-12 * (1 + fabs(W->grad[i])),
                      "%s[%zu]: shares %g, grad %g", wh[li], i, sum[i], W->grad[i]);
        free(sum);
    }
    /* the clipped layer's h is the clip node, whose input is the unclipped h */
    cr_expect_eq(tr->h[0][0]->op, &bp_op_clip_grad);
    cr_expect_eq(tr->h[1][5]->op, &bp_op_lstm_h);
    cr_expect_not_null(tr->logits[5]);
    cr_expect_null(tr->logits[0]);
    /* a warmed-up forward of the same length reuses the net's scratch */
    bp_node *const *const *rows = tr->h;
    bp_tape_reset(t);
    cr_assert_not_null(bp_net_forward(f.net, t, f.batch, 0, 6, NULL));
    cr_expect_eq(bp_net_trace(f.net)->h, rows);
    bp_tape_free(t);
    fx_free(&f);
}

Test(bptt, nodes_per_step)
{
    bp_error err;
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 4);
    fixture f;
    fx_net(&f, &l, 1, 2, false, BP_HEAD_LAST, 1, 0, 1);
    /* rows of the input product x W_x (a view), h W_h, rnn_tanh */
    cr_expect_eq(bp_net_step_nodes(f.net, &err), 3);
    fx_free(&f);
    l.clip_grad = 25;
    l.residual = true;
    fx_net(&f, &l, 1, 2, false, BP_HEAD_SEQ, 3, 0, 1);
    /* + skip + clip_grad; readout matmul, add, targets, xent, running sum */
    cr_expect_eq(bp_net_step_nodes(f.net, &err), 10);
    fx_free(&f);
    bp_layer_spec lstm = fx_layer(BP_LAYER_LSTM, 4);
    fx_net(&f, &lstm, 1, 2, false, BP_HEAD_LAST, 1, 0, 1);
    /* rows, h W_h, lstm_gates, lstm_c, lstm_h */
    cr_expect_eq(bp_net_step_nodes(f.net, &err), 5);
    fx_free(&f);
    bp_layer_spec gru = fx_layer(BP_LAYER_GRU, 4);
    fx_net(&f, &gru, 1, 2, false, BP_HEAD_LAST, 1, 0, 1);
    /* rows, h W_h, gru_gates, gru_h */
    cr_expect_eq(bp_net_step_nodes(f.net, &err), 4);
    fx_free(&f);
}

/* ---------------------------------------------------------------- clipping */

/* clip_grad(c) on h_t clamps dL/dh_t elementwise: with a large upstream gradient the
 * gradient entering each cell is exactly +-c where it was larger. */
Test(bptt, clip_grad_clamps_exactly_when_active)
{
    const double c = 0.5;
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 4);
    l.act = BP_ACT_RELU;
    l.clip_grad = c;
    fixture f;
    fx_net(&f, &l, 1, 2, false, BP_HEAD_LAST, 1, 0, 31);
    fx_batch(&f, 2, 3, BP_TARGET_VALUES, 32);
    bp_node *Wh = param(&f, "rnn0.W_h"), *b = param(&f, "rnn0.b");
    bp_rng rng;
    bp_rng_seed(&rng, 33);
    bp_fill_normal(Wh->value, Wh->size, 0, 2, &rng);
    for (size_t i = 0; i < b->size; i++)
        b->value[i] = 1; /* keep the relus open */
    bp_tape *t = bp_tape_new();
    cr_assert_not_null(bp_net_forward(f.net, t, f.batch, 0, 3, NULL));
    const bp_trace *tr = bp_net_trace(f.net);
    bp_node *top = tr->h[0][2];
    bp_real dout[8];
    for (int i = 0; i < 8; i++)
        dout[i] = (bp_real)((i % 3 == 0 ? 0.25 : 100) * (i % 2 ? -1 : 1));
    bp_error err;
    cr_assert_eq(bp_backward_seed(t, top, dout, &err), BP_OK, "%s", err.msg);
    int clamped = 0, passed = 0;
    for (int k = 2; k >= 0; k--) {
        bp_node *h = tr->h[0][k], *cell = h->in[0];
        cr_assert_eq(h->op, &bp_op_clip_grad);
        for (int i = 0; i < 8; i++) {
            bp_real g = h->grad[i], want = g > c ? (bp_real)c : g < -c ? (bp_real)-c : g;
            cr_expect_eq(cell->grad[i], want, "step %d element %d: dL/dh %.17g, into the cell "
                         "%.17g, want %.17g", k, i, g, cell->grad[i], want);
            clamped += fabs(g) > c;
            passed += fabs(g) <= c && g != 0;
        }
    }
    /* the gradient into h_{t-1} (step 1's h) is step 2's clamped gradient through relu and W_h */
    bp_node *h1 = tr->h[0][1], *cell2 = tr->h[0][2]->in[0];
    for (int r = 0; r < 2; r++)
        for (int a = 0; a < 4; a++) {
            double want = 0;
            for (int m = 0; m < 4; m++) /* d(h1 W_h)/dh1 = W_h^T; relu' = [cell > 0] */
                want += (cell2->value[r * 4 + m] > 0) * cell2->grad[r * 4 + m] * Wh->value[a * 4 + m];
            cr_expect(fabs(h1->grad[r * 4 + a] - want) <= 1e-12, "dL/dh_1[%d][%d] %g, want %g", r,
                      a, h1->grad[r * 4 + a], want);
        }
    cr_expect_geq(clamped, 4, "too few clamped elements (%d) to test anything", clamped);
    cr_expect_geq(passed, 2, "no element passed unclamped");
    bp_tape_free(t);
    fx_free(&f);
}

/* ---------------------------------------------------------------- IRNN */

/* relu, W_h = I, W_x = 0, b = 0 and zero input: h_t = relu(h_{t-1}) = h_{t-1} for a
 * non-negative state, so it is copied unchanged through any number of steps. */
Test(bptt, irnn_copies_a_non_negative_state_unchanged)
{
    const int T = 300, H = 8, Bn = 4;
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, H);
    l.act = BP_ACT_RELU;
    l.init = BP_INIT_IDENTITY;
    fixture f;
    fx_net(&f, &l, 1, 2, false, BP_HEAD_LAST, 1, 0, 41);
    bp_node *Wx = param(&f, "rnn0.W_x"), *Wh = param(&f, "rnn0.W_h"), *b = param(&f, "rnn0.b");
    for (int i = 0; i < H; i++)
        for (int j = 0; j < H; j++)
            cr_assert_eq(Wh->value[i * H + j], (bp_real)(i == j));
    for (size_t i = 0; i < b->size; i++)
        cr_assert_eq(b->value[i], 0);
    memset(Wx->value, 0, Wx->size * sizeof(bp_real));
    bp_error err;
    f.batch = bp_batch_new(Bn, T, 2, false, BP_TARGET_VALUES, 1, &err); /* x = 0 */
    bp_net_state *s = bp_net_state_new(f.net, Bn, &err);
    bp_real h0[32];
    bp_rng rng;
    bp_rng_seed(&rng, 42);
    for (int i = 0; i < Bn * H; i++)
        h0[i] = bp_net_state_h(s, 0)[i] = (bp_real)(i % 5 == 0 ? 0 : 3 * bp_rng_uniform(&rng));
    bp_tape *t = bp_tape_new();
    cr_assert_not_null(bp_net_forward(f.net, t, f.batch, 0, T, s));
    const bp_trace *tr = bp_net_trace(f.net);
    for (int k = 0; k < T; k++)
        for (int i = 0; i < Bn * H; i++)
            cr_assert_eq(tr->h[0][k]->value[i], h0[i], "step %d element %d", k, i);
    for (int i = 0; i < Bn * H; i++)
        cr_expect_eq(bp_net_state_h(s, 0)[i], h0[i]);
    bp_tape_free(t);
    bp_net_state_free(s);
    fx_free(&f);
}

/* ---------------------------------------------------------------- PyTorch's equations */

static double sig(double x) { return 1 / (1 + exp(-x)); }

/* row r of x (B, n) times W (n, m), column j */
static double dot(const bp_real *x, int r, int n, const bp_real *W, int m, int j)
{
    double s = 0;
    for (int c = 0; c < n; c++)
        s += x[r * n + c] * W[c * m + j];
    return s;
}

Test(bptt, lstm_follows_pytorch_equations_and_gate_order)
{
    enum { H = 3, IN = 2, T = 4, R = 2 };
    bp_layer_spec l = fx_layer(BP_LAYER_LSTM, H);
    fixture f;
    fx_net(&f, &l, 1, IN, false, BP_HEAD_LAST, 1, 0, 51);
    fx_batch(&f, R, T, BP_TARGET_VALUES, 52);
    bp_node *Wx = param(&f, "lstm0.W_x"), *Wh = param(&f, "lstm0.W_h"), *b = param(&f, "lstm0.b");
    cr_assert_eq(Wx->shape.dim[1], 4 * H);
    bp_tape *t = bp_tape_new();
    cr_assert_not_null(bp_net_forward(f.net, t, f.batch, 0, T, NULL));
    const bp_trace *tr = bp_net_trace(f.net);
    bp_real h[R * H] = {0}, c[R * H] = {0}, x[R * IN];
    for (int k = 0; k < T; k++) {
        bp_batch_step(f.batch, k, x);
        bp_real hn[R * H], cn[R * H];
        for (int r = 0; r < R; r++)
            for (int j = 0; j < H; j++) {
                double z[4];
                for (int g = 0; g < 4; g++) /* blocks i, f, g, o */
                    z[g] = dot(x, r, IN, Wx->value, 4 * H, g * H + j) +
                           dot(h, r, H, Wh->value, 4 * H, g * H + j) + b->value[g * H + j];
                double ig = sig(z[0]), fg = sig(z[1]), gg = tanh(z[2]), og = sig(z[3]);
                cn[r * H + j] = (bp_real)(fg * c[r * H + j] + ig * gg);
                hn[r * H + j] = (bp_real)(og * tanh(cn[r * H + j]));
            }
        memcpy(h, hn, sizeof h);
        memcpy(c, cn, sizeof c);
        for (int i = 0; i < R * H; i++)
            cr_expect(fabs(tr->h[0][k]->value[i] - h[i]) < 1e-14, "step %d h[%d] %g, want %g", k,
                      i, tr->h[0][k]->value[i], h[i]);
    }
    bp_tape_free(t);
    fx_free(&f);
}

Test(bptt, gru_follows_pytorch_equations_and_gate_order)
{
    enum { H = 3, IN = 2, T = 4, R = 2 };
    bp_layer_spec l = fx_layer(BP_LAYER_GRU, H);
    fixture f;
    fx_net(&f, &l, 1, IN, false, BP_HEAD_LAST, 1, 0, 61);
    fx_batch(&f, R, T, BP_TARGET_VALUES, 62);
    bp_node *Wx = param(&f, "gru0.W_x"), *Wh = param(&f, "gru0.W_h"), *bx = param(&f, "gru0.b_x"),
            *bh = param(&f, "gru0.b_h");
    bp_tape *t = bp_tape_new();
    cr_assert_not_null(bp_net_forward(f.net, t, f.batch, 0, T, NULL));
    const bp_trace *tr = bp_net_trace(f.net);
    bp_real h[R * H] = {0}, x[R * IN];
    for (int k = 0; k < T; k++) {
        bp_batch_step(f.batch, k, x);
        bp_real hn[R * H];
        for (int r = 0; r < R; r++)
            for (int j = 0; j < H; j++) {
                double a[3], u[3];
                for (int g = 0; g < 3; g++) { /* blocks r, z, n */
                    a[g] = dot(x, r, IN, Wx->value, 3 * H, g * H + j) + bx->value[g * H + j];
                    u[g] = dot(h, r, H, Wh->value, 3 * H, g * H + j) + bh->value[g * H + j];
                }
                double rg = sig(a[0] + u[0]), zg = sig(a[1] + u[1]);
                double ng = tanh(a[2] + rg * u[2]);
                hn[r * H + j] = (bp_real)((1 - zg) * ng + zg * h[r * H + j]);
            }
        memcpy(h, hn, sizeof h);
        for (int i = 0; i < R * H; i++)
            cr_expect(fabs(tr->h[0][k]->value[i] - h[i]) < 1e-14, "step %d h[%d] %g, want %g", k,
                      i, tr->h[0][k]->value[i], h[i]);
    }
    bp_tape_free(t);
    fx_free(&f);
}

/* ---------------------------------------------------------------- truncated BPTT */

/* Chunks carry the state's value: the chunks' losses and final state equal one
 * forward over the whole sequence; evaluation in chunks gives the same numbers. */
Test(bptt, chunks_carry_the_state_value)
{
    bp_layer_spec l[2] = {fx_layer(BP_LAYER_LSTM, 4), fx_layer(BP_LAYER_GRU, 3)};
    fixture f, g;
    fx_net(&f, l, 2, 2, false, BP_HEAD_SEQ, 3, 0, 71);
    fx_net(&g, l, 2, 2, false, BP_HEAD_SEQ, 3, 3, 71); /* same parameters, chunks of 3 */
    fx_batch(&f, 2, 8, BP_TARGET_CLASS_SEQ, 72);
    bp_error err;
    bp_net_state *whole = bp_net_state_new(f.net, 2, &err), *part = bp_net_state_new(g.net, 2, &err);
    bp_tape *t = bp_tape_new();
    bp_node *loss = bp_net_forward(f.net, t, f.batch, 0, 8, whole);
    cr_assert_not_null(loss);
    double full = loss->value[0], sum = 0;
    for (int t0 = 0; t0 < 8; t0 += 3) {
        int t1 = t0 + 3 < 8 ? t0 + 3 : 8;
        bp_tape_reset(t);
        bp_node *cl = bp_net_forward(g.net, t, f.batch, t0, t1, part);
        cr_assert_not_null(cl, "%s", bp_tape_error(t)->msg);
        sum += cl->value[0] * (t1 - t0);
    }
    cr_expect(fabs(sum / 8 - full) < 1e-13, "chunks %.15g, whole %.15g", sum / 8, full);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 2 * (r ? 3 : 4); i++) /* B x H of each layer */
            cr_expect(fabs(bp_net_state_h(whole, r)[i] - bp_net_state_h(part, r)[i]) < 1e-14);
    for (int i = 0; i < 8; i++)
        cr_expect(fabs(bp_net_state_c(whole, 0)[i] - bp_net_state_c(part, 0)[i]) < 1e-14);
    cr_expect_null(bp_net_state_c(whole, 1));
    bp_net_eval e1, e2;
    cr_assert_eq(bp_net_evaluate(f.net, t, f.batch, &e1, &err), BP_OK, "%s", err.msg);
    cr_assert_eq(bp_net_evaluate(g.net, t, f.batch, &e2, &err), BP_OK, "%s", err.msg);
    cr_expect(fabs(e1.loss - full) < 1e-13);
    cr_expect(fabs(e2.loss - full) < 1e-13);
    cr_expect_eq(e1.metric, e2.metric);
    cr_expect_str_eq(e1.metric_name, "accuracy");
    bp_tape_free(t);
    bp_net_state_free(whole);
    bp_net_state_free(part);
    g.batch = NULL;
    fx_free(&g);
    fx_free(&f);
}

/* No gradient crosses a chunk boundary: the first chunk's parameters' gradient from
 * the second chunk's loss flows only through that chunk's own steps. */
Test(bptt, no_gradient_reaches_the_previous_chunk)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 3);
    fixture f;
    fx_net(&f, &l, 1, 2, false, BP_HEAD_LAST, 1, 2, 81);
    fx_batch(&f, 2, 4, BP_TARGET_VALUES, 82);
    bp_error err;
    bp_net_state *s = bp_net_state_new(f.net, 2, &err);
    bp_tape *t = bp_tape_new();
    bp_node *l1 = bp_net_forward(f.net, t, f.batch, 0, 2, s);
    cr_assert_not_null(l1);
    cr_expect_eq(l1->value[0], 0, "no target in the first chunk of a seq-to-one head");
    cr_expect_not(l1->requires_grad);
    int n1 = bp_tape_len(t);
    bp_node *l2 = bp_net_forward(f.net, t, f.batch, 2, 4, s); /* same tape, on purpose */
    cr_assert_not_null(l2);
    cr_assert_eq(bp_backward(t, l2, &err), BP_OK);
    const bp_trace *tr = bp_net_trace(f.net);
    cr_expect_not(tr->h0[0]->requires_grad);
    /* the first chunk's nodes were not reached */
    for (int i = 0; i < n1; i++)
        cr_expect_not(bp_tape_node(t, i)->reached, "node %d of the first chunk got a gradient", i);
    bp_tape_free(t);
    bp_net_state_free(s);
    fx_free(&f);
}

/* ---------------------------------------------------------------- evaluation */

Test(bptt, evaluate_reports_accuracy_and_mse)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 4);
    fixture f;
    fx_net(&f, &l, 1, 2, false, BP_HEAD_LAST, 3, 0, 91);
    fx_batch(&f, 5, 3, BP_TARGET_CLASS_LAST, 92);
    bp_tape *t = bp_tape_new();
    bp_net_eval e;
    bp_error err;
    cr_assert_eq(bp_net_evaluate(f.net, t, f.batch, &e, &err), BP_OK, "%s", err.msg);
    const bp_node *z = bp_net_trace(f.net)->logits[2];
    int correct = 0;
    for (int r = 0; r < 5; r++) {
        int best = 0;
        for (int c = 1; c < 3; c++)
            best = z->value[r * 3 + c] > z->value[r * 3 + best] ? c : best;
        correct += best == (int)f.batch->y[r];
    }
    cr_expect_float_eq(e.metric, correct / 5.0, 1e-15);
    cr_expect_str_eq(e.metric_name, "accuracy");
    fx_free(&f);
    fx_net(&f, &l, 1, 2, false, BP_HEAD_LAST, 2, 0, 93);
    fx_batch(&f, 5, 3, BP_TARGET_VALUES, 94);
    cr_assert_eq(bp_net_evaluate(f.net, t, f.batch, &e, &err), BP_OK, "%s", err.msg);
    cr_expect_str_eq(e.metric_name, "mse");
    cr_expect_eq(e.metric, e.loss);
    cr_expect_gt(e.loss, 0);
    bp_tape_free(t);
    fx_free(&f);
}

/* ---------------------------------------------------------------- the lecture's story */

/* ||dL/dh_k|| over k, from the trace after backward, for a one-layer rnn over T steps. */
static void grad_norms(const bp_layer_spec *l, int T, double bias, double *norm)
{
    fixture f;
    fx_net(&f, l, 1, 2, false, BP_HEAD_LAST, 1, 0, 101);
    fx_batch(&f, 4, T, BP_TARGET_VALUES, 102);
    if (bias != 0) {
        bp_node *b = param(&f, "rnn0.b");
        for (size_t i = 0; i < b->size; i++)
            b->value[i] = (bp_real)bias;
    }
    bp_tape *t = bp_tape_new();
    bp_node *loss = bp_net_forward(f.net, t, f.batch, 0, T, NULL);
    bp_error err;
    cr_assert_eq(bp_backward(t, loss, &err), BP_OK);
    const bp_trace *tr = bp_net_trace(f.net);
    for (int k = 0; k < T; k++) {
        double s = 0;
        for (size_t i = 0; i < tr->h[0][k]->size; i++)
            s += tr->h[0][k]->grad[i] * tr->h[0][k]->grad[i];
        norm[k] = sqrt(s);
    }
    bp_tape_free(t);
    fx_free(&f);
}

/* The lecture: products of dh_j/dh_{j-1} below 1 make far steps' gradients vanish;
 * the IRNN's identity keeps them; above 1 they explode; clip_grad bounds them. */
Test(bptt, gradients_vanish_hold_and_explode_as_the_lecture_says)
{
    enum { T = 30 };
    double n[T];
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 16);
    l.spectral_radius = 0.5; /* tanh, rho 0.5 */
    grad_norms(&l, T, 0, n);
    cr_expect_lt(n[0] / n[T - 1], 1e-4, "vanishing: ratio %g", n[0] / n[T - 1]);
    l = fx_layer(BP_LAYER_RNN, 16); /* IRNN with a positive bias: every relu open, J = I */
    l.act = BP_ACT_RELU;
    l.init = BP_INIT_IDENTITY;
    grad_norms(&l, T, 0.1, n);
    for (int k = 0; k < T; k++)
        cr_expect(fabs(n[k] / n[T - 1] - 1) < 1e-12, "irnn: step %d ratio %.15g", k,
                  n[k] / n[T - 1]);
    l.init_gain = 1.2; /* J = 1.2 I: the gradient grows 1.2 per step back */
    grad_norms(&l, T, 0.1, n);
    cr_expect(fabs(n[0] / n[T - 1] / pow(1.2, T - 1) - 1) < 1e-9, "exploding: ratio %g, want %g",
              n[0] / n[T - 1], pow(1.2, T - 1));
    l.clip_grad = 1e-3; /* below the loss's own gradient: clamped at every step */
    grad_norms(&l, T, 0.1, n);
    /* dL/dh_k = clamp(dL/dh_{k+1}) 1.2 I for k < T - 1, elementwise at most 1.2 c */
    cr_expect_gt(n[T - 1], 1);
    for (int k = 0; k < T - 1; k++)
        cr_expect_leq(n[k], 1.2 * 1e-3 * sqrt(4 * 16) * (1 + 1e-12), "clipped: step %d norm %g", k,
                      n[k]);
}
