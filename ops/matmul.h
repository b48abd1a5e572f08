/* matmul.h — the matmul op's backward in parts, for the tape's treatment of a matmul
 * by a parameter (graph/defer.c): dA with the weight transposed once per walk, dB
 * deferred. Internal. */
#ifndef BPTT_MATMUL_H
#define BPTT_MATMUL_H

#include "bptt_graph.h"

/* C = A B's backward, when A (resp. B) takes a gradient: dA += dC Bᵀ; dB += Aᵀ dC. */
void bp_matmul_backward_a(bp_node *n);
void bp_matmul_backward_b(bp_node *n);
/* dA += dC Bᵀ made as dC (Bᵀ), a product of untransposed operands (faster in OpenBLAS
 * than dC Bᵀ at every size bptt uses: bptt bench tape); bt is B transposed, (N, K). */
void bp_matmul_backward_a_packed(bp_node *n, const bp_real *bt);
/* bt = bᵀ: b (K, N) into bt (N, K), row-major, in cache-sized tiles. */
void bp_matmul_pack_bt(const bp_node *b, bp_real *bt);

#endif
