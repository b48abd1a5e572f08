/* trainer_best.c — after each evaluation: the plateau schedule, the best evaluation so far
 * (its state kept in memory, to go back to), early stopping; and their part of a
 * checkpoint, so that a resumed run decides as the uninterrupted one would.
 *
 * The monitored value is the validation loss, or with monitor: metric the validation
 * metric, turned so that lower is better (accuracy enters as -accuracy). An evaluation
 * improves on the best when its value is below best - min_delta (Keras's EarlyStopping,
 * mode min). The best state is the parameters, the optimizer state, the step and the data
 * stream: going back to it is going back to that step, bit for bit. */
#include "trainer_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BEST_NAME "trainer.best"       /* F64 [3]: step (-1: none), value, evaluations since */
#define PLATEAU_NAME "trainer.plateau" /* F64 [3]: bp_optim_plateau_state */

static bool tracking(const bp_trainer *tr)
{
    return tr->cfg.train.patience > 0 || tr->cfg.train.keep_best;
}

/* Is the monitored value an accuracy (higher is better)? Class targets' metric is. */
static bool higher_is_better(const bp_trainer *tr)
{
    return tr->cfg.train.monitor_metric && bp_target_is_class(bp_task_target(tr->task));
}

/* The value lower is better for: the loss, or the metric (accuracy negated). */
static double monitored(const bp_trainer *tr, const bp_net_eval *ev)
{
    if (!tr->cfg.train.monitor_metric)
        return ev->loss;
    return higher_is_better(tr) ? -ev->metric : ev->metric;
}

/* The leaves a snapshot holds: every parameter, then the optimizer's state. */
static int leaf_count(const bp_trainer *tr)
{
    return bp_params_count(tr->params) + bp_optim_state_count(tr->optim);
}

static bp_node *leaf_at(const bp_trainer *tr, int i)
{
    int np = bp_params_count(tr->params);
    return i < np ? bp_params_at(tr->params, i) : bp_optim_state_at(tr->optim, i - np);
}

/* The live state into the snapshot (allocated on first use). */
static bp_status snapshot(bp_trainer *tr, bp_error *err)
{
    trainer_best *b = &tr->best;
    if (!b->values) {
        size_t n = 0;
        for (int i = 0; i < leaf_count(tr); i++)
            n += leaf_at(tr, i)->size;
        if (!(b->values = malloc((n ? n : 1) * sizeof *b->values)))
            return bp_error_set(err, BP_ERR_NOMEM, "trainer: no memory to keep the best state");
    }
    bp_real *v = b->values;
    for (int i = 0; i < leaf_count(tr); i++) {
        const bp_node *n = leaf_at(tr, i);
        memcpy(v, n->value, n->size * sizeof *v);
        v += n->size;
    }
    b->rng = tr->data_rng;
    bp_optim_plateau_state(tr->optim, b->plateau);
    b->held = b->step;
    return BP_OK;
}

void bp_trainer_best_init(bp_trainer *tr)
{
    tr->best = (trainer_best){.step = -1, .held = -1, .value = INFINITY};
}

void bp_trainer_best_free(bp_trainer *tr)
{
    free(tr->best.values);
    tr->best.values = NULL;
}

bp_status bp_trainer_observe(bp_trainer *tr, const bp_net_eval *ev, bp_eval_verdict *v,
                             bp_error *err)
{
    trainer_best *b = &tr->best;
    *v = (bp_eval_verdict){.best_step = b->step, .best = b->value, .waited = b->waited};
    v->lr_cut = bp_optim_observe(tr->optim, ev->loss);
    if (!tracking(tr))
        return BP_OK;
    double x = monitored(tr, ev);
    long step = bp_optim_steps_done(tr->optim);
    if (isfinite(x) && (b->step < 0 || x < b->value - tr->cfg.train.min_delta)) {
        b->step = step;
        b->value = x;
        b->waited = 0;
        v->improved = true;
        bp_status st = snapshot(tr, err);
        if (st != BP_OK)
            return st;
    } else if (step != b->step) {
        b->waited++;
    }
    v->best_step = b->step;
    v->best = higher_is_better(tr) ? -b->value : b->value;
    v->waited = b->waited;
    v->stop = tr->cfg.train.patience > 0 && b->waited >= tr->cfg.train.patience;
    return BP_OK;
}

bp_status bp_trainer_restore_best(bp_trainer *tr, bp_error *err)
{
    trainer_best *b = &tr->best;
    if (b->step < 0)
        return bp_error_set(err, BP_ERR_VALUE, "trainer: no evaluation yet, so no best state");
    if (b->held != b->step || !b->values)
        return bp_error_set(err, BP_ERR_VALUE, "trainer: the best state (step %ld) came before "
                            "this run resumed, so it is not in memory: load it from the "
                            "train.keep_best checkpoint", b->step);
    const bp_real *v = b->values;
    for (int i = 0; i < leaf_count(tr); i++) {
        bp_node *n = leaf_at(tr, i);
        memcpy(n->value, v, n->size * sizeof *v);
        v += n->size;
    }
    tr->data_rng = b->rng;
    bp_optim_set_plateau_state(tr->optim, b->plateau);
    bp_optim_set_steps_done(tr->optim, b->step);
    if (tr->state) /* truncated BPTT starts each batch from zero anyway */
        bp_net_state_zero(tr->state);
    return BP_OK;
}

long bp_trainer_best_step(const bp_trainer *tr)
{
    return tr->best.step;
}

/* ---------------------------------------------------------------- checkpoints */

bp_status bp_trainer_best_write(const bp_trainer *tr, bp_st_writer *w, double store[6],
                                bp_error *err)
{
    const trainer_best *b = &tr->best;
    store[0] = (double)b->step;
    store[1] = b->value;
    store[2] = (double)b->waited;
    bp_optim_plateau_state(tr->optim, store + 3);
    bp_status st = bp_st_writer_add_raw(w, BEST_NAME, BP_DTYPE_F64, bp_shape1(3), store, err);
    if (st == BP_OK)
        st = bp_st_writer_add_raw(w, PLATEAU_NAME, BP_DTYPE_F64, bp_shape1(3), store + 3, err);
    if (st != BP_OK || b->step < 0)
        return st;
    char s[64];
    snprintf(s, sizeof s, "%ld", b->step);
    st = bp_st_writer_meta(w, "best_step", s, err);
    snprintf(s, sizeof s, "%.17g", higher_is_better(tr) ? -b->value : b->value);
    if (st == BP_OK)
        st = bp_st_writer_meta(w, tr->cfg.train.monitor_metric ? "best_metric" : "best_eval_loss",
                               s, err);
    return st;
}

bp_status bp_trainer_best_read(const bp_st_file *f, const char *path, double out[6],
                               bp_error *err)
{
    out[0] = -1, out[1] = INFINITY, out[2] = 0; /* a checkpoint of an older bptt: none */
    out[3] = 1, out[4] = INFINITY, out[5] = 0;
    if (bp_st_find(f, BEST_NAME)) {
        bp_status st = bp_st_read_raw(f, BEST_NAME, BP_DTYPE_F64, bp_shape1(3), out, err);
        if (st != BP_OK)
            return st;
        if (!(out[0] >= -1 && out[0] <= 1e15 && out[0] == floor(out[0])) || isnan(out[1]) ||
            !(out[2] >= 0 && out[2] <= 1e9 && out[2] == floor(out[2])))
            return bp_error_set(err, BP_ERR_VALUE, "%s: %s holds %g, %g, %g: not a step, a "
                                "value and a count", path, BEST_NAME, out[0], out[1], out[2]);
    }
    if (bp_st_find(f, PLATEAU_NAME)) {
        bp_status st = bp_st_read_raw(f, PLATEAU_NAME, BP_DTYPE_F64, bp_shape1(3), out + 3, err);
        if (st != BP_OK)
            return st;
        if (!(out[3] > 0 && out[3] <= 1) || isnan(out[4]) ||
            !(out[5] >= 0 && out[5] <= 1e9 && out[5] == floor(out[5])))
            return bp_error_set(err, BP_ERR_VALUE, "%s: %s holds %g, %g, %g: not a scale in "
                                "(0, 1], a loss and a count", path, PLATEAU_NAME, out[3],
                                out[4], out[5]);
    }
    return BP_OK;
}

void bp_trainer_best_commit(bp_trainer *tr, const double in[6])
{
    trainer_best *b = &tr->best;
    b->step = (long)in[0];
    b->value = in[1];
    b->waited = (int)in[2];
    bp_optim_set_plateau_state(tr->optim, in + 3);
    /* the snapshot is of this very step when the checkpoint was written at its best */
    b->held = -1;
    if (b->step >= 0 && b->step == bp_optim_steps_done(tr->optim))
        snapshot(tr, NULL);
}
