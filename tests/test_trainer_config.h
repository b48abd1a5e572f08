/* test_trainer_config.h — the model configuration the trainer tests build by hand (no
 * model file): a stack of layers on a built-in task, and the trainer made from it.
 * Included by test_threads.c, test_dropout.c and test_stopping.c. */
#ifndef BPTT_TEST_TRAINER_CONFIG_H
#define BPTT_TEST_TRAINER_CONFIG_H

#include "bptt_models.h"

#include <criterion/criterion.h>
#include <stdio.h>

/* layers[0, n) (the caller's, which must outlive the trainer) on task at T steps, batch
 * rows per step and threads, the sizes from the task, the held-out batch 4, the rest the
 * defaults (Adam; the tests set what they need). */
__attribute__((unused)) static bp_model_config test_config(const char *name, bp_layer_spec *layers,
                                                           int n, const char *task, int T,
                                                           int batch, int threads)
{
    bp_model_config c = {0};
    snprintf(c.name, sizeof c.name, "%s", name);
    bp_net_spec_default(&c.net);
    c.net.input_size = c.net.output_size = 0; /* from the task */
    c.net.n_layers = n;
    c.net.layers = c.layers = layers;
    snprintf(c.data.task, sizeof c.data.task, "%s", task);
    c.data.steps = T;
    bp_train_config_default(&c.train);
    c.train.batch = batch;
    c.train.eval_batch = 4;
    c.train.threads = threads;
    return c;
}

__attribute__((unused)) static bp_trainer *test_trainer(const bp_model_config *c)
{
    bp_error err = {0};
    bp_trainer *tr = bp_trainer_new(c, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    return tr;
}

#endif
