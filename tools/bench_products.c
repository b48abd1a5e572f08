/* bench_products.c — the backward's recurrent product dh_{t-1} += dz_t W_hᵀ, two ways,
 * at every configuration of `bptt bench steps`: as CBLAS makes it on W_h as it lies
 * (NoTrans × Trans: the call of the per-step floor) and on W_hᵀ, a transposed copy
 * (NoTrans × NoTrans: the call the tape makes, graph/defer.c, W transposed once per
 * walk). The shapes are read from a real step's tape (bench_collect_gemms), the two
 * calls alternate in blocks of about 1 ms, and the median of each is printed. */
#include "bench_util.h"
#include "bench_blas.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The step's first recurrent dA call (kind 'a', per step: dz W_hᵀ), or NULL. */
static const bench_gemm *recurrent_da(const bench_trainer *b)
{
    const bench_worker *w = &b->w[0];
    for (int i = 0; i < w->n_gemms; i++)
        if (w->gemms[i].kind == 'a' && w->gemms[i].per_step)
            return &w->gemms[i];
    return NULL;
}

/* Seconds per call of g made as it is (NT) and on bt (NN), medians of reps blocks. */
static void time_both(const bench_gemm *g, const bp_real *bt, bp_real *c, int reps,
                      bool cpu_clock, double *nt, double *nn)
{
    double flop = 2.0 * g->M * g->N * g->K;
    int calls = (int)(2e7 / flop) + 1; /* about 1 ms at 20 GFLOP/s */
    double *tt = malloc(2 * (size_t)reps * sizeof *tt), *tn = tt + reps;
    if (!tt)
        abort();
    for (int r = -2; r < reps; r++) {
        double t0 = cpu_clock ? bench_cpu_now() : bench_now();
        for (int i = 0; i < calls; i++)
            bench_blas_gemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->M, g->N, g->K, 1, g->A,
                            g->lda, g->B, g->ldb, 1, c, g->N);
        double t1 = cpu_clock ? bench_cpu_now() : bench_now();
        for (int i = 0; i < calls; i++)
            bench_blas_gemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->M, g->N, g->K, 1,
                            g->A, g->lda, bt, g->N, 1, c, g->N);
        double t2 = cpu_clock ? bench_cpu_now() : bench_now();
        if (r >= 0) {
            tt[r] = (t1 - t0) / calls;
            tn[r] = (t2 - t1) / calls;
        }
    }
    *nt = bench_median(tt, reps);
    *nn = bench_median(tn, reps);
    free(tt);
}

int bench_products(const bench_opts *o)
{
    printf("recurrent dA (dz W_h^T, the shapes of a real step of each bench steps row; us per "
           "call, median of %d blocks of ~1 ms, %s time): NT = CBLAS on W_h as it lies (the "
           "per-step floor's call), NN = on W_h^T; tape = what the tape makes from a weight's "
           "second use in a walk (NN for weights of up to %d elements, BP_PACK_MAX; at one row the row "
           "kernel on W_h^T, bench kernels)\n"
           "%-5s %5s %4s %18s %9s %9s %7s %5s\n", o->reps, o->cpu_clock ? "thread CPU" : "wall",
           (int)BP_PACK_MAX, "cell", "H", "B", "M x inner x out", "NT us", "NN us", "NN/NT",
           "tape");
    for (size_t s = 0; s < sizeof bench_sizes / sizeof bench_sizes[0]; s++)
        for (size_t ci = 0; ci < sizeof bench_cells / sizeof bench_cells[0]; ci++) {
            bench_cfg cfg = {bench_cells[ci], bench_sizes[s][0], bench_sizes[s][1],
                             bench_sizes[s][2]};
            if ((o->cell && strcmp(o->cell, cfg.cell)) ||
                (o->H && (o->H != cfg.H || o->B != cfg.B)))
                continue;
            bp_error err = {0};
            bench_trainer *b = bench_trainer_new(&cfg, 1, &err);
            double flops;
            if (!b || bench_step(b, NULL, &err) != BP_OK) {
                cli_error("bench", "%s H=%d: %s", cfg.cell, cfg.H, err.msg);
                bench_trainer_free(b);
                return EXIT_RUNTIME;
            }
            bench_collect_gemms(b, &flops);
            const bench_gemm *g = recurrent_da(b);
            /* W_h is (out, inner) = (N, K) as the call sees it; bt its transpose (K, N) */
            bp_real *bt = g ? malloc((size_t)g->K * g->N * sizeof *bt) : NULL;
            bp_real *c = g ? calloc((size_t)g->M * g->N, sizeof *c) : NULL;
            if (!g || !bt || !c) {
                cli_error("bench", "%s H=%d: %s", cfg.cell, cfg.H,
                          g ? "out of memory" : "no recurrent product on the tape");
                free(bt);
                free(c);
                bench_trainer_free(b);
                return EXIT_RUNTIME;
            }
            for (int n = 0; n < g->N; n++)
                for (int k = 0; k < g->K; k++)
                    bt[(size_t)k * g->N + n] = g->B[(size_t)n * g->ldb + k];
            double nt, nn;
            time_both(g, bt, c, o->reps, o->cpu_clock, &nt, &nn);
            char shape[32];
            snprintf(shape, sizeof shape, "%dx%dx%d", g->M, g->K, g->N);
            bool packs = (size_t)g->N * (size_t)g->K <= BP_PACK_MAX;
            printf("%-5s %5d %4d %18s %9.3f %9.3f %7.3f %5s\n", cfg.cell, cfg.H, cfg.B, shape,
                   1e6 * nt, 1e6 * nn, nn / nt, !packs ? "NT" : g->M == 1 ? "row" : "NN");
            free(bt);
            free(c);
            bench_trainer_free(b);
        }
    return EXIT_OK;
}
