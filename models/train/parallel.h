/* parallel.h — data-parallel training steps (train.threads > 1); internal: the trainer
 * and `bptt bench` use it, nothing is installed.
 *
 * A batch's rows are split across N workers, one thread each. Worker 0 is the trainer
 * itself (its params, net and tape, on the calling thread); worker k > 0 is a replica:
 * a net of the same spec on its own bp_params whose leaves share the trainer's VALUES
 * (bp_params_share_values) but own their grads, with its own tape and forward scratch.
 * Each worker records and walks back its rows with the loss seeded by rows_k / B, so
 * its grads hold (rows_k / B) dL_k/dW; then the grads are summed into the trainer's in
 * the fixed order k = 1, 2, ..., N - 1: a step is deterministic for a given N. The
 * batch loss is sum_k (rows_k / B) L_k, the mean over all rows since mse and
 * softmax_xent are means over rows (and BP_HEAD_SEQ's a mean over steps of those).
 * BLAS runs on one thread inside the workers (OpenBLAS is set to 1 thread around the
 * parallel part and put back after). */
#ifndef BPTT_PARALLEL_H
#define BPTT_PARALLEL_H

#include "bptt_models.h"

typedef struct bp_worker {
    int index;
    bp_params *params;   /* worker 0: the trainer's; else the replica's (shared values) */
    bp_net *net;         /* worker 0: the trainer's; else the replica's */
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

/* N >= 2 workers for tr (its net, params and tape exist), N - 1 helper threads
 * started. NULL and err on BP_ERR_NOMEM or a thread that cannot start. */
bp_workers *bp_workers_new(bp_trainer *tr, int n, bp_error *err);
/* Stops and joins the threads, frees the replicas (NULL is a no-op). */
void bp_workers_free(bp_workers *ws);

/* Forward and backward of batch b split across min(N, B) workers, the grads summed into
 * the trainer's params (which must start at zero, as the optimizer leaves them); *loss
 * the batch's mean loss. On an error (the first failing worker's, in worker order) the
 * replicas' grads are zeroed; the trainer's are the caller's to zero. */
bp_status bp_workers_backward(bp_workers *ws, const bp_batch *b, double *loss, bp_error *err);

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

#endif
