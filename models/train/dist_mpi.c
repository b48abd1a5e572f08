/* dist_mpi.c — the communicator of data-parallel training and its collectives: see
 * bptt_dist.h and dist.h. Every call returns MPI's errors (MPI_ERRORS_RETURN on the
 * library's own duplicate of MPI_COMM_WORLD) as BP_ERR_IO, and every wait is bounded by
 * the timeout (bp_dist_set_timeout). */
#include "dist.h"

#include <mpi.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef BP_DOUBLE
#define REAL_MPI MPI_DOUBLE
#else
#define REAL_MPI MPI_FLOAT
#endif

struct bp_dist {
    MPI_Comm comm;
    int rank, size;
    bp_real *send, *recv; /* the flat grads; my segment of every rank's (N times the
                             longest segment: up to p + N elements) */
    size_t cap;           /* elements in send */
    int *counts, *displs; /* [size] each: the segments of the flat grads */
    int *rcounts, *rdispls; /* [size]: my segment, from each rank (rank k's at k n) */
    int *mdispls;           /* [size]: my segment's offset, for each rank */
    double *stat;         /* [3 size]: each rank's status and two values (dist_agree) */
    double mine[3];       /* this rank's, while it is being sent */
    long step;            /* the step being agreed, for messages; -1: none */
    MPI_Request *reqs;    /* [2 size]: the statuses' receives (by rank), then sends; [0]
                             the collective in progress */
    double timeout;       /* seconds a rank may keep the others waiting; 0: for ever */
    bp_dist_times times;  /* since bp_dist_take_times */
    int fault_rank;
    long fault_step;
};

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bp_status mpi_fail(bp_error *err, const char *what, int rc)
{
    char s[MPI_MAX_ERROR_STRING] = "";
    int n = 0;
    MPI_Error_string(rc, s, &n);
    return bp_error_set(err, BP_ERR_IO, "mpi: %s failed: %s (a rank stopped?)", what, s);
}

bool bp_dist_available(void) { return true; }

bp_dist *bp_dist_new(bp_error *err)
{
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
        bp_error_set(err, BP_ERR_VALUE, "mpi: MPI is not initialised (MPI_Init first)");
        return NULL;
    }
    bp_dist *d = calloc(1, sizeof *d);
    if (!d) {
        bp_error_set(err, BP_ERR_NOMEM, "mpi: out of memory");
        return NULL;
    }
    d->fault_rank = -1;
    d->step = -1;
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &d->comm);
    if (rc != MPI_SUCCESS) {
        free(d);
        mpi_fail(err, "MPI_Comm_dup", rc);
        return NULL;
    }
    MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->size);
    size_t n = (size_t)d->size;
    d->counts = calloc(n, sizeof *d->counts);
    d->displs = calloc(n, sizeof *d->displs);
    d->rcounts = calloc(n, sizeof *d->rcounts);
    d->rdispls = calloc(n, sizeof *d->rdispls);
    d->mdispls = calloc(n, sizeof *d->mdispls);
    d->stat = calloc(3 * n, sizeof *d->stat);
    d->reqs = calloc(2 * n, sizeof *d->reqs);
    if (!d->counts || !d->displs || !d->rcounts || !d->rdispls || !d->mdispls || !d->stat ||
        !d->reqs) {
        bp_dist_free(d);
        bp_error_set(err, BP_ERR_NOMEM, "mpi: out of memory");
        return NULL;
    }
    return d;
}

void bp_dist_free(bp_dist *d)
{
    if (!d)
        return;
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin)
        MPI_Comm_free(&d->comm);
    free(d->send);
    free(d->recv);
    free(d->counts);
    free(d->displs);
    free(d->rcounts);
    free(d->rdispls);
    free(d->mdispls);
    free(d->stat);
    free(d->reqs);
    free(d);
}

int bp_dist_rank(const bp_dist *d) { return d->rank; }
int bp_dist_size(const bp_dist *d) { return d->size; }
dist_shape dist_shape_of(const bp_dist *d) { return (dist_shape){d->rank, d->size}; }

bp_dist_times bp_dist_take_times(bp_dist *d)
{
    bp_dist_times t = d->times;
    d->times = (bp_dist_times){0};
    return t;
}

void bp_dist_inject_nonfinite(bp_dist *d, int rank, long step)
{
    d->fault_rank = rank;
    d->fault_step = step;
}

bool dist_fault_now(const bp_dist *d, long step)
{
    return d->fault_rank == d->rank && d->fault_step == step;
}

void bp_dist_set_timeout(bp_dist *d, double seconds)
{
    d->timeout = seconds > 0 ? seconds : 0;
}

/* "step S: " for the step being agreed, or "". */
static const char *at_step(const bp_dist *d, char buf[32])
{
    buf[0] = '\0';
    if (d->step >= 0)
        snprintf(buf, 32, "step %ld: ", d->step);
    return buf;
}

/* Poll the n requests of d->reqs until all are done: spinning for 0.2 ms (MPI progresses
 * inside the tests), then sleeping 20 us between tests, so that on a core shared with
 * the peer it waits for, the peer runs rather than the poll; past the timeout BP_ERR_IO,
 * naming (by_rank: reqs [0, size) are receives from each rank, [size, 2 size) sends to
 * each) the first rank whose message has not come or that has not taken ours, or else
 * what has not completed. */
static bp_status wait_reqs(bp_dist *d, int n, bool by_rank, const char *what, bp_error *err)
{
    double t0 = seconds(CLOCK_MONOTONIC);
    for (;;) {
        int done = 0, rc = MPI_Testall(n, d->reqs, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, what, rc);
        if (done)
            return BP_OK;
        double waited = seconds(CLOCK_MONOTONIC) - t0;
        if (d->timeout > 0 && waited > d->timeout)
            break;
        if (waited > 2e-4) /* a peer that is not running now: let it have the core */
            nanosleep(&(struct timespec){0, 20000}, NULL);
    }
    char at[32];
    int k = 0, flag = 1; /* its message to us not come, else ours to it not taken */
    while (by_rank && k < 2 * d->size &&
           (MPI_Test(&d->reqs[k], &flag, MPI_STATUS_IGNORE), flag))
        k++;
    if (by_rank && k < 2 * d->size)
        return bp_error_set(err, BP_ERR_IO, "%smpi: rank %d of %d has not answered in %g s "
                            "(stopped, hung or its link lost; BPTT_MPI_TIMEOUT sets the wait)",
                            at_step(d, at), k % d->size, d->size, d->timeout);
    return bp_error_set(err, BP_ERR_IO, "%smpi: %s has not completed in %g s (a rank "
                        "stopped, hung or lost its link; BPTT_MPI_TIMEOUT sets the wait)",
                        at_step(d, at), what, d->timeout);
}

/* Wait for the collective just started into d->reqs[0] (rc: its start). */
static bp_status finish(bp_dist *d, int rc, const char *what, bp_error *err)
{
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, what, rc);
    return wait_reqs(d, 1, false, what, err);
}

/* Every rank's {status, mine[0], mine[1]} into d->stat, by messages from and to each (so
 * that a rank that does not answer can be named), within the timeout. */
static bp_status exchange_status(bp_dist *d, bp_status st, const double mine[2],
                                 bp_error *err)
{
    d->mine[0] = (double)st;
    d->mine[1] = mine ? mine[0] : 0;
    d->mine[2] = mine ? mine[1] : 0;
    for (int k = 0; k < d->size; k++) {
        d->reqs[k] = d->reqs[d->size + k] = MPI_REQUEST_NULL;
        if (k == d->rank) {
            memcpy(&d->stat[3 * k], d->mine, sizeof d->mine);
            continue;
        }
        int rc = MPI_Irecv(&d->stat[3 * k], 3, MPI_DOUBLE, k, 17, d->comm, &d->reqs[k]);
        if (rc == MPI_SUCCESS)
            rc = MPI_Isend(d->mine, 3, MPI_DOUBLE, k, 17, d->comm, &d->reqs[d->size + k]);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, "the status exchange", rc);
    }
    return wait_reqs(d, 2 * d->size, true, "the status exchange", err);
}

bp_status dist_agree(bp_dist *d, bp_status st, const double mine[2], double *all, long step,
                     bp_error *err)
{
    d->step = step;
    double t0 = seconds(CLOCK_MONOTONIC);
    bp_status xst = exchange_status(d, st, mine, err);
    if (xst != BP_OK)
        return xst;
    if (step >= 0) /* a training step's: the wait for the slowest rank */
        d->times.wait += seconds(CLOCK_MONOTONIC) - t0;
    for (int k = 0; all && k < d->size; k++) {
        all[2 * k] = d->stat[3 * k + 1];
        all[2 * k + 1] = d->stat[3 * k + 2];
    }
    int f = 0;
    while (f < d->size && d->stat[3 * f] == (double)BP_OK)
        f++;
    if (f == d->size)
        return BP_OK;
    bp_status fst = (bp_status)(int)d->stat[3 * f];
    bp_error e = {fst, ""};
    if (f == d->rank && err)
        e = *err;
    if ((xst = finish(d, MPI_Ibcast(&e, (int)sizeof e, MPI_BYTE, f, d->comm, d->reqs),
                      "the error's broadcast", err)) != BP_OK)
        return xst;
    e.msg[sizeof e.msg - 1] = '\0';
    char at[32];
    return bp_error_set(err, fst, "%srank %d of %d: %s", at_step(d, at), f, d->size, e.msg);
}

bp_status dist_allgather(bp_dist *d, const double *mine, int n, double *all, bp_error *err)
{
    return finish(d, MPI_Iallgather(mine, n, MPI_DOUBLE, all, n, MPI_DOUBLE, d->comm, d->reqs),
                  "an allgather", err);
}

bp_status dist_sum(bp_dist *d, double *v, int n, bp_error *err)
{
    return finish(d, MPI_Iallreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, d->comm, d->reqs),
                  "an allreduce", err);
}

bp_status dist_bcast(bp_dist *d, double *v, int n, int root, bp_error *err)
{
    return finish(d, MPI_Ibcast(v, n, MPI_DOUBLE, root, d->comm, d->reqs), "a broadcast", err);
}

bp_status dist_bcast_bytes(bp_dist *d, void *buf, size_t bytes, int root, bp_error *err)
{
    if (bytes > INT_MAX)
        return bp_error_set(err, BP_ERR_VALUE, "mpi: a broadcast of %zu bytes", bytes);
    return finish(d, MPI_Ibcast(buf, (int)bytes, MPI_BYTE, root, d->comm, d->reqs),
                  "a broadcast", err);
}

/* The flat buffers for p elements, and the segments: rank s owns [s p / N, (s+1) p / N). */
static bp_status reserve(bp_dist *d, size_t p, bp_error *err)
{
    if (p > (size_t)0x7fffffff)
        return bp_error_set(err, BP_ERR_VALUE, "mpi: %zu parameters, more than one exchange "
                            "holds (2^31 - 1)", p);
    if (p > d->cap) {
        free(d->send);
        free(d->recv);
        d->send = malloc(p * sizeof *d->send);
        d->recv = malloc((p + (size_t)d->size) * sizeof *d->recv);
        d->cap = d->send && d->recv ? p : 0;
        if (!d->cap)
            return bp_error_set(err, BP_ERR_NOMEM, "mpi: out of memory for the gradients");
    }
    for (int s = 0; s < d->size; s++) {
        size_t a = (size_t)s * p / (size_t)d->size, b = (size_t)(s + 1) * p / (size_t)d->size;
        d->displs[s] = (int)a;
        d->counts[s] = (int)(b - a);
    }
    int mine = d->counts[d->rank];
    for (int k = 0; k < d->size; k++) {
        d->rcounts[k] = mine;
        d->rdispls[k] = k * mine;
        d->mdispls[k] = d->displs[d->rank];
    }
    return BP_OK;
}

/* Copy the params' grads into (out) or out of (!out) the flat buffer. */
static void flat(bp_params *params, bp_real *buf, bool out)
{
    size_t off = 0;
    for (int i = 0; i < bp_params_count(params); i++) {
        bp_node *g = bp_params_at(params, i);
        if (out)
            memcpy(buf + off, g->grad, g->size * sizeof *buf);
        else
            memcpy(g->grad, buf + off, g->size * sizeof *buf);
        off += g->size;
    }
}

/* Rank k gets scount[k] values at send + sdispl[k], and this rank rcount[k] from rank k
 * at recv + rdispl[k]: point to point, so that a rank that does not answer is named
 * (wait_reqs); this rank's own part copied. */
static bp_status exchange(bp_dist *d, bp_real *send, const int *scount, const int *sdispl,
                          bp_real *recv, const int *rcount, const int *rdispl, int tag,
                          const char *what, bp_error *err)
{
    for (int k = 0; k < d->size; k++) {
        d->reqs[k] = d->reqs[d->size + k] = MPI_REQUEST_NULL;
        if (k == d->rank) {
            if (recv + rdispl[k] != send + sdispl[k])
                memcpy(recv + rdispl[k], send + sdispl[k], (size_t)rcount[k] * sizeof *recv);
            continue;
        }
        int rc = MPI_Irecv(recv + rdispl[k], rcount[k], REAL_MPI, k, tag, d->comm, &d->reqs[k]);
        if (rc == MPI_SUCCESS)
            rc = MPI_Isend(send + sdispl[k], scount[k], REAL_MPI, k, tag, d->comm,
                           &d->reqs[d->size + k]);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, what, rc);
    }
    return wait_reqs(d, 2 * d->size, true, what, err);
}

bp_status dist_sum_grads(bp_dist *d, bp_params *params, bp_error *err)
{
    if (d->size == 1)
        return BP_OK;
    size_t p = bp_params_elements(params);
    bp_status st = reserve(d, p, err);
    if (st != BP_OK)
        return st;
    flat(params, d->send, true);
    /* the step's status exchange (dist_agree) came just before: every rank is here, and
     * the wait for the slowest was counted there */
    double c0 = seconds(CLOCK_THREAD_CPUTIME_ID), t1 = seconds(CLOCK_MONOTONIC);
    if ((st = exchange(d, d->send, d->counts, d->displs, d->recv, d->rcounts, d->rdispls,
                       18, "the gradients' reduce-scatter", err)) != BP_OK)
        return st;
    /* my segment: rank 0's values, then rank 1's added, ... (parallel.c's order) */
    int n = d->counts[d->rank];
    bp_real *mine = d->send + d->displs[d->rank];
    for (int j = 0; j < n; j++) {
        bp_real a = d->recv[j];
        for (int k = 1; k < d->size; k++)
            a += d->recv[(size_t)k * (size_t)n + (size_t)j];
        mine[j] = a;
    }
    if ((st = exchange(d, d->send, d->rcounts, d->mdispls, d->send, d->counts, d->displs,
                       19, "the gradients' allgather", err)) != BP_OK)
        return st;
    d->times.exchange += seconds(CLOCK_MONOTONIC) - t1;
    d->times.cpu += seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
    d->times.count++;
    flat(params, d->send, false);
    return BP_OK;
}
