/* bench_data.c — `bptt bench data`: the speed of the data path. Writes a 100 MB
 * safetensors data set and a 100 MB CSV set (UCR layout) of the adding task's sequences
 * to a temporary folder, times loading each (bp_task_files: the map and the check of
 * every value; bp_csv_set_load: the parse), then W1's training step with its batches
 * drawn from the file against the same step with the built-in generator, and removes
 * the files. */
#include "bench_util.h"
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA_BYTES 100e6 /* each file's size: 100 MB */
#define LOAD_REPS 3      /* loads and parses timed: the best is reported */
#define BLOCK 10         /* training steps per timed block */
#define DRAWS 200        /* batch draws per timed block */

/* The temporary files, also removed on Ctrl-C (unlink and rmdir are signal-safe). */
static char tmp_dir[1024], st_path[1100], csv_path[1100];
static void (*old_int)(int), (*old_term)(int); /* the handlers before ours */

static void remove_files(void)
{
    if (st_path[0])
        unlink(st_path);
    if (csv_path[0])
        unlink(csv_path);
    if (tmp_dir[0])
        rmdir(tmp_dir);
}

static void on_signal(int sig)
{
    remove_files();
    signal(sig, SIG_DFL);
    raise(sig);
}

static double clock_now(bool cpu)
{
    return cpu ? bench_cpu_now() : bench_now();
}

static long file_bytes(const char *path)
{
    struct stat sb;
    return stat(path, &sb) ? -1 : (long)sb.st_size;
}

static double best(const double *v, int n)
{
    double b = v[0];
    for (int i = 1; i < n; i++)
        b = v[i] < b ? v[i] : b;
    return b;
}

/* The data: rows of the adding task at T steps (x [N, T, 2], y [N, 1]), seeded. */
static bp_batch *make_rows(int N, int T, bp_error *err)
{
    bp_task *t = bp_task_adding(T, err);
    if (!t)
        return NULL;
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    bp_batch *b = bp_task_batch(t, N, BP_SPLIT_TRAIN, &rng, err);
    bp_task_free(t);
    return b;
}

static bp_status write_safetensors(const bp_batch *b, bp_error *err)
{
    bp_st_writer *w = bp_st_writer_new();
    if (!w)
        return bp_error_set(err, BP_ERR_NOMEM, "bench: out of memory");
    bp_status st = bp_st_writer_add(w, "x", BP_DTYPE_F32, (bp_shape){3, {b->B, b->T, b->F}},
                                    b->x, err);
    if (st == BP_OK)
        st = bp_st_writer_add(w, "y", BP_DTYPE_F32, bp_shape2(b->B, b->O), b->y, err);
    if (st == BP_OK)
        st = bp_st_writer_save(w, st_path, err);
    bp_st_writer_free(w);
    return st;
}

/* Rows of b as floats (the safetensors file's F32), the label first, then each step's
 * features (%.9g: read back, a float is the same float), until the file holds DATA_BYTES.
 * *rows gets the rows written. */
static bp_status write_csv(const bp_batch *b, int *rows, bp_error *err)
{
    FILE *f = fopen(csv_path, "w");
    if (!f)
        return bp_error_set(err, BP_ERR_IO, "%s: cannot create", csv_path);
    static char buf[1 << 16];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    size_t w = (size_t)b->T * b->F;
    double bytes = 0;
    int r = 0;
    bool ok = true;
    for (; ok && bytes < DATA_BYTES && r < b->B; r++) {
        int n = fprintf(f, "%.9g", (double)(float)b->y[r]);
        ok = n > 0;
        for (size_t k = 0; k < w && ok; k++) {
            bp_real v = b->x[(size_t)r * w + k];
            int m = v == 0 || v == 1 ? fputs(v == 0 ? ",0" : ",1", f) < 0 ? -1 : 2
                                     : fprintf(f, ",%.9g", (double)(float)v);
            ok = m > 0;
            n += m;
        }
        ok = ok && fputc('\n', f) != EOF;
        bytes += n + 1;
    }
    *rows = r;
    ok = !ferror(f) && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || bytes < DATA_BYTES)
        return bp_error_set(err, BP_ERR_IO, "%s: write failed (%.0f bytes of %.0f)", csv_path,
                            bytes, DATA_BYTES);
    return BP_OK;
}

typedef struct load_fig {
    long bytes;
    double s[LOAD_REPS], best;
} load_fig;

/* bp_task_files on the safetensors file, as a model file's data: {train: FILE,
 * valid_split: 0.1} gives it; the last task is kept in *keep. */
static bp_status time_st_load(load_fig *fig, bool cpu, bp_task **keep, bp_error *err)
{
    bp_file_set_opts fo;
    bp_file_set_opts_default(&fo);
    snprintf(fo.train.x, sizeof fo.train.x, "%s", st_path);
    fo.valid_fraction = 0.1;
    fig->bytes = file_bytes(st_path);
    for (int i = 0; i < LOAD_REPS; i++) {
        double t0 = clock_now(cpu);
        bp_task *t = bp_task_files(&fo, err);
        fig->s[i] = clock_now(cpu) - t0;
        if (!t)
            return err ? err->status : BP_ERR_IO;
        if (i == LOAD_REPS - 1)
            *keep = t;
        else
            bp_task_free(t);
    }
    fig->best = best(fig->s, LOAD_REPS);
    return BP_OK;
}

/* bp_csv_set_load on the CSV file; *mismatch: values or labels that did not read back as
 * the floats written (-1 when the shape differs). */
static bp_status time_csv_load(const bp_batch *b, int rows, bool cpu, load_fig *fig,
                               long *mismatch, bp_error *err)
{
    bp_csv_opts co;
    bp_csv_opts_default(&co);
    co.features = b->F;
    fig->bytes = file_bytes(csv_path);
    bp_csv_set s = {0};
    for (int i = 0; i < LOAD_REPS; i++) {
        bp_csv_set_free(&s);
        double t0 = clock_now(cpu);
        bp_status st = bp_csv_set_load(csv_path, &co, &s, err);
        fig->s[i] = clock_now(cpu) - t0;
        if (st != BP_OK)
            return st;
    }
    fig->best = best(fig->s, LOAD_REPS);
    *mismatch = 0;
    if (s.N != rows || s.T != b->T || s.I != b->F) {
        *mismatch = -1;
    } else {
        size_t w = (size_t)b->T * b->F;
        for (size_t k = 0; k < (size_t)rows * w; k++)
            *mismatch += s.x[k] != (float)b->x[k];
        for (int r = 0; r < rows; r++)
            *mismatch += (float)s.labels[r] != (float)b->y[r] || s.lengths[r] != b->T;
    }
    bp_csv_set_free(&s);
    return BP_OK;
}

typedef struct step_fig {
    double gen_ms, file_ms;   /* median ms per bp_trainer_step */
    double draw_gen_us, draw_file_us; /* median us per bp_task_train_batch (+ free) */
} step_fig;

/* BLOCK training steps of tr: seconds per step. */
static bp_status time_steps(bp_trainer *tr, bool cpu, double *per_step, bp_error *err)
{
    double t0 = clock_now(cpu), loss;
    for (int i = 0; i < BLOCK; i++) {
        bp_status st = bp_trainer_step(tr, &loss, NULL, err);
        if (st != BP_OK)
            return st;
    }
    *per_step = (clock_now(cpu) - t0) / BLOCK;
    return BP_OK;
}

/* DRAWS training batches of t from *step on: seconds per batch (drawn and freed). */
static bp_status time_draws(bp_task *t, int B, long *step, bp_rng *rng, bool cpu,
                            double *per_draw, bp_error *err)
{
    double t0 = clock_now(cpu);
    for (int i = 0; i < DRAWS; i++) {
        bp_batch *b = bp_task_train_batch(t, B, (*step)++, rng, err);
        if (!b)
            return err ? err->status : BP_ERR_NOMEM;
        bp_batch_free(b);
    }
    *per_draw = (clock_now(cpu) - t0) / DRAWS;
    return BP_OK;
}

/* W1's step with the generator and with the file, in alternating blocks (so both see the
 * same machine), on 1 thread; and each batch draw alone, on tasks of their own. */
static bp_status time_w1(const bench_cfg *c, bp_task *file_task, const bench_opts *o,
                         step_fig *fig, bp_error *err)
{
    bp_layer_spec lg, lf;
    bp_model_config mg, mf;
    bench_model_config(c, 1, &mg, &lg);
    bench_model_config(c, 1, &mf, &lf);
    snprintf(mf.data.task, sizeof mf.data.task, "%s", bp_task_kind_name(BP_TASK_FILES));
    bp_file_set_opts_default(&mf.data.files);
    snprintf(mf.data.files.train.x, sizeof mf.data.files.train.x, "%s", st_path);
    mf.data.files.valid_fraction = 0.1;
    bp_trainer *tg = bp_trainer_new(&mg, err), *tf = tg ? bp_trainer_new(&mf, err) : NULL;
    bp_task *gen = tf ? bp_task_adding(c->T, err) : NULL;
    int n = o->warmup + o->reps;
    double *v = malloc(4 * (size_t)n * sizeof *v);
    bp_status st = gen ? BP_OK : err ? err->status : BP_ERR_NOMEM;
    if (st == BP_OK && !v)
        st = bp_error_set(err, BP_ERR_NOMEM, "bench: out of memory");
    double *sg = v, *sf = v + n, *dg = v + 2 * n, *df = v + 3 * n;
    bp_rng rng;
    bp_rng_seed(&rng, 3);
    long step_g = 0, step_f = 0;
    for (int i = 0; i < n && st == BP_OK; i++) {
        bool gen_first = i % 2 == 0;
        st = time_steps(gen_first ? tg : tf, o->cpu_clock, gen_first ? &sg[i] : &sf[i], err);
        if (st == BP_OK)
            st = time_steps(gen_first ? tf : tg, o->cpu_clock, gen_first ? &sf[i] : &sg[i], err);
        if (st == BP_OK)
            st = time_draws(gen, c->B, &step_g, &rng, o->cpu_clock, &dg[i], err);
        if (st == BP_OK)
            st = time_draws(file_task, c->B, &step_f, &rng, o->cpu_clock, &df[i], err);
    }
    if (st == BP_OK) {
        fig->gen_ms = 1e3 * bench_median(sg + o->warmup, o->reps);
        fig->file_ms = 1e3 * bench_median(sf + o->warmup, o->reps);
        fig->draw_gen_us = 1e6 * bench_median(dg + o->warmup, o->reps);
        fig->draw_file_us = 1e6 * bench_median(df + o->warmup, o->reps);
    }
    free(v);
    bp_task_free(gen);
    bp_trainer_free(tf);
    bp_trainer_free(tg);
    return st;
}

/* A JSON string's characters: quotes and backslashes would end it early. */
static void json_safe(char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            *s = ' ';
}

static void print_seconds(const load_fig *f, bool json)
{
    for (int i = 0; i < LOAD_REPS; i++)
        printf(json ? "%s%.4f" : "%s%.3f", i ? (json ? ", " : " ") : "", f->s[i]);
}

static void done(void)
{
    remove_files();
    signal(SIGINT, old_int);
    signal(SIGTERM, old_term);
}

static int fail(const char *what, const bp_error *err)
{
    cli_error("bench", "data: %s: %s", what, err->msg);
    done();
    return EXIT_RUNTIME;
}

int bench_data(const bench_opts *o)
{
    bench_cfg c = {o->cell ? o->cell : "rnn", o->H ? o->H : 128, o->H ? o->B : 32,
                   o->H ? o->T : 100};
    const char *base = getenv("TMPDIR");
    base = base && *base ? base : "/tmp";
    snprintf(tmp_dir, sizeof tmp_dir, "%s/bptt-bench-data-XXXXXX", base);
    if (!mkdtemp(tmp_dir)) {
        cli_error("bench", "data: cannot make a temporary folder in %s (TMPDIR): %s", base,
                  strerror(errno));
        tmp_dir[0] = '\0';
        return EXIT_RUNTIME;
    }
    snprintf(st_path, sizeof st_path, "%s/data.safetensors", tmp_dir);
    snprintf(csv_path, sizeof csv_path, "%s/data.csv", tmp_dir);
    old_int = signal(SIGINT, on_signal);
    old_term = signal(SIGTERM, on_signal);

    bp_error err = {0};
    /* rows of the safetensors file: DATA_BYTES over x's and y's bytes per row */
    int N = (int)llround(DATA_BYTES / (4.0 * ((double)c.T * 2 + 1)));
    N = N < 2 * c.B ? 2 * c.B : N;
    bp_batch *rows = make_rows(N, c.T, &err);
    if (!rows)
        return fail("making the rows", &err);
    int csv_rows = 0;
    if (write_safetensors(rows, &err) != BP_OK || write_csv(rows, &csv_rows, &err) != BP_OK) {
        bp_batch_free(rows);
        return fail("writing the files", &err);
    }
    load_fig fst = {0}, fcsv = {0};
    bp_task *file_task = NULL;
    long mismatch = 0;
    step_fig sf = {0};
    bp_status st = time_st_load(&fst, o->cpu_clock, &file_task, &err);
    const char *what = "loading the safetensors set";
    if (st == BP_OK) {
        what = "parsing the CSV set";
        st = time_csv_load(rows, csv_rows, o->cpu_clock, &fcsv, &mismatch, &err);
    }
    if (st == BP_OK) {
        what = "timing W1's steps";
        st = time_w1(&c, file_task, o, &sf, &err);
    }
    bp_task_free(file_task);
    int T = rows->T, F = rows->F, O = rows->O;
    bp_batch_free(rows);
    if (st != BP_OK)
        return fail(what, &err);
    done();

    char cpu[256];
    const char *isa;
    bench_cpu(cpu, sizeof cpu, &isa);
    double st_mbs = fst.bytes / fst.best / 1e6, csv_mbs = fcsv.bytes / fcsv.best / 1e6;
    double share = sf.draw_file_us / (1e3 * sf.file_ms), ratio = sf.file_ms / sf.gen_ms;
    bool met = share < 0.05;
    const char *clock = o->cpu_clock ? "thread CPU" : "wall";
    if (o->json) {
        json_safe(cpu);
        printf("\"data\": {\"cpu\": \"%s\", \"isa\": \"%s\",\n"
               "  \"safetensors\": {\"bytes\": %ld, \"rows\": %d, \"steps\": %d, "
               "\"features\": %d, \"seconds\": [", cpu, isa, fst.bytes, N, T, F);
        print_seconds(&fst, true);
        printf("], \"mb_per_s\": %.1f},\n  \"csv\": {\"bytes\": %ld, \"rows\": %d, \"seconds\": [",
               st_mbs, fcsv.bytes, csv_rows);
        print_seconds(&fcsv, true);
        printf("], \"mb_per_s\": %.1f, \"mismatched_values\": %ld},\n"
               "  \"step\": {\"cell\": \"%s\", \"H\": %d, \"B\": %d, \"T\": %d, \"threads\": 1, "
               "\"reps\": %d, \"steps_per_rep\": %d, \"generator_ms\": %.4f, \"file_ms\": %.4f, "
               "\"file_over_generator\": %.4f, \"draw_generator_us\": %.2f, "
               "\"draw_file_us\": %.2f, \"file_draw_share\": %.5f, \"target_met\": %s}}",
               csv_mbs, mismatch, c.cell, c.H, c.B, c.T, o->reps, BLOCK, sf.gen_ms, sf.file_ms,
               ratio, sf.draw_gen_us, sf.draw_file_us, share, met ? "true" : "false");
        return EXIT_OK;
    }
    printf("data path (%s; files written to a temporary folder just before, so in the page "
           "cache; MB = 10^6 bytes)\n"
           "cpu: %s; kernels: %s\n", BP_REAL_NAME, cpu, isa);
    printf("safetensors load  %.1f MB: x [%d, %d, %d] F32, y [%d, %d] F32; bp_task_files, "
           "valid_split 0.1 (map, check every value, split): %.3f s, %.0f MB/s  [best of %d: ",
           fst.bytes / 1e6, N, T, F, N, O, fst.best, st_mbs, LOAD_REPS);
    print_seconds(&fst, false);
    printf(" s]\n");
    printf("CSV parse         %.1f MB: %d rows of a label and %d steps x %d features (%%.9g), "
           "bp_csv_set_load: %.3f s, %.1f MB/s  [best of %d: ",
           fcsv.bytes / 1e6, csv_rows, T, F, fcsv.best, csv_mbs, LOAD_REPS);
    print_seconds(&fcsv, false);
    printf(" s]\n");
    if (mismatch)
        printf("                  WARNING: the parse differs from the floats written (%ld "
               "values%s)\n", mismatch, mismatch < 0 ? ": another shape" : "");
    printf("training step     %s H=%d B=%d T=%d, 1 thread, bp_trainer_step (draw + forward + "
           "backward + Adam): generator %.3f ms, file %.3f ms, file / generator %.3f  "
           "[median of %d blocks of %d steps after %d, %s time]\n",
           c.cell, c.H, c.B, c.T, sf.gen_ms, sf.file_ms, ratio, o->reps, BLOCK, o->warmup, clock);
    printf("batch draw        bp_task_train_batch, B=%d: generator %.1f us, file %.1f us  "
           "[median of %d blocks of %d]\n",
           c.B, sf.draw_gen_us, sf.draw_file_us, o->reps, DRAWS);
    printf("%s (%s H=%d B=%d T=%d): file data takes %.2f%% of the step (the file's batch draw / "
           "the file step; target < 5%%: %s)\n",
           !strcmp(c.cell, "rnn") && c.H == 128 && c.B == 32 && c.T == 100 ? "W1" : "this size",
           c.cell, c.H, c.B, c.T, 100 * share, met ? "met" : "missed");
    return EXIT_OK;
}
