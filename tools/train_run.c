/* train_run.c — see train_run.h. */
#include "train_run.h"
#include "cli.h"
#include "dist_cli.h"
#include "eval_report.h"
#include "progress.h"

#include <math.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The metric an evaluation gives: accuracy for class targets, else the mse. */
static const char *metric_name(const bp_trainer *tr)
{
    return bp_target_is_class(bp_task_target(bp_trainer_task((bp_trainer *)tr))) ? "accuracy"
                                                                                   : "mse";
}

void train_run_log_header(FILE *log, const bp_trainer *tr)
{
    fprintf(log, "step,loss,grad_norm,clipped,lr,elapsed_s,eval_loss,eval_%s,baseline_loss,"
            "baseline_%s\n", metric_name(tr), metric_name(tr));
}

/* The task's baselines as the log's last two cells: its loss's, and its metric's (a value
 * task's mse is its loss; a built-in class task has none: empty). */
static void baseline_cells(const bp_trainer *tr, char *s, size_t n)
{
    const bp_task *task = bp_trainer_task((bp_trainer *)tr);
    double loss = bp_task_baseline(task), metric = bp_task_baseline_metric(task);
    if (isnan(metric) && !bp_target_is_class(bp_task_target(task)))
        metric = loss;
    int k = isnan(loss) ? snprintf(s, n, ",") : snprintf(s, n, "%.8g,", loss);
    if (!isnan(metric) && k >= 0 && (size_t)k < n)
        snprintf(s + k, n - (size_t)k, "%.8g", metric);
}

int train_run_save(bp_trainer *tr, const char *path, const char *what)
{
    bp_error err;
    if (cli_rank != 0) /* under mpirun rank 0 alone writes: every rank holds the same */
        return EXIT_OK;
    if (bp_trainer_save(tr, path, &err) != BP_OK) {
        cli_error("train", "could not save the %s: %s", what, err.msg);
        return EXIT_RUNTIME;
    }
    printf("saved %s %s (step %ld)\n", what, path, bp_trainer_steps_done(tr));
    return EXIT_OK;
}

/* "loss 0.51234  accuracy 0.90000  (baseline ...: loss 0.69315, accuracy 0.50000)" */
static void print_scores(bp_trainer *tr, long step, const bp_net_eval *ev, const char *tail)
{
    char base[256];
    eval_baseline_text(bp_trainer_task(tr), 5, base, sizeof base);
    printf("eval  step %ld: loss %.5f  %s %.5f  (baseline %s)%s\n", step, ev->loss,
           ev->metric_name, ev->metric, base, tail);
    fflush(stdout);
}

int train_run_report(bp_trainer *tr, const char *what)
{
    bp_net_eval ev;
    bp_error err;
    if (bp_trainer_eval(tr, &ev, &err) != BP_OK) {
        cli_error("train", "evaluation of the %s: %s", what, err.msg);
        return EXIT_RUNTIME;
    }
    char tail[64];
    snprintf(tail, sizeof tail, "  [%s]", what);
    print_scores(tr, bp_trainer_steps_done(tr), &ev, tail);
    return EXIT_OK;
}

/* What the verdict says, after the scores: " · best", " · lr cut to 1e-04", ... */
static void verdict_tail(const bp_trainer *tr, const bp_eval_verdict *v, char *s, size_t n)
{
    const bp_train_config *t = &bp_trainer_config(tr)->train;
    size_t k = 0;
    s[0] = '\0';
    if (v->improved && (t->patience || t->keep_best))
        k += (size_t)snprintf(s + k, n - k, "  · best so far");
    else if (t->patience)
        k += (size_t)snprintf(s + k, n - k, "  · best %.5f at step %ld, %d of %d without "
                              "improvement", v->best, v->best_step, v->waited, t->patience);
    if (v->lr_cut && k < n)
        snprintf(s + k, n - k, "  · plateau: lr cut to %.3g", bp_trainer_lr(tr));
}

/* Evaluate at step, print it, feed the verdict; the eval columns of the step's log row. */
static int evaluate(train_run *r, long step, char *cols, size_t n)
{
    bp_net_eval ev;
    bp_error err;
    if (bp_trainer_eval(r->tr, &ev, &err) != BP_OK ||
        bp_trainer_observe(r->tr, &ev, &r->last, &err) != BP_OK) {
        cli_error("train", "evaluation at step %ld: %s", step, err.msg);
        return EXIT_RUNTIME;
    }
    char tail[192];
    verdict_tail(r->tr, &r->last, tail, sizeof tail);
    print_scores(r->tr, step, &ev, tail);
    char base[64];
    baseline_cells(r->tr, base, sizeof base);
    snprintf(cols, n, "%.8g,%.8g,%s", ev.loss, ev.metric, base);
    if (r->last.improved && r->best)
        return train_run_save(r->tr, r->best, "best checkpoint");
    return EXIT_OK;
}

/* After step: the log row, the evaluation and a periodic checkpoint when due. */
static int after_step(train_run *r, progress *bar, long step, double loss,
                      const bp_step_info *info)
{
    const bp_train_config *t = &bp_trainer_config(r->tr)->train;
    int rc = EXIT_OK;
    char cols[128] = ",,,";
    bool eval = step == t->steps || (t->eval_every && step % t->eval_every == 0);
    bool ckpt = t->checkpoint_every && step % t->checkpoint_every == 0 && step < t->steps;
    if (eval || ckpt)
        progress_clear(bar);
    if (eval && (rc = evaluate(r, step, cols, sizeof cols)) != EXIT_OK)
        return rc;
    if (r->log)
        fprintf(r->log, "%ld,%.8g,%.8g,%d,%.8g,%.3f,%s\n", step, loss, info->grad_norm,
                info->clipped, info->lr, now() - r->t0, cols);
    if (ckpt && !(eval && r->last.stop))
        rc = train_run_save(r->tr, r->out, "checkpoint");
    if (eval || ckpt)
        progress_redraw(bar);
    return rc;
}

int train_run_steps(train_run *r)
{
    bp_trainer *tr = r->tr;
    const bp_train_config *t = &bp_trainer_config(tr)->train;
    bp_error err;
    progress bar;
    r->t0 = now();
    progress_start(&bar, bp_trainer_steps_done(tr), t->steps, r->quiet,
                   t->log_every ? t->log_every : (t->steps >= 20 ? t->steps / 20 : 1));
    int rc = EXIT_OK;
    while (bp_trainer_steps_done(tr) < t->steps && !*r->interrupted) {
        double loss;
        bp_step_info info;
        if (bp_trainer_step(tr, &loss, &info, &err) != BP_OK) {
            progress_end(&bar);
            cli_error("train", "%s", err.msg);
            r->failed = true; /* the last checkpoint on disk, if any, is untouched */
            return err.status == BP_ERR_NONFINITE ? EXIT_RUNTIME : cli_status_exit(err.status);
        }
        long step = bp_trainer_steps_done(tr);
        progress_update(&bar, step, loss, info.grad_norm, info.clipped);
        if ((rc = after_step(r, &bar, step, loss, &info)) != EXIT_OK) {
            r->failed = true;
            break;
        }
        if (r->last.stop) {
            r->early_stop = true;
            break;
        }
    }
    progress_end(&bar);
    return rc;
}
