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
        .decay = BP_DECAY_MATRICES,
        .schedule = BP_LR_CONSTANT,
        .warmup_steps = 0,
        .step_every = 1000,
        .step_gamma = 0.1,
        .total_steps = 0,
        .lr_min = 0,
        .decay_rate = 0.5,
        .decay_steps = 1000,
        .plateau_factor = 0.1,
        .plateau_patience = 10,
        .plateau_threshold = 1e-4,
        .clip_norm = 0,
        .clip_value = 0,
    };
}

/* lo <= v < hi (hi_open) or lo <= v <= hi, and finite */
static bool in_range(double v, double lo, double hi, bool hi_open)
{
    return isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
}

#define FAIL(...) return bp_error_set(err, BP_ERR_VALUE, "optimizer: " __VA_ARGS__)

static bp_status check_kind(const bp_optim_config *c, bp_error *err)
{
    switch (c->kind) {
    case BP_OPT_SGD:
        if (!in_range(c->momentum, 0, 1, true))
            FAIL("momentum must be in [0, 1), got %g", c->momentum);
        if (c->nesterov && c->momentum <= 0)
            FAIL("nesterov needs momentum > 0");
        return BP_OK;
    case BP_OPT_RMSPROP:
        if (!in_range(c->alpha, 0, 1, true))
            FAIL("alpha must be in [0, 1), got %g", c->alpha);
        break;
    case BP_OPT_ADAM:
    case BP_OPT_ADAMW:
        if (!in_range(c->beta1, 0, 1, true))
            FAIL("beta1 must be in [0, 1), got %g", c->beta1);
        if (!in_range(c->beta2, 0, 1, true))
            FAIL("beta2 must be in [0, 1), got %g", c->beta2);
        break;
    case BP_OPT_COUNT: break;
    }
    if (!(isfinite(c->eps) && c->eps > 0))
        FAIL("eps must be > 0, got %g", c->eps);
    return BP_OK;
}

static bp_status check_schedule(const bp_optim_config *c, bp_error *err)
{
    if (c->warmup_steps < 0)
        FAIL("warmup_steps must be >= 0 (0 = none), got %ld", c->warmup_steps);
    switch (c->schedule) {
    case BP_LR_STEP:
        if (c->step_every < 1)
            FAIL("step schedule needs step_every >= 1, got %ld", c->step_every);
        if (!(isfinite(c->step_gamma) && c->step_gamma > 0))
            FAIL("step schedule needs step_gamma > 0, got %g", c->step_gamma);
        break;
    case BP_LR_COSINE:
        if (c->total_steps < 1)
            FAIL("cosine schedule needs total_steps >= 1, got %ld", c->total_steps);
        if (c->warmup_steps >= c->total_steps)
            FAIL("warmup_steps (%ld) must be below the cosine schedule's total_steps (%ld)",
                 c->warmup_steps, c->total_steps);
        break;
    case BP_LR_EXPONENTIAL:
        if (!(isfinite(c->decay_rate) && c->decay_rate > 0 && c->decay_rate <= 1))
            FAIL("exponential schedule needs decay_rate in (0, 1], got %g", c->decay_rate);
        if (c->decay_steps < 1)
            FAIL("exponential schedule needs decay_steps >= 1, got %ld", c->decay_steps);
        break;
    case BP_LR_PLATEAU:
        if (!(isfinite(c->plateau_factor) && c->plateau_factor > 0 && c->plateau_factor < 1))
            FAIL("plateau schedule needs plateau_factor in (0, 1), got %g", c->plateau_factor);
        if (c->plateau_patience < 1)
            FAIL("plateau schedule needs plateau_patience >= 1 (evaluations), got %d",
                 c->plateau_patience);
        if (!in_range(c->plateau_threshold, 0, 1, true))
            FAIL("plateau schedule needs plateau_threshold in [0, 1), got %g",
                 c->plateau_threshold);
        break;
    case BP_LR_CONSTANT:
    case BP_LR_COUNT: break;
    }
    if ((c->schedule == BP_LR_COSINE || c->schedule == BP_LR_PLATEAU) &&
        !in_range(c->lr_min, 0, c->lr, false))
        FAIL("%s schedule needs 0 <= lr_min <= lr (%g), got %g", bp_lr_kind_name(c->schedule),
             c->lr, c->lr_min);
    return BP_OK;
}

bp_status bp_optim_config_check(const bp_optim_config *c, bp_error *err)
{
    if ((unsigned)c->kind >= BP_OPT_COUNT)
        FAIL("unknown kind %d", (int)c->kind);
    if ((unsigned)c->schedule >= BP_LR_COUNT)
        FAIL("unknown schedule %d", (int)c->schedule);
    if ((unsigned)c->decay >= BP_DECAY_COUNT)
        FAIL("unknown weight-decay selection %d", (int)c->decay);
    if (!(isfinite(c->lr) && c->lr > 0))
        FAIL("lr must be > 0, got %g", c->lr);
    if (!in_range(c->weight_decay, 0, INFINITY, true))
        FAIL("weight_decay must be >= 0, got %g", c->weight_decay);
    if (!in_range(c->clip_norm, 0, INFINITY, true))
        FAIL("clip_norm must be >= 0 (0 = off), got %g", c->clip_norm);
    if (!in_range(c->clip_value, 0, INFINITY, true))
        FAIL("clip_value must be >= 0 (0 = off), got %g", c->clip_value);
    bp_status st = check_kind(c, err);
    return st != BP_OK ? st : check_schedule(c, err);
}

#define NAME(id, name) name,
static const char *const opt_names[] = {BP_OPT_LIST(NAME)};
static const char *const lr_names[] = {BP_LR_LIST(NAME)};
static const char *const decay_names[] = {BP_DECAY_LIST(NAME)};
#undef NAME

/* names[k] for k in [0, n), else "unknown"; the index of name, or -1 */
static const char *name_of(const char *const *names, int n, int k)
{
    return k >= 0 && k < n ? names[k] : "unknown";
}

static int index_of(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *bp_opt_kind_name(bp_opt_kind k) { return name_of(opt_names, BP_OPT_COUNT, (int)k); }
const char *bp_lr_kind_name(bp_lr_kind k) { return name_of(lr_names, BP_LR_COUNT, (int)k); }
const char *bp_decay_params_name(bp_decay_params d)
{
    return name_of(decay_names, BP_DECAY_COUNT, (int)d);
}

bool bp_opt_kind_parse(const char *name, bp_opt_kind *k)
{
    int i = index_of(opt_names, BP_OPT_COUNT, name);
    if (i >= 0)
        *k = (bp_opt_kind)i;
    return i >= 0;
}

bool bp_lr_kind_parse(const char *name, bp_lr_kind *k)
{
    int i = index_of(lr_names, BP_LR_COUNT, name);
    if (i >= 0)
        *k = (bp_lr_kind)i;
    return i >= 0;
}

bool bp_decay_params_parse(const char *name, bp_decay_params *d)
{
    int i = index_of(decay_names, BP_DECAY_COUNT, name);
    if (i >= 0)
        *d = (bp_decay_params)i;
    return i >= 0;
}
