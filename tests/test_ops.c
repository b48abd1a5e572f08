/* test_ops.c — every registered op passes a double-precision gradient check on
 * several random shapes, and the checker catches deliberately wrong backwards. */
#include "bptt_ops.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static void check_op(const bp_op *op, uint64_t seed)
{
    bp_error err = {0};
    cr_assert_eq(bp_op_validate(op, &err), BP_OK, "%s", err.msg);
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    for (int k = 0; k < op->check.n_cases; k++) {
        bp_check_case c = {0};
        op->check.make_case(k, &rng, &c);
        bp_check_result r[BP_MAX_INPUTS];
        bool ok;
        cr_assert_eq(bp_gradcheck_op(op, &c, seed + (uint64_t)k, NULL, r, &ok, &err), BP_OK,
                     "%s case %d: %s", op->name, k, err.msg);
        for (int i = 0; i < op->n_in; i++) {
            char s[64];
            cr_expect(r[i].ok,
                      "%s case %d input %d %s: max abs err %g, max rel err %g, worst element %zu "
                      "(analytic %g, numeric %g)",
                      op->name, k, i, bp_shape_str(c.in_shape[i], s, sizeof s), r[i].max_abs,
                      r[i].max_rel, r[i].worst, r[i].analytic, r[i].numeric);
        }
    }
}

Test(ops, every_registered_op_passes_gradcheck)
{
    cr_assert_geq(bp_op_count(), 20);
    for (int i = 0; i < bp_op_count(); i++)
        check_op(bp_op_at(i), 1000 + (uint64_t)i);
}

/* ---- bp_op.unsaved: a value declared unread by backward is not read ---- */

/* The first value of op's declared ones that its backward reads on some case, or -1. */
static int unsaved_read(const bp_op *op, uint64_t seed)
{
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    for (int k = 0; k < op->check.n_cases; k++) {
        bp_check_case c = {0};
        op->check.make_case(k, &rng, &c);
        int read;
        bp_error err;
        cr_assert_eq(bp_check_unsaved(op, &c, seed + (uint64_t)k, &read, &err), BP_OK,
                     "%s case %d: %s", op->name, k, err.msg);
        if (read >= 0)
            return read;
    }
    return -1;
}

/* Every op's declaration holds: overwriting the values it declares unread by backward
 * (bp_check_unsaved: with NaN, and with a plain number) changes no gradient bit. */
Test(ops, values_declared_unsaved_are_not_read_by_backward)
{
    int declared = 0;
    for (int o = 0; o < bp_op_count(); o++) {
        const bp_op *op = bp_op_at(o);
        declared += op->unsaved != 0;
        cr_expect_eq(unsaved_read(op, 500 + (uint64_t)o), -1,
                     "%s reads a value it declares unsaved (0x%x)", op->name, op->unsaved);
    }
    cr_expect_geq(declared, 20, "only %d ops declare unsaved values", declared);
}

/* ... and the check catches a wrong one: matmul reads A (dW = A^T dC), relu its input,
 * tanh its output, softmax_xent its class ids. */
Test(ops, the_unsaved_check_catches_a_value_backward_reads)
{
    bp_op a = bp_op_matmul, x = bp_op_relu, y = bp_op_tanh;
    a.unsaved |= 1;
    x.unsaved = 1;
    y.unsaved = BP_UNSAVED_OUT;
    cr_expect_eq(unsaved_read(&a, 1), 0);
    cr_expect_eq(unsaved_read(&x, 1), 0);
    cr_expect_eq(unsaved_read(&y, 1), BP_MAX_INPUTS);
    /* a constant input (class ids) is drawn again, not set to NaN: no index out of range */
    bp_op ids = bp_op_softmax_xent;
    ids.unsaved |= 2;
    cr_expect_eq(unsaved_read(&ids, 1), 1);
    bp_check_report r;
    bp_error err;
    cr_assert_eq(bp_gradcheck_op_all(&a, NULL, &r, &err), BP_OK, "%s", err.msg);
    cr_expect_not(r.ok);
    cr_expect_eq(r.unsaved_read, 0);
    char text[1024];
    bp_check_report_str(&a, &r, text, sizeof text);
    cr_expect(strstr(text, ".unsaved: FAIL, backward reads input 0's value (case 0)") != NULL,
              "%s", text);
}

Test(ops, an_unsaved_bit_past_the_inputs_is_invalid)
{
    bp_op odd = bp_op_tanh;
    odd.unsaved = 1u << 2;
    bp_error err;
    cr_expect_neq(bp_op_validate(&odd, &err), BP_OK);
    cr_expect(strstr(err.msg, ".unsaved") != NULL, "%s", err.msg);
}

Test(ops, registry_names_are_unique_and_found)
{
    for (int i = 0; i < bp_op_count(); i++) {
        cr_expect_eq(bp_op_find(bp_op_at(i)->name), bp_op_at(i));
        for (int j = i + 1; j < bp_op_count(); j++)
            cr_expect_str_neq(bp_op_at(i)->name, bp_op_at(j)->name);
    }
    cr_expect_null(bp_op_find("no_such_op"));
    cr_expect_eq(bp_op_find("tanh"), &bp_op_tanh);
    cr_expect_eq(bp_op_at(BP_OPID_matmul), &bp_op_matmul);
}

/* ---- mutation tests: wrong backwards the checker must catch ---- */

static void tanh_sign_flipped(bp_node *n)
{
    for (size_t i = 0; i < n->size; i++)
        n->in[0]->grad[i] -= n->grad[i] * (1 - n->value[i] * n->value[i]);
}

static void tanh_doubled(bp_node *n)
{
    for (size_t i = 0; i < n->size; i++)
        n->in[0]->grad[i] += 2 * n->grad[i] * (1 - n->value[i] * n->value[i]);
}

/* dA += dC B (should be dC B^T): only square B gives shapes that fit. */
static void matmul_untransposed(bp_node *n)
{
    bp_node *a = n->in[0], *b = n->in[1];
    int M = a->shape.dim[0], K = a->shape.dim[1], N = b->shape.dim[1];
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++)
                a->grad[i * K + k] += n->grad[i * N + j] * b->value[j * N + k];
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++)
            for (int i = 0; i < M; i++)
                b->grad[k * N + j] += a->value[i * K + k] * n->grad[i * N + j];
}

static void square_case(int k, bp_rng *rng, bp_check_case *c)
{
    (void)k;
    (void)rng;
    c->in_shape[0] = bp_shape2(3, 4);
    c->in_shape[1] = bp_shape2(4, 4);
}

static bool passes(const bp_op *op)
{
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    bp_check_case c = {0};
    op->check.make_case(1, &rng, &c);
    bp_check_result r[BP_MAX_INPUTS];
    bool ok;
    bp_error err;
    cr_assert_eq(bp_gradcheck_op(op, &c, 7, NULL, r, &ok, &err), BP_OK, "%s", err.msg);
    return ok;
}

Test(ops, checker_catches_wrong_backwards)
{
    bp_op flipped = bp_op_tanh, doubled = bp_op_tanh, untransposed = bp_op_matmul;
    flipped.backward = tanh_sign_flipped;
    doubled.backward = tanh_doubled;
    untransposed.backward = matmul_untransposed;
    untransposed.check.make_case = square_case;
    cr_expect_not(passes(&flipped), "a sign-flipped backward passed");
    cr_expect_not(passes(&doubled), "a backward off by a factor of 2 passed");
    cr_expect_not(passes(&untransposed), "a backward with an untransposed product passed");
    /* and the genuine ones pass on the same cases */
    bp_op square = bp_op_matmul;
    square.check.make_case = square_case;
    cr_expect(passes(&bp_op_tanh));
    cr_expect(passes(&square));
}

Test(ops, an_op_without_check_settings_is_invalid)
{
    bp_op bare = bp_op_tanh;
    bare.check = (bp_op_check){0};
    bp_error err;
    cr_expect_neq(bp_op_validate(&bare, &err), BP_OK);
    cr_expect(strstr(err.msg, "gradient-check settings") != NULL, "%s", err.msg);
}

Test(ops, shape_errors_name_the_op_and_both_shapes)
{
    bp_tape *t = bp_tape_new();
    bp_node *a = bp_tape_input(t, bp_shape2(3, 4), NULL, false);
    bp_node *b = bp_tape_input(t, bp_shape2(5, 2), NULL, false);
    cr_expect_null(bp_matmul(t, a, b));
    const bp_error *e = bp_tape_error(t);
    cr_assert_not_null(e);
    cr_expect_eq(e->status, BP_ERR_SHAPE);
    cr_expect_str_eq(e->msg, "matmul: cannot multiply [3, 4] by [5, 2] (needs (M, K) and (K, N))");
    /* the error sticks: later ops return NULL and keep the first message */
    cr_expect_null(bp_tanh(t, a));
    cr_expect(strstr(bp_tape_error(t)->msg, "matmul") != NULL);
    bp_tape_reset(t);
    cr_expect_null(bp_tape_error(t));
    a = bp_tape_input(t, bp_shape2(3, 4), NULL, false);
    b = bp_tape_input(t, bp_shape1(5), NULL, false);
    cr_expect_null(bp_add(t, a, b));
    cr_expect(strstr(bp_tape_error(t)->msg, "add: shapes [3, 4] and [5] do not match") != NULL,
              "%s", bp_tape_error(t)->msg);
    bp_tape_free(t);
}
