/* bptt_tasks.h — built-in data: the adding problem, the copying memory task and
 * next-character prediction over a text file. Every batch is drawn from a bp_rng,
 * so the same seed gives bit-identical batches on every machine.
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

/* The longest sequence a task accepts (T). */
#define BP_TASK_MAX_T 1000000

typedef struct bp_task bp_task;
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

/* A fresh batch of B sequences drawn with rng (eval split = held-out data for chars;
 * for the generated tasks a separate stream derived from rng, so train and eval
 * batches drawn from the same rng state differ). NULL and err for B < 1, an unknown
 * split or a NULL rng (BP_ERR_VALUE), BP_ERR_NOMEM. */
bp_batch *bp_task_batch(bp_task *t, int B, bp_split split, bp_rng *rng, bp_error *err);

const char *bp_task_name(const bp_task *t);  /* "adding", "copy", "chars" */
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

#ifdef __cplusplus
}
#endif

#endif
