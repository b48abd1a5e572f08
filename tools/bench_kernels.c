/* bench_kernels.c — `bptt bench kernels`: ns per element of every vectorised kernel —
 * bp_vtanh, bp_vsigmoid, each fused cell op's forward and backward, and matmul at one
 * row (its own kernel; against OpenBLAS's sgemm on the same product) — in every kernel
 * variant this CPU runs (bp_isa_select), in one run, at a W1 step's shapes (H 128,
 * B 32; --size HxBxT sets H and B): each variant against the baseline variant, sigmoid
 * against tanh, and the two checks of issue 16 (sigmoid within 1.5x of tanh; no variant
 * slower than the baseline); then tanh's and sigmoid's largest error in each variant,
 * in ulp against double libm (tests/test_f32_vmath.c holds them to 3). */
#include "bench_util.h"
#include "bench_blas.h"
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ISA = 8, N_CELLS = 7, N_KERNELS = 3 + 2 * N_CELLS };

/* One kernel: an array function (tanh, sigmoid), or a cell op's forward or backward,
 * the op's inputs (B, G H) with G gate blocks, or matmul's forward at one row (one_row:
 * (1, H) times (H, H)). */
typedef struct kernel {
    char name[32];
    void (*array_fn)(const bp_real *x, bp_real *y, size_t n);
    const bp_op *op;
    int gates;
    bool backward, one_row;
} kernel;

/* What a kernel runs on: the arrays, or the op's node on a tape (its grad ours). */
typedef struct fixture {
    bp_real *x, *y;
    bp_tape *tape;
    bp_node *leaf[BP_MAX_INPUTS], *node;
    size_t n; /* elements per call: the array's, or the op's output's */
} fixture;

static int make_kernels(kernel *k)
{
    static const struct { const bp_op *op; int gates; } cells[N_CELLS] = {
        {&bp_op_rnn_tanh, 1}, {&bp_op_rnn_relu, 1}, {&bp_op_lstm_gates, 4}, {&bp_op_lstm_c, 4},
        {&bp_op_lstm_h, 4},   {&bp_op_gru_gates, 3}, {&bp_op_gru_h, 3}};
    int n = 0;
    k[n++] = (kernel){.name = "tanh", .array_fn = bp_vtanh};
    k[n++] = (kernel){.name = "sigmoid", .array_fn = bp_vsigmoid};
    for (int c = 0; c < N_CELLS; c++)
        for (int b = 0; b < 2; b++) {
            k[n] = (kernel){.op = cells[c].op, .gates = cells[c].gates, .backward = b};
            snprintf(k[n].name, sizeof k[n].name, "%s %s", cells[c].op->name, b ? "bwd" : "fwd");
            n++;
        }
    k[n++] = (kernel){.name = "matmul 1-row fwd", .op = &bp_op_matmul, .gates = 1, .one_row = true};
    return n;
}

static void fixture_free(fixture *f)
{
    free(f->x);
    free(f->y);
    if (f->node) {
        free(f->node->grad);
        f->node->grad = NULL;
    }
    bp_tape_free(f->tape);
    for (int i = 0; i < BP_MAX_INPUTS; i++)
        bp_leaf_free(f->leaf[i]);
}

/* Inputs in [-2, 2]: both signs, within the exp's range reduction, no denormals. */
static bp_status fixture_make(const kernel *k, int H, int B, bp_rng *rng, fixture *f, bp_error *err)
{
    *f = (fixture){0};
    size_t GH = (size_t)k->gates * (size_t)H;
    if (k->array_fn) {
        f->n = (size_t)B * (size_t)H;
        f->x = malloc(f->n * sizeof *f->x);
        f->y = malloc(f->n * sizeof *f->y);
        if (!f->x || !f->y)
            return bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", k->name);
        bp_fill_uniform(f->x, f->n, -2, 2, rng);
        return BP_OK;
    }
    f->tape = bp_tape_new();
    for (int i = 0; i < k->op->n_in; i++) { /* states (B, H) for two-input ops */
        bp_shape s = i < 2 ? bp_shape2(B, i == 1 && k->op->n_in == 2 ? H : (int)GH)
                           : bp_shape1((int)GH);
        if (k->one_row)
            s = i == 0 ? bp_shape2(1, H) : bp_shape2(H, H);
        if (!(f->leaf[i] = bp_leaf_new(s, true, err)))
            return err->status;
        bp_fill_uniform(f->leaf[i]->value, f->leaf[i]->size, -2, 2, rng);
    }
    if (!f->tape || !(f->node = bp_apply(f->tape, k->op, f->leaf, NULL)))
        return bp_error_set(err, BP_ERR_NOMEM, "%s: %s", k->name,
                            f->tape ? bp_tape_error(f->tape)->msg : "out of memory");
    f->n = f->node->size;
    if (!(f->node->grad = malloc(f->n * sizeof *f->node->grad)))
        return bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", k->name);
    bp_fill_uniform(f->node->grad, f->n, -1, 1, rng);
    return BP_OK;
}

/* Seconds per call, over iters calls. (A backward adds into the inputs' grads each
 * call: they grow, linearly, far from overflow.) */
static double time_calls(const kernel *k, fixture *f, long iters, bool cpu)
{
    double t0 = cpu ? bench_cpu_now() : bench_now();
    for (long i = 0; i < iters; i++) {
        if (k->array_fn)
            k->array_fn(f->x, f->y, f->n);
        else if (k->backward)
            k->op->backward(f->node);
        else
            k->op->forward(f->node, f->tape);
    }
    return ((cpu ? bench_cpu_now() : bench_now()) - t0) / (double)iters;
}

/* ns per element of kernel k in each variant isa[v], the median of o->reps blocks of
 * about a millisecond each (variants interleaved, so they share the machine's state). */
static bp_status measure(const kernel *k, int H, int B, const bench_opts *o, const int *isa,
                         int n_isa, double *ns, bp_error *err)
{
    bp_rng rng;
    bp_rng_seed(&rng, 16);
    fixture f;
    bp_status st = fixture_make(k, H, B, &rng, &f, err);
    double *t = st == BP_OK ? malloc((size_t)n_isa * (size_t)o->reps * sizeof *t) : NULL;
    if (st == BP_OK && !t)
        st = bp_error_set(err, BP_ERR_NOMEM, "out of memory");
    if (st == BP_OK) {
        bp_isa_select(bp_isa_name(bp_isa_count() - 1), NULL); /* the baseline: the slowest */
        time_calls(k, &f, 1, o->cpu_clock);
        double one = time_calls(k, &f, 10, o->cpu_clock);
        long iters = one > 0 && 1e-3 / one > 1 ? (long)(1e-3 / one) : 1;
        for (int r = -o->warmup; r < o->reps; r++)
            for (int v = 0; v < n_isa; v++) {
                bp_isa_select(bp_isa_name(isa[v]), NULL);
                double s = time_calls(k, &f, iters, o->cpu_clock);
                if (r >= 0)
                    t[v * o->reps + r] = s;
            }
        for (int v = 0; v < n_isa; v++)
            ns[v] = 1e9 * bench_median(t + v * o->reps, o->reps) / (double)f.n;
    }
    free(t);
    fixture_free(&f);
    return st;
}

/* The checks over the table: the largest sigmoid / tanh and variant / baseline. */
typedef struct verdict {
    double sig_tanh, vs_base;
    int sig_isa, base_isa, base_kernel;
} verdict;

static void print_row(const char *name, const double *ns, int n_isa, bool json, bool first)
{
    if (json) {
        printf("%s\n    {\"kernel\": \"%s\", \"ns_per_element\": [", first ? "" : ",", name);
        for (int v = 0; v < n_isa; v++)
            printf("%s%.4f", v ? ", " : "", ns[v]);
        printf("]}");
        return;
    }
    printf("%-16s", name);
    for (int v = 0; v < n_isa; v++)
        printf(" %9.3f", ns[v]);
    for (int v = 0; v < n_isa - 1; v++)
        printf(" %12.3f", ns[v] / ns[n_isa - 1]);
    printf("\n");
}

static void print_header(const bench_opts *o, int H, int B, const int *isa, int n_isa)
{
    char cpu[256];
    const char *in_use;
    bench_cpu(cpu, sizeof cpu, &in_use);
    const char *env = getenv("BPTT_ISA");
    if (o->json) {
        printf("\"kernels\": {\"cpu\": \"%s\", \"in_use\": \"%s\", \"H\": %d, \"B\": %d, "
               "\"variants\": [", cpu, in_use, H, B);
        for (int v = 0; v < n_isa; v++)
            printf("%s\"%s\"", v ? ", " : "", bp_isa_name(isa[v]));
        printf("], \"rows\": [");
        return;
    }
    printf("kernels (%s; ns per element of the output, median of %d blocks of ~1 ms after %d, "
           "%s time; H %d, B %d)\ncpu: %s; variants it runs: ", BP_REAL_NAME, o->reps,
           o->warmup, o->cpu_clock ? "thread CPU" : "wall", H, B, cpu);
    for (int v = 0; v < n_isa; v++)
        printf("%s%s", v ? ", " : "", bp_isa_name(isa[v]));
    printf("; in use otherwise: %s (BPTT_ISA%s%s)\n%-16s", in_use, env ? "=" : " unset",
           env ? env : "", "kernel");
    for (int v = 0; v < n_isa; v++)
        printf(" %9s", bp_isa_name(isa[v]));
    for (int v = 0; v < n_isa - 1; v++) {
        char h[32];
        snprintf(h, sizeof h, "%s/base", bp_isa_name(isa[v]));
        printf(" %12s", h);
    }
    printf("\n");
}

static void print_verdict(const verdict *w, const kernel *k, const int *isa, const double *tanh_ns,
                          const double *sig_ns, int n_isa, bool json)
{
    if (json) {
        printf("\n  ], \"sigmoid_over_tanh\": [");
        for (int v = 0; v < n_isa; v++)
            printf("%s%.4f", v ? ", " : "", sig_ns[v] / tanh_ns[v]);
        printf("], \"worst_sigmoid_over_tanh\": %.4f, \"worst_over_baseline\": %.4f}",
               w->sig_tanh, w->vs_base);
        return;
    }
    printf("%-16s", "sigmoid / tanh");
    for (int v = 0; v < n_isa; v++)
        printf(" %9.3f", sig_ns[v] / tanh_ns[v]);
    printf("\nsigmoid within 1.5x of tanh in every variant: %s (largest %.2f, %s)\n",
           w->sig_tanh <= 1.5 ? "met" : "missed", w->sig_tanh, bp_isa_name(isa[w->sig_isa]));
    if (n_isa > 1)
        printf("no variant slower than the baseline: %s (largest variant / baseline %.2f, "
               "%s, %s)\n", w->vs_base <= 1 ? "met" : "missed", w->vs_base,
               k[w->base_kernel].name, bp_isa_name(isa[w->base_isa]));
}

static void note(verdict *w, const double *ns, int kernel, int n_isa)
{
    for (int v = 0; v < n_isa - 1; v++)
        if (ns[v] / ns[n_isa - 1] > w->vs_base)
            *w = (verdict){w->sig_tanh, ns[v] / ns[n_isa - 1], w->sig_isa, v, kernel};
}

/* The one-row product as OpenBLAS makes it, ns per call: the median of o->reps blocks. */
static double blas_one_row(const bench_opts *o, int H)
{
    bp_real *x = calloc((size_t)H, sizeof *x), *W = calloc((size_t)H * H, sizeof *W),
            *y = calloc((size_t)H, sizeof *y);
    double *t = malloc((size_t)o->reps * sizeof *t), ns = 0;
    if (x && W && y && t) {
        bp_rng rng;
        bp_rng_seed(&rng, 17);
        bp_fill_uniform(x, (size_t)H, -2, 2, &rng);
        bp_fill_uniform(W, (size_t)H * H, -2, 2, &rng);
        long iters = (long)(1e6 / ((double)H * H)) + 1; /* about a millisecond */
        for (int r = -o->warmup; r < o->reps; r++) {
            double t0 = o->cpu_clock ? bench_cpu_now() : bench_now();
            for (long i = 0; i < iters; i++)
                bench_blas_gemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, H, H, 1, x, H, W, H,
                                0, y, H);
            double dt = (o->cpu_clock ? bench_cpu_now() : bench_now()) - t0;
            if (r >= 0)
                t[r] = dt / (double)iters;
        }
        ns = 1e9 * bench_median(t, o->reps);
    }
    free(x);
    free(W);
    free(y);
    free(t);
    return ns;
}

/* matmul at one row per call, each variant's row kernel against OpenBLAS's sgemm. */
static void print_row_vs_blas(const bench_opts *o, int H, const int *isa, int n_isa,
                              const double *row_ns)
{
    double blas = blas_one_row(o, H);
    if (o->json) {
        printf(",\n\"one_row_matmul\": {\"H\": %d, \"sgemm_ns\": %.2f, \"row_kernel_ns\": [", H,
               blas);
        for (int v = 0; v < n_isa; v++)
            printf("%s%.2f", v ? ", " : "", row_ns[v] * H);
        printf("]}");
        return;
    }
    printf("matmul at one row (1 x %d times %d x %d), ns per call: OpenBLAS sgemm %.1f (core %s);"
           " the row kernel", H, H, H, blas, openblas_get_corename());
    for (int v = 0; v < n_isa; v++)
        printf("%s %s %.1f (%.2f of sgemm)", v ? "," : "", bp_isa_name(isa[v]), row_ns[v] * H,
               row_ns[v] * H / blas);
    printf("\n");
}

/* |got - want| in ulp of want rounded to float (the float build's kernels only). */
static double ulps(float got, double want)
{
    float w = (float)fabs(want);
    return fabs((double)got - want) / ((double)nextafterf(w, INFINITY) - (double)w);
}

/* Each variant's tanh and sigmoid on N points evenly over [-20, 20]: the largest error
 * in ulp against double libm (ACC_N points; the float build, where they are our own). */
enum { ACC_N = 4000001 };
static void print_accuracy(const bench_opts *o, const int *isa, int n_isa)
{
    if (sizeof(bp_real) != sizeof(float))
        return; /* the double build's tanh and sigmoid are libm's */
    float *x = malloc(3 * (size_t)ACC_N * sizeof *x), *t = x + ACC_N, *g = t + ACC_N;
    if (!x)
        return;
    for (int i = 0; i < ACC_N; i++)
        x[i] = (float)(i - ACC_N / 2) * (20.0f / (ACC_N / 2));
    double err[MAX_ISA][2];
    for (int v = 0; v < n_isa; v++) {
        bp_isa_select(bp_isa_name(isa[v]), NULL);
        bp_vtanh((const bp_real *)x, (bp_real *)t, ACC_N);
        bp_vsigmoid((const bp_real *)x, (bp_real *)g, ACC_N);
        err[v][0] = err[v][1] = 0;
        for (int i = 0; i < ACC_N; i++) {
            double xi = x[i];
            err[v][0] = fmax(err[v][0], ulps(t[i], tanh(xi)));
            err[v][1] = fmax(err[v][1], ulps(g[i], 1 / (1 + exp(-xi))));
        }
    }
    free(x);
    for (int f = 0; f < 2; f++) {
        const char *name = f ? "sigmoid" : "tanh";
        if (o->json)
            printf(",\n\"%s_max_ulp\": [", name);
        else
            printf("%s, largest error in ulp of double libm on %d points in [-20, 20]:", name,
                   ACC_N);
        for (int v = 0; v < n_isa; v++) {
            if (o->json)
                printf("%s%.3f", v ? ", " : "", err[v][f]);
            else
                printf("%s %s %.3f", v ? "," : "", bp_isa_name(isa[v]), err[v][f]);
        }
        printf(o->json ? "]" : "\n");
    }
}

int bench_kernels(const bench_opts *o)
{
    int H = o->H ? o->H : 128, B = o->B ? o->B : 32;
    int isa[MAX_ISA], n_isa = 0, in_use = bp_isa_current();
    for (int i = 0; i < bp_isa_count() && n_isa < MAX_ISA; i++)
        if (bp_isa_runnable(i))
            isa[n_isa++] = i; /* the baseline, always runnable, last */
    kernel k[N_KERNELS];
    int n_k = make_kernels(k);
    print_header(o, H, B, isa, n_isa);
    double ns[N_KERNELS][MAX_ISA];
    verdict w = {0};
    int rc = EXIT_OK;
    for (int i = 0; i < n_k && rc == EXIT_OK; i++) {
        bp_error err = {0};
        if (measure(&k[i], H, B, o, isa, n_isa, ns[i], &err) != BP_OK) {
            cli_error("bench", "kernels: %s", err.msg);
            rc = EXIT_RUNTIME;
            break;
        }
        print_row(k[i].name, ns[i], n_isa, o->json, i == 0);
        fflush(stdout);
        note(&w, ns[i], i, n_isa);
    }
    bp_isa_select(bp_isa_name(in_use), NULL);
    if (rc != EXIT_OK)
        return rc;
    for (int v = 0; v < n_isa; v++) /* rows 0 and 1: tanh, sigmoid */
        if (ns[1][v] / ns[0][v] > w.sig_tanh) {
            w.sig_tanh = ns[1][v] / ns[0][v];
            w.sig_isa = v;
        }
    print_verdict(&w, k, isa, ns[0], ns[1], n_isa, o->json);
    print_row_vs_blas(o, H, isa, n_isa, ns[n_k - 1]);
    print_accuracy(o, isa, n_isa);
    bp_isa_select(bp_isa_name(in_use), NULL);
    return EXIT_OK;
}
