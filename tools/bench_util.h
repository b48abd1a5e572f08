/* bench_util.h — what the `bptt bench` programs share: the clock, medians, the
 * benchmark configurations, and a training step of a one-layer recurrent net
 * (forward + backward + Adam update) through the library's trainer on 1 or more
 * threads, with the list of the sgemm calls that step made, so that the same calls
 * can be timed bare. */
#ifndef BPTT_BENCH_UTIL_H
#define BPTT_BENCH_UTIL_H

#include "bptt_models.h"

#include <stdbool.h>

#define BENCH_MAX_THREADS 2

double bench_now(void);
/* CPU time of the calling thread: immune to other processes taking the CPU. */
double bench_cpu_now(void);
/* Sorts v. */
double bench_median(double *v, int n);

/* One benchmark configuration: a cell at (H, B, T); input 2, linear readout of
 * the last step, mse. cell is "rnn" (tanh), "irnn" (relu, identity W_h), "lstm", "gru". */
typedef struct bench_cfg {
    const char *cell;
    int H, B, T;
} bench_cfg;

/* The configurations `bptt bench steps` runs (bench_util.c): every cell at every size. */
extern const char *const bench_cells[4];
extern const int bench_sizes[3][3]; /* {H, B, T}: W1, W2, the small-batch row */

/* The model a configuration names, as a model file would give it: one layer (l, which m
 * points to) on the adding task (data.task "adding", data.steps T: input 2, a readout of
 * the last step, mse), Adam at lr 1e-5 (time, not learning), train.batch B,
 * train.threads threads. A caller may point m->data elsewhere (a data file). */
void bench_model_config(const bench_cfg *c, int threads, bp_model_config *m, bp_layer_spec *l);

/* The CPU for a bench's header: /proc/cpuinfo's model name (with its family, model and
 * stepping: a VM may hide the name), and the kernel variant in use (bp_isa_current):
 * "avx512", "avx2", "baseline". */
void bench_cpu(char *model, size_t n, const char **isa);

/* One sgemm call as the tape made it (row-major CBLAS arguments). */
typedef struct bench_gemm {
    bool ta, tb;
    int M, N, K;
    const bp_real *A, *B;
    bp_real *C;
    int lda, ldb, ldc;
    bp_real beta;
    /* its matmul node's weight (input B) and which product: 'f' forward, 'a' dA += dC Bᵀ,
     * 'b' dB += Aᵀ dC; per_step: a recurrent product (forward or 'a' of a weight named
     * W_h), which the sequential floor keeps per step */
    const bp_node *w;
    char kind;
    bool per_step;
} bench_gemm;

/* One thread's share of a step, as the library's batch split (models/train/parallel.h) made
 * it: worker 0 is the trainer itself, worker k > 0 a replica on the same weights with
 * its own tape and grads. Here: the sgemm calls its tape made, for the floor. */
typedef struct bench_worker {
    bp_tape *tape; /* its tape (set after the first step: the threads start with it) */
    bench_gemm *gemms;
    int n_gemms, cap_gemms;
    bp_real *scratch[3];   /* stand-ins for grads the tape released (A, B, C operands) */
    size_t scratch_size;
    /* the sequential floor's calls (bench_seq.c) and their scratch operands */
    bench_gemm *seq;
    int n_seq, cap_seq;
    bp_real *seq_scratch[2];
    size_t seq_scratch_size;
} bench_worker;

/* A training run of the library (bp_trainer: train.threads = the thread count, the
 * adding task's shapes, Adam lr 1e-3) stepped on one fixed batch. */
typedef struct bench_trainer {
    bench_cfg cfg;
    int threads;  /* workers actually used (B = 1 cannot be split) */
    bp_trainer *tr;
    bp_batch *batch;
    bench_worker w[BENCH_MAX_THREADS];
    /* CPU seconds of the last step's and replay's critical path: the calling thread's
     * serial part plus the longest worker job (= wall time on idle cores) */
    double cpu_step, cpu_replay;
    bool seq_list; /* the replay in progress replays the sequential lists */
} bench_trainer;

/* Build the trainer (its net initialised from train.seed 1) and the batch (seeded). */
bench_trainer *bench_trainer_new(const bench_cfg *c, int threads, bp_error *err);
void bench_trainer_free(bench_trainer *b);
/* One training step, the library's own (bp_trainer_update, as bp_trainer_step runs it
 * with a fresh batch): forward + backward on every worker, grads summed, update. */
bp_status bench_step(bench_trainer *b, double *loss, bp_error *err);
/* Deferred weight gradients on or off on every worker's tape (bp_tape_set_defer). */
void bench_set_defer(bench_trainer *b, bool on);
/* The trainer's tape (worker 0's): a step releases node grads; the memory bench
 * may keep them. */
bp_tape *bench_tape(bench_trainer *b);
/* After a step: each worker's sgemm calls, read from its tape (forward in tape order,
 * then backward in reverse order, as ops/matmul.c makes them). The tapes release node
 * grads once used (bp_tape_set_keep_grads false, as a training step should): a released
 * grad operand is replayed on a scratch buffer of its size, hot as the reused buffer
 * was. Returns the total count; *flops gets 2 M N K summed over all workers' calls. */
int bench_collect_gemms(bench_trainer *b, double *flops);
/* Replay every worker's calls bare, on the tape's own buffers, each worker on its
 * thread; returns the wall time (b->cpu_replay: the longest worker's CPU time). Zeroes
 * the parameter grads it disturbed. */
double bench_replay_gemms(bench_trainer *b);
/* After bench_collect_gemms: each worker's sequential-floor list (bench_seq.c) — the
 * recurrent products (h_{t-1} W_h forward, dz_t W_hᵀ backward) as the step made them,
 * and every other weight's calls of one kind (its forward product, its dA, its weight
 * gradient) merged into one call over all their rows, on scratch operands. Returns the
 * total count of calls. */
int bench_seq_build(bench_trainer *b);
/* Replay the sequential lists as bench_replay_gemms replays the per-step ones. */
double bench_replay_seq(bench_trainer *b);
/* Append g to a growing list (aborts when out of memory). */
void bench_gemm_push(bench_gemm **list, int *n, int *cap, bench_gemm g);
/* n buffers of at least need zeroed reals each (*size: what they hold now). */
void bench_scratch_grow(bp_real **buf, int n, size_t *size, size_t need);
/* bench_seq.c: one worker's merged list from its per-step one. */
void bench_seq_worker(bench_worker *w);

/* What `bptt bench steps|memory` were asked for. */
typedef struct bench_opts {
    int threads[BENCH_MAX_THREADS]; /* thread counts to run, in order */
    int n_threads;
    int reps, warmup;               /* timed steps (median taken) and untimed ones first */
    int runs;                       /* steps: the whole table this many times (default 1) */
    bool cpu_clock;                 /* time by thread CPU clocks (critical path) */
    bool no_defer;                  /* steps: bp_tape_set_defer(false) on every tape */
    bool keep_denormals;            /* steps: bp_tape_set_flush_denormals(false) */
    const char *cell;               /* only this cell, or NULL */
    int H, B, T;                    /* only this size (0: every size) */
    long max_T;                     /* tcurve: the longest T (default 10000) */
    bool json;
} bench_opts;

/* `bptt bench tape`'s table of the recurrent step products (forward and dA), made by
 * CBLAS and by the panel kernel on a packed copy, at every configuration of bench steps
 * with two rows or more (bench_products.c). */
int bench_products(const bench_opts *o);
/* The table of training steps against the BLAS floor; the memory table (each config
 * in a fresh child process); the child's side. Return an exit status. With json, each
 * prints one JSON member ("steps": [...]) for cmd_bench to wrap. */
int bench_steps(const bench_opts *o);
int bench_tcurve(const bench_opts *o);
int bench_memory(const bench_opts *o, const char *self);
int bench_memory_child(int argc, char **argv);
/* The data path (bench_data.c): a 100 MB safetensors set loaded and a 100 MB CSV set
 * parsed (MB/s), and W1's step with file data against the generator's ("data": {...}). */
int bench_data(const bench_opts *o);
/* ns per element of the vectorised kernels in every variant this CPU runs
 * (bench_kernels.c; "kernels": {...}). */
int bench_kernels(const bench_opts *o);

/* A step with OpenBLAS on 1 thread against its own default thread count, for W1 and W2
 * (bench_blas_threads.c; "blas_threads": {...}). */
int bench_blas_threads(const bench_opts *o);
/* W2 and W1 on 1 process and on 2 MPI ranks, the exchange apart (bench_mpi.c; its own
 * options: --reps N, --rounds N; --ranks is its side under mpirun). */
int bench_mpi(int argc, char **argv);
/* The 1-minute load average from /proc/loadavg (cmd_bench.c), -1 if absent. */
double bench_load_average(void);

/* Run the program at path with argv in a child process, its stdout into out (cut to
 * size, terminated). EXIT_OK when it exited 0; errors are printed. */
int bench_run_child(const char *path, char *const argv[], char *out, size_t size);

/* Resident-size figures of this process, in KiB, from /proc/self/status (-1 if absent). */
long bench_status_kib(const char *field); /* "VmRSS", "VmHWM" */

#endif
