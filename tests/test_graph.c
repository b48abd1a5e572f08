/* test_graph.c — the tape, the arena, parameters, the RNG and the checker itself. */
#include "bptt_ops.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

Test(tape, a_value_used_twice_gets_the_sum_of_its_gradients)
{
    bp_tape *t = bp_tape_new();
    bp_node *x = bp_leaf_new(bp_shape2(1, 3), true, NULL);
    for (int i = 0; i < 3; i++)
        x->value[i] = (bp_real)(i + 1);
    /* L = sum(x * x + x) -> dL/dx = 2x + 1 */
    bp_node *loss = bp_sum(t, bp_add(t, bp_mul(t, x, x), x));
    cr_assert_not_null(loss);
    cr_assert_eq(bp_backward(t, loss, NULL), BP_OK);
    for (int i = 0; i < 3; i++)
        cr_expect_float_eq(x->grad[i], 2 * x->value[i] + 1, 1e-12);
    /* leaves accumulate across passes until zeroed, as parameters must */
    bp_tape_reset(t);
    loss = bp_sum(t, x);
    cr_assert_eq(bp_backward(t, loss, NULL), BP_OK);
    cr_expect_float_eq(x->grad[0], 2 * 1 + 1 + 1, 1e-12);
    bp_leaf_free(x);
    bp_tape_free(t);
}

/* A grad that an op writes whole (bp_op.grad_assign) is not cleared: its first writer
 * in the walk stores, every later one adds. h feeds a mul (adds), a matmul (dA stores
 * when first) and an rnn_tanh (drec stores when first), recorded in both orders. */
Test(tape, a_gradient_stored_by_its_first_writer_is_added_to_by_the_rest)
{
    enum { M = 2, K = 3 };
    for (int order = 0; order < 2; order++) {
        bp_tape *t = bp_tape_new();
        bp_node *W = bp_leaf_new(bp_shape2(K, K), true, NULL);
        bp_node *bias = bp_leaf_new(bp_shape1(K), true, NULL);
        bp_node *x = bp_tape_input(t, bp_shape2(M, K), NULL, true);
        bp_node *z = bp_tape_input(t, bp_shape2(M, K), NULL, false);
        bp_node *c = bp_tape_input(t, bp_shape2(M, K), NULL, false);
        cr_assert(W && bias && x && z && c);
        for (int i = 0; i < M * K; i++) {
            x->value[i] = (bp_real)(0.1 * i - 0.2);
            z->value[i] = (bp_real)(0.05 * i);
            c->value[i] = (bp_real)(1 + i);
        }
        for (int i = 0; i < K * K; i++)
            W->value[i] = (bp_real)(0.3 * i - 1);
        bp_node *h = bp_scale(t, x, 1); /* an op node: its grad is the tape's */
        bp_node *m = bp_sum(t, bp_mul(t, h, c)), *u, *v;
        if (order == 0) {
            u = bp_matmul(t, h, W);
            v = bp_rnn_tanh(t, z, h, bias);
        } else {
            v = bp_rnn_tanh(t, z, h, bias);
            u = bp_matmul(t, h, W);
        }
        bp_node *L = bp_add(t, m, bp_add(t, bp_sum(t, u), bp_sum(t, v)));
        cr_assert_not_null(L);
        cr_assert_eq(bp_backward(t, L, NULL), BP_OK);
        for (int i = 0; i < M; i++)
            for (int k = 0; k < K; k++) {
                double want = c->value[i * K + k] + 1 - v->value[i * K + k] * v->value[i * K + k];
                for (int n = 0; n < K; n++)
                    want += W->value[k * K + n]; /* d sum(h W) / dh = rows of W summed */
                cr_expect_float_eq(x->grad[i * K + k], want, 1e-5, "order %d, x[%d][%d]", order,
                                   i, k);
            }
        bp_leaf_free(W);
        bp_leaf_free(bias);
        bp_tape_free(t);
    }
}

/* An op may not store into a gradient that another of its inputs also reaches: in
 * rnn_tanh(z, h, h) and rnn_tanh(z, h, rows(h)) the bias's term is added first, so h's
 * gradient must be cleared, not left for the rec input to store over. */
Test(tape, a_gradient_two_inputs_of_one_op_share_is_cleared_not_stored)
{
    enum { H = 5 };
    for (int view = 0; view < 2; view++) {
        int B = view ? 2 : 1;
        bp_tape *t = bp_tape_new();
        bp_node *x = bp_tape_input(t, bp_shape2(B, H), NULL, true);
        bp_node *z = bp_tape_input(t, bp_shape2(B, H), NULL, false);
        cr_assert(x && z);
        for (int i = 0; i < B * H; i++) {
            x->value[i] = (bp_real)(0.1 * i - 0.2);
            z->value[i] = (bp_real)(0.05 * i);
        }
        bp_node *h = bp_scale(t, x, 1);
        bp_node *v = bp_rnn_tanh(t, z, h, view ? bp_rows(t, h, 0, 1) : h);
        bp_node *L = bp_sum(t, v);
        cr_assert_not_null(L, "%s", bp_tape_error(t)->msg);
        cr_assert_eq(bp_backward(t, L, NULL), BP_OK);
        for (int j = 0; j < H; j++) {
            double d0 = 1 - v->value[j] * v->value[j], bias = d0;
            if (view)
                bias += 1 - v->value[H + j] * v->value[H + j]; /* db sums the batch */
            cr_expect_float_eq(x->grad[j], d0 + bias, 1e-5, "view %d, x[0][%d]", view, j);
            if (view)
                cr_expect_float_eq(x->grad[H + j], 1 - v->value[H + j] * v->value[H + j], 1e-5,
                                   "x[1][%d]", j);
        }
        bp_tape_free(t);
    }
}

static bp_real calls_sentinel;
static void counting_backward(bp_node *n)
{
    calls_sentinel += 1;
    bp_op_tanh.backward(n);
}

Test(tape, backward_skips_nodes_the_output_does_not_depend_on)
{
    bp_op counted = bp_op_tanh;
    counted.backward = counting_backward;
    bp_tape *t = bp_tape_new();
    bp_node *x = bp_leaf_new(bp_shape2(2, 2), true, NULL);
    bp_node *unused = bp_apply(t, &counted, (bp_node *[]){x}, NULL);
    bp_node *used = bp_apply(t, &counted, (bp_node *[]){x}, NULL);
    cr_assert_not_null(unused);
    calls_sentinel = 0;
    cr_assert_eq(bp_backward(t, bp_sum(t, used), NULL), BP_OK);
    cr_expect_eq(calls_sentinel, 1);
    bp_leaf_free(x);
    bp_tape_free(t);
}

Test(tape, constants_take_no_gradient)
{
    bp_tape *t = bp_tape_new();
    bp_node *c = bp_tape_input(t, bp_shape2(2, 2), NULL, false);
    bp_node *y = bp_tanh(t, c);
    cr_expect_not(y->requires_grad);
    cr_expect_eq(bp_backward(t, bp_sum(t, y), NULL), BP_OK); /* a no-op, not an error */
    bp_node *x = bp_tape_input(t, bp_shape2(2, 2), (bp_real[]){1, 2, 3, 4}, true);
    bp_node *loss = bp_sum(t, bp_scale(t, x, 3));
    cr_assert_eq(bp_backward(t, loss, NULL), BP_OK);
    for (int i = 0; i < 4; i++)
        cr_expect_float_eq(x->grad[i], 3, 1e-12);
    bp_tape_free(t);
}

Test(tape, backward_needs_a_scalar_on_this_tape)
{
    bp_tape *t = bp_tape_new(), *other = bp_tape_new();
    bp_node *x = bp_tape_input(t, bp_shape2(2, 2), NULL, true);
    bp_error err;
    cr_expect_eq(bp_backward(t, bp_tanh(t, x), &err), BP_ERR_SHAPE);
    cr_expect(strstr(err.msg, "must be a scalar, not [2, 2]"), "%s", err.msg);
    bp_node *y = bp_sum(other, bp_tape_input(other, bp_shape1(3), NULL, true));
    bp_node *z = bp_sum(t, x);
    (void)z;
    cr_expect_eq(bp_backward(t, y, &err), BP_ERR_VALUE, "a node of another tape");
    bp_tape_free(t);
    bp_tape_free(other);
}

Test(tape, reset_rewinds_and_a_fixed_graph_stops_growing_the_arena)
{
    bp_tape *t = bp_tape_new();
    bp_node *w = bp_leaf_new(bp_shape2(64, 64), true, NULL);
    size_t first = 0;
    for (int cycle = 0; cycle < 50; cycle++) {
        bp_tape_reset(t);
        cr_expect_eq(bp_tape_len(t), 0);
        bp_node *h = bp_tape_input(t, bp_shape2(32, 64), NULL, false);
        for (int k = 0; k < 40; k++) /* 40 x (32x64 values + grads): needs several blocks */
            h = bp_tanh(t, bp_matmul(t, h, w));
        cr_assert_eq(bp_backward(t, bp_mean(t, h), NULL), BP_OK);
        if (cycle == 1)
            first = bp_tape_arena_bytes(t);
        if (cycle > 1)
            cr_expect_eq(bp_tape_arena_bytes(t), first, "cycle %d grew the arena", cycle);
    }
    cr_expect_gt(first, (size_t)1 << 20, "the test should outgrow the first block");
    bp_leaf_free(w);
    bp_tape_free(t);
}

Test(tape, bad_values_met_by_a_forward_become_errors)
{
    bp_tape *t = bp_tape_new();
    bp_node *z = bp_tape_input(t, bp_shape2(2, 3), NULL, true);
    bp_node *y = bp_tape_input(t, bp_shape1(2), (bp_real[]){1, 3}, false);
    cr_expect_null(bp_softmax_xent(t, z, y));
    cr_assert_not_null(bp_tape_error(t));
    cr_expect_str_eq(bp_tape_error(t)->msg,
                     "softmax_xent: target 3 in row 1 is not a class in [0, 3)");
    bp_tape_reset(t);
    bp_node *x = bp_tape_input(t, bp_shape2(2, 3), NULL, true);
    cr_expect_null(bp_slice(t, x, 2, 2));
    cr_expect(strstr(bp_tape_error(t)->msg, "slice: begin 2, len 2 do not fit the 3 features"),
              "%s", bp_tape_error(t)->msg);
    bp_tape_reset(t);
    x = bp_tape_input(t, bp_shape2(2, 3), NULL, true);
    cr_expect_null(bp_clip_grad(t, x, 0));
    cr_expect(strstr(bp_tape_error(t)->msg, "clip_grad: the clip threshold c must be > 0"));
    bp_tape_free(t);
}

Test(shape, sizes_that_cannot_fit_are_refused_before_allocating)
{
    bp_error err;
    cr_expect_eq(bp_shape_check(bp_shape2(1000000, 1000000), &err), BP_ERR_NOMEM);
    cr_expect(strstr(err.msg, "too large"), "%s", err.msg);
    cr_expect_eq(bp_shape_check(bp_shape2(3, 0), &err), BP_ERR_SHAPE);
    cr_expect_eq(bp_shape_check((bp_shape){0, {0}}, &err), BP_ERR_SHAPE);
    cr_expect_null(bp_leaf_new(bp_shape2(-1, 4), true, &err));
    bp_tape *t = bp_tape_new();
    cr_expect_null(bp_tape_input(t, bp_shape2(1 << 20, 1 << 20), NULL, false));
    cr_expect(strstr(bp_tape_error(t)->msg, "too large"));
    bp_tape_free(t);
}

Test(params, names_are_unique_and_grads_zero)
{
    bp_params *p = bp_params_new();
    bp_error err;
    bp_node *w = bp_params_add(p, "rnn0.W_h", bp_shape2(4, 4), &err);
    cr_assert_not_null(w);
    cr_expect_str_eq(w->name, "rnn0.W_h");
    cr_expect_null(bp_params_add(p, "rnn0.W_h", bp_shape2(4, 4), &err));
    cr_expect_str_eq(err.msg, "parameter 'rnn0.W_h' is defined twice");
    cr_expect_not_null(bp_params_add(p, "rnn0.b", bp_shape1(4), &err));
    cr_expect_eq(bp_params_count(p), 2);
    cr_expect_eq(bp_params_elements(p), (size_t)20);
    cr_expect_eq(bp_params_find(p, "rnn0.W_h"), w);
    cr_expect_null(bp_params_find(p, "rnn0.W_x"));
    w->grad[3] = 5;
    bp_params_zero_grad(p);
    cr_expect_eq(w->grad[3], 0);
    bp_params_free(p);
}

Test(rng, a_seed_gives_the_same_stream_and_fair_draws)
{
    bp_rng a, b, c;
    bp_rng_seed(&a, 42);
    bp_rng_seed(&b, 42);
    bp_rng_seed(&c, 43);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = bp_rng_next(&a);
        cr_assert_eq(x, bp_rng_next(&b));
        same_c += x == bp_rng_next(&c);
    }
    cr_expect_eq(same_c, 0);
    double sum = 0, sq = 0;
    int counts[7] = {0};
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double z = bp_rng_normal(&a);
        sum += z;
        sq += z * z;
        uint32_t k = bp_rng_below(&a, 7);
        cr_assert_lt(k, 7u);
        counts[k]++;
    }
    cr_expect_lt(fabs(sum / n), 0.01);
    cr_expect_lt(fabs(sq / n - 1), 0.02);
    for (int k = 0; k < 7; k++)
        cr_expect_lt(fabs(counts[k] - n / 7.0), 5 * sqrt(n / 7.0), "bucket %d: %d", k, counts[k]);
}

/* ---- the checker on functions of several inputs ---- */

static bp_node *two_layer(bp_tape *t, bp_node *const in[], void *ctx)
{
    (void)ctx;
    /* y = tanh(x W1 + b) W2, inputs x, W1, b, W2 */
    return bp_matmul(t, bp_tanh(t, bp_add(t, bp_matmul(t, in[0], in[1]), in[2])), in[3]);
}

Test(gradcheck, checks_each_input_and_skips_constants)
{
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    bp_node *in[4] = {
        bp_leaf_new(bp_shape2(3, 4), false, NULL), bp_leaf_new(bp_shape2(4, 5), true, NULL),
        bp_leaf_new(bp_shape1(5), true, NULL), bp_leaf_new(bp_shape2(5, 2), true, NULL)};
    for (int i = 0; i < 4; i++)
        bp_fill_uniform(in[i]->value, in[i]->size, -1, 1, &rng);
    bp_check_result r[4];
    bool ok;
    bp_error err;
    cr_assert_eq(bp_gradcheck(two_layer, NULL, in, 4, NULL, r, &ok, &err), BP_OK, "%s", err.msg);
    cr_expect(ok);
    cr_expect_eq(r[0].max_abs, 0, "a constant input is not checked");
    for (int i = 1; i < 4; i++)
        cr_expect(r[i].ok && r[i].max_abs < 1e-7, "input %d: %g", i, r[i].max_abs);
    for (int i = 0; i < 4; i++)
        bp_leaf_free(in[i]);
}

static bp_node *nan_fn(bp_tape *t, bp_node *const in[], void *ctx)
{
    (void)ctx;
    return bp_log(t, in[0]); /* log of a negative value: NaN on both sides */
}

Test(gradcheck, nan_is_a_failure_not_a_pass)
{
    bp_node *x = bp_leaf_new(bp_shape2(1, 2), true, NULL);
    x->value[0] = -1;
    x->value[1] = 2;
    bp_check_result r;
    bool ok;
    cr_assert_eq(bp_gradcheck(nan_fn, NULL, &x, 1, NULL, &r, &ok, NULL), BP_OK);
    cr_expect_not(ok);
    cr_expect_not(r.ok);
    cr_expect_eq(r.worst, 0);
    bp_leaf_free(x);
}
