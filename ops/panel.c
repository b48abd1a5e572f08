/* panel.c — see panel.h. */
#include "panel.h"
#include "isa.h"

#include <limits.h>
#include <string.h>
#include <stdlib.h>

#if BP_ISA_X86
#include <immintrin.h>
#endif

/* The widest product the tape gives the panel kernel, by variant (`bptt bench tape`, the
 * lstm's h W_h at H512, 64x512x2048): the avx512 panel took 0.78 of OpenBLAS's AVX-512
 * kernels' time (core Cooperlake) on a Zen 5, and 0.51 of those OpenBLAS picks there
 * (Haswell). The avx2 panel took 1.05-1.23 of OpenBLAS's AVX2 kernels' on a Zen 3 past
 * 1024 columns with panels of 32 columns; one tile row wide (16) and prefetching B, it
 * takes 0.83-0.93 of theirs on an Intel Xeon (family 6 model 167, lstm's and gru's, three
 * runs): any width. The baseline panel, on that Xeon against OpenBLAS's Nehalem kernels,
 * took 0.95-1.0 of their time for the lstm's and gru's: no gain, 1024. */
enum { avx512_max_cols = INT_MAX, avx2_max_cols = INT_MAX, baseline_max_cols = 1024 };
#define MAX_COLS_(isa, attr, runs, ...) isa##_max_cols,

int bp_panel_max_cols(void)
{
    static const int max_cols[] = {BP_ISA_LIST(MAX_COLS_, 0)};
    return max_cols[bp_isa_index()];
}

/* Per variant: a vector's bytes, rows per tile and vectors per tile row — as many sums
 * as the registers hold beside B's vectors (32 zmm, 16 ymm, 16 xmm). */
enum { BYTES_avx512 = 64, ROWS_avx512 = 8, VECS_avx512 = 2 };
enum { BYTES_avx2 = 32, ROWS_avx2 = 6, VECS_avx2 = 2 };
enum { BYTES_baseline = 16, ROWS_baseline = 4, VECS_baseline = 2 };
/* A panel is one tile row wide, VECS vectors: a tile reads B's rows whole, one after
 * another, cache line after cache line (avx2's 16 columns of a 32-wide panel read half of
 * each 128-byte row, and its lstm dA ran at 0.95-1.0 of OpenBLAS's speed, not 1.0-1.05). */
#define WIDTH_(isa, attr, runs, fma, unused) VECS_##isa * BYTES_##isa / (int)sizeof(bp_real),
static const int panel_widths[] = {BP_ISA_LIST(WIDTH_, 0)};

int bp_panel_width(void)
{
    return panel_widths[bp_isa_index()];
}

/* Rounded up to the widest variant's panel: a buffer sized once fits a copy packed in
 * any variant. */
size_t bp_panel_size(int K, int N)
{
    int w = 1;
    for (size_t i = 0; i < sizeof panel_widths / sizeof *panel_widths; i++)
        w = panel_widths[i] > w ? panel_widths[i] : w;
    return (size_t)K * (size_t)((N + w - 1) / w) * (size_t)w;
}

void bp_panel_pack(const bp_real *b, int K, int N, int ldb, bool trans, bp_real *packed)
{
    const int width = bp_panel_width();
    for (int j0 = 0; j0 < N; j0 += width) {
        bp_real *p = packed + (size_t)j0 * (size_t)K;
        int cols = N - j0 < width ? N - j0 : width;
        if (trans) /* column j of B is row j of S: read along it, write down the panel */
            for (int c = 0; c < width; c++)
                for (int k = 0; k < K; k++)
                    p[(size_t)k * width + c] = c < cols ? b[(size_t)(j0 + c) * ldb + k] : 0;
        else
            for (int k = 0; k < K; k++) {
                memcpy(p + (size_t)k * width, b + (size_t)k * ldb + j0,
                       (size_t)cols * sizeof *p);
                memset(p + (size_t)k * width + cols, 0,
                       (size_t)(width - cols) * sizeof *p);
            }
    }
}

/* A's blocks when packed (pack_a): at most MB rows by KC columns and ABLOCK reals (64
 * KiB: stays in L2 beside the rows of B). */
enum { MB = 256, KC = 512, ABLOCK = 65536 / sizeof(bp_real) };
/* How many of B's rows ahead a tile prefetches (`bptt bench tape`, avx2, the lstm's
 * products at H512: 8 rows 0.99, 16 rows 1.01-1.07, 32 rows 1.05-1.11 of BLAS's speed). */
enum { PF = 32 };

/* Whether A is packed: it has more columns than one block takes, or its rows lie a
 * multiple of 4 KiB apart (they share their cache sets, and a tile's rows evict each
 * other: an lstm's dA at H 512, rows of 8 KiB, ran at 0.55 of BLAS's speed unpacked). */
static bool packs_a(int K, int lda)
{
    return K > KC || ((size_t)lda * sizeof(bp_real)) % 4096 == 0;
}

/* Rows [m, m + rows) of A, columns [k0, k0 + kc), into tile order at block + m kc:
 * block[m kc + k rows + r] = A[m + r][k0 + k]. */
static void pack_tile(const bp_real *A, int lda, int m, int rows, int k0, int kc,
                      bp_real *block)
{
    bp_real *p = block + (size_t)m * (size_t)kc;
    for (int r = 0; r < rows; r++) {
        const bp_real *a = A + (size_t)(m + r) * (size_t)lda + k0;
        for (int k = 0; k < kc; k++)
            p[(size_t)k * (size_t)rows + (size_t)r] = a[k];
    }
}

/* Rows [0, M) in tiles of R rows, then the rows left in tiles of 4, 2 and 1 (R is 4 or
 * more): DO(X, m, rows) for each tile, m its first row. One row is one chain per sum, too
 * few to hide their latency: 2 of avx2's 32 rows would cost as much as 8. */
#define TILES(R, M, DO, X) \
    { \
        int m = 0; \
        for (; m + (R) <= (M); m += (R)) \
            DO(X, m, R) \
        if ((R) > 4 && m + 4 <= (M)) { \
            DO(X, m, 4) \
            m += 4; \
        } \
        if ((R) > 2 && m + 2 <= (M)) { \
            DO(X, m, 2) \
            m += 2; \
        } \
        if (m < (M)) \
            DO(X, m, 1) \
    }

/* Columns [k0, k0 + kc) of A's M rows into block, tile by tile as the product takes them:
 * each tile's A contiguous and read in order, however far apart A's rows lie (rows 8 KiB
 * apart share their cache sets: an lstm's dA at H 512 ran at half BLAS's speed). */
static void pack_a(const bp_real *A, int lda, int M, int k0, int kc, int R, bp_real *block)
{
#define PACK_TILE(unused, m, rows) pack_tile(A, lda, m, rows, k0, kc, block);
    TILES(R, M, PACK_TILE, 0)
#undef PACK_TILE
}

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

/* Row `row` of C, columns [j, j + CV L) (cols of them in C), into sums (CV vectors), the
 * columns past cols 0; and stored back. */
#define LOAD(row, sums) \
    { \
        const bp_real *c = Cb + (size_t)(row) * (size_t)ldc + j; \
        if (cols >= CV * L) { \
            _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) (sums)[v] = LD(V, c + v * L); \
        } else { \
            bp_real t[CV * L] = {0}; \
            memcpy(t, c, (size_t)cols * sizeof *t); \
            memcpy((sums), t, sizeof t); \
        } \
    }
#define STORE(row, sums) \
    { \
        bp_real *c = Cb + (size_t)(row) * (size_t)ldc + j; \
        if (cols >= CV * L) { \
            memcpy(c, (sums), CV * sizeof(V)); \
        } else { \
            bp_real t[CV * L]; \
            memcpy(t, (sums), sizeof t); \
            memcpy(c, t, (size_t)cols * sizeof *t); \
        } \
    }

/* Rows [m, m + R) by columns [j, j + CV L) of panel pp, over rows [k0, k0 + kc) of B:
 * R x CV vectors of sums, kept in registers (the loops are unrolled, the arrays
 * scalarised), from C (from_c) or 0, B read once per k. */
#define TILE(isa, m, R) \
    { \
        V acc[R][CV]; \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) { \
            if (from_c) \
                LOAD(m + r, acc[r]) \
            else \
                _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) acc[r][v] = (V){0}; \
        } \
        const bp_real *w = pp; \
        /* packed: tile order (pack_tile); else A's rows as they lie */ \
        const bp_real *a = ablock ? ablock + (size_t)m * (size_t)kc \
                                  : Ab + (size_t)m * (size_t)lda + k0; \
        const size_t rs = ablock ? 1 : (size_t)lda, ks = ablock ? (size_t)(R) : 1; \
        for (int k = 0; k < kc; k++, w += PW, a += ks) { \
            __builtin_prefetch(w + PF * PW); /* B's rows from L3 ahead of the first tile */ \
            V wv[CV]; \
            _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) wv[v] = LD(V, w + v * L); \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) { \
                bp_real s = a[r * rs]; \
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
        if (add) \
            LOAD(m, acc[0]) \
        const bp_real *w = pp; \
        const bp_real *a = A + (size_t)m * (size_t)lda; \
        int k = 0; \
        for (; k + 4 <= K; k += 4, w += 4 * PW) \
            _Pragma("GCC unroll 16") for (int q = 0; q < 4; q++) \
                _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) \
                    acc[q][v] = MADD_##isa(a[k + q], LD(V, w + q * PW + v * L), acc[q][v]); \
        for (int q = 0; k + q < K; q++) \
            _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) \
                acc[q][v] = MADD_##isa(a[k + q], LD(V, w + q * PW + v * L), acc[q][v]); \
        _Pragma("GCC unroll 16") for (int v = 0; v < CV; v++) \
            acc[0][v] = (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]); \
        STORE(m, acc[0]) \
    }


/* A one-row product panel by panel, by ROW. Otherwise panel by panel in TILES; A packed
 * (packs_a) in blocks of up to MB rows by KC columns, and B's rows in as many blocks
 * (each block's CV L columns of B, read once per tile, stay in L1), a block after the
 * first going on from the sums the one before left in C: the same chains. */
#define PANEL_COPY_(isa, attr, runs, fma, unused) \
    __attribute__((attr)) static void panel_##isa( \
        const bp_real *restrict A, int lda, int M, int K, const bp_real *restrict packed, \
        int N, bp_real *restrict C, int ldc, bool add) \
    { \
        enum { L = BYTES_##isa / (int)sizeof(bp_real), CV = VECS_##isa, R = ROWS_##isa, \
               PW = CV * L }; \
        typedef bp_real V __attribute__((vector_size(BYTES_##isa))); \
        if (M == 1) { \
            for (int j = 0; j < N; j += PW) { \
                const bp_real *pp = packed + (size_t)j * (size_t)K; \
                int cols = N - j, m = 0; \
                bp_real *Cb = C; \
                ROW(isa) \
            } \
            return; \
        } \
        if (K == 0 && !add) \
            for (int m = 0; m < M; m++) \
                memset(C + (size_t)m * (size_t)ldc, 0, (size_t)N * sizeof *C); \
        bp_real *ablock = packs_a(K, lda) ? malloc(ABLOCK * sizeof *ablock) : NULL; \
        for (int m0 = 0; m0 < M; m0 += MB) { \
            int mb = M - m0 < MB ? M - m0 : MB; \
            int kb = !ablock ? K : ABLOCK / mb < KC ? ABLOCK / mb : KC; \
            const bp_real *Ab = A + (size_t)m0 * (size_t)lda; \
            bp_real *Cb = C + (size_t)m0 * (size_t)ldc; \
            for (int k0 = 0; k0 < K; k0 += kb) { \
                int kc = K - k0 < kb ? K - k0 : kb; \
                bool from_c = add || k0 > 0; \
                if (ablock) \
                    pack_a(Ab, lda, mb, k0, kc, R, ablock); \
                for (int j = 0; j < N; j += PW) { \
                    const bp_real *pp = packed + ((size_t)j * (size_t)K + (size_t)k0 * PW); \
                    int cols = N - j; \
                    TILES(R, mb, TILE, isa) \
                } \
            } \
        } \
        free(ablock); \
    }
BP_ISA_LIST(PANEL_COPY_, 0)
#define PANEL_ENTRY_(isa, attr, runs, fma, unused) panel_##isa,
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
    int q = M == 1 ? 4 : 1, width = bp_panel_width(); /* q: chains per output */
    for (int m = 0; m < M; m++)
        for (int j = 0; j < N; j++) {
            const bp_real *w = packed + (size_t)(j / width) * (size_t)K * width + j % width;
            const bp_real *a = A + (size_t)m * lda;
            bp_real *c = C + (size_t)m * ldc + j;
            bp_real s[4] = {add ? *c : 0, 0, 0, 0};
            for (int k = 0; k < K; k++)
                s[k % q] = a[k] * w[(size_t)k * width] + s[k % q];
            *c = (s[0] + s[1]) + (s[2] + s[3]);
        }
}

#endif
