/* test_trainer.c — the trainer: it learns, it resumes bit for bit from a checkpoint,
 * and bad checkpoints change nothing. */
#include "bptt_models.h"

#include <criterion/criterion.h>

#define TEST_DIR_PREFIX "bptt_trainer"
#include "test_tmpdir.h"
TestSuite(trainer, .fini = test_dir_remove);
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bp_layer_spec layer;

/* An IRNN on the adding problem, configured in C (the YAML loader fills the same). */
static bp_model_config irnn_config(int T, long steps)
{
    bp_model_config c = {0};
    snprintf(c.name, sizeof c.name, "irnn_test");
    bp_layer_spec_default(&layer, BP_LAYER_RNN);
    layer.size = 16;
    layer.act = BP_ACT_RELU;
    layer.init = BP_INIT_IDENTITY;
    bp_net_spec_default(&c.net);
    c.net.input_size = c.net.output_size = 0; /* from the task */
    c.net.n_layers = 1;
    c.net.layers = &layer;
    c.layers = &layer;
    snprintf(c.data.task, sizeof c.data.task, "adding");
    c.data.steps = T;
    bp_train_config_default(&c.train);
    c.train.batch = 8;
    c.train.steps = steps;
    c.train.eval_batch = 16;
    c.train.optim.lr = 1e-3;
    c.train.optim.clip_norm = 1.0;
    return c;
}

/* a copy of test_path's (the caller frees it) */
static char *tmp_path(const char *name)
{
    const char *t = test_path(name);
    char *p = malloc(strlen(t) + 1);
    return p ? strcpy(p, t) : NULL;
}

static void run(bp_trainer *tr, long n)
{
    bp_error err;
    for (long i = 0; i < n; i++) {
        double loss;
        bp_step_info info;
        cr_assert_eq(bp_trainer_step(tr, &loss, &info, &err), BP_OK, "%s", err.msg);
    }
}

Test(trainer, resume_from_a_checkpoint_is_bit_identical)
{
    bp_model_config c = irnn_config(10, 20);
    bp_error err;
    bp_trainer *straight = bp_trainer_new(&c, &err);
    cr_assert_not_null(straight, "%s", err.msg);
    run(straight, 20);

    bp_trainer *first = bp_trainer_new(&c, &err);
    run(first, 10);
    char *path = tmp_path("half.safetensors");
    cr_assert_eq(bp_trainer_save(first, path, &err), BP_OK, "%s", err.msg);
    bp_trainer_free(first);

    bp_trainer *resumed = bp_trainer_new(&c, &err);
    cr_assert_eq(bp_trainer_load(resumed, path, false, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(bp_trainer_steps_done(resumed), 10);
    run(resumed, 10);
    bp_params *a = bp_trainer_params(straight), *b = bp_trainer_params(resumed);
    for (int i = 0; i < bp_params_count(a); i++) {
        bp_node *p = bp_params_at(a, i), *q = bp_params_at(b, i);
        cr_expect_eq(memcmp(p->value, q->value, p->size * sizeof(bp_real)), 0,
                     "%s differs after resume", p->name);
    }
    bp_trainer_free(straight);
    bp_trainer_free(resumed);
    free(path);
}

Test(trainer, a_weights_file_cannot_resume_and_a_bad_one_changes_nothing)
{
    bp_model_config c = irnn_config(5, 4);
    bp_error err;
    bp_trainer *tr = bp_trainer_new(&c, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    char *w = tmp_path("weights.safetensors"), *bad = tmp_path("bad.safetensors");
    cr_assert_eq(bp_trainer_save_weights(tr, w, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(bp_trainer_load(tr, w, false, &err), BP_ERR_NAME);
    cr_expect(strstr(err.msg, "weights only"), "%s", err.msg);
    cr_expect_eq(bp_trainer_load(tr, w, true, &err), BP_OK, "%s", err.msg);

    /* a model with another hidden size: the shapes differ, nothing is loaded */
    bp_node *W = bp_params_find(bp_trainer_params(tr), "rnn0.W_h");
    cr_assert_not_null(W);
    bp_real before = W->value[0];
    layer.size = 8;
    bp_model_config c8 = irnn_config(5, 4);
    c8.layers[0].size = 8;
    bp_trainer *small = bp_trainer_new(&c8, &err);
    cr_assert_not_null(small, "%s", err.msg);
    cr_assert_eq(bp_trainer_save_weights(small, bad, &err), BP_OK);
    cr_expect_eq(bp_trainer_load(tr, bad, true, &err), BP_ERR_SHAPE);
    cr_expect(strstr(err.msg, "rnn0."), "%s", err.msg);
    cr_expect_eq(W->value[0], before);
    /* a truncated file */
    FILE *f = fopen(w, "r+");
    cr_assert_not_null(f);
    cr_assert_eq(ftruncate(fileno(f), 100), 0);
    fclose(f);
    cr_expect_neq(bp_trainer_load(tr, w, true, &err), BP_OK);
    cr_expect_eq(W->value[0], before);
    bp_trainer_free(tr);
    bp_trainer_free(small);
    free(w);
    free(bad);
}

Test(trainer, the_task_decides_sizes_and_a_contradiction_is_an_error)
{
    bp_model_config c = irnn_config(5, 1);
    c.net.input_size = 3;
    bp_error err;
    cr_expect_null(bp_trainer_new(&c, &err));
    cr_expect_str_eq(err.msg, "model: input is 3 but the adding task gives 2");
    c.net.input_size = 0;
    c.net.output_size = 3;
    cr_expect_null(bp_trainer_new(&c, &err));
    cr_expect_str_eq(err.msg, "model: output is 3 but the adding task gives 1");
    c.net.output_size = 0;
    snprintf(c.data.task, sizeof c.data.task, "adder");
    cr_expect_null(bp_trainer_new(&c, &err));
    cr_expect(strstr(err.msg, "unknown task 'adder'"), "%s", err.msg);
}
