/* bptt_dist.h — data-parallel training across processes on MPI (built with BPTT_MPI;
 * without it bp_dist_new fails with BP_ERR_VALUE "built without MPI").
 *
 * Each process (rank) runs the same trainer; a training step's global batch (drawn from
 * the seeded stream, the same on every rank) is split across the ranks as train.threads
 * splits it across threads — rank r of N takes rows [r B / N, (r + 1) B / N) with its
 * loss seeded by its share — and the gradients are summed in rank order 0, 1, ..., N - 1
 * on every rank before clipping and the update: every rank holds the same weights after
 * every step, and N ranks of one thread give the bits of one process with
 * train.threads = N (docs/mpi.md). The program initialises and finalises MPI; the
 * library only talks on its own duplicate of MPI_COMM_WORLD, with errors returned. */
#ifndef BPTT_DIST_H
#define BPTT_DIST_H

#include "bptt_models.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

typedef struct bp_dist bp_dist;

/* Whether the library was built with MPI. */
bool bp_dist_available(void);
/* The ranks of MPI_COMM_WORLD (MPI initialised by the caller); NULL and err if not. */
bp_dist *bp_dist_new(bp_error *err);
void bp_dist_free(bp_dist *d);
int bp_dist_rank(const bp_dist *d);
int bp_dist_size(const bp_dist *d);
/* The time of the gradient exchanges since the last call (then reset). */
typedef struct bp_dist_times {
    double exchange; /* wall seconds in the exchange (the ordered reduce-scatter, the
                        allgather) */
    double wait;     /* wall seconds before it, waiting for the slowest rank (the step's
                        status exchange) */
    double cpu;      /* the calling thread's CPU seconds in the exchange */
    long count;      /* exchanges */
} bp_dist_times;
bp_dist_times bp_dist_take_times(bp_dist *d);

/* bp_trainer_new for data-parallel training on d's ranks (a collective call: every rank,
 * with the same model). A data set from files is sharded: each rank checks only its
 * part of the files' rows of x, [r N / size, (r + 1) N / size), and copies only its rows
 * of each training batch out of them (safetensors and .npy are mapped, so a rank reads
 * little more than its share at the start; CSV text is read by rank 0 alone, which sends
 * the parsed cells to the others). The ranks agree on
 * what the data says (any rank's error: every rank returns the first failing one's,
 * "rank R of N: ..."; the vocabulary of token data, the largest id on any rank). The
 * trainer is then bp_trainer_set_dist's to attach. NULL d: bp_trainer_new. */
bp_trainer *bp_trainer_new_dist(const bp_model_config *c, bp_dist *d, bp_error *err);

/* Train tr data-parallel on d's ranks (a collective call: every rank, once, after the
 * weights are loaded and before the first step). Compares a hash of the model
 * (extra: the caller's, e.g. bp_model_config.hash), the parameters' names, shapes and
 * values, the step and the data stream across the ranks: BP_ERR_VALUE naming the first
 * rank that differs from rank 0. Then bp_trainer_update and bp_trainer_eval are
 * collective: every rank must call them alike. d must outlive tr's use of it. */
bp_status bp_trainer_set_dist(bp_trainer *tr, bp_dist *d, uint64_t extra, bp_error *err);

/* How long (seconds; 0, the default: for ever) a rank waits for another's messages (a
 * step's status, its gradients, an evaluation's sums) before the step fails with
 * BP_ERR_IO naming the step and that rank: a rank that hangs or stops does not hold the
 * others for ever. After such an error d is no more to be used. */
void bp_dist_set_timeout(bp_dist *d, double seconds);

/* Testing the fault path: in step `step` (counted from 1, as progress prints it: the
 * step taken when bp_trainer_steps_done is step - 1), rank's gradient is made
 * non-finite after its backward. */
void bp_dist_inject_nonfinite(bp_dist *d, int rank, long step);

BP_API_END
#ifdef __cplusplus
}
#endif

#endif
