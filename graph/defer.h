/* defer.h — the tape's treatment of a matmul by a parameter: deferred weight gradients
 * (bp_tape_set_defer in bptt_graph.h), and the weight packed once (ops/panel.h) for the
 * step products, W for the forward and Wᵀ for the dA products (internal to graph/). */
#ifndef BPTT_DEFER_H
#define BPTT_DEFER_H

#include "bptt_graph.h"

#include <stdint.h>

/* A packed copy of a weight (ops/panel.h), valid in the period and the kernel variant it
 * was packed in (the layout is the variant's). */
typedef struct defer_copy {
    bp_real *data; /* bp_panel_size reals, allocated at the first packing */
    uint64_t period;
    int isa;
} defer_copy;

/* One weight's state in the tape: its pending weight-gradient terms, rows of A [rows, K]
 * and of dC [rows, N], and its packed copies. */
typedef struct defer_slot {
    bp_node *leaf;
    int K, N, rows, cap; /* cap: rows it holds before a flush */
    bp_real *a, *dc;     /* one allocation, made at the first term, kept for the next walk */
    defer_copy w;        /* W packed for the forward: made at its first step product */
    defer_copy wt;       /* Wᵀ packed for dA: made at its second dA in a walk */
    uint64_t used_period; /* the last period that made a dA of this weight */
} defer_slot;

typedef struct bp_defer {
    defer_slot *slot;
    int n, cap;
    int *index;  /* [index_mask + 1]: a weight's slot + 1 by its leaf (bp_node_slot), 0 free */
    size_t index_mask;
    uint64_t period; /* periods in which the weights are fixed: a record between resets or
                      * walks, or a walk (held walks and the resets between them, one) */
    bool off;  /* bp_tape_set_defer(t, false) */
    bool hold; /* pending terms outlive a walk until released */
    bool walk_held; /* hold is on and its walk has begun */
} bp_defer;

/* A walk begins, a walk ends, or the tape is reset: the weights may change, so packed
 * copies made before are stale — unless within held walks (bp_defer_hold), which count
 * as one walk. */
void bp_defer_begin_walk(bp_defer *d);
void bp_defer_new_period(bp_defer *d);
/* Hold pending terms (and packed copies, W and Wᵀ: the weights must not change
 * meanwhile) across walks, or release them: what is pending is summed. */
void bp_defer_hold(bp_defer *d, bool hold);
/* n's forward, when n is a step product of a matmul by a parameter: made on the weight
 * packed once per period (true), else nothing done (false). */
bool bp_defer_forward(bp_defer *d, bp_node *n);
/* n's backward (n->op->backward); for a matmul by a parameter, dA made on Wᵀ packed once
 * per walk and dB deferred when the rules allow. */
void bp_defer_backward(bp_defer *d, bp_node *n);
/* Sum every pending term into its weight's grad. */
void bp_defer_flush(bp_defer *d);
void bp_defer_free(bp_defer *d);

#endif
