/* defer.h — deferred weight gradients of the tape's backward (internal to graph/; see
 * bp_tape_set_defer in bptt_graph.h). */
#ifndef BPTT_DEFER_H
#define BPTT_DEFER_H

#include "bptt_graph.h"

/* One weight's pending terms: rows of A [rows, K] and of dC [rows, N]. */
typedef struct defer_slot {
    bp_node *leaf;
    int K, N, rows, cap; /* cap: rows it holds before a flush */
    bp_real *a, *dc;     /* one allocation, kept for the next walk */
} defer_slot;

typedef struct bp_defer {
    defer_slot *slot;
    int n, cap;
    int *index;  /* [index_mask + 1]: a weight's slot + 1 by its leaf (bp_node_slot), 0 free */
    size_t index_mask;
    bool off;  /* bp_tape_set_defer(t, false) */
    bool hold; /* pending terms outlive a walk until released */
} bp_defer;

/* n's backward (n->op->backward), its weight gradient deferred when the rules allow. */
void bp_defer_backward(bp_defer *d, bp_node *n);
/* Sum every pending term into its weight's grad. */
void bp_defer_flush(bp_defer *d);
void bp_defer_free(bp_defer *d);

#endif
