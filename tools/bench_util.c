/* bench_util.c — see bench_util.h. */
#include "bench_util.h"
#include "bench_blas.h"
#include "bptt_ops.h"
#include "bptt_workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const bench_cells[4] = {"rnn", "irnn", "lstm", "gru"};
const int bench_sizes[3][3] = {{128, 32, 100}, {512, 64, 50}, {32, 1, 1000}};

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

void bench_cpu(char *model, size_t n, const char **isa)
{
    char name[128] = "unknown", family[16] = "?", mod[16] = "?", stepping[16] = "?", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (*line == '\n') /* the first processor's block is enough */
            break;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        char *v = colon + 1 + (colon[1] == ' ');
        v[strcspn(v, "\n")] = '\0';
        size_t k = (size_t)(colon - line);
        while (k && (line[k - 1] == ' ' || line[k - 1] == '\t'))
            k--;
        line[k] = '\0';
        if (!strcmp(line, "model name"))
            snprintf(name, sizeof name, "%s", v);
        else if (!strcmp(line, "cpu family"))
            snprintf(family, sizeof family, "%s", v);
        else if (!strcmp(line, "model"))
            snprintf(mod, sizeof mod, "%s", v);
        else if (!strcmp(line, "stepping"))
            snprintf(stepping, sizeof stepping, "%s", v);
    }
    if (f)
        fclose(f);
    snprintf(model, n, "%s (family %s, model %s, stepping %s)", name, family, mod, stepping);
    *isa = bp_isa_name(bp_isa_current());
}

/* ---------------------------------------------------------------- the trainer */

void bench_model_config(const bench_cfg *c, int threads, bp_model_config *m, bp_layer_spec *l)
{
    bp_layer_kind kind = !strcmp(c->cell, "lstm") ? BP_LAYER_LSTM
                         : !strcmp(c->cell, "gru") ? BP_LAYER_GRU
                                                   : BP_LAYER_RNN;
    bp_layer_spec_default(l, kind);
    l->size = c->H;
    if (!strcmp(c->cell, "irnn")) { /* Le, Jaitly & Hinton 2015 */
        l->act = BP_ACT_RELU;
        l->init = BP_INIT_IDENTITY;
    }
    *m = (bp_model_config){0};
    snprintf(m->name, sizeof m->name, "bench_%s", c->cell);
    bp_net_spec_default(&m->net);
    m->net.input_size = m->net.output_size = 0; /* from the task: 2 and 1 */
    m->net.n_layers = 1;
    m->net.layers = l;
    m->layers = l;
    snprintf(m->data.task, sizeof m->data.task, "adding");
    m->data.steps = c->T;
    bp_train_config_default(&m->train); /* Adam, seed 1 */
    /* The figures are time and memory, not learning: a small step keeps a long IRNN
     * finite over the bench's steps (one Adam step of 1e-3 on every element of W_h
     * gives it a radius of 1.13, and 1.13^1000 overflows). */
    m->train.optim.lr = 1e-5;
    m->train.batch = c->B;
    m->train.eval_batch = 1;   /* the held-out batch is never used here */
    m->train.max_memory_mb = 0; /* no estimate: tcurve goes to T = 100000 */
    m->train.threads = threads;
}

static bp_trainer *make_trainer(const bench_cfg *c, int threads, bp_error *err)
{
    bp_layer_spec l;
    bp_model_config m;
    bench_model_config(c, threads, &m, &l);
    return bp_trainer_new(&m, err);
}

static bp_workers *workers(bench_trainer *b)
{
    return bp_trainer_workers(b->tr);
}

bench_trainer *bench_trainer_new(const bench_cfg *c, int threads, bp_error *err)
{
    bench_trainer *b = calloc(1, sizeof *b);
    if (!b) {
        bp_error_set(err, BP_ERR_NOMEM, "bench: out of memory");
        return NULL;
    }
    b->cfg = *c;
    threads = threads < 1 ? 1 : threads > BENCH_MAX_THREADS ? BENCH_MAX_THREADS : threads;
    b->threads = threads > c->B ? c->B : threads;
    if (!(b->tr = make_trainer(c, b->threads, err)))
        goto fail;
    bp_tape_set_keep_grads(bp_trainer_tape(b->tr), false); /* as bp_trainer_step does */
    bp_tape_set_keep_values(bp_trainer_tape(b->tr), false);
    /* the data: x ~ U[0, 1) on both channels, targets ~ U[0, 1) */
    bp_rng rng;
    bp_rng_seed(&rng, 1);
    if (!(b->batch = bp_batch_new(c->B, c->T, 2, false, BP_TARGET_VALUES, 1, err)))
        goto fail;
    bp_fill_uniform(b->batch->x, (size_t)c->B * c->T * 2, 0, 1, &rng);
    bp_fill_uniform(b->batch->y, (size_t)c->B, 0, 1, &rng);
    return b;
fail:
    bench_trainer_free(b);
    return NULL;
}

void bench_trainer_free(bench_trainer *b)
{
    if (!b)
        return;
    for (int k = 0; k < BENCH_MAX_THREADS; k++) {
        bench_worker *w = &b->w[k];
        free(w->gemms);
        free(w->seq);
        for (int i = 0; i < 3; i++)
            free(w->scratch[i]);
        for (int i = 0; i < 2; i++)
            free(w->seq_scratch[i]);
    }
    bp_batch_free(b->batch);
    bp_trainer_free(b->tr);
    free(b);
}

void bench_set_defer(bench_trainer *b, bool on)
{
    bp_tape_set_defer(bp_trainer_tape(b->tr), on);
    for (int k = 0; workers(b) && k < bp_workers_count(workers(b)); k++)
        bp_tape_set_defer(bp_workers_at(workers(b), k)->tape, on);
}

bp_tape *bench_tape(bench_trainer *b)
{
    return bp_trainer_tape(b->tr);
}

/* ---------------------------------------------------------------- the step */

/* The critical path of the last run on the workers: the calling thread's CPU time
 * since c0, less what it spent in the run (its job and waits), plus the longest job. */
static double critical_path(bench_trainer *b, double c0)
{
    double total = bench_cpu_now() - c0;
    bp_workers *ws = workers(b);
    if (!ws)
        return total;
    double longest = 0;
    for (int k = 0; k < bp_workers_used(ws); k++) {
        double c = bp_workers_at(ws, k)->cpu;
        longest = c > longest ? c : longest;
    }
    return total - bp_workers_run_cpu(ws) + longest;
}

bp_status bench_step(bench_trainer *b, double *loss, bp_error *err)
{
    double c0 = bench_cpu_now(), l = 0;
    bp_status st = bp_trainer_update(b->tr, b->batch, &l, NULL, err);
    b->cpu_step = critical_path(b, c0);
    if (loss)
        *loss = l;
    return st;
}

/* ---------------------------------------------------------------- the sgemm calls */

void bench_gemm_push(bench_gemm **list, int *n, int *cap, bench_gemm g)
{
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 256;
        bench_gemm *p = realloc(*list, (size_t)c * sizeof *p);
        if (!p)
            abort(); /* a benchmark tool: nothing sensible to go on with */
        *list = p;
        *cap = c;
    }
    (*list)[(*n)++] = g;
}

void bench_scratch_grow(bp_real **buf, int n, size_t *size, size_t need)
{
    if (need <= *size)
        return;
    for (int i = 0; i < n; i++) {
        free(buf[i]);
        if (!(buf[i] = calloc(need, sizeof(bp_real))))
            abort();
    }
    *size = need;
}

/* A grad the tape released (NULL) is replayed on scratch buffer `slot`. */
static const bp_real *grad_or(bench_worker *w, const bp_node *n, int slot)
{
    return n->grad ? n->grad : w->scratch[slot];
}

/* A value the tape released (its buffer went on to the next node of its size: the step
 * wrote every such product into a few buffers, still in cache) is replayed on scratch
 * buffer 0, also one buffer for all. */
static bp_real *value_or(bench_worker *w, bp_node *n)
{
    return n->released ? w->scratch[0] : n->value;
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
    bench_scratch_grow(w->scratch, 3, &w->scratch_size, need);
}

/* A recurrent weight: the layers name it W_h (layers/net.c). */
static bool recurrent(const bp_node *w)
{
    size_t n = w->name ? strlen(w->name) : 0;
    return n >= 3 && !strcmp(w->name + n - 3, "W_h");
}

static void push_tagged(bench_worker *w, bench_gemm g, const bp_node *weight, char kind)
{
    g.w = weight;
    g.kind = kind;
    g.per_step = kind != 'b' && recurrent(weight);
    bench_gemm_push(&w->gemms, &w->n_gemms, &w->cap_gemms, g);
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
        push_tagged(w, (bench_gemm){false, false, M, N, K, a->value, bm->value, value_or(w, n),
                                    K, N, N, 0, NULL, 0, false}, bm, 'f');
    }
    for (int i = len - 1; i >= 0; i--) {
        bp_node *n = bp_tape_node(w->tape, i);
        if (n->op != &bp_op_matmul || !n->reached || !n->requires_grad)
            continue;
        bp_node *a = n->in[0], *bm = n->in[1];
        int M = a->shape.dim[0], K = a->shape.dim[1], N = bm->shape.dim[1];
        if (a->requires_grad)
            push_tagged(w, (bench_gemm){false, true, M, K, N, grad_or(w, n, 0), bm->value,
                                        (bp_real *)grad_or(w, a, 2), N, N, K, 1, NULL, 0, false},
                        bm, 'a');
        if (bm->requires_grad)
            push_tagged(w, (bench_gemm){true, false, K, N, M, a->value, grad_or(w, n, 1),
                                        (bp_real *)grad_or(w, bm, 2), K, N, N, 1, NULL, 0, false},
                        bm, 'b');
    }
}

int bench_collect_gemms(bench_trainer *b, double *flops)
{
    int count = 0;
    double f = 0;
    for (int k = 0; k < b->threads; k++) {
        bench_worker *w = &b->w[k];
        w->tape = workers(b) ? bp_workers_at(workers(b), k)->tape : bp_trainer_tape(b->tr);
        collect(w);
        count += w->n_gemms;
        for (int j = 0; j < w->n_gemms; j++)
            f += 2.0 * w->gemms[j].M * w->gemms[j].N * w->gemms[j].K;
    }
    if (flops)
        *flops = f;
    return count;
}

static void replay(const bench_gemm *list, int n)
{
    for (int j = 0; j < n; j++) {
        const bench_gemm *g = &list[j];
        bench_blas_gemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                g->M, g->N, g->K, 1, g->A, g->lda, g->B, g->ldb, g->beta, g->C, g->ldc);
    }
}

/* On the library's worker threads: worker k replays bench worker k's list (b->seq_list:
 * the sequential one). */
static void replay_job(bp_worker *w, void *arg)
{
    bench_trainer *b = arg;
    bench_worker *bw = &b->w[w->index];
    if (b->seq_list)
        replay(bw->seq, bw->n_seq);
    else
        replay(bw->gemms, bw->n_gemms);
}

static double replay_lists(bench_trainer *b, bool seq)
{
    double t0 = bench_now(), c0 = bench_cpu_now();
    bp_workers *ws = workers(b);
    b->seq_list = seq;
    if (ws)
        bp_workers_run(ws, b->threads, replay_job, b);
    else if (seq)
        replay(b->w[0].seq, b->w[0].n_seq);
    else
        replay(b->w[0].gemms, b->w[0].n_gemms);
    double dt = bench_now() - t0;
    b->cpu_replay = critical_path(b, c0);
    /* the replay added into the weights' grads: the trainer's and the replicas' */
    bp_params_zero_grad(bp_trainer_params(b->tr));
    for (int k = 1; ws && k < bp_workers_count(ws); k++)
        bp_params_zero_grad(bp_workers_at(ws, k)->params);
    return dt;
}

double bench_replay_gemms(bench_trainer *b)
{
    return replay_lists(b, false);
}

double bench_replay_seq(bench_trainer *b)
{
    return replay_lists(b, true);
}

int bench_seq_build(bench_trainer *b)
{
    int count = 0;
    for (int k = 0; k < b->threads; k++) {
        bench_seq_worker(&b->w[k]);
        count += b->w[k].n_seq;
    }
    return count;
}
