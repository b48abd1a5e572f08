/* bptt_tasks.h — where batches come from: the built-in tasks (the adding problem, the
 * copying memory task, next-character prediction over a text file) and data sets read
 * from files (safetensors, NumPy .npy, CSV). Every batch is drawn from a bp_rng or a
 * seeded order, so the same seed gives bit-identical batches on every machine.
 *
 * Ownership: a bp_task owns its data (the chars task keeps the file in memory);
 * each bp_task_batch returns a new bp_batch the caller frees with bp_batch_free.
 */
#ifndef BPTT_TASKS_H
#define BPTT_TASKS_H

#include "bptt_graph.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

/* The longest sequence a task accepts (T). */
#define BP_TASK_MAX_T 1000000

typedef struct bp_task bp_task;

/* Where batches come from, one line each: X(ID, name, default T, least T, its loss). The
 * model file's data.task takes the built-in ones; data.train makes "files". */
#define BP_TASK_LIST(X)                                                                    \
    X(ADDING, "adding", 100, 2, "mse")                                                     \
    X(COPY, "copy", 100, 1, "xent")                                                        \
    X(CHARS, "chars", 64, 1, "xent")                                                       \
    X(FILES, "files", 0, 0, NULL) /* the targets decide */
#define BP_LIST_ENUM_TASK(id, name, T, lo, loss) BP_TASK_##id,
#define BP_LIST_COUNT_TASK(id, name, T, lo, loss) +1
typedef enum bp_task_kind { BP_TASK_LIST(BP_LIST_ENUM_TASK) } bp_task_kind;
enum { BP_TASK_KIND_COUNT = 0 BP_TASK_LIST(BP_LIST_COUNT_TASK) };
const char *bp_task_kind_name(bp_task_kind k);  /* "?" out of range */
bool bp_task_kind_parse(const char *name, bp_task_kind *k);
typedef enum { BP_SPLIT_TRAIN, BP_SPLIT_EVAL } bp_split;

/* Adding problem (Hochreiter & Schmidhuber 1997), 2 <= T: per step x = (value ~ U[0,1),
 * marker); the marker is 1 at one random step in each half of the sequence; y [B, 1]
 * is the sum of the two marked values. x [B, T, 2], y [B, 1] values. */
bp_task *bp_task_adding(int T, bp_error *err);
/* Copying memory (Arjovsky, Shah & Bengio 2016), 1 <= T: tokens [B, T+20] in 0..9
 * (0..7 symbols, 8 blank, 9 delimiter): 10 symbols, T-1 blanks, delimiter, 10 blanks;
 * y [B, T+20] classes (10): blank for the first T+10 steps, then the 10 symbols. */
bp_task *bp_task_copy(int T, bp_error *err);
/* Next character over a text file, 1 <= T: tokens [B, T] (ids into the vocabulary,
 * the file's distinct bytes in increasing order); y [B, T] the next character's id.
 * The first 90% of the file is BP_SPLIT_TRAIN, the last 10% BP_SPLIT_EVAL; each
 * part must hold at least T + 1 bytes. A file with a NUL byte is refused as binary. */
bp_task *bp_task_chars(const char *path, int T, bp_error *err);
/* The constructors return NULL and err for T out of range (BP_ERR_VALUE), a text file
 * that cannot be read (BP_ERR_IO) or does not fit (empty, binary, too short:
 * BP_ERR_VALUE), BP_ERR_NOMEM. The task is the caller's: bp_task_free (NULL is a
 * no-op). */
void bp_task_free(bp_task *t);

/* ---------------------------------------------------------------- data files */

#define BP_TASK_PATH_MAX 1024

/* One set of sequences on disk: a .safetensors file (tensors x, y, optional lengths), a
 * CSV file in the UCR/UEA layout (one sequence per row, its label in the first or last
 * cell; shorter sequences end in empty cells or NaN), or NumPy .npy files, one per array.
 * The format follows the x file's extension. */
typedef struct bp_file_source {
    char x[BP_TASK_PATH_MAX];       /* the file ("" = none) */
    char y[BP_TASK_PATH_MAX];       /* .npy only: the targets */
    char lengths[BP_TASK_PATH_MAX]; /* .npy only, optional: int [N] lengths */
} bp_file_source;

typedef struct bp_file_set_opts {
    bp_file_source train;
    bp_file_source valid;    /* x "": the validation rows come off the training file */
    double valid_fraction;   /* in [0, 1): that share of the training rows, drawn with seed */
    int valid_last;          /* > 0: or the file's last rows (a fixed held-out split) */
    uint64_t seed;           /* the fraction's draw and each epoch's order */
    int csv_features;        /* CSV: values per step I (default 1) */
    bool csv_label_last;     /* CSV: the label is the last cell (default: the first) */
    int csv_header;          /* CSV: -1 auto (default), 0 none, 1 the first row is one */
    bool csv_values;         /* CSV: the label is a value to regress, not a class */
    /* For prediction: read x (and lengths) only -- y may be absent and is not read (a CSV's
     * label cell is skipped); the batches get zero targets of this kind and width. */
    bool inputs_only;
    bp_target_kind target;
    int O;
    /* > 0: a token id of x at or above it is refused, naming its place (predict: the
     * model's vocabulary); 0: any id, the vocabulary the largest + 1. */
    int vocab;
    /* Data-parallel ranks (bp_trainer_new_dist sets these; 0 of 0 or 1: the whole set).
     * This process is part `shard` of `shards`: of x it checks only its part of each
     * file's rows (bp_batch_share), and a training batch gets x and y only in its rows
     * of the batch (the others zero; every row's length is set). y and lengths are
     * checked whole (the baseline and the class count need them). The largest token id
     * is then that of the checked rows: the ranks agree on it (bp_trainer_new_dist). */
    int shard, shards;
    /* With shards, a CSV file (text, with no index a shard could seek by) is read and
     * parsed by shard 0 alone when share is set: its parsed cells, or its error, reach the
     * other shards through share, a collective broadcast of `bytes` bytes of buf on shard
     * 0 into buf on every other (bp_trainer_new_dist's, over MPI). Every shard makes the
     * same calls whatever fails on it, so none waits for ever. NULL: each parses it. */
    bp_status (*share)(void *ctx, void *buf, size_t bytes, bp_error *err);
    void *share_ctx;
} bp_file_set_opts;

void bp_file_set_opts_default(bp_file_set_opts *o);

/* A data set from files ("files"). Targets: y [N, O] float values or [N] int classes
 * (read from the last step), [N, T] int classes or [N, T, O] float values (every step).
 * x [N, T, I] float (or [N, T], I = 1) or [N, T] int token ids. Everything is checked
 * before a batch is made: shapes against each other, lengths in [1, T], finite x and
 * values within each sequence, whole non-negative ids; errors name the file and the
 * place (row, step; CSV file:row:column). The validation set must have the training
 * set's steps, features and target kind. CSV class labels are mapped to ids 0..K-1 in
 * increasing order of their values (bp_task_class_value gives them back); other formats
 * store the ids themselves. Errors: BP_ERR_IO, BP_ERR_PARSE, BP_ERR_SHAPE, BP_ERR_VALUE,
 * BP_ERR_NOMEM. */
bp_task *bp_task_files(const bp_file_set_opts *o, bp_error *err);

/* What a trained model needs to know of its data, without the data: for predict and
 * sample, rebuilt from a checkpoint's metadata. Its batches are refused (BP_ERR_VALUE). */
typedef struct bp_task_signature {
    char name[16];          /* the task it stands for */
    int steps;              /* T */
    int input_size;         /* features, or the vocabulary size */
    bool tokens;
    bp_target_kind target;
    int output_size;
    int n_vocab;            /* chars: the vocabulary */
    unsigned char vocab[256];
    int n_classes;          /* CSV classes: their label values (0: ids are the labels) */
    const double *class_values;
} bp_task_signature;
bp_task *bp_task_from_signature(const bp_task_signature *s, bp_error *err);
void bp_task_signature_of(const bp_task *t, bp_task_signature *s); /* class_values: t's */

/* Rows of a split (0 for the generated tasks, which have no fixed rows) and rows
 * [first, first + count) of it, in file order (for evaluation over a whole validation
 * set, and prediction). NULL and err out of range or BP_ERR_NOMEM. */
long bp_task_rows(const bp_task *t, bp_split split);
bp_batch *bp_task_slice(bp_task *t, bp_split split, long first, int count, bp_error *err);
/* The training batch of optimizer step `step`: a data set's rows [step B, step B + B) of
 * its stream, in which epoch e is every training row once in an order drawn from
 * (seed, e); the generated tasks draw from rng (bp_task_batch). */
bp_batch *bp_task_train_batch(bp_task *t, int B, long step, bp_rng *rng, bp_error *err);
/* Does the task hold data to draw batches from? (A signature does not.) */
bool bp_task_has_data(const bp_task *t);
/* The class label value of class id k (CSV data sets; else k itself). A CSV set's class
 * beyond its labels (a model with more classes than the data holds) has none: NaN. */
double bp_task_class_value(const bp_task *t, int k);
/* The baseline's metric beside bp_task_baseline's loss: the majority class's accuracy, or
 * the MSE of predicting the training mean; NaN for the built-in tasks. */
double bp_task_baseline_metric(const bp_task *t);

/* A fresh batch of B sequences drawn with rng (eval split = held-out data for chars;
 * for the generated tasks a separate stream derived from rng, so train and eval
 * batches drawn from the same rng state differ). NULL and err for B < 1, an unknown
 * split or a NULL rng (BP_ERR_VALUE), BP_ERR_NOMEM. */
bp_batch *bp_task_batch(bp_task *t, int B, bp_split split, bp_rng *rng, bp_error *err);

const char *bp_task_name(const bp_task *t);  /* "adding", "copy", "chars", "files" */
int bp_task_input_size(const bp_task *t);   /* F, or the vocabulary size for token tasks */
bool bp_task_tokens(const bp_task *t);
int bp_task_output_size(const bp_task *t);  /* O: target width or number of classes */
bp_target_kind bp_task_target(const bp_task *t);
int bp_task_steps(const bp_task *t);        /* sequence length of its batches */
/* The memoryless baseline: adding 1/6 (MSE of always predicting 1); copy 10 ln 8 / (T + 20)
 * (xent); chars: ln(vocab) (uniform) — with a name for printing. */
double bp_task_baseline(const bp_task *t);
const char *bp_task_baseline_name(const bp_task *t);
/* Character vocabulary (chars task): id -> byte; returns its size (0 for other tasks). */
int bp_task_vocab(const bp_task *t, unsigned char *bytes /* 256 */);
/* The id of a byte in the chars vocabulary, or -1 when the file has no such byte. */
int bp_task_char_id(const bp_task *t, unsigned char byte);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
