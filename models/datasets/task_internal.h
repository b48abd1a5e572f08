/* task_internal.h — what the built-in tasks share (not installed). */
#ifndef BPTT_TASK_INTERNAL_H
#define BPTT_TASK_INTERNAL_H

#include "bptt_tasks.h"

struct bp_task {
    const char *name;
    const char *baseline_name;
    int T;                  /* the task's length setting */
    int steps;              /* steps per sequence in its batches */
    int F;                  /* input features (1 for tokens) */
    bool tokens;
    int n_in;               /* input size: F, or the vocabulary size */
    bp_target_kind target;
    int O;
    double baseline;
    /* Fill b (allocated with the sizes above) for the split. */
    bp_status (*fill)(const bp_task *t, bp_batch *b, bp_split split, bp_rng *rng, bp_error *err);
    /* chars only */
    char *path;
    unsigned char *text;    /* the whole file */
    size_t len, train_len;  /* train: [0, train_len), eval: [train_len, len) */
    int n_vocab;
    unsigned char vocab[256];
    int id_of[256];         /* -1 where the byte is not in the file */
    /* data sets from files (task_files.c), and signatures (no data) */
    struct file_set *files;
    bool signature_only;
    int n_classes;          /* CSV classes: class id -> label value */
    double *class_values;
    double baseline_metric;
};

/* The data sets' parts (task_files.c). */
void bp_file_set_free(struct file_set *f);
bp_status bp_file_set_fill(const bp_task *t, bp_batch *b, bp_split split, const long *rows,
                           bp_error *err);

/* A sharded data set's input size agreed across the ranks (dist_train.c): the largest of
 * every rank's (a token data set's vocabulary; the feature count of others is the same
 * on every rank). */
void bp_task_agree_inputs(bp_task *t, int input_size);
/* The shards a data set was opened as (bptt_tasks.h), *shard this one; 0: whole. */
int bp_task_shards(const bp_task *t, int *shard);

/* A data set's largest token id (tokens) or class id, said with its place for an error:
 * "tok.safetensors: x[2, 1] is token 9", "y.npy: y[2] is 7", "s.csv: its labels are 3
 * classes". False where this process holds no such place: a signature, or a sharded set
 * whose largest token id is in another rank's rows. */
bool bp_task_largest_id_at(const bp_task *t, bool tokens, char *buf, size_t n);

/* A data set's classes widened to the model's (bp_trainer_new_with_task): a model may name
 * more classes than the data holds; its batches then carry them all, and the baseline's
 * prior is over them. No-op for fewer, or for value targets. */
void bp_task_widen_classes(bp_task *t, int O);

/* A zeroed task, or NULL and err. */
bp_task *bp_task_alloc(const char *name, bp_error *err);
/* 1 <= lo <= T <= BP_TASK_MAX_T, else BP_ERR_VALUE naming the task. */
bp_status bp_task_check_T(const char *name, int T, int lo, bp_error *err);

#endif
