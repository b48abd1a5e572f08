/* bptt_models.h — a model file turned into something that trains: the model
 * configuration read from YAML, and the trainer that owns everything one run needs
 * (parameters, net, optimizer, task, random streams) and writes checkpoints.
 *
 * Including this header gives the whole public API: graph, ops, layers, optim,
 * tasks, safetensors, gradient checks of whole nets.
 *
 * Ownership: bp_model_config_load returns a config the caller frees; a trainer copies
 * what it needs from the config, so the config may be freed after bp_trainer_new.
 * Errors are values (a status or NULL, and a bp_error); nothing here prints or exits.
 */
#ifndef BPTT_MODELS_H
#define BPTT_MODELS_H

#include "bptt_arrays.h"
#include "bptt_layers.h"
#include "bptt_netcheck.h"
#include "bptt_ops.h"
#include "bptt_optim.h"
#include "bptt_plugin.h"
#include "bptt_safetensors.h"
#include "bptt_tasks.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

#define BP_PATH_MAX 1024
#define BP_NAME_MAX 64

/* ---------------------------------------------------------------- configuration */

/* data: — where batches come from: a built-in task, or data files. */
typedef struct bp_data_config {
    char task[16];             /* "adding" | "copy" | "chars" | "files" (data.train given) */
    int steps;                 /* T: the sequence length (copy: its delay T); files: theirs */
    char path[BP_PATH_MAX];    /* chars: the text file (relative to the model file) */
    bp_file_set_opts files;    /* files: the training and validation data, CSV layout */
    char loss[8];              /* the loss the model file names ("" = the targets' own) */
} bp_data_config;

/* train: — how to train. */
typedef struct bp_train_config {
    int batch;                 /* sequences per step (default 32) */
    long steps;                /* optimizer steps (default 1000) */
    double epochs;             /* > 0 and no steps given: passes over a data set's training
                                  rows, steps = ceil(epochs rows / batch) (bp_trainer_new) */
    uint64_t seed;             /* initial weights and data (default 1) */
    long eval_every;           /* evaluate on held-out data every N steps (default 100; 0: at the end only) */
    int eval_batch;            /* held-out sequences per evaluation (default 256) */
    long log_every;            /* plain progress lines off a terminal (default steps / 20) */
    char checkpoint[BP_PATH_MAX]; /* written at the end and on Ctrl-C ("" = none) */
    long checkpoint_every;     /* also every N steps (default 0: only at the end) */
    long max_memory_mb;        /* refuse a model whose run needs more (estimated before
                                  allocating; default BP_TRAIN_MAX_MEMORY_MB; 0: no limit) */
    int threads;               /* split each training batch's rows across this many
                                  threads (default 1; at most BP_TRAIN_MAX_THREADS; a
                                  batch of B < threads rows uses B): see bp_trainer_step */
    bp_optim_config optim;     /* optimizer, lr, schedule, clip_norm, clip_value, ... */
    /* early_stopping: and keep_best: (bp_trainer_observe, docs/training.md) */
    int patience;              /* > 0: stop after this many evaluations without an
                                  improvement of the monitored value (0: never stop) */
    double min_delta;          /* an improvement is by more than this (default 0) */
    bool monitor_metric;       /* watch the validation metric (accuracy: higher is better;
                                  mse: lower), not the validation loss (default) */
    bool restore_best;         /* on stopping, return to the best evaluation's state
                                  (default true) */
    bool keep_best;            /* write the best state to keep_best_path as it improves */
    char keep_best_path[BP_PATH_MAX]; /* "" with keep_best: beside the run's checkpoint,
                                  "<stem>.best.safetensors" */
} bp_train_config;

/* The bound on train.threads. */
#define BP_TRAIN_MAX_THREADS 64

/* The default of train.max_memory_mb: 4 GiB. */
#define BP_TRAIN_MAX_MEMORY_MB 4096L

/* A model file, read and checked. */
typedef struct bp_model_config {
    char name[BP_NAME_MAX];    /* name: (default: the file's stem) */
    char path[BP_PATH_MAX];    /* the file it came from */
    uint64_t hash;             /* FNV-1a of the file's bytes and the --set overrides */
    bp_net_spec net;           /* net.layers points into layers; input_size and
                                  output_size 0 = from the task; the head and
                                  tokens always follow the task's targets */
    bp_layer_spec *layers;
    bp_cell_spec *cell;        /* the graph form's cell (layers[0].cell), or NULL */
    bp_data_config data;
    bp_train_config train;
} bp_model_config;

/* Read a model file. sets[] are "key.path=value" overrides applied before checking,
 * as `bptt train --set train.lr=0.01` gives them (a sequence item by its index:
 * model.layers[0].hidden=64). Every error names file:line:column and the key, or the
 * --set that caused it; unknown keys and names come with the known ones.
 * The config is the caller's: bp_model_config_free (NULL is a no-op). Errors:
 * BP_ERR_IO (cannot read), BP_ERR_PARSE (not YAML, a wrong type, a missing key),
 * BP_ERR_VALUE / BP_ERR_NAME (a value out of range; an unknown key, layer kind, task
 * or op: the graph form knows the ops registered when it is loaded, so register
 * yours first), BP_ERR_SHAPE (a graph parameter's shape), BP_ERR_NOMEM. */
bp_model_config *bp_model_config_load(const char *path, const char *const sets[], int n_sets,
                                      bp_error *err);
void bp_model_config_free(bp_model_config *c);
/* Defaults for everything optional (what a minimal model file gets). */
void bp_train_config_default(bp_train_config *t);

/* ---------------------------------------------------------------- the trainer */

typedef struct bp_trainer bp_trainer;

/* Build the task, the parameters (initialised from train.seed), the net and the
 * optimizer. The task's input and output sizes must agree with the model's. A model
 * whose run would need more than train.max_memory_mb (parameters, optimizer state,
 * the tape of one chunk, the batches) fails with BP_ERR_VALUE "model too large: ..."
 * before its parameters or batches are allocated. Other errors: an unknown task
 * (BP_ERR_NAME) or one that cannot start (the chars task's file: BP_ERR_IO), sizes
 * that do not fit the task (BP_ERR_SHAPE), those of bp_net_new and bp_optim_new,
 * BP_ERR_NOMEM. The trainer is the caller's: bp_trainer_free (NULL is a no-op). */
bp_trainer *bp_trainer_new(const bp_model_config *c, bp_error *err);
/* The same with a task of the caller's making instead of the model file's data (which is
 * then never read): e.g. bp_task_from_signature for predicting from a checkpoint without
 * its training data. The trainer takes the task, also when it fails. */
bp_trainer *bp_trainer_new_with_task(const bp_model_config *c, bp_task *task, bp_error *err);
void bp_trainer_free(bp_trainer *tr);

/* One optimizer step on a fresh training batch: forward (in chunks for truncated
 * BPTT, the gradients of all chunks summed), backward, clip, update. *loss is the
 * batch's loss. With train.threads = N > 1 the batch's rows are split across N threads
 * (each with its own tape and gradients over the same weights), their gradients summed
 * in a fixed order before the one update: deterministic for a given N, and equal to the
 * 1-thread step up to rounding (docs/training.md, "Threads"). A NaN or Inf loss or gradient fails with BP_ERR_NONFINITE naming the
 * step and the parameter, and leaves the parameters as they were; a failed forward
 * gives the tape's error. After any failure the gradients are zeroed, so the next
 * step starts clean. info may be NULL. */
bp_status bp_trainer_step(bp_trainer *tr, double *loss, bp_step_info *info, bp_error *err);
/* Loss and metric on the fixed held-out batch (the same one every time); no update.
 * Uses the trainer's tape. Errors: those of bp_net_evaluate. */
bp_status bp_trainer_eval(bp_trainer *tr, bp_net_eval *out, bp_error *err);
/* Optimizer steps taken (including those of a loaded checkpoint). */
long bp_trainer_steps_done(const bp_trainer *tr);

/* What an evaluation means for the run (bp_trainer_observe). */
typedef struct bp_eval_verdict {
    bool improved;   /* a new best of the monitored value (train.early_stopping.monitor;
                        by more than min_delta): its state is kept, to go back to */
    bool stop;       /* early stopping: train.patience evaluations without one */
    bool lr_cut;     /* the plateau schedule cut the learning rate */
    long best_step;  /* the best evaluation's step (-1: none) */
    double best;     /* its value: a loss, an mse or an accuracy */
    int waited;      /* evaluations since the best */
} bp_eval_verdict;

/* Tell the trainer an evaluation of its current state (bp_trainer_eval's result): it
 * feeds the plateau schedule (the validation loss) and, with early stopping or keep_best,
 * tracks the best evaluation and keeps the state at it in memory (parameters, optimizer
 * state, step, data stream). A NaN value never improves. Checkpoints carry what this
 * decides from (the best's step and value, the count, the plateau's state), so a resumed
 * run decides as the uninterrupted one; their metadata gives best_step and
 * best_eval_loss (or best_metric). Errors: BP_ERR_NOMEM keeping the state. */
bp_status bp_trainer_observe(bp_trainer *tr, const bp_net_eval *ev, bp_eval_verdict *v,
                             bp_error *err);
/* Go back to the best evaluation's state, bit for bit (the step count too). BP_ERR_VALUE
 * when there is none, or when it predates the checkpoint this run resumed from (then
 * bp_trainer_load the train.keep_best file, written at the best, instead). */
bp_status bp_trainer_restore_best(bp_trainer *tr, bp_error *err);
/* The best evaluation's step, -1 before one. */
long bp_trainer_best_step(const bp_trainer *tr);

/* A checkpoint: every parameter by name, the optimizer state, the step and the data
 * stream's position, so a resumed run continues bit for bit; __metadata__ holds the
 * model's name, the step and the model file's hash. Written atomically; a failed
 * write (BP_ERR_IO naming the path) leaves any existing file untouched. */
bp_status bp_trainer_save(const bp_trainer *tr, const char *path, bp_error *err);
/* Would one forward (and, with backward, one backward) of a batch of `batch` sequences
 * of `steps` steps fit in train.max_memory_mb? The same estimate bp_trainer_new makes of
 * a training run (docs/robustness.md), for batches that come from elsewhere: a batch
 * file (bptt eval, grads, gradflow --batch) or a --size. BP_ERR_VALUE "model too large:
 * a forward of 8 sequences of 1000000 steps needs about N MiB, more than
 * train.max_memory_mb = 4096; ..." before anything is allocated. */
bp_status bp_trainer_check_batch(bp_trainer *tr, int batch, int steps, bool backward,
                                 bp_error *err);
/* Could bp_trainer_save write a checkpoint at path? Everything a save decides, checked
 * now, before a long run, without writing it: every tensor name (a parameter named like
 * the trainer's "trainer.step" or the optimizer's "adam.m.X", a control character:
 * BP_ERR_NAME), and the path as bp_file_check_output checks it (absent or a regular
 * file, a name of at most 255 bytes, a folder that takes a new file: BP_ERR_IO). The
 * message names the path. */
bp_status bp_trainer_check_save(const bp_trainer *tr, const char *path, bp_error *err);
/* Load a checkpoint written by bp_trainer_save (or weights alone: a file holding
 * just the parameters, as `bptt init` writes). Shapes are checked against the model;
 * a file that is missing a parameter, has a wrong shape or is damaged changes
 * nothing. With weights_only the optimizer state and step are left as they are.
 * Every loaded value is checked: parameters and optimizer state finite, Adam's and
 * RMSprop's means of squares not negative, the data stream's state not all zeros
 * (BP_ERR_VALUE naming the file, tensor and element).
 * Errors: those of bp_st_load (BP_ERR_IO, BP_ERR_PARSE), a missing tensor
 * (BP_ERR_NAME), a wrong shape (BP_ERR_SHAPE), each naming the file and tensor. */
bp_status bp_trainer_load(bp_trainer *tr, const char *path, bool weights_only, bp_error *err);
/* The data's signature a checkpoint's metadata holds (steps, input and output sizes, the
 * target kind, a chars vocabulary, CSV class labels), as a task without data, for
 * bp_trainer_new_with_task: predict and sample need no data files. Errors: those of
 * bp_st_load; metadata that is missing or malformed (BP_ERR_PARSE). */
bp_task *bp_checkpoint_task(const char *path, bp_error *err);
/* Parameters alone (no optimizer state), e.g. initial weights for another framework. */
bp_status bp_trainer_save_weights(const bp_trainer *tr, const char *path, bp_error *err);

/* The trainer's own objects (never free them), valid while it lives. The tape holds
 * the last forward (of a step, an eval or bp_trainer_grads) until the next one. */
bp_params *bp_trainer_params(bp_trainer *tr);
bp_net *bp_trainer_net(bp_trainer *tr);
bp_task *bp_trainer_task(bp_trainer *tr);
bp_tape *bp_trainer_tape(bp_trainer *tr);
const bp_model_config *bp_trainer_config(const bp_trainer *tr);
/* The current learning rate (after the schedule). */
double bp_trainer_lr(const bp_trainer *tr);

/* Loss and all parameter gradients for one given batch (params' grads hold the
 * result; nothing is updated). For `bptt grads` and cross-checks. The batch stays
 * the caller's; it must fit the model (else the forward's error: BP_ERR_SHAPE). */
bp_status bp_trainer_grads(bp_trainer *tr, const bp_batch *batch, double *loss, bp_error *err);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
