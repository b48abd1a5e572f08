/* panel.c — see panel.h. */
#include "panel.h"
#include "isa.h"

#include <string.h>

#if BP_ISA_X86
#include <immintrin.h>
#endif

size_t bp_panel_size(int K, int N)
{
    return (size_t)K * (size_t)((N + BP_PANEL - 1) / BP_PANEL) * BP_PANEL;
}

void bp_panel_pack(const bp_real *b, int K, int N, int ldb, bool trans, bp_real *packed)
{
    for (int j0 = 0; j0 < N; j0 += BP_PANEL) {
        bp_real *p = packed + (size_t)j0 * (size_t)K;
        int cols = N - j0 < BP_PANEL ? N - j0 : BP_PANEL;
        if (trans) /* column j of B is row j of S: read along it, write down the panel */
            for (int c = 0; c < BP_PANEL; c++)
                for (int k = 0; k < K; k++)
                    p[(size_t)k * BP_PANEL + c] = c < cols ? b[(size_t)(j0 + c) * ldb + k] : 0;
        else
            for (int k = 0; k < K; k++) {
                memcpy(p + (size_t)k * BP_PANEL, b + (size_t)k * ldb + j0,
                       (size_t)cols * sizeof *p);
                memset(p + (size_t)k * BP_PANEL + cols, 0,
                       (size_t)(BP_PANEL - cols) * sizeof *p);
            }
    }
}

/* Per variant: a vector's bytes, rows per tile and vectors per tile row — as many sums
 * as the registers hold beside B's vectors (32 zmm, 16 ymm, 16 xmm). */
enum { BYTES_avx512 = 64, ROWS_avx512 = 8, VECS_avx512 = 2 };
enum { BYTES_avx2 = 32, ROWS_avx2 = 6, VECS_avx2 = 2 };
enum { BYTES_baseline = 16, ROWS_baseline = 4, VECS_baseline = 2 };

#if defined(__GNUC__)
#define LD(V, p) ({ V v_; memcpy(&v_, (p), sizeof v_); v_; })

/* acc = s w + acc, one rounding where the variant has FMA (panel.h) */
#ifdef BP_DOUBLE
#define MADD_avx512(s, w, acc) _mm512_fmadd_pd(_mm512_set1_pd(s), (w), (acc))
#define MADD_avx2(s, w, acc) _mm256_fmadd_pd(_mm256_set1_pd(s), (w), (acc))
#else
#define MADD_avx512(s, w, acc) _mm512_fmadd_ps(_mm512_set1_ps(s), (w), (acc))
#define MADD_avx2(s, w, acc) _mm256_fmadd_ps(_mm256_set1_ps(s), (w), (acc))
#endif
#define MADD_baseline(s, w, acc) ((s) * (w) + (acc))

/* Row `row` of C, columns [j, j + CV L) (cols of them in C), = sums (CV vectors), or
 * with add C + sums. */
#define STORE(row, sums) \
    { \
        bp_real *c = C + (size_t)(row) * (size_t)ldc + j; \
        if (cols >= CV * L) { \
            _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) { \
                V u = add ? LD(V, c + v * L) + (sums)[v] : (sums)[v]; \
                memcpy(c + v * L, &u, sizeof u); \
            } \
        } else { \
            bp_real t[CV * L]; \
            memcpy(t, (sums), sizeof t); \
            for (int i = 0; i < cols; i++) \
                c[i] = add ? c[i] + t[i] : t[i]; \
        } \
    }

/* Rows [m, m + R) by columns [j, j + CV L) of panel pp: R x CV vectors of sums, kept in
 * registers (the loops are unrolled, the arrays scalarised), B read once per k. */
#define TILE(isa, R) \
    { \
        V acc[R][CV]; \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) \
            _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) acc[r][v] = (V){0}; \
        const bp_real *w = pp + (j - j0); \
        const bp_real *a = A + (size_t)m * (size_t)lda; \
        for (int k = 0; k < K; k++, w += BP_PANEL) { \
            V wv[CV]; \
            _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) wv[v] = LD(V, w + v * L); \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) { \
                bp_real s = a[(size_t)r * (size_t)lda + k]; \
                _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) \
                    acc[r][v] = MADD_##isa(s, wv[v], acc[r][v]); \
            } \
        } \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) \
            STORE(m + r, acc[r]) \
    }

/* A one-row product, columns [j, j + CV L): one row has too few sums to hide the latency
 * of one chain each, so four per output, over k = 0, 1, 2, 3 (mod 4), summed
 * (s0 + s1) + (s2 + s3) (panel.h: the order of rowmat.h). */
#define ROW(isa) \
    { \
        V acc[4][CV]; \
        _Pragma("GCC unroll 16") for (int q = 0; q < 4; q++) \
            _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) acc[q][v] = (V){0}; \
        const bp_real *w = pp + (j - j0); \
        const bp_real *a = A + (size_t)m * (size_t)lda; \
        int k = 0; \
        for (; k + 4 <= K; k += 4, w += 4 * BP_PANEL) \
            _Pragma("GCC unroll 16") for (int q = 0; q < 4; q++) \
                _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) \
                    acc[q][v] = MADD_##isa(a[k + q], LD(V, w + q * BP_PANEL + v * L), acc[q][v]); \
        for (int q = 0; k + q < K; q++) \
            _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) \
                acc[q][v] = MADD_##isa(a[k + q], LD(V, w + q * BP_PANEL + v * L), acc[q][v]); \
        _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) \
            acc[0][v] = (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]); \
        STORE(m, acc[0]) \
    }


/* Panel by panel (B's panel stays in cache while every row passes): tiles of ROWS rows,
 * then the rows left in tiles of 4, 2 and 1 (one row is one chain per sum, too few to
 * hide their latency: 2 of avx2's 32 rows would cost as much as 8); a one-row product by
 * ROW. */
#define PANEL_COPY_(isa, attr, runs, unused) \
    __attribute__((attr)) static void panel_##isa( \
        const bp_real *restrict A, int lda, int M, int K, const bp_real *restrict packed, \
        int N, bp_real *restrict C, int ldc, bool add) \
    { \
        enum { L = BYTES_##isa / (int)sizeof(bp_real), CV = VECS_##isa, R = ROWS_##isa }; \
        typedef bp_real V __attribute__((vector_size(BYTES_##isa))); \
        for (int j0 = 0; j0 < N; j0 += BP_PANEL) { \
            const bp_real *pp = packed + (size_t)j0 * (size_t)K; \
            for (int j = j0; j < j0 + BP_PANEL && j < N; j += CV * L) { \
                int cols = N - j; \
                int m = 0; \
                if (M == 1) \
                    ROW(isa) \
                else { \
                    for (; m + R <= M; m += R) \
                        TILE(isa, R) \
                    if (R > 4 && m + 4 <= M) { \
                        TILE(isa, 4) \
                        m += 4; \
                    } \
                    if (R > 2 && m + 2 <= M) { \
                        TILE(isa, 2) \
                        m += 2; \
                    } \
                    if (m < M) \
                        TILE(isa, 1) \
                } \
            } \
        } \
    }
BP_ISA_LIST(PANEL_COPY_, 0)
#define PANEL_ENTRY_(isa, attr, runs, unused) panel_##isa,
static void (*const panel_copy[])(const bp_real *restrict, int, int, int,
                                  const bp_real *restrict, int, bp_real *restrict, int,
                                  bool) = {BP_ISA_LIST(PANEL_ENTRY_, 0)};

void bp_panel_times(const bp_real *A, int lda, int M, int K, const bp_real *packed, int N,
                    bp_real *C, int ldc, bool add)
{
    panel_copy[bp_isa_index()](A, lda, M, K, packed, N, C, ldc, add);
}


#else /* no vector extensions: the baseline's sums, one output at a time */

void bp_panel_times(const bp_real *A, int lda, int M, int K, const bp_real *packed, int N,
                    bp_real *C, int ldc, bool add)
{
    int q = M == 1 ? 4 : 1; /* chains per output */
    for (int m = 0; m < M; m++)
        for (int j = 0; j < N; j++) {
            const bp_real *w = packed + (size_t)(j / BP_PANEL) * (size_t)K * BP_PANEL +
                               j % BP_PANEL;
            const bp_real *a = A + (size_t)m * lda;
            bp_real s[4] = {0, 0, 0, 0};
            for (int k = 0; k < K; k++)
                s[k % q] = a[k] * w[(size_t)k * BP_PANEL] + s[k % q];
            bp_real v = (s[0] + s[1]) + (s[2] + s[3]);
            bp_real *c = C + (size_t)m * ldc + j;
            *c = add ? *c + v : v;
        }
}

#endif
