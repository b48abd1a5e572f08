/* cmd_train.c — `bptt train MODEL.yaml`: set a run up (the model, --resume or --weights,
 * the checkpoint's path, the log), train it (train_run.c: progress, evaluations, the best
 * checkpoint, early stopping) and finish it: the checkpoint at the end, and on Ctrl-C,
 * which saves and exits. Nothing is lost silently: without --out the checkpoint goes to a
 * fresh default path, printed at the start and the end. */
#include "args.h"
#include "cli.h"
#include "dist_cli.h"
#include "train_run.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct train_opts {
    model_args model;
    const char *out, *resume, *weights, *log;
    int blas_threads; /* --blas-threads N; 0: as main.c set it */
    long more;        /* --steps +K: K steps past the checkpoint's; -1: not given */
    char steps_set[64];
    bool quiet;
} train_opts;

/* --steps +K with --resume: train.steps = the checkpoint's step + K (+0: no more steps,
 * asked for explicitly). The step is read from the checkpoint's metadata. */
static int resolve_more(train_opts *o)
{
    if (o->more < 0)
        return 0;
    if (!o->resume) {
        cli_error("train", "--steps +%ld counts steps past a checkpoint's: it needs --resume",
                  o->more);
        return -1;
    }
    bp_error err;
    bp_st_file *f = bp_st_load(o->resume, &err);
    if (!f) {
        cli_error("train", "%s", err.msg);
        return -1;
    }
    const char *s = bp_st_meta(f, "step");
    char *end;
    long step = s ? strtol(s, &end, 10) : -1;
    bool ok = s && !*end && step >= 0 && step <= 1000000000L - o->more;
    bp_st_free(f);
    if (!ok) {
        cli_error("train", "%s: its metadata has no step to count --steps +%ld from", o->resume,
                  o->more);
        return -1;
    }
    snprintf(o->steps_set, sizeof o->steps_set, "train.steps=%ld", step + o->more);
    if (o->model.n_sets == ARGS_MAX_SETS) {
        cli_error("train", "too many --set options (at most %d)", ARGS_MAX_SETS);
        return -1;
    }
    o->model.sets[o->model.n_sets++] = o->steps_set;
    return 0;
}

/* The options train has beyond the model's: --steps +K, --blas-threads N, --quiet. */
static int train_option(train_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    bool more = !strcmp(a, "--steps") && *i + 1 < argc && argv[*i + 1][0] == '+';
    if (!more && strcmp(a, "--blas-threads"))
        return strcmp(a, "--quiet") ? 0 : (o->quiet = true, 1);
    const char *v = args_value("train", argc, argv, *i);
    int n;
    if (!v || args_int("train", a, v + more, 0, more ? 1000000000 : 256, &n))
        return -1;
    if (more)
        o->more = n;
    else
        o->blas_threads = n;
    ++*i;
    return 1;
}

static int parse(int argc, char **argv, train_opts *o)
{
    const args_string strings[] = {{"--out", &o->out},         {"--resume", &o->resume},
                                   {"--weights", &o->weights}, {"--log", &o->log},
                                   {NULL, NULL}};
    o->more = -1;
    for (int i = 1; i < argc; i++) {
        int used = train_option(o, argc, argv, &i);
        if (!used)
            used = args_take("train", &o->model, strings, argc, argv, i);
        if (used < 0)
            return -1;
        if (used > 1)
            i += used - 1;
        else if (!used && args_model_file("train", &o->model, argv[i]))
            return -1;
    }
    if (o->resume && o->weights) {
        cli_error("train", "--resume continues a run; --weights starts one: pick one");
        return -1;
    }
    return resolve_more(o);
}

/* The default checkpoint: "<model name>.safetensors" in the current folder, or the first
 * of "<name>-2.safetensors", "-3", ... that does not exist: never a file already there. */
static int default_out(const bp_model_config *c, char *buf, size_t n)
{
    char stem[BP_NAME_MAX];
    snprintf(stem, sizeof stem, "%s", c->name[0] ? c->name : "model");
    for (char *p = stem; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
            *p = '_';
    struct stat st;
    for (int k = 1; k < 1000; k++) {
        if (k == 1)
            snprintf(buf, n, "%s.safetensors", stem);
        else
            snprintf(buf, n, "%s-%d.safetensors", stem, k);
        if (lstat(buf, &st) != 0 && errno == ENOENT)
            return 0;
    }
    cli_error("train", "no free default checkpoint name (%s-2 ... -999.safetensors all exist): "
              "give --out", stem);
    return -1;
}

/* keep_best without a path: the checkpoint's name with ".best" before its extension. */
static void best_beside(const char *out, char *buf, size_t n)
{
    const char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
    if (!dot || (slash && dot < slash))
        snprintf(buf, n, "%s.best", out);
    else
        snprintf(buf, n, "%.*s.best%s", (int)(dot - out), out, dot);
}

/* Every file the run writes can be written, none is an input, before step 1. */
static int check_files(const train_opts *o, const bp_model_config *c, bp_trainer *tr,
                       const char *out, const char *best)
{
    /* the checkpoint may replace --resume or --weights (read whole before step 1; the save
     * is atomic): continuing a run in place; nothing else may be an input */
    const args_file inputs[] = {{"--resume", o->resume}, {"--weights", o->weights}, {NULL, NULL}};
    const args_file log_out[] = {{"--log", o->log}, {"the best checkpoint", best}, {NULL, NULL}};
    const args_file outputs[] = {{"the checkpoint", out}, {"the best checkpoint", best},
                                 {"--log", o->log}, {NULL, NULL}};
    if (args_check_distinct("train", c, inputs, log_out) ||
        args_check_distinct("train", c, NULL, outputs) ||
        args_check_output("train", "checkpoint", out) ||
        (best && args_check_output("train", "best checkpoint", best)) ||
        (o->log && args_check_output("train", "log", o->log)))
        return EXIT_USAGE;
    bp_error err;
    if (bp_trainer_check_save(tr, out, &err) != BP_OK) { /* before step 1, not after */
        cli_error("train", "%s", err.msg);
        return err.status == BP_ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
    }
    return EXIT_OK;
}

/* The run's first lines: model, data, sizes, steps; threads; where the results go. */
static void print_start(const bp_model_config *c, bp_trainer *tr, const train_run *r)
{
    const bp_train_config *t = &bp_trainer_config(tr)->train;
    const bp_task *task = bp_trainer_task(tr);
    char data[BP_PATH_MAX + 96];
    if (bp_task_rows(task, BP_SPLIT_TRAIN))
        snprintf(data, sizeof data, "%s (%ld training, %ld validation sequence%s)",
                 c->data.files.train.x, bp_task_rows(task, BP_SPLIT_TRAIN),
                 bp_task_rows(task, BP_SPLIT_EVAL), bp_task_rows(task, BP_SPLIT_EVAL) == 1 ? "" : "s");
    else
        snprintf(data, sizeof data, "%s task", bp_task_name(task));
    printf("training %s: %s, T = %d, batch %d, %ld steps, %zu parameters (%s)\n", c->name,
           data, bp_task_steps(task), t->batch, t->steps,
           bp_params_elements(bp_trainer_params(tr)), BP_REAL_NAME);
    int used = t->threads < t->batch ? t->threads : t->batch; /* a row is not split */
    printf("threads: %d worker%s (train.threads), %d BLAS thread%s %s\n", used,
           used == 1 ? "" : "s", cli_blas_threads(), cli_blas_threads() == 1 ? "" : "s",
           used > 1 ? "in each step's serial part, 1 in each worker" : "(OpenBLAS)");
    if (cli_dist) /* docs/mpi.md */
        printf("ranks: %d MPI processes, the batch split across them (rank 0 prints and "
               "writes)\n", bp_dist_size(cli_dist));
    printf("checkpoint: %s\n", r->out);
    if (r->best)
        printf("best checkpoint: %s\n", r->best);
    fflush(stdout);
}

/* After the steps: Ctrl-C, early stopping (back to the best), the final checkpoint. */
static int finish(train_run *r, int rc)
{
    bp_trainer *tr = r->tr;
    if (r->failed)
        return rc;
    if (interrupted) {
        printf("interrupted at step %ld\n", bp_trainer_steps_done(tr));
        int src = train_run_save(tr, r->out, "checkpoint");
        return src ? src : 130;
    }
    if (bp_trainer_steps_done(tr) == r->first && (rc = train_run_report(tr, "no more steps")))
        return rc;
    const bp_train_config *t = &bp_trainer_config(tr)->train;
    if (r->early_stop) {
        printf("early stopping at step %ld: %d evaluations without improvement since step %ld\n",
               bp_trainer_steps_done(tr), t->patience, r->last.best_step);
        bp_error err;
        if (t->restore_best && bp_trainer_restore_best(tr, &err) == BP_OK)
            rc = train_run_report(tr, "best, restored");
        else if (t->restore_best)
            printf("note: %s\n", err.msg);
    }
    return rc ? rc : train_run_save(tr, r->out, "checkpoint");
}

int cmd_train(int argc, char **argv)
{
    train_opts o = {0};
    int rc = EXIT_OK;
    if (parse(argc, argv, &o))
        return EXIT_USAGE;
    if (o.blas_threads)
        cli_set_blas_threads(o.blas_threads);
    bp_model_config *c = args_load("train", &o.model, &rc);
    if (!c)
        return rc;
    bp_trainer *tr = args_trainer("train", c, o.weights, &rc);
    train_run r = {.tr = tr, .log = NULL, .quiet = o.quiet, .interrupted = &interrupted};
    char out_buf[BP_PATH_MAX + 32], best_buf[BP_PATH_MAX + 40];
    if (!tr)
        goto done;
    const bp_train_config *t = &bp_trainer_config(tr)->train;
    bp_error err;
    if (o.resume && bp_trainer_load(tr, o.resume, false, &err) != BP_OK) {
        cli_error("train", "%s", err.msg);
        rc = EXIT_USAGE;
        goto done;
    }
    if ((rc = cli_dist_attach("train", tr, c)) != EXIT_OK) /* under mpirun: same model? */
        goto done;
    r.first = bp_trainer_steps_done(tr);
    if (o.resume && r.first >= t->steps && o.more != 0) {
        cli_error("train", "%s is at step %ld and train.steps is %ld: nothing to train (give "
                  "--steps above %ld, or --steps +N for N more; bptt eval evaluates a "
                  "checkpoint)", o.resume, r.first, t->steps, r.first);
        rc = EXIT_USAGE;
        goto done;
    }
    r.out = o.out ? o.out : t->checkpoint[0] ? t->checkpoint : NULL;
    if (!r.out && default_out(c, out_buf, sizeof out_buf)) {
        rc = EXIT_USAGE;
        goto done;
    }
    r.out = r.out ? r.out : out_buf;
    if (t->keep_best && !t->keep_best_path[0])
        best_beside(r.out, best_buf, sizeof best_buf);
    r.best = !t->keep_best ? NULL : t->keep_best_path[0] ? t->keep_best_path : best_buf;
    if (cli_rank == 0 && (rc = check_files(&o, c, tr, r.out, r.best)) != EXIT_OK)
        goto done; /* rank 0 alone writes (dist_cli.h) */
    if (o.log && cli_rank == 0 && !(r.log = fopen(o.log, "w"))) {
        cli_error("train", "cannot write the log %s: %s", o.log, strerror(errno));
        rc = EXIT_USAGE;
        goto done;
    }
    if (r.log)
        train_run_log_header(r.log, tr);
    print_start(c, tr, &r);
    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = finish(&r, train_run_steps(&r));
done:
    if (r.log && fclose(r.log) != 0) { /* said even after another failure */
        cli_error("train", "could not write the log %s: %s", o.log, strerror(errno));
        rc = rc ? rc : EXIT_RUNTIME;
    }
    bp_trainer_free(tr);
    bp_model_config_free(c);
    return rc;
}
