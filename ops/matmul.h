/* matmul.h — the matmul op's backward in parts, for the tape's treatment of a matmul
 * by a parameter (graph/defer.c): dA on the weight packed transposed once per walk, dB
 * deferred. Internal. */
#ifndef BPTT_MATMUL_H
#define BPTT_MATMUL_H

#include "bptt_graph.h"

/* C = A B's backward, when A (resp. B) takes a gradient: dA += dC Bᵀ; dB += Aᵀ dC. */
void bp_matmul_backward_a(bp_node *n);
void bp_matmul_backward_b(bp_node *n);
/* dA += dC Bᵀ made as dC (Bᵀ) on Bᵀ packed (ops/panel.h, bp_panel_pack with trans),
 * stored when dA is fresh. */
void bp_matmul_backward_a_packed(bp_node *n, const bp_real *bt_packed);

#endif
