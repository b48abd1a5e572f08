/* dist.h — the trainer's side of data-parallel training on MPI (bptt_dist.h), internal
 * to models/train/. dist_mpi.c holds the communicator and the collectives, dist_train.c
 * the split of a step and of an evaluation; dist_none.c stands in without MPI. */
#ifndef BPTT_DIST_INTERNAL_H
#define BPTT_DIST_INTERNAL_H

#include "bptt_dist.h"
#include "trainer_internal.h"

/* Forward and backward of this rank's rows of batch b, the grads of all ranks summed in
 * rank order into every rank's params, *loss the batch's mean loss (what
 * bp_workers_backward gives for train.threads = N). Errors are agreed: every rank
 * returns the first failing rank's, "step S: rank R: ...". */
bp_status bp_dist_backward(bp_trainer *tr, const bp_batch *b, double *loss, bp_error *err);
/* bp_trainer_eval split across the ranks: its slices (a data set's validation rows, or
 * a task's fixed batch) round-robin, their sums in slice order (the bits of one
 * process). */
bp_status bp_dist_eval(bp_trainer *tr, bp_net_eval *out, bp_error *err);

/* dist_mpi.c, for dist_train.c. */
typedef struct dist_shape {
    int rank, size;
} dist_shape;
dist_shape dist_shape_of(const bp_dist *d);
/* Agree on a status: every rank's st gathered, with its two values mine (zeros when
 * NULL) into all[2 size] (when not NULL); the first failing rank's (in rank order) err
 * broadcast and returned by all, prefixed "rank R of N: " (and "step S: " when step >=
 * 0); BP_OK when none failed. A rank that does not answer within the timeout, or a
 * failed MPI call, gives BP_ERR_IO on the ranks that see it (and the dist is done). */
bp_status dist_agree(bp_dist *d, bp_status st, const double mine[2], double *all, long step,
                     bp_error *err);
/* Every rank's n doubles of mine into all[size * n], in rank order. These three, and the
 * exchange, fail with BP_ERR_IO past the timeout. */
bp_status dist_allgather(bp_dist *d, const double *mine, int n, double *all, bp_error *err);
/* Sum n doubles elementwise across ranks (MPI_SUM: exact when one rank alone holds each
 * element and the others zero, as dist_train.c uses it). */
bp_status dist_sum(bp_dist *d, double *v, int n, bp_error *err);
/* Broadcast n doubles, or bytes (at most INT_MAX), from root. */
bp_status dist_bcast(bp_dist *d, double *v, int n, int root, bp_error *err);
bp_status dist_bcast_bytes(bp_dist *d, void *buf, size_t bytes, int root, bp_error *err);
/* The grads of params summed across ranks, element by element in rank order (an ordered
 * reduce-scatter, then an allgather), into every rank's grads; the time counted. */
bp_status dist_sum_grads(bp_dist *d, bp_params *params, bp_error *err);
/* Whether the test hook asks for a non-finite gradient on this rank at step. */
bool dist_fault_now(const bp_dist *d, long step);

#endif
