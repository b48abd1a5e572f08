/* bench_blas_threads.c — `bptt bench blas`: a training step with OpenBLAS on one thread
 * (what the command line sets) against OpenBLAS's own default (a thread per CPU, what a
 * program gets that leaves it alone), for W1 (tanh RNN, H = 128, B = 32, T = 100) and W2
 * (H = 512, B = 64, T = 50), the two measured alternately so that load on the machine
 * falls on both. One training thread (train.threads = 1). */
#include "bench_util.h"
#include "cli.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const bench_cfg configs[] = {{"rnn", 128, 32, 100}, {"rnn", 512, 64, 50}};

/* Median wall seconds of a step with BLAS on each thread count of threads[2], the steps
 * interleaved: rep i runs one step at threads[0], then one at threads[1]. */
static int time_both(const bench_cfg *c, const bench_opts *o, const int threads[2],
                     double med[2])
{
    bp_error err;
    bench_trainer *b = bench_trainer_new(c, 1, &err);
    double *t = malloc(2 * (size_t)o->reps * sizeof *t);
    if (!b || !t) {
        cli_error("bench", "%s", b ? "out of memory" : err.msg);
        bench_trainer_free(b);
        free(t);
        return EXIT_RUNTIME;
    }
    int rc = EXIT_OK;
    for (int i = 0; i < o->warmup + o->reps && rc == EXIT_OK; i++)
        for (int k = 0; k < 2 && rc == EXIT_OK; k++) {
            openblas_set_num_threads(threads[k]);
            double t0 = bench_now();
            if (bench_step(b, NULL, &err) != BP_OK) {
                cli_error("bench", "%s", err.msg);
                rc = EXIT_RUNTIME;
            }
            if (i >= o->warmup)
                t[k * o->reps + i - o->warmup] = bench_now() - t0;
        }
    for (int k = 0; k < 2 && rc == EXIT_OK; k++)
        med[k] = bench_median(t + k * o->reps, o->reps);
    openblas_set_num_threads(1);
    free(t);
    bench_trainer_free(b);
    return rc;
}

int bench_blas_threads(const bench_opts *o)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads[2] = {1, cpus > 1 ? (int)cpus : 1};
    if (!o->json)
        printf("BLAS threads: a training step (1 training thread), OpenBLAS on 1 thread "
               "(bptt's default) and on %d (OpenBLAS's own default), median of %d\n"
               "%-22s %12s %12s %10s\n", threads[1], o->reps, "config", "1 BLAS ms",
               "default ms", "default/1");
    else
        printf("\"blas_threads\": {\"default_threads\": %d, \"rows\": [", threads[1]);
    for (size_t i = 0; i < sizeof configs / sizeof *configs; i++) {
        const bench_cfg *c = &configs[i];
        double med[2];
        int rc = time_both(c, o, threads, med);
        if (rc)
            return rc;
        if (o->json)
            printf("%s{\"cell\": \"%s\", \"H\": %d, \"B\": %d, \"T\": %d, \"one_ms\": %.4f, "
                   "\"default_ms\": %.4f}", i ? ", " : "", c->cell, c->H, c->B, c->T,
                   1e3 * med[0], 1e3 * med[1]);
        else
            printf("%-4s H%-4d B%-3d T%-6d %12.3f %12.3f %9.2fx\n", c->cell, c->H, c->B, c->T,
                   1e3 * med[0], 1e3 * med[1], med[1] / med[0]);
    }
    if (o->json)
        printf("]}");
    return EXIT_OK;
}
