/* batch.c — sequences batch first: x [B, T, F], targets by kind. */
#include "bptt_graph.h"

#include <stdlib.h>
#include <string.h>

size_t bp_batch_y_size(const bp_batch *b)
{
    switch (b->target) {
    case BP_TARGET_VALUES: return (size_t)b->B * (size_t)b->O;
    case BP_TARGET_CLASS_LAST: return (size_t)b->B;
    case BP_TARGET_CLASS_SEQ: return (size_t)b->B * (size_t)b->T;
    }
    return 0;
}

bp_batch *bp_batch_new(int B, int T, int F, bool tokens, bp_target_kind target, int O,
                       bp_error *err)
{
    bp_shape xs = {3, {B, T, tokens ? 1 : F}};
    if (bp_shape_check(xs, err) != BP_OK || bp_shape_check(bp_shape1(O), err) != BP_OK) {
        bp_error_prefix(err, "batch");
        return NULL;
    }
    bp_batch *b = calloc(1, sizeof *b);
    if (!b) {
        bp_error_set(err, BP_ERR_NOMEM, "batch: out of memory");
        return NULL;
    }
    *b = (bp_batch){.B = B, .T = T, .F = tokens ? 1 : F, .tokens = tokens, .target = target,
                    .O = O};
    b->x = calloc(bp_shape_size(xs), sizeof(bp_real));
    b->y = calloc(bp_batch_y_size(b), sizeof(bp_real));
    if (!b->x || !b->y) {
        bp_batch_free(b);
        bp_error_set(err, BP_ERR_NOMEM, "batch: out of memory");
        return NULL;
    }
    return b;
}

void bp_batch_free(bp_batch *b)
{
    if (!b)
        return;
    free(b->x);
    free(b->y);
    free(b);
}

void bp_batch_step(const bp_batch *b, int t, bp_real *dst)
{
    for (int i = 0; i < b->B; i++)
        memcpy(dst + (size_t)i * b->F, b->x + ((size_t)i * b->T + t) * b->F,
               (size_t)b->F * sizeof(bp_real));
}
