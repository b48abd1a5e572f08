/* optim_config.c — optimizer settings: defaults (PyTorch's), range checks, names. */
#include "bptt_optim.h"

#include <math.h>
#include <string.h>

void bp_optim_config_default(bp_optim_config *c)
{
    *c = (bp_optim_config){
        .kind = BP_OPT_ADAM,
        .lr = 1e-3,
        .momentum = 0,
        .nesterov = false,
        .beta1 = 0.9,
        .beta2 = 0.999,
        .alpha = 0.99,
        .eps = 1e-8,
        .weight_decay = 0,
        .schedule = BP_LR_CONSTANT,
        .step_every = 1000,
        .step_gamma = 0.1,
        .total_steps = 0,
        .lr_min = 0,
        .clip_norm = 0,
        .clip_value = 0,
    };
}

/* lo <= v < hi (hi_open) or lo <= v <= hi, and finite */
static bool in_range(double v, double lo, double hi, bool hi_open)
{
    return isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
}

bp_status bp_optim_config_check(const bp_optim_config *c, bp_error *err)
{
    if ((unsigned)c->kind > BP_OPT_ADAM)
        return bp_error_set(err, BP_ERR_VALUE, "optimizer: unknown kind %d", (int)c->kind);
    if ((unsigned)c->schedule > BP_LR_COSINE)
        return bp_error_set(err, BP_ERR_VALUE, "optimizer: unknown schedule %d",
                            (int)c->schedule);
    if (!(isfinite(c->lr) && c->lr > 0))
        return bp_error_set(err, BP_ERR_VALUE, "optimizer: lr must be > 0, got %g", c->lr);
    if (!in_range(c->weight_decay, 0, INFINITY, true))
        return bp_error_set(err, BP_ERR_VALUE, "optimizer: weight_decay must be >= 0, got %g",
                            c->weight_decay);
    if (!in_range(c->clip_norm, 0, INFINITY, true))
        return bp_error_set(err, BP_ERR_VALUE,
                            "optimizer: clip_norm must be >= 0 (0 = off), got %g", c->clip_norm);
    if (!in_range(c->clip_value, 0, INFINITY, true))
        return bp_error_set(err, BP_ERR_VALUE,
                            "optimizer: clip_value must be >= 0 (0 = off), got %g", c->clip_value);
    switch (c->kind) {
    case BP_OPT_SGD:
        if (!in_range(c->momentum, 0, 1, true))
            return bp_error_set(err, BP_ERR_VALUE,
                                "optimizer: momentum must be in [0, 1), got %g", c->momentum);
        if (c->nesterov && c->momentum <= 0)
            return bp_error_set(err, BP_ERR_VALUE, "optimizer: nesterov needs momentum > 0");
        break;
    case BP_OPT_RMSPROP:
        if (!in_range(c->alpha, 0, 1, true))
            return bp_error_set(err, BP_ERR_VALUE, "optimizer: alpha must be in [0, 1), got %g",
                                c->alpha);
        break;
    case BP_OPT_ADAM:
        if (!in_range(c->beta1, 0, 1, true))
            return bp_error_set(err, BP_ERR_VALUE, "optimizer: beta1 must be in [0, 1), got %g",
                                c->beta1);
        if (!in_range(c->beta2, 0, 1, true))
            return bp_error_set(err, BP_ERR_VALUE, "optimizer: beta2 must be in [0, 1), got %g",
                                c->beta2);
        break;
    }
    if (c->kind != BP_OPT_SGD && !(isfinite(c->eps) && c->eps > 0))
        return bp_error_set(err, BP_ERR_VALUE, "optimizer: eps must be > 0, got %g", c->eps);
    if (c->schedule == BP_LR_STEP) {
        if (c->step_every < 1)
            return bp_error_set(err, BP_ERR_VALUE,
                                "optimizer: step schedule needs step_every >= 1, got %ld",
                                c->step_every);
        if (!(isfinite(c->step_gamma) && c->step_gamma > 0))
            return bp_error_set(err, BP_ERR_VALUE,
                                "optimizer: step schedule needs step_gamma > 0, got %g",
                                c->step_gamma);
    }
    if (c->schedule == BP_LR_COSINE) {
        if (c->total_steps < 1)
            return bp_error_set(err, BP_ERR_VALUE,
                                "optimizer: cosine schedule needs total_steps >= 1, got %ld",
                                c->total_steps);
        if (!in_range(c->lr_min, 0, c->lr, false))
            return bp_error_set(err, BP_ERR_VALUE,
                                "optimizer: cosine schedule needs 0 <= lr_min <= lr (%g), got %g",
                                c->lr, c->lr_min);
    }
    return BP_OK;
}

static const char *const opt_names[] = {"sgd", "rmsprop", "adam"};
static const char *const lr_names[] = {"constant", "step", "cosine"};

const char *bp_opt_kind_name(bp_opt_kind k)
{
    return (unsigned)k <= BP_OPT_ADAM ? opt_names[k] : "unknown";
}

const char *bp_lr_kind_name(bp_lr_kind k)
{
    return (unsigned)k <= BP_LR_COSINE ? lr_names[k] : "unknown";
}

bool bp_opt_kind_parse(const char *name, bp_opt_kind *k)
{
    for (int i = 0; i <= BP_OPT_ADAM; i++)
        if (strcmp(name, opt_names[i]) == 0) {
            *k = (bp_opt_kind)i;
            return true;
        }
    return false;
}

bool bp_lr_kind_parse(const char *name, bp_lr_kind *k)
{
    for (int i = 0; i <= BP_LR_COSINE; i++)
        if (strcmp(name, lr_names[i]) == 0) {
            *k = (bp_lr_kind)i;
            return true;
        }
    return false;
}
