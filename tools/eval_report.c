/* eval_report.c — `bptt eval`'s report beyond its first line. */
#include "eval_report.h"
#include "predict_out.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_MATRIX = 32 }; /* classes shown as a matrix; more: per-class accuracy only */

/* Add batch b's predictions to the counts: conf[true * O + predicted]. */
static bp_status count_batch(bp_trainer *tr, const bp_batch *b, long *conf, int O, bp_error *err)
{
    bool seq = bp_target_per_step(b->target);
    size_t n_vec = (size_t)b->B * (size_t)(seq ? b->T : 1);
    bp_real *out = malloc((n_vec * (size_t)O + 1) * sizeof *out);
    if (!out)
        return bp_error_set(err, BP_ERR_NOMEM, "eval: out of memory");
    bp_status st = bp_net_predict(bp_trainer_net(tr), bp_trainer_tape(tr), b, NULL, out, err);
    for (int r = 0; st == BP_OK && r < b->B; r++)
        for (int t = 0; t < (seq ? bp_batch_len(b, r) : 1); t++) {
            size_t v = seq ? (size_t)r * b->T + t : (size_t)r;
            const bp_real *p = out + v * (size_t)O;
            int best = 0;
            for (int c = 1; c < O; c++)
                best = p[c] > p[best] ? c : best;
            int truth = (int)b->y[v];
            if (truth >= 0 && truth < O)
                conf[(size_t)truth * O + best]++;
        }
    free(out);
    return st;
}

static void print_matrix(const bp_task *task, const long *conf, int O)
{
    printf("confusion matrix (rows: the true class, columns: the predicted one)\n%8s", "");
    char name[48];
    for (int c = 0; c < O; c++) {
        predict_class_name(task, c, 6, name, sizeof name);
        printf(" %6s", name);
    }
    printf("  accuracy\n");
    for (int r = 0; r < O; r++) {
        long total = 0;
        predict_class_name(task, r, 6, name, sizeof name);
        printf("%8s", name);
        for (int c = 0; c < O; c++) {
            printf(" %6ld", conf[(size_t)r * O + c]);
            total += conf[(size_t)r * O + c];
        }
        if (total)
            printf("  %.4f\n", (double)conf[(size_t)r * O + r] / (double)total);
        else
            printf("  -\n");
    }
}

/* The confusion matrix of the rows evaluated: the given batch, or a data set's whole
 * validation split. */
static bp_status confusion(bp_trainer *tr, const bp_batch *given, int O, bp_error *err)
{
    bp_task *task = bp_trainer_task(tr);
    long *conf = calloc((size_t)O * O, sizeof *conf);
    if (!conf)
        return bp_error_set(err, BP_ERR_NOMEM, "eval: out of memory");
    bp_status st = BP_OK;
    if (given) {
        st = count_batch(tr, given, conf, O, err);
    } else {
        long n = bp_task_rows(task, BP_SPLIT_EVAL);
        int chunk = bp_trainer_config(tr)->train.eval_batch;
        for (long first = 0; st == BP_OK && first < n; first += chunk) {
            int count = (int)(n - first < chunk ? n - first : chunk);
            bp_batch *b = bp_task_slice(task, BP_SPLIT_EVAL, first, count, err);
            st = b ? count_batch(tr, b, conf, O, err) : err->status;
            bp_batch_free(b);
        }
    }
    if (st == BP_OK && O <= MAX_MATRIX)
        print_matrix(task, conf, O);
    free(conf);
    return st;
}

void eval_baseline_text(const bp_task *task, int digits, char *buf, size_t n)
{
    double m = bp_task_baseline_metric(task);
    if (bp_target_is_class(bp_task_target(task)) && !isnan(m))
        snprintf(buf, n, "%s: loss %.*f, accuracy %.*f", bp_task_baseline_name(task), digits,
                 bp_task_baseline(task), digits, m);
    else
        snprintf(buf, n, "%s: %.*f", bp_task_baseline_name(task), digits, bp_task_baseline(task));
}

bp_status eval_report(bp_trainer *tr, const bp_batch *given, const bp_net_eval *ev, bp_error *err)
{
    const bp_task *task = bp_trainer_task(tr);
    const bp_net_spec *s = bp_net_spec_of(bp_trainer_net(tr));
    bp_target_kind target = given ? given->target : bp_task_target(task);
    if (s->tokens && target == BP_TARGET_CLASS_SEQ)
        printf("per token: perplexity %.4f  bits %.4f\n", exp(ev->loss), ev->loss / log(2.0));
    bool files = !strcmp(bp_task_name(task), bp_task_kind_name(BP_TASK_FILES));
    if (files && !given) {
        double m = bp_task_baseline_metric(task);
        printf("baseline (the data set's own, %s): loss %.6f  %s %.6f\n",
               bp_task_baseline_name(task), bp_task_baseline(task), ev->metric_name, m);
    }
    if (bp_target_is_class(target) && (files || given) && !(s->tokens && target == BP_TARGET_CLASS_SEQ))
        return confusion(tr, given, s->output_size, err);
    return BP_OK;
}
