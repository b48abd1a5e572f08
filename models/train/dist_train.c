/* dist_train.c — a training step and an evaluation split across MPI ranks (dist.h), and
 * the check that every rank starts from the same model.
 *
 * A step: rank r of N (of min(N, B) in use) takes the rows [r B / N, (r + 1) B / N) of
 * the global batch, which every rank drew alike from the seeded stream, and runs them as
 * parallel.c runs worker r's: one thread, the loss seeded with its share rows_r / B (or
 * its share of the (row, step) pairs), its row0 so that dropout masks are those of its
 * rows. The grads are then summed in rank order (dist_sum_grads): the bits of
 * train.threads = N in one process. With train.threads = t > 1 on each rank its rows go
 * to its threads and the rank's mean gradient is scaled by its share: deterministic for
 * a given (N, t), not the bits of N t threads (docs/mpi.md). */
#include "dist.h"
#include "hash.h"
#include "parallel.h"
#include "task_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* This rank's rows forward and backward: on its threads (the mean over its rows, then
 * scaled by weight), or on one with the loss seeded by weight. */
static bp_status local_backward(bp_trainer *tr, const bp_batch *v, double weight,
                                double *loss, bp_error *err)
{
    if (tr->cfg.train.threads > 1 && v->B > 1) {
        if (!tr->workers && !(tr->workers = bp_workers_new(tr, tr->cfg.train.threads, err)))
            return err ? err->status : BP_ERR_NOMEM;
        bp_status st = bp_workers_backward(tr->workers, v, loss, err);
        for (int i = 0; st == BP_OK && i < bp_params_count(tr->params); i++) {
            bp_node *g = bp_params_at(tr->params, i);
            for (size_t j = 0; j < g->size; j++)
                g->grad[j] *= (bp_real)weight;
        }
        return st;
    }
    bp_net_state *state = NULL;
    int chunk = tr->cfg.net.chunk;
    if (chunk && chunk < v->T) {
        if (!tr->dist_state || tr->dist_state_rows != v->B) {
            bp_net_state_free(tr->dist_state);
            tr->dist_state_rows = 0;
            if (!(tr->dist_state = bp_net_state_new(tr->net, v->B, err)))
                return err ? err->status : BP_ERR_NOMEM;
            tr->dist_state_rows = v->B;
        }
        state = tr->dist_state;
    }
    return bp_net_backward_batch(tr->net, tr->tape, state, v, (bp_real)weight, loss, err);
}

static bool grads_finite(const bp_params *p)
{
    for (int i = 0; i < bp_params_count(p); i++) {
        const bp_node *g = bp_params_at(p, i);
        for (size_t j = 0; j < g->size; j++)
            if (!isfinite(g->grad[j]))
                return false;
    }
    return true;
}

bp_status bp_dist_backward(bp_trainer *tr, const bp_batch *b, double *loss, bp_error *err)
{
    bp_dist *d = tr->dist;
    dist_shape s = dist_shape_of(d);
    long step = bp_optim_steps_done(tr->optim) + 1; /* the step being taken, as printed */
    int used = s.size < b->B ? s.size : b->B;
    long r0, r1; /* the rows a sharded data set gathered for this rank (task_files.c) */
    bp_batch_share(b->B, s.rank, s.size, &r0, &r1);
    double mine[2] = {0, 0}; /* weight, loss */
    bp_status st = BP_OK;
    *loss = 0;
    if (r1 > r0) {
        bp_batch v = bp_batch_rows(b, (int)r0, (int)r1);
        mine[0] = bp_batch_rows_weight(b, &v);
        st = local_backward(tr, &v, mine[0], &mine[1], err);
    }
    if (st == BP_OK && dist_fault_now(d, step) && bp_params_count(tr->params))
        bp_params_at(tr->params, 0)->grad[0] = (bp_real)NAN; /* the test hook */
    if (st == BP_OK && (!isfinite(mine[1]) || !grads_finite(tr->params)))
        st = bp_error_set(err, BP_ERR_NONFINITE, "non-finite %s on its rows [%d, %d) of the "
                          "batch (loss %g)", isfinite(mine[1]) ? "gradient" : "loss", (int)r0,
                          (int)r1, mine[1]);
    double *all = malloc(2 * (size_t)s.size * sizeof *all);
    if (!all)
        st = bp_error_set(err, BP_ERR_NOMEM, "mpi: out of memory");
    if ((st = dist_agree(d, st, mine, all, step, err)) != BP_OK) {
        free(all);
        return st;
    }
    double total = 0;
    for (int k = 0; k < used; k++) /* L = sum_k (rows_k / B) L_k, in rank order */
        total += all[2 * k] * all[2 * k + 1];
    free(all);
    *loss = total;
    return dist_sum_grads(d, tr->params, err);
}

/* ---------------------------------------------------------------- evaluation */

/* Slice u on rank u mod N, zeros elsewhere: the sum across ranks is exact, and the sums in
 * slice order are those of one process (bp_trainer_eval_total). */
bp_status bp_dist_eval(bp_trainer *tr, bp_net_eval *out, bp_error *err)
{
    dist_shape s = dist_shape_of(tr->dist);
    long units = bp_trainer_eval_units(tr);
    double *v = calloc(3 * (size_t)units + 1, sizeof *v);
    bp_status st = v ? BP_OK : bp_error_set(err, BP_ERR_NOMEM, "eval: out of memory");
    if (st == BP_OK && !bp_task_rows(tr->task, BP_SPLIT_EVAL) && !tr->eval_batch)
        st = bp_error_set(err, BP_ERR_VALUE, "eval: the model's data is not loaded");
    for (long u = s.rank; st == BP_OK && u < units; u += s.size)
        st = bp_trainer_eval_unit(tr, u, v + 3 * u, err);
    if ((st = dist_agree(tr->dist, st, NULL, NULL, -1, err)) == BP_OK)
        st = dist_sum(tr->dist, v, (int)(3 * units), err);
    if (st == BP_OK)
        bp_trainer_eval_total(tr, v, units, out);
    free(v);
    return st;
}

/* ---------------------------------------------------------------- the start */

/* The model as this rank holds it: extra, every parameter's name, shape and values, the
 * step and the data stream. */
static uint64_t model_hash(const bp_trainer *tr, uint64_t extra)
{
    uint64_t h = bp_fnv1a(BP_FNV1A_START, &extra, sizeof extra);
    long step = bp_optim_steps_done(tr->optim);
    h = bp_fnv1a(h, &step, sizeof step);
    h = bp_fnv1a(h, tr->data_rng.s, sizeof tr->data_rng.s);
    for (int i = 0; i < bp_params_count(tr->params); i++) {
        const bp_node *g = bp_params_at(tr->params, i);
        if (g->name)
            h = bp_fnv1a(h, g->name, strlen(g->name) + 1);
        h = bp_fnv1a(h, g->shape.dim, (size_t)g->shape.ndim * sizeof *g->shape.dim);
        h = bp_fnv1a(h, g->value, g->size * sizeof *g->value);
    }
    return h;
}

/* Agree on a status of every rank: the error returned by all is that of the first failing
 * rank that holds what its message names (claim: the place of a data set's largest token
 * id, which one rank alone has), else of the first failing rank. */
static bp_status agree_claimed(bp_dist *d, bp_status st, bool claim, bp_error *err)
{
    dist_shape s = dist_shape_of(d);
    double mine[2] = {(double)st, claim}, *all = malloc(2 * (size_t)s.size * sizeof *all);
    bp_status xst = all ? BP_OK : bp_error_set(err, BP_ERR_NOMEM, "mpi: out of memory");
    if ((xst = dist_agree(d, xst, NULL, NULL, -1, err)) == BP_OK)
        xst = dist_allgather(d, mine, 2, all, err);
    if (xst != BP_OK) {
        free(all);
        return xst;
    }
    int f = -1;
    for (int k = 0; k < s.size; k++)
        if (all[2 * k] != (double)BP_OK && (f < 0 || (all[2 * k + 1] && !all[2 * f + 1])))
            f = k;
    free(all);
    return f < 0 ? BP_OK : dist_agree(d, s.rank == f ? st : BP_OK, NULL, NULL, -1, err);
}

/* A data set's CSV file, read by rank 0, reaches the others (bptt_tasks.h). */
static bp_status share_from_root(void *ctx, void *buf, size_t bytes, bp_error *err)
{
    return dist_bcast_bytes(ctx, buf, bytes, 0, err);
}

bp_trainer *bp_trainer_new_dist(const bp_model_config *c, bp_dist *d, bp_error *err)
{
    bp_task_kind kind;
    if (!d || !bp_task_kind_parse(c->data.task, &kind) || kind != BP_TASK_FILES)
        return bp_trainer_new(c, err); /* a built-in task: each rank draws the global batch */
    dist_shape s = dist_shape_of(d);
    bp_file_set_opts part = {.shard = s.rank, .shards = s.size, .share = share_from_root,
                             .share_ctx = d};
    bp_task *task = bp_trainer_make_task(&c->data, c->train.seed, &part, err);
    double mine[2] = {task ? bp_task_input_size(task) : 0, 0};
    double *all = malloc(2 * (size_t)s.size * sizeof *all);
    bp_status st = task ? BP_OK : err ? err->status : BP_ERR_VALUE;
    if (st == BP_OK && !all)
        st = bp_error_set(err, BP_ERR_NOMEM, "mpi: out of memory");
    if ((st = dist_agree(d, st, mine, all, -1, err)) != BP_OK) {
        free(all);
        bp_task_free(task);
        return NULL;
    }
    int inputs = 0; /* a token set's vocabulary: the largest id any rank's rows hold */
    for (int k = 0; k < s.size; k++)
        inputs = all[2 * k] > inputs ? (int)all[2 * k] : inputs;
    free(all);
    bp_task_agree_inputs(task, inputs);
    char at[64];
    bool claim = bp_task_tokens(task) && bp_task_largest_id_at(task, true, at, sizeof at);
    bp_trainer *tr = bp_trainer_new_with_task(c, task, err); /* the model against the data */
    if ((st = agree_claimed(d, tr ? BP_OK : err ? err->status : BP_ERR_VALUE, claim, err)) !=
        BP_OK) {
        bp_trainer_free(tr);
        return NULL;
    }
    return tr;
}

bp_status bp_trainer_set_dist(bp_trainer *tr, bp_dist *d, uint64_t extra, bp_error *err)
{
    uint64_t h = model_hash(tr, extra);
    dist_shape s = dist_shape_of(d);
    double mine[2] = {(double)(h >> 32), (double)(h & 0xffffffffu)};
    double *all = malloc(2 * (size_t)s.size * sizeof *all);
    int shard, shards = bp_task_shards(tr->task, &shard); /* bp_trainer_new_dist's */
    bp_status st = !all ? bp_error_set(err, BP_ERR_NOMEM, "mpi: out of memory")
                   : shards && (shard != s.rank || shards != s.size)
                   ? bp_error_set(err, BP_ERR_VALUE, "mpi: the trainer's data set is shard %d of "
                                  "%d, not this rank's (%d of %d)", shard, shards, s.rank, s.size)
                   : BP_OK;
    if ((st = dist_agree(d, st, NULL, NULL, -1, err)) == BP_OK) /* every rank, or none */
        st = dist_allgather(d, mine, 2, all, err);
    for (int k = 1; st == BP_OK && k < s.size; k++)
        if (all[2 * k] != all[0] || all[2 * k + 1] != all[1])
            st = bp_error_set(err, BP_ERR_VALUE, "mpi: rank %d's model differs from rank 0's "
                              "(hash %08lx%08lx, rank 0's %08lx%08lx): every rank must run the "
                              "same model file, --set options and checkpoint or weights", k,
                              (unsigned long)all[2 * k], (unsigned long)all[2 * k + 1],
                              (unsigned long)all[0], (unsigned long)all[1]);
    free(all);
    if (st == BP_OK)
        tr->dist = d;
    return st;
}
