/* cmd_train.c — `bptt train MODEL.yaml`: train with live progress, held-out
 * evaluation, a CSV log and checkpoints (at the end, every train.checkpoint_every
 * steps, and on Ctrl-C, which saves and exits). */
#include "args.h"
#include "cli.h"
#include "progress.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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
    bool quiet;
} train_opts;

static int parse(int argc, char **argv, train_opts *o)
{
    const args_string strings[] = {{"--out", &o->out},         {"--resume", &o->resume},
                                   {"--weights", &o->weights}, {"--log", &o->log},
                                   {NULL, NULL}};
    for (int i = 1; i < argc; i++) {
        int used = args_take("train", &o->model, strings, argc, argv, i);
        if (used < 0)
            return -1;
        if (used) {
            i += used - 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            o->quiet = true;
        } else if (args_model_file("train", &o->model, argv[i])) {
            return -1;
        }
    }
    if (o->resume && o->weights) {
        cli_error("train", "--resume continues a run; --weights starts one: pick one");
        return -1;
    }
    return 0;
}

static void print_eval(bp_trainer *tr, long step, FILE *log, int *exit_code)
{
    bp_net_eval ev;
    bp_error err;
    if (bp_trainer_eval(tr, &ev, &err) != BP_OK) {
        cli_error("train", "evaluation at step %ld: %s", step, err.msg);
        *exit_code = EXIT_RUNTIME;
        return;
    }
    const bp_task *task = bp_trainer_task(tr);
    printf("eval  step %ld: loss %.5f  %s %.5f  (baseline %s %.5f)\n", step, ev.loss,
           ev.metric_name, ev.metric, bp_task_baseline_name(task), bp_task_baseline(task));
    fflush(stdout);
    if (log)
        fprintf(log, "%ld,,,,,%.8g,%.8g\n", step, ev.loss, ev.metric);
}

/* Save to path, saying so; a failed save is a runtime failure that loses nothing. */
static int save(bp_trainer *tr, const char *path)
{
    bp_error err;
    if (bp_trainer_save(tr, path, &err) != BP_OK) {
        cli_error("train", "could not save the checkpoint: %s", err.msg);
        return EXIT_RUNTIME;
    }
    printf("saved %s (step %ld)\n", path, bp_trainer_steps_done(tr));
    return EXIT_OK;
}

/* The run's first line: model, data, sizes, steps. */
static void print_start(const bp_model_config *c, bp_trainer *tr)
{
    const bp_train_config *t = &bp_trainer_config(tr)->train;
    const bp_task *task = bp_trainer_task(tr);
    char threads[32] = "";
    int used = t->threads < t->batch ? t->threads : t->batch; /* a row is not split */
    if (used > 1)
        snprintf(threads, sizeof threads, " split across %d threads", used);
    char data[BP_PATH_MAX + 96];
    if (bp_task_rows(task, BP_SPLIT_TRAIN))
        snprintf(data, sizeof data, "%s (%ld training, %ld validation sequences)",
                 c->data.files.train.x, bp_task_rows(task, BP_SPLIT_TRAIN),
                 bp_task_rows(task, BP_SPLIT_EVAL));
    else
        snprintf(data, sizeof data, "%s task", bp_task_name(task));
    printf("training %s: %s, T = %d, batch %d%s, %ld steps, %zu parameters (%s)\n", c->name,
           data, bp_task_steps(task), t->batch, threads, t->steps,
           bp_params_elements(bp_trainer_params(tr)), BP_REAL_NAME);
    fflush(stdout);
}

/* The steps, with progress, the log, periodic checkpoints and evaluations, until the
 * last step or Ctrl-C; the exit status so far, and *stopped when a failed step or save
 * ended the run early. */
static int run_steps(bp_trainer *tr, const char *out, FILE *log, bool quiet, bool *stopped)
{
    const bp_train_config *t = &bp_trainer_config(tr)->train;
    int rc = EXIT_OK;
    bp_error err;
    progress bar;
    progress_start(&bar, bp_trainer_steps_done(tr), t->steps, quiet,
                   t->log_every ? t->log_every : (t->steps >= 20 ? t->steps / 20 : 1));
    while (bp_trainer_steps_done(tr) < t->steps && !interrupted) {
        double loss;
        bp_step_info info;
        if (bp_trainer_step(tr, &loss, &info, &err) != BP_OK) {
            progress_end(&bar);
            cli_error("train", "%s", err.msg);
            *stopped = true; /* the last checkpoint on disk, if any, is untouched */
            return err.status == BP_ERR_NONFINITE ? EXIT_RUNTIME : cli_status_exit(err.status);
        }
        long step = bp_trainer_steps_done(tr);
        if (log)
            fprintf(log, "%ld,%.8g,%.8g,%d,%.8g,,\n", step, loss, info.grad_norm, info.clipped,
                    info.lr);
        progress_update(&bar, step, loss, info.grad_norm, info.clipped);
        if (out && t->checkpoint_every && step % t->checkpoint_every == 0 && step < t->steps) {
            progress_clear(&bar);
            if ((rc = save(tr, out)) != EXIT_OK) {
                progress_end(&bar);
                *stopped = true; /* the previous checkpoint, if any, is untouched */
                return rc;
            }
            progress_redraw(&bar);
        }
        if (t->eval_every && step % t->eval_every == 0 && step < t->steps) {
            progress_clear(&bar);
            print_eval(tr, step, log, &rc);
            progress_redraw(&bar);
        }
    }
    progress_end(&bar);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    train_opts o = {0};
    int rc = EXIT_OK;
    if (parse(argc, argv, &o))
        return EXIT_USAGE;
    bp_model_config *c = args_load("train", &o.model, &rc);
    if (!c)
        return rc;
    bp_trainer *tr = args_trainer("train", c, o.weights, &rc);
    FILE *log = NULL;
    if (!tr)
        goto done;
    const bp_train_config *t = &bp_trainer_config(tr)->train;
    const char *out = o.out ? o.out : t->checkpoint[0] ? t->checkpoint : NULL;
    bp_error err;
    if (o.resume && bp_trainer_load(tr, o.resume, false, &err) != BP_OK) {
        cli_error("train", "%s", err.msg);
        rc = EXIT_USAGE;
        goto done;
    }
    if (o.resume && bp_trainer_steps_done(tr) >= t->steps) { /* else: nothing, and exit 0 */
        cli_error("train", "%s is at step %ld and train.steps is %ld: nothing to train (give "
                  "--steps above %ld; bptt eval evaluates a checkpoint)", o.resume,
                  bp_trainer_steps_done(tr), t->steps, bp_trainer_steps_done(tr));
        rc = EXIT_USAGE;
        goto done;
    }
    /* the checkpoint may replace --resume or --weights (read whole before step 1; the save
     * is atomic): continuing a run in place; nothing else may be an input */
    const args_file inputs[] = {{"--resume", o.resume}, {"--weights", o.weights}, {NULL, NULL}};
    const args_file log_out[] = {{"--log", o.log}, {NULL, NULL}};
    const args_file outputs[] = {{"the checkpoint", out}, {"--log", o.log}, {NULL, NULL}};
    if (args_check_distinct("train", c, inputs, log_out) ||
        args_check_distinct("train", c, NULL, outputs) ||
        (out && args_check_output("train", "checkpoint", out)) ||
        (o.log && args_check_output("train", "log", o.log))) {
        rc = EXIT_USAGE;
        goto done;
    }
    if (out && bp_trainer_check_save(tr, out, &err) != BP_OK) { /* before step 1, not after */
        cli_error("train", "%s", err.msg);
        rc = err.status == BP_ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
        goto done;
    }
    if (o.log && !(log = fopen(o.log, "w"))) {
        cli_error("train", "cannot write the log %s: %s", o.log, strerror(errno));
        rc = EXIT_USAGE;
        goto done;
    }
    if (log)
        fprintf(log, "step,loss,grad_norm,clipped,lr,eval_loss,eval_metric\n");
    print_start(c, tr);
    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bool stopped = false;
    rc = run_steps(tr, out, log, o.quiet, &stopped);
    if (stopped)
        goto done;
    if (interrupted) {
        printf("interrupted at step %ld\n", bp_trainer_steps_done(tr));
        const char *path = out ? out : "interrupted.safetensors";
        int src = save(tr, path);
        rc = src ? src : 130;
        goto done;
    }
    print_eval(tr, bp_trainer_steps_done(tr), log, &rc);
    if (out && !rc)
        rc = save(tr, out);
done:
    if (log && fclose(log) != 0 && !rc) {
        cli_error("train", "could not write the log %s: %s", o.log, strerror(errno));
        rc = EXIT_RUNTIME;
    }
    bp_trainer_free(tr);
    bp_model_config_free(c);
    return rc;
}
