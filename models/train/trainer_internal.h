/* trainer_internal.h — the trainer's fields, shared by the files of models/train/ that
 * work on a trainer: trainer.c, checkpoint.c, trainer_best.c, trainer_budget.c,
 * trainer_nonfinite.c and dist_train.c (the threads, parallel.c, get its net, params and
 * tape, not the trainer). */
#ifndef BPTT_TRAINER_INTERNAL_H
#define BPTT_TRAINER_INTERNAL_H

#include "bptt_workers.h"

/* The best evaluation so far and the state at it (trainer_best.c). */
typedef struct trainer_best {
    long step;          /* its step; -1: none yet */
    double value;       /* its monitored value, lower is better */
    int waited;         /* evaluations since it */
    long held;          /* the step whose state values holds (-1: none) */
    bp_real *values;    /* every parameter, then the optimizer state, flat */
    bp_rng rng;         /* the data stream then */
    double plateau[3];  /* the plateau schedule's state then */
} trainer_best;

struct bp_trainer {
    bp_model_config cfg;       /* a copy; cfg.net.layers points at layers */
    bp_layer_spec *layers;
    bp_cell_spec *cell;          /* a copy of the graph form's cell, or NULL */
    bp_task *task;
    bp_params *params;
    bp_net *net;
    bp_optim *optim;
    bp_tape *tape;
    bp_net_state *state;         /* truncated BPTT, training batch size */
    bp_net_state *scratch_state; /* truncated BPTT, any other batch size */
    bp_rng data_rng;             /* training batches: saved in checkpoints */
    bp_batch *eval_batch;        /* fixed held-out batch */
    trainer_best best;           /* bp_trainer_observe */
    struct bp_workers *workers;  /* train.threads > 1: the batch split (parallel.h), made
                                    by the first split step; NULL before */
    struct bp_dist *dist;        /* bp_trainer_set_dist: the step split across MPI ranks
                                    (dist.h), the caller's; NULL: this process alone */
    bp_net_state *dist_state;    /* truncated BPTT: this rank's rows' state */
    int dist_state_rows;
};

/* The model file's data (trainer.c): a built-in task, or its data files (as part's shard,
 * shards and CSV share say, bptt_tasks.h; NULL: whole), the split and epoch orders drawn
 * from seed. */
bp_task *bp_trainer_make_task(const bp_data_config *d, uint64_t seed,
                              const bp_file_set_opts *part, bp_error *err);
/* An evaluation in slices (trainer.c), summed in slice order: their count; slice u's
 * weighted loss, weighted metric and weight into v[3]; the sums of units slices' v[3 u..]
 * as the evaluation. One process runs every slice; MPI ranks share them (dist_train.c). */
long bp_trainer_eval_units(const bp_trainer *tr);
bp_status bp_trainer_eval_unit(bp_trainer *tr, long u, double v[3], bp_error *err);
void bp_trainer_eval_total(const bp_trainer *tr, const double *v, long units, bp_net_eval *out);
/* Forward and backward of a whole batch on the trainer's own net and tape (one thread). */
bp_status bp_trainer_backward(bp_trainer *tr, const bp_batch *b, double *loss, bp_error *err);
/* train.max_memory_mb (trainer_budget.c): the parameters alone, from the layer shapes,
 * before the net exists; then the whole run's estimate, once the net and tape exist. A
 * model over the limit fails with BP_ERR_VALUE "model too large: ...". */
bp_status bp_trainer_check_params(const bp_trainer *tr, bp_error *err);
bp_status bp_trainer_check_memory(bp_trainer *tr, bp_error *err);

/* After a step with a NaN or Inf loss (trainer_nonfinite.c): append to err->msg a
 * parameter that holds a non-finite value, or the first non-finite node of the tape
 * (still holding the last chunk) and the parameters it reads. */
void bp_trainer_explain_nonfinite(const bp_trainer *tr, bp_error *err);

/* The best-evaluation tracking's life (trainer_best.c): init in bp_trainer_new, free in
 * bp_trainer_free. Its part of a checkpoint: tensors "trainer.best" and "trainer.plateau"
 * (F64 [3] each, their values in store, which must outlive the writer's save) and the
 * metadata best_step and best_eval_loss or best_metric; read back into out[6] (checked,
 * defaults when the file has none), then committed once the whole load has succeeded
 * (after the step is set). */
void bp_trainer_best_init(bp_trainer *tr);
void bp_trainer_best_free(bp_trainer *tr);
bp_status bp_trainer_best_write(const bp_trainer *tr, bp_st_writer *w, double store[6],
                                bp_error *err);
bp_status bp_trainer_best_read(const bp_st_file *f, const char *path, double out[6],
                               bp_error *err);
void bp_trainer_best_commit(bp_trainer *tr, const double in[6]);

#endif
