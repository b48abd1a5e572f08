/* train_config.c — the defaults a minimal model file gets. */
#include "bptt_models.h"

#include <stdlib.h>

void bp_train_config_default(bp_train_config *t)
{
    *t = (bp_train_config){
        .batch = 32,
        .steps = 1000,
        .seed = 1,
        .eval_every = 100,
        .eval_batch = 256,
        .log_every = 0,
        .max_memory_mb = BP_TRAIN_MAX_MEMORY_MB,
        .threads = 1,
    };
    bp_optim_config_default(&t->optim);
}

void bp_model_config_free(bp_model_config *c)
{
    if (!c)
        return;
    free(c->layers);
    free(c->cell);
    free(c);
}
