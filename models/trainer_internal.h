/* trainer_internal.h — the trainer's fields, shared by trainer.c and checkpoint.c. */
#ifndef BPTT_TRAINER_INTERNAL_H
#define BPTT_TRAINER_INTERNAL_H

#include "bptt_models.h"

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
};

bp_status bp_trainer_backward(bp_trainer *tr, const bp_batch *b, double *loss, bp_error *err);

#endif
