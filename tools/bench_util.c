/* bench_util.c — see bench_util.h. */
#include "bench_util.h"
#include "blas.h"
#include "bptt_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

long bench_status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') {
            kib = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* ---------------------------------------------------------------- the net */

static bp_net *make_net(const bench_cfg *c, bp_params *p, bp_error *err)
{
    bp_layer_kind kind = !strcmp(c->cell, "lstm") ? BP_LAYER_LSTM
                         : !strcmp(c->cell, "gru") ? BP_LAYER_GRU
                                                   : BP_LAYER_RNN;
    bp_layer_spec l;
    bp_layer_spec_default(&l, kind);
    l.size = c->H;
    if (!strcmp(c->cell, "irnn")) { /* Le, Jaitly & Hinton 2015 */
        l.act = BP_ACT_RELU;
        l.init = BP_INIT_IDENTITY;
    }
    bp_net_spec s;
    bp_net_spec_default(&s);
    s.input_size = 2;
    s.n_layers = 1;
    s.layers = &l;
    s.head = BP_HEAD_LAST;
    s.output_size = 1;
    return bp_net_new(&s, p, err);
}

/* ---------------------------------------------------------------- threads */

/* job(w), noting its thread CPU time in w->cpu. */
static void timed(bench_worker *w, void (*job)(bench_worker *w))
{
    double t0 = bench_cpu_now();
    job(w);
    w->cpu = bench_cpu_now() - t0;
}

static void *helper_main(void *arg)
{
    struct bench_helper *h = arg;
    bench_trainer *b = h->b;
    int k = h->k;
    for (;;) {
        pthread_barrier_wait(&b->start);
        if (b->quit)
            return NULL;
        timed(&b->w[k], b->job);
        pthread_barrier_wait(&b->done);
    }
}

/* job(w[k]) on every worker: worker 0 on the calling thread, the others on helpers.
 * Returns the longest job's thread CPU time. */
static double run_all(bench_trainer *b, void (*job)(bench_worker *w))
{
    if (b->threads > 1) {
        b->job = job;
        pthread_barrier_wait(&b->start);
    }
    timed(&b->w[0], job);
    if (b->threads > 1)
        pthread_barrier_wait(&b->done);
    double longest = 0;
    for (int k = 0; k < b->threads; k++)
        longest = b->w[k].cpu > longest ? b->w[k].cpu : longest;
    return longest;
}

/* ---------------------------------------------------------------- setup */

static bool make_worker(bench_trainer *b, bench_worker *w, const bp_batch *full, int r0, int rows,
                        bp_error *err)
{
    const bench_cfg *c = &b->cfg;
    if (w == &b->w[0]) { /* worker 0 trains the weights themselves */
        w->params = b->params;
        w->net = b->net;
    } else {
        if (!(w->params = bp_params_new()) || !(w->net = make_net(c, w->params, err)))
            return false;
    }
    if (!(w->tape = bp_tape_new()))
        return false;
    bp_tape_set_keep_grads(w->tape, false);
    w->batch = bp_batch_new(rows, c->T, full->F, false, BP_TARGET_VALUES, full->O, err);
    if (!w->batch)
        return false;
    size_t xrow = (size_t)c->T * (size_t)full->F; /* batch first: a row is [T, F] */
    memcpy(w->batch->x, full->x + (size_t)r0 * xrow, (size_t)rows * xrow * sizeof(bp_real));
    memcpy(w->batch->y, full->y + (size_t)r0 * (size_t)full->O,
           (size_t)rows * (size_t)full->O * sizeof(bp_real));
    w->weight = (double)rows / full->B;
    return true;
}

bench_trainer *bench_trainer_new(const bench_cfg *c, int threads, bp_error *err)
{
    bench_trainer *b = calloc(1, sizeof *b);
    bp_batch *full = NULL;
    if (!b)
        goto nomem;
    b->cfg = *c;
    b->threads = threads < 1 ? 1 : threads > BENCH_MAX_THREADS ? BENCH_MAX_THREADS : threads;
    if (b->threads > c->B)
        b->threads = c->B;
    if (!(b->params = bp_params_new()))
        goto nomem;
    if (!(b->net = make_net(c, b->params, err)))
        goto fail;
    bp_rng rng;
    bp_rng_seed(&rng, 1);
    if (bp_net_init(b->net, &rng, err) != BP_OK)
        goto fail;
    bp_optim_config oc;
    bp_optim_config_default(&oc); /* Adam, lr 1e-3 */
    if (!(b->opt = bp_optim_new(&oc, b->params, err)))
        goto fail;
    /* the data: x ~ U[0, 1) on both channels, targets ~ U[0, 1) */
    if (!(full = bp_batch_new(c->B, c->T, 2, false, BP_TARGET_VALUES, 1, err)))
        goto fail;
    bp_fill_uniform(full->x, (size_t)c->B * c->T * 2, 0, 1, &rng);
    bp_fill_uniform(full->y, (size_t)c->B, 0, 1, &rng);
    for (int k = 0; k < b->threads; k++) {
        int r0 = k * c->B / b->threads, r1 = (k + 1) * c->B / b->threads;
        if (!make_worker(b, &b->w[k], full, r0, r1 - r0, err))
            goto fail;
    }
    bp_batch_free(full);
    full = NULL;
    if (b->threads > 1) {
        pthread_barrier_init(&b->start, NULL, (unsigned)b->threads);
        pthread_barrier_init(&b->done, NULL, (unsigned)b->threads);
        for (int k = 1; k < b->threads; k++) {
            b->helper[k] = (struct bench_helper){b, k};
            if (pthread_create(&b->tid[k], NULL, helper_main, &b->helper[k])) {
                bp_error_set(err, BP_ERR_NOMEM, "bench: cannot start a thread");
                goto fail; /* BENCH_MAX_THREADS is 2: none was started */
            }
        }
        b->started = true;
    }
    return b;
nomem:
    bp_error_set(err, BP_ERR_NOMEM, "bench: out of memory");
fail:
    bp_batch_free(full);
    bench_trainer_free(b);
    return NULL;
}

void bench_trainer_free(bench_trainer *b)
{
    if (!b)
        return;
    if (b->started) {
        b->quit = true;
        pthread_barrier_wait(&b->start);
        for (int k = 1; k < b->threads; k++)
            pthread_join(b->tid[k], NULL);
        pthread_barrier_destroy(&b->start);
        pthread_barrier_destroy(&b->done);
    }
    for (int k = 0; k < BENCH_MAX_THREADS; k++) {
        bench_worker *w = &b->w[k];
        bp_tape_free(w->tape);
        bp_batch_free(w->batch);
        free(w->gemms);
        for (int i = 0; i < 3; i++)
            free(w->scratch[i]);
        if (w->params != b->params) {
            bp_net_free(w->net);
            bp_params_free(w->params);
        }
    }
    bp_optim_free(b->opt);
    bp_net_free(b->net);
    bp_params_free(b->params);
    free(b);
}

/* ---------------------------------------------------------------- the step */

static void forward_backward(bench_worker *w)
{
    bp_tape_reset(w->tape);
    bp_node *loss = bp_net_forward(w->net, w->tape, w->batch, 0, w->batch->T, NULL);
    if (!loss) {
        w->err = *bp_tape_error(w->tape);
        w->st = w->err.status;
        return;
    }
    w->loss = loss->value[0];
    w->st = bp_backward(w->tape, loss, &w->err);
}

bp_status bench_step(bench_trainer *b, double *loss, bp_error *err)
{
    double c0 = bench_cpu_now();
    int np = bp_params_count(b->params);
    if (b->threads > 1) /* every other worker starts from the current weights */
        for (int k = 1; k < b->threads; k++)
            for (int i = 0; i < np; i++) {
                bp_node *dst = bp_params_at(b->w[k].params, i), *src = bp_params_at(b->params, i);
                memcpy(dst->value, src->value, src->size * sizeof(bp_real));
            }
    double longest = run_all(b, forward_backward), mine = b->w[0].cpu;
    double total = 0;
    for (int k = 0; k < b->threads; k++) {
        if (b->w[k].st != BP_OK) {
            *err = b->w[k].err;
            return err->status;
        }
        total += b->w[k].weight * b->w[k].loss;
    }
    if (b->threads > 1) /* the batch's mean loss: dL/dW = sum_k (rows_k / B) dL_k/dW */
        for (int i = 0; i < np; i++) {
            bp_node *g = bp_params_at(b->params, i); /* holds worker 0's dL_0/dW */
            bp_real s0 = (bp_real)b->w[0].weight;
            for (size_t j = 0; j < g->size; j++)
                g->grad[j] *= s0;
            for (int k = 1; k < b->threads; k++) {
                bp_node *wk = bp_params_at(b->w[k].params, i);
                bp_real s = (bp_real)b->w[k].weight;
                for (size_t j = 0; j < g->size; j++)
                    g->grad[j] += s * wk->grad[j];
                memset(wk->grad, 0, wk->size * sizeof(bp_real));
            }
        }
    if (loss)
        *loss = total;
    bp_status st = bp_optim_step(b->opt, total, NULL, err);
    b->cpu_step = bench_cpu_now() - c0 - mine + longest;
    return st;
}

/* ---------------------------------------------------------------- the sgemm calls */

static void push_gemm(bench_worker *w, bench_gemm g)
{
    if (w->n_gemms == w->cap_gemms) {
        int cap = w->cap_gemms ? 2 * w->cap_gemms : 256;
        bench_gemm *p = realloc(w->gemms, (size_t)cap * sizeof *p);
        if (!p)
            abort(); /* a benchmark tool: nothing sensible to go on with */
        w->gemms = p;
        w->cap_gemms = cap;
    }
    w->gemms[w->n_gemms++] = g;
}

/* A grad the tape released (NULL) is replayed on scratch buffer `slot`. */
static const bp_real *grad_or(bench_worker *w, const bp_node *n, int slot)
{
    return n->grad ? n->grad : w->scratch[slot];
}

/* Scratch buffers as large as the largest matmul operand on the tape. */
static void size_scratch(bench_worker *w)
{
    size_t need = 1;
    for (int i = 0; i < bp_tape_len(w->tape); i++) {
        const bp_node *n = bp_tape_node(w->tape, i);
        if (n->op == &bp_op_matmul)
            for (size_t s = 0, k = 0; k < 3; k++) {
                s = k == 0 ? n->size : n->in[k - 1]->size;
                need = s > need ? s : need;
            }
    }
    if (need <= w->scratch_size)
        return;
    for (int i = 0; i < 3; i++) {
        free(w->scratch[i]);
        if (!(w->scratch[i] = calloc(need, sizeof(bp_real))))
            abort();
    }
    w->scratch_size = need;
}

/* ops/matmul.c: forward C = A B (M,K)(K,N); backward dA += dC B^T, dB += A^T dC,
 * each only when that input requires grad, and only for nodes the backward reached. */
static void collect(bench_worker *w)
{
    w->n_gemms = 0;
    size_scratch(w);
    int len = bp_tape_len(w->tape);
    for (int i = 0; i < len; i++) {
        bp_node *n = bp_tape_node(w->tape, i);
        if (n->op != &bp_op_matmul)
            continue;
        bp_node *a = n->in[0], *bm = n->in[1];
        int M = a->shape.dim[0], K = a->shape.dim[1], N = bm->shape.dim[1];
        push_gemm(w, (bench_gemm){false, false, M, N, K, a->value, bm->value, n->value, K, N, N, 0});
    }
    for (int i = len - 1; i >= 0; i--) {
        bp_node *n = bp_tape_node(w->tape, i);
        if (n->op != &bp_op_matmul || !n->reached || !n->requires_grad)
            continue;
        bp_node *a = n->in[0], *bm = n->in[1];
        int M = a->shape.dim[0], K = a->shape.dim[1], N = bm->shape.dim[1];
        if (a->requires_grad)
            push_gemm(w, (bench_gemm){false, true, M, K, N, grad_or(w, n, 0), bm->value,
                                      (bp_real *)grad_or(w, a, 2), N, N, K, 1});
        if (bm->requires_grad)
            push_gemm(w, (bench_gemm){true, false, K, N, M, a->value, grad_or(w, n, 1),
                                      (bp_real *)grad_or(w, bm, 2), K, N, N, 1});
    }
}

int bench_collect_gemms(bench_trainer *b, double *flops)
{
    int count = 0;
    double f = 0;
    for (int k = 0; k < b->threads; k++) {
        bench_worker *w = &b->w[k];
        collect(w);
        count += w->n_gemms;
        for (int j = 0; j < w->n_gemms; j++)
            f += 2.0 * w->gemms[j].M * w->gemms[j].N * w->gemms[j].K;
    }
    if (flops)
        *flops = f;
    return count;
}

static void replay(bench_worker *w)
{
    for (int j = 0; j < w->n_gemms; j++) {
        const bench_gemm *g = &w->gemms[j];
        bp_gemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                g->M, g->N, g->K, 1, g->A, g->lda, g->B, g->ldb, g->beta, g->C, g->ldc);
    }
}

double bench_replay_gemms(bench_trainer *b)
{
    double t0 = bench_now();
    b->cpu_replay = run_all(b, replay);
    double dt = bench_now() - t0;
    for (int k = 0; k < b->threads; k++) /* the replay added into the weights' grads */
        bp_params_zero_grad(b->w[k].params);
    bp_params_zero_grad(b->params);
    return dt;
}
