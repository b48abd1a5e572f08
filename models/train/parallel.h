/* parallel.h — data-parallel training steps (train.threads > 1), internal to the
 * trainer; what `bptt bench` reads of the workers is bptt_workers.h.
 *
 * A batch's rows are split across N workers, one thread each. Worker 0 is the caller
 * itself (the trainer's params, net and tape, on the calling thread); worker k > 0 shares
 * the trainer's net definition (its spec and parameter leaves, read only: net_worker.h)
 * and owns only a net's recording scratch, a tape, and a bp_params of the same names
 * whose leaves share the trainer's VALUES (bp_params_share_values) but own their grads;
 * its tape is bound to those leaves (bp_tape_bind_params, graph/bind.h), so the ops it
 * records read the shared values and backward sums into its own grads.
 * Each worker records and walks back its rows with the loss seeded by rows_k / B, so
 * its grads hold (rows_k / B) dL_k/dW; then the grads are summed into the trainer's in
 * the fixed order k = 1, 2, ..., N - 1: a step is deterministic for a given N. The
 * batch loss is sum_k (rows_k / B) L_k, the mean over all rows since mse and
 * softmax_xent are means over rows (and BP_HEAD_SEQ's a mean over steps of those).
 * BLAS runs on one thread inside the workers (OpenBLAS is set to 1 thread around the
 * parallel part and put back after). */
#ifndef BPTT_PARALLEL_H
#define BPTT_PARALLEL_H

#include "bptt_workers.h"


/* N >= 2 workers on net (its params and tape: worker 0's), N - 1 helper threads
 * started. NULL and err on BP_ERR_NOMEM or a thread that cannot start. The workers
 * borrow all three: free them first. */
bp_workers *bp_workers_make(bp_net *net, bp_params *params, bp_tape *tape, int n,
                            bp_error *err);
/* The trainer's: bp_workers_make on its net, params and tape (trainer.c). */
bp_workers *bp_workers_new(bp_trainer *tr, int n, bp_error *err);
/* Stops and joins the threads, frees the workers' own parts (NULL is a no-op). */
void bp_workers_free(bp_workers *ws);

/* The job of a step: forward and backward of batch b split across min(N, B) workers
 * (each handed its rows and its weight), the grads summed into worker 0's params (which must start at zero, as the optimizer leaves them); *loss
 * the batch's mean loss. On an error (the first failing worker's, in worker order) the
 * other workers' grads are zeroed; worker 0's are the caller's to zero. */
bp_status bp_workers_backward(bp_workers *ws, const bp_batch *b, double *loss, bp_error *err);

#endif
