/* test_datasets.c — data sets read from files: every format and target kind, the
 * validation splits, the epoch stream, the data set's baseline, training and resuming on
 * file data bit for bit, checkpoints' data signature, prediction, and the refusals. */
#include "test_st_set.h"

#include <criterion/criterion.h>

#define TEST_DIR_PREFIX "bptt_data"
#include "test_tmpdir.h"
TestSuite(datasets, .fini = test_dir_remove);
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *path(const char *name)
{
    return test_path(name);
}

static void write_text(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static bp_task *open_set(const char *x, bp_file_set_opts *o, bp_error *err)
{
    snprintf(o->train.x, sizeof o->train.x, "%s", x);
    return bp_task_files(o, err);
}

Test(datasets, safetensors_with_lengths_reads_shapes_targets_and_rows)
{
    const char *p = path("set.safetensors");
    write_st_set(p, true, -1, 0);
    bp_file_set_opts o;
    bp_file_set_opts_default(&o);
    o.valid_last = 10;
    bp_error err = {0};
    bp_task *t = open_set(p, &o, &err);
    cr_assert_not_null(t, "%s", err.msg);
    cr_expect_str_eq(bp_task_name(t), "files");
    cr_expect_eq(bp_task_steps(t), T);
    cr_expect_eq(bp_task_input_size(t), I);
    cr_expect_eq(bp_task_target(t), BP_TARGET_CLASS_LAST);
    cr_expect_eq(bp_task_output_size(t), 3);
    cr_expect_eq(bp_task_rows(t, BP_SPLIT_TRAIN), 30);
    cr_expect_eq(bp_task_rows(t, BP_SPLIT_EVAL), 10);
    /* the validation rows are the file's last 10, in order, with their lengths; padding
     * (NaN in the file) reads as zeros */
    bp_batch *b = bp_task_slice(t, BP_SPLIT_EVAL, 0, 10, &err);
    cr_assert_not_null(b, "%s", err.msg);
    cr_assert_not_null(b->len);
    for (int k = 0; k < 10; k++) {
        int r = 30 + k;
        cr_expect_eq(b->len[k], 1 + r % T);
        cr_expect_eq(b->y[k], r % 3);
        cr_expect_float_eq(b->x[(size_t)k * T * I + 1], r + 0.01, 1e-5);
        for (int s = b->len[k]; s < T; s++)
            cr_expect_eq(b->x[((size_t)k * T + s) * I], 0);
    }
    bp_batch_free(b);
    cr_expect_null(bp_task_slice(t, BP_SPLIT_EVAL, 5, 6, &err));
    cr_expect(strstr(err.msg, "rows [5, 11) are not within its 10 rows"), "%s", err.msg);
    bp_task_free(t);
}

Test(datasets, each_epoch_visits_every_training_row_once_in_its_own_seeded_order)
{
    const char *p = path("epochs.safetensors");
    write_st_set(p, false, -1, 0);
    bp_file_set_opts o;
    bp_file_set_opts_default(&o);
    o.valid_fraction = 0.25;
    o.seed = 5;
    bp_error err = {0};
    bp_task *t = open_set(p, &o, &err);
    cr_assert_not_null(t, "%s", err.msg);
    long n = bp_task_rows(t, BP_SPLIT_TRAIN);
    cr_assert_eq(n, 30);
    cr_assert_eq(bp_task_rows(t, BP_SPLIT_EVAL), 10);
    /* rows are told apart by x[r, 0, 0] = r; batches of 7 straddle the epochs */
    int seen[2][N] = {{0}}, first[2][7];
    for (long step = 0; step < 60 / 7 + 1; step++) {
        bp_batch *b = bp_task_train_batch(t, 7, step, NULL, &err);
        cr_assert_not_null(b, "%s", err.msg);
        for (int k = 0; k < 7; k++) {
            long pos = step * 7 + k;
            if (pos >= 60)
                break;
            int r = (int)b->x[(size_t)k * T * I];
            seen[pos / n][r]++;
            if (step == 0)
                first[0][k] = r;
        }
        bp_batch_free(b);
    }
    bp_batch *v = bp_task_slice(t, BP_SPLIT_EVAL, 0, 10, &err);
    for (int e = 0; e < 2; e++)
        for (int r = 0; r < N; r++) {
            bool valid = false;
            for (int k = 0; k < 10; k++)
                valid |= (int)v->x[(size_t)k * T * I] == r;
            cr_expect_eq(seen[e][r], valid ? 0 : 1, "epoch %d, row %d seen %d times", e, r,
                         seen[e][r]);
        }
    bp_batch_free(v);
    /* the same step gives the same rows (a resumed run draws what it would have) */
    bp_batch *again = bp_task_train_batch(t, 7, 0, NULL, &err);
    for (int k = 0; k < 7; k++)
        cr_expect_eq((int)again->x[(size_t)k * T * I], first[0][k]);
    bp_batch_free(again);
    bp_task_free(t);
}

Test(datasets, numpy_files_with_per_step_values)
{
    float x[N * T], y[N * T * 2];
    int64_t len[N];
    for (int r = 0; r < N; r++) {
        len[r] = T - r % 2;
        for (int t = 0; t < T; t++) {
            x[r * T + t] = (float)(r * 0.1 + t);
            y[(r * T + t) * 2] = (float)t;
            y[(r * T + t) * 2 + 1] = -(float)t;
        }
    }
    bp_error err = {0};
    cr_assert_eq(bp_npy_save(path("x.npy"), BP_DTYPE_F32, bp_shape2(N, T), x, &err), BP_OK, "%s", err.msg);
    cr_assert_eq(bp_npy_save(path("y.npy"), BP_DTYPE_F32, (bp_shape){3, {N, T, 2}}, y, &err), BP_OK);
    cr_assert_eq(bp_npy_save(path("len.npy"), BP_DTYPE_I64, bp_shape1(N), len, &err), BP_OK);
    bp_file_set_opts o;
    bp_file_set_opts_default(&o);
    snprintf(o.train.y, sizeof o.train.y, "%s", path("y.npy"));
    snprintf(o.train.lengths, sizeof o.train.lengths, "%s", path("len.npy"));
    bp_task *t = open_set(path("x.npy"), &o, &err);
    cr_assert_not_null(t, "%s", err.msg);
    cr_expect_eq(bp_task_target(t), BP_TARGET_VALUES_SEQ);
    cr_expect_eq(bp_task_output_size(t), 2);
    cr_expect_eq(bp_task_input_size(t), 1);
    /* no validation set: evaluation reads the training rows */
    cr_expect_eq(bp_task_rows(t, BP_SPLIT_EVAL), N);
    bp_batch *b = bp_task_slice(t, BP_SPLIT_EVAL, 1, 1, &err);
    cr_assert_not_null(b, "%s", err.msg);
    cr_expect_eq(b->len[0], T - 1);
    cr_expect_eq(b->y[(T - 2) * 2 + 1], -(T - 2));
    cr_expect_eq(b->y[(T - 1) * 2], 0, "zeros past the end");
    /* the baseline predicts the training mean of each output, over the steps within */
    cr_expect(isfinite(bp_task_baseline(t)));
    cr_expect_float_eq(bp_task_baseline(t), bp_task_baseline_metric(t), 1e-12);
    bp_batch_free(b);
    bp_task_free(t);
}

Test(datasets, csv_labels_map_to_classes_and_padding_to_lengths)
{
    const char *p = path("set.csv");
    write_text(p, "label,a,b,c\n7,1,2,3\n3,4,NaN,\n7,5,6,NaN\n3,1,1,1\n");
    bp_file_set_opts o;
    bp_file_set_opts_default(&o);
    bp_error err = {0};
    bp_task *t = open_set(p, &o, &err);
    cr_assert_not_null(t, "%s", err.msg);
    cr_expect_eq(bp_task_output_size(t), 2);
    cr_expect_eq(bp_task_class_value(t, 0), 3);
    cr_expect_eq(bp_task_class_value(t, 1), 7);
    bp_batch *b = bp_task_slice(t, BP_SPLIT_EVAL, 0, 4, &err);
    cr_assert_not_null(b, "%s", err.msg);
    int want_len[4] = {3, 1, 2, 3}, want_y[4] = {1, 0, 1, 0};
    for (int r = 0; r < 4; r++) {
        cr_expect_eq(b->len[r], want_len[r]);
        cr_expect_eq(b->y[r], want_y[r]);
    }
    /* majority class: a tie, the first (3) wins; accuracy 2/4 on the same rows */
    cr_expect_float_eq(bp_task_baseline_metric(t), 0.5, 1e-12);
    bp_batch_free(b);
    bp_task_free(t);
    /* a validation file whose label the training set never had */
    const char *v = path("valid.csv");
    write_text(v, "5,1,2,3\n");
    snprintf(o.valid.x, sizeof o.valid.x, "%s", v);
    o.csv_header = -1;
    cr_expect_null(open_set(p, &o, &err));
    cr_expect(strstr(err.msg, "valid.csv:1: label 5 is not among the training set's 2 classes"),
              "%s", err.msg);
}

static void expect_refused(const char *p, const bp_file_set_opts *base, const char *msg)
{
    bp_file_set_opts o = *base;
    bp_error err = {0};
    bp_task *t = open_set(p, &o, &err);
    cr_expect_null(t, "%s was accepted", p);
    bp_task_free(t);
    cr_expect(strstr(err.msg, msg), "message \"%s\" lacks \"%s\"", err.msg, msg);
    cr_expect(strstr(err.msg, p), "message \"%s\" does not name %s", err.msg, p);
}

Test(datasets, bad_data_is_refused_naming_the_file_and_the_place)
{
    bp_file_set_opts o;
    bp_file_set_opts_default(&o);
    const char *p = path("bad.safetensors");
    write_st_set(p, true, 7, 0); /* row 7: within its length */
    expect_refused(p, &o, "x[7, 0, 1] is nan");
    write_st_set(p, true, -1, T + 1);
    expect_refused(p, &o, "lengths[3] is 6, not in [1, 5]");
    write_st_set(p, true, -1, -2);
    expect_refused(p, &o, "lengths[3] is -2");
    write_st_set(p, false, -1, 0);
    o.valid_last = N;
    expect_refused(p, &o, "40 sequences, too few to hold out 40");
    o.valid_last = 0;
    expect_refused(path("set.parquet"), &o, "unknown data format");
    expect_refused(path("missing.safetensors"), &o, "missing.safetensors");
    /* y that does not fit x */
    float x[4 * 3] = {0};
    int32_t y[3] = {0, 1, -1};
    bp_st_writer *w = bp_st_writer_new();
    bp_st_writer_add_raw(w, "x", BP_DTYPE_F32, bp_shape2(4, 3), x, NULL);
    bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape1(3), y, NULL);
    bp_st_writer_save(w, p, NULL);
    bp_st_writer_free(w);
    expect_refused(p, &o, "y is [3] but x has 4 sequences");
    w = bp_st_writer_new();
    bp_st_writer_add_raw(w, "x", BP_DTYPE_F32, bp_shape2(3, 4), x, NULL);
    bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape1(3), y, NULL);
    bp_st_writer_save(w, p, NULL);
    bp_st_writer_free(w);
    expect_refused(p, &o, "y[2] is -1, not a class id");
    /* a token id that is not whole: token ids are an integer x, so a float x [N, T] holding
     * 2.5 is one feature per step (I = 1), not tokens; an integer id below 0 or of 2^24 or
     * more is not a token id */
    float tok[2 * 2] = {1, 2.5f, 0, 1};
    int32_t ty[2] = {0, 1};
    w = bp_st_writer_new();
    bp_st_writer_add_raw(w, "x", BP_DTYPE_F32, bp_shape2(2, 2), tok, NULL);
    bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape1(2), ty, NULL);
    cr_assert_eq(bp_st_writer_save(w, p, NULL), BP_OK);
    bp_st_writer_free(w);
    bp_error err = {0};
    bp_task *ok = open_set(p, &o, &err);
    cr_assert_not_null(ok, "%s", err.msg);
    cr_expect_not(bp_task_tokens(ok));
    cr_expect_eq(bp_task_input_size(ok), 1);
    bp_batch *fb = bp_task_slice(ok, BP_SPLIT_EVAL, 0, 1, &err);
    cr_assert_not_null(fb, "%s", err.msg);
    cr_expect_float_eq(fb->x[1], 2.5, 1e-6, "read as the value it is");
    bp_batch_free(fb);
    bp_task_free(ok);
    int32_t neg[2 * 2] = {1, 2, 0, -3};
    w = bp_st_writer_new();
    bp_st_writer_add_raw(w, "x", BP_DTYPE_I32, bp_shape2(2, 2), neg, NULL);
    bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape1(2), ty, NULL);
    cr_assert_eq(bp_st_writer_save(w, p, NULL), BP_OK);
    bp_st_writer_free(w);
    expect_refused(p, &o, "x[1, 1] is -3, not a token id (a whole number in [0, 2^24))");
    int64_t big[2 * 2] = {1, 2, (int64_t)1 << 40, 0};
    w = bp_st_writer_new();
    bp_st_writer_add_raw(w, "x", BP_DTYPE_I64, bp_shape2(2, 2), big, NULL);
    bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape1(2), ty, NULL);
    cr_assert_eq(bp_st_writer_save(w, p, NULL), BP_OK);
    bp_st_writer_free(w);
    expect_refused(p, &o, "x[1, 0] is 1.09951e+12, not a token id");
    /* a NumPy x without its y */
    cr_assert_eq(bp_npy_save(path("lonely.npy"), BP_DTYPE_F32, bp_shape2(2, 2), x, &err), BP_OK);
    expect_refused(path("lonely.npy"), &o, "needs its targets too");
}

/* ---------------------------------------------------------------- training on files */

static bp_model_config *model(const char *yaml, const char *const sets[], int n)
{
    const char *p = path("model.yaml");
    write_text(p, yaml);
    bp_error err = {0};
    bp_model_config *c = bp_model_config_load(p, sets, n, &err);
    cr_assert_not_null(c, "%s", err.msg);
    return c;
}

static const char *gru_model =
    "model:\n  layers:\n    - {type: gru, hidden: 6}\n"
    "data:\n  train: set.safetensors\n  valid_split: 0.2\n"
    "train: {batch: 8, steps: 6, optimizer: adam, lr: 0.01, eval_batch: 5}\n";

Test(datasets, training_on_file_data_resumes_bit_for_bit)
{
    write_st_set(path("set.safetensors"), true, -1, 0);
    bp_model_config *c = model(gru_model, NULL, 0);
    cr_expect_str_eq(c->data.task, "files");
    bp_error err = {0};
    bp_trainer *a = bp_trainer_new(c, &err), *b = bp_trainer_new(c, &err);
    cr_assert_not_null(a, "%s", err.msg);
    double loss;
    for (int i = 0; i < 6; i++)
        cr_assert_eq(bp_trainer_step(a, &loss, NULL, &err), BP_OK, "%s", err.msg);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(bp_trainer_step(b, &loss, NULL, &err), BP_OK, "%s", err.msg);
    const char *ck = path("ck.safetensors");
    cr_assert_eq(bp_trainer_save(b, ck, &err), BP_OK, "%s", err.msg);
    bp_trainer_free(b);
    b = bp_trainer_new(c, &err);
    cr_assert_eq(bp_trainer_load(b, ck, false, &err), BP_OK, "%s", err.msg);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(bp_trainer_step(b, &loss, NULL, &err), BP_OK, "%s", err.msg);
    bp_params *pa = bp_trainer_params(a), *pb = bp_trainer_params(b);
    for (int i = 0; i < bp_params_count(pa); i++)
        cr_expect_eq(memcmp(bp_params_at(pa, i)->value, bp_params_at(pb, i)->value,
                            bp_params_at(pa, i)->size * sizeof(bp_real)), 0, "%s differs",
                     bp_params_at(pa, i)->name);
    /* the evaluation reads the whole validation split (8 rows, eval_batch 5: two slices) */
    bp_net_eval ev;
    cr_assert_eq(bp_trainer_eval(a, &ev, &err), BP_OK, "%s", err.msg);
    cr_expect(ev.metric >= 0 && ev.metric <= 1);
    bp_trainer_free(a);
    bp_trainer_free(b);
    bp_model_config_free(c);
}

Test(datasets, a_checkpoint_carries_the_data_signature_for_prediction)
{
    write_st_set(path("set.safetensors"), true, -1, 0);
    bp_model_config *c = model(gru_model, NULL, 0);
    bp_error err = {0};
    bp_trainer *tr = bp_trainer_new(c, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    const char *ck = path("sig.safetensors");
    cr_assert_eq(bp_trainer_save(tr, ck, &err), BP_OK, "%s", err.msg);
    bp_task *sig = bp_checkpoint_task(ck, &err);
    cr_assert_not_null(sig, "%s", err.msg);
    cr_expect_eq(bp_task_steps(sig), T);
    cr_expect_eq(bp_task_input_size(sig), I);
    cr_expect_eq(bp_task_output_size(sig), 3);
    cr_expect_eq(bp_task_target(sig), BP_TARGET_CLASS_LAST);
    cr_expect_not(bp_task_has_data(sig));
    cr_expect_null(bp_task_batch(sig, 2, BP_SPLIT_TRAIN, &(bp_rng){{1, 2, 3, 4}}, &err));
    bp_trainer *pt = bp_trainer_new_with_task(c, sig, &err);
    cr_assert_not_null(pt, "%s", err.msg);
    cr_assert_eq(bp_trainer_load(pt, ck, true, &err), BP_OK, "%s", err.msg);
    /* predictions: probabilities that sum to 1, the same from both trainers */
    bp_batch *b = bp_task_slice(bp_trainer_task(tr), BP_SPLIT_EVAL, 0, 8, &err);
    cr_assert_not_null(b, "%s", err.msg);
    bp_real p1[8 * 3], p2[8 * 3];
    cr_assert_eq(bp_net_predict(bp_trainer_net(tr), bp_trainer_tape(tr), b, NULL, p1, &err), BP_OK,
                 "%s", err.msg);
    cr_assert_eq(bp_net_predict(bp_trainer_net(pt), bp_trainer_tape(pt), b, NULL, p2, &err), BP_OK);
    for (int r = 0; r < 8; r++) {
        double s = p1[r * 3] + p1[r * 3 + 1] + p1[r * 3 + 2];
        cr_expect_float_eq(s, 1.0, 1e-12);
    }
    cr_expect_eq(memcmp(p1, p2, sizeof p1), 0);
    bp_batch_free(b);
    bp_trainer_free(pt);
    bp_trainer_free(tr);
    bp_model_config_free(c);
}

Test(datasets, a_model_that_does_not_fit_the_data_is_refused_naming_both)
{
    write_st_set(path("set.safetensors"), true, -1, 0);
    const char *sets1[] = {"model.input=3"};
    bp_model_config *c = model(gru_model, sets1, 1);
    bp_error err = {0};
    cr_expect_null(bp_trainer_new(c, &err));
    cr_expect(strstr(err.msg, "input is 3 but the data set has 2 features per step"), "%s", err.msg);
    bp_model_config_free(c);
    const char *sets2[] = {"model.output=2"};
    c = model(gru_model, sets2, 1);
    cr_expect_null(bp_trainer_new(c, &err));
    cr_expect(strstr(err.msg, "set.safetensors: y[2] is 2, but the model's output is 2 classes "
                              "(ids 0..1)"), "%s", err.msg);
    bp_model_config_free(c);
    const char *sets3[] = {"loss=mse"};
    c = model(gru_model, sets3, 1);
    cr_expect_null(bp_trainer_new(c, &err));
    cr_expect(strstr(err.msg, "loss 'mse' does not fit the data set's class targets"), "%s", err.msg);
    bp_model_config_free(c);
    /* value targets' width must match, said in the singular for one */
    float vx[4 * 3] = {0}, vy[4] = {1, 2, 3, 4};
    bp_st_writer *w = bp_st_writer_new();
    bp_st_writer_add_raw(w, "x", BP_DTYPE_F32, bp_shape2(4, 3), vx, NULL);
    bp_st_writer_add_raw(w, "y", BP_DTYPE_F32, bp_shape1(4), vy, NULL);
    cr_assert_eq(bp_st_writer_save(w, path("values.safetensors"), &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
    const char *wide[] = {"model.output=2"};
    c = model("model:\n  layers:\n    - {type: rnn, hidden: 4}\ndata: {train: values.safetensors}\n"
              "train: {batch: 2, steps: 2}\n", wide, 1);
    cr_expect_null(bp_trainer_new(c, &err));
    cr_expect(strstr(err.msg, "model: output is 2 but the data set's targets have 1 value"),
              "%s", err.msg);
    cr_expect_not(strstr(err.msg, "1 values"), "%s", err.msg);
    bp_model_config_free(c);
    /* epochs: passes over the rows; a generated task has none */
    const char *sets4[] = {"train.epochs=2"};
    const char *yaml = "model:\n  layers:\n    - {type: gru, hidden: 6}\n"
                       "data:\n  train: set.safetensors\n  valid_split: 0.2\n"
                       "train: {batch: 8, optimizer: adam}\n";
    c = model(yaml, sets4, 1);
    bp_trainer *tr = bp_trainer_new(c, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    cr_expect_eq(bp_trainer_config(tr)->train.steps, 8); /* ceil(2 * 32 / 8) */
    /* the checkpoint's signature has no rows to count: predict builds its trainer still */
    const char *ck = path("epochs_ck.safetensors");
    cr_assert_eq(bp_trainer_save(tr, ck, &err), BP_OK, "%s", err.msg);
    bp_trainer_free(tr);
    const char *warm[] = {"train.epochs=2", "train.warmup_steps=3"};
    bp_model_config *cw = model(yaml, warm, 2);
    bp_task *sig = bp_checkpoint_task(ck, &err);
    cr_assert_not_null(sig, "%s", err.msg);
    tr = bp_trainer_new_with_task(cw, sig, &err);
    cr_expect_not_null(tr, "%s", err.msg);
    bp_trainer_free(tr);
    bp_model_config_free(cw);
    /* a built-in task's model file refuses epochs, its default or explicit steps beside */
    const char *adding = "model:\n  layers:\n    - {type: rnn, hidden: 4}\n"
                         "data: {task: adding, steps: 5}\ntrain: {batch: 2}\n";
    write_text(path("adding.yaml"), adding);
    const char *both[] = {"train.epochs=2", "train.steps=10"};
    for (int n = 1; n <= 2; n++) {
        cr_expect_null(bp_model_config_load(path("adding.yaml"), both, n, &err));
        cr_expect(strstr(err.msg, "'train.epochs' is for data files (data.train): the adding "
                                  "task draws fresh sequences"), "%s", err.msg);
    }
    /* and so does the trainer, for a configuration made in C */
    bp_model_config_free(c);
    c = bp_model_config_load(path("adding.yaml"), NULL, 0, &err);
    cr_assert_not_null(c, "%s", err.msg);
    c->train.epochs = 2;
    cr_expect_null(bp_trainer_new(c, &err));
    cr_expect(strstr(err.msg, "train.epochs counts passes over a data set's rows; the adding task "
                              "draws fresh sequences: give train.steps alone"), "%s", err.msg);
    bp_model_config_free(c);
}

/* The largest class id or token id above the model's: the error names the file and the
 * element (the first place of the largest), from the training or the validation file. */
Test(datasets, ids_beyond_the_models_classes_or_vocab_name_the_file_and_the_element)
{
    enum { M = 4, S = 3 };
    int32_t x[M * S] = {0, 1, 2, 1, 4, 0, 2, 9, 1, 9, 0, 0}, y[M] = {0, 2, 7, 7};
    bp_error err = {0};
    cr_assert_eq(bp_npy_save(path("x.npy"), BP_DTYPE_I32, bp_shape2(M, S), x, &err), BP_OK);
    cr_assert_eq(bp_npy_save(path("y.npy"), BP_DTYPE_I32, bp_shape1(M), y, &err), BP_OK);
    const char *yaml = "model:\n  vocab: 10\n  output: 3\n  layers:\n    - {type: rnn, hidden: 4}\n"
                       "data: {train: {x: x.npy, y: y.npy}}\ntrain: {batch: 2, steps: 2}\n";
    bp_model_config *c = model(yaml, NULL, 0);
    cr_expect_null(bp_trainer_new(c, &err));
    cr_expect(strstr(err.msg, "y.npy: y[2] is 7, but the model's output is 3 classes (ids 0..2)"),
              "%s", err.msg);
    bp_model_config_free(c);
    const char *vocab[] = {"model.vocab=5", "model.output=8"};
    c = model(yaml, vocab, 2);
    cr_expect_null(bp_trainer_new(c, &err));
    cr_expect(strstr(err.msg, "x.npy: x[2, 1] is token 9, but the model's vocab is 5"), "%s",
              err.msg);
    bp_model_config_free(c);
    /* a validation file's token ids count toward the vocabulary the data set needs */
    int32_t vx[2 * S] = {0, 1, 2, 3, 12, 0}, vy[2] = {0, 1};
    cr_assert_eq(bp_npy_save(path("vx.npy"), BP_DTYPE_I32, bp_shape2(2, S), vx, &err), BP_OK);
    cr_assert_eq(bp_npy_save(path("vy.npy"), BP_DTYPE_I32, bp_shape1(2), vy, &err), BP_OK);
    const char *with_valid = "model:\n  layers:\n    - {type: rnn, hidden: 4}\n"
                             "data: {train: {x: x.npy, y: y.npy}, valid: {x: vx.npy, y: vy.npy}}\n"
                             "train: {batch: 2, steps: 2}\n";
    c = model(with_valid, NULL, 0);
    bp_trainer *tr = bp_trainer_new(c, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    cr_expect_eq(bp_task_input_size(bp_trainer_task(tr)), 13);
    bp_net_eval ev;
    cr_expect_eq(bp_trainer_eval(tr, &ev, &err), BP_OK, "%s", err.msg);
    bp_trainer_free(tr);
    bp_model_config_free(c);
    const char *small[] = {"model.vocab=10"};
    c = model(with_valid, small, 1);
    cr_expect_null(bp_trainer_new(c, &err));
    cr_expect(strstr(err.msg, "vx.npy: x[1, 1] is token 12, but the model's vocab is 10"), "%s",
              err.msg);
    bp_model_config_free(c);
    /* a CSV's classes are its labels: too few for them names the file */
    write_text(path("three.csv"), "1,0.5\n2,0.1\n3,0.2\n");
    const char *two[] = {"model.output=2"};
    c = model("model:\n  layers:\n    - {type: rnn, hidden: 4}\ndata: {train: three.csv}\n"
              "train: {batch: 2, steps: 2}\n", two, 1);
    cr_expect_null(bp_trainer_new(c, &err));
    cr_expect(strstr(err.msg, "three.csv: its labels are 3 classes, but the model's output is 2 "
                              "classes (ids 0..1)"), "%s", err.msg);
    bp_model_config_free(c);
    /* predict's inputs: an id the model has no embedding for, with its place */
    bp_file_set_opts o;
    bp_file_set_opts_default(&o);
    o.inputs_only = true;
    o.target = BP_TARGET_CLASS_LAST;
    o.O = 3;
    o.vocab = 9;
    expect_refused(path("x.npy"), &o, "x[2, 1] is token 9, but the model's vocab is 9");
    o.vocab = 10;
    bp_task *t = open_set(path("x.npy"), &o, &err);
    cr_expect_not_null(t, "%s", err.msg);
    bp_task_free(t);
}

/* model.output above the data's classes (docs/models.md: classes may be larger than the
 * data holds): the batches carry the model's classes, so it trains, evaluates and
 * predicts a probability for every one; the checkpoint's signature says them all. */
Test(datasets, a_model_with_more_classes_than_the_data_trains_and_predicts_them_all)
{
    write_st_set(path("set.safetensors"), true, -1, 0);
    const char *five[] = {"model.output=5"};
    bp_model_config *c = model(gru_model, five, 1), *c3 = model(gru_model, NULL, 0);
    bp_error err = {0};
    bp_trainer *tr = bp_trainer_new(c, &err), *t3 = bp_trainer_new(c3, &err);
    cr_assert(tr && t3, "%s", err.msg);
    bp_task *task = bp_trainer_task(tr);
    cr_expect_eq(bp_task_output_size(task), 5);
    /* the majority class is the same; the prior's loss is over 5 classes, not 3 */
    cr_expect_float_eq(bp_task_baseline_metric(task), bp_task_baseline_metric(bp_trainer_task(t3)),
                       1e-12);
    cr_expect_gt(bp_task_baseline(task), bp_task_baseline(bp_trainer_task(t3)));
    double loss;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(bp_trainer_step(tr, &loss, NULL, &err), BP_OK, "%s", err.msg);
    bp_net_eval ev;
    cr_assert_eq(bp_trainer_eval(tr, &ev, &err), BP_OK, "%s", err.msg);
    cr_expect(isfinite(ev.loss) && ev.metric >= 0 && ev.metric <= 1);
    bp_batch *b = bp_task_slice(task, BP_SPLIT_EVAL, 0, 8, &err);
    cr_assert_not_null(b, "%s", err.msg);
    cr_expect_eq(b->O, 5);
    bp_real p[8 * 5];
    for (int i = 0; i < 8 * 5; i++)
        p[i] = (bp_real)NAN; /* a predict that wrote 3 classes fails the sums below */
    cr_assert_eq(bp_net_predict(bp_trainer_net(tr), bp_trainer_tape(tr), b, NULL, p, &err), BP_OK,
                 "%s", err.msg);
    for (int r = 0; r < 8; r++) {
        double sum = 0;
        for (int k = 0; k < 5; k++)
            sum += p[r * 5 + k];
        cr_expect_float_eq(sum, 1.0, 1e-5);
        cr_expect_gt(p[r * 5 + 4], 0);
    }
    bp_batch_free(b);
    const char *ck = path("five.safetensors");
    cr_assert_eq(bp_trainer_save(tr, ck, &err), BP_OK, "%s", err.msg);
    bp_task *sig = bp_checkpoint_task(ck, &err);
    cr_assert_not_null(sig, "%s", err.msg);
    cr_expect_eq(bp_task_output_size(sig), 5);
    bp_task_free(sig);
    bp_trainer_free(tr);
    bp_trainer_free(t3);
    bp_model_config_free(c);
    bp_model_config_free(c3);
    /* per-step classes of a token set: vocab 8 and output 7 over ids up to 3 and 2 */
    enum { M = 6, S = 4 };
    int32_t x[M * S], y[M * S];
    for (int i = 0; i < M * S; i++)
        x[i] = i % 4, y[i] = (i + 1) % 3;
    bp_st_writer *w = bp_st_writer_new();
    bp_st_writer_add_raw(w, "x", BP_DTYPE_I32, bp_shape2(M, S), x, NULL);
    bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape2(M, S), y, NULL);
    cr_assert_eq(bp_st_writer_save(w, path("tok.safetensors"), &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
    c = model("model:\n  vocab: 8\n  output: 7\n  layers:\n    - {type: rnn, hidden: 4}\n"
              "data: {train: tok.safetensors}\ntrain: {batch: 3, steps: 2}\n", NULL, 0);
    tr = bp_trainer_new(c, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    cr_expect_eq(bp_task_output_size(bp_trainer_task(tr)), 7);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(bp_trainer_step(tr, &loss, NULL, &err), BP_OK, "%s", err.msg);
    cr_assert_eq(bp_trainer_eval(tr, &ev, &err), BP_OK, "%s", err.msg);
    bp_trainer_free(tr);
    bp_model_config_free(c);
}

/* Per-step targets over sequences of their own lengths: the batch's loss is the mean over
 * the (row, step) pairs within them, whoever computes it — 2 threads (each a share of the
 * rows, weighted by its pairs) or truncated BPTT (each chunk weighted by its pairs) give
 * the 1-thread, whole-sequence loss. */
Test(datasets, threads_and_truncation_weigh_variable_lengths_by_their_steps)
{
    enum { M = 12, S = 7 };
    float x[M * S], y[M * S * 2];
    int32_t len[M];
    bp_rng rng;
    bp_rng_seed(&rng, 9);
    for (int r = 0; r < M; r++) {
        len[r] = 1 + (int)bp_rng_below(&rng, S);
        for (int i = 0; i < S; i++)
            x[r * S + i] = (float)bp_rng_uniform(&rng);
        for (int i = 0; i < 2 * S; i++)
            y[r * 2 * S + i] = (float)bp_rng_uniform(&rng);
    }
    bp_st_writer *w = bp_st_writer_new();
    bp_st_writer_add_raw(w, "x", BP_DTYPE_F32, bp_shape2(M, S), x, NULL);
    bp_st_writer_add_raw(w, "y", BP_DTYPE_F32, (bp_shape){3, {M, S, 2}}, y, NULL);
    bp_st_writer_add_raw(w, "lengths", BP_DTYPE_I32, bp_shape1(M), len, NULL);
    bp_error err = {0};
    cr_assert_eq(bp_st_writer_save(w, path("seq.safetensors"), &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
    const char *yaml = "model:\n  layers:\n    - {type: lstm, hidden: 5}\n"
                       "data: {train: seq.safetensors}\n"
                       "train: {batch: 12, steps: 2, optimizer: sgd, lr: 0.1}\n";
    const char *two[] = {"train.threads=2"}, *cut[] = {"model.truncate=3"};
    bp_model_config *c1 = model(yaml, NULL, 0), *c2 = model(yaml, two, 1), *c3 = model(yaml, cut, 1);
    bp_trainer *t1 = bp_trainer_new(c1, &err), *t2 = bp_trainer_new(c2, &err),
               *t3 = bp_trainer_new(c3, &err);
    cr_assert(t1 && t2 && t3, "%s", err.msg);
    bp_batch *b = bp_task_slice(bp_trainer_task(t1), BP_SPLIT_EVAL, 0, M, &err);
    cr_assert_not_null(b, "%s", err.msg);
    cr_assert_not_null(b->len, "the set has short rows");
    double l1, l3;
    cr_assert_eq(bp_trainer_grads(t1, b, &l1, &err), BP_OK, "%s", err.msg);
    cr_assert_eq(bp_trainer_grads(t3, b, &l3, &err), BP_OK, "%s", err.msg);
    cr_expect(fabs(l1 - l3) < 1e-12, "truncated %.17g, whole %.17g", l3, l1);
    bp_params_zero_grad(bp_trainer_params(t1)); /* grads leaves them; a step adds */
    double s1, s2;
    cr_assert_eq(bp_trainer_step(t1, &s1, NULL, &err), BP_OK, "%s", err.msg);
    cr_assert_eq(bp_trainer_step(t2, &s2, NULL, &err), BP_OK, "%s", err.msg);
    cr_expect(fabs(s1 - s2) < 1e-12, "2 threads %.17g, 1 thread %.17g", s2, s1);
    cr_expect(fabs(s1 - l1) < 1e-12, "the step's loss %.17g, the batch's %.17g", s1, l1);
    bp_params *p1 = bp_trainer_params(t1), *p2 = bp_trainer_params(t2);
    for (int i = 0; i < bp_params_count(p1); i++)
        for (size_t e = 0; e < bp_params_at(p1, i)->size; e++)
            cr_expect(fabs(bp_params_at(p1, i)->value[e] - bp_params_at(p2, i)->value[e]) < 1e-12,
                      "%s[%zu]", bp_params_at(p1, i)->name, e);
    bp_batch_free(b);
    bp_trainer_free(t1);
    bp_trainer_free(t2);
    bp_trainer_free(t3);
    bp_model_config_free(c1);
    bp_model_config_free(c2);
    bp_model_config_free(c3);
}
