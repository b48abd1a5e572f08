/* args.h — the options every model command shares: MODEL.yaml, --set, --seed,
 * --steps, --threads, and reading the model file with them. */
#ifndef BPTT_ARGS_H
#define BPTT_ARGS_H

#include "bptt_models.h"

#define ARGS_MAX_SETS 64

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
/* Load the model file with the overrides; prints the error and returns NULL. */
bp_model_config *args_load(const char *cmd, const model_args *a, int *exit_code);
/* Build a trainer for the config (and load --weights when given); prints errors. */
bp_trainer *args_trainer(const char *cmd, const bp_model_config *c, const char *weights,
                         int *exit_code);

/* The trainer of a checkpoint, from its metadata's task (no data read) when it has one,
 * else from the model file's data (cmd_predict.c); prints errors. */
bp_trainer *predict_trainer(const char *cmd, const bp_model_config *c, const char *weights,
                            int *rc);

/* Can a file be written at path? Creates and removes a temporary file beside it, so a
 * long run learns of a bad --out before it starts. Prints the error and returns -1. */
int args_check_output(const char *cmd, const char *what, const char *path);

#endif
