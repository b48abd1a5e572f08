/* train_run.h — the training loop of `bptt train`: steps with progress, the CSV log, the
 * evaluations and what they decide (the best checkpoint, the plateau schedule, early
 * stopping), periodic checkpoints. cmd_train.c sets a run up and finishes it. */
#ifndef BPTT_TRAIN_RUN_H
#define BPTT_TRAIN_RUN_H

#include "bptt_models.h"

#include <signal.h>
#include <stdio.h>

typedef struct train_run {
    bp_trainer *tr;
    const char *out;                   /* the checkpoint */
    const char *best;                  /* train.keep_best's file, or NULL */
    FILE *log;                         /* the CSV log, or NULL */
    bool quiet;
    volatile sig_atomic_t *interrupted; /* set by Ctrl-C or SIGTERM */
    double t0;                         /* the run's start, for the elapsed column */
    long first;                        /* the step it starts from */
    /* results */
    bool failed;                       /* a step, an evaluation or a save failed: the run
                                          ended early, the last checkpoint untouched */
    bool early_stop;                   /* early stopping ended it */
    bp_eval_verdict last;              /* the last evaluation's verdict */
} train_run;

/* The log's header line: step,loss,grad_norm,clipped,lr,elapsed_s,eval_loss,
 * eval_<metric>,baseline_loss,baseline_<metric> (the metric accuracy or mse; the task's
 * baselines, empty where it has none). */
void train_run_log_header(FILE *log, const bp_trainer *tr);
/* Run the steps until train.steps, Ctrl-C or early stopping; an evaluation every
 * eval_every steps and at the last step. Returns the exit status so far. */
int train_run_steps(train_run *r);
/* Save the trainer to path ("saved PATH (step N)"); EXIT_RUNTIME when that fails. */
int train_run_save(bp_trainer *tr, const char *path, const char *what);
/* Evaluate and print "eval  step N: ..." (no log row, no verdict): the restored best. */
int train_run_report(bp_trainer *tr, const char *what);

#endif
