/* model_config_internal.h — the parts of the model-file reader shared between its
 * files (internal to models/). */
#ifndef BPTT_MODEL_CONFIG_INTERNAL_H
#define BPTT_MODEL_CONFIG_INTERNAL_H

#include "bptt_models.h"
#include "suggest.h"
#include "yaml_doc.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))
/* Return the status of call when it is not BP_OK: chains of checks read top down. */
#define TRY(call)                                                                          \
    do {                                                                                   \
        bp_status st_ = (call);                                                            \
        if (st_ != BP_OK)                                                                  \
            return st_;                                                                    \
    } while (0)

/* Copy a string setting into a fixed buffer, or fail at the node when it is too long. */
bp_status bp_model_copy_text(const bp_yd_node *n, const char *s, char *dst, size_t size,
                             bp_error *err);
/* A path setting: a relative one is relative to the model file's folder (one given by
 * --set, or absolute, as is); fails at the node when empty or too long (data_config.c). */
bp_status bp_model_path(const bp_yd_node *n, const char *model_path, char *dst, size_t size,
                        bp_error *err);
/* An integer setting under key in [lo, hi] (def when absent), as an int or a long. */
bp_status bp_model_get_int(const bp_yd_node *map, const char *key, long long def, long long lo,
                           long long hi, int *out, bp_error *err);
bp_status bp_model_get_long(const bp_yd_node *map, const char *key, long long def, long long lo,
                            long long hi, long *out, bp_error *err);
/* train: -- steps, batch, the optimizer and its schedule, stopping (train_config.c). */
bp_status bp_model_read_train(const bp_yd_node *t, bp_train_config *out, bp_error *err);
/* data: -- a built-in task or data files (data_config.c). */
bp_status bp_model_read_data(const bp_yd_node *d, const char *model_path, bp_data_config *out,
                             bp_error *err);

/* model.graph: one recurrent cell written as nodes that name registered ops. */
bp_status bp_model_read_graph(const bp_yd_node *graph, bp_model_config *c, bp_error *err);

#endif
