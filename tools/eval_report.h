/* eval_report.h — what `bptt eval` prints beyond the loss and the metric: perplexity and
 * bits per token for token models, the data set's own baseline, and for classifiers the
 * confusion matrix over the evaluated rows. */
#ifndef BPTT_EVAL_REPORT_H
#define BPTT_EVAL_REPORT_H

#include "bptt_models.h"

/* The task's baseline after its name, each number said: "NAME: loss L, accuracy A" where
 * a class task has the majority class's accuracy beside the prior's loss, else "NAME: L"
 * (digits after the point). */
void eval_baseline_text(const bp_task *task, int digits, char *buf, size_t n);
/* given: the --batch evaluated, or NULL for the trainer's held-out data. Returns a
 * status; errors are printed by the caller. */
bp_status eval_report(bp_trainer *tr, const bp_batch *given, const bp_net_eval *ev, bp_error *err);

#endif
