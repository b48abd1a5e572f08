/* cell_util.h — what the fused recurrent-cell ops share (internal to ops/): shape rules,
 * gradient-check cases, and the sums and gradient accumulations of their inputs.
 *
 * The cell ops (rnn_tanh, rnn_relu, lstm_gates, lstm_c, lstm_h, gru_gates, gru_h) each
 * record one step's pointwise work as one node: one pass forward, one backward, no
 * intermediate buffers on the tape. Their inputs: xw = x_t W_x (B, G H), rec = h_{t-1} W_h
 * (B, G H), biases as one row (G H) or (1, G H), states (B, H); G = 1, 4 or 3 gate blocks.
 * Kernels work on rows in chunks of BP_CELL_CHUNK columns, on stack scratch. */
#ifndef BPTT_CELL_UTIL_H
#define BPTT_CELL_UTIL_H

#include "op_util.h"
#include "vmath.h"

enum { BP_CELL_CHUNK = 256 };

/* Ask for row r + BP_CELL_AHEAD of a (B, w) buffer, columns [j0, j0 + m), while a backward
 * kernel works on row r (rows 0 .. BP_CELL_AHEAD - 1 too, at r = 0). The backward reads
 * the activations of a step made long before, from far caches or memory, in pieces of
 * one gate block of each row (H of 4 H), which the hardware prefetchers pick up too late
 * (in perf, lstm_c's backward took 5 times its time in bench kernels). */
enum { BP_CELL_AHEAD = 4 };
static inline void bp_cell_prefetch(const bp_real *p, size_t B, size_t w, size_t r,
                                    size_t j0, size_t m)
{
#if defined(__GNUC__)
    for (size_t q = r ? r + BP_CELL_AHEAD : 0; q <= r + BP_CELL_AHEAD && q < B; q++)
        for (size_t j = 0; j < m; j += 64 / sizeof(bp_real))
            __builtin_prefetch(p + q * w + j0 + j);
#else
    (void)p, (void)B, (void)w, (void)r, (void)j0, (void)m;
#endif
}

/* in[0] is (B, G H) with G H divisible by gates, in[1] has its shape, in[2 .. 1 + n_bias]
 * are rows of G H; the output is (B, G H). */
bp_status bp_cell_shape_sum(const bp_node *n, int gates, int n_bias, bp_shape *out,
                            bp_error *err);
/* in[0] is gates G (B, G H), in[1] a state (B, H); the output is (B, H). */
bp_status bp_cell_shape_state(const bp_node *n, int gates, bp_shape *out, bp_error *err);

/* Check cases: batch 1 first, then random B and H; a bias is [G H] or [1, G H]. */
void bp_cell_case_sum(int gates, int n_bias, int k, bp_rng *rng, bp_check_case *c);
void bp_cell_case_state(int gates, int k, bp_rng *rng, bp_check_case *c);

/* z[j] = x[r, j0 + j] + y[r, j0 + j] + b[j0 + j] for j < m; x, y (B, W), b a row of W
 * (y or b may be NULL: not added). The kernels inline it (the _body, compiled in their
 * variant); bp_cell_sum is the same as a function. */
BP_KERNEL_BODY void bp_cell_sum_body(const bp_node *x, const bp_node *y, const bp_node *b,
                                     size_t r, size_t j0, size_t m, bp_real *restrict z)
{
    size_t w = (size_t)x->shape.dim[1];
    const bp_real *xr = x->value + r * w + j0;
    for (size_t j = 0; j < m; j++)
        z[j] = xr[j];
    if (y) {
        const bp_real *yr = y->value + r * w + j0;
        for (size_t j = 0; j < m; j++)
            z[j] += yr[j];
    }
    if (b) {
        const bp_real *br = b->value + j0;
        for (size_t j = 0; j < m; j++)
            z[j] += br[j];
    }
}
void bp_cell_sum(const bp_node *x, const bp_node *y, const bp_node *b, size_t r, size_t j0,
                 size_t m, bp_real *z);

/* x->grad[r, j0 + j] += d[j] (= d[j] when store: x's grad is fresh, bp_grad_take_fresh)
 * and b->grad[j0 + j] += d[j], each only when it requires grad (b may be NULL); inlined
 * into the kernels. */
BP_KERNEL_BODY void bp_cell_write(bp_node *x, bool store, bp_node *b,
                                  const bp_real *restrict d, size_t r, size_t j0, size_t m)
{
    if (x->requires_grad) {
        bp_real *g = x->grad + r * (size_t)x->shape.dim[1] + j0;
        if (store)
            memcpy(g, d, m * sizeof *g);
        else
            for (size_t j = 0; j < m; j++)
                g[j] += d[j];
    }
    if (b && b->requires_grad) {
        bp_real *g = b->grad + j0;
        for (size_t j = 0; j < m; j++)
            g[j] += d[j];
    }
}

/* bp_cell_write, adding. */
BP_KERNEL_BODY void bp_cell_accumulate(bp_node *x, bp_node *b, const bp_real *restrict d,
                                       size_t r, size_t j0, size_t m)
{
    bp_cell_write(x, false, b, d, r, j0, m);
}

#endif
