/* test_recompute.c — memory-efficient BPTT (bp_net_backward_recompute) gives plain
 * BPTT's loss, gradients and state bit for bit: the cases of test_recompute_cases.h on
 * the double build. test_f32_recompute.c runs them on the float build. */
#include "test_recompute_cases.h"

#include "bptt_models.h"
#include "bptt_tasks.h"

#include <math.h>

/* A trainer for a shipped model file with overrides. */
static bp_trainer *trainer(const char *file, const char *const *sets, int n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s", BPTT_SOURCE_DIR, file);
    bp_error err = {0};
    bp_model_config *c = bp_model_config_load(path, sets, n, &err);
    cr_assert_not_null(c, "%s: %s", file, err.msg);
    bp_trainer *tr = bp_trainer_new(c, &err);
    cr_assert_not_null(tr, "%s: %s", file, err.msg);
    bp_model_config_free(c);
    return tr;
}

/* The trainer's gradients with model.recompute unset, then set to each of values: the
 * same bytes; and two training steps leave the same weights. */
static void trainer_same(const char *file, const char **sets, int n)
{
    static const char *const values[] = {"true", "1", "3", "7", "false"};
    const char *all[16];
    memcpy(all, sets, (size_t)n * sizeof *all);
    bp_trainer *plain = trainer(file, all, n);
    bp_error err = {0};
    bp_rng rng;
    bp_rng_seed(&rng, 5);
    bp_batch *b = bp_task_batch(bp_trainer_task(plain), 3, BP_SPLIT_TRAIN, &rng, &err);
    cr_assert_not_null(b, "%s", err.msg);
    double lp, lr;
    cr_assert_eq(bp_trainer_grads(plain, b, &lp, &err), BP_OK, "%s", err.msg);
    double sp[2];
    for (int s = 0; s < 2; s++)
        cr_assert_eq(bp_trainer_step(plain, &sp[s], NULL, &err), BP_OK, "%s", err.msg);
    bp_params *pp = bp_trainer_params(plain);
    for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
        char set[64];
        snprintf(set, sizeof set, "model.recompute=%s", values[v]);
        all[n] = set;
        bp_trainer *rc = trainer(file, all, n + 1);
        cr_assert_eq(bp_trainer_config(rc)->net.recompute,
                     !strcmp(values[v], "true") ? BP_RECOMPUTE_SQRT
                     : !strcmp(values[v], "false") ? 0 : atoi(values[v]));
        cr_assert_eq(bp_trainer_grads(rc, b, &lr, &err), BP_OK, "%s", err.msg);
        /* the trainer recomputed: its tape holds the last chunk's first segment */
        int K = bp_trainer_config(rc)->net.chunk, k = bp_trainer_config(rc)->net.recompute;
        int last = K ? b->T - (b->T - 1) / K * K : b->T;
        cr_expect_eq(bp_net_trace(bp_trainer_net(rc))->steps,
                     k ? bp_recompute_segment(k, last) : last, "%s, %s", file, set);
        cr_expect(memcmp(&lp, &lr, sizeof lp) == 0, "%s, %s: loss %.17g, plain %.17g", file, set,
                  lr, lp);
        bp_params *pr = bp_trainer_params(rc);
        /* the grads of the plain trainer's first batch were overwritten by its steps:
         * compare the weights after two steps, which read every gradient */
        double sr[2];
        for (int s = 0; s < 2; s++) {
            cr_assert_eq(bp_trainer_step(rc, &sr[s], NULL, &err), BP_OK, "%s", err.msg);
            cr_expect(memcmp(&sp[s], &sr[s], sizeof sr[s]) == 0, "%s, %s: step %d loss differs",
                      file, set, s);
        }
        for (int i = 0; i < bp_params_count(pp); i++) {
            bp_node *a = bp_params_at(pp, i), *c = bp_params_at(pr, i);
            cr_expect(memcmp(a->value, c->value, a->size * sizeof(bp_real)) == 0,
                      "%s, %s: %s differs after two steps", file, set, a->name);
        }
        bp_trainer_free(rc);
    }
    bp_batch_free(b);
    bp_trainer_free(plain);
}

Test(recompute_model, stacked_skip_yaml)
{
    const char *sets[] = {"data.steps=20", "model.layers[0].hidden=8", "model.layers[1].hidden=8"};
    trainer_same("stacked_skip.yaml", sets, 3);
}

/* train.threads: each thread's rows are recomputed on its own replica */
Test(recompute_model, stacked_skip_yaml_two_threads)
{
    const char *sets[] = {"data.steps=20", "model.layers[0].hidden=8", "model.layers[1].hidden=8",
                          "train.threads=2"};
    trainer_same("stacked_skip.yaml", sets, 4);
}

Test(recompute_model, char_lstm_yaml_with_truncation)
{
    const char *sets[] = {"data.steps=23", "model.truncate=9", "model.layers[1].hidden=8",
                          "model.layers[0].size=5", "train.batch=3"};
    trainer_same("char_lstm.yaml", sets, 5);
}

Test(recompute_model, graph_form_yaml)
{
    const char *sets[] = {"data.steps=17", "train.batch=3"};
    trainer_same("graph_lnrnn.yaml", sets, 2);
}

Test(recompute_model, gru_copy_yaml_seq_head)
{
    const char *sets[] = {"data.steps=6", "model.layers[0].hidden=8", "train.batch=3"};
    trainer_same("gru_copy.yaml", sets, 3);
}

/* model.recompute: what it accepts and the messages for what it does not. */
Test(recompute_model, yaml_values_and_errors)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/tanh_adding.yaml", BPTT_SOURCE_DIR);
    struct { const char *set; int k; const char *msg; } cases[] = {
        {"model.recompute=true", BP_RECOMPUTE_SQRT, NULL},
        {"model.recompute=false", 0, NULL},
        {"model.recompute=0", 0, NULL},
        {"model.recompute=25", 25, NULL},
        {"model.recompute=-1", 0, "too small (at least 0)"},
        {"model.recompute=2000000", 0, "too large"},
        {"model.recompute=sqrt", 0, "'model.recompute' must be true (segments of sqrt(T) steps), "
                                    "false or a segment length in steps, not 'sqrt'"},
        {"model.recompute=2.5", 0, "not '2.5'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bp_error err = {0};
        const char *sets[] = {cases[i].set};
        bp_model_config *c = bp_model_config_load(path, sets, 1, &err);
        if (!cases[i].msg) {
            cr_assert_not_null(c, "%s: %s", cases[i].set, err.msg);
            cr_expect_eq(c->net.recompute, cases[i].k, "%s", cases[i].set);
        } else {
            cr_expect_null(c, "%s was accepted", cases[i].set);
            cr_expect(strstr(err.msg, cases[i].msg), "%s: %s", cases[i].set, err.msg);
            cr_expect(strstr(err.msg, "--set model.recompute"), "%s: %s", cases[i].set, err.msg);
        }
        bp_model_config_free(c);
    }
}

/* Evaluation has no backward: with model.recompute it runs in segments (the state
 * carried), so its values agree with plain evaluation to rounding. */
Test(recompute_model, evaluation_in_segments)
{
    const char *sets[] = {"data.steps=40", "model.layers[0].hidden=8", "model.layers[1].hidden=8",
                          "train.eval_batch=5", "model.recompute=7"};
    bp_trainer *plain = trainer("stacked_skip.yaml", sets, 4), *rc = trainer("stacked_skip.yaml",
                                                                             sets, 5);
    bp_net_eval a, b;
    bp_error err = {0};
    cr_assert_eq(bp_trainer_eval(plain, &a, &err), BP_OK, "%s", err.msg);
    cr_assert_eq(bp_trainer_eval(rc, &b, &err), BP_OK, "%s", err.msg);
    cr_expect_lt(fabs(a.loss - b.loss), 1e-12 * a.loss, "%.17g against %.17g", b.loss, a.loss);
    cr_expect_eq(bp_net_trace(bp_trainer_net(rc))->steps, 5, "the last segment of 40 = 5 * 7 + 5");
    bp_trainer_free(plain);
    bp_trainer_free(rc);
}

/* train.max_memory_mb counts a segment and the stored states, not the whole sequence:
 * an lstm at T = 20000 is refused without recomputation and fits with it. */
Test(recompute_model, memory_budget_counts_a_segment)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/lstm_adding.yaml", BPTT_SOURCE_DIR);
    const char *sets[] = {"data.steps=20000", "train.eval_batch=32", "model.recompute=true"};
    bp_error err = {0};
    bp_model_config *c = bp_model_config_load(path, sets, 2, &err);
    cr_assert_not_null(c, "%s", err.msg);
    cr_expect_null(bp_trainer_new(c, &err));
    cr_expect(strstr(err.msg, "model too large"), "%s", err.msg);
    bp_model_config_free(c);
    c = bp_model_config_load(path, sets, 3, &err);
    cr_assert_not_null(c, "%s", err.msg);
    bp_trainer *tr = bp_trainer_new(c, &err);
    cr_expect_not_null(tr, "%s", err.msg);
    bp_trainer_free(tr);
    bp_model_config_free(c);
}
