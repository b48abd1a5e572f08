/* bench_products.c — the recurrent step products, h_{t-1} W_h forward and
 * dh_{t-1} += dz_t W_hᵀ backward, two ways, at every configuration of `bptt bench steps`:
 * as CBLAS makes them on W_h as it lies (NoTrans × NoTrans forward, NoTrans × Trans for dA:
 * the calls of the per-step floor), and as the tape makes them (graph/defer.c), the panel
 * kernel on W_h (resp. W_hᵀ) packed once per forward or walk (bp_panel_times). The shapes
 * are read from a real step's tape (bench_collect_gemms), the two ways alternate in blocks
 * of about 1 ms, and the median of each is printed, with what one packing costs. */
#include "bench_util.h"
#include "bench_blas.h"
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The step's first recurrent call of that kind ('f' h W_h, 'a' dz W_hᵀ) of at least two
 * rows (at one row the tape makes neither on a packed copy), or NULL. */
static const bench_gemm *recurrent(const bench_trainer *b, char kind)
{
    const bench_worker *w = &b->w[0];
    for (int i = 0; i < w->n_gemms; i++)
        if (w->gemms[i].kind == kind && w->gemms[i].per_step && w->gemms[i].M > 1)
            return &w->gemms[i];
    return NULL;
}

/* Seconds per call of g made by CBLAS as the floor makes it and by the panel kernel on
 * op(B) packed, medians of reps blocks; the packing's seconds in *pack. */
static void time_both(const bench_gemm *g, const bp_real *packed, bp_real *c, int reps,
                      bool cpu_clock, double *blas, double *panel, double *pack)
{
    double flop = 2.0 * g->M * g->N * g->K;
    int calls = (int)(2e7 / flop) + 1; /* about 1 ms at 20 GFLOP/s */
    double *tb = malloc(3 * (size_t)reps * sizeof *tb), *tp = tb + reps, *tk = tp + reps;
    if (!tb)
        abort();
    for (int r = -2; r < reps; r++) {
        double t0 = cpu_clock ? bench_cpu_now() : bench_now();
        for (int i = 0; i < calls; i++)
            bench_blas_gemm(CblasRowMajor, CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, g->M,
                            g->N, g->K, 1, g->A, g->lda, g->B, g->ldb, 1, c, g->N);
        double t1 = cpu_clock ? bench_cpu_now() : bench_now();
        for (int i = 0; i < calls; i++)
            bp_panel_times(g->A, g->lda, g->M, g->K, packed, g->N, c, g->N, true);
        double t2 = cpu_clock ? bench_cpu_now() : bench_now();
        bp_real *p = (bp_real *)packed;
        bp_panel_pack(g->B, g->K, g->N, g->ldb, g->tb, p);
        double t3 = cpu_clock ? bench_cpu_now() : bench_now();
        if (r >= 0) {
            tb[r] = (t1 - t0) / calls;
            tp[r] = (t2 - t1) / calls;
            tk[r] = t3 - t2;
        }
    }
    *blas = bench_median(tb, reps);
    *panel = bench_median(tp, reps);
    *pack = bench_median(tk, reps);
    free(tb);
}

/* One product of a row: its shape and both times, and the way the tape makes it. */
static bool print_product(const bench_gemm *g, const bench_opts *o)
{
    bp_real *packed = malloc(bp_panel_size(g->K, g->N) * sizeof *packed);
    bp_real *c = calloc((size_t)g->M * g->N, sizeof *c);
    if (!packed || !c) {
        free(packed);
        free(c);
        return false;
    }
    bp_panel_pack(g->B, g->K, g->N, g->ldb, g->tb, packed);
    double blas, panel, pack;
    time_both(g, packed, c, o->reps, o->cpu_clock, &blas, &panel, &pack);
    char shape[32];
    snprintf(shape, sizeof shape, "%dx%dx%d", g->M, g->K, g->N);
    bool packs = bp_tape_packs_product(g->M, g->K, g->N);
    printf(" %16s %9.3f %9.3f %6.3f %8.2f %5s", shape, 1e6 * blas, 1e6 * panel, panel / blas,
           1e6 * pack, packs ? "panel" : "BLAS");
    free(packed);
    free(c);
    return true;
}

int bench_products(const bench_opts *o)
{
    char cols[32] = "any number of";
    if (bp_panel_max_cols() < INT_MAX)
        snprintf(cols, sizeof cols, "%d", bp_panel_max_cols());
    printf("recurrent step products (h W_h forward, dz W_h^T for dA; the shapes of a real step "
           "of each bench steps row; us per call, median of %d blocks of ~1 ms, %s time): BLAS = "
           "CBLAS on W_h as it lies (the per-step floor's call: NN forward, NT dA), panel = the "
           "panel kernel (kernel variant %s) on W_h or W_h^T packed, pack = one packing (once "
           "per forward or walk); tape = what the tape makes (panel for weights of up to %d "
           "elements, BP_PACK_MAX, up to %d rows and %s columns; dA from a weight's "
           "second use in a walk)\n"
           "%-5s %5s %4s %16s %9s %9s %6s %8s %5s %16s %9s %9s %6s %8s %5s\n",
           o->reps, o->cpu_clock ? "thread CPU" : "wall", bp_isa_name(bp_isa_current()),
           (int)BP_PACK_MAX, (int)BP_PANEL_MAX_ROWS, cols, "cell", "H", "B",
           "fwd M x K x N",
           "BLAS us", "panel us", "ratio", "pack us", "tape", "dA M x K x N", "BLAS us",
           "panel us", "ratio", "pack us", "tape");
    for (size_t s = 0; s < sizeof bench_sizes / sizeof bench_sizes[0]; s++)
        for (size_t ci = 0; ci < sizeof bench_cells / sizeof bench_cells[0]; ci++) {
            bench_cfg cfg = {bench_cells[ci], bench_sizes[s][0], bench_sizes[s][1],
                             bench_sizes[s][2]};
            if ((o->cell && strcmp(o->cell, cfg.cell)) ||
                (o->H && (o->H != cfg.H || o->B != cfg.B)) || cfg.B < 2)
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
            const bench_gemm *f = recurrent(b, 'f'), *a = recurrent(b, 'a');
            if (!f || !a) {
                cli_error("bench", "%s H=%d: no recurrent product on the tape", cfg.cell, cfg.H);
                bench_trainer_free(b);
                return EXIT_RUNTIME;
            }
            printf("%-5s %5d %4d", cfg.cell, cfg.H, cfg.B);
            bool ok = print_product(f, o) && print_product(a, o);
            printf("\n");
            bench_trainer_free(b);
            if (!ok) {
                cli_error("bench", "out of memory");
                return EXIT_RUNTIME;
            }
        }
    return EXIT_OK;
}
