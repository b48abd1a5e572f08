/* test_f32_flush.c — denormals flushed to zero while a tape walks backward
 * (bp_tape_set_flush_denormals), on the float build: a gradient below float's smallest
 * normal (1.2e-38) becomes 0 with the flush on (the default) and stays with it off, and
 * the thread's floating-point mode is the caller's again after the walk. */
#include "bptt_ops.h"
#include "test_valgrind.h"

#include <criterion/criterion.h>
#include <float.h>

#if defined(__SSE2__)
#include <xmmintrin.h>
#define FP_MODE() (_mm_getcsr() & ~0x3fu) /* the controls, not the sticky exception flags */
#else
#define FP_MODE() 0u
#endif

/* dL/dx of L = sum(1e-30 x), seeded with dL = 1e-10: 1e-40, a denormal in float. */
static float denormal_gradient(bool flush)
{
    bp_tape *t = bp_tape_new();
    cr_assert_not_null(t);
    cr_expect(bp_tape_flushes_denormals(t), "the flush is on by default");
    bp_tape_set_flush_denormals(t, flush);
    cr_expect_eq(bp_tape_flushes_denormals(t), flush);
    bp_node *x = bp_leaf_new(bp_shape1(1), true, NULL);
    cr_assert_not_null(x);
    x->value[0] = 1;
    bp_node *loss = bp_sum(t, bp_scale(t, x, 1e-30f));
    cr_assert_not_null(loss);
    const bp_real seed = 1e-10f;
    unsigned before = FP_MODE();
    cr_assert_eq(bp_backward_seed(t, loss, &seed, NULL), BP_OK);
    cr_expect_eq(FP_MODE(), before, "the walk put the thread's mode back");
    float g = x->grad[0];
    bp_leaf_free(x);
    bp_tape_free(t);
    return g;
}

Test(flush, a_denormal_gradient_is_flushed_to_zero_by_default)
{
#if defined(__SSE2__) || defined(__aarch64__)
    if (under_valgrind()) /* valgrind's CPU keeps denormals whatever MXCSR says */
        cr_skip_test("valgrind does not flush denormals");
    cr_expect_eq(denormal_gradient(true), 0.0f);
#else
    cr_skip_test("no flush-to-zero control known on this CPU");
#endif
}

Test(flush, a_denormal_gradient_is_kept_with_the_flush_off)
{
    float g = denormal_gradient(false);
    cr_expect(g > 0 && g < FLT_MIN, "gradual underflow: %g", (double)g);
    cr_expect_float_eq(g, 1e-40f, 1e-43f);
}

#if defined(__SSE2__)
/* A caller that set FTZ and DAZ itself keeps them after a walk (with the flush on or off). */
Test(flush, a_callers_own_flush_is_left_set)
{
    if (under_valgrind()) /* valgrind's CPU keeps no FTZ or DAZ bit in MXCSR */
        cr_skip_test("valgrind does not model MXCSR's flush bits");
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040);
    denormal_gradient(true);
    denormal_gradient(false);
    unsigned after = _mm_getcsr();
    _mm_setcsr(saved);
    cr_expect_eq(after & 0x8040, 0x8040u, "MXCSR %#x", after);
}
#endif
