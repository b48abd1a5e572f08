/* trainer_budget.c — refuse a model that cannot fit before allocating it.
 *
 * A run holds, at its peak (elements of bp_real unless said otherwise):
 *   parameters   P * (2 + S + R)   value and grad, S optimizer slots (adam 2, rmsprop 1,
 *                                  sgd with momentum 1, plain sgd 0), R = min(threads,
 *                                  batch) - 1 gradient copies of the batch split
 *   tape (train) 2 * B * (K*E + F) values and grads of one chunk of K steps: E elements
 *                                  per sequence per step, F per sequence once (readout, loss)
 *   tape (eval)  Be * (K*E + F)    forward only; the tape's arena keeps the larger of both
 *   batches      (B + Be) * T * (X + Y)   inputs and targets per step, of the training
 *                                  batch and the fixed held-out batch
 *   nodes        N * K node records (N tape nodes per step)
 * With model.recompute the tapes hold a segment of k steps (K above becomes k) and the
 * training run also k-th states, K / k of them, counted as E each.
 * P comes from the layer shapes (before any parameter exists); E, F and N from recording
 * two and three steps of a one-sequence batch on a private tape. The estimate is checked
 * against train.max_memory_mb twice: the parameters alone before the net allocates them,
 * then everything before initialisation, the optimizer and the held-out batch. */
#include "trainer_internal.h"

#include <stdio.h>

#define MIB (1024.0 * 1024.0)

/* Gradient copies beyond the parameters' own: one per extra thread of train.threads,
 * which never exceeds the batch (models/train/parallel.c). */
static double thread_grads(const bp_train_config *t)
{
    int used = t->threads < t->batch ? t->threads : t->batch;
    return used > 1 ? used - 1 : 0;
}

static double optim_slots(const bp_optim_config *o)
{
    switch (o->kind) {
    case BP_OPT_ADAM: return 2;
    case BP_OPT_RMSPROP: return 1;
    default: return o->momentum > 0 ? 1 : 0;
    }
}

/* Parameter elements of a net spec, from the shapes net.c gives each layer. */
static double param_elements(const bp_net_spec *s)
{
    double P = 0;
    for (int i = 0; i < s->n_layers; i++) {
        const bp_layer_spec *l = &s->layers[i];
        double in = i == 0 ? s->input_size : s->layers[i - 1].size, H = l->size;
        switch (l->kind) {
        case BP_LAYER_LINEAR: P += in * H + H; break;
        case BP_LAYER_EMBEDDING: P += in * H; break;
        case BP_LAYER_RNN: P += H * (in + H) + H; break;
        case BP_LAYER_LSTM: P += 4 * H * (in + H) + 4 * H; break;
        case BP_LAYER_GRU: P += 3 * H * (in + H) + 6 * H; break;
        case BP_LAYER_CELL:
            for (int j = 0; l->cell && j < l->cell->n_params; j++) {
                double n = 1;
                const bp_shape *sh = &l->cell->params[j].shape;
                for (int d = 0; d < sh->ndim; d++)
                    n *= sh->dim[d];
                P += n;
            }
            break;
        }
    }
    double H = s->n_layers ? s->layers[s->n_layers - 1].size : 0;
    return P + H * s->output_size + s->output_size; /* the readout out.W, out.b */
}

static bp_status too_large(const bp_trainer *tr, double bytes, const char *what, bp_error *err)
{
    const bp_train_config *t = &tr->cfg.train;
    return bp_error_set(err, BP_ERR_VALUE,
                        "model too large: %s about %.0f MiB, more than "
                        "train.max_memory_mb = %ld; make it smaller (layer sizes, train.batch, "
                        "train.eval_batch, data.steps; model.truncate bounds the steps held at "
                        "once) or raise train.max_memory_mb",
                        what, bytes / MIB, t->max_memory_mb);
}

bp_status bp_trainer_check_params(const bp_trainer *tr, bp_error *err)
{
    const bp_train_config *t = &tr->cfg.train;
    double bytes = param_elements(&tr->cfg.net) * (2 + optim_slots(&t->optim) + thread_grads(t)) *
                   sizeof(bp_real);
    if (t->max_memory_mb > 0 && bytes > (double)t->max_memory_mb * MIB)
        return too_large(tr, bytes, "its parameters, their gradients and the optimizer state need", err);
    return BP_OK;
}

/* Elements on the tape (and nodes) for a forward of one sequence over T steps. */
static bp_status dry_run(bp_trainer *tr, int T, double *elems, double *nodes, bp_error *err)
{
    const bp_net_spec *s = &tr->cfg.net;
    bp_target_kind target = s->head == BP_HEAD_SEQ ? BP_TARGET_CLASS_SEQ : BP_TARGET_VALUES;
    bp_batch *b = bp_batch_new(1, T, s->input_size, s->tokens, target, s->output_size, err);
    if (!b)
        return err ? err->status : BP_ERR_NOMEM;
    bp_tape_reset(tr->tape);
    bp_node *loss = bp_net_forward(tr->net, tr->tape, b, 0, T, NULL);
    bp_batch_free(b);
    if (!loss) {
        const bp_error *e = bp_tape_error(tr->tape);
        return bp_error_set(err, e ? e->status : BP_ERR_VALUE, "%s", e ? e->msg : "forward failed");
    }
    *elems = 0;
    *nodes = bp_tape_len(tr->tape);
    for (int i = 0; i < bp_tape_len(tr->tape); i++)
        *elems += (double)bp_tape_node(tr->tape, i)->size;
    bp_tape_reset(tr->tape);
    return BP_OK;
}

/* E, F and N of the estimate: tape elements per sequence per step and once, nodes per
 * step, from forwards of two and three steps. */
static bp_status per_sequence(bp_trainer *tr, double *E, double *F, double *N, bp_error *err)
{
    double e2, e3, n2, n3;
    bp_status st = dry_run(tr, 2, &e2, &n2, err);
    if (st == BP_OK)
        st = dry_run(tr, 3, &e3, &n3, err);
    if (st != BP_OK)
        return st;
    *E = e3 - e2;
    *F = e2 - 2 * *E > 0 ? e2 - 2 * *E : 0;
    *N = n3 - n2;
    return BP_OK;
}

bp_status bp_trainer_check_batch(bp_trainer *tr, int batch, int steps, bool backward,
                                 bp_error *err)
{
    const bp_train_config *t = &tr->cfg.train;
    double E, F, N;
    bp_status st = t->max_memory_mb > 0 ? per_sequence(tr, &E, &F, &N, err) : BP_OK;
    if (t->max_memory_mb <= 0 || st != BP_OK)
        return st;
    double B = batch, T = steps, K = T;
    if (tr->cfg.net.chunk && tr->cfg.net.chunk < K)
        K = tr->cfg.net.chunk;
    double X = tr->cfg.net.tokens ? 1 : tr->cfg.net.input_size, Y = tr->cfg.net.output_size;
    double params = (double)bp_params_elements(tr->params) * (2 + optim_slots(&t->optim));
    double bytes = (params + (backward ? 2 : 1) * B * (K * E + F) + B * T * (X + Y)) *
                       sizeof(bp_real) + N * K * sizeof(bp_node);
    if (bytes <= (double)t->max_memory_mb * MIB)
        return BP_OK;
    char what[160];
    snprintf(what, sizeof what, "a %s of %d sequences of %d steps needs",
             backward ? "forward and backward" : "forward", batch, steps);
    return too_large(tr, bytes, what, err);
}

bp_status bp_trainer_check_memory(bp_trainer *tr, bp_error *err)
{
    const bp_train_config *t = &tr->cfg.train;
    if (t->max_memory_mb <= 0)
        return BP_OK;
    double E, F, N;
    bp_status st = per_sequence(tr, &E, &F, &N, err);
    if (st != BP_OK)
        return st;
    double T = bp_task_steps(tr->task), K = tr->cfg.net.chunk ? tr->cfg.net.chunk : T;
    if (K > T)
        K = T;
    double B = t->batch, Be = t->eval_batch;
    double X = tr->cfg.net.tokens ? 1 : tr->cfg.net.input_size;
    double Y = bp_task_target(tr->task) == BP_TARGET_VALUES ? tr->cfg.net.output_size / T : 1;
    double params =
        (double)bp_params_elements(tr->params) * (2 + optim_slots(&t->optim) + thread_grads(t));
    double S = K; /* steps on the tape at once; recompute: a segment, plus its stored states
                     (fewer elements per step than E) */
    if (tr->cfg.net.recompute && bp_recompute_segment(tr->cfg.net.recompute, (int)K))
        S = bp_recompute_segment(tr->cfg.net.recompute, (int)K);
    double tape_train = 2 * B * (S * E + F) + B * (K / S) * E, tape_eval = Be * (S * E + F);
    double batches = (B + Be) * T * (X + Y);
    double bytes = (params + (tape_train > tape_eval ? tape_train : tape_eval) + batches) *
                       sizeof(bp_real) +
                   N * S * sizeof(bp_node);
    if (bytes > (double)t->max_memory_mb * MIB) {
        char what[160];
        snprintf(what, sizeof what, "a training run (T = %.0f, batch %.0f, held-out batch %.0f) needs", T, B,
                 Be);
        return too_large(tr, bytes, what, err);
    }
    return BP_OK;
}
