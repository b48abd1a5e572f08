/* test_shards.c — a data set opened as one rank's shard (bp_file_set_opts.shard, as
 * bp_trainer_new_dist opens it under MPI): only its rows of x are checked, a training
 * batch holds x and y only in the rank's rows of it and every row's length, and the split
 * is bp_batch_share's. Through mpirun: tests/test_mpi.c. */
#include "test_st_set.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/bptt_shards_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(shards, .init = make_dir, .fini = remove_dir);

/* The test set in this suite's folder (test_st_set.h), a NaN at row nan_row if >= 0. */
static const char *write_set(const char *name, int nan_row)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    write_st_set(p, true, nan_row, 0);
    return p;
}

static bp_task *open_shard(const char *x, int shard, int shards, bp_error *err)
{
    bp_file_set_opts o;
    bp_file_set_opts_default(&o);
    snprintf(o.train.x, sizeof o.train.x, "%s", x);
    o.valid_last = 8;
    o.seed = 3;
    o.shard = shard;
    o.shards = shards;
    return bp_task_files(&o, err);
}

Test(shards, the_split_takes_rows_as_evenly_as_they_go)
{
    long r0, r1;
    bp_batch_share(7, 0, 2, &r0, &r1);
    cr_expect(r0 == 0 && r1 == 3);
    bp_batch_share(7, 1, 2, &r0, &r1);
    cr_expect(r0 == 3 && r1 == 7);
    bp_batch_share(2, 2, 3, &r0, &r1); /* more parts than rows: the third has none */
    cr_expect(r0 == 0 && r1 == 0);
    bp_batch_share(2, 1, 3, &r0, &r1);
    cr_expect(r0 == 1 && r1 == 2);
    long seen = 0; /* the parts cover the rows once, in order */
    for (int k = 0; k < 5; k++) {
        bp_batch_share(40, k, 5, &r0, &r1);
        cr_expect_eq(r0, seen);
        seen = r1;
    }
    cr_expect_eq(seen, 40);
}

Test(shards, each_shard_checks_only_its_rows_of_x)
{
    const char *p = write_set("nan30.safetensors", 30); /* row 30: shard 1 of 2's */
    bp_error err = {0};
    bp_task *t = open_shard(p, 0, 2, &err);
    cr_expect_not_null(t, "shard 0 holds rows [0, 20): %s", err.msg);
    bp_task_free(t);
    cr_expect_null(t = open_shard(p, 1, 2, &err));
    cr_expect(strstr(err.msg, "x[30, 0, 1] is nan"), "%s", err.msg);
    bp_task_free(t);
    cr_expect_null(t = open_shard(p, 0, 0, &err), "the whole set is checked unsharded");
    cr_expect(strstr(err.msg, "x[30, 0, 1] is nan"), "%s", err.msg);
    bp_task_free(t);
}

/* The batches of step `step` of the whole set and of each of `shards` shards: each
 * shard's rows equal the whole one's, the other rows zero but their lengths set. */
static void expect_shard_batches(int B, int shards, long step)
{
    const char *p = write_set("clean.safetensors", -1);
    bp_error err = {0};
    bp_task *whole = open_shard(p, 0, 0, &err);
    cr_assert_not_null(whole, "%s", err.msg);
    bp_batch *w = bp_task_train_batch(whole, B, step, NULL, &err);
    cr_assert_not_null(w, "%s", err.msg);
    size_t xr = (size_t)T * I;
    for (int s = 0; s < shards; s++) {
        bp_task *t = open_shard(p, s, shards, &err);
        cr_assert_not_null(t, "%s", err.msg);
        bp_batch *b = bp_task_train_batch(t, B, step, NULL, &err);
        cr_assert_not_null(b, "%s", err.msg);
        long r0, r1;
        bp_batch_share(B, s, shards, &r0, &r1);
        for (int k = 0; k < B; k++) {
            bool mine = k >= r0 && k < r1;
            cr_expect_eq(b->len[k], w->len[k], "B %d, shard %d of %d, row %d", B, s, shards, k);
            cr_expect_eq(b->y[k], mine ? w->y[k] : 0, "B %d, shard %d of %d, row %d", B, s,
                         shards, k);
            for (size_t e = 0; e < xr; e++)
                cr_expect_eq(b->x[k * xr + e], mine ? w->x[k * xr + e] : 0,
                             "B %d, shard %d of %d, row %d", B, s, shards, k);
        }
        bp_batch_free(b);
        bp_task_free(t);
    }
    bp_batch_free(w);
    bp_task_free(whole);
}

Test(shards, a_batch_holds_each_shards_rows_and_every_length)
{
    expect_shard_batches(8, 2, 0);
    expect_shard_batches(7, 2, 5); /* uneven, and across an epoch's end (32 rows) */
    expect_shard_batches(7, 4, 9);
    expect_shard_batches(2, 3, 1); /* more shards than rows: the last gets none */
}

Test(shards, a_token_sets_vocabulary_is_that_of_the_rows_checked)
{
    /* ids r % 4 but a 9 at row 33: the vocabulary is 10 on the shard holding it, 4 on
     * the other (the ranks then agree on the largest: bp_trainer_new_dist) */
    char p[128];
    snprintf(p, sizeof p, "%s/tokens.safetensors", dir);
    static int32_t x[N * T], y[N];
    for (int r = 0; r < N; r++) {
        y[r] = r % 2;
        for (int t = 0; t < T; t++)
            x[r * T + t] = (r + t) % 4;
    }
    x[33 * T + 2] = 9;
    bp_st_writer *w = bp_st_writer_new();
    bp_error err = {0};
    cr_assert_eq(bp_st_writer_add_raw(w, "x", BP_DTYPE_I32, (bp_shape){2, {N, T}}, x, &err), BP_OK);
    cr_assert_eq(bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape1(N), y, &err), BP_OK);
    cr_assert_eq(bp_st_writer_save(w, p, &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
    int want[3] = {10, 4, 10}; /* unsharded, shard 0 of 2, shard 1 of 2 */
    for (int k = 0; k < 3; k++) {
        bp_task *t = open_shard(p, k ? k - 1 : 0, k ? 2 : 0, &err);
        cr_assert_not_null(t, "%s", err.msg);
        cr_expect_eq(bp_task_input_size(t), want[k], "case %d", k);
        bp_task_free(t);
    }
}

Test(shards, a_sharded_set_trains_only_with_its_ranks_attached)
{
    /* bp_trainer_new_dist's data set without bp_trainer_set_dist would train on the zeros
     * of the other ranks' rows: refused */
    const char *p = write_set("clean.safetensors", -1);
    char yaml[256], text[512];
    snprintf(yaml, sizeof yaml, "%s/m.yaml", dir);
    snprintf(text, sizeof text, "name: m\nmodel:\n  layers:\n    - {name: g, type: gru, hidden: "
             "4}\nloss: xent\ndata:\n  train: %s\n  valid_last: 8\ntrain:\n  batch: 4\n  "
             "steps: 2\n", p);
    FILE *f = fopen(yaml, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    bp_error err = {0};
    bp_model_config *c = bp_model_config_load(yaml, NULL, 0, &err);
    cr_assert_not_null(c, "%s", err.msg);
    bp_task *t = open_shard(p, 1, 2, &err);
    cr_assert_not_null(t, "%s", err.msg);
    bp_trainer *tr = bp_trainer_new_with_task(c, t, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    double loss;
    bp_step_info info;
    cr_expect_eq(bp_trainer_step(tr, &loss, &info, &err), BP_ERR_VALUE);
    cr_expect(strstr(err.msg, "shard 1 of 2") && strstr(err.msg, "bp_trainer_set_dist"), "%s",
              err.msg);
    bp_trainer_free(tr);
    bp_model_config_free(c);
}

/* A stand-in for MPI's broadcast from shard 0: on shard 0 it records what it is given, on
 * another it plays the recording back, checking that the calls come in the same sizes. */
typedef struct tape_of_bytes {
    unsigned char *bytes;
    size_t len, at, calls, played;
    size_t sizes[64];
    bool play;
} tape_of_bytes;

static bp_status record_or_play(void *ctx, void *buf, size_t n, bp_error *err)
{
    (void)err;
    tape_of_bytes *t = ctx;
    if (!t->play) {
        cr_assert_lt(t->calls, 64);
        t->sizes[t->calls++] = n;
        t->bytes = realloc(t->bytes, t->len + n);
        memcpy(t->bytes + t->len, buf, n);
        t->len += n;
    } else {
        cr_assert_lt(t->played, t->calls, "more broadcasts than shard 0 made");
        cr_assert_eq(n, t->sizes[t->played], "broadcast %zu", t->played);
        t->played++;
        memcpy(buf, t->bytes + t->at, n);
        t->at += n;
    }
    return BP_OK;
}

static bp_task *open_csv_shard(const char *csv, int shard, tape_of_bytes *tape, bp_error *err)
{
    bp_file_set_opts o;
    bp_file_set_opts_default(&o);
    snprintf(o.train.x, sizeof o.train.x, "%s", csv);
    o.csv_features = 2;
    o.csv_label_last = true;
    o.valid_last = 4;
    o.shard = shard;
    o.shards = 2;
    o.share = record_or_play;
    o.share_ctx = tape;
    tape->play = shard != 0;
    return bp_task_files(&o, err);
}

Test(shards, a_csv_file_is_read_by_shard_0_alone_and_shared)
{
    char csv[128], text[4096];
    snprintf(csv, sizeof csv, "%s/d.csv", dir);
    size_t k = 0;
    for (int r = 0; r < 20; r++) /* 3 steps of 2 features, shorter rows ending in NaN */
        k += (size_t)snprintf(text + k, sizeof text - k, "%d,%d,%d,%d,%s,%s,%d\n", r, r + 1,
                              r + 2, r + 3, r % 3 ? "4" : "nan", r % 3 ? "5" : "nan", r % 4);
    FILE *f = fopen(csv, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    tape_of_bytes tape = {0};
    bp_error err = {0};
    bp_task *t0 = open_csv_shard(csv, 0, &tape, &err);
    cr_assert_not_null(t0, "%s", err.msg);
    cr_assert_eq(unlink(csv), 0); /* shard 1 must not need the file */
    bp_task *t1 = open_csv_shard(csv, 1, &tape, &err);
    cr_assert_not_null(t1, "without the file: %s", err.msg);
    cr_expect_eq(tape.played, tape.calls);
    cr_expect_eq(bp_task_rows(t1, BP_SPLIT_TRAIN), 16);
    cr_expect_eq(bp_task_output_size(t1), 4);
    /* the validation rows (whole slices) are the same bits on both */
    bp_batch *a = bp_task_slice(t0, BP_SPLIT_EVAL, 0, 4, &err), *b = bp_task_slice(t1, BP_SPLIT_EVAL, 0, 4, &err);
    cr_assert(a && b, "%s", err.msg);
    cr_expect(!memcmp(a->x, b->x, 4 * 3 * 2 * sizeof *a->x));
    cr_expect(!memcmp(a->y, b->y, 4 * sizeof *a->y));
    cr_expect(!memcmp(a->len, b->len, 4 * sizeof *a->len));
    bp_batch_free(a);
    bp_batch_free(b);
    bp_task_free(t0);
    bp_task_free(t1);
    free(tape.bytes);

    /* shard 0's parse error is every shard's, as it said it */
    f = fopen(csv, "w");
    cr_assert_not_null(f);
    fputs("1,2,3,4,5,6,0\n1,2,x,4,5,6,1\n", f);
    fclose(f);
    tape = (tape_of_bytes){0};
    cr_expect_null(open_csv_shard(csv, 0, &tape, &err));
    char said[sizeof err.msg];
    memcpy(said, err.msg, sizeof said);
    cr_expect(strstr(said, "d.csv:2:3"), "%s", said);
    cr_expect_null(open_csv_shard(csv, 1, &tape, &err));
    cr_expect_str_eq(err.msg, said);
    cr_expect_eq(tape.played, tape.calls);
    free(tape.bytes);
}
