/* panel.h — C (M, N) = A (M, K) B (K, N) on a B packed once, for the step products of a
 * weight used at many steps (declared in bptt_ops.h; graph/defer.c keeps the copies).
 * A BLAS call packs B anew on every call (OpenBLAS's itcopy: 8-10% of an lstm step in
 * perf); a weight is fixed for a whole forward or walk, so it is packed once there.
 *
 * The packed form: B's columns in panels of P = bp_panel_width() columns (one tile row of
 * the variant in use: 32 floats in avx512, 16 in avx2, 8 in the baseline), the last one
 * zero-padded; panel p holds rows k = 0..K-1 of its columns one after another,
 *     packed[(p K + k) P + c] = B[k][p P + c].
 * A copy is packed and used in one variant (graph/defer.c repacks after a change).
 *
 * Each output is one chain over k = 0..K-1 in increasing k, c = 0 (with add, c = C),
 * then c = a_k b_k + c; in a one-row product (too few chains to hide their latency) four
 * chains, over k = 0, 1, 2, 3 (mod 4), the first from 0 (or C), summed
 * (c0 + c1) + (c2 + c3). Each step is a fused multiply-add in the variants that have one
 * (avx512, avx2: these two agree bit for bit) and a product then a sum in the baseline
 * (x86-64 has no FMA; it agrees to rounding). A chain cut into blocks of k (ops/panel.c:
 * A packed) goes on from the sum stored in C, exactly. Lanes are outputs and a tile's rows
 * are chains of their own, so neither the vector width, the tile height nor the blocks
 * change an output's order (tests/test_f32_isa.c). */
#ifndef BPTT_PANEL_H
#define BPTT_PANEL_H

#include "bptt_ops.h" /* bp_panel_size, bp_panel_pack, bp_panel_times */

#endif
