/* check_gradients.c — gradient-check a function of your own, built from ops.
 *
 * f(x, W, b) = tanh(tanh(x W + b) W + b): two steps of a recurrent cell sharing W and
 * b, so the check covers the sum over steps that BPTT relies on. bp_gradcheck compares
 * the tape's dL/d(input) with central differences, element by element, for every
 * input that requires a gradient, and reports per input the largest errors and the
 * worst element. Build it in double precision, where the check is tight:
 *     cc -std=c11 -O2 check_gradients.c $(pkg-config --cflags --libs bptt_f64) -o check_gradients
 *     ./check_gradients
 * Exit status 0 when every gradient is right, 1 when not, 2 on an error.
 */
#include <bptt_graph.h>
#include <bptt_ops.h>

#include <stdio.h>

/* The function under check: record ops on t from the inputs, return the output.
 * It is called many times (on a reset tape) and must give the same result each time. */
static bp_node *two_steps(bp_tape *t, bp_node *const in[], void *ctx)
{
    (void)ctx;
    bp_node *x = in[0], *W = in[1], *b = in[2];   /* x (B, H), W (H, H), b (H) */
    bp_node *h = bp_tanh(t, bp_add(t, bp_matmul(t, x, W), b));
    return bp_tanh(t, bp_add(t, bp_matmul(t, h, W), b)); /* (B, H) */
}

int main(void)
{
    const char *names[] = {"x", "W", "b"};
    bp_shape shapes[] = {bp_shape2(3, 4), bp_shape2(4, 4), bp_shape1(4)};
    bp_node *in[3] = {0};
    bp_error err = {0};
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    int rc = 2;
    /* Inputs are leaves: the caller's, outside any tape; requires_grad = true means
     * "check my gradient" (false: hold it constant). */
    for (int i = 0; i < 3; i++) {
        if (!(in[i] = bp_leaf_new(shapes[i], true, &err)))
            goto done;
        bp_fill_uniform(in[i]->value, in[i]->size, -1, 1, &rng);
    }
    bp_check_result r[3];
    bool ok;
    if (bp_gradcheck(two_steps, NULL, in, 3, NULL /* defaults */, r, &ok, &err) != BP_OK)
        goto done;
    for (int i = 0; i < 3; i++)
        printf("d/d%s: max abs err %.3g, max rel err %.3g, %s (worst element %zu: analytic "
               "%.9g, numeric %.9g)\n", names[i], r[i].max_abs, r[i].max_rel,
               r[i].ok ? "pass" : "FAIL", r[i].worst, r[i].analytic, r[i].numeric);
    rc = ok ? 0 : 1;
done:
    if (rc == 2)
        fprintf(stderr, "error: %s\n", err.msg);
    for (int i = 0; i < 3; i++)
        bp_leaf_free(in[i]);
    return rc;
}
