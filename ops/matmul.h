/* matmul.h — the matmul op's backward in parts, for the tape's deferred weight
 * gradients (graph/defer.c). Internal. */
#ifndef BPTT_MATMUL_H
#define BPTT_MATMUL_H

#include "bptt_graph.h"

/* dA += dC Bᵀ, when A takes a gradient: the part of C = A B's backward made at once. */
void bp_matmul_backward_a(bp_node *n);

#endif
