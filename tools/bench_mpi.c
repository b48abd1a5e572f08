/* bench_mpi.c — `bptt bench mpi`: a training step of W2 (rnn H = 512, B = 64, T = 50)
 * and W1 (rnn H = 128, B = 32, T = 100) on 1 process and on 2 MPI ranks (each rank one
 * thread, half the batch), the ranks' gradient exchange timed apart (docs/mpi.md).
 *
 * Run alone, it measures the 1-process step itself and the 2-rank one through
 * `mpirun -np 2 bptt bench mpi --ranks` (a child), in alternating rounds so that load on
 * a shared machine falls on both; the figures are medians of the rounds' medians, with
 * their range. Under mpirun (--ranks) rank 0 prints one line per config for the parent.
 *
 * A third side is the co-run floor: `mpirun -np 2 bptt bench mpi --ranks --alone`, each
 * rank training its half of the batch as a lone process (no exchange), both at once —
 * what two processes sharing the machine's caches and memory take before any message:
 * the ranks' step over it is what MPI itself costs. */
#include "bench_util.h"
#include "cli.h"
#include "dist_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const bench_cfg configs[] = {{"rnn", 512, 64, 50}, {"rnn", 128, 32, 100}};
enum { N_CONFIGS = 2, MAX_ROUNDS = 15 };

typedef struct mpi_opts {
    int reps, warmup, rounds;
    bool ranks; /* the child's side, under mpirun */
    bool alone; /* ...each rank a lone process of half the batch (the co-run floor) */
} mpi_opts;

enum { M_STEP, M_EXCHANGE, M_WAIT, M_CRIT, N_M };

/* The critical path of a step on this process's ranks: the slowest rank's CPU seconds
 * outside the exchange, then the exchange (what the step takes on idle cores). */
static double critical_path(double cpu, const bp_dist_times *x)
{
    return cli_dist ? cli_dist_max(cpu - x->cpu) + x->exchange : cpu;
}

/* Median seconds of reps steps of c on this process's ranks (one thread each), m[M_*]:
 * the step's wall time, the exchange in it, the wait before the exchange, its critical
 * path. */
static int time_steps(const bench_cfg *c, const mpi_opts *o, double m[N_M])
{
    bp_error err;
    bench_cfg half = *c;
    if (o->alone && cli_dist) { /* this rank's rows of the batch, trained alone */
        long r0, r1;
        bp_batch_share(c->B, bp_dist_rank(cli_dist), bp_dist_size(cli_dist), &r0, &r1);
        half.B = (int)(r1 - r0);
    }
    bench_trainer *b = bench_trainer_new(&half, 1, &err);
    double *t = calloc(N_M * (size_t)o->reps, sizeof *t);
    int rc = b && t ? EXIT_OK : EXIT_RUNTIME;
    if (rc == EXIT_OK && cli_dist && !o->alone &&
        bp_trainer_set_dist(b->tr, cli_dist, 0, &err) != BP_OK)
        rc = EXIT_RUNTIME;
    for (int i = 0; rc == EXIT_OK && i < o->warmup + o->reps; i++) {
        double t0 = bench_now(), c0 = bench_cpu_now();
        if (bench_step(b, NULL, &err) != BP_OK)
            rc = EXIT_RUNTIME;
        double dt = bench_now() - t0, cpu = bench_cpu_now() - c0;
        bp_dist_times x = cli_dist && !o->alone ? bp_dist_take_times(cli_dist)
                                                : (bp_dist_times){0};
        double crit = o->alone ? cpu : critical_path(cpu, &x); /* lone: not in step */
        int k = i - o->warmup;
        if (k >= 0) {
            t[M_STEP * o->reps + k] = dt;
            t[M_EXCHANGE * o->reps + k] = x.exchange;
            t[M_WAIT * o->reps + k] = x.wait;
            t[M_CRIT * o->reps + k] = crit;
        }
    }
    if (rc == EXIT_OK) {
        for (int k = 0; k < N_M; k++) /* lone processes: the slower one's median */
            m[k] = o->alone ? cli_dist_max(bench_median(t + k * o->reps, o->reps))
                            : bench_median(t + k * o->reps, o->reps);
    } else {
        cli_error("bench", "%s", b ? err.msg : "out of memory");
    }
    free(t);
    bench_trainer_free(b);
    return rc;
}

/* One round on 2 ranks: the child under mpirun, its lines "<config> <m[0]> ... <m[3]>"
 * (seconds) into m[config]. */
static int round_on_ranks(const mpi_opts *o, const char *self, bool alone, double m[][N_M])
{
#ifdef BPTT_MPIEXEC
    char reps[16], out[1024];
    snprintf(reps, sizeof reps, "%d", o->reps);
    char *argv[20] = {BPTT_MPIEXEC};
    int n = 1;
    if (geteuid() == 0)
        argv[n++] = "--allow-run-as-root";
    char *rest[] = {"--oversubscribe", "--bind-to", "none", "-np", "2", (char *)self, "bench",
                    "mpi", "--ranks", "--reps", reps, alone ? "--alone" : NULL, NULL};
    memcpy(argv + n, rest, sizeof rest);
    if (bench_run_child(BPTT_MPIEXEC, argv, out, sizeof out) != EXIT_OK)
        return EXIT_RUNTIME;
    const char *p = out;
    for (int i = 0; i < N_CONFIGS; i++) {
        int k, used;
        if (sscanf(p, "%d %lf %lf %lf %lf\n%n", &k, &m[i][0], &m[i][1], &m[i][2], &m[i][3],
                   &used) != 5 || k != i) {
            cli_error("bench", "mpi: unexpected output of the 2-rank run: %s", out);
            return EXIT_RUNTIME;
        }
        p += used;
    }
    return EXIT_OK;
#else
    (void)o, (void)self, (void)alone, (void)m;
    cli_error("bench", "mpi: this bptt was built without MPI (docs/mpi.md)");
    return EXIT_USAGE;
#endif
}

/* "median (lowest-highest)" of n values, in ms. */
static void spread(char *s, size_t size, double *v, int n)
{
    double lo = v[0], hi = v[0];
    for (int i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    snprintf(s, size, "%.2f (%.2f-%.2f)", 1e3 * bench_median(v, n), 1e3 * lo, 1e3 * hi);
}

/* The rounds' medians: res[side][config][metric][round], side 0 one process, 1 two ranks,
 * 2 two lone processes of half the batch side by side. */
enum { N_SIDES = 3 };
typedef double results[N_SIDES][N_CONFIGS][N_M][MAX_ROUNDS];

/* The table: per config, the step on 1 process and on 2 ranks by the wall clock and by
 * the critical path (medians of the rounds and their range), the exchange and the wait
 * before it, the ratios; the W2 target. */
static void report(const mpi_opts *o, results res, double load0)
{
    printf("%-24s %-7s %20s %20s %6s %9s %9s %20s %6s %8s\n", "config", "clock",
           "1 process ms", "2 ranks ms", "2r/1p", "exchange", "wait", "2 alone ms", "2a/1p",
           "2r/2a");
    double w2 = 0, w2_alone = 0;
    for (int i = 0; i < N_CONFIGS; i++)
        for (int k = 0; k < 2; k++) {
            const bench_cfg *c = &configs[i];
            int metric = k ? M_CRIT : M_STEP;
            char a[40], b[40], al[40];
            spread(a, sizeof a, res[0][i][metric], o->rounds);
            spread(b, sizeof b, res[1][i][metric], o->rounds);
            spread(al, sizeof al, res[2][i][metric], o->rounds);
            double one = bench_median(res[0][i][metric], o->rounds),
                   two = bench_median(res[1][i][metric], o->rounds),
                   lone = bench_median(res[2][i][metric], o->rounds);
            printf("%s %-4s H%-4d B%-3d T%-4d %-7s %20s %20s %5.2fx %6.3f ms %6.3f ms %20s "
                   "%5.2fx %7.2fx\n", i ? "W1" : "W2", c->cell, c->H, c->B, c->T,
                   k ? "cpu" : "wall", a, b, two / one,
                   1e3 * bench_median(res[1][i][M_EXCHANGE], o->rounds),
                   1e3 * bench_median(res[1][i][M_WAIT], o->rounds), al, lone / one,
                   two / lone);
            w2 = i == 0 && k == 1 ? two / one : w2;
            w2_alone = i == 0 && k == 1 ? lone / one : w2_alone;
        }
    printf("W2 on 2 ranks takes %.2f of the 1-process step by the critical path (target <= "
           "0.60: %s); two lone processes of half its batch, side by side, take %.2f of it "
           "before any exchange (the co-run floor); load average %.2f before, %.2f after on "
           "%ld CPUs\n", w2, w2 <= 0.6 ? "met" : "not met", w2_alone, load0,
           bench_load_average(), sysconf(_SC_NPROCESSORS_ONLN));
}

static int parse(int argc, char **argv, mpi_opts *o)
{
    *o = (mpi_opts){.reps = 20, .warmup = 3, .rounds = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int *v = !strcmp(a, "--reps") ? &o->reps : !strcmp(a, "--rounds") ? &o->rounds : NULL;
        if (!strcmp(a, "--ranks")) {
            o->ranks = true;
        } else if (!strcmp(a, "--alone")) {
            o->alone = true;
        } else if (v && i + 1 < argc && atoi(argv[i + 1]) > 0) {
            *v = atoi(argv[++i]);
        } else {
            cli_error("bench", "mpi: unknown or incomplete option '%s' (known: --reps N, "
                      "--rounds N)", a);
            return EXIT_USAGE;
        }
    }
    o->rounds = o->rounds > MAX_ROUNDS ? MAX_ROUNDS : o->rounds;
    return EXIT_OK;
}

/* Alternating rounds: every config on 1 process, on 2 ranks, then on 2 lone processes. */
static int rounds(const mpi_opts *o, const char *self, results res)
{
    double m[N_CONFIGS][N_M];
    for (int r = 0; r < o->rounds; r++)
        for (int side = 0; side < N_SIDES; side++) {
            for (int i = 0; i < N_CONFIGS && !side; i++)
                if (time_steps(&configs[i], o, m[i]))
                    return EXIT_RUNTIME;
            if (side && round_on_ranks(o, self, side == 2, m))
                return EXIT_RUNTIME;
            for (int i = 0; i < N_CONFIGS; i++)
                for (int k = 0; k < N_M; k++)
                    res[side][i][k][r] = m[i][k];
        }
    return EXIT_OK;
}

int bench_mpi(int argc, char **argv)
{
    mpi_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    if (o.ranks) { /* under mpirun: this round's medians, rank 0 printing */
        for (int i = 0; i < N_CONFIGS && !rc; i++) {
            double m[N_M];
            if (!(rc = time_steps(&configs[i], &o, m)))
                printf("%d %.9f %.9f %.9f %.9f\n", i, m[0], m[1], m[2], m[3]);
        }
        return rc;
    }
    char self[4096], cpu[256];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = '\0';
    const char *isa;
    bench_cpu(cpu, sizeof cpu, &isa);
    double load0 = bench_load_average();
    printf("bptt bench mpi (%s; %s; kernels %s): a training step on 1 process, on 2 MPI "
           "ranks of 1 thread each, and on 2 lone processes of half the batch side by side "
           "(2 alone: the co-run floor, no exchange), %d alternating rounds of %d steps; "
           "wall: the step's time; cpu: its critical path, the slowest rank's CPU time "
           "outside the exchange plus the exchange\n", BP_REAL_NAME, cpu, isa, o.rounds,
           o.reps);
    fflush(stdout);
    static results res;
    if ((rc = rounds(&o, self, res)) == EXIT_OK)
        report(&o, res, load0);
    return rc;
}
