/* parallel.c — a training batch split across threads: see parallel.h.
 *
 * The threads: worker 0 runs on the calling thread, workers 1..N-1 on helper threads
 * that wait for a run between steps. A run bumps a generation counter; a helper spins
 * a short while on it (steps follow each other within microseconds in a training loop,
 * a sleep and a wake cost tens of them) before sleeping on a condition variable. */
#include "parallel.h"
#include "bind.h"
#include "blas.h"
#include "net_worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Spins before a sleep: about 50-100 us of pause instructions. */
#define SPINS 4096

struct helper {
    bp_workers *ws;
    int k;
};

struct bp_workers {
    bp_net *net;           /* worker 0's: the definition the others share */
    bp_params *params;     /* worker 0's: the values the others share, the grads summed */
    int n;                 /* workers */
    bp_worker *w;          /* [n] */
    pthread_t *tid;        /* [n]: the helpers' (tid[0] unused) */
    struct helper *helper; /* [n] */
    int started;           /* helpers running: 1 .. started - 1 */
    /* the current run, written before gen is bumped, read after */
    void (*job)(bp_worker *w, void *arg);
    void *arg;
    int used;
    double cpu_run;        /* the calling thread's CPU seconds in the last run, waits included */
    atomic_ulong gen;      /* runs started */
    atomic_int pending;    /* helpers still in the current run */
    atomic_bool quit;
    pthread_mutex_t mu;    /* with go: helpers sleep for the next run; */
    pthread_cond_t go, idle; /* with idle: the caller sleeps for the helpers */
};

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void run_job(bp_workers *ws, bp_worker *w)
{
    double t0 = thread_cpu();
    ws->job(w, ws->arg);
    w->cpu = thread_cpu() - t0;
}

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    bp_workers *ws = h->ws;
    unsigned long seen = 0;
    for (;;) {
        unsigned long g = atomic_load_explicit(&ws->gen, memory_order_acquire);
        for (int i = 0; i < SPINS && g == seen; i++) {
            relax();
            g = atomic_load_explicit(&ws->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&ws->mu);
            while ((g = atomic_load_explicit(&ws->gen, memory_order_acquire)) == seen)
                pthread_cond_wait(&ws->go, &ws->mu);
            pthread_mutex_unlock(&ws->mu);
        }
        seen = g;
        if (atomic_load_explicit(&ws->quit, memory_order_acquire))
            return NULL;
        if (h->k < ws->used)
            run_job(ws, &ws->w[h->k]);
        if (atomic_fetch_sub_explicit(&ws->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&ws->mu); /* the caller checks pending under mu */
            pthread_cond_signal(&ws->idle);
            pthread_mutex_unlock(&ws->mu);
        }
    }
}

/* Start a run (or, with quit, the helpers' exit): every helper wakes once. */
static void wake_helpers(bp_workers *ws)
{
    atomic_store_explicit(&ws->pending, ws->started - 1, memory_order_relaxed);
    pthread_mutex_lock(&ws->mu);
    atomic_fetch_add_explicit(&ws->gen, 1, memory_order_release);
    pthread_cond_broadcast(&ws->go);
    pthread_mutex_unlock(&ws->mu);
}

static void wait_helpers(bp_workers *ws)
{
    for (int i = 0; i < SPINS && atomic_load_explicit(&ws->pending, memory_order_acquire); i++)
        relax();
    if (!atomic_load_explicit(&ws->pending, memory_order_acquire))
        return;
    pthread_mutex_lock(&ws->mu);
    while (atomic_load_explicit(&ws->pending, memory_order_acquire))
        pthread_cond_wait(&ws->idle, &ws->mu);
    pthread_mutex_unlock(&ws->mu);
}

void bp_workers_run(bp_workers *ws, int used, void (*job)(bp_worker *w, void *arg), void *arg)
{
    ws->job = job;
    ws->arg = arg;
    ws->used = used < 1 ? 1 : used > ws->n ? ws->n : used;
    double t0 = thread_cpu();
    bool helpers = ws->used > 1;
    if (helpers)
        wake_helpers(ws);
    run_job(ws, &ws->w[0]);
    if (helpers)
        wait_helpers(ws);
    ws->cpu_run = thread_cpu() - t0;
}

/* ---------------------------------------------------------------- setup */

void bp_workers_free(bp_workers *ws)
{
    if (!ws)
        return;
    if (ws->started > 1) {
        atomic_store_explicit(&ws->quit, true, memory_order_release);
        wake_helpers(ws);
        for (int k = 1; k < ws->started; k++)
            pthread_join(ws->tid[k], NULL);
    }
    pthread_cond_destroy(&ws->go);
    pthread_cond_destroy(&ws->idle);
    pthread_mutex_destroy(&ws->mu);
    for (int k = 0; k < ws->n && ws->w; k++) {
        bp_worker *w = &ws->w[k];
        bp_net_state_free(w->state);
        if (k == 0)
            continue; /* the caller's own net, params and tape */
        bp_tape_free(w->tape);
        bp_net_free(w->net);
        bp_params_free(w->params);
    }
    free(ws->w);
    free(ws->tid);
    free(ws->helper);
    free(ws);
}

/* Worker w > 0: net's definition shared, its own scratch and tape, and parameters of
 * its own that share params' values: the tape, bound to them, records them in place of
 * the definition's leaves, so backward sums into w's grads alone. */
static bp_status make_worker(bp_net *net, bp_params *params, bp_worker *w, bp_error *err)
{
    if (!(w->params = bp_params_new()) || !(w->tape = bp_tape_new()))
        return bp_error_set(err, BP_ERR_NOMEM, "threads: out of memory");
    for (int i = 0; i < bp_params_count(params); i++) {
        const bp_node *p = bp_params_at(params, i);
        if (!bp_params_add(w->params, p->name, p->shape, err))
            return err ? err->status : BP_ERR_NOMEM;
    }
    if (!(w->net = net_new_worker(net, err)))
        return err ? err->status : BP_ERR_NOMEM;
    bp_tape_set_keep_grads(w->tape, false); /* a worker's tape only trains */
    bp_tape_set_keep_values(w->tape, false);
    bp_status st = bp_params_share_values(w->params, params, err);
    return st != BP_OK ? st : bp_tape_bind_params(w->tape, params, w->params, err);
}

bp_workers *bp_workers_make(bp_net *net, bp_params *params, bp_tape *tape, int n,
                            bp_error *err)
{
    bp_workers *ws = calloc(1, sizeof *ws);
    if (!ws) {
        bp_error_set(err, BP_ERR_NOMEM, "threads: out of memory");
        return NULL;
    }
    ws->net = net;
    ws->params = params;
    ws->n = n;
    ws->started = 1;
    atomic_init(&ws->gen, 0);
    atomic_init(&ws->pending, 0);
    atomic_init(&ws->quit, false);
    pthread_mutex_init(&ws->mu, NULL);
    pthread_cond_init(&ws->go, NULL);
    pthread_cond_init(&ws->idle, NULL);
    ws->w = calloc((size_t)n, sizeof *ws->w);
    ws->tid = calloc((size_t)n, sizeof *ws->tid);
    ws->helper = calloc((size_t)n, sizeof *ws->helper);
    if (!ws->w || !ws->tid || !ws->helper) {
        bp_error_set(err, BP_ERR_NOMEM, "threads: out of memory");
        goto fail;
    }
    for (int k = 0; k < n; k++) {
        bp_worker *w = &ws->w[k];
        w->index = k;
        if (k == 0) {
            w->params = params;
            w->net = net;
            w->tape = tape;
        } else if (make_worker(net, params, w, err) != BP_OK) {
            bp_error_prefix(err, "threads: worker %d", k);
            goto fail;
        }
    }
    for (int k = 1; k < n; k++) {
        ws->helper[k] = (struct helper){ws, k};
        if (pthread_create(&ws->tid[k], NULL, helper_main, &ws->helper[k])) {
            bp_error_set(err, BP_ERR_NOMEM, "threads: cannot start thread %d of %d", k + 1, n);
            goto fail;
        }
        ws->started = k + 1;
    }
    return ws;
fail:
    bp_workers_free(ws);
    return NULL;
}

int bp_workers_count(const bp_workers *ws) { return ws->n; }
int bp_workers_used(const bp_workers *ws) { return ws->used; }
double bp_workers_run_cpu(const bp_workers *ws) { return ws->cpu_run; }
bp_worker *bp_workers_at(bp_workers *ws, int k) { return k >= 0 && k < ws->n ? &ws->w[k] : NULL; }

/* ---------------------------------------------------------------- the step */

/* A worker's job: its rows forward and backward on its own net and tape, the loss seeded
 * with its share (the net's spec says how: chunks, recomputation). */
static void backward_job(bp_worker *w, void *arg)
{
    (void)arg;
    w->st = bp_net_backward_batch(w->net, w->tape, w->state, &w->rows, (bp_real)w->weight,
                                  &w->loss, &w->err);
}

/* Worker w's rows [r0, r1) of b, its dropout as the trainer's net (own) has it, and its
 * truncated-BPTT state when b is chunked. */
static bp_status assign_rows(bp_worker *w, const bp_batch *b, int r0, int r1,
                             const bp_net *own, bp_error *err)
{
    int rows = r1 - r0, chunk = bp_net_spec_of(w->net)->chunk;
    w->rows = bp_batch_rows(b, r0, r1); /* its dropout masks are those of its rows */
    bp_net_set_dropout(w->net, bp_net_dropout_on(own), bp_net_dropout_seed(own));
    w->weight = bp_batch_rows_weight(b, &w->rows); /* its share of the batch mean */
    w->loss = 0;
    w->st = BP_OK;
    if (!(chunk && chunk < b->T))
        return BP_OK; /* whole sequences: no state carried */
    if (!w->state || w->state_rows != rows) {
        bp_net_state_free(w->state);
        w->state_rows = 0;
        if (!(w->state = bp_net_state_new(w->net, rows, err)))
            return err ? err->status : BP_ERR_NOMEM;
        w->state_rows = rows;
    }
    return BP_OK;
}

/* In a batch's worker order, so the first error is the same on every run. */
static bp_status first_error(bp_workers *ws, bp_error *err)
{
    for (int k = 0; k < ws->used; k++)
        if (ws->w[k].st != BP_OK) {
            if (err)
                *err = ws->w[k].err;
            return ws->w[k].st;
        }
    return BP_OK;
}

bp_status bp_workers_backward(bp_workers *ws, const bp_batch *b, double *loss, bp_error *err)
{
    int used = ws->n < b->B ? ws->n : b->B;
    for (int k = 0; k < used; k++) {
        long r0, r1; /* rows split as evenly as they go */
        bp_batch_share(b->B, k, used, &r0, &r1);
        bp_status st = assign_rows(&ws->w[k], b, (int)r0, (int)r1, ws->net, err);
        if (st != BP_OK)
            return st;
        /* worker 0's tape is the caller's: the others flush denormals as it does */
        bp_tape_set_flush_denormals(ws->w[k].tape, bp_tape_flushes_denormals(ws->w[0].tape));
    }
#ifdef OPENBLAS_VERSION
    /* one BLAS thread per worker: the workers are the parallelism */
    int blas_threads = openblas_get_num_threads();
    if (blas_threads != 1)
        openblas_set_num_threads(1);
#endif
    bp_workers_run(ws, used, backward_job, NULL);
#ifdef OPENBLAS_VERSION
    if (blas_threads != 1)
        openblas_set_num_threads(blas_threads);
#endif
    bp_status st = first_error(ws, err);
    int np = bp_params_count(ws->params);
    if (st != BP_OK) {
        for (int k = 1; k < used; k++)
            bp_params_zero_grad(ws->w[k].params);
        return st;
    }
    /* dL/dW = sum_k (rows_k / B) dL_k/dW: each worker's grads already carry the weight
     * (its seed); worker 0's are the trainer's own, the others' are added in order */
    for (int i = 0; i < np; i++) {
        bp_node *g = bp_params_at(ws->params, i);
        for (int k = 1; k < used; k++) {
            bp_real *gk = bp_params_at(ws->w[k].params, i)->grad;
            for (size_t j = 0; j < g->size; j++)
                g->grad[j] += gk[j];
            memset(gk, 0, g->size * sizeof *gk);
        }
    }
    double total = 0;
    for (int k = 0; k < used; k++) /* L = sum_k (rows_k / B) L_k */
        total += ws->w[k].weight * ws->w[k].loss;
    *loss = total;
    return BP_OK;
}
