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
/* The vector form: blocks of 2 vectors of outputs (8 accumulators), then of 1, then the
 * scalar rest. V is a vector type of L reals; loads by memcpy (unaligned, no aliasing). */
#define ROW_BLOCK(V, L, NV) \
    { \
        V acc[4][NV]; \
        memset(acc, 0, sizeof acc); \
        int k = 0; \
        for (; k + 4 <= K; k += 4) \
            for (int s = 0; s < 4; s++) \
                for (int v = 0; v < NV; v++) { \
                    V w; \
                    memcpy(&w, W + (size_t)(k + s) * (size_t)ldw + (size_t)(j + v * L), \
                           sizeof w); \
                    acc[s][v] += x[k + s] * w; \
                } \
        for (int s = 0; k < K; k++, s++) \
            for (int v = 0; v < NV; v++) { \
                V w; \
                memcpy(&w, W + (size_t)k * (size_t)ldw + (size_t)(j + v * L), sizeof w); \
                acc[s][v] += x[k] * w; \
            } \
        for (int v = 0; v < NV; v++) { \
            V sum = (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]); \
            if (add) { \
                V old; \
                memcpy(&old, y + j + v * L, sizeof old); \
                sum = old + sum; \
            } \
            memcpy(y + j + v * L, &sum, sizeof sum); \
        } \
    }

#define ROW_COPY_(isa, attr, runs, unused) \
    __attribute__((attr)) static void row_##isa(const bp_real *restrict x, \
                                                const bp_real *restrict W, int K, int N, \
                                                int ldw, bp_real *restrict y, bool add) \
    { \
        enum { L = BYTES_##isa / (int)sizeof(bp_real) }; \
        typedef bp_real V __attribute__((vector_size(BYTES_##isa))); \
        int j = 0; \
        for (; j + 2 * L <= N; j += 2 * L) \
            ROW_BLOCK(V, L, 2) \
        for (; j + L <= N; j += L) \
            ROW_BLOCK(V, L, 1) \
        for (; j < N; j++) { \
            bp_real v = row_one(x, W, K, ldw, j); \
            y[j] = add ? y[j] + v : v; \
        } \
    }
/* A vector's bytes in each variant: zmm, ymm, xmm. */
enum { BYTES_avx512 = 64, BYTES_avx2 = 32, BYTES_baseline = 16 };
BP_ISA_LIST(ROW_COPY_, 0)
#define ROW_ENTRY_(isa, attr, runs, unused) row_##isa,
static void (*const row_copy[])(const bp_real *restrict, const bp_real *restrict, int, int, int,
                                bp_real *restrict, bool) = {BP_ISA_LIST(ROW_ENTRY_, 0)};

void bp_row_times(const bp_real *x, const bp_real *W, int K, int N, int ldw, bp_real *y,
                  bool add)
{
    row_copy[bp_isa_index()](x, W, K, N, ldw, y, add);
}

#else /* no vector extensions: the scalar form, the same sums */

void bp_row_times(const bp_real *x, const bp_real *W, int K, int N, int ldw, bp_real *y,
                  bool add)
{
    for (int j = 0; j < N; j++) {
        bp_real v = row_one(x, W, K, ldw, j);
        y[j] = add ? y[j] + v : v;
    }
}

#endif
