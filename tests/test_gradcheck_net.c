/* test_gradcheck_net.c — whole-model gradient checks (bptt_netcheck.h): kinks reported
 * apart with their place, sampling that keeps the largest gradients, and the mutation
 * test: one op's backward made wrong fails the check of every shipped model using it;
 * then `bptt gradcheck`'s options and exit statuses. */
#include "bptt_models.h"

#include "test_run_bptt.h"
#include "test_valgrind.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MODELS BPTT_SOURCE_DIR "/models/"

typedef struct fixture {
    bp_model_config *c;
    bp_trainer *tr;
    bp_batch *b;
} fixture;

/* The model at T = 5 (its own T for data files) with one more --set when `set` is not
 * NULL, a batch of 2; false when it cannot be had (the digits models without their CSV). */
static bool open_model_set(const char *path, const char *set, fixture *f)
{
    bp_error err;
    const char *sets[] = {"data.steps=5", set};
    memset(f, 0, sizeof *f);
    f->c = bp_model_config_load(path, strstr(path, "digits") ? NULL : sets,
                                strstr(path, "digits") ? 0 : set ? 2 : 1, &err);
    cr_assert_not_null(f->c, "%s", err.msg);
    if (!(f->tr = bp_trainer_new(f->c, &err)))
        return false;
    bp_rng rng;
    bp_rng_seed(&rng, 1);
    f->b = bp_task_batch(bp_trainer_task(f->tr), 2, BP_SPLIT_TRAIN, &rng, &err);
    cr_assert_not_null(f->b, "%s", err.msg);
    return true;
}

static bool open_model(const char *path, fixture *f)
{
    return open_model_set(path, NULL, f);
}

static void close_model(fixture *f)
{
    bp_batch_free(f->b);
    bp_trainer_free(f->tr);
    bp_model_config_free(f->c);
}

static void check(fixture *f, size_t sample, bp_net_check *r)
{
    bp_error err;
    bp_check_sample_opts o = {.sample = sample};
    cr_assert_eq(bp_gradcheck_net(bp_trainer_net(f->tr), bp_trainer_params(f->tr), f->b, &o, r,
                                  &err), BP_OK, "%s", err.msg);
}

Test(netcheck, the_irnn_passes_with_its_kinks_reported_and_placed)
{
    fixture f;
    /* every element: under valgrind (37 s there at 64) of a net of 16 */
    cr_assert(open_model_set(MODELS "irnn_adding.yaml",
                             under_valgrind() ? "model.layers[0].hidden=16" : NULL, &f));
    bp_net_check r;
    check(&f, 0, &r);
    char text[8192];
    bp_net_check_str(&r, text, sizeof text);
    cr_expect(r.ok, "%s", text);
    cr_expect_gt(r.nonsmooth, 0, "%s", text); /* b = 0 at identity init: sums sit at 0 */
    cr_expect_eq(r.checked, bp_params_elements(bp_trainer_params(f.tr)));
    bool placed = false;
    for (int i = 0; i < r.n_params; i++) {
        const bp_check_stats *s = &r.param[i].stats;
        cr_expect_eq(s->checked, s->elements, "%s", r.param[i].param->name);
        if (s->nonsmooth) {
            cr_expect_eq(s->kink_op, &bp_op_rnn_relu);
            cr_expect(!strncmp(r.param[i].where, "rnn0 step ", 10), "%s", r.param[i].where);
            placed = true;
        }
    }
    cr_expect(placed);
    cr_expect(strstr(text, "non-smooth here: ") && strstr(text, "(rnn_relu at 0)"), "%s", text);
    cr_expect(strstr(text, "skipped as non-smooth: all passed"), "%s", text);
    bp_net_check_free(&r);
    close_model(&f);
}

Test(netcheck, smooth_models_have_no_nonsmooth_elements)
{
    fixture f;
    cr_assert(open_model(MODELS "tanh_adding.yaml", &f));
    bp_net_check r;
    check(&f, under_valgrind() ? 100 : 0, &r); /* every element, or 100 per parameter */
    cr_expect(r.ok);
    cr_expect_eq(r.nonsmooth, 0);
    bp_net_check_free(&r);
    close_model(&f);
}

Test(netcheck, a_sample_keeps_the_largest_gradient)
{
    fixture f;
    cr_assert(open_model(MODELS "lstm_adding.yaml", &f));
    bp_net_check r, again;
    check(&f, 1, &r);
    cr_expect(r.ok);
    for (int i = 0; i < r.n_params; i++) {
        const bp_node *p = r.param[i].param;
        size_t top = 0;
        for (size_t j = 1; j < p->size; j++)
            if (fabs(p->grad[j]) > fabs(p->grad[top]))
                top = j;
        cr_expect_eq(r.param[i].stats.checked, 1, "%s", p->name);
        cr_expect_eq(r.param[i].stats.result.worst, top, "%s: the one element checked", p->name);
    }
    bp_net_check_free(&r);
    check(&f, 40, &r);
    check(&f, 40, &again); /* seeded: the same sample, the same numbers */
    for (int i = 0; i < r.n_params; i++) {
        size_t want = r.param[i].stats.elements < 40 ? r.param[i].stats.elements : 40;
        cr_expect_eq(r.param[i].stats.checked, want, "%s", r.param[i].param->name);
        cr_expect_eq(r.param[i].stats.result.max_abs, again.param[i].stats.result.max_abs);
    }
    bp_net_check_free(&r);
    bp_net_check_free(&again);
    close_model(&f);
}

/* The mutation: the victim's backward runs twice, so its inputs get twice their share. */
static const bp_op *victim;
static void twice(bp_node *n)
{
    victim->backward(n);
    victim->backward(n);
}

enum { MAX_OPS = 64 };

/* Adds op to the list ops[0..*n) unless it is there; true when it was not. */
static bool add_op(const bp_op **ops, int *n, const bp_op *op)
{
    for (int k = 0; k < *n; k++)
        if (ops[k] == op)
            return false;
    cr_assert_lt(*n, MAX_OPS, "more ops than the list holds");
    ops[(*n)++] = op;
    return true;
}

/* The ops that take part in the model's backward (views have nothing to do). */
static int ops_used(fixture *f, const bp_op **ops)
{
    bp_tape *t = bp_tape_new();
    int n = 0;
    cr_assert_not_null(bp_net_forward(bp_trainer_net(f->tr), t, f->b, 0, f->b->T, NULL));
    for (int i = 0; i < bp_tape_len(t); i++) {
        const bp_node *x = bp_tape_node(t, i);
        if (x->op && !x->op->view && x->requires_grad)
            add_op(ops, &n, x->op);
    }
    bp_tape_free(t);
    return n;
}

/* Under valgrind (tests/valgrind.sh), each op is made wrong in the first model that uses
 * it only, a model with no op left is skipped, and two elements per parameter are
 * checked instead of six: the same code runs, in a sixth of the work. */
Test(netcheck, a_wrong_backward_fails_every_shipped_model_that_uses_it, .timeout = 300)
{
    DIR *d = opendir(MODELS);
    cr_assert_not_null(d);
    bool once = under_valgrind();
    size_t sample = once ? 2 : 6; /* elements per parameter, the largest gradients first */
    const bp_op *done[MAX_OPS];
    int models = 0, mutations = 0, n_done = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
            continue;
        char path[512];
        snprintf(path, sizeof path, MODELS "%s", e->d_name);
        fixture f;
        if (!open_model(path, &f)) { /* a data file that is not here */
            close_model(&f);
            continue;
        }
        const bp_op *ops[MAX_OPS];
        int n = ops_used(&f, ops), fresh = 0;
        for (int k = 0; k < n; k++) {
            if (!add_op(done, &n_done, ops[k]) && once) /* made wrong in an earlier model */
                continue;
            fresh++;
            victim = ops[k];
            bp_op_swap_backward(victim, twice);
            bp_net_check r;
            check(&f, sample, &r);
            bp_op_swap_backward(NULL, NULL);
            cr_expect(!r.ok && r.failed > 0, "%s: %s's backward doubled, yet the check passed",
                      e->d_name, victim->name);
            bp_net_check_free(&r);
            mutations++;
        }
        if (fresh) {
            bp_net_check r;
            check(&f, sample, &r);
            cr_expect(r.ok, "%s: passes again once the backward is restored", e->d_name);
            bp_net_check_free(&r);
            models++;
        }
        close_model(&f);
    }
    closedir(d);
    cr_expect_geq(models, once ? 2 : 7);
    cr_log_info("%d models, %d mutations, each caught", models, mutations);
}

/* ---------------------------------------------------------------- the command line */

Test(netcheck_cli, the_default_model_passes_and_says_where_it_is_not_smooth)
{
    cr_expect_eq(bptt("gradcheck " MODELS "irnn_adding.yaml --set data.steps=5"), 0, "%s", out);
    cr_expect(strstr(out, "non-smooth here: 1 element, first element 40 at rnn0 step 0 "
                          "(rnn_relu at 0)"), "%s", out);
    cr_expect(strstr(out, "checked 4353 elements: 0 failed, 1 skipped as non-smooth: all passed"),
              "%s", out);
}

Test(netcheck_cli, sample_weights_batch_and_tolerances)
{
    char tmp[] = "/tmp/bptt_gc_XXXXXX", cmd[1024];
    cr_assert_not_null(mkdtemp(tmp));
    cr_expect_eq(bptt("gradcheck " MODELS "char_lstm.yaml --set data.steps=5 --sample 20"), 0,
                 "%s", out);
    cr_expect(strstr(out, "sampling 20 elements per parameter"), "%s", out);
    cr_expect(strstr(out, "checked 120 elements: 0 failed"), "%s", out); /* 6 x 20 */
    snprintf(cmd, sizeof cmd, "train " MODELS "irnn_adding.yaml --steps 20 --set data.steps=5 "
             "--quiet --out %s/w.safetensors && %s/bptt batch " MODELS "irnn_adding.yaml "
             "--set data.steps=5 --size 3 --out %s/b.safetensors", tmp, BPTT_BINARY_DIR, tmp);
    cr_assert_eq(bptt("%s", cmd), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "gradcheck " MODELS "irnn_adding.yaml --set data.steps=5 "
             "--weights %s/w.safetensors --batch %s/b.safetensors --eps 1e-7", tmp, tmp);
    cr_expect_eq(bptt("%s", cmd), 0, "%s", out);
    cr_expect(strstr(out, "batch 3, T = 5") && strstr(out, "w.safetensors"), "%s", out);
    /* tolerances nothing meets: every judged element fails, exit 1 */
    cr_expect_eq(bptt("gradcheck " MODELS "tanh_adding.yaml --set data.steps=5 --sample 3 "
                      "--atol 1e-300 --rtol 1e-300"), 1, "%s", out);
    cr_expect(strstr(out, "FAIL") && strstr(out, "some FAILED"), "%s", out);
    cr_expect_eq(bptt("gradcheck " MODELS "tanh_adding.yaml --sample x"), 2, "%s", out);
    cr_expect(strstr(out, "--sample needs a number"), "%s", out);
    cr_expect_eq(bptt("gradcheck " MODELS "tanh_adding.yaml --eps 0"), 2, "%s", out);
    cr_expect_eq(bptt("gradcheck " MODELS "tanh_adding.yaml --batch /nonexistent.st"), 2, "%s",
                 out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_expect_eq(system(cmd), 0);
}
