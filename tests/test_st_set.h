/* test_st_set.h — the small safetensors data set test_datasets.c and test_shards.c read:
 * x [N, T, I] F32 (x = r + t / 10 + i / 100), y [N] I32 (r % 3), lengths 1 + r % T. */
#ifndef BPTT_TEST_ST_SET_H
#define BPTT_TEST_ST_SET_H

#include "bptt_models.h"

#include <criterion/criterion.h>
#include <math.h>

enum { N = 40, T = 5, I = 2 };

/* With lengths, the steps past each sequence's end hold NaN (padding) and the lengths go
 * in the file; nan_row >= 0 puts a NaN within row nan_row (step 0, feature 1); bad_len,
 * when not 0, is row 3's length. */
static void write_st_set(const char *p, bool with_lengths, int nan_row, int bad_len)
{
    static float x[N * T * I];
    static int32_t y[N], len[N];
    for (int r = 0; r < N; r++) {
        y[r] = r % 3;
        len[r] = 1 + r % T;
        for (int t = 0; t < T; t++)
            for (int i = 0; i < I; i++)
                x[(r * T + t) * I + i] = t < len[r] || !with_lengths
                                             ? (float)(r + t / 10.0 + i / 100.0) : NAN;
    }
    if (nan_row >= 0)
        x[(nan_row * T + 0) * I + 1] = NAN;
    if (bad_len)
        len[3] = bad_len;
    bp_st_writer *w = bp_st_writer_new();
    bp_error err = {0};
    cr_assert_eq(bp_st_writer_add_raw(w, "x", BP_DTYPE_F32, (bp_shape){3, {N, T, I}}, x, &err), BP_OK);
    cr_assert_eq(bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape1(N), y, &err), BP_OK);
    if (with_lengths)
        cr_assert_eq(bp_st_writer_add_raw(w, "lengths", BP_DTYPE_I32, bp_shape1(N), len, &err), BP_OK);
    cr_assert_eq(bp_st_writer_save(w, p, &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
}

#endif
