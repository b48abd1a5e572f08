/* defer.h — the tape's backward of a matmul by a parameter: deferred weight gradients
 * (bp_tape_set_defer in bptt_graph.h) and the transposed weight of the dA products
 * (internal to graph/). */
#ifndef BPTT_DEFER_H
#define BPTT_DEFER_H

#include "bptt_graph.h"

#include <stdint.h>

/* One weight's state in the tape's backward: its pending weight-gradient terms, rows of
 * A [rows, K] and of dC [rows, N], and its value transposed for the dA products. */
typedef struct defer_slot {
    bp_node *leaf;
    int K, N, rows, cap; /* cap: rows it holds before a flush */
    bp_real *a, *dc;     /* one allocation, made at the first term, kept for the next walk */
    bp_real *bt;         /* the weight transposed, (N, K): made at its second dA in a walk */
    uint64_t bt_walk;    /* the walk bt was packed in (0: never) */
    uint64_t used_walk;  /* the last walk that made a dA of this weight */
} defer_slot;

typedef struct bp_defer {
    defer_slot *slot;
    int n, cap;
    int *index;  /* [index_mask + 1]: a weight's slot + 1 by its leaf (bp_node_slot), 0 free */
    size_t index_mask;
    uint64_t walk; /* walks begun (held walks count as one): a weight is fixed during one */
    bool off;  /* bp_tape_set_defer(t, false) */
    bool hold; /* pending terms outlive a walk until released */
    bool walk_held; /* hold is on and its walk has begun */
} bp_defer;

/* A walk begins: transposed weights made before it are stale, unless it is one more of
 * the held walks (bp_defer_hold), which count as one walk. */
void bp_defer_begin_walk(bp_defer *d);
/* Hold pending terms (and transposed weights: the weights must not change meanwhile)
 * across walks, or release them: what is pending is summed. */
void bp_defer_hold(bp_defer *d, bool hold);
/* n's backward (n->op->backward); for a matmul by a parameter, dA made with the weight
 * transposed once per walk and dB deferred when the rules allow. */
void bp_defer_backward(bp_defer *d, bp_node *n);
/* Sum every pending term into its weight's grad. */
void bp_defer_flush(bp_defer *d);
void bp_defer_free(bp_defer *d);

#endif
