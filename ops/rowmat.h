/* rowmat.h — one row times a matrix, y (1, N) = x (1, K) W (K, N), for matmul's forward
 * at one row (internal to ops/; dA at one row is the panel kernel's, panel.h). At one
 * row a BLAS call costs several times its arithmetic (bptt bench tape: about 0.1 µs for
 * 1 x 32 x 32 with OpenBLAS's AVX-512 kernels, 0.2-0.4 µs with its Haswell ones, which
 * AVX2 machines get); this loop keeps the outputs in vector registers and streams W once.
 *
 * Each output is summed in one fixed order — four partial sums over k = 0, 1, 2, 3
 * (mod 4), each in increasing k, then (s0 + s1) + (s2 + s3) — whatever the vector width:
 * lanes are outputs, so every kernel variant (isa.h; 16, 8 or 4 floats a vector) gives
 * the same bits (tests/test_f32_isa.c). */
#ifndef BPTT_ROWMAT_H
#define BPTT_ROWMAT_H

#include "bptt_graph.h"

/* y[j] = Σ_k x[k] W[k ldw + j] for j < N. */
void bp_row_times(const bp_real *x, const bp_real *W, int K, int N, int ldw, bp_real *y);

#endif
