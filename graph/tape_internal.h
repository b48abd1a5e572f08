/* tape_internal.h — the tape's state, shared by its record (tape.c) and its backward
 * walk (walk.c); internal to graph/. */
#ifndef BPTT_TAPE_INTERNAL_H
#define BPTT_TAPE_INTERNAL_H

#include "arena.h"
#include "bind.h"
#include "defer.h"
#include "pool.h"

struct bp_tape {
    bp_arena arena;
    bp_node **nodes; /* execution order, which is a topological order */
    int len, cap;
    bool failed;
    size_t scratch;       /* bytes ops took with bp_tape_alloc since the reset */
    bp_bind bind;         /* bp_tape_bind_params (bind.h): leaves recorded in others' place */
    bp_error err;
    unsigned char *zeroed; /* backward: [len] this node's grad is zeroed for this walk */
    int zeroed_cap;
    bool release;         /* backward releases op nodes' grads once used (keep_grads false) */
    bool walked;          /* a backward has walked this recording (since the reset) */
    bool release_values;  /* bp_tape_release_value gives buffers back (keep_values false) */
    bp_pool pool;         /* released buffers, grads and values (pool.h) */
    bp_defer defer;       /* deferred weight gradients (defer.c) */
    bool keep_denormals;  /* bp_tape_set_flush_denormals(t, false): the mode left alone */
};

#endif
