/* args.h — the options every model command shares: MODEL.yaml, --set, --seed,
 * --steps, --threads, and reading the model file with them. */
#ifndef BPTT_ARGS_H
#define BPTT_ARGS_H

#include "bptt_models.h"

#define ARGS_MAX_SETS 64
/* The most sequences --size may ask for: train.batch's own bound. */
#define ARGS_MAX_BATCH (1 << 20)

typedef struct model_args {
    const char *model;                 /* the YAML file */
    const char *sets[ARGS_MAX_SETS];   /* key.path=value overrides, in order */
    int n_sets;
    char owned[4][64];                 /* --seed / --steps / --threads turned into sets */
    int n_owned;
} model_args;

/* Take argv[i] (and its value) when it is a model option: --set K=V, --seed S,
 * --steps N, --threads N (train.threads). Returns how many argv entries it used (0 = not a model option,
 * -1 = a usage error, already printed). */
int args_model_option(const char *cmd, model_args *a, int argc, char **argv, int i);
/* An option that takes a string value: "--out" stores its value in *slot. */
typedef struct args_string {
    const char *name;
    const char **slot;
} args_string;

/* Take argv[i] when it is a model option or one of strings[] (NULL-name ended),
 * with its value. Returns the argv entries used: 0 = neither, -1 = a usage error
 * (printed). */
int args_take(const char *cmd, model_args *a, const args_string *strings, int argc, char **argv,
              int i);
/* Take the positional MODEL.yaml; -1 (printed) when a second one comes. */
int args_model_file(const char *cmd, model_args *a, const char *arg);
/* The value after an option that needs one (printed error and NULL when missing). */
const char *args_value(const char *cmd, int argc, char **argv, int i);
/* v as a whole number in [lo, hi] into *out: all of it ("4abc" and "4294967297" are
 * refused, not read as 4 and 1). Prints "bptt CMD: OPT takes a whole number from LO to
 * HI, not 'V'" and returns -1. */
int args_int(const char *cmd, const char *opt, const char *v, int lo, int hi, int *out);
/* Load the model file with the overrides; prints the error and returns NULL. */
bp_model_config *args_load(const char *cmd, const model_args *a, int *exit_code);
/* Build a trainer for the config (and load --weights when given); prints errors. */
bp_trainer *args_trainer(const char *cmd, const bp_model_config *c, const char *weights,
                         int *exit_code);

/* The trainer of a checkpoint, from its metadata's task (no data read) when it has one,
 * else from the model file's data (cmd_predict.c); prints errors. */
bp_trainer *predict_trainer(const char *cmd, const bp_model_config *c, const char *weights,
                            int *rc);

/* Can the batch b read from the file source run on the trainer's model: class ids for a
 * classifier and values for a regression, its input and targets those of the net
 * (bp_net_check_batch), and the memory estimate (bp_trainer_check_batch)
 * of its B and T within train.max_memory_mb? b NULL: a batch of `batch` sequences of
 * `steps` steps drawn from the model file source (--size). Prints "bptt CMD: SOURCE:
 * ..." and returns -1. */
int args_check_batch(const char *cmd, bp_trainer *tr, const char *source, const bp_batch *b,
                     int batch, int steps, bool backward);

/* Can a file be written at path? Creates and removes a temporary file beside it, so a
 * long run learns of a bad --out before it starts. Prints the error and returns -1. */
int args_check_output(const char *cmd, const char *what, const char *path);

/* A file a command reads or writes, for args_check_distinct: what it is ("--log") and its
 * path (NULL: not given). Lists end with a NULL what. */
typedef struct args_file {
    const char *what;
    const char *path;
} args_file;

/* The one "inputs and outputs of this run are distinct files" check, by device and inode
 * (a link or another spelling of a path is the same file): no output may be the model
 * file, a data file it names (c may be NULL), one of inputs[], or another output, since
 * writing it would destroy what the run reads. Prints the error and returns -1. */
int args_check_distinct(const char *cmd, const bp_model_config *c, const args_file *inputs,
                        const args_file *outputs);

#endif
