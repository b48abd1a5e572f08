/* cmd_bench.c — `bptt bench`: the options, and `bptt bench tape`, the figures of the
 * autodiff core, each against a baseline measured in the same run. Training steps
 * are in bench_steps.c, memory in bench_memory.c, the data path in bench_data.c. */
#include "bench_util.h"
#include "bench_blas.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* bench_recompute.c: memory-efficient BPTT against plain, each row in a fresh process */
int bench_recompute(const bench_opts *o, const char *self);
int bench_recompute_child(int argc, char **argv);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Record a chain of n scale ops on a 1x1 leaf, then backward. */
static int chain(bp_tape *t, bp_node *x, int n)
{
    bp_node *y = x;
    for (int i = 0; i < n; i++)
        y = bp_scale(t, y, 1.0);
    bp_node *loss = bp_sum(t, y);
    bp_error err;
    return loss && bp_backward(t, loss, &err) == BP_OK ? 0 : -1;
}

static int bench_chain(void)
{
    const int n = 1000000, reps = 5;
    bp_tape *t = bp_tape_new();
    bp_node *x = bp_leaf_new(bp_shape2(1, 1), true, NULL);
    if (!t || !x)
        return EXIT_RUNTIME;
    x->value[0] = 1;
    double times[5];
    for (int r = 0; r <= reps; r++) {
        bp_tape_reset(t);
        x->grad[0] = 0;
        double t0 = now();
        if (chain(t, x, n)) {
            fprintf(stderr, "bench: chain failed\n");
            return EXIT_RUNTIME;
        }
        if (r > 0) /* the first pass warms the arena up */
            times[r - 1] = now() - t0;
    }
    double med = median(times, reps);
    printf("tape overhead    %d-node chain of 1x1 scale ops, record + backward: "
           "%.1f ns/node (target <= 100)  [median of %d]\n",
           n, 1e9 * med / n, reps);
    printf("                 gradient reached the input: %g (expected 1)\n", (double)x->grad[0]);
    bp_leaf_free(x);
    bp_tape_free(t);
    return 0;
}

static int bench_matmul(void)
{
    const int M = 32, K = 128, N = 128, iters = 2000, reps = 7;
    bp_rng rng;
    bp_rng_seed(&rng, 1);
    bp_node *a = bp_leaf_new(bp_shape2(M, K), true, NULL);
    bp_node *b = bp_leaf_new(bp_shape2(K, N), true, NULL);
    bp_real *dc = malloc(sizeof(bp_real) * M * N), *c = malloc(sizeof(bp_real) * M * N);
    bp_tape *t = bp_tape_new();
    if (!a || !b || !dc || !c || !t)
        return EXIT_RUNTIME;
    bp_fill_uniform(a->value, a->size, -1, 1, &rng);
    bp_fill_uniform(b->value, b->size, -1, 1, &rng);
    bp_fill_uniform(dc, (size_t)M * N, -1, 1, &rng);
    double op_t[7], blas_t[7];
    bp_error err;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < iters; i++) {
            bp_tape_reset(t);
            bp_node *y = bp_matmul(t, a, b);
            if (!y || bp_backward_seed(t, y, dc, &err) != BP_OK)
                return EXIT_RUNTIME;
        }
        op_t[r] = (now() - t0) / iters;
        t0 = now();
        for (int i = 0; i < iters; i++) { /* the same three products, bare */
            bench_blas_gemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a->value, K, b->value,
                    N, 0, c, N);
            bench_blas_gemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1, dc, N, b->value, N, 1,
                    a->grad, K);
            bench_blas_gemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1, a->value, K, dc, N, 1,
                    b->grad, N);
        }
        blas_t[r] = (now() - t0) / iters;
    }
    double mo = median(op_t, reps), mb = median(blas_t, reps);
    printf("matmul op        %dx%dx%d forward + backward: %.2f us; bare gemm x3: %.2f us; "
           "ratio %.3f (target <= 1.10)\n",
           M, K, N, 1e6 * mo, 1e6 * mb, mo / mb);
    bp_leaf_free(a);
    bp_leaf_free(b);
    free(dc);
    free(c);
    bp_tape_free(t);
    return 0;
}

/* A small fixed graph: a 2-layer tanh net with an mse loss. */
static int cycle(bp_tape *t, bp_node *x, bp_node *w1, bp_node *w2, bp_node *target)
{
    bp_tape_reset(t);
    bp_node *h = bp_tanh(t, bp_matmul(t, x, w1));
    bp_node *loss = bp_mse(t, bp_matmul(t, h, w2), target);
    bp_error err;
    return loss && bp_backward(t, loss, &err) == BP_OK ? 0 : -1;
}

static int bench_memory_cycles(void)
{
    const int cycles = 10000;
    bp_tape *t = bp_tape_new();
    bp_node *x = bp_leaf_new(bp_shape2(16, 64), false, NULL);
    bp_node *w1 = bp_leaf_new(bp_shape2(64, 64), true, NULL);
    bp_node *w2 = bp_leaf_new(bp_shape2(64, 8), true, NULL);
    bp_node *target = bp_leaf_new(bp_shape2(16, 8), false, NULL);
    if (!t || !x || !w1 || !w2 || !target || cycle(t, x, w1, w2, target))
        return EXIT_RUNTIME;
    long before = rss_kib();
    size_t arena_before = bp_tape_arena_bytes(t);
    for (int i = 1; i < cycles; i++)
        if (cycle(t, x, w1, w2, target))
            return EXIT_RUNTIME;
    long after = rss_kib();
    printf("memory           %d record/backward/reset cycles: resident %ld KiB after the first, "
           "%ld KiB after the last (%+ld KiB); arena %zu -> %zu bytes\n",
           cycles, before, after, after - before, arena_before, bp_tape_arena_bytes(t));
    bp_leaf_free(x);
    bp_leaf_free(w1);
    bp_leaf_free(w2);
    bp_leaf_free(target);
    bp_tape_free(t);
    return 0;
}

/* The 1-minute load average before we start: other work makes wall times noisy. */
double bench_load_average(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

const char cli_bench_usage[] =
    "bptt bench [steps|memory|tcurve|recompute|data|kernels|blas|mpi|tape|all] [--threads 1|2] [--json]\n"
    "           [--reps N] [--warmup N] [--cell rnn|irnn|lstm|gru] [--size HxBxT] [--cpu-clock]\n"
    "           [--max-T N] [--no-defer] [--keep-denormals] [--runs N]\n"
    "  steps   ms per training step of each cell and size against the BLAS floor\n"
    "  memory  peak resident size of a training step at T = 1000 (a fresh process each)\n"
    "  tcurve  ms per step against T = 10, 100, ... --max-T (10000): is the cost linear?\n"
    "  recompute  peak memory and time of plain BPTT against recomputation (k = sqrt(T),\n"
    "          then k = 10, 32, ... 3162) at T = 10000 (--size), rnn and lstm (--cell)\n"
    "  data    MB/s of loading a 100 MB safetensors set and parsing a 100 MB CSV set (in a\n"
    "          temporary folder, removed after), and W1's step (--cell, --size) with\n"
    "          batches from the file against the generator's, on 1 thread\n"
    "  kernels ns per element of the vectorised kernels (tanh, sigmoid, each fused cell op's\n"
    "          forward and backward) in every kernel variant this CPU runs, against the\n"
    "          baseline variant (--size sets H and B; BPTT_ISA picks the variant of the rest),\n"
    "          and tanh's and sigmoid's largest error in ulp of double libm, per variant\n"
    "  blas    a training step of W1 and W2 with OpenBLAS on 1 thread (bptt's default)\n"
    "          against OpenBLAS's own default, a thread per CPU (--reps, --warmup)\n"
    "  mpi     a training step of W2 and W1 on 1 process and on 2 MPI ranks (mpirun -np 2\n"
    "          as a child), the gradient exchange apart (--reps N, --rounds N; docs/mpi.md)\n"
    "  tape    the autodiff core's overheads\n"
    "  (none)  steps, then memory; all: tape, steps, memory, tcurve, recompute, data, kernels\n"
    "  --cpu-clock  time by thread CPU clocks, not the wall clock: the calling thread's\n"
    "               serial part plus the longest worker's share (the wall time on idle\n"
    "               cores), which other processes on a busy machine do not inflate\n"
    "  --no-defer   steps: every weight gradient made per step (bp_tape_set_defer false),\n"
    "               not deferred and summed in one product (small batches)\n"
    "  --runs N     steps: the whole table N times over, then each of issue 16's targets\n"
    "               over the runs: its smallest and largest ratio, met in how many";

/* *out = v when v is a count in [lo, hi]; else the error, and EXIT_USAGE. */
static int parse_count(const char *opt, const char *v, int lo, int hi, int *out)
{
    int k = atoi(v);
    if (k < lo || k > hi) {
        cli_error("bench", "%s must be a count in [%d, %d], not '%s'", opt, lo, hi, v);
        return EXIT_USAGE;
    }
    *out = k;
    return EXIT_OK;
}

static int parse_opts(int argc, char **argv, int i, bench_opts *o)
{
    *o = (bench_opts){.threads = {1, 2}, .n_threads = 2, .reps = 11, .warmup = 2, .runs = 1,
                      .max_T = 10000};
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        }
        if (!strcmp(a, "--cpu-clock")) {
            o->cpu_clock = true;
            continue;
        }
        if (!strcmp(a, "--no-defer")) {
            o->no_defer = true;
            continue;
        }
        if (!strcmp(a, "--keep-denormals")) {
            o->keep_denormals = true;
            continue;
        }
        if (!v) {
            cli_error("bench", "'%s' needs a value or is unknown\nusage: %s", a, cli_bench_usage);
            return EXIT_USAGE;
        }
        i++;
        if (!strcmp(a, "--threads")) {
            int k = atoi(v);
            if (k < 1 || k > BENCH_MAX_THREADS) {
                cli_error("bench", "--threads must be 1 or 2, not '%s'", v);
                return EXIT_USAGE;
            }
            o->threads[0] = k;
            o->n_threads = 1;
        } else if (!strcmp(a, "--reps") || !strcmp(a, "--warmup") || !strcmp(a, "--runs")) {
            bool reps = !strcmp(a, "--reps"), runs = !strcmp(a, "--runs");
            int rc = parse_count(a, v, reps || runs, runs ? 100 : 10000,
                                 reps ? &o->reps : runs ? &o->runs : &o->warmup);
            if (rc)
                return rc;
        } else if (!strcmp(a, "--max-T")) {
            o->max_T = atol(v);
            if (o->max_T < 10 || o->max_T > 10000000) {
                cli_error("bench", "--max-T must be in [10, 10000000], not '%s'", v);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--cell")) {
            size_t k = 0, n_cells = sizeof bench_cells / sizeof bench_cells[0];
            while (k < n_cells && strcmp(v, bench_cells[k]))
                k++;
            if (k == n_cells) {
                cli_error("bench", "unknown cell '%s'; known: rnn, irnn, lstm, gru", v);
                return EXIT_USAGE;
            }
            o->cell = v;
        } else if (!strcmp(a, "--size")) {
            char tail;
            if (sscanf(v, "%dx%dx%d%c", &o->H, &o->B, &o->T, &tail) != 3 || o->H < 1 ||
                o->B < 1 || o->T < 1 || o->H > 4096 || o->B > 4096 || o->T > 1000000) {
                cli_error("bench", "--size wants HxBxT such as 128x32x100, not '%s'", v);
                return EXIT_USAGE;
            }
        } else {
            cli_error("bench", "unknown option '%s'\nusage: %s", a, cli_bench_usage);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

/* The benchmarks by name (mpi, with its own options, apart): which `all` runs, and which
 * the bare `bptt bench` runs. blas changes OpenBLAS's threads, so it runs alone. */
static const struct {
    const char *name;
    bool in_all, by_default;
} benches[] = {{"steps", true, true},    {"memory", true, true},     {"tcurve", true, false},
               {"recompute", true, false}, {"data", true, false},    {"kernels", true, false},
               {"blas", false, false},   {"tape", true, false}};

static bool bench_known(const char *what)
{
    for (size_t i = 0; i < sizeof benches / sizeof *benches; i++)
        if (!strcmp(what, benches[i].name))
            return true;
    return !*what || !strcmp(what, "all");
}

/* Does `bptt bench WHAT` run the benchmark called name? */
static bool picked(const char *what, const char *name)
{
    for (size_t i = 0; i < sizeof benches / sizeof *benches; i++)
        if (!strcmp(name, benches[i].name))
            return !strcmp(what, name) || (!*what && benches[i].by_default) ||
                   (!strcmp(what, "all") && benches[i].in_all);
    return false;
}

int cmd_bench(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "memory-child")) /* bench_memory's fresh process */
        return bench_memory_child(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "recompute-child")) /* bench_recompute's */
        return bench_recompute_child(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "mpi")) /* bench_mpi.c: its own options */
        return bench_mpi(argc - 1, argv + 1);
    const char *what = argc > 1 && argv[1][0] != '-' ? argv[1] : "";
    if (!bench_known(what)) {
        char names[160] = "";
        for (size_t i = 0; i < sizeof benches / sizeof *benches; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s, ", benches[i].name);
        cli_error("bench", "unknown benchmark '%s'; known: %smpi, all", what, names);
        return EXIT_USAGE;
    }
    bench_opts o;
    int rc = parse_opts(argc, argv, *what ? 2 : 1, &o);
    if (rc)
        return rc;
    /* every sgemm on the calling thread: threads are the bench's own (batch split) */
    openblas_set_num_threads(1);
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = '\0';
    bool tape = picked(what, "tape"), steps = picked(what, "steps");
    bool memory = picked(what, "memory"), tcurve = picked(what, "tcurve");
    bool recompute = picked(what, "recompute"), data = picked(what, "data");
    bool kernels = picked(what, "kernels"), blas = picked(what, "blas");
    if (tape && o.json) {
        cli_error("bench", "tape has no --json output");
        return EXIT_USAGE;
    }
    double load = bench_load_average();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (o.json)
        printf("{\"precision\": \"%s\", \"blas\": \"%s\", \"blas_core\": \"%s\", \"reps\": %d, "
               "\"warmup\": %d, \"runs\": %d, \"clock\": \"%s\", \"load_average\": %.2f, "
               "\"cpus\": %ld, \"kernel_variant\": \"%s\", \"flush_denormals\": %s,\n",
               BP_REAL_NAME, openblas_get_config(), openblas_get_corename(), o.reps, o.warmup, o.runs,
               o.cpu_clock ? "critical_path_thread_cpu" : "wall", load, cpus,
               bp_isa_name(bp_isa_current()), o.keep_denormals ? "false" : "true");
    else if (!tape)
        printf("bptt bench (%s; kernel variant %s; %s; core %s; load average %.2f on %ld "
               "CPUs%s)\n", BP_REAL_NAME, bp_isa_name(bp_isa_current()),
               openblas_get_config(), openblas_get_corename(), load, cpus,
               load > 0.5 ? ": other work is running, wall times will be noisy (see --cpu-clock)"
                          : "");
    if (tape) {
        printf("bptt bench tape (%s, 1 BLAS thread)\n", BP_REAL_NAME);
        rc = bench_chain();
        if (!rc) rc = bench_matmul();
        if (!rc) rc = bench_products(&o);
        if (!rc) rc = bench_memory_cycles();
    }
    if (!rc && steps) {
        rc = bench_steps(&o);
        if (o.json && memory)
            printf(",\n");
    }
    if (!rc && memory) {
        if (!o.json && steps)
            printf("\n");
        rc = bench_memory(&o, self);
        if (o.json && tcurve)
            printf(",\n");
    }
    if (!rc && tcurve) {
        if (!o.json && (steps || memory))
            printf("\n");
        rc = bench_tcurve(&o);
        if (o.json && recompute)
            printf(",\n");
    }
    if (!rc && recompute) {
        if (!o.json && (steps || memory || tcurve))
            printf("\n");
        rc = bench_recompute(&o, self);
        if (o.json && data)
            printf(",\n");
    }
    if (!rc && data) {
        if (!o.json && (steps || memory || tcurve || recompute))
            printf("\n");
        rc = bench_data(&o);
        if (o.json && kernels)
            printf(",\n");
    }
    if (!rc && kernels) {
        if (!o.json && (steps || memory || tcurve || recompute || data))
            printf("\n");
        rc = bench_kernels(&o);
    }
    if (!rc && blas) /* alone: it changes OpenBLAS's threads, which the rest keep at 1 */
        rc = bench_blas_threads(&o);
    if (o.json)
        printf("\n}\n");
    return rc;
}
