/* bench_steps.c — `bptt bench steps`: ms per training step of each cell and size,
 * against the BLAS floor: the same sgemm calls (read from the step's own tape) made
 * bare in the same run, on the tape's own buffers, interleaved with the steps. */
#include "bench_util.h"
#include "bench_blas.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cells[] = {"rnn", "irnn", "lstm", "gru"};
static const int sizes[][3] = {{128, 32, 100}, {512, 64, 50}, {32, 1, 1000}};

typedef struct row {
    double step, floor, flops;
    int gemms, threads;
} row;

static int measure(const bench_cfg *c, int threads, const bench_opts *o, row *r)
{
    bp_error err = {0};
    bench_trainer *b = bench_trainer_new(c, threads, &err);
    if (!b) {
        cli_error("bench", "%s H=%d: %s", c->cell, c->H, err.msg);
        return EXIT_RUNTIME;
    }
    double *ts = malloc((size_t)o->reps * sizeof *ts), *tf = malloc((size_t)o->reps * sizeof *tf);
    if (!ts || !tf) {
        cli_error("bench", "out of memory");
        return EXIT_RUNTIME;
    }
    int rc = EXIT_OK;
    for (int i = 0; i < o->warmup + o->reps && rc == EXIT_OK; i++) {
        double t0 = bench_now();
        if (bench_step(b, NULL, &err) != BP_OK) {
            cli_error("bench", "%s H=%d step %d: %s", c->cell, c->H, i, err.msg);
            rc = EXIT_RUNTIME;
            break;
        }
        double dt = bench_now() - t0;
        r->gemms = bench_collect_gemms(b, &r->flops);
        double df = bench_replay_gemms(b);
        if (o->cpu_clock) {
            dt = b->cpu_step;
            df = b->cpu_replay;
        }
        if (i >= o->warmup) {
            ts[i - o->warmup] = dt;
            tf[i - o->warmup] = df;
        }
    }
    if (rc == EXIT_OK) {
        r->step = bench_median(ts, o->reps);
        r->floor = bench_median(tf, o->reps);
        r->threads = b->threads;
    }
    free(ts);
    free(tf);
    bench_trainer_free(b);
    return rc;
}

/* The thread targets, from the rows just measured: W1 on 2 threads at most 0.6
 * of its 1-thread time; 2 threads faster than 1 at H >= 512. */
typedef struct targets {
    double w1;              /* W1's 2 / 1 threads, 0 when not measured */
    double worst_big;       /* the largest 2 / 1 threads at H >= 512, 0 when none */
    const char *worst_cell;
} targets;

static void note_targets(targets *t, const bench_cfg *c, int threads, double vs1)
{
    if (threads != 2 || vs1 <= 0)
        return;
    if (!strcmp(c->cell, "rnn") && c->H == 128 && c->B == 32 && c->T == 100)
        t->w1 = vs1;
    if (c->H >= 512 && vs1 > t->worst_big) {
        t->worst_big = vs1;
        t->worst_cell = c->cell;
    }
}

static void print_targets(const targets *t)
{
    if (t->w1 > 0)
        printf("W1 (rnn H=128 B=32 T=100): 2 threads take %.3f of the 1-thread step "
               "(target <= 0.6: %s)\n", t->w1, t->w1 <= 0.6 ? "met" : "missed");
    if (t->worst_big > 0)
        printf("H >= 512: 2 threads take at most %.3f of the 1-thread step (%s; target < 1: "
               "%s)\n", t->worst_big, t->worst_cell, t->worst_big < 1 ? "met" : "missed");
}

int bench_steps(const bench_opts *o)
{
    if (o->json)
        printf("\"steps\": [");
    else
        printf("training steps (%s; forward + backward + Adam update; median of %d steps after %d "
               "warm-up, %s time; floor = the step's own sgemm calls, bare; vs 1 = step / the "
               "1-thread step)\n"
               "%-5s %5s %4s %5s %3s %9s %8s %9s %8s %6s %6s %6s\n",
               BP_REAL_NAME, o->reps, o->warmup,
               o->cpu_clock ? "critical-path thread CPU" : "wall", "cell", "H", "B", "T", "thr",
               "step ms", "GFLOP/s", "floor ms", "GFLOP/s", "ratio", "sgemm", "vs 1");
    int n = 0;
    targets tg = {0};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        if (o->H && (o->H != sizes[s][0] || o->B != sizes[s][1] || o->T != sizes[s][2]))
            continue;
        for (size_t ci = 0; ci < sizeof cells / sizeof cells[0]; ci++) {
            if (o->cell && strcmp(o->cell, cells[ci]))
                continue;
            bench_cfg c = {cells[ci], sizes[s][0], sizes[s][1], sizes[s][2]};
            double one = 0; /* this configuration's 1-thread step, once measured */
            for (int k = 0; k < o->n_threads; k++) {
                row r = {0};
                int rc = measure(&c, o->threads[k], o, &r);
                if (rc)
                    return rc;
                if (r.threads == 1 && one == 0)
                    one = r.step;
                double vs1 = r.threads > 1 && one > 0 ? r.step / one : 0;
                note_targets(&tg, &c, r.threads, vs1);
                char vs[16] = "-";
                if (vs1 > 0)
                    snprintf(vs, sizeof vs, "%.3f", vs1);
                if (o->json)
                    printf("%s\n  {\"cell\": \"%s\", \"H\": %d, \"B\": %d, \"T\": %d, "
                           "\"threads\": %d, \"step_ms\": %.4f, \"gflops\": %.2f, "
                           "\"floor_ms\": %.4f, \"floor_gflops\": %.2f, \"ratio\": %.4f, "
                           "\"sgemm_calls\": %d, \"sgemm_flop\": %.0f, \"vs_1_thread\": %s}",
                           n ? "," : "", c.cell, c.H, c.B, c.T, r.threads, 1e3 * r.step,
                           1e-9 * r.flops / r.step, 1e3 * r.floor, 1e-9 * r.flops / r.floor,
                           r.step / r.floor, r.gemms, r.flops, vs1 > 0 ? vs : "null");
                else
                    printf("%-5s %5d %4d %5d %3d %9.3f %8.1f %9.3f %8.1f %6.3f %6d %6s\n",
                           c.cell, c.H, c.B, c.T, r.threads, 1e3 * r.step,
                           1e-9 * r.flops / r.step, 1e3 * r.floor, 1e-9 * r.flops / r.floor,
                           r.step / r.floor, r.gemms, vs);
                fflush(stdout);
                n++;
            }
        }
    }
    if (o->json)
        printf("\n]");
    else
        print_targets(&tg);
    return EXIT_OK;
}
