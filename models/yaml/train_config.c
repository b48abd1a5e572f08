/* train_config.c — the train: section of a model file, and the defaults a minimal model
 * file gets. */
#include "bptt_models.h"
#include "model_config_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const train_keys[] = {
    "batch", "steps", "epochs", "seed", "eval_every", "eval_batch", "log_every", "checkpoint",
    "checkpoint_every", "max_memory_mb", "threads", "optimizer", "lr", "momentum", "nesterov",
    "beta1", "beta2", "alpha", "eps", "weight_decay", "weight_decay_on", "schedule",
    "warmup_steps", "step_every", "step_gamma", "lr_min", "decay_rate", "decay_steps",
    "plateau_factor", "plateau_patience", "plateau_threshold", "clip_norm", "clip_value",
    "early_stopping", "keep_best"};
static const char *const stop_keys[] = {"patience", "min_delta", "monitor", "restore_best"};
static const char *const monitors[] = {"loss", "metric"};
#define CHOICE(id, name) name,
static const char *const optimizers[] = {BP_OPT_LIST(CHOICE)};
static const char *const schedules[] = {BP_LR_LIST(CHOICE)};
static const char *const decays[] = {BP_DECAY_LIST(CHOICE)};
#undef CHOICE

void bp_train_config_default(bp_train_config *t)
{
    *t = (bp_train_config){
        .batch = 32,
        .steps = 1000,
        .seed = 1,
        .eval_every = 100,
        .eval_batch = 256,
        .log_every = 0,
        .max_memory_mb = BP_TRAIN_MAX_MEMORY_MB,
        .threads = 1,
        .restore_best = true,
    };
    bp_optim_config_default(&t->optim);
}

void bp_model_config_free(bp_model_config *c)
{
    if (!c)
        return;
    free(c->layers);
    free(c->cell);
    free(c);
}

/* The optimizer, its settings and its schedule. */
static bp_status read_optim(const bp_yd_node *t, bp_optim_config *q, bp_error *err)
{
    int kind, schedule, decay;
    TRY(bp_yd_get_enum(t, "optimizer", q->kind, optimizers, COUNT(optimizers), &kind, err));
    q->kind = (bp_opt_kind)kind;
    if (q->kind == BP_OPT_ADAMW)
        q->weight_decay = 1e-2; /* torch.optim.AdamW's default */
    TRY(bp_yd_get_double(t, "lr", q->lr, 0, 1e6, &q->lr, err));
    TRY(bp_yd_get_double(t, "momentum", q->momentum, 0, 1, &q->momentum, err));
    TRY(bp_yd_get_bool(t, "nesterov", q->nesterov, &q->nesterov, err));
    TRY(bp_yd_get_double(t, "beta1", q->beta1, 0, 1, &q->beta1, err));
    TRY(bp_yd_get_double(t, "beta2", q->beta2, 0, 1, &q->beta2, err));
    TRY(bp_yd_get_double(t, "alpha", q->alpha, 0, 1, &q->alpha, err));
    TRY(bp_yd_get_double(t, "eps", q->eps, 0, 1, &q->eps, err));
    TRY(bp_yd_get_double(t, "weight_decay", q->weight_decay, 0, 1e6, &q->weight_decay, err));
    TRY(bp_yd_get_enum(t, "weight_decay_on", q->decay, decays, COUNT(decays), &decay, err));
    q->decay = (bp_decay_params)decay;
    TRY(bp_yd_get_enum(t, "schedule", q->schedule, schedules, COUNT(schedules), &schedule, err));
    q->schedule = (bp_lr_kind)schedule;
    TRY(bp_model_get_long(t, "warmup_steps", 0, 0, 1000000000, &q->warmup_steps, err));
    TRY(bp_model_get_long(t, "step_every", q->step_every, 1, 1000000000, &q->step_every, err));
    TRY(bp_yd_get_double(t, "step_gamma", q->step_gamma, 0, 1e6, &q->step_gamma, err));
    TRY(bp_yd_get_double(t, "lr_min", q->lr_min, 0, 1e6, &q->lr_min, err));
    TRY(bp_yd_get_double(t, "decay_rate", q->decay_rate, 0, 1, &q->decay_rate, err));
    TRY(bp_model_get_long(t, "decay_steps", q->decay_steps, 1, 1000000000, &q->decay_steps, err));
    TRY(bp_yd_get_double(t, "plateau_factor", q->plateau_factor, 0, 1, &q->plateau_factor, err));
    TRY(bp_model_get_int(t, "plateau_patience", q->plateau_patience, 1, 1000000,
                         &q->plateau_patience, err));
    TRY(bp_yd_get_double(t, "plateau_threshold", q->plateau_threshold, 0, 1,
                         &q->plateau_threshold, err));
    TRY(bp_yd_get_double(t, "clip_norm", q->clip_norm, 0, 1e30, &q->clip_norm, err));
    TRY(bp_yd_get_double(t, "clip_value", q->clip_value, 0, 1e30, &q->clip_value, err));
    return BP_OK;
}

/* early_stopping: {patience, min_delta, monitor, restore_best}; keep_best: true or a path. */
static bp_status read_stopping(const bp_yd_node *t, bp_train_config *o, bp_error *err)
{
    const bp_yd_node *es = bp_yd_get(t, "early_stopping");
    if (es) {
        TRY(bp_yd_expect(es, BP_YD_MAP, err));
        TRY(bp_yd_check_keys(es, stop_keys, COUNT(stop_keys), err));
        const bp_yd_node *pn;
        TRY(bp_yd_require(es, "patience", &pn, err));
        long long patience;
        TRY(bp_yd_int(pn, 0, 1000000, &patience, err));
        if (patience < 1)
            return bp_yd_fail(pn, BP_ERR_VALUE, err, "'train.early_stopping.patience' counts "
                              "evaluations without an improvement and must be >= 1 (0 would "
                              "stop at the first; leave early_stopping out to never stop)");
        o->patience = (int)patience;
        TRY(bp_yd_get_double(es, "min_delta", 0, 0, 1e30, &o->min_delta, err));
        int monitor;
        TRY(bp_yd_get_enum(es, "monitor", 0, monitors, COUNT(monitors), &monitor, err));
        o->monitor_metric = monitor == 1;
        TRY(bp_yd_get_bool(es, "restore_best", true, &o->restore_best, err));
    }
    const bp_yd_node *kb = bp_yd_get(t, "keep_best");
    if (!kb)
        return BP_OK;
    if (bp_yd_bool(kb, &o->keep_best, NULL) == BP_OK)
        return BP_OK;
    const char *path;
    TRY(bp_yd_string(kb, &path, err));
    TRY(bp_model_copy_text(kb, path, o->keep_best_path, sizeof o->keep_best_path, err));
    o->keep_best = true;
    if (o->checkpoint[0] && !strcmp(o->keep_best_path, o->checkpoint))
        return bp_yd_fail(kb, BP_ERR_VALUE, err, "'train.keep_best' names the run's own "
                          "checkpoint '%s' (train.checkpoint): the best would overwrite the last",
                          path);
    return BP_OK;
}

bp_status bp_model_read_train(const bp_yd_node *t, bp_train_config *o, bp_error *err)
{
    bp_train_config_default(o);
    if (!t)
        return BP_OK;
    TRY(bp_yd_expect(t, BP_YD_MAP, err));
    TRY(bp_yd_check_keys(t, train_keys, COUNT(train_keys), err));
    long long seed;
    TRY(bp_model_get_int(t, "batch", o->batch, 1, 1 << 20, &o->batch, err));
    TRY(bp_model_get_long(t, "steps", o->steps, 0, 1000000000, &o->steps, err));
    TRY(bp_yd_get_double(t, "epochs", 0, 0, 1e6, &o->epochs, err));
    if (o->epochs > 0 && !bp_yd_get(t, "steps"))
        o->steps = 0; /* the trainer counts them from the data set's rows */
    TRY(bp_yd_get_int(t, "seed", (long long)o->seed, 0, 0x7fffffffffffffffLL, &seed, err));
    o->seed = (uint64_t)seed;
    TRY(bp_model_get_long(t, "eval_every", o->eval_every, 0, 1000000000, &o->eval_every, err));
    TRY(bp_model_get_int(t, "eval_batch", o->eval_batch, 1, 1 << 20, &o->eval_batch, err));
    TRY(bp_model_get_long(t, "log_every", o->log_every, 0, 1000000000, &o->log_every, err));
    const char *ckpt;
    TRY(bp_yd_get_string(t, "checkpoint", "", &ckpt, err));
    if (ckpt[0])
        TRY(bp_model_copy_text(bp_yd_get(t, "checkpoint"), ckpt, o->checkpoint,
                               sizeof o->checkpoint, err));
    TRY(bp_model_get_long(t, "checkpoint_every", 0, 0, 1000000000, &o->checkpoint_every, err));
    TRY(bp_model_get_long(t, "max_memory_mb", o->max_memory_mb, 0, 1L << 30, &o->max_memory_mb,
                          err));
    TRY(bp_model_get_int(t, "threads", o->threads, 1, BP_TRAIN_MAX_THREADS, &o->threads, err));
    bp_optim_config *q = &o->optim;
    TRY(read_optim(t, q, err));
    TRY(read_stopping(t, o, err));
    if (q->schedule == BP_LR_COSINE && o->steps > 0)
        q->total_steps = o->steps;
    if (q->warmup_steps && o->steps > 0 && q->warmup_steps >= o->steps)
        return bp_yd_fail(bp_yd_get(t, "warmup_steps"), BP_ERR_VALUE, err,
                          "'train.warmup_steps' (%ld) must be below train.steps (%ld): the "
                          "warm-up would outlast the run", q->warmup_steps, o->steps);
    if ((q->schedule == BP_LR_PLATEAU || o->patience) && o->eval_every == 0 &&
        (bp_yd_get(t, "early_stopping") || bp_yd_get(t, "schedule")))
        return bp_yd_fail(bp_yd_get(t, o->patience ? "early_stopping" : "schedule"),
                          BP_ERR_VALUE, err, "%s follows the evaluations, and train.eval_every "
                          "is 0 (only one, at the end): give eval_every > 0",
                          o->patience ? "early stopping" : "the plateau schedule");
    bp_error e;
    if (bp_optim_config_check(q, &e) != BP_OK)
        return bp_yd_fail(t, BP_ERR_VALUE, err, "%s", e.msg);
    return BP_OK;
}
