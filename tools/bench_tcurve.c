/* bench_tcurve.c — `bptt bench tcurve`: does a training step's cost grow linearly with T?
 * The tanh RNN at H = 128, B = 32 (or --size H x B), T from 10 up to --max-T by factors
 * of 10: ms per training step and us per time step, relative to T = 100. */
#include "bench_util.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Median step time at T; fewer repetitions for long T (at least 3). */
static int time_at(const bench_opts *o, int H, int B, int T, double *ms)
{
    bench_cfg c = {o->cell ? o->cell : "rnn", H, B, T};
    bp_error err = {0};
    bench_trainer *b = bench_trainer_new(&c, o->threads[0], &err);
    if (!b) {
        cli_error("bench", "T = %d: %s", T, err.msg);
        return EXIT_RUNTIME;
    }
    int reps = o->reps;
    if ((long)reps * T > 200000)
        reps = (int)(200000 / T) < 3 ? 3 : (int)(200000 / T);
    double *ts = malloc((size_t)reps * sizeof *ts);
    int rc = ts ? EXIT_OK : EXIT_RUNTIME;
    for (int i = 0; i < 1 + reps && rc == EXIT_OK; i++) {
        double t0 = bench_now();
        if (bench_step(b, NULL, &err) != BP_OK) {
            cli_error("bench", "T = %d: %s", T, err.msg);
            rc = EXIT_RUNTIME;
            break;
        }
        double dt = o->cpu_clock ? b->cpu_step : bench_now() - t0;
        if (i > 0)
            ts[i - 1] = dt;
    }
    if (rc == EXIT_OK)
        *ms = 1e3 * bench_median(ts, reps);
    free(ts);
    bench_trainer_free(b);
    return rc;
}

int bench_tcurve(const bench_opts *o)
{
    int H = o->H ? o->H : 128, B = o->H ? o->B : 32;
    double ref = 0;
    if (o->json)
        printf("\"tcurve\": [");
    else
        printf("cost against sequence length (%s %s, H = %d, B = %d, %d thread%s; median step, "
               "%s time; per step = step / T, relative to T = 100)\n%8s %12s %12s %9s\n",
               BP_REAL_NAME, o->cell ? o->cell : "rnn", H, B, o->threads[0],
               o->threads[0] > 1 ? "s" : "", o->cpu_clock ? "critical-path CPU" : "wall", "T",
               "step ms", "us per step", "relative");
    int n = 0;
    double ms[8];
    int Ts[8], k = 0;
    for (long T = 10; T <= o->max_T && k < 8; T *= 10)
        Ts[k++] = (int)T;
    /* T = 100 first, the reference, then the curve in order */
    int rc = time_at(o, H, B, 100, &ref);
    for (int i = 0; i < k && !rc; i++) {
        rc = Ts[i] == 100 ? (ms[i] = ref, EXIT_OK) : time_at(o, H, B, Ts[i], &ms[i]);
        if (rc)
            break;
        double per = 1e3 * ms[i] / Ts[i], rel = per / (1e3 * ref / 100);
        if (o->json)
            printf("%s\n  {\"cell\": \"%s\", \"H\": %d, \"B\": %d, \"T\": %d, \"threads\": %d, "
                   "\"step_ms\": %.4f, \"us_per_step\": %.4f, \"relative\": %.4f}",
                   n++ ? "," : "", o->cell ? o->cell : "rnn", H, B, Ts[i], o->threads[0], ms[i],
                   per, rel);
        else
            printf("%8d %12.3f %12.2f %9.3f\n", Ts[i], ms[i], per, rel);
        fflush(stdout);
    }
    if (o->json)
        printf("\n]");
    return rc;
}
