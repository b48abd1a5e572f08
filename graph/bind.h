/* bind.h — a tape's parameter binding, internal to the library: a thread's tape that
 * records ops on a net definition shared with other threads (their parameter leaves)
 * while backward accumulates into the thread's own leaves. */
#ifndef BPTT_BIND_H
#define BPTT_BIND_H

#include "bptt_graph.h"

#include <stdint.h>

/* An open-addressing map from the shared leaves to the own ones; empty: mask 0. */
typedef struct bp_bind {
    const bp_node **from; /* [mask + 1]: a shared leaf, or NULL */
    bp_node **to;         /* [mask + 1]: the own leaf of the same index */
    size_t mask;
} bp_bind;

/* From now on (across resets) bp_apply records, in place of an input that is leaf i of
 * shared, leaf i of own: the same parameter (own holds the same names and shapes, its
 * values shared with bp_params_share_values) with its own grad. NULL shared: unbound.
 * BP_ERR_VALUE when the two do not hold the same number of leaves, BP_ERR_NOMEM. */
bp_status bp_tape_bind_params(bp_tape *t, const bp_params *shared, bp_params *own,
                              bp_error *err);

/* bind.c: the map's life, and its look-up (n itself when it is not a bound leaf). */
bp_status bp_bind_build(bp_bind *b, const bp_params *shared, bp_params *own, bp_error *err);
void bp_bind_free(bp_bind *b);

/* A node's place in a power-of-two table of mask + 1 slots (Fibonacci hashing): the
 * binding's, and the deferred weight gradients' (defer.c). */
static inline size_t bp_node_slot(const bp_node *n, size_t mask)
{
    return (size_t)(((uint64_t)(uintptr_t)n * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

static inline size_t bp_bind_slot(const bp_bind *b, const bp_node *n)
{
    return bp_node_slot(n, b->mask);
}

static inline bp_node *bp_bind_find(const bp_bind *b, bp_node *n)
{
    if (!b->mask || n->op || n->id >= 0)
        return n; /* nothing bound, or not a parameter leaf (an op, a tape input) */
    for (size_t i = bp_bind_slot(b, n);; i = (i + 1) & b->mask) {
        if (b->from[i] == n)
            return b->to[i];
        if (!b->from[i])
            return n;
    }
}

#endif
