/* bench_steps.c — `bptt bench steps`: ms per training step of each cell and size,
 * against two BLAS floors: the per-step floor, the same sgemm calls (read from the
 * step's own tape) made bare on the tape's own buffers, and the sequential floor, where
 * only the recurrent products stay per step and every other weight's products are one
 * call each over all rows (bench_seq.c); both interleaved with the steps. */
#include "bench_util.h"
#include "bench_blas.h"
#include "cli.h"

#include <math.h>
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
    if (o->keep_denormals) /* the workers' tapes follow the trainer's */
        bp_tape_set_flush_denormals(bench_tape(b), false);
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

/* Issue 16's figures to reach, one line each, checked against the rows just measured:
 * the largest ratio among a target's rows (its cells at its size, at 1 thread, or the
 * 2-thread over the 1-thread step) against its bound. */
typedef enum { PER_STEP, SEQUENTIAL, THREADS } ratio_kind;
static const struct target {
    const char *what;
    const char *cells[4]; /* the rows' cells (NULL-ended; none: every cell) */
    int size;             /* index into bench_sizes */
    ratio_kind m;
    double bound;
    bool strict; /* < bound, not <= */
} targets[] = {
    {"rnn/irnn W1 step / per-step floor", {"rnn", "irnn"}, 0, PER_STEP, 1.0, false},
    {"rnn/irnn W1 step / sequential floor", {"rnn", "irnn"}, 0, SEQUENTIAL, 1.15, false},
    {"lstm/gru W1 step / per-step floor", {"lstm", "gru"}, 0, PER_STEP, 1.1, false},
    {"every cell H512 B64 T50 step / per-step floor", {NULL}, 1, PER_STEP, 1.0, false},
    {"rnn H32 B1 T1000 step / per-step floor", {"rnn"}, 2, PER_STEP, 0.8, false},
    {"lstm/gru H32 B1 T1000 step / per-step floor", {"lstm", "gru"}, 2, PER_STEP, 1.0, false},
    {"W1 (rnn) 2-thread step / 1-thread step", {"rnn"}, 0, THREADS, 0.6, false},
    {"H512 B64 T50 2-thread step / 1-thread step", {NULL}, 1, THREADS, 1.0, true},
};

/* A measured row, as the targets read it. */
typedef struct done_row {
    bench_cfg c;
    int threads;
    double per_step, sequential, vs1; /* step / floor, step / seq floor, 2 / 1 threads */
} done_row;

static bool target_has(const struct target *t, const done_row *r)
{
    if (memcmp((int[3]){r->c.H, r->c.B, r->c.T}, bench_sizes[t->size], 3 * sizeof(int)))
        return false;
    if (!t->cells[0])
        return true;
    for (int i = 0; i < 4 && t->cells[i]; i++)
        if (!strcmp(t->cells[i], r->c.cell))
            return true;
    return false;
}

enum { N_TARGETS = (int)(sizeof targets / sizeof targets[0]) };

/* Each target's figure in one run: the largest ratio among its rows and that row's cell
 * (worst 0: none of its rows ran). */
static void target_values(const done_row *rows, int n, double *worst, const char **cell)
{
    for (int k = 0; k < N_TARGETS; k++) {
        const struct target *t = &targets[k];
        worst[k] = 0;
        cell[k] = "-";
        for (int i = 0; i < n; i++) {
            const done_row *r = &rows[i];
            bool threads = t->m == THREADS;
            if (!target_has(t, r) || (threads ? r->vs1 <= 0 : r->threads != 1))
                continue;
            double v = threads ? r->vs1 : t->m == PER_STEP ? r->per_step : r->sequential;
            if (v > worst[k]) {
                worst[k] = v;
                cell[k] = r->c.cell;
            }
        }
    }
}

static bool target_met(const struct target *t, double v)
{
    return t->strict ? v < t->bound : v <= t->bound;
}

static void format_bound(const struct target *t, char *buf, size_t n)
{
    snprintf(buf, n, "%s %.2f", t->strict ? "<" : "<=", t->bound);
}

/* One run's table of the targets, with the kernel variant in use. */
static void print_targets(const double *worst, const char *const *cell)
{
    printf("\nissue 16's targets, kernel variant %s (the largest ratio of each target's rows "
           "in this run):\n%-48s %-6s %8s %8s  %s\n", bp_isa_name(bp_isa_current()), "target",
           "cell", "ratio", "bound", "verdict");
    for (int k = 0; k < N_TARGETS; k++) {
        const struct target *t = &targets[k];
        char ratio[16] = "-", bound[16];
        if (worst[k] > 0)
            snprintf(ratio, sizeof ratio, "%.3f", worst[k]);
        format_bound(t, bound, sizeof bound);
        printf("%-48s %-6s %8s %8s  %s\n", t->what, cell[k], ratio, bound,
               worst[k] <= 0 ? "not measured" : target_met(t, worst[k]) ? "met" : "missed");
    }
}

/* Over the runs (runs[r * N_TARGETS + k], cells likewise: target k's figure in run r and
 * its row's cell): each target's smallest and largest figure, the largest's cell, and the
 * runs that met it — a table after more than one run, or the JSON array "steps_targets"
 * (ratio: the largest, so verdict "met" means every run met it). */
static void print_target_summary(const double *runs, const char *const *cells, int n_runs,
                                 bool json)
{
    const char *variant = bp_isa_name(bp_isa_current());
    if (json)
        printf(",\n\"steps_targets\": [");
    else
        printf("\nissue 16's targets over %d runs, kernel variant %s (each run's largest ratio "
               "of the target's rows):\n%-48s %-6s %8s %8s %8s  %s\n", n_runs, variant, "target",
               "cell", "smallest", "largest", "bound", "met in");
    for (int k = 0; k < N_TARGETS; k++) {
        const struct target *t = &targets[k];
        double lo = 0, hi = 0;
        const char *cell = "-";
        int met = 0, measured = 0;
        for (int r = 0; r < n_runs; r++) {
            double v = runs[r * N_TARGETS + k];
            if (v <= 0)
                continue;
            lo = measured ? fmin(lo, v) : v;
            if (v > hi) {
                hi = v;
                cell = cells[r * N_TARGETS + k];
            }
            measured++;
            met += target_met(t, v);
        }
        char bound[16];
        format_bound(t, bound, sizeof bound);
        if (json) {
            char ratio[16] = "null", least[16] = "null";
            if (measured) {
                snprintf(ratio, sizeof ratio, "%.3f", hi);
                snprintf(least, sizeof least, "%.3f", lo);
            }
            printf("%s\n  {\"target\": \"%s\", \"bound\": %.2f, \"strict\": %s, \"ratio\": %s, "
                   "\"ratio_min\": %s, \"cell\": %s%s%s, \"verdict\": \"%s\", \"met_runs\": %d, "
                   "\"runs\": %d, \"kernel_variant\": \"%s\"}",
                   k ? "," : "", t->what, t->bound, t->strict ? "true" : "false", ratio, least,
                   measured ? "\"" : "", measured ? cell : "null", measured ? "\"" : "",
                   !measured ? "not measured" : met == measured ? "met" : "missed", met,
                   measured, variant);
        } else if (!measured) {
            printf("%-48s %-6s %8s %8s %8s  %s\n", t->what, "-", "-", "-", bound, "not measured");
        } else {
            char of[32];
            snprintf(of, sizeof of, "%d of %d", met, measured);
            printf("%-48s %-6s %8.3f %8.3f %8s  %s\n", t->what, cell, lo, hi, bound, of);
        }
    }
    if (json)
        printf("\n]");
}

/* One row of the table (or one JSON object): off, the step with per-step weight
 * gradients, and its ratio are "-" (null) under --no-defer. */
static void print_row(const bench_cfg *c, const row *r, double vs1, int run, bool json,
                      bool first)
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
        printf("%s\n  {\"run\": %d, \"cell\": \"%s\", \"H\": %d, \"B\": %d, \"T\": %d, \"threads\": %d, "
               "\"step_ms\": %.4f, \"gflops\": %.2f, \"floor_ms\": %.4f, \"floor_gflops\": %.2f, "
               "\"ratio\": %.4f, \"seq_floor_ms\": %.4f, \"seq_ratio\": %.4f, "
               "\"per_step_grads_ms\": %s, \"deferred_vs_per_step\": %s, \"sgemm_calls\": %d, "
               "\"seq_sgemm_calls\": %d, \"sgemm_flop\": %.0f, \"vs_1_thread\": %s}",
               first ? "" : ",", run, c->cell, c->H, c->B, c->T, r->threads, 1e3 * r->step,
               f / r->step, 1e3 * r->floor, f / r->floor, r->step / r->floor, 1e3 * r->seq,
               r->step / r->seq, r->off > 0 ? off : "null", r->off > 0 ? gain : "null",
               r->gemms, r->seq_gemms, r->flops, vs1 > 0 ? vs : "null");
    else
        printf("%-5s %5d %4d %5d %3d %9.3f %8.1f %9.3f %8.1f %6.3f %8.3f %6.3f %9s %6s %6d %5d "
               "%6s\n", c->cell, c->H, c->B, c->T, r->threads, 1e3 * r->step, f / r->step,
               1e3 * r->floor, f / r->floor, r->step / r->floor, 1e3 * r->seq, r->step / r->seq,
               off, gain, r->gemms, r->seq_gemms, vs);
}

/* One run of the table: every row asked for, measured and printed (the JSON rows after
 * *any, which the first sets), the targets' view of each in rows (*n of them). */
static int steps_table(const bench_opts *o, int run, bool *any, done_row *rows, int *n)
{
    if (!o->json)
        printf("%-5s %5s %4s %5s %3s %9s %8s %9s %8s %6s %8s %6s %9s %6s %6s %5s %6s\n", "cell",
               "H", "B", "T", "thr", "step ms", "GFLOP/s", "floor ms", "GFLOP/s", "ratio",
               "seq ms", "ratio", "nodef ms", "d/nod", "sgemm", "seq", "vs 1");
    /* the listed sizes (or the one --size names), then --size's own when not listed */
    size_t n_sizes = sizeof bench_sizes / sizeof bench_sizes[0];
    const int want[3] = {o->H, o->B, o->T};
    bool listed = false;
    for (size_t k = 0; k < n_sizes; k++)
        listed |= !memcmp(want, bench_sizes[k], sizeof want);
    for (size_t s = 0; s <= n_sizes; s++) {
        int size[3];
        memcpy(size, s < n_sizes ? bench_sizes[s] : want, sizeof size);
        bool wanted = s < n_sizes ? !o->H || !memcmp(size, want, sizeof size) : o->H && !listed;
        if (!wanted)
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
                print_row(&c, &r, vs1, run, o->json, !*any);
                *any = true;
                fflush(stdout);
                if (*n < 64)
                    rows[*n] = (done_row){c, r.threads, r.step / r.floor, r.step / r.seq, vs1};
                (*n)++;
            }
        }
    }
    return EXIT_OK;
}

int bench_steps(const bench_opts *o)
{
    char defer[64] = "per step (--no-defer)";
    if (!o->no_defer)
        snprintf(defer, sizeof defer, "deferred below %d rows (bp_tape_set_defer)",
                 BP_DEFER_MAX_ROWS);
    if (o->json)
        printf("\"steps\": [");
    else
        printf("training steps (%s; forward + backward + Adam update; median of %d steps after %d "
               "warm-up, %s time; floor = the per-step floor, the step's own sgemm calls, "
               "bare; seq = the sequential floor: only h W_h forward and dz W_h^T backward "
               "per step, every other product and weight gradient one call over all rows; "
               "nodef = the same step with every weight gradient per step, d/nod = step / "
               "nodef; vs 1 = step / the 1-thread step; the step's weight gradients %s; "
               "denormals %s)\n",
               BP_REAL_NAME, o->reps, o->warmup,
               o->cpu_clock ? "critical-path thread CPU" : "wall", defer,
               o->keep_denormals ? "kept (--keep-denormals)"
                                 : "flushed to zero (bp_tape_set_flush_denormals)");
    double *runs = malloc((size_t)o->runs * N_TARGETS * sizeof *runs);
    const char **cells = malloc((size_t)o->runs * N_TARGETS * sizeof *cells);
    if (!runs || !cells) {
        free(runs);
        free(cells);
        cli_error("bench", "out of memory");
        return EXIT_RUNTIME;
    }
    bool any = false;
    for (int run = 1; run <= o->runs; run++) {
        done_row rows[64];
        int n = 0;
        if (!o->json && o->runs > 1)
            printf("%srun %d of %d\n", run > 1 ? "\n" : "", run, o->runs);
        int rc = steps_table(o, run, &any, rows, &n);
        if (rc) {
            free(runs);
            free(cells);
            return rc;
        }
        double *worst = runs + (size_t)(run - 1) * N_TARGETS;
        const char **cell = cells + (size_t)(run - 1) * N_TARGETS;
        target_values(rows, n < 64 ? n : 64, worst, cell);
        if (!o->json)
            print_targets(worst, cell);
    }
    if (o->json)
        printf("\n]");
    if (o->json || o->runs > 1)
        print_target_summary(runs, cells, o->runs, o->json);
    free(runs);
    free(cells);
    return EXIT_OK;
}
