/* test_defer_cases.h — deferred weight gradients (bp_tape_set_defer): a parameter's
 * gradient summed in one product per group of steps equals the per-step sum, to
 * DEFER_TOL of the parameter's largest element (test_defer.c: double, 1e-12;
 * test_f32_defer.c: float), for every layer kind and a graph cell, with truncated
 * chunks, recomputation and grads kept or released; recomputation gives the deferred
 * plain gradients bit for bit (the terms are held across segments); batches of
 * BP_DEFER_MAX_ROWS rows or more are not deferred (bit for bit the per-step sum). */
#ifndef TEST_DEFER_CASES_H
#define TEST_DEFER_CASES_H

#include "test_layers_util.h"

#include <math.h>
#include <stdlib.h>

/* Every parameter's grad after plain BPTT (k = 0) or recomputation with segments of k,
 * over chunks of `chunk` steps (0: whole), deferral on or off. */
static bp_real *grads(fixture *f, bool defer, int chunk, int k, bool keep)
{
    const bp_batch *b = f->batch;
    int T = b->T, K = chunk ? chunk : T;
    bp_error err = {0};
    bp_tape *t = bp_tape_new();
    bp_net_state *st = bp_net_state_new(f->net, b->B, &err);
    cr_assert(t && st, "%s", err.msg);
    bp_tape_set_keep_grads(t, keep);
    bp_tape_set_defer(t, defer);
    bp_params_zero_grad(f->params);
    for (int t0 = 0; t0 < T; t0 += K) {
        int t1 = t0 + K < T ? t0 + K : T;
        bp_real w = 1;
        double l;
        if (!k) {
            bp_tape_reset(t);
            bp_node *loss = bp_net_forward(f->net, t, b, t0, t1, st);
            cr_assert_not_null(loss, "%s", bp_tape_error(t)->msg);
            cr_assert_eq(bp_backward_seed(t, loss, &w, &err), BP_OK, "%s", err.msg);
        } else {
            cr_assert_eq(bp_net_backward_recompute(f->net, t, b, t0, t1, st, k, w, &l, &err),
                         BP_OK, "%s", err.msg);
        }
    }
    bp_real *g = malloc(bp_params_elements(f->params) * sizeof(bp_real));
    cr_assert_not_null(g);
    for (int i = 0, off = 0; i < bp_params_count(f->params); i++) {
        bp_node *p = bp_params_at(f->params, i);
        memcpy(g + off, p->grad, p->size * sizeof(bp_real));
        off += (int)p->size;
    }
    bp_net_state_free(st);
    bp_tape_free(t);
    return g;
}

/* The largest |x - ref| over a parameter, relative to its largest |ref|; the worst over
 * all parameters. */
static double worst_diff(fixture *f, const bp_real *x, const bp_real *ref)
{
    double worst = 0;
    for (int i = 0, off = 0; i < bp_params_count(f->params); i++) {
        size_t n = bp_params_at(f->params, i)->size;
        double scale = 0, d = 0;
        for (size_t j = 0; j < n; j++) {
            scale = fmax(scale, fabs((double)ref[off + j]));
            d = fmax(d, fabs((double)x[off + j] - (double)ref[off + j]));
        }
        worst = fmax(worst, scale > 0 ? d / scale : d);
        off += (int)n;
    }
    return worst;
}

/* Deferred against per-step for plain BPTT and each k of ks (0-terminated), grads kept
 * and released; recomputed against deferred plain bit for bit. */
static void check_defer(fixture *f, int chunk, const int *ks, const char *what)
{
    size_t n = bp_params_elements(f->params);
    for (int keep = 0; keep < 2; keep++) {
        bp_real *ref = grads(f, false, chunk, 0, keep), *d = grads(f, true, chunk, 0, keep);
        double e = worst_diff(f, d, ref);
        cr_expect_leq(e, DEFER_TOL, "%s: deferred differs from per-step by %.3g", what, e);
        cr_expect(memcmp(d, ref, n * sizeof(bp_real)) != 0,
                  "%s: nothing was deferred (the same bits as per step)", what);
        for (const int *k = ks; *k; k++) {
            bp_real *r = grads(f, true, chunk, *k, keep);
            cr_expect(memcmp(r, d, n * sizeof(bp_real)) == 0,
                      "%s, k = %d: recomputed deferred grads differ from plain", what, *k);
            free(r);
        }
        free(ref);
        free(d);
    }
}

/* 40 steps of batch 3: W_h's terms (3 rows each) make groups of 21 steps (64 rows), so
 * groups cross every segment length here */
static const int ks_40[] = {1, 3, 7, BP_RECOMPUTE_SQRT, 40, 0};

static void one_layer(bp_layer_spec l, bp_head_kind head, int in, int B, int T, int chunk,
                      const char *what)
{
    fixture f;
    bool seq = head == BP_HEAD_SEQ;
    fx_net(&f, &l, 1, in, seq, head, seq ? 4 : 2, chunk, 7);
    fx_batch(&f, B, T, seq ? BP_TARGET_CLASS_SEQ : BP_TARGET_VALUES, 8);
    check_defer(&f, chunk, ks_40, what);
    fx_free(&f);
}

Test(defer, rnn)
{
    one_layer(fx_layer(BP_LAYER_RNN, 5), BP_HEAD_LAST, 3, 3, 40, 0, "rnn");
}

Test(defer, lstm_and_truncated_chunks)
{
    one_layer(fx_layer(BP_LAYER_LSTM, 4), BP_HEAD_LAST, 3, 3, 40, 0, "lstm");
    one_layer(fx_layer(BP_LAYER_LSTM, 4), BP_HEAD_LAST, 3, 3, 40, 16, "lstm, chunks of 16");
}

Test(defer, gru_seq_head)
{
    one_layer(fx_layer(BP_LAYER_GRU, 4), BP_HEAD_SEQ, 5, 2, 40, 0, "gru, seq head");
}

/* A graph cell, every product per step (x_t W_x too), under an rnn:
 *   g = tanh(x W_x + h W_h + b);  c' = 0.5 c + g;  h' = tanh(c') * g */
Test(defer, graph_cell)
{
    bp_cell_spec cell = fx_two_state_cell();
    bp_layer_spec l = fx_layer(BP_LAYER_CELL, 4);
    l.cell = &cell;
    bp_layer_spec stack[2] = {l, fx_layer(BP_LAYER_RNN, 3)};
    for (int chunk = 0; chunk <= 9; chunk += 9) { /* whole, then chunks of 9 */
        fixture f;
        fx_net(&f, stack, 2, 3, false, BP_HEAD_LAST, 2, chunk, 41 + (uint64_t)chunk);
        fx_batch(&f, 3, 40, BP_TARGET_VALUES, 42 + (uint64_t)chunk);
        check_defer(&f, chunk, ks_40, chunk ? "graph cell, chunks of 9" : "graph cell");
        fx_free(&f);
    }
}

/* The size rule: terms of BP_DEFER_MAX_ROWS rows are made at once, as per step. */
Test(defer, large_batches_are_not_deferred)
{
    fixture f;
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 5);
    fx_net(&f, &l, 1, 3, false, BP_HEAD_LAST, 2, 0, 9);
    fx_batch(&f, BP_DEFER_MAX_ROWS, 12, BP_TARGET_VALUES, 10);
    bp_real *ref = grads(&f, false, 0, 0, false), *d = grads(&f, true, 0, 0, false);
    cr_expect(memcmp(d, ref, bp_params_elements(f.params) * sizeof(bp_real)) == 0);
    free(ref);
    free(d);
    fx_free(&f);
}

/* dA of C = A W, W a parameter, is made with W transposed once per walk: the copy must
 * follow W's value from one walk to the next on the same tape (and a non-square W). */
Test(defer, the_transposed_weight_follows_its_value)
{
    enum { M = 2, K = 3, N = 5 };
    bp_rng rng;
    bp_rng_seed(&rng, 4);
    bp_error err = {0};
    bp_tape *t = bp_tape_new();
    bp_node *W = bp_leaf_new(bp_shape2(K, N), true, &err);
    cr_assert(t && W, "%s", err.msg);
    bp_real c[M * N];
    bp_fill_uniform(c, M * N, -1, 1, &rng);
    for (int walk = 0; walk < 3; walk++) {
        bp_fill_uniform(W->value, W->size, -1, 1, &rng); /* a new value each walk */
        bp_tape_reset(t);
        bp_node *A = bp_tape_input(t, bp_shape2(M, K), NULL, true);
        bp_node *C = bp_tape_input(t, bp_shape2(M, N), c, false);
        cr_assert_not_null(A);
        bp_fill_uniform(A->value, A->size, -1, 1, &rng);
        /* L = sum((A W) * C): dA = C Wᵀ, used twice so that the copy is read again */
        bp_node *AW = bp_matmul(t, A, W);
        bp_node *L = bp_add(t, bp_sum(t, bp_mul(t, AW, C)),
                            bp_sum(t, bp_mul(t, bp_matmul(t, A, W), C)));
        cr_assert_not_null(L, "%s", bp_tape_error(t)->msg);
        cr_assert_eq(bp_backward(t, L, &err), BP_OK, "%s", err.msg);
        for (int m = 0; m < M; m++)
            for (int k = 0; k < K; k++) {
                double want = 0;
                for (int n = 0; n < N; n++)
                    want += 2.0 * c[m * N + n] * W->value[k * N + n];
                cr_expect(fabs(A->grad[m * K + k] - want) <= 10 * DEFER_TOL,
                          "walk %d: dA[%d][%d] is %g, C Wᵀ gives %g", walk, m, k,
                          (double)A->grad[m * K + k], want);
            }
    }
    bp_leaf_free(W);
    bp_tape_free(t);
}

/* C = A W at two rows or more is made on W packed once (bp_panel_times): the copy must
 * follow W's value across a walk (after which an optimizer steps) and a reset, on the
 * same tape, and a non-square W. */
Test(defer, the_packed_weight_follows_its_value)
{
    enum { M = 3, K = 4, N = 37 };
    bp_rng rng;
    bp_rng_seed(&rng, 5);
    bp_error err = {0};
    bp_tape *t = bp_tape_new();
    bp_node *W = bp_leaf_new(bp_shape2(K, N), true, &err);
    cr_assert(t && W, "%s", err.msg);
    for (int round = 0; round < 4; round++) {
        bp_fill_uniform(W->value, W->size, -1, 1, &rng); /* a new value each round */
        if (round == 2)
            bp_tape_reset(t); /* rounds 1 and 3 follow a walk on the same tape, 2 a reset */
        bp_node *A = bp_tape_input(t, bp_shape2(M, K), NULL, true);
        cr_assert_not_null(A, "%s", bp_tape_error(t)->msg);
        bp_fill_uniform(A->value, A->size, -1, 1, &rng);
        bp_node *C = bp_matmul(t, A, W), *C2 = bp_matmul(t, A, W); /* the copy read twice */
        cr_assert(C && C2, "%s", bp_tape_error(t)->msg);
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double want = 0;
                for (int k = 0; k < K; k++)
                    want += (double)A->value[m * K + k] * W->value[k * N + n];
                cr_expect(fabs(C->value[m * N + n] - want) <= 10 * DEFER_TOL &&
                              C2->value[m * N + n] == C->value[m * N + n],
                          "round %d: C[%d][%d] is %g, A W gives %g", round, m, n,
                          (double)C->value[m * N + n], want);
            }
        cr_assert_eq(bp_backward(t, bp_sum(t, bp_add(t, C, C2)), &err), BP_OK, "%s", err.msg);
    }
    bp_leaf_free(W);
    bp_tape_free(t);
}

#endif
