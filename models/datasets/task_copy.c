/* task_copy.c — the copying memory task (Arjovsky, Shah & Bengio 2016). */
#include "task_internal.h"

#include <math.h>

enum { COPY_LEN = 10, COPY_SYMBOLS = 8, COPY_BLANK = 8, COPY_DELIM = 9, COPY_VOCAB = 10 };

/* x is (B, T+20) tokens: 10 symbols in 0..7, T-1 blanks, the delimiter, 10 blanks.
 * y is (B, T+20) classes: blank for the first T+10 steps, then the 10 symbols. */
static bp_status fill(const bp_task *t, bp_batch *b, bp_split split, bp_rng *rng, bp_error *err)
{
    (void)split;
    (void)err;
    int T = t->T, n = t->steps;
    for (int i = 0; i < b->B; i++) {
        bp_real *x = b->x + (size_t)i * n, *y = b->y + (size_t)i * n;
        for (int s = 0; s < n; s++)
            x[s] = y[s] = COPY_BLANK;
        for (int s = 0; s < COPY_LEN; s++) {
            int sym = (int)bp_rng_below(rng, COPY_SYMBOLS);
            x[s] = (bp_real)sym;
            y[T + COPY_LEN + s] = (bp_real)sym;
        }
        x[COPY_LEN + T - 1] = COPY_DELIM;
    }
    return BP_OK;
}

bp_task *bp_task_copy(int T, bp_error *err)
{
    if (bp_task_check_T("copy", T, 1, err) != BP_OK)
        return NULL;
    bp_task *t = bp_task_alloc("copy", err);
    if (!t)
        return NULL;
    t->T = T;
    t->steps = T + 2 * COPY_LEN;
    t->F = 1;
    t->n_in = COPY_VOCAB;
    t->tokens = true;
    t->target = BP_TARGET_CLASS_SEQ;
    t->O = COPY_VOCAB;
    /* blanks predicted for certain (cost 0) for T+10 steps, then a uniform guess among
     * 8 symbols (ln 8 each) for 10 steps, averaged over T+20 steps */
    t->baseline = COPY_LEN * log((double)COPY_SYMBOLS) / (double)(T + 2 * COPY_LEN);
    t->baseline_name = "cross-entropy of blanks, then a uniform guess of the 10 symbols";
    t->fill = fill;
    return t;
}
