/* bptt_workers.h — the trainer's thread split (train.threads > 1) as `bptt bench` times
 * it: each worker's tape, grads and CPU time, and jobs run on the workers' threads. An
 * interface for bptt's own tools, installed so that the library exports nothing its
 * headers do not declare; it may change between versions. How the split works:
 * docs/training.md, "Threads". */
#ifndef BPTT_WORKERS_H
#define BPTT_WORKERS_H

#include "bptt_models.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

typedef struct bp_worker {
    int index;
    bp_params *params;   /* worker 0: the trainer's; else its own (shared values, own grads) */
    bp_net *net;         /* worker 0: the trainer's; else one on its definition (own scratch) */
    bp_tape *tape;       /* worker 0: the trainer's; else its own (grads released) */
    bp_net_state *state; /* truncated BPTT: the carried state of its rows, or NULL */
    int state_rows;      /* the batch size state was made for */
    bp_batch rows;       /* its rows of the batch being run: a view, no copy */
    double weight;       /* rows / B: its share of the batch mean */
    double loss;         /* its rows' loss (unweighted) */
    double cpu;          /* thread CPU seconds of its last job */
    bp_status st;
    bp_error err;
} bp_worker;

typedef struct bp_workers bp_workers;

/* The trainer's workers, made by its first split step; NULL before (or with 1 thread). */
bp_workers *bp_trainer_workers(bp_trainer *tr);
/* One optimizer step on batch b (split across the workers when train.threads > 1), as
 * bp_trainer_step takes on a fresh batch: a given batch, for timing it. */
bp_status bp_trainer_update(bp_trainer *tr, const bp_batch *b, double *loss, bp_step_info *info,
                            bp_error *err);

/* For `bptt bench`: the workers (N), those the last backward used, worker k, and
 * job(worker, arg) run on each of the first `used` workers on its own thread (worker 0
 * on the calling thread), returning when all are done; each worker's cpu is set. */
int bp_workers_count(const bp_workers *ws);
int bp_workers_used(const bp_workers *ws);
bp_worker *bp_workers_at(bp_workers *ws, int k);
void bp_workers_run(bp_workers *ws, int used, void (*job)(bp_worker *w, void *arg), void *arg);
/* The calling thread's CPU seconds in the last run, waits included: a step's serial
 * part is its CPU time less this (its critical path adds the longest worker's cpu). */
double bp_workers_run_cpu(const bp_workers *ws);

BP_API_END
#ifdef __cplusplus
}
#endif

#endif
