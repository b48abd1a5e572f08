/* test_tasks.c — the built-in tasks: shapes, layouts, determinism, baselines, errors. */
#include "bptt_tasks.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bp_batch *draw(bp_task *t, int B, bp_split split, uint64_t seed)
{
    bp_rng r;
    bp_rng_seed(&r, seed);
    bp_error err = {0};
    bp_batch *b = bp_task_batch(t, B, split, &r, &err);
    cr_assert(b, "%s", err.msg);
    return b;
}

static bool same_batch(const bp_batch *a, const bp_batch *b)
{
    size_t nx = (size_t)a->B * a->T * a->F;
    return a->B == b->B && a->T == b->T && a->F == b->F &&
           memcmp(a->x, b->x, nx * sizeof(bp_real)) == 0 &&
           memcmp(a->y, b->y, bp_batch_y_size(a) * sizeof(bp_real)) == 0;
}

/* same seed: bit-identical; another seed or the other split: different */
static void check_determinism(bp_task *t, int B)
{
    bp_batch *a = draw(t, B, BP_SPLIT_TRAIN, 7), *b = draw(t, B, BP_SPLIT_TRAIN, 7);
    bp_batch *c = draw(t, B, BP_SPLIT_TRAIN, 8), *e = draw(t, B, BP_SPLIT_EVAL, 7);
    bp_batch *e2 = draw(t, B, BP_SPLIT_EVAL, 7);
    cr_expect(same_batch(a, b), "%s: same seed, different batches", bp_task_name(t));
    cr_expect_not(same_batch(a, c), "%s: another seed, same batch", bp_task_name(t));
    cr_expect_not(same_batch(a, e), "%s: eval split equals train", bp_task_name(t));
    cr_expect(same_batch(e, e2), "%s: eval split not deterministic", bp_task_name(t));
    bp_batch_free(a);
    bp_batch_free(b);
    bp_batch_free(c);
    bp_batch_free(e);
    bp_batch_free(e2);
}

/* ---------------------------------------------------------------- adding */

Test(tasks, adding_shapes_and_layout)
{
    bp_error err = {0};
    for (int T = 2; T <= 31; T += 29) {
        bp_task *t = bp_task_adding(T, &err);
        cr_assert(t, "%s", err.msg);
        cr_expect_str_eq(bp_task_name(t), "adding");
        cr_expect_eq(bp_task_input_size(t), 2);
        cr_expect_not(bp_task_tokens(t));
        cr_expect_eq(bp_task_output_size(t), 1);
        cr_expect_eq(bp_task_target(t), BP_TARGET_VALUES);
        cr_expect_eq(bp_task_steps(t), T);
        cr_expect_eq(bp_task_vocab(t, NULL), 0);
        bp_batch *b = draw(t, 64, BP_SPLIT_TRAIN, 1);
        cr_expect_eq(b->B, 64);
        cr_expect_eq(b->T, T);
        cr_expect_eq(b->F, 2);
        cr_expect_eq(b->O, 1);
        int half = T / 2;
        for (int i = 0; i < b->B; i++) {
            const bp_real *x = b->x + (size_t)i * T * 2;
            int m1 = 0, m2 = 0;
            double sum = 0;
            for (int s = 0; s < T; s++) {
                cr_expect(x[2 * s] >= 0 && x[2 * s] < 1);
                cr_expect(x[2 * s + 1] == 0 || x[2 * s + 1] == 1);
                if (x[2 * s + 1] == 1) {
                    if (s < half)
                        m1++;
                    else
                        m2++;
                    sum += x[2 * s];
                }
            }
            cr_expect_eq(m1, 1, "T %d seq %d: one marker in the first half", T, i);
            cr_expect_eq(m2, 1, "T %d seq %d: one marker in the second half", T, i);
            cr_expect_float_eq(b->y[i], sum, 1e-12);
        }
        check_determinism(t, 16);
        bp_batch_free(b);
        bp_task_free(t);
    }
}

/* y = U1 + U2: always predicting 1 scores E[(y - 1)^2] = Var(y) = 1/6 */
Test(tasks, adding_baseline_is_one_sixth)
{
    bp_error err = {0};
    bp_task *t = bp_task_adding(10, &err);
    cr_assert(t, "%s", err.msg);
    cr_expect_float_eq(bp_task_baseline(t), 1.0 / 6.0, 1e-15);
    cr_expect(strstr(bp_task_baseline_name(t), "predicting 1"));
    bp_batch *b = draw(t, 50000, BP_SPLIT_TRAIN, 3);
    double mse = 0;
    for (int i = 0; i < b->B; i++)
        mse += (b->y[i] - 1) * (b->y[i] - 1);
    mse /= b->B;
    /* the estimate's standard deviation is about sqrt(Var((y-1)^2) / B) ~ 0.0008 */
    cr_expect(fabs(mse - 1.0 / 6.0) < 0.004, "MSE of predicting 1: %g", mse);
    bp_batch_free(b);
    bp_task_free(t);
}

Test(tasks, adding_bad_settings)
{
    bp_error err = {0};
    cr_expect_null(bp_task_adding(1, &err));
    cr_expect_eq(err.status, BP_ERR_VALUE);
    cr_expect(strstr(err.msg, "adding task: T must be in [2,"), "%s", err.msg);
    cr_expect_null(bp_task_adding(-5, &err));
    cr_expect_null(bp_task_adding(BP_TASK_MAX_T + 1, &err));
    bp_task *t = bp_task_adding(4, &err);
    bp_rng r;
    bp_rng_seed(&r, 1);
    cr_expect_null(bp_task_batch(t, 0, BP_SPLIT_TRAIN, &r, &err));
    cr_expect(strstr(err.msg, "batch size"), "%s", err.msg);
    cr_expect_null(bp_task_batch(t, 2, (bp_split)7, &r, &err));
    cr_expect_null(bp_task_batch(t, 2, BP_SPLIT_TRAIN, NULL, &err));
    bp_task_free(t);
}

/* ---------------------------------------------------------------- copy */

Test(tasks, copy_layout)
{
    bp_error err = {0};
    int Ts[] = {1, 5, 100};
    for (int k = 0; k < 3; k++) {
        int T = Ts[k], n = T + 20;
        bp_task *t = bp_task_copy(T, &err);
        cr_assert(t, "%s", err.msg);
        cr_expect_eq(bp_task_steps(t), n);
        cr_expect(bp_task_tokens(t));
        cr_expect_eq(bp_task_input_size(t), 10);
        cr_expect_eq(bp_task_output_size(t), 10);
        cr_expect_eq(bp_task_target(t), BP_TARGET_CLASS_SEQ);
        bp_batch *b = draw(t, 40, BP_SPLIT_TRAIN, 11);
        cr_expect_eq(b->T, n);
        cr_expect_eq(b->F, 1);
        cr_expect(b->tokens);
        int counts[8] = {0};
        for (int i = 0; i < b->B; i++) {
            const bp_real *x = b->x + (size_t)i * n, *y = b->y + (size_t)i * n;
            for (int s = 0; s < 10; s++) {
                cr_expect(x[s] >= 0 && x[s] <= 7 && x[s] == (int)x[s], "symbol %g", x[s]);
                counts[(int)x[s] & 7]++;
            }
            for (int s = 10; s < T + 9; s++)
                cr_expect_eq(x[s], 8, "T %d step %d: blank", T, s);
            cr_expect_eq(x[T + 9], 9, "T %d: the delimiter at step T+9", T);
            for (int s = T + 10; s < n; s++)
                cr_expect_eq(x[s], 8);
            for (int s = 0; s < T + 10; s++)
                cr_expect_eq(y[s], 8, "T %d target %d: blank", T, s);
            for (int s = 0; s < 10; s++)
                cr_expect_eq(y[T + 10 + s], x[s], "T %d: the symbols come back in order", T);
        }
        for (int c = 0; c < 8; c++)
            cr_expect_gt(counts[c], 20, "symbol %d rarely drawn", c);
        check_determinism(t, 8);
        bp_batch_free(b);
        bp_task_free(t);
    }
    cr_expect_null(bp_task_copy(0, &err));
    cr_expect(strstr(err.msg, "copy task: T must be"), "%s", err.msg);
}

/* The memoryless predictor: blank for certain on the first T+10 steps (cost 0),
 * uniform over the 8 symbols on the last 10 (ln 8 each), mean over T+20 steps. */
Test(tasks, copy_baseline)
{
    bp_error err = {0};
    int T = 30;
    bp_task *t = bp_task_copy(T, &err);
    cr_assert(t);
    cr_expect_float_eq(bp_task_baseline(t), 10 * log(8.0) / 50, 1e-15);
    bp_batch *b = draw(t, 20, BP_SPLIT_TRAIN, 5);
    double xent = 0;
    for (int i = 0; i < b->B; i++)
        for (int s = 0; s < b->T; s++) {
            int c = (int)b->y[(size_t)i * b->T + s];
            double prob = s < T + 10 ? (c == 8 ? 1.0 : 0.0) : (c < 8 ? 1.0 / 8 : 0.0);
            xent -= log(prob);
        }
    xent /= (double)b->B * b->T;
    cr_expect_float_eq(xent, bp_task_baseline(t), 1e-12);
    bp_batch_free(b);
    bp_task_free(t);
}

/* ---------------------------------------------------------------- chars */

/* A temporary file with the given bytes; the path lives in buf. */
static const char *tmpfile_with(char *buf, const void *data, size_t len)
{
    strcpy(buf, "/tmp/bptt_test_tasks_XXXXXX");
    int fd = mkstemp(buf);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    return buf;
}

/* 900 bytes of lower-case text, then 100 digits: the eval split is the digits. */
static const char *make_text(char *buf)
{
    char text[1000];
    const char *words = "the quick brown fox jumps over the lazy dog ";
    for (int i = 0; i < 900; i++)
        text[i] = words[i % 44];
    for (int i = 900; i < 1000; i++)
        text[i] = (char)('0' + (i * 7) % 10);
    return tmpfile_with(buf, text, sizeof text);
}

Test(tasks, chars_vocabulary_and_shifted_targets)
{
    char path[64];
    make_text(path);
    bp_error err = {0};
    int T = 25;
    bp_task *t = bp_task_chars(path, T, &err);
    cr_assert(t, "%s", err.msg);
    unsigned char v[256];
    int nv = bp_task_vocab(t, v);
    /* distinct bytes: space, 26 letters (the pangram), 10 digits; sorted */
    cr_assert_eq(nv, 37);
    const char *want = " 0123456789abcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < nv; i++)
        cr_expect_eq(v[i], (unsigned char)want[i], "vocab[%d] = %c", i, v[i]);
    for (int i = 0; i < nv; i++)
        cr_expect_eq(bp_task_char_id(t, v[i]), i);
    cr_expect_eq(bp_task_char_id(t, 'A'), -1);
    cr_expect_eq(bp_task_input_size(t), 37);
    cr_expect_eq(bp_task_output_size(t), 37);
    cr_expect(bp_task_tokens(t));
    cr_expect_eq(bp_task_target(t), BP_TARGET_CLASS_SEQ);
    cr_expect_eq(bp_task_steps(t), T);
    cr_expect_float_eq(bp_task_baseline(t), log(37.0), 1e-15);

    FILE *f = fopen(path, "rb");
    char text[1001] = {0};
    cr_assert_eq(fread(text, 1, 1000, f), 1000);
    fclose(f);
    for (int split = 0; split < 2; split++) {
        bp_batch *b = draw(t, 32, (bp_split)split, 9);
        cr_expect_eq(b->T, T);
        for (int i = 0; i < b->B; i++) {
            const bp_real *x = b->x + (size_t)i * T, *y = b->y + (size_t)i * T;
            char win[64] = {0};
            for (int s = 0; s < T; s++) {
                cr_assert(x[s] >= 0 && x[s] < nv && y[s] >= 0 && y[s] < nv);
                win[s] = (char)v[(int)x[s]];
                if (s + 1 < T)
                    cr_expect_eq(y[s], x[s + 1], "targets are the inputs shifted by one");
            }
            win[T] = (char)v[(int)y[T - 1]];
            /* the T+1 bytes are a window of the file, inside the split */
            char *at = strstr(text, win);
            cr_assert(at, "window '%s' not in the file", win);
            if (split == BP_SPLIT_TRAIN)
                cr_expect(at + T < text + 900, "train window reaches the held-out part");
            else
                for (int s = 0; s <= T; s++)
                    cr_expect(win[s] >= '0' && win[s] <= '9', "eval window '%s' not held out",
                              win);
        }
        bp_batch_free(b);
    }
    check_determinism(t, 4);
    bp_task_free(t);
    unlink(path);
}

static void expect_chars_error(const char *path, int T, bp_status st, const char *needle)
{
    bp_error err = {0};
    cr_expect_null(bp_task_chars(path, T, &err));
    cr_expect_eq(err.status, st, "%s: status %d", err.msg, err.status);
    cr_expect(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
    if (path && *path)
        cr_expect(strstr(err.msg, path), "message '%s' does not name the path", err.msg);
}

Test(tasks, chars_errors_name_the_path)
{
    char path[64];
    expect_chars_error("/nonexistent/dir/text.txt", 10, BP_ERR_IO, "cannot open");
    expect_chars_error("/tmp", 10, BP_ERR_IO, "/tmp: is a directory");

    tmpfile_with(path, "", 0);
    expect_chars_error(path, 10, BP_ERR_VALUE, "is empty");
    unlink(path);

    tmpfile_with(path, "abc\0def", 7);
    expect_chars_error(path, 2, BP_ERR_VALUE, "binary (a NUL byte at offset 3)");
    unlink(path);

    tmpfile_with(path, "short", 5);
    expect_chars_error(path, 5, BP_ERR_VALUE, "shorter than T + 1 = 6");
    unlink(path);

    char text[200];
    memset(text, 'x', sizeof text);
    tmpfile_with(path, text, sizeof text); /* held-out part: 20 bytes */
    expect_chars_error(path, 20, BP_ERR_VALUE, "held-out last 10%");
    bp_error err = {0};
    bp_task *t = bp_task_chars(path, 19, &err); /* 20 bytes hold T+1 = 20 */
    cr_expect(t, "%s", err.msg);
    bp_task_free(t);
    expect_chars_error(path, 0, BP_ERR_VALUE, "T must be");
    unlink(path);

    bp_error e2 = {0};
    cr_expect_null(bp_task_chars(NULL, 5, &e2));
    cr_expect(strstr(e2.msg, "no text file"), "%s", e2.msg);
}
