/* bench_steps.c — `bptt bench steps`: ms per training step of each cell and size,
 * against two BLAS floors: the per-step floor, the same sgemm calls (read from the
 * step's own tape) made bare on the tape's own buffers, and the sequential floor, where
 * only the recurrent products stay per step and every other weight's products are one
 * call each over all rows (bench_seq.c); both interleaved with the steps. */
#include "bench_util.h"
#include "bench_blas.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct row {
    double step, off, floor, seq, flops; /* off: the step with per-step weight gradients */
    int gemms, seq_gemms, threads;
} row;

/* One training step with deferred weight gradients on or off; its time in *dt (wall or
 * the critical path's CPU time). */
static bp_status timed_step(bench_trainer *b, bool defer, bool cpu_clock, double *dt,
                            bp_error *err)
{
    bench_set_defer(b, defer); /* worker tapes exist after the first step */
    double t0 = bench_now();
    bp_status st = bench_step(b, NULL, err);
    *dt = cpu_clock ? b->cpu_step : bench_now() - t0;
    return st;
}

/* Per repetition: the step (deferred unless --no-defer) and the step with per-step weight
 * gradients (unless --no-defer), in turn first, then the per-step floor and the
 * sequential floor; medians. */
static int measure(const bench_cfg *c, int threads, const bench_opts *o, row *r)
{
    bp_error err = {0};
    bench_trainer *b = bench_trainer_new(c, threads, &err);
    if (!b) {
        cli_error("bench", "%s H=%d: %s", c->cell, c->H, err.msg);
        return EXIT_RUNTIME;
    }
    int n = o->reps;
    double *ts = malloc(4 * (size_t)n * sizeof *ts), *to = ts + n, *tf = to + n, *tq = tf + n;
    if (!ts) {
        bench_trainer_free(b);
        cli_error("bench", "out of memory");
        return EXIT_RUNTIME;
    }
    int rc = EXIT_OK;
    for (int i = 0; i < o->warmup + n && rc == EXIT_OK; i++) {
        double dt, doff = 0;
        /* the two steps take turns going first (the first follows the floors' replay) */
        bool both = !o->no_defer, late = both && i % 2;
        if ((late && timed_step(b, false, o->cpu_clock, &doff, &err) != BP_OK) ||
            timed_step(b, !o->no_defer, o->cpu_clock, &dt, &err) != BP_OK ||
            (both && !late && timed_step(b, false, o->cpu_clock, &doff, &err) != BP_OK)) {
            cli_error("bench", "%s H=%d step %d: %s", c->cell, c->H, i, err.msg);
            rc = EXIT_RUNTIME;
            break;
        }
        r->gemms = bench_collect_gemms(b, &r->flops);
        r->seq_gemms = bench_seq_build(b);
        double df = bench_replay_gemms(b), cf = b->cpu_replay;
        double dq = bench_replay_seq(b), cq = b->cpu_replay;
        if (i >= o->warmup) {
            int k = i - o->warmup;
            ts[k] = dt;
            to[k] = doff;
            tf[k] = o->cpu_clock ? cf : df;
            tq[k] = o->cpu_clock ? cq : dq;
        }
    }
    if (rc == EXIT_OK) {
        r->step = bench_median(ts, n);
        r->off = bench_median(to, n);
        r->floor = bench_median(tf, n);
        r->seq = bench_median(tq, n);
        r->threads = b->threads;
    }
    free(ts);
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

/* One row of the table (or one JSON object): off, the step with per-step weight
 * gradients, and its ratio are "-" (null) under --no-defer. */
static void print_row(const bench_cfg *c, const row *r, double vs1, bool json, bool first)
{
    char vs[16] = "-", off[16] = "-", gain[16] = "-";
    if (vs1 > 0)
        snprintf(vs, sizeof vs, "%.3f", vs1);
    if (r->off > 0) {
        snprintf(off, sizeof off, "%.3f", 1e3 * r->off);
        snprintf(gain, sizeof gain, "%.3f", r->step / r->off);
    }
    double f = 1e-9 * r->flops;
    if (json)
        printf("%s\n  {\"cell\": \"%s\", \"H\": %d, \"B\": %d, \"T\": %d, \"threads\": %d, "
               "\"step_ms\": %.4f, \"gflops\": %.2f, \"floor_ms\": %.4f, \"floor_gflops\": %.2f, "
               "\"ratio\": %.4f, \"seq_floor_ms\": %.4f, \"seq_ratio\": %.4f, "
               "\"per_step_grads_ms\": %s, \"deferred_vs_per_step\": %s, \"sgemm_calls\": %d, "
               "\"seq_sgemm_calls\": %d, \"sgemm_flop\": %.0f, \"vs_1_thread\": %s}",
               first ? "" : ",", c->cell, c->H, c->B, c->T, r->threads, 1e3 * r->step,
               f / r->step, 1e3 * r->floor, f / r->floor, r->step / r->floor, 1e3 * r->seq,
               r->step / r->seq, r->off > 0 ? off : "null", r->off > 0 ? gain : "null",
               r->gemms, r->seq_gemms, r->flops, vs1 > 0 ? vs : "null");
    else
        printf("%-5s %5d %4d %5d %3d %9.3f %8.1f %9.3f %8.1f %6.3f %8.3f %6.3f %9s %6s %6d %5d "
               "%6s\n", c->cell, c->H, c->B, c->T, r->threads, 1e3 * r->step, f / r->step,
               1e3 * r->floor, f / r->floor, r->step / r->floor, 1e3 * r->seq, r->step / r->seq,
               off, gain, r->gemms, r->seq_gemms, vs);
}

int bench_steps(const bench_opts *o)
{
    if (o->json)
        printf("\"steps\": [");
    else
        printf("training steps (%s; forward + backward + Adam update; median of %d steps after %d "
               "warm-up, %s time; floor = the per-step floor, the step's own sgemm calls, "
               "bare; seq = the sequential floor: only h W_h forward and dz W_h^T backward "
               "per step, every other product and weight gradient one call over all rows; "
               "nodef = the same step with every weight gradient per step, d/nod = step / "
               "nodef; vs 1 = step / the 1-thread step; the step's weight gradients %s)\n"
               "%-5s %5s %4s %5s %3s %9s %8s %9s %8s %6s %8s %6s %9s %6s %6s %5s %6s\n",
               BP_REAL_NAME, o->reps, o->warmup,
               o->cpu_clock ? "critical-path thread CPU" : "wall",
               o->no_defer ? "per step (--no-defer)" : "deferred below 16 rows (bp_tape_set_defer)",
               "cell", "H", "B", "T", "thr",
               "step ms", "GFLOP/s", "floor ms", "GFLOP/s", "ratio", "seq ms", "ratio",
               "nodef ms", "d/nod", "sgemm", "seq", "vs 1");
    int n = 0;
    targets tg = {0};
    /* the listed sizes (or the one --size names), then --size's own when not listed */
    size_t n_sizes = sizeof bench_sizes / sizeof bench_sizes[0];
    const int want[3] = {o->H, o->B, o->T};
    bool listed = false;
    for (size_t k = 0; k < n_sizes; k++)
        listed |= !memcmp(want, bench_sizes[k], sizeof want);
    for (size_t s = 0; s <= n_sizes; s++) {
        int size[3];
        memcpy(size, s < n_sizes ? bench_sizes[s] : want, sizeof size);
        bool run = s < n_sizes ? !o->H || !memcmp(size, want, sizeof size) : o->H && !listed;
        if (!run)
            continue;
        for (size_t ci = 0; ci < sizeof bench_cells / sizeof bench_cells[0]; ci++) {
            if (o->cell && strcmp(o->cell, bench_cells[ci]))
                continue;
            bench_cfg c = {bench_cells[ci], size[0], size[1], size[2]};
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
                print_row(&c, &r, vs1, o->json, n == 0);
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
