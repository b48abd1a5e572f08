/* test_stopping.c — what evaluations decide (bp_trainer_observe): the best evaluation and
 * its state, early stopping and going back to the best bit for bit, an accuracy watched
 * for a rise, the plateau schedule's cuts, and all of it across a checkpoint and a resume.
 * The evaluations are given by hand, so each decision is known. Double build. */
#include "test_trainer_config.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bp_layer_spec layer;

static bp_model_config config(const char *task, int patience)
{
    bp_layer_spec_default(&layer, BP_LAYER_RNN);
    layer.size = 6;
    bp_model_config c = test_config("stopping_test", &layer, 1, task, 5, 4, 1);
    c.train.patience = patience;
    return c;
}

static void steps(bp_trainer *tr, int n)
{
    bp_error err = {0};
    for (int i = 0; i < n; i++) {
        double loss;
        cr_assert_eq(bp_trainer_step(tr, &loss, NULL, &err), BP_OK, "%s", err.msg);
    }
}

static bp_eval_verdict observe(bp_trainer *tr, double loss, double metric)
{
    bp_net_eval ev = {.loss = loss, .metric = metric, .metric_name = "mse"};
    bp_eval_verdict v;
    bp_error err = {0};
    cr_assert_eq(bp_trainer_observe(tr, &ev, &v, &err), BP_OK, "%s", err.msg);
    return v;
}

/* every parameter and optimizer state value, flat */
static double *state_of(bp_trainer *tr, size_t *n)
{
    bp_params *p = bp_trainer_params(tr);
    size_t k = 0, cap = bp_params_elements(p);
    double *v = malloc(cap * sizeof *v);
    for (int i = 0; i < bp_params_count(p); i++)
        for (size_t j = 0; j < bp_params_at(p, i)->size; j++)
            v[k++] = bp_params_at(p, i)->value[j];
    *n = k;
    return v;
}

Test(stopping, stops_after_patience_and_goes_back_to_the_best)
{
    bp_model_config c = config("adding", 2);
    bp_trainer *tr = test_trainer(&c);
    steps(tr, 3);
    bp_eval_verdict v = observe(tr, 1.0, 1.0);
    cr_expect(v.improved && !v.stop && v.best_step == 3);
    steps(tr, 3);
    v = observe(tr, 0.8, 0.8); /* the best: step 6 */
    cr_expect(v.improved && v.best_step == 6 && v.waited == 0);
    size_t n;
    double *best = state_of(tr, &n);
    steps(tr, 3);
    v = observe(tr, 0.8, 0.8); /* equal is not better */
    cr_expect(!v.improved && !v.stop && v.waited == 1 && v.best == 0.8);
    steps(tr, 3);
    v = observe(tr, 0.9, 0.9);
    cr_expect(!v.improved && v.stop && v.waited == 2, "two evaluations without improvement");
    bp_error err = {0};
    cr_assert_eq(bp_trainer_restore_best(tr, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(bp_trainer_steps_done(tr), 6);
    size_t m;
    double *now = state_of(tr, &m);
    cr_assert_eq(m, n);
    cr_expect(!memcmp(best, now, n * sizeof *now), "the best state, bit for bit");
    /* and the run goes on from there as it did: the same next steps */
    bp_trainer *again = test_trainer(&c);
    steps(again, 9);
    steps(tr, 3);
    double *a = state_of(again, &m), *b = state_of(tr, &n);
    cr_expect(!memcmp(a, b, n * sizeof *a), "restored at step 6 and 3 steps: step 9's state");
    free(a);
    free(b);
    free(best);
    free(now);
    bp_trainer_free(again);
    bp_trainer_free(tr);
}

Test(stopping, min_delta_and_a_nan_do_not_improve)
{
    bp_model_config c = config("adding", 3);
    c.train.min_delta = 0.1;
    bp_trainer *tr = test_trainer(&c);
    cr_expect(observe(tr, 1.0, 0).improved);
    steps(tr, 1);
    cr_expect(!observe(tr, 0.95, 0).improved, "by less than min_delta");
    steps(tr, 1);
    cr_expect(!observe(tr, NAN, 0).improved);
    steps(tr, 1);
    bp_eval_verdict v = observe(tr, 0.85, 0);
    cr_expect(v.improved && v.best == 0.85 && v.best_step == 3);
    bp_trainer_free(tr);
}

/* monitor: metric on a class task watches the accuracy rise */
Test(stopping, an_accuracy_is_watched_for_a_rise)
{
    bp_model_config c = config("copy", 1);
    c.train.monitor_metric = true;
    bp_trainer *tr = test_trainer(&c);
    cr_expect(observe(tr, 2.0, 0.5).improved);
    steps(tr, 1);
    bp_eval_verdict v = observe(tr, 1.0, 0.6); /* the loss fell too, but the metric counts */
    cr_expect(v.improved && v.best == 0.6);
    steps(tr, 1);
    v = observe(tr, 0.5, 0.55);
    cr_expect(!v.improved && v.stop && v.best == 0.6 && v.best_step == 1);
    bp_trainer_free(tr);
}

Test(stopping, the_plateau_schedule_cuts_the_trainers_lr)
{
    bp_model_config c = config("adding", 0);
    c.train.optim.schedule = BP_LR_PLATEAU;
    c.train.optim.plateau_patience = 1;
    c.train.optim.plateau_factor = 0.5;
    c.train.optim.lr = 0.01;
    bp_trainer *tr = test_trainer(&c);
    cr_expect(!observe(tr, 1.0, 0).lr_cut);
    cr_expect(!observe(tr, 1.0, 0).lr_cut);
    cr_expect(observe(tr, 1.0, 0).lr_cut);
    cr_expect_float_eq(bp_trainer_lr(tr), 0.005, 1e-15);
    bp_step_info info;
    bp_error err = {0};
    double loss;
    cr_assert_eq(bp_trainer_step(tr, &loss, &info, &err), BP_OK, "%s", err.msg);
    cr_expect_float_eq(info.lr, 0.005, 1e-15);
    bp_trainer_free(tr);
}

/* A checkpoint between evaluations: the resumed trainer makes the uninterrupted one's
 * decisions (best, count, the plateau's cuts); its metadata names the best. Its best state
 * predates the resume: going back to it asks for the keep_best file. */
Test(stopping, decisions_continue_across_a_resume)
{
    bp_model_config c = config("adding", 3);
    c.train.optim.schedule = BP_LR_PLATEAU;
    c.train.optim.plateau_patience = 1;
    bp_trainer *tr = test_trainer(&c);
    steps(tr, 2);
    observe(tr, 1.0, 0);
    steps(tr, 2);
    observe(tr, 1.5, 0);
    char path[] = "/tmp/bptt_stop_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    bp_error err = {0};
    cr_assert_eq(bp_trainer_save(tr, path, &err), BP_OK, "%s", err.msg);
    bp_st_file *f = bp_st_load(path, &err);
    cr_assert_not_null(f, "%s", err.msg);
    cr_expect_str_eq(bp_st_meta(f, "best_step"), "2");
    cr_expect_str_eq(bp_st_meta(f, "best_eval_loss"), "1");
    bp_st_free(f);
    bp_trainer *re = test_trainer(&c);
    cr_assert_eq(bp_trainer_load(re, path, false, &err), BP_OK, "%s", err.msg);
    for (int k = 0; k < 2; k++) {
        bp_trainer *t = k ? re : tr;
        steps(t, 2);
        bp_eval_verdict v = observe(t, 1.2, 0);
        cr_expect(v.lr_cut && !v.stop && v.waited == 2 && v.best_step == 2, "run %d", k);
        steps(t, 2);
        v = observe(t, 1.1, 0);
        cr_expect(!v.lr_cut && v.stop && v.waited == 3, "run %d", k);
    }
    cr_expect_float_eq(bp_trainer_lr(re), bp_trainer_lr(tr), 0);
    cr_expect_eq(bp_trainer_restore_best(tr, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(bp_trainer_restore_best(re, &err), BP_ERR_VALUE);
    cr_expect(strstr(err.msg, "keep_best"), "%s", err.msg);
    unlink(path);
    bp_trainer_free(tr);
    bp_trainer_free(re);
}
