/* task_adding.c — the adding problem (Hochreiter & Schmidhuber 1997). */
#include "task_internal.h"

/* x is (B, T, 2): channel 0 ~ U[0,1), channel 1 a marker, 1 at one step drawn in
 * [0, T/2) and one in [T/2, T); y is (B, 1) = the sum of the two marked values.
 * Draw order per sequence: T values, then the two positions. */
static bp_status fill(const bp_task *t, bp_batch *b, bp_split split, bp_rng *rng, bp_error *err)
{
    (void)split;
    (void)err;
    int T = t->T, half = T / 2;
    for (int i = 0; i < b->B; i++) {
        bp_real *x = b->x + (size_t)i * T * 2;
        for (int s = 0; s < T; s++) {
            x[2 * s] = (bp_real)bp_rng_uniform(rng);
            x[2 * s + 1] = 0;
        }
        int p1 = (int)bp_rng_below(rng, (uint32_t)half);
        int p2 = half + (int)bp_rng_below(rng, (uint32_t)(T - half));
        x[2 * p1 + 1] = 1;
        x[2 * p2 + 1] = 1;
        b->y[i] = x[2 * p1] + x[2 * p2];
    }
    return BP_OK;
}

bp_task *bp_task_adding(int T, bp_error *err)
{
    if (bp_task_check_T("adding", T, 2, err) != BP_OK)
        return NULL;
    bp_task *t = bp_task_alloc("adding", err);
    if (!t)
        return NULL;
    t->T = T;
    t->steps = T;
    t->F = 2;
    t->n_in = 2;
    t->tokens = false;
    t->target = BP_TARGET_VALUES;
    t->O = 1;
    /* y = U1 + U2 has mean 1 and variance 2/12: E[(y - 1)^2] = 1/6 */
    t->baseline = 1.0 / 6.0;
    t->baseline_name = "MSE of always predicting 1";
    t->fill = fill;
    return t;
}
