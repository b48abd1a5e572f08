/* parallel.h — data-parallel training steps (train.threads > 1), internal to the
 * trainer; what `bptt bench` reads of the workers is bptt_workers.h.
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

#include "bptt_workers.h"


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

#endif
