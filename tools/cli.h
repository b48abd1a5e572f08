/* cli.h — what the bptt subcommands share: the command table, exit codes, and
 * small helpers for printing errors. Only tools/ prints or exits. */
#ifndef BPTT_CLI_H
#define BPTT_CLI_H

#include "bptt_ops.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *usage;
} cli_command;

/* Print "bptt CMD: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit status for a library error: bad input (2) or runtime failure (1). */
int cli_status_exit(bp_status st);
/* Is argv[i] "--help" or "-h"? */
int cli_wants_help(int argc, char **argv);
/* OpenBLAS's threads (cli_blas.c): main sets 1 unless OPENBLAS_NUM_THREADS or
 * OMP_NUM_THREADS is set; `train --blas-threads N` sets N (0 keeps it). */
int cli_blas_threads(void);
void cli_set_blas_threads(int n);

extern const cli_command cli_commands[];
extern const int cli_n_commands;

/* --plugin FILE (any command, repeatable): cli_take_plugins takes each out of argv (argv[0]
 * the command), loads it and keeps its path in cli_plugins; -1 (printed) on a bad one. */
#define CLI_MAX_PLUGINS 16
extern const char *cli_plugins[CLI_MAX_PLUGINS];
extern int cli_n_plugins;
int cli_take_plugins(int *argc, char **argv);

/* In the float build: re-run argv in bptt-f64 (with the --plugin options it was given) (never returns on success).
 * In the double build: returns -1, meaning "run here". */
int cli_run_in_f64(int argc, char **argv);

int cmd_bench(int argc, char **argv);
extern const char cli_bench_usage[]; /* `bptt bench --help`, and its own usage errors */
int cmd_gradcheck(int argc, char **argv);
int cmd_ops(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_grads(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_gradflow(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_sample(int argc, char **argv);

#endif
