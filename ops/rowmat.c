/* rowmat.c — see rowmat.h. */
#include "rowmat.h"
#include "isa.h"

#include <string.h>

/* Output j's sum in the scalar form of the order every lane follows. */
static inline bp_real row_one(const bp_real *x, const bp_real *W, int K, int ldw, int j)
{
    bp_real s[4] = {0, 0, 0, 0};
    for (int k = 0; k < K; k++)
        s[k % 4] += x[k] * W[(size_t)k * (size_t)ldw + (size_t)j];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

#if defined(__GNUC__)
/* The vector form. V is a vector type of L reals; LD loads one from p (unaligned, by
 * memcpy: no aliasing). */
#define LD(V, p) ({ V v_; memcpy(&v_, (p), sizeof v_); v_; })

/* Outputs [j, j + 2L): partial sums s0..s3 of two vectors each, as named variables so
 * that they stay in registers. */
#define ROW_BLOCK2(V, L) \
    { \
        V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0}; \
        const bp_real *w = W + j; \
        int k = 0; \
        for (; k + 4 <= K; k += 4, w += 4 * (size_t)ldw) { \
            a0 += x[k] * LD(V, w), b0 += x[k] * LD(V, w + L); \
            a1 += x[k + 1] * LD(V, w + ldw), b1 += x[k + 1] * LD(V, w + ldw + L); \
            a2 += x[k + 2] * LD(V, w + 2 * (size_t)ldw), \
                b2 += x[k + 2] * LD(V, w + 2 * (size_t)ldw + L); \
            a3 += x[k + 3] * LD(V, w + 3 * (size_t)ldw), \
                b3 += x[k + 3] * LD(V, w + 3 * (size_t)ldw + L); \
        } \
        if (k < K) \
            a0 += x[k] * LD(V, w), b0 += x[k] * LD(V, w + L); \
        if (k + 1 < K) \
            a1 += x[k + 1] * LD(V, w + ldw), b1 += x[k + 1] * LD(V, w + ldw + L); \
        if (k + 2 < K) \
            a2 += x[k + 2] * LD(V, w + 2 * (size_t)ldw), \
                b2 += x[k + 2] * LD(V, w + 2 * (size_t)ldw + L); \
        V u = (a0 + a1) + (a2 + a3), v = (b0 + b1) + (b2 + b3); \
        memcpy(y + j, &u, sizeof u); \
        memcpy(y + j + L, &v, sizeof v); \
    }

/* Outputs [j, j + L): the same with one vector. */
#define ROW_BLOCK1(V, L) \
    { \
        V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}; \
        const bp_real *w = W + j; \
        int k = 0; \
        for (; k + 4 <= K; k += 4, w += 4 * (size_t)ldw) { \
            a0 += x[k] * LD(V, w); \
            a1 += x[k + 1] * LD(V, w + ldw); \
            a2 += x[k + 2] * LD(V, w + 2 * (size_t)ldw); \
            a3 += x[k + 3] * LD(V, w + 3 * (size_t)ldw); \
        } \
        if (k < K) \
            a0 += x[k] * LD(V, w); \
        if (k + 1 < K) \
            a1 += x[k + 1] * LD(V, w + ldw); \
        if (k + 2 < K) \
            a2 += x[k + 2] * LD(V, w + 2 * (size_t)ldw); \
        V u = (a0 + a1) + (a2 + a3); \
        memcpy(y + j, &u, sizeof u); \
    }

#define ROW_COPY_(isa, attr, runs, fma, unused) \
    __attribute__((attr)) static void row_##isa(const bp_real *restrict x, \
                                                const bp_real *restrict W, int K, int N, \
                                                int ldw, bp_real *restrict y) \
    { \
        enum { L = BYTES_##isa / (int)sizeof(bp_real) }; \
        typedef bp_real V __attribute__((vector_size(BYTES_##isa))); \
        int j = 0; \
        for (; j + 2 * L <= N; j += 2 * L) \
            ROW_BLOCK2(V, L) \
        for (; j + L <= N; j += L) \
            ROW_BLOCK1(V, L) \
        for (; j < N; j++) { \
            y[j] = row_one(x, W, K, ldw, j); \
        } \
    }
/* A vector's bytes in each variant: zmm, ymm, xmm. */
enum { BYTES_avx512 = 64, BYTES_avx2 = 32, BYTES_baseline = 16 };
BP_ISA_LIST(ROW_COPY_, 0)
#define ROW_ENTRY_(isa, attr, runs, fma, unused) row_##isa,
static void (*const row_copy[])(const bp_real *restrict, const bp_real *restrict, int, int, int,
                                bp_real *restrict) = {BP_ISA_LIST(ROW_ENTRY_, 0)};

void bp_row_times(const bp_real *x, const bp_real *W, int K, int N, int ldw, bp_real *y)
{
    row_copy[bp_isa_index()](x, W, K, N, ldw, y);
}

#else /* no vector extensions: the scalar form, the same sums */

void bp_row_times(const bp_real *x, const bp_real *W, int K, int N, int ldw, bp_real *y)
{
    for (int j = 0; j < N; j++)
        y[j] = row_one(x, W, K, ldw, j);
}

#endif
