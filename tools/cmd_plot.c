/* cmd_plot.c — `bptt plot METRICS.csv... --svg FILE`: of one or more training logs (as
 * `bptt train --log` writes them: step,loss,grad_norm,clipped,lr,elapsed_s,eval_loss,
 * eval_<metric>,baseline_loss,baseline_<metric>, an evaluation on the row of its step), the
 * training and held-out loss and the global gradient norm on log-scale axes, with the
 * steps where clipping fired marked along the bottom of the gradient panel; the learning
 * rate; and the held-out metric; each beside the task's baseline where the log has one (a
 * dashed line). Logs of older versions, with
 * evaluations on rows of their own and eval_metric, plot too. */
#include "args.h"
#include "cli.h"
#include "csv.h"
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_MAX_FILES 10

typedef struct run_log {
    const char *path;
    char label[128];
    int n, n_eval, n_clipped;
    double *step, *loss, *gnorm, *lr; /* [n] training rows (lr NaN in a log without it) */
    double *eval_step, *eval_loss, *eval_metric; /* [n_eval] */
    double *clip_step;           /* [n_clipped] */
    char metric[32];             /* the metric's name: "accuracy", "mse", or "metric" */
    double baseline[2];          /* the task's baselines of the loss and the metric, NaN
                                    when not logged */
    double base_x[2], base_y[2][2]; /* each as a line across the evaluations */
} run_log;

typedef struct plot_opts {
    const char *files[PLOT_MAX_FILES];
    const char *labels[PLOT_MAX_FILES];
    int n_files, n_labels;
    const char *svg, *title;
    int smooth;
} plot_opts;

static int parse(int argc, char **argv, plot_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes = !strcmp(a, "--svg") || !strcmp(a, "--label") || !strcmp(a, "--title") ||
                     !strcmp(a, "--smooth");
        if (takes && (i + 1 >= argc || !argv[i + 1][0])) {
            cli_error("plot", "%s needs a value", a);
            return -1;
        }
        if (!strcmp(a, "--svg")) {
            o->svg = argv[++i];
        } else if (!strcmp(a, "--title")) {
            o->title = argv[++i];
        } else if (!strcmp(a, "--label")) {
            if (o->n_labels == PLOT_MAX_FILES) {
                cli_error("plot", "at most %d --label options", PLOT_MAX_FILES);
                return -1;
            }
            o->labels[o->n_labels++] = argv[++i];
        } else if (!strcmp(a, "--smooth")) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000000) {
                cli_error("plot", "--smooth takes a window of 1 to 1000000 steps, not '%s'",
                          argv[i]);
                return -1;
            }
            o->smooth = (int)v;
        } else if (a[0] == '-' && a[1]) {
            cli_error("plot", "unknown option '%s' (see bptt plot --help)", a);
            return -1;
        } else {
            if (o->n_files == PLOT_MAX_FILES) {
                cli_error("plot", "at most %d metrics files", PLOT_MAX_FILES);
                return -1;
            }
            o->files[o->n_files++] = a;
        }
    }
    if (!o->n_files) {
        cli_error("plot", "which log? usage: bptt plot METRICS.csv... --svg FILE");
        return -1;
    }
    if (!o->svg) {
        cli_error("plot", "--svg FILE is required");
        return -1;
    }
    if (o->n_labels && o->n_labels != o->n_files) {
        cli_error("plot", "%d --label options for %d files: give one per file or none",
                  o->n_labels, o->n_files);
        return -1;
    }
    return 0;
}

static void log_free(run_log *r)
{
    free(r->step);
    free(r->loss);
    free(r->gnorm);
    free(r->lr);
    free(r->eval_step);
    free(r->eval_loss);
    free(r->eval_metric);
    free(r->clip_step);
}

/* The file's name without folder and .csv: "runs/clip.csv" -> "clip". */
static void stem(const char *path, char *out, size_t n)
{
    const char *s = strrchr(path, '/');
    snprintf(out, n, "%s", s ? s + 1 : path);
    size_t len = strlen(out);
    if (len > 4 && !strcmp(out + len - 4, ".csv"))
        out[len - 4] = '\0';
}

/* Trailing moving average over w values (w <= 1: unchanged). */
static void smooth(double *v, int n, int w)
{
    if (w <= 1)
        return;
    double *src = malloc((size_t)n * sizeof *src);
    if (!src)
        return;
    memcpy(src, v, (size_t)n * sizeof *src);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        sum += src[i];
        if (i >= w)
            sum -= src[i - w];
        v[i] = sum / (i + 1 < w ? i + 1 : w);
    }
    free(src);
}

/* The metric's columns: eval_<metric> (and baseline_<metric>), or an older log's
 * eval_metric. */
static void metric_columns(const csv_table *t, run_log *r, int *cm, int cb[2])
{
    *cm = csv_column(t, "eval_metric");
    cb[0] = csv_column(t, "baseline_loss");
    cb[1] = -1;
    snprintf(r->metric, sizeof r->metric, "metric");
    for (int c = 0; *cm < 0 && c < t->n_cols; c++)
        if (!strncmp(t->names[c], "eval_", 5) && strcmp(t->names[c], "eval_loss")) {
            *cm = c;
            snprintf(r->metric, sizeof r->metric, "%s", t->names[c] + 5);
            char base[48];
            snprintf(base, sizeof base, "baseline_%s", r->metric);
            cb[1] = csv_column(t, base);
        }
}

static int alloc_log(run_log *r, size_t n)
{
    double **v[] = {&r->step, &r->loss, &r->gnorm, &r->lr, &r->eval_step, &r->eval_loss,
                    &r->eval_metric, &r->clip_step};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (!(*v[i] = malloc(n * sizeof(double)))) {
            cli_error("plot", "out of memory");
            return -1;
        }
    return 0;
}

/* Each row: a training step (its loss), an evaluation (its eval_loss), or both. */
static void read_rows(const csv_table *t, run_log *r, int cm, const int cb[2])
{
    int cs = csv_column(t, "step"), cl = csv_column(t, "loss"), cg = csv_column(t, "grad_norm"),
        cc = csv_column(t, "clipped"), ce = csv_column(t, "eval_loss"), cr = csv_column(t, "lr");
    r->baseline[0] = r->baseline[1] = NAN;
    for (int i = 0; i < t->n_rows; i++) {
        double s = csv_cell(t, i, cs), l = csv_cell(t, i, cl), e = csv_cell(t, i, ce);
        if (!isnan(l)) {
            r->step[r->n] = s;
            r->loss[r->n] = l;
            r->lr[r->n] = cr >= 0 ? csv_cell(t, i, cr) : NAN;
            r->gnorm[r->n++] = csv_cell(t, i, cg);
            if (csv_cell(t, i, cc) > 0)
                r->clip_step[r->n_clipped++] = s;
        }
        if (!isnan(e)) {
            r->eval_step[r->n_eval] = s;
            r->eval_metric[r->n_eval] = csv_cell(t, i, cm);
            r->eval_loss[r->n_eval++] = e;
            for (int k = 0; k < 2; k++)
                if (cb[k] >= 0 && !isnan(csv_cell(t, i, cb[k])))
                    r->baseline[k] = csv_cell(t, i, cb[k]);
        }
    }
}

static int load(const char *path, const char *label, run_log *r)
{
    char err[512];
    csv_table *t = csv_read(path, err, sizeof err);
    if (!t) {
        cli_error("plot", "%s", err);
        return -1;
    }
    const char *need[] = {"step", "loss", "grad_norm", "clipped"};
    for (int i = 0; i < 4; i++)
        if (csv_column(t, need[i]) < 0) {
            cli_error("plot", "%s: no column '%s' (a training log has step,loss,grad_norm,"
                      "clipped,lr,elapsed_s,eval_loss,eval_<metric>)", path, need[i]);
            csv_free(t);
            return -1;
        }
    r->path = path;
    if (label)
        snprintf(r->label, sizeof r->label, "%s", label);
    else
        stem(path, r->label, sizeof r->label);
    int cm, cb[2];
    metric_columns(t, r, &cm, cb);
    if (alloc_log(r, (size_t)t->n_rows + 1)) {
        csv_free(t);
        return -1;
    }
    read_rows(t, r, cm, cb);
    csv_free(t);
    if (!r->n && !r->n_eval) {
        cli_error("plot", "%s: no training or evaluation rows", path);
        return -1;
    }
    return 0;
}

static double median(const double *v, int n)
{
    double *s = malloc((size_t)(n ? n : 1) * sizeof *s);
    if (!s || !n) {
        free(s);
        return NAN;
    }
    memcpy(s, v, (size_t)n * sizeof *s);
    for (int i = 1; i < n; i++) /* insertion sort: logs are short */
        for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
            double x = s[j];
            s[j] = s[j - 1];
            s[j - 1] = x;
        }
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

static void summary(const run_log *r)
{
    printf("%-20s %7d steps", r->label, r->n);
    if (r->n) {
        double mx = 0;
        for (int i = 0; i < r->n; i++)
            mx = fmax(mx, r->gnorm[i]);
        printf("  last loss %-10.4g  grad norm median %-9.3g max %-9.3g  clipped %d (%.1f%%)",
               r->loss[r->n - 1], median(r->gnorm, r->n), mx, r->n_clipped,
               100.0 * r->n_clipped / r->n);
    }
    if (r->n_eval)
        printf("  last eval loss %.4g metric %.4g", r->eval_loss[r->n_eval - 1],
               r->eval_metric[r->n_eval - 1]);
    printf("\n");
}

/* The panels' curves, filled from the logs. */
typedef struct plot_curves {
    svg_curve loss[2 * PLOT_MAX_FILES], held[PLOT_MAX_FILES], grad[PLOT_MAX_FILES],
        lr[PLOT_MAX_FILES], metric[2 * PLOT_MAX_FILES];
    svg_rug rugs[PLOT_MAX_FILES];
    char eval_label[PLOT_MAX_FILES][160], rug_label[PLOT_MAX_FILES][200],
        base_label[2][PLOT_MAX_FILES][200];
    int nl, nh, ng, nlr, nm, nr;
} plot_curves;

static void add_curves(run_log *r, int i, plot_curves *c)
{
    if (r->n) {
        c->loss[c->nl++] = (svg_curve){r->label, r->step, r->loss, r->n, SVG_LINE, i};
        c->grad[c->ng++] = (svg_curve){r->label, r->step, r->gnorm, r->n, SVG_LINE, i};
        if (!isnan(r->lr[0]))
            c->lr[c->nlr++] = (svg_curve){r->label, r->step, r->lr, r->n, SVG_LINE, i};
    }
    if (r->n_eval) {
        snprintf(c->eval_label[i], sizeof c->eval_label[i], "%s (held-out)", r->label);
        c->held[c->nh++] = (svg_curve){c->eval_label[i], r->eval_step, r->eval_loss, r->n_eval,
                                       r->n_eval > 1 ? SVG_LINE : SVG_DOTS, i};
        c->metric[c->nm++] = (svg_curve){r->label, r->eval_step, r->eval_metric, r->n_eval,
                                         SVG_LINE, i};
    }
    for (int k = 0; k < 2 && r->n_eval; k++) { /* the baselines: the loss's, the metric's */
        if (isnan(r->baseline[k]))
            continue;
        r->base_x[0] = r->eval_step[0];
        r->base_x[1] = r->eval_step[r->n_eval - 1];
        r->base_y[k][0] = r->base_y[k][1] = r->baseline[k];
        snprintf(c->base_label[k][i], sizeof c->base_label[k][i], "%s: the task's baseline %.4g",
                 r->label, r->baseline[k]);
        svg_curve line = {c->base_label[k][i], r->base_x, r->base_y[k], 2, SVG_DASHED, i};
        if (k == 0)
            c->loss[c->nl++] = line;
        else
            c->metric[c->nm++] = line;
    }
    if (r->n_clipped) {
        snprintf(c->rug_label[i], sizeof c->rug_label[i], "%s: clipped %d of %d", r->label,
                 r->n_clipped, r->n);
        c->rugs[c->nr++] = (svg_rug){c->rug_label[i], r->clip_step, r->n_clipped, i};
    }
}

/* The training loss and gradient norm always; the held-out loss (on a linear axis of its
 * own, where overfitting shows), the learning rate and the metric when a log has them. */
static int draw(const plot_opts *o, const run_log *logs, const plot_curves *c)
{
    char loss_title[256], grad_title[64], metric_title[96], metric_axis[64];
    snprintf(loss_title, sizeof loss_title, "%s%sloss%s", o->title ? o->title : "",
             o->title ? ": " : "", o->smooth > 1 ? " (training: moving average)" : "");
    snprintf(grad_title, sizeof grad_title, "global gradient norm, before clipping%s",
             o->smooth > 1 ? " (moving average)" : "");
    snprintf(metric_title, sizeof metric_title, "held-out %s", logs[0].metric);
    snprintf(metric_axis, sizeof metric_axis, "%s", logs[0].metric);
    svg_panel panels[5] = {
        {loss_title, "training step", "loss (log scale)", true, c->loss, c->nl, NULL, 0},
    };
    int n = 1;
    if (c->nh)
        panels[n++] = (svg_panel){"held-out loss", "training step", "loss", false, c->held,
                                  c->nh, NULL, 0};
    panels[n++] = (svg_panel){grad_title, "training step", "||grad|| (log scale)", true, c->grad,
                              c->ng, c->rugs, c->nr};
    if (c->nlr)
        panels[n++] = (svg_panel){"learning rate", "training step", "lr (log scale)", true,
                                  c->lr, c->nlr, NULL, 0};
    if (c->nm)
        panels[n++] = (svg_panel){metric_title, "training step", metric_axis, false, c->metric,
                                  c->nm, NULL, 0};
    svg_figure fig = {0, 0, panels, n};
    if (svg_save(o->svg, &fig)) {
        cli_error("plot", "cannot write %s: %s", o->svg, strerror(errno));
        return EXIT_RUNTIME;
    }
    printf("wrote %s\n", o->svg);
    return EXIT_OK;
}

int cmd_plot(int argc, char **argv)
{
    plot_opts o = {0};
    if (parse(argc, argv, &o))
        return EXIT_USAGE;
    run_log logs[PLOT_MAX_FILES] = {0};
    static plot_curves c;
    memset(&c, 0, sizeof c);
    int rc = EXIT_OK;
    args_file inputs[PLOT_MAX_FILES + 1] = {{NULL, NULL}};
    for (int i = 0; i < o.n_files; i++)
        inputs[i] = (args_file){"the log", o.files[i]};
    const args_file outputs[] = {{"--svg", o.svg}, {NULL, NULL}};
    if (args_check_distinct("plot", NULL, inputs, outputs) ||
        args_check_output("plot", "figure", o.svg))
        return EXIT_USAGE;
    for (int i = 0; i < o.n_files; i++) {
        if (load(o.files[i], o.n_labels ? o.labels[i] : NULL, &logs[i])) {
            rc = EXIT_USAGE;
            goto done;
        }
        run_log *r = &logs[i];
        summary(r);
        smooth(r->loss, r->n, o.smooth);
        smooth(r->gnorm, r->n, o.smooth);
        add_curves(r, i, &c);
    }
    rc = draw(&o, logs, &c);
done:
    for (int i = 0; i < o.n_files; i++)
        log_free(&logs[i]);
    return rc;
}
