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
    case BP_TARGET_VALUES_SEQ: return (size_t)b->B * (size_t)b->T * (size_t)b->O;
    }
    return 0;
}

bool bp_target_per_step(bp_target_kind k)
{
    return k == BP_TARGET_CLASS_SEQ || k == BP_TARGET_VALUES_SEQ;
}

bool bp_target_is_class(bp_target_kind k)
{
    return k == BP_TARGET_CLASS_LAST || k == BP_TARGET_CLASS_SEQ;
}

bp_status bp_batch_set_lengths(bp_batch *b, const int *len, bp_error *err)
{
    for (int r = 0; r < b->B; r++)
        if (len[r] < 1 || len[r] > b->T)
            return bp_error_set(err, BP_ERR_VALUE, "batch: row %d has length %d, not in [1, %d]",
                                r, len[r], b->T);
    if (!b->len && !(b->len = malloc((size_t)b->B * sizeof *b->len)))
        return bp_error_set(err, BP_ERR_NOMEM, "batch: out of memory");
    memcpy(b->len, len, (size_t)b->B * sizeof *b->len);
    return BP_OK;
}

int bp_batch_len(const bp_batch *b, int r)
{
    return b->len ? b->len[r] : b->T;
}

long bp_batch_count_steps(const bp_batch *b, int t0, int t1)
{
    if (!b->len)
        return (long)b->B * (t1 - t0);
    long n = 0;
    for (int r = 0; r < b->B; r++) {
        int hi = b->len[r] < t1 ? b->len[r] : t1;
        n += hi > t0 ? hi - t0 : 0;
    }
    return n;
}

int bp_batch_min_len(const bp_batch *b)
{
    int m = b->T;
    for (int r = 0; b->len && r < b->B; r++)
        m = b->len[r] < m ? b->len[r] : m;
    return m;
}

void bp_batch_share(long n, int k, int parts, long *r0, long *r1)
{
    long used = parts < n ? parts : n;
    *r0 = *r1 = 0;
    if (k >= 0 && k < used) {
        *r0 = k * n / used;
        *r1 = (k + 1) * n / used;
    }
}

bp_batch bp_batch_rows(const bp_batch *b, int r0, int r1)
{
    size_t x_row = (size_t)b->T * (size_t)b->F, y_row = bp_batch_y_size(b) / (size_t)b->B;
    bp_batch v = *b; /* batch first: a row's x is [T, F], its y [O], [1] or [T] */
    v.B = r1 - r0;
    v.x = b->x + (size_t)r0 * x_row;
    v.y = b->y + (size_t)r0 * y_row;
    v.len = b->len ? b->len + r0 : NULL;
    v.row0 = b->row0 + r0;
    return v;
}

double bp_batch_rows_weight(const bp_batch *b, const bp_batch *rows)
{
    if (b->len && bp_target_per_step(b->target))
        return (double)bp_batch_count_steps(rows, 0, b->T) /
               (double)bp_batch_count_steps(b, 0, b->T);
    return (double)rows->B / (double)b->B;
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
    free(b->len);
    free(b);
}

void bp_batch_step(const bp_batch *b, int t, bp_real *dst)
{
    for (int i = 0; i < b->B; i++)
        memcpy(dst + (size_t)i * b->F, b->x + ((size_t)i * b->T + t) * b->F,
               (size_t)b->F * sizeof(bp_real));
}
