/* test_threads.c — train.threads: a training batch split across threads gives the
 * 1-thread loss and update (to rounding; double build), is bit-identical run to run
 * and across a resume, and handles odd batches, batches smaller than the thread
 * count, truncated BPTT and a worker's error. */
#include "bptt_models.h"
#include "bptt_workers.h"
#include "test_trainer_config.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bp_layer_spec layers[2];

/* One recurrent layer on the adding problem (mse, the last step's readout) or on the
 * copy task (tokens one-hot, softmax_xent at every step); plain SGD, no clipping, so
 * the update is lr times the gradient itself (Adam's first steps hide its scale). */
static bp_model_config config(bp_layer_kind kind, const char *task, int T, int batch, int threads)
{
    bp_layer_spec_default(&layers[0], kind);
    layers[0].size = 12;
    bp_model_config c = test_config("threads_test", layers, 1, task, T, batch, threads);
    c.train.optim.kind = BP_OPT_SGD;
    c.train.optim.lr = 0.1;
    return c;
}

/* n steps; the losses in loss[] */
static void run(bp_trainer *tr, int n, double *loss)
{
    bp_error err = {0};
    for (int i = 0; i < n; i++) {
        bp_step_info info;
        cr_assert_eq(bp_trainer_step(tr, &loss[i], &info, &err), BP_OK, "step %d: %s", i, err.msg);
    }
}

/* Largest |a - b| / (1 + |a|) over all parameter values. */
static double params_diff(bp_trainer *a, bp_trainer *b)
{
    bp_params *p = bp_trainer_params(a), *q = bp_trainer_params(b);
    cr_assert_eq(bp_params_count(p), bp_params_count(q));
    double worst = 0;
    for (int i = 0; i < bp_params_count(p); i++) {
        bp_node *x = bp_params_at(p, i), *y = bp_params_at(q, i);
        for (size_t j = 0; j < x->size; j++) {
            double d = fabs((double)x->value[j] - (double)y->value[j]) / (1 + fabs((double)x->value[j]));
            worst = d > worst ? d : worst;
        }
    }
    return worst;
}

static bool params_identical(bp_trainer *a, bp_trainer *b)
{
    bp_params *p = bp_trainer_params(a), *q = bp_trainer_params(b);
    for (int i = 0; i < bp_params_count(p); i++) {
        bp_node *x = bp_params_at(p, i), *y = bp_params_at(q, i);
        if (memcmp(x->value, y->value, x->size * sizeof(bp_real)))
            return false;
    }
    return true;
}

/* N threads against 1: every step's loss, and the parameters after `steps` SGD steps,
 * agree to rounding (the double build: 1e-12 is many orders below any real slip, such
 * as a part weighted by 1 instead of rows / B). */
static void expect_same_as_one_thread(bp_model_config *c, int threads, int steps)
{
    enum { MAX_STEPS = 8 };
    cr_assert_leq(steps, MAX_STEPS);
    double l1[MAX_STEPS], ln[MAX_STEPS];
    c->train.threads = 1;
    bp_trainer *one = test_trainer(c);
    c->train.threads = threads;
    bp_trainer *many = test_trainer(c);
    run(one, steps, l1);
    run(many, steps, ln);
    for (int i = 0; i < steps; i++)
        cr_expect_leq(fabs(l1[i] - ln[i]), 1e-12 * (1 + fabs(l1[i])),
                      "step %d: loss %.17g with 1 thread, %.17g with %d", i, l1[i], ln[i], threads);
    double d = params_diff(one, many);
    cr_expect_leq(d, 1e-12, "parameters differ by %g (B = %d, %d threads)", d, c->train.batch,
                  threads);
    cr_expect_gt(l1[0], 0, "a real loss");
    bp_trainer_free(one);
    bp_trainer_free(many);
}

Test(threads, two_threads_give_the_one_thread_loss_and_update)
{
    bp_model_config c = config(BP_LAYER_RNN, "adding", 10, 8, 2);
    expect_same_as_one_thread(&c, 2, 5);
    c = config(BP_LAYER_LSTM, "adding", 10, 8, 2);
    expect_same_as_one_thread(&c, 2, 3);
    c = config(BP_LAYER_GRU, "copy", 6, 8, 2); /* tokens, a mean over steps of softmax_xent */
    expect_same_as_one_thread(&c, 2, 3);
}

Test(threads, odd_batches_split_unevenly)
{
    bp_model_config c = config(BP_LAYER_RNN, "adding", 10, 7, 2); /* rows 3 + 4 */
    expect_same_as_one_thread(&c, 2, 4);
    c = config(BP_LAYER_RNN, "copy", 5, 11, 3); /* 3 + 4 + 4 */
    expect_same_as_one_thread(&c, 3, 4);
}

Test(threads, a_batch_smaller_than_the_thread_count_uses_fewer_workers)
{
    bp_model_config c = config(BP_LAYER_RNN, "adding", 10, 3, 4); /* 3 workers of 1 row */
    expect_same_as_one_thread(&c, 4, 4);
    bp_trainer *tr = test_trainer(&c);
    cr_expect_null(bp_trainer_workers(tr), "no thread before the first split step");
    double loss[1];
    run(tr, 1, loss);
    cr_assert_not_null(bp_trainer_workers(tr), "the first split step starts the threads");
    cr_expect_eq(bp_workers_used(bp_trainer_workers(tr)), 3);

    /* one row cannot be split: the step is the 1-thread step, bit for bit */
    c = config(BP_LAYER_LSTM, "adding", 10, 1, 2);
    bp_trainer *one = test_trainer(&c);
    c.train.threads = 1;
    bp_trainer *ref = test_trainer(&c);
    double a[3], b[3];
    run(one, 3, a);
    run(ref, 3, b);
    cr_expect(!memcmp(a, b, sizeof a));
    cr_expect(params_identical(one, ref));
    bp_trainer_free(tr);
    bp_trainer_free(one);
    bp_trainer_free(ref);
}

Test(threads, truncated_bptt_carries_each_workers_rows)
{
    /* copy T = 6: 26 steps in chunks of 7, 7, 7, 5; the lstm carries h and c */
    bp_model_config c = config(BP_LAYER_LSTM, "copy", 6, 9, 2);
    c.net.chunk = 7;
    expect_same_as_one_thread(&c, 2, 4);
    c = config(BP_LAYER_RNN, "copy", 6, 9, 3);
    c.net.chunk = 4;
    expect_same_as_one_thread(&c, 3, 4);
}

Test(threads, two_runs_with_the_same_threads_are_bit_identical)
{
    bp_model_config c = config(BP_LAYER_GRU, "adding", 12, 10, 2);
    c.train.optim.kind = BP_OPT_ADAM;
    c.train.optim.lr = 1e-2;
    c.train.optim.clip_norm = 1;
    bp_trainer *a = test_trainer(&c), *b = test_trainer(&c);
    double la[6], lb[6];
    run(a, 6, la);
    run(b, 6, lb);
    cr_expect(!memcmp(la, lb, sizeof la), "losses differ between two identical runs");
    cr_expect(params_identical(a, b), "parameters differ between two identical runs");
    bp_trainer_free(a);
    bp_trainer_free(b);
}

Test(threads, resume_with_threads_is_bit_identical)
{
    bp_model_config c = config(BP_LAYER_RNN, "adding", 10, 9, 2);
    c.train.optim.kind = BP_OPT_ADAM;
    bp_error err = {0};
    bp_trainer *straight = test_trainer(&c);
    double l[20];
    run(straight, 20, l);

    char path[] = "/tmp/bptt_threads_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    bp_trainer *first = test_trainer(&c);
    run(first, 10, l);
    cr_assert_eq(bp_trainer_save(first, path, &err), BP_OK, "%s", err.msg);
    bp_trainer_free(first);
    bp_trainer *resumed = test_trainer(&c);
    cr_assert_eq(bp_trainer_load(resumed, path, false, &err), BP_OK, "%s", err.msg);
    run(resumed, 10, l);
    cr_expect(params_identical(straight, resumed), "a resumed 2-thread run drifted");
    unlink(path);
    bp_trainer_free(straight);
    bp_trainer_free(resumed);
}

/* A worker that fails in its last chunk, after earlier chunks added into its grads:
 * the step fails with that worker's error and leaves no gradient behind, so the next
 * steps match a 1-thread trainer that met the same batch. */
Test(threads, a_failing_worker_leaves_no_gradient_behind)
{
    bp_model_config c = config(BP_LAYER_RNN, "copy", 6, 6, 2);
    c.net.chunk = 8;
    bp_trainer *many = test_trainer(&c);
    c.train.threads = 1;
    bp_trainer *one = test_trainer(&c);
    bp_error err = {0};
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    bp_batch *bad = bp_task_batch(bp_trainer_task(one), 6, BP_SPLIT_TRAIN, &rng, &err);
    cr_assert_not_null(bad, "%s", err.msg);
    bad->y[(size_t)5 * bad->T + (size_t)bad->T - 1] = 99; /* the last row's last target: worker 1 */
    double loss;
    bp_status s1 = bp_trainer_update(one, bad, &loss, NULL, &err);
    cr_expect_neq(s1, BP_OK);
    bp_status s2 = bp_trainer_update(many, bad, &loss, NULL, &err);
    cr_expect_eq(s2, s1);
    cr_expect(strstr(err.msg, "99") != NULL, "the worker's error: %s", err.msg);
    bp_batch_free(bad);
    double a[3], b[3];
    run(one, 3, a);
    run(many, 3, b);
    for (int i = 0; i < 3; i++)
        cr_expect_leq(fabs(a[i] - b[i]), 1e-12 * (1 + fabs(a[i])));
    cr_expect_leq(params_diff(one, many), 1e-12);
    bp_trainer_free(one);
    bp_trainer_free(many);
}

Test(threads, the_model_file_sets_threads)
{
    const char *ok[] = {"train.threads=3"};
    bp_error err = {0};
    bp_model_config *c =
        bp_model_config_load(BPTT_SOURCE_DIR "/models/irnn_adding.yaml", ok, 1, &err);
    cr_assert_not_null(c, "%s", err.msg);
    cr_expect_eq(c->train.threads, 3);
    bp_model_config_free(c);
    c = bp_model_config_load(BPTT_SOURCE_DIR "/models/irnn_adding.yaml", NULL, 0, &err);
    cr_assert_not_null(c, "%s", err.msg);
    cr_expect_eq(c->train.threads, 1, "one thread by default");
    bp_model_config_free(c);
    const char *bad[] = {"train.threads=0"};
    c = bp_model_config_load(BPTT_SOURCE_DIR "/models/irnn_adding.yaml", bad, 1, &err);
    cr_expect_null(c);
    cr_expect(strstr(err.msg, "threads") != NULL, "%s", err.msg);
}

Test(threads, replicas_share_values_and_own_grads)
{
    bp_error err = {0};
    bp_params *a = bp_params_new(), *b = bp_params_new(), *c = bp_params_new();
    bp_node *pa = bp_params_add(a, "l.W", bp_shape2(2, 3), &err);
    bp_node *pb = bp_params_add(b, "l.W", bp_shape2(2, 3), &err);
    bp_params_add(c, "l.W", bp_shape2(3, 2), &err);
    cr_assert_eq(bp_params_share_values(b, a, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(pb->value, pa->value);
    cr_expect_neq(pb->grad, pa->grad);
    cr_expect_eq(bp_params_share_values(c, a, &err), BP_ERR_SHAPE);
    cr_expect(strstr(err.msg, "l.W") != NULL, "%s", err.msg);
    bp_params_free(b); /* leaves a's values alone (ASan would see a double free) */
    pa->value[5] = 1;
    bp_params_free(c);
    bp_params_free(a);
}

/* Memory-efficient BPTT (model.recompute) inside each worker: the same bits as the plain
 * backward with the same threads, truncation included. */
Test(threads, recompute_in_the_workers_gives_the_same_bits)
{
    bp_model_config c = config(BP_LAYER_LSTM, "copy", 8, 7, 2);
    c.net.chunk = 11;
    bp_trainer *plain = test_trainer(&c);
    c.net.recompute = 3;
    bp_trainer *recomputed = test_trainer(&c);
    double a[3], b[3];
    run(plain, 3, a);
    run(recomputed, 3, b);
    cr_expect(!memcmp(a, b, sizeof a), "losses differ");
    cr_expect(params_identical(plain, recomputed), "parameters differ");
    bp_trainer_free(plain);
    bp_trainer_free(recomputed);
}

/* train.max_memory_mb counts the gradient copy of every extra thread. */
Test(threads, the_memory_estimate_counts_each_threads_gradients)
{
    bp_model_config c = config(BP_LAYER_RNN, "adding", 10, 8, 1);
    layers[0].size = 512; /* 264k parameters: 4 MiB of values and grads in double */
    c.train.max_memory_mb = 10;
    bp_error err = {0};
    bp_trainer *tr = bp_trainer_new(&c, &err);
    cr_expect_not_null(tr, "1 thread fits: %s", err.msg);
    bp_trainer_free(tr);
    c.train.threads = 8; /* 7 more gradient copies: 16 MiB more */
    tr = bp_trainer_new(&c, &err);
    cr_expect_null(tr);
    cr_expect(strstr(err.msg, "model too large") != NULL, "%s", err.msg);
    bp_trainer_free(tr);
}

/* The worker threads flush denormals as the trainer's tape says (bp_tape_set_flush_denormals),
 * switched after the workers exist too. */
Test(threads, the_workers_follow_the_trainers_denormal_flush)
{
    bp_model_config c = config(BP_LAYER_RNN, "adding", 6, 4, 2);
    bp_trainer *tr = test_trainer(&c);
    double loss[1];
    for (int round = 0; round < 3; round++) {
        bool flush = round != 1; /* on (the default), off, on again */
        bp_tape_set_flush_denormals(bp_trainer_tape(tr), flush);
        run(tr, 1, loss);
        bp_workers *ws = bp_trainer_workers(tr);
        cr_assert_not_null(ws, "two threads make workers");
        cr_assert_eq(bp_workers_count(ws), 2);
        for (int k = 0; k < 2; k++)
            cr_expect_eq(bp_tape_flushes_denormals(bp_workers_at(ws, k)->tape), flush,
                         "round %d, worker %d", round, k);
    }
    bp_trainer_free(tr);
}
