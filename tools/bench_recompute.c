/* bench_recompute.c — `bptt bench recompute`: memory-efficient BPTT against plain BPTT
 * on long sequences. Each row is one configuration run in a fresh process (`bptt bench
 * recompute-child`, exec'd): its resident size before the model (base), the peak
 * resident size VmHWM after the timed training steps (peak), the tape's arena high-water
 * mark and the stored states, and the median step time. Plain BPTT first, then
 * recomputation with k = sqrt(T) and the trade-off curve over k. */
#include "bench_util.h"
#include "bench_blas.h"
#include "bptt_optim.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* the cells run when --cell does not pick one */
static const char *const cells[] = {"rnn", "lstm"};

/* One recurrent layer on input 2 (the adding problem's shapes), a linear readout of the
 * last step, mse; Adam (lr 1e-3); a seeded batch x, y ~ U[0, 1). The bench's own, so
 * that plain and recomputed steps run the same code but for the backward. */
typedef struct rc_model {
    bp_params *params;
    bp_net *net;
    bp_optim *opt;
    bp_tape *tape;
    bp_batch *batch;
} rc_model;

static void model_free(rc_model *m)
{
    bp_batch_free(m->batch);
    bp_tape_free(m->tape);
    bp_optim_free(m->opt);
    bp_net_free(m->net);
    bp_params_free(m->params);
}

static bp_status model_new(rc_model *m, const bench_cfg *c, bp_error *err)
{
    *m = (rc_model){0};
    bp_layer_spec l;
    bp_layer_spec_default(&l, !strcmp(c->cell, "lstm") ? BP_LAYER_LSTM
                              : !strcmp(c->cell, "gru") ? BP_LAYER_GRU
                                                        : BP_LAYER_RNN);
    l.size = c->H;
    if (!strcmp(c->cell, "irnn")) {
        l.act = BP_ACT_RELU;
        l.init = BP_INIT_IDENTITY;
    }
    bp_net_spec s;
    bp_net_spec_default(&s);
    s.input_size = 2;
    s.n_layers = 1;
    s.layers = &l;
    s.output_size = 1;
    bp_rng rng;
    bp_rng_seed(&rng, 1);
    bp_optim_config oc;
    bp_optim_config_default(&oc);
    if (!(m->params = bp_params_new()) || !(m->tape = bp_tape_new()))
        return bp_error_set(err, BP_ERR_NOMEM, "out of memory");
    if (!(m->net = bp_net_new(&s, m->params, err)) || bp_net_init(m->net, &rng, err) != BP_OK ||
        !(m->opt = bp_optim_new(&oc, m->params, err)) ||
        !(m->batch = bp_batch_new(c->B, c->T, 2, false, BP_TARGET_VALUES, 1, err)))
        return err->status;
    bp_fill_uniform(m->batch->x, (size_t)c->B * c->T * 2, 0, 1, &rng);
    bp_fill_uniform(m->batch->y, (size_t)c->B, 0, 1, &rng);
    bp_tape_set_keep_grads(m->tape, false); /* as a training step runs */
    bp_tape_set_keep_values(m->tape, false);
    return BP_OK;
}

/* One training step: forward + backward (plain, or recomputed with segment length k),
 * then the Adam update. The loss in *loss. */
static bp_status step(rc_model *m, int k, double *loss, bp_error *err)
{
    int T = m->batch->T;
    if (k) {
        bp_status st = bp_net_backward_recompute(m->net, m->tape, m->batch, 0, T, NULL, k, 1,
                                                 loss, err);
        if (st != BP_OK)
            return st;
    } else {
        bp_tape_reset(m->tape);
        bp_node *l = bp_net_forward(m->net, m->tape, m->batch, 0, T, NULL);
        if (!l) {
            *err = *bp_tape_error(m->tape);
            return err->status;
        }
        *loss = l->value[0];
        bp_status st = bp_backward(m->tape, l, err);
        if (st != BP_OK)
            return st;
    }
    return bp_optim_step(m->opt, *loss, NULL, err);
}

/* The child: CELL H B T K REPS WARMUP CPU; prints base and peak KiB, arena bytes, state
 * bytes, median step seconds and the last loss. */
int bench_recompute_child(int argc, char **argv)
{
    if (argc != 9) {
        cli_error("bench", "usage: bptt bench recompute-child CELL H B T K REPS WARMUP CPU");
        return EXIT_USAGE;
    }
    bench_cfg c = {argv[1], atoi(argv[2]), atoi(argv[3]), atoi(argv[4])};
    int k = atoi(argv[5]), reps = atoi(argv[6]), warmup = atoi(argv[7]);
    bool cpu = atoi(argv[8]) != 0;
    openblas_set_num_threads(1); /* as the parent: no BLAS threads spinning beside us */
    long base = bench_status_kib("VmRSS");
    bp_error err = {0};
    rc_model m;
    double *ts = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *ts);
    if (model_new(&m, &c, &err) != BP_OK || !ts) {
        cli_error("bench", "%s: %s", c.cell, ts ? err.msg : "out of memory");
        return EXIT_RUNTIME;
    }
    double loss = 0;
    for (int i = 0; i < warmup + reps; i++) {
        double t0 = cpu ? bench_cpu_now() : bench_now();
        if (step(&m, k, &loss, &err) != BP_OK) {
            cli_error("bench", "%s, k = %d: %s", c.cell, k, err.msg);
            return EXIT_RUNTIME;
        }
        if (i >= warmup)
            ts[i - warmup] = (cpu ? bench_cpu_now() : bench_now()) - t0;
    }
    long peak = bench_status_kib("VmHWM");
    int seg = k ? bp_recompute_segment(k, c.T) : c.T;
    /* the stored states: h (and c for the lstm) entering each segment */
    size_t states = k ? (size_t)((c.T + seg - 1) / seg) * (size_t)c.B * (size_t)c.H *
                            (!strcmp(c.cell, "lstm") ? 2 : 1) * sizeof(bp_real)
                      : 0;
    printf("%ld %ld %zu %zu %.6f %.9g\n", base, peak, bp_tape_arena_bytes(m.tape), states,
           bench_median(ts, reps), loss);
    free(ts);
    model_free(&m);
    return EXIT_OK;
}

typedef struct rc_row {
    long base, peak;
    size_t arena, states;
    double step, loss;
} rc_row;

static int run_child(const char *self, const bench_cfg *c, int k, int reps, int warmup, bool cpu,
                     rc_row *r)
{
    char a[7][16], buf[512];
    int v[] = {c->H, c->B, c->T, k, reps, warmup, cpu};
    for (int i = 0; i < 7; i++)
        snprintf(a[i], sizeof a[i], "%d", v[i]);
    char *argv[] = {"bptt", "bench", "recompute-child", (char *)c->cell,
                    a[0], a[1], a[2], a[3], a[4], a[5], a[6], NULL};
    if (bench_run_child(self, argv, buf, sizeof buf) != EXIT_OK ||
        sscanf(buf, "%ld %ld %zu %zu %lf %lf", &r->base, &r->peak, &r->arena, &r->states,
               &r->step, &r->loss) != 6) {
        cli_error("bench", "the recompute child for %s, k = %d failed", c->cell, k);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

static void print_row(const bench_opts *o, const bench_cfg *c, int k, bool sqrt_k, const rc_row *r,
                      const rc_row *plain, int n)
{
    const double MiB = 1024.0 * 1024.0;
    double used = (double)(r->peak - r->base) * 1024.0;
    double plain_used = (double)(plain->peak - plain->base) * 1024.0;
    int seg = k ? bp_recompute_segment(k, c->T) : c->T;
    int segs = (c->T + seg - 1) / seg;
    if (o->json) {
        printf("%s\n  {\"cell\": \"%s\", \"H\": %d, \"B\": %d, \"T\": %d, \"k\": %d, "
               "\"sqrt_T\": %s, \"segments\": %d, \"peak_kib\": %ld, \"base_kib\": %ld, "
               "\"arena_bytes\": %zu, \"state_bytes\": %zu, \"step_ms\": %.3f, "
               "\"time_ratio\": %.4f, \"memory_ratio\": %.4f, \"loss\": %.9g}",
               n ? "," : "", c->cell, c->H, c->B, c->T, k, sqrt_k ? "true" : "false", segs,
               r->peak, r->base, r->arena, r->states, 1e3 * r->step, r->step / plain->step,
               used / plain_used, r->loss);
    } else {
        char kk[32];
        if (k)
            snprintf(kk, sizeof kk, "%d%s", k, sqrt_k ? " =sqrtT" : "");
        else
            snprintf(kk, sizeof kk, "plain");
        printf("%-5s %-12s %6d %11.1f %9.1f %10.2f %10.1f %8.3f %8.3f\n", c->cell, kk, segs,
               used / MiB, r->arena / MiB, r->states / MiB, 1e3 * r->step, r->step / plain->step,
               used / plain_used);
    }
    fflush(stdout);
}

int bench_recompute(const bench_opts *o, const char *self)
{
    int H = o->H ? o->H : 128, B = o->H ? o->B : 32, T = o->H ? o->T : 10000;
    static const int curve[] = {10, 32, 100, 316, 1000, 3162};
    int sq = bp_recompute_segment(BP_RECOMPUTE_SQRT, T);
    /* fewer repetitions for long sequences (at least 3), one untimed step first */
    int reps = o->reps;
    if ((long)reps * T > 50000)
        reps = 50000 / T < 3 ? 3 : 50000 / T;
    int warmup = o->warmup < 1 ? 1 : o->warmup > 2 ? 2 : o->warmup;
    if (o->json)
        printf("\"recompute\": [");
    else
        printf("memory-efficient BPTT against plain BPTT (%s; H = %d, B = %d, T = %d; a fresh "
               "process per row; grads released; median of %d steps, %s time)\n"
               "  peak-base = peak resident size VmHWM - the resident size before the model; "
               "tape = the tape's arena\n  high-water mark; states = h (and c) stored at the "
               "segments' starts; time and memory relative to plain\n"
               "%-5s %-12s %6s %11s %9s %10s %10s %8s %8s\n",
               BP_REAL_NAME, H, B, T, reps, o->cpu_clock ? "thread CPU" : "wall", "cell", "k",
               "segs", "peak-base", "tape MiB", "states MiB", "step ms", "time", "memory");
    int n = 0;
    size_t nc = o->cell ? 1 : sizeof cells / sizeof cells[0];
    for (size_t ci = 0; ci < nc; ci++) {
        bench_cfg c = {o->cell ? o->cell : cells[ci], H, B, T};
        rc_row plain, r;
        int rc = run_child(self, &c, 0, reps, warmup, o->cpu_clock, &plain);
        if (rc)
            return rc;
        print_row(o, &c, 0, false, &plain, &plain, n++);
        /* sqrt(T) first, then the curve (without sqrt(T) again), each k < T */
        int ks[1 + sizeof curve / sizeof curve[0]], nk = 0;
        ks[nk++] = sq;
        for (size_t i = 0; i < sizeof curve / sizeof curve[0]; i++)
            if (curve[i] < T && curve[i] != sq)
                ks[nk++] = curve[i];
        for (int i = 0; i < nk; i++) {
            if ((rc = run_child(self, &c, ks[i], reps, warmup, o->cpu_clock, &r)))
                return rc;
            print_row(o, &c, ks[i], i == 0, &r, &plain, n++);
        }
    }
    if (o->json)
        printf("\n]");
    return EXIT_OK;
}
