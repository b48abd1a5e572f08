/* trainer.c — one training run: task, parameters, net, optimizer, random streams. */
#include "dist.h"
#include "fpmode.h"
#include "parallel.h"
#include "task_internal.h"
#include "trainer_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Distinct streams from one seed: weights, training batches, the held-out batch. */
enum { STREAM_INIT = 0x1A17, STREAM_DATA = 0xDA7A, STREAM_EVAL = 0xE7A1, STREAM_DROP = 0xD209 };

bp_task *bp_trainer_make_task(const bp_data_config *d, uint64_t seed,
                              const bp_file_set_opts *part, bp_error *err)
{
    bp_task_kind kind;
    if (!bp_task_kind_parse(d->task, &kind)) {
        bp_error_set(err, BP_ERR_NAME, "unknown task '%s'", d->task);
        return NULL;
    }
    switch (kind) {
    case BP_TASK_ADDING: return bp_task_adding(d->steps, err);
    case BP_TASK_COPY: return bp_task_copy(d->steps, err);
    case BP_TASK_CHARS: return bp_task_chars(d->path, d->steps, err);
    case BP_TASK_FILES: break;
    }
    bp_file_set_opts o = d->files; /* the files' split and epoch orders follow train.seed */
    o.seed = seed;
    if (part) { /* a rank's part of the data set, and its share of a CSV file */
        o.shard = part->shard;
        o.shards = part->shards;
        o.share = part->share;
        o.share_ctx = part->share_ctx;
    }
    return bp_task_files(&o, err);
}

/* A data set's token ids and classes are bounds: the model may name a larger vocabulary
 * or more classes than the data happens to hold, never fewer. The error names the file
 * and the place of the largest id where this process holds it. */
static bp_status fit_bound(int *model, int data, const bp_task *task, bool tokens,
                           bp_error *err)
{
    char at[BP_TASK_PATH_MAX + 128];
    if (*model && *model < data && !bp_task_largest_id_at(task, tokens, at, sizeof at))
        return bp_error_set(err, BP_ERR_SHAPE, "model: %s is %d but the data set's %s go up "
                            "to %d (%d needed)", tokens ? "vocab" : "output", *model,
                            tokens ? "token ids" : "class ids", data - 1, data);
    if (*model && *model < data)
        return tokens ? bp_error_set(err, BP_ERR_SHAPE, "%s, but the model's vocab is %d", at,
                                     *model)
                      : bp_error_set(err, BP_ERR_SHAPE, "%s, but the model's output is %d "
                                     "class%s (ids 0..%d)", at, *model, *model == 1 ? "" : "es",
                                     *model - 1);
    if (!*model)
        *model = data;
    return BP_OK;
}

/* The net's input, output and head follow from the task; an explicit size in the
 * model file must agree with it. */
static bp_status fit_to_task(bp_net_spec *s, const bp_task *task, const char *loss,
                             bp_error *err)
{
    int in = bp_task_input_size(task), out = bp_task_output_size(task);
    const char *name = bp_task_name(task);
    bool files = !strcmp(name, bp_task_kind_name(BP_TASK_FILES));
    bp_target_kind target = bp_task_target(task);
    const char *need = bp_target_is_class(target) ? "xent" : "mse";
    if (loss[0] && strcmp(loss, need))
        return bp_error_set(err, BP_ERR_VALUE, "model: loss '%s' does not fit the data set's %s "
                            "targets, which need '%s'", loss,
                            bp_target_is_class(target) ? "class" : "value", need);
    if (files && bp_task_tokens(task)) {
        if (fit_bound(&s->input_size, in, task, true, err) != BP_OK)
            return BP_ERR_SHAPE;
    } else if (s->input_size && s->input_size != in) {
        return files ? bp_error_set(err, BP_ERR_SHAPE, "model: input is %d but the data set "
                                    "has %d feature%s per step", s->input_size, in,
                                    in == 1 ? "" : "s")
                     : bp_error_set(err, BP_ERR_SHAPE, "model: input is %d but the %s task "
                                    "gives %d", s->input_size, name, in);
    }
    if (files && bp_target_is_class(target)) {
        if (fit_bound(&s->output_size, out, task, false, err) != BP_OK)
            return BP_ERR_SHAPE;
    } else if (s->output_size && s->output_size != out) {
        return files ? bp_error_set(err, BP_ERR_SHAPE, "model: output is %d but the data set's "
                                    "targets have %d value%s", s->output_size, out,
                                    out == 1 ? "" : "s")
                     : bp_error_set(err, BP_ERR_SHAPE, "model: output is %d but the %s task "
                                    "gives %d", s->output_size, name, out);
    }
    s->input_size = s->input_size ? s->input_size : in;
    s->output_size = s->output_size ? s->output_size : out;
    s->tokens = bp_task_tokens(task);
    s->head = bp_target_per_step(target) ? BP_HEAD_SEQ : BP_HEAD_LAST;
    return BP_OK;
}

void bp_trainer_free(bp_trainer *tr)
{
    if (!tr)
        return;
    bp_workers_free(tr->workers); /* before the net, params and tape its workers share */
    bp_trainer_best_free(tr);
    bp_batch_free(tr->eval_batch);
    bp_net_state_free(tr->state);
    bp_net_state_free(tr->scratch_state);
    bp_net_state_free(tr->dist_state);
    bp_tape_free(tr->tape);
    bp_optim_free(tr->optim);
    bp_net_free(tr->net);
    bp_params_free(tr->params);
    bp_task_free(tr->task);
    free(tr->layers);
    free(tr->cell);
    free(tr);
}

bp_trainer *bp_trainer_new(const bp_model_config *c, bp_error *err)
{
    return bp_trainer_new_with_task(c, NULL, err);
}

bp_trainer *bp_trainer_new_with_task(const bp_model_config *c, bp_task *task, bp_error *err)
{
    bp_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) {
        bp_task_free(task);
        bp_error_set(err, BP_ERR_NOMEM, "trainer: out of memory");
        return NULL;
    }
    tr->cfg = *c;
    bp_trainer_best_init(tr);
    tr->layers = malloc((size_t)c->net.n_layers * sizeof *tr->layers);
    if (!tr->layers) {
        bp_error_set(err, BP_ERR_NOMEM, "trainer: out of memory");
        goto fail;
    }
    memcpy(tr->layers, c->net.layers, (size_t)c->net.n_layers * sizeof *tr->layers);
    tr->cfg.net.layers = tr->layers;
    tr->cfg.layers = tr->layers;
    tr->cfg.cell = NULL;
    for (int i = 0; i < c->net.n_layers; i++) {
        if (tr->layers[i].kind != BP_LAYER_CELL || !tr->layers[i].cell)
            continue;
        if (tr->cell || !(tr->cell = bp_cell_spec_copy(tr->layers[i].cell))) {
            bp_error_set(err, tr->cell ? BP_ERR_VALUE : BP_ERR_NOMEM,
                         "trainer: one graph cell per model");
            goto fail;
        }
        tr->layers[i].cell = tr->cfg.cell = tr->cell;
    }
    if (!(tr->task = task ? task : bp_trainer_make_task(&c->data, c->train.seed, NULL, err)))
        goto fail;
    task = NULL; /* the trainer's now */
    if (fit_to_task(&tr->cfg.net, tr->task, c->data.loss, err) != BP_OK)
        goto fail;
    /* a model with more classes than the data holds: its batches carry the model's */
    if (bp_target_is_class(bp_task_target(tr->task)))
        bp_task_widen_classes(tr->task, tr->cfg.net.output_size);
    bp_train_config *tc = &tr->cfg.train;
    bool files = !strcmp(bp_task_name(tr->task), bp_task_kind_name(BP_TASK_FILES));
    if (tc->epochs > 0 && !files) { /* whether or not steps are given too */
        bp_error_set(err, BP_ERR_VALUE, "train.epochs counts passes over a data set's rows; "
                     "the %s task draws fresh sequences: give train.steps alone",
                     bp_task_name(tr->task));
        goto fail;
    }
    long rows = bp_task_rows(tr->task, BP_SPLIT_TRAIN); /* 0: a signature (predict, sample) */
    if (tc->epochs > 0 && tc->steps == 0 && rows) {
        double steps = ceil(tc->epochs * (double)rows / tc->batch);
        tc->steps = steps < 1 ? 1 : steps > 1e9 ? 1000000000L : (long)steps;
    }
    bp_optim_config *oc = &tr->cfg.train.optim;
    if (oc->schedule == BP_LR_COSINE && oc->total_steps == 0)
        oc->total_steps = tr->cfg.train.steps;
    if (oc->warmup_steps && oc->warmup_steps >= tc->steps && bp_task_has_data(tr->task)) {
        /* steps from epochs, or C; a signature trains none */
        bp_error_set(err, BP_ERR_VALUE, "train.warmup_steps (%ld) must be below train.steps "
                     "(%ld): the warm-up would outlast the run", oc->warmup_steps, tc->steps);
        goto fail;
    }
    if (bp_trainer_check_params(tr, err) != BP_OK)
        goto fail;
    if (!(tr->params = bp_params_new()) || !(tr->tape = bp_tape_new())) {
        bp_error_set(err, BP_ERR_NOMEM, "trainer: out of memory");
        goto fail;
    }
    if (!(tr->net = bp_net_new(&tr->cfg.net, tr->params, err)))
        goto fail;
    if (bp_trainer_check_memory(tr, err) != BP_OK)
        goto fail;
    bp_rng init;
    bp_rng_seed(&init, tr->cfg.train.seed ^ STREAM_INIT);
    if (bp_net_init(tr->net, &init, err) != BP_OK)
        goto fail;
    if (!(tr->optim = bp_optim_new(oc, tr->params, err)))
        goto fail;
    if (tr->cfg.net.chunk && !(tr->state = bp_net_state_new(tr->net, tr->cfg.train.batch, err)))
        goto fail;
    bp_rng_seed(&tr->data_rng, tr->cfg.train.seed ^ STREAM_DATA);
    bp_rng eval;
    bp_rng_seed(&eval, tr->cfg.train.seed ^ STREAM_EVAL);
    /* a data set evaluates its whole validation set (bp_trainer_eval); a task a fixed
     * batch of eval_batch sequences drawn once; a signature (no data) nothing */
    if (!bp_task_rows(tr->task, BP_SPLIT_EVAL) && bp_task_has_data(tr->task)) {
        tr->eval_batch = bp_task_batch(tr->task, tr->cfg.train.eval_batch, BP_SPLIT_EVAL, &eval, err);
        if (!tr->eval_batch)
            goto fail;
    }
    return tr;
fail:
    bp_task_free(task);
    bp_trainer_free(tr);
    return NULL;
}

bp_status bp_trainer_backward(bp_trainer *tr, const bp_batch *b, double *loss, bp_error *err)
{
    int T = b->T, K = tr->cfg.net.chunk ? tr->cfg.net.chunk : T;
    bp_net_state *state = NULL;
    if (K < T) {
        if (!tr->state || b->B != tr->cfg.train.batch) {
            bp_net_state_free(tr->scratch_state);
            tr->scratch_state = bp_net_state_new(tr->net, b->B, err);
            if (!tr->scratch_state)
                return err ? err->status : BP_ERR_NOMEM;
            state = tr->scratch_state;
        } else {
            state = tr->state;
        }
    }
    return bp_net_backward_batch(tr->net, tr->tape, state, b, 1, loss, err);
}

bp_status bp_trainer_update(bp_trainer *tr, const bp_batch *b, double *loss, bp_step_info *info,
                            bp_error *err)
{
    bp_status st;
    int shard;
    if (!tr->dist && bp_task_shards(tr->task, &shard)) /* its batches hold its rows alone */
        return bp_error_set(err, BP_ERR_VALUE, "trainer: its data set is shard %d of %d "
                            "(bp_trainer_new_dist): attach the ranks with bp_trainer_set_dist "
                            "before a step", shard, bp_task_shards(tr->task, &shard));
    if (tr->dist) { /* across MPI ranks (dist_train.c), each rank's rows on its threads */
        st = bp_dist_backward(tr, b, loss, err);
    } else if (tr->cfg.train.threads > 1 && b->B > 1) {
        /* the threads start with the first split step (eval-only uses never need them) */
        if (!tr->workers && !(tr->workers = bp_workers_new(tr, tr->cfg.train.threads, err)))
            return err ? err->status : BP_ERR_NOMEM;
        st = bp_workers_backward(tr->workers, b, loss, err);
    } else {
        st = bp_trainer_backward(tr, b, loss, err);
    }
    if (st == BP_OK) { /* Adam's moments of tiny gradients pass through denormals too */
        bp_fp_scope fp = bp_fp_flush_begin(bp_tape_flushes_denormals(tr->tape));
        st = bp_optim_step(tr->optim, *loss, info, err);
        bp_fp_flush_end(fp);
    }
    if (st == BP_ERR_NONFINITE && !isfinite(*loss))
        bp_trainer_explain_nonfinite(tr, err);
    if (st != BP_OK)
        bp_params_zero_grad(tr->params); /* the next try starts clean */
    return st;
}

bp_status bp_trainer_step(bp_trainer *tr, double *loss, bp_step_info *info, bp_error *err)
{
    bp_batch *b = bp_task_train_batch(tr->task, tr->cfg.train.batch, bp_optim_steps_done(tr->optim),
                                      &tr->data_rng, err);
    if (!b)
        return err ? err->status : BP_ERR_NOMEM;
    /* a training step needs no intermediate gradient after its use, nor a value no
     * backward reads: the tape recycles them, which keeps a long sequence's memory near
     * the activations backward needs */
    bp_tape_set_keep_grads(tr->tape, false);
    bp_tape_set_keep_values(tr->tape, false);
    /* dropout in training steps only, its masks a function of the seed and the step: a
     * resumed run draws the same ones without any state in the checkpoint */
    uint64_t step = (uint64_t)bp_optim_steps_done(tr->optim);
    bp_net_set_dropout(tr->net, true,
                       (tr->cfg.train.seed ^ STREAM_DROP) * 0x9e3779b97f4a7c15ull + step);
    bp_status st = bp_trainer_update(tr, b, loss, info, err);
    bp_net_set_dropout(tr->net, false, 0);
    bp_tape_set_keep_grads(tr->tape, true);
    bp_tape_set_keep_values(tr->tape, true);
    bp_batch_free(b);
    return st;
}

bp_status bp_trainer_grads(bp_trainer *tr, const bp_batch *batch, double *loss, bp_error *err)
{
    bp_params_zero_grad(tr->params);
    return bp_trainer_backward(tr, batch, loss, err);
}

/* A data set's whole validation split, eval_batch rows at a time: the loss and metric are
 * means over rows (last-step head) or over the (row, step) pairs within sequences. */
/* An evaluation is a sum over slices in slice order (trainer_internal.h), in one process
 * and across MPI ranks alike: a data set's validation rows eval_batch at a time, or a
 * built-in task's fixed batch EVAL_SLICE rows at a time. */
enum { EVAL_SLICE = 32 };

long bp_trainer_eval_units(const bp_trainer *tr)
{
    long n = bp_task_rows(tr->task, BP_SPLIT_EVAL), per = tr->cfg.train.eval_batch;
    if (!n) {
        n = tr->eval_batch ? tr->eval_batch->B : 0;
        per = EVAL_SLICE;
    }
    return (n + per - 1) / per;
}

bp_status bp_trainer_eval_unit(bp_trainer *tr, long u, double v[3], bp_error *err)
{
    long n = bp_task_rows(tr->task, BP_SPLIT_EVAL);
    bp_batch *slice = NULL, view;
    if (n) {
        long first = u * tr->cfg.train.eval_batch;
        int count = (int)(n - first < tr->cfg.train.eval_batch ? n - first : tr->cfg.train.eval_batch);
        if (!(slice = bp_task_slice(tr->task, BP_SPLIT_EVAL, first, count, err)))
            return err ? err->status : BP_ERR_NOMEM;
    } else {
        int r0 = (int)(u * EVAL_SLICE), B = tr->eval_batch->B;
        view = bp_batch_rows(tr->eval_batch, r0, B - r0 < EVAL_SLICE ? B : r0 + EVAL_SLICE);
    }
    const bp_batch *b = slice ? slice : &view;
    bp_net_eval ev;
    bp_status st = bp_net_evaluate(tr->net, tr->tape, b, &ev, err);
    double w = bp_target_per_step(b->target) ? (double)bp_batch_count_steps(b, 0, b->T)
                                             : (double)b->B;
    bp_batch_free(slice);
    if (st != BP_OK)
        return st;
    v[0] = w * ev.loss;
    v[1] = w * ev.metric;
    v[2] = w;
    return BP_OK;
}

void bp_trainer_eval_total(const bp_trainer *tr, const double *v, long units, bp_net_eval *out)
{
    double loss = 0, metric = 0, weight = 0;
    for (long u = 0; u < units; u++) {
        loss += v[3 * u];
        metric += v[3 * u + 1];
        weight += v[3 * u + 2];
    }
    *out = (bp_net_eval){weight > 0 ? loss / weight : 0, weight > 0 ? metric / weight : 0,
                         bp_target_is_class(bp_task_target(tr->task)) ? "accuracy" : "mse"};
}

bp_status bp_trainer_eval(bp_trainer *tr, bp_net_eval *out, bp_error *err)
{
    if (tr->dist)
        return bp_dist_eval(tr, out, err);
    if (!bp_task_rows(tr->task, BP_SPLIT_EVAL) && !tr->eval_batch)
        return bp_error_set(err, BP_ERR_VALUE, "eval: the model's data is not loaded (a "
                            "checkpoint's signature alone)");
    long units = bp_trainer_eval_units(tr);
    double *v = malloc(3 * (size_t)units * sizeof *v + 1);
    if (!v)
        return bp_error_set(err, BP_ERR_NOMEM, "eval: out of memory");
    bp_status st = BP_OK;
    for (long u = 0; u < units && st == BP_OK; u++)
        st = bp_trainer_eval_unit(tr, u, v + 3 * u, err);
    if (st == BP_OK)
        bp_trainer_eval_total(tr, v, units, out);
    free(v);
    return st;
}

long bp_trainer_steps_done(const bp_trainer *tr)
{
    return bp_optim_steps_done(tr->optim);
}

double bp_trainer_lr(const bp_trainer *tr)
{
    return bp_optim_lr(tr->optim);
}

bp_params *bp_trainer_params(bp_trainer *tr) { return tr->params; }
bp_workers *bp_trainer_workers(bp_trainer *tr) { return tr->workers; }

bp_workers *bp_workers_new(bp_trainer *tr, int n, bp_error *err)
{
    return bp_workers_make(tr->net, tr->params, tr->tape, n, err);
}
bp_net *bp_trainer_net(bp_trainer *tr) { return tr->net; }
bp_task *bp_trainer_task(bp_trainer *tr) { return tr->task; }
bp_tape *bp_trainer_tape(bp_trainer *tr) { return tr->tape; }
const bp_model_config *bp_trainer_config(const bp_trainer *tr) { return &tr->cfg; }
