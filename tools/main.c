/* main.c — `bptt COMMAND ...`: dispatch to a subcommand. */
#include "cli.h"
#include "dist_cli.h"

#include <cblas.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BPTT_VERSION
#define BPTT_VERSION "unknown"
#endif

const cli_command cli_commands[] = {
    {"train", "train a model file, with progress, evaluation and checkpoints", cmd_train,
     "bptt train MODEL.yaml [--steps N | --steps +K] [--seed S] [--set key.path=value]...\n"
     "                  [--out CKPT] [--resume CKPT | --weights W] [--log metrics.csv]\n"
     "                  [--threads N] [--blas-threads N] [--quiet]\n"
     "  --out: default <model name>.safetensors here, or <name>-2..., never an existing file\n"
     "  --steps +K: K steps past --resume's checkpoint (+0: none, asked for)\n"
     "  --threads: train.threads, each batch split across N threads\n"
     "  --blas-threads: OpenBLAS's threads (default 1, or OPENBLAS_NUM_THREADS)"},
    {"eval", "loss and the task's metric on held-out data (or on --batch)", cmd_eval,
     "bptt eval MODEL.yaml --weights CKPT [--batch B.safetensors] [--set key.path=value]..."},
    {"predict", "outputs of a trained model for every sequence of a data file", cmd_predict,
     "bptt predict MODEL.yaml --weights W --input FILE [--lengths L.npy] --out OUT\n"
     "             [--set key.path=value]...\n"
     "  FILE: .safetensors (x, optional lengths), .npy (x; --lengths: its int [N] lengths)\n"
     "  or .csv (the model's CSV layout; labels ignored). OUT by its extension:\n"
     "  .safetensors (probs or values, class, lengths), .npy (the outputs; a classifier's\n"
     "  arg-max also in OUT-stem.class.npy) or .csv (one line per sequence, or per step of\n"
     "  a per-step model)."},
    {"sample", "text from a character model (or token ids), primed, with a temperature", cmd_sample,
     "bptt sample MODEL.yaml --weights W [--prime TEXT] [--length N (200)]\n"
     "                   [--temperature T (1)] [--seed S (train.seed)]\n"
     "  The vocabulary comes from the checkpoint: no text file is read. A per-step token\n"
     "  model of a data file (model.output = its vocab) samples token ids, space-separated;\n"
     "  its --prime is ids too ('3 1 4')."},
    {"summary", "layers, output shapes, parameter counts, tape nodes per step", cmd_summary,
     "bptt summary MODEL.yaml [--set key.path=value]..."},
    {"init", "write the initial weights (from train.seed)", cmd_init,
     "bptt init MODEL.yaml --out W.safetensors [--seed S] [--set key.path=value]..."},
    {"batch", "write a batch of the model's task", cmd_batch,
     "bptt batch MODEL.yaml --out B.safetensors [--size N] [--split train|eval] [--seed S]"},
    {"grads", "write the loss and every parameter's gradient for one batch", cmd_grads,
     "bptt grads MODEL.yaml --weights W --batch B --out G.safetensors"},
    {"bench", "measure the tape, the ops and training steps against bare BLAS", cmd_bench,
     cli_bench_usage},
    {"gradcheck", "check gradients against finite differences, in double precision",
     cmd_gradcheck,
     "bptt gradcheck MODEL.yaml [--weights W] [--batch B.safetensors | --batch-size N]\n"
     "                       [--sample N] [--eps E] [--atol A] [--rtol R] [--seed S]\n"
     "                       [--set key.path=value]...\n"
     "       bptt gradcheck --ops\n"
     "  Every parameter's gradient (or --sample N elements of each: the largest gradients\n"
     "  and a draw seeded by train.seed) against central differences of the loss over all\n"
     "  steps. Elements whose +-eps perturbation crosses an op's kink (relu at 0) are\n"
     "  reported apart as non-smooth, with the layer and step; the rest are judged by\n"
     "  |analytic - numeric| <= atol + rtol |numeric| (defaults eps 1e-6, atol 1e-5, rtol\n"
     "  1e-3). Exit 1 when a judged element fails."},
    {"ops", "list every registered op with its formula", cmd_ops, "bptt ops"},
    {"gradflow", "how much gradient reaches each earlier step: table, CSV and SVG", cmd_gradflow,
     "bptt gradflow MODEL.yaml [--weights CKPT] [MODEL.yaml [--weights CKPT]]...\n"
     "                     [--variant 'NAME:key.path=value,...']... [--set key.path=value]...\n"
     "                     [--seed S] [--batch B.safetensors | --size N] [--svg FILE]\n"
     "                     [--csv FILE] [--title TEXT] [--f32]\n"
     "  For one batch with the loss at the last step: per recurrent layer and step k,\n"
     "  ||dL/dh_k|| and ||step k's term of dL/dW_h||, by distance T-1-k from the loss.\n"
     "  One curve per model file, or per --variant (NAME, then --set overrides separated\n"
     "  by commas): a variant after a model file is that model's own; one before any\n"
     "  model file applies to every model without its own. --weights: right after its\n"
     "  model file.\n"
     "  The batch: --batch FILE, else drawn from the task with train.seed (--size N rows).\n"
     "  Measured in double precision (bptt-f64) unless --f32. See docs/experiments.md."},
    {"graph", "the tape unrolled over K steps, as Graphviz DOT", cmd_graph,
     "bptt graph MODEL.yaml --steps K [--dot FILE] [--size B] [--set key.path=value]...\n"
     "  One cluster per time step; every parameter is one node read by every step (blue\n"
     "  edges); red edges carry the hidden state to the next step; skip nodes orange,\n"
     "  clip_grad nodes red, the loss a double octagon. Render: dot -Tsvg FILE -o g.svg"},
    {"plot", "draw training logs: loss and gradient norm, clipping marked (SVG)", cmd_plot,
     "bptt plot METRICS.csv... --svg FILE [--label NAME]... [--smooth N] [--title TEXT]\n"
     "  METRICS.csv: the log of `bptt train --log` (step,loss,grad_norm,clipped,lr,\n"
     "  eval_loss,eval_metric); several files draw several runs on one figure.\n"
     "  --label      the legend name of each file, in order (default: the file's stem)\n"
     "  --smooth N   plot a trailing moving average over N steps (default 1: raw)"},
};
const int cli_n_commands = sizeof cli_commands / sizeof cli_commands[0];

void cli_error(const char *cmd, const char *fmt, ...)
{
    /* one write per line, so the lines of MPI ranks sharing a stderr never interleave */
    char line[4096];
    int n = snprintf(line, sizeof line, "bptt %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && n < (int)sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

int cli_status_exit(bp_status st)
{
    switch (st) {
    case BP_OK: return EXIT_OK;
    case BP_ERR_NONFINITE:
    case BP_ERR_NOMEM:
    case BP_ERR_IO: return EXIT_RUNTIME;
    default: return EXIT_USAGE;
    }
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "bptt %s (%s) — reverse-mode autodiff and backpropagation through time\n\n"
               "usage: bptt COMMAND [ARGS]   (bptt COMMAND --help for more)\n\ncommands:\n",
            BPTT_VERSION, BP_REAL_NAME);
    for (int i = 0; i < cli_n_commands; i++)
        fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fprintf(f, "\nevery command: --plugin LIB.so (repeatable) loads the ops of a shared library\n"
               "(docs/extending.md)\n");
    fprintf(f, "\nexit status: 0 success, 1 runtime failure, 2 bad input or usage\n");
}

int main(int argc, char **argv)
{
    /* a write past `ulimit -f` becomes an error (EFBIG) that we report, not a kill */
    signal(SIGXFSZ, SIG_IGN);
    /* One BLAS thread unless the user says otherwise: a step's products are small, so
     * OpenBLAS's own threads cost more than they give and make run times erratic on a
     * shared machine; train.threads splits the batch across cores instead. */
    if (!getenv("OPENBLAS_NUM_THREADS") && !getenv("OMP_NUM_THREADS"))
        openblas_set_num_threads(1);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    /* BPTT_ISA forces a kernel variant (docs/benchmarks.md): one this CPU cannot run, or
     * an unknown name, is refused before any command runs */
    bp_error isa_err;
    if (bp_isa_select_env(&isa_err) != BP_OK) {
        fprintf(stderr, "bptt: %s\n", isa_err.msg);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("bptt %s (%s)\n", BPTT_VERSION, BP_REAL_NAME);
        return EXIT_OK;
    }
    for (int i = 0; i < cli_n_commands; i++) {
        if (strcmp(argv[1], cli_commands[i].name))
            continue;
        int n = argc - 1;
        if (cli_take_plugins(&n, argv + 1))
            return EXIT_USAGE;
        argc = n + 1;
        if (cli_wants_help(argc - 1, argv + 1)) {
            printf("usage: %s\n\n%s\n", cli_commands[i].usage, cli_commands[i].summary);
            return EXIT_OK;
        }
        if (cli_dist_start(argc - 1, argv + 1)) /* under mpirun: dist_cli.h */
            return EXIT_USAGE;
        return cli_dist_end(cli_commands[i].run(argc - 1, argv + 1));
    }
    fprintf(stderr, "bptt: unknown command '%s'; known:", argv[1]);
    for (int i = 0; i < cli_n_commands; i++)
        fprintf(stderr, " %s", cli_commands[i].name);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
}
