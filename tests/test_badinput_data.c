/* test_badinput_data.c — the data path from the command line, as a user runs it: a
 * classifier trained on a CSV, evaluated (its confusion matrix), predicting into every
 * output format; text sampled from a character model; and every kind of bad data file
 * refused with exit 2, a message naming the file and the place, before any training step,
 * with nothing the user had overwritten. */
#include "test_badinput_run.h"

#include <math.h>

static void setup(void)
{
    make_dir();
}

static void teardown(void)
{
    remove_dir();
}

TestSuite(data_cli, .init = setup, .fini = teardown, .timeout = 240);

/* 60 sequences of 3 to 6 steps, 2 features; label 1 when the first feature's sum is
 * positive, else 2 (labels need not start at 0). Shorter rows end in empty cells. */
static void write_csv_set(const char *name)
{
    FILE *f = fopen(tmp(name), "w");
    cr_assert_not_null(f);
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    for (int r = 0; r < 60; r++) {
        int L = 3 + (int)bp_rng_below(&rng, 4);
        double x[12], sum = 0;
        for (int i = 0; i < 2 * L; i++) {
            x[i] = 2 * bp_rng_uniform(&rng) - 1;
            if (i % 2 == 0)
                sum += x[i];
        }
        fprintf(f, "%d", sum > 0 ? 1 : 2);
        for (int i = 0; i < 12; i++)
            if (i < 2 * L)
                fprintf(f, ",%.5f", x[i]);
            else
                fprintf(f, ",");
        fprintf(f, "\n");
    }
    fclose(f);
}

static const char *classifier =
    "model:\n  layers:\n    - {type: gru, hidden: 8}\n"
    "data:\n  train: seqs.csv\n  features: 2\n  valid_last: 12\n"
    "train: {batch: 16, steps: 60, optimizer: adam, lr: 0.02, eval_every: 0}\n";

Test(data_cli, a_classifier_on_a_csv_trains_evaluates_and_predicts)
{
    write_csv_set("seqs.csv");
    write_text(tmp("m.yaml"), classifier);
    expect_run(0, "", "train m.yaml --out ck.safetensors --quiet");
    cr_expect(strstr(out, "seqs.csv (48 training, 12 validation sequences), T = 6"), "%s", out);
    /* each baseline number says what it is: the prior's loss, the majority's accuracy */
    cr_expect(strstr(out, "(baseline the training set's class prior, and its majority class: "
                          "loss 0.6"), "%s", out);
    cr_expect(strstr(out, ", accuracy 0.5"), "%s", out);
    expect_run(0, "", "eval m.yaml --weights ck.safetensors");
    cr_expect(strstr(out, "on the validation set (12 sequences)"), "%s", out);
    cr_expect(strstr(out, "confusion matrix"), "%s", out);
    cr_expect(strstr(out, "baseline (the data set's own"), "%s", out);
    /* predict reads the checkpoint's signature, not the training file */
    expect_run(0, "", "predict m.yaml --weights ck.safetensors --input seqs.csv --out p.csv");
    cr_expect(strstr(out, "wrote predictions for 60 sequences"), "%s", out);
    write_text(tmp("one.csv"), "1,0.5,0.1,0.2,0.3\n"); /* one sequence: no plural */
    expect_run(0, "", "predict m.yaml --weights ck.safetensors --input one.csv --out one_p.csv");
    cr_expect(strstr(out, "wrote predictions for 1 sequence to one_p.csv"), "%s", out);
    char csv[1 << 14];
    slurp(tmp("p.csv"), csv, sizeof csv);
    cr_expect(!strncmp(csv, "row,label,p_1,p_2\n0,", 20), "%s", csv);
    int lines = 0;
    for (const char *c = csv; *c; c++)
        lines += *c == '\n';
    cr_expect_eq(lines, 61);
    expect_run(0, "", "predict m.yaml --weights ck.safetensors --input seqs.csv --out p.safetensors");
    bp_error err = {0};
    bp_st_file *f = bp_st_load(tmp("p.safetensors"), &err);
    cr_assert_not_null(f, "%s", err.msg);
    cr_expect_eq(bp_st_find(f, "probs")->shape.dim[0], 60);
    cr_expect_eq(bp_st_find(f, "probs")->shape.dim[1], 2);
    cr_expect_not_null(bp_st_find(f, "class"));
    bp_st_free(f);
    expect_run(0, "", "predict m.yaml --weights ck.safetensors --input seqs.csv --out p.npy");
    cr_expect_eq(access(tmp("p.class.npy"), R_OK), 0);
    /* the output may not be an input of the run */
    size_t n0 = 0, n1 = 0;
    unsigned char *before = read_bytes(tmp("seqs.csv"), &n0);
    expect_run(2, "bptt predict: --out seqs.csv is --input seqs.csv, an input of this run: refusing to overwrite it; choose another path",
               "predict m.yaml --weights ck.safetensors --input seqs.csv --out seqs.csv");
    unsigned char *after = read_bytes(tmp("seqs.csv"), &n1);
    cr_expect(n0 == n1 && !memcmp(before, after, n0), "seqs.csv changed");
    free(before);
    free(after);
    /* an input that does not fit the model */
    write_text(tmp("wide.csv"), "1,1,2,3\n2,4,5,6\n");
    expect_run(2, "wide.csv: has 1 feature per step; the model reads 2",
               "predict m.yaml --weights ck.safetensors --input wide.csv --out q.csv "
               "--set data.features=1");
    expect_run(2, "the output's extension says its format",
               "predict m.yaml --weights ck.safetensors --input seqs.csv --out p.txt");
}

/* model.output 5 on the CSV's 2 classes: it trains, the confusion matrix shows the 3
 * classes no label names by their ids, and predict gives all 5 probabilities. */
Test(data_cli, a_model_with_more_classes_than_the_csv_trains_evaluates_and_predicts)
{
    write_csv_set("seqs.csv");
    write_text(tmp("m.yaml"), classifier);
    expect_run(0, "", "train m.yaml --set model.output=5 --out ck.safetensors --quiet");
    cr_expect(strstr(out, "saved checkpoint ck.safetensors (step 60)"), "%s", out);
    expect_run(0, "", "eval m.yaml --set model.output=5 --weights ck.safetensors");
    cr_expect(strstr(out, "confusion matrix"), "%s", out);
    cr_expect(strstr(out, "      1      2    id2    id3    id4  accuracy\n"), "%s", out);
    cr_expect(strstr(out, "\n     id4      0      0      0      0      0  -\n"), "%s", out);
    expect_run(0, "", "predict m.yaml --set model.output=5 --weights ck.safetensors "
               "--input seqs.csv --out p.csv");
    char csv[1 << 14];
    slurp(tmp("p.csv"), csv, sizeof csv);
    cr_expect(!strncmp(csv, "row,label,p_1,p_2,p_id2,p_id3,p_id4\n0,", 37), "%s", csv);
    double p[5];
    const char *line = strchr(csv, '\n') + 1;
    cr_assert_eq(sscanf(line, "0,%*[^,],%lf,%lf,%lf,%lf,%lf", &p[0], &p[1], &p[2], &p[3], &p[4]), 5,
                 "%s", line);
    cr_expect(fabs(p[0] + p[1] + p[2] + p[3] + p[4] - 1) < 1e-6, "%s", line);
}

/* A NumPy x's lengths come from their own file, in training (data.train's lengths) and in
 * prediction (--lengths): without them every sequence is read to T. */
Test(data_cli, predict_reads_a_numpy_inputs_lengths_from_lengths)
{
    enum { N = 6, S = 5 };
    float x[N * S];
    int32_t y[N], len[N], bad[N];
    for (int i = 0; i < N * S; i++)
        x[i] = (float)((i * 7) % 11) / 11.0f;
    for (int r = 0; r < N; r++)
        y[r] = r % 2, len[r] = 1 + r % S, bad[r] = r == 4 ? 0 : S;
    bp_error err = {0};
    cr_assert_eq(bp_npy_save(tmp("x.npy"), BP_DTYPE_F32, bp_shape2(N, S), x, &err), BP_OK);
    cr_assert_eq(bp_npy_save(tmp("y.npy"), BP_DTYPE_I32, bp_shape1(N), y, &err), BP_OK);
    cr_assert_eq(bp_npy_save(tmp("len.npy"), BP_DTYPE_I32, bp_shape1(N), len, &err), BP_OK);
    cr_assert_eq(bp_npy_save(tmp("bad.npy"), BP_DTYPE_I32, bp_shape1(N), bad, &err), BP_OK);
    write_text(tmp("m.yaml"), "model:\n  layers:\n    - {type: gru, hidden: 4}\n"
                              "data: {train: {x: x.npy, y: y.npy, lengths: len.npy}}\n"
                              "train: {batch: 3, steps: 4, eval_every: 0}\n");
    expect_run(0, "", "train m.yaml --out ck.safetensors --quiet");
    expect_run(0, "", "predict m.yaml --weights ck.safetensors --input x.npy --out full.safetensors");
    expect_run(0, "", "predict m.yaml --weights ck.safetensors --input x.npy --lengths len.npy "
               "--out own.safetensors");
    bp_st_file *full = bp_st_load(tmp("full.safetensors"), &err), *own = NULL;
    cr_assert_not_null(full, "%s", err.msg);
    own = bp_st_load(tmp("own.safetensors"), &err);
    cr_assert_not_null(own, "%s", err.msg);
    bp_array lf, lo, pf, po;
    cr_assert_eq(bp_st_array(full, "lengths", &lf, &err), BP_OK);
    cr_assert_eq(bp_st_array(own, "lengths", &lo, &err), BP_OK);
    cr_assert_eq(bp_st_array(full, "probs", &pf, &err), BP_OK);
    cr_assert_eq(bp_st_array(own, "probs", &po, &err), BP_OK);
    for (int r = 0; r < N; r++) {
        cr_expect_eq(bp_array_get(&lf, (size_t)r), S);
        cr_expect_eq(bp_array_get(&lo, (size_t)r), len[r]);
    }
    /* a full-length row predicts the same either way; a short one reads its own last step */
    cr_expect_eq(bp_array_get(&pf, 4 * 2), bp_array_get(&po, 4 * 2));
    cr_expect_neq(bp_array_get(&pf, 0), bp_array_get(&po, 0));
    bp_st_free(full);
    bp_st_free(own);
    expect_run(2, "bad.npy: lengths[4] is 0, not in [1, 5] (the steps of x)",
               "predict m.yaml --weights ck.safetensors --input x.npy --lengths bad.npy --out p.csv");
    write_csv_set("seqs.csv");
    expect_run(2, "seqs.csv: y and lengths files go with .npy data; a CSV file holds its own",
               "predict m.yaml --weights ck.safetensors --input seqs.csv --lengths len.npy "
               "--out p.csv");
    expect_run(2, "--out len.npy is --lengths len.npy, an input of this run",
               "predict m.yaml --weights ck.safetensors --input x.npy --lengths len.npy "
               "--out len.npy");
}

Test(data_cli, sample_writes_text_from_the_checkpoints_vocabulary)
{
    write_text(tmp("text.txt"), "the cat sat on the mat. the dog sat on the log. "
                                "the cat and the dog sat on the mat and the log.\n");
    expect_run(0, "", "train %s --set data.path=text.txt --set data.steps=8 --set train.steps=5 "
               "--set model.layers[1].hidden=16 --set train.batch=4 --set train.eval_batch=4 "
               "--out c.safetensors --quiet", MODEL("char_lstm"));
    remove(tmp("text.txt")); /* sampling needs no text file */
    expect_run(0, "", "sample %s --set model.layers[1].hidden=16 --set data.path=text.txt --weights c.safetensors --prime 'the ' "
               "--length 40 --seed 4", MODEL("char_lstm"));
    cr_expect(!strncmp(out, "the ", 4), "%s", out);
    cr_expect_eq(strlen(out), 4 + 40 + 1, "%s", out);
    char first[256];
    snprintf(first, sizeof first, "%s", out);
    expect_run(0, "", "sample %s --set model.layers[1].hidden=16 --set data.path=text.txt --weights c.safetensors --prime 'the ' "
               "--length 40 --seed 4", MODEL("char_lstm"));
    cr_expect_str_eq(out, first, "the same seed gives the same text");
    expect_run(2, "is not in the model's vocabulary",
               "sample %s --set model.layers[1].hidden=16 --set data.path=text.txt --weights c.safetensors --prime 'THE'",
               MODEL("char_lstm"));
    expect_run(2, "--temperature needs a number in (0, 100]",
               "sample %s --set model.layers[1].hidden=16 --weights c.safetensors --temperature 0", MODEL("char_lstm"));
    write_csv_set("seqs.csv");
    write_text(tmp("m.yaml"), classifier);
    expect_run(0, "", "init m.yaml --out w.safetensors");
    expect_run(2, "not a character model (data.task: chars) or a per-step token model whose "
               "output is its vocabulary", "sample m.yaml --weights w.safetensors");
}

/* A next-token model trained from a data file has no characters: sample draws token ids,
 * printed space-separated after the prime's, which are ids too; predict refuses an input
 * id it has no embedding for, by its place. */
Test(data_cli, a_token_model_of_a_data_file_samples_ids_and_predicts_known_ids)
{
    enum { N = 8, S = 6, V = 5 };
    int32_t x[N * S], y[N * S];
    for (int r = 0; r < N; r++)
        for (int t = 0; t < S; t++) {
            x[r * S + t] = (r + t) % V;
            y[r * S + t] = (r + t + 1) % V; /* the next token */
        }
    bp_st_writer *w = bp_st_writer_new();
    bp_error err = {0};
    bp_st_writer_add_raw(w, "x", BP_DTYPE_I32, bp_shape2(N, S), x, NULL);
    bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape2(N, S), y, NULL);
    cr_assert_eq(bp_st_writer_save(w, tmp("next.safetensors"), &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
    write_text(tmp("tok.yaml"), "model:\n  layers:\n    - {type: embedding, size: 4}\n"
                                "    - {type: gru, hidden: 8}\n"
                                "data: {train: next.safetensors}\n"
                                "train: {batch: 4, steps: 40, lr: 0.05, eval_every: 0}\n");
    expect_run(0, "", "train tok.yaml --out tok.safetensors --quiet");
    expect_run(0, "", "sample tok.yaml --weights tok.safetensors --prime '1 2,3' --length 6 "
               "--seed 2");
    int ids[9], n = 0, used = 0;
    const char *p = out;
    while (n < 9 && sscanf(p, "%d%n", &ids[n], &used) == 1)
        p += used, n++;
    cr_expect_eq(n, 9, "%s", out);
    cr_expect_str_eq(p, "\n", "%s", out);
    cr_expect(!strncmp(out, "1 2 3 ", 6), "%s", out);
    for (int i = 0; i < n; i++)
        cr_expect(ids[i] >= 0 && ids[i] < V, "%s", out);
    char first[256];
    snprintf(first, sizeof first, "%s", out);
    expect_run(0, "", "sample tok.yaml --weights tok.safetensors --prime '1 2,3' --length 6 "
               "--seed 2");
    cr_expect_str_eq(out, first, "the same seed gives the same ids");
    expect_run(0, "", "sample tok.yaml --weights tok.safetensors --length 3");
    cr_expect_eq(strlen(out), 6, "three ids of one digit: %s", out);
    expect_run(2, "--prime: '5' is not a token id of the model's vocab of 5",
               "sample tok.yaml --weights tok.safetensors --prime '1 5'");
    expect_run(2, "--prime: 'a' is not a token id", "sample tok.yaml --weights tok.safetensors "
               "--prime 'a'");
    x[1 * S + 2] = 7;
    w = bp_st_writer_new();
    bp_st_writer_add_raw(w, "x", BP_DTYPE_I32, bp_shape2(N, S), x, NULL);
    cr_assert_eq(bp_st_writer_save(w, tmp("big.safetensors"), &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
    expect_run(2, "big.safetensors: x[1, 2] is token 7, but the model's vocab is 5",
               "predict tok.yaml --weights tok.safetensors --input big.safetensors --out p.csv");
    cr_expect_neq(access(tmp("p.csv"), F_OK), 0, "nothing written");
    /* output other than its vocabulary: a drawn class is not an input to feed back */
    expect_run(0, "", "init tok.yaml --set model.output=7 --out wide.safetensors");
    expect_run(2, "whose output is its vocabulary", "sample tok.yaml --set model.output=7 "
               "--weights wide.safetensors");
}

/* `bptt train m.yaml` on a data file, the model's own keys (model_yaml) before its layers;
 * exit 2, the message, and no step taken. */
static void expect_refused_by(const char *model_yaml, const char *data_yaml, const char *msg)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "model:\n%s  layers:\n    - {type: rnn, hidden: 4}\n%s"
             "train: {batch: 2, steps: 3}\n", model_yaml, data_yaml);
    write_text(tmp("bad.yaml"), yaml);
    expect_run(2, msg, "train bad.yaml --out keep.safetensors");
    cr_expect(!strstr(out, "step 1"), "a step ran: %s", out);
}

static void expect_refused(const char *data_yaml, const char *msg)
{
    expect_refused_by("", data_yaml, msg);
}

static void expect_kept(void)
{
    size_t n;
    unsigned char *kept = read_bytes(tmp("keep.safetensors"), &n);
    cr_expect(n == 15 && !memcmp(kept, "the user's file", 15), "keep.safetensors was overwritten");
    free(kept);
}

/* A safetensors data set of 4 sequences of 3 steps: x (F32 [4, 3] features, or I32 token
 * ids), y [4] class ids, lengths [4] when given. */
static void write_st(const char *name, bp_dtype xt, const void *x, const int32_t *y,
                     const int32_t *len)
{
    bp_error err = {0};
    bp_st_writer *w = bp_st_writer_new();
    cr_assert_eq(bp_st_writer_add_raw(w, "x", xt, bp_shape2(4, 3), x, &err), BP_OK, "%s", err.msg);
    cr_assert_eq(bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape1(4), y, &err), BP_OK);
    if (len)
        cr_assert_eq(bp_st_writer_add_raw(w, "lengths", BP_DTYPE_I32, bp_shape1(4), len, &err),
                     BP_OK);
    cr_assert_eq(bp_st_writer_save(w, tmp(name), &err), BP_OK, "%s", err.msg);
    bp_st_writer_free(w);
}

/* Values the model cannot take, in NumPy and safetensors sets: each refused naming the file
 * and the element, before a step, the --out file as it was. */
Test(data_cli, out_of_range_values_in_array_files_name_the_file_and_the_element)
{
    write_text(tmp("keep.safetensors"), "the user's file");
    float x[12] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f, 1.1f, 1.2f};
    int32_t y[4] = {0, 1, 7, 2}, ok_y[4] = {0, 1, 2, 1};
    bp_error err = {0};
    cr_assert_eq(bp_npy_save(tmp("x.npy"), BP_DTYPE_F32, bp_shape2(4, 3), x, &err), BP_OK);
    cr_assert_eq(bp_npy_save(tmp("y.npy"), BP_DTYPE_I32, bp_shape1(4), y, &err), BP_OK);
    cr_assert_eq(bp_npy_save(tmp("ok_y.npy"), BP_DTYPE_I32, bp_shape1(4), ok_y, &err), BP_OK);
    /* a class label above the model's output */
    expect_refused_by("  output: 3\n", "data: {train: {x: x.npy, y: y.npy}}\n",
                      "y.npy: y[2] is 7, but the model's output is 3 classes (ids 0..2)");
    write_st("cls.safetensors", BP_DTYPE_F32, x, y, NULL);
    expect_refused_by("  output: 3\n", "data: {train: cls.safetensors}\n",
                      "cls.safetensors: y[2] is 7, but the model's output is 3 classes (ids 0..2)");
    /* lengths of 0 and above T */
    int32_t zero[4] = {3, 0, 2, 1}, long_[4] = {3, 3, 4, 1};
    cr_assert_eq(bp_npy_save(tmp("len0.npy"), BP_DTYPE_I32, bp_shape1(4), zero, &err), BP_OK);
    expect_refused("data: {train: {x: x.npy, y: ok_y.npy, lengths: len0.npy}}\n",
                   "len0.npy: lengths[1] is 0, not in [1, 3] (the steps of x)");
    write_st("long.safetensors", BP_DTYPE_F32, x, ok_y, long_);
    expect_refused("data: {train: long.safetensors}\n",
                   "long.safetensors: lengths[2] is 4, not in [1, 3] (the steps of x)");
    /* NaN in x within a sequence (past its length it is padding, and fine) */
    float nan_x[12];
    memcpy(nan_x, x, sizeof x);
    nan_x[1 * 3 + 2] = NAN;
    cr_assert_eq(bp_npy_save(tmp("nan_x.npy"), BP_DTYPE_F32, bp_shape2(4, 3), nan_x, &err), BP_OK);
    expect_refused("data: {train: {x: nan_x.npy, y: ok_y.npy}}\n",
                   "nan_x.npy: x[1, 2] is nan: sequence 1, step 2 (from 0) must be finite");
    /* a token id at or above the model's vocab */
    int32_t tok[12] = {0, 1, 2, 3, 4, 0, 1, 2, 1, 0, 0, 0};
    write_st("tok.safetensors", BP_DTYPE_I32, tok, ok_y, NULL);
    expect_refused_by("  vocab: 4\n", "data: {train: tok.safetensors}\n",
                      "tok.safetensors: x[1, 1] is token 4, but the model's vocab is 4");
    expect_kept();
}

Test(data_cli, bad_data_files_are_refused_before_training_naming_the_place)
{
    write_text(tmp("keep.safetensors"), "the user's file");
    write_text(tmp("cells.csv"), "1,1,2,3\n2,4,5\n");
    expect_refused("data: {train: cells.csv}\n", "cells.csv:2:");
    write_text(tmp("nan.csv"), "1,1,x,3\n");
    expect_refused("data: {train: nan.csv, header: false}\n", "nan.csv:1:3");
    write_text(tmp("gap.csv"), "1,1,,3\n2,1,2,3\n");
    expect_refused("data: {train: gap.csv}\n", "gap.csv:1:");
    write_text(tmp("odd.csv"), "1,1,2,3\n2,1,2,3\n");
    expect_refused("data: {train: odd.csv, features: 2}\n", "odd.csv:1");
    write_text(tmp("empty.csv"), "");
    expect_refused("data: {train: empty.csv}\n", "empty.csv");
    expect_refused("data: {train: none.csv}\n", "none.csv");
    expect_refused("data: {train: x.json}\n", "x.json: unknown data format");
    expect_refused("data: {task: adding, train: x.csv}\n", "give one");
    expect_refused("data: {train: cells.csv, steps: 10}\n", "'steps' is for the built-in tasks");
    expect_refused("data: {task: adding, features: 3}\n", "'features' is for data files");
    expect_run(2, "'train.epochs' is for data files (data.train): the adding task draws fresh "
               "sequences", "train %s --set train.epochs=2 --out keep.safetensors",
               MODEL("irnn_adding"));
    /* a truncated safetensors set, a FIFO and a directory */
    write_text(tmp("trunc.safetensors"), "\x40\x00\x00\x00\x00\x00\x00\x00{\"x\"");
    expect_refused("data: {train: trunc.safetensors}\n", "trunc.safetensors");
    cr_assert_eq(mkfifo(tmp("fifo.csv"), 0600), 0);
    expect_refused("data: {train: fifo.csv}\n", "fifo.csv: not a regular file");
    cr_assert_eq(mkdir(tmp("dir.csv"), 0700), 0);
    expect_refused("data: {train: dir.csv}\n", "dir.csv");
    /* a model that does not fit the data: both sides named */
    write_text(tmp("ok.csv"), "1,1,2,3\n2,4,5,6\n1,1,1,1\n");
    write_text(tmp("fit.yaml"), "model:\n  input: 3\n  layers:\n    - {type: rnn, hidden: 4}\n"
                                "data: {train: ok.csv}\ntrain: {batch: 2, steps: 3}\n");
    expect_run(2, "input is 3 but the data set has 1 feature per step", "train fit.yaml");
    write_text(tmp("loss.yaml"), "model:\n  layers:\n    - {type: rnn, hidden: 4}\nloss: mse\n"
                                 "data: {train: ok.csv}\ntrain: {batch: 2, steps: 3}\n");
    expect_run(2, "loss 'mse' does not fit the data set's class targets", "train loss.yaml");
    expect_kept();
}
