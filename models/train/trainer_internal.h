/* trainer_internal.h — the trainer's fields, shared by the files of models/train/ that
 * work on a trainer: trainer.c, checkpoint.c, parallel.c, trainer_budget.c and
 * trainer_nonfinite.c. */
#ifndef BPTT_TRAINER_INTERNAL_H
#define BPTT_TRAINER_INTERNAL_H

#include "bptt_workers.h"

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
    struct bp_workers *workers;  /* train.threads > 1: the batch split (parallel.h), made
                                    by the first split step; NULL before */
};

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

#endif
