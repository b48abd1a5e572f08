/* dist_mpi.c — the communicator of data-parallel training and its collectives: see
 * bptt_dist.h and dist.h. Every call returns MPI's errors (MPI_ERRORS_RETURN on the
 * library's own duplicate of MPI_COMM_WORLD) as BP_ERR_IO. */
#include "dist.h"

#include <mpi.h>
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
    int *rcounts, *rdispls;
    int *ints;            /* [size] */
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
    d->ints = calloc(n, sizeof *d->ints);
    if (!d->counts || !d->displs || !d->rcounts || !d->rdispls || !d->ints) {
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
    free(d->ints);
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

bp_status dist_agree(bp_dist *d, bp_status st, long step, bp_error *err)
{
    int mine = (int)st;
    int rc = MPI_Allgather(&mine, 1, MPI_INT, d->ints, 1, MPI_INT, d->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, "the status exchange (MPI_Allgather)", rc);
    int f = 0;
    while (f < d->size && d->ints[f] == BP_OK)
        f++;
    if (f == d->size)
        return BP_OK;
    bp_error e = {(bp_status)d->ints[f], ""};
    if (f == d->rank && err)
        e = *err;
    if ((rc = MPI_Bcast(&e, (int)sizeof e, MPI_BYTE, f, d->comm)) != MPI_SUCCESS)
        return mpi_fail(err, "the error's broadcast (MPI_Bcast)", rc);
    e.msg[sizeof e.msg - 1] = '\0';
    if (step >= 0)
        return bp_error_set(err, (bp_status)d->ints[f], "step %ld: rank %d of %d: %s", step,
                            f, d->size, e.msg);
    return bp_error_set(err, (bp_status)d->ints[f], "rank %d of %d: %s", f, d->size, e.msg);
}

bp_status dist_allgather(bp_dist *d, const double *mine, int n, double *all, bp_error *err)
{
    int rc = MPI_Allgather(mine, n, MPI_DOUBLE, all, n, MPI_DOUBLE, d->comm);
    return rc == MPI_SUCCESS ? BP_OK : mpi_fail(err, "MPI_Allgather", rc);
}

bp_status dist_sum(bp_dist *d, double *v, int n, bp_error *err)
{
    int rc = MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, d->comm);
    return rc == MPI_SUCCESS ? BP_OK : mpi_fail(err, "MPI_Allreduce", rc);
}

bp_status dist_bcast(bp_dist *d, double *v, int n, int root, bp_error *err)
{
    int rc = MPI_Bcast(v, n, MPI_DOUBLE, root, d->comm);
    return rc == MPI_SUCCESS ? BP_OK : mpi_fail(err, "MPI_Bcast", rc);
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

bp_status dist_sum_grads(bp_dist *d, bp_params *params, bp_error *err)
{
    if (d->size == 1)
        return BP_OK;
    size_t p = bp_params_elements(params);
    bp_status st = reserve(d, p, err);
    if (st != BP_OK)
        return st;
    flat(params, d->send, true);
    /* a barrier first, so that the exchange's time is the exchange's: the wait for the
     * slowest rank (load imbalance, a busy core) is counted apart */
    double c0 = seconds(CLOCK_THREAD_CPUTIME_ID), t0 = seconds(CLOCK_MONOTONIC);
    int rc = MPI_Barrier(d->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, "the barrier before the gradients' exchange", rc);
    double t1 = seconds(CLOCK_MONOTONIC);
    d->times.wait += t1 - t0;
    rc = MPI_Alltoallv(d->send, d->counts, d->displs, REAL_MPI, d->recv, d->rcounts,
                           d->rdispls, REAL_MPI, d->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, "the gradients' reduce-scatter (MPI_Alltoallv)", rc);
    /* my segment: rank 0's values, then rank 1's added, ... (parallel.c's order) */
    int n = d->counts[d->rank];
    bp_real *mine = d->send + d->displs[d->rank];
    for (int j = 0; j < n; j++) {
        bp_real a = d->recv[j];
        for (int k = 1; k < d->size; k++)
            a += d->recv[(size_t)k * (size_t)n + (size_t)j];
        mine[j] = a;
    }
    rc = MPI_Allgatherv(MPI_IN_PLACE, 0, REAL_MPI, d->send, d->counts, d->displs, REAL_MPI,
                        d->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, "the gradients' allgather (MPI_Allgatherv)", rc);
    d->times.exchange += seconds(CLOCK_MONOTONIC) - t1;
    d->times.cpu += seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
    d->times.count++;
    flat(params, d->send, false);
    return BP_OK;
}
