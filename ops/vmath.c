/* vmath.c — see vmath.h. */
#include "vmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef BP_DOUBLE

void bp_vtanh(const bp_real *restrict x, bp_real *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanh(x[i]);
}

void bp_vsigmoid(const bp_real *restrict x, bp_real *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double e = exp(-fabs(x[i])); /* never overflows */
        y[i] = x[i] >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
}

#else

/* Inputs are clamped in a first loop over a chunk, apart from the arithmetic: a clamp
 * to a constant inside the main loop lets the compiler split it into branches, which
 * stops vectorisation. */
enum { CHUNK = 256 };

/* e^a = 2^n (1 + p) for a in [-87, 88] (NaN gives NaN through p): a = n ln2 + r with
 * |r| <= ln2 / 2 (round to nearest by the 1.5 * 2^23 trick), p = e^r - 1 by Taylor to
 * r^7 (error < 7.1e-9 relative, about a tenth of an ulp), as r + r^2 q with q's six terms in
 * pairs (Estrin's scheme): the loops are bound by the latency of this chain, which
 * Horner's rule made 16 operations deep and this makes 8 (tanh 18% faster in avx2, 12% in
 * avx512, 15% in the baseline, in bench kernels), and the exact leading r scales q's
 * rounding by r^2 (the r^8 term, dropped, changed no largest error below). Where
 * the variant has FMA (use_fma, isa.h) each a b + c is one: tanh's time over the
 * baseline's went from 0.39-0.44 to 0.31-0.32 in avx2, 0.28-0.29 to 0.21-0.24 in avx512,
 * on a Zen 4 (docs/benchmarks.md). On 4M points in [-20, 20] tanh and sigmoid stay
 * within 3 ulp of double libm in every variant, as `bptt bench kernels` prints;
 * tests/test_f32_vmath.c holds them to it. */
BP_KERNEL_BODY void exp_reduced(bool use_fma, float a, float *s, float *p)
{
    float t = bp_madd(use_fma, a, 1.44269504f, 12582912.0f);
    float n = t - 12582912.0f;
    /* ln2 in two parts */
    float r = bp_madd(use_fma, -n, 1.42860677e-6f, bp_madd(use_fma, -n, 0.693145752f, a));
    float r2 = r * r, r4 = r2 * r2;
    float q23 = bp_madd(use_fma, r, 1.0f / 6, 1.0f / 2);
    float q45 = bp_madd(use_fma, r, 1.0f / 120, 1.0f / 24);
    float q67 = bp_madd(use_fma, r, 1.0f / 5040, 1.0f / 720);
    float q = bp_madd(use_fma, r4, q67, bp_madd(use_fma, r2, q45, q23));
    *p = bp_madd(use_fma, r2, q, r);
    /* 2^n from t's bits: t = 1.5 * 2^23 + n exactly, so its bits are 0x4B400000 + n.
     * Integer arithmetic only (no float-to-int conversion, which a NaN would make
     * undefined; a NaN a gives some s, and p carries the NaN), and it vectorises. */
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    uint32_t bits = (tb - 0x4B400000u + 127u) << 23; /* 2^n, n in [-126, 127] */
    memcpy(s, &bits, sizeof *s);
}

/* tanh |x| = u / (u + 2) with u = e^(2|x|) - 1; |x| > 9 gives 1 (tanh 9 = 1 - 3e-8). */
BP_KERNEL_BODY void bp_vtanh_body(bool use_fma, const float *restrict x, float *restrict y,
                                  size_t n)
{
    float a[CHUNK];
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
        const float *xc = x + i0;
        float *yc = y + i0;
        for (size_t i = 0; i < m; i++) {
            float v = fabsf(xc[i]);
            a[i] = v > 9.0f ? 9.0f : v; /* NaN stays NaN */
        }
        for (size_t i = 0; i < m; i++) {
            float s, p;
            exp_reduced(use_fma, 2.0f * a[i], &s, &p);
            float u = bp_madd(use_fma, s, p, s - 1.0f); /* e^2|x| - 1 without cancellation near 0 */
            yc[i] = copysignf(u / (u + 2.0f), xc[i]);
        }
    }
}

/* sigmoid x = 1 / (1 + E) for x >= 0, E / (1 + E) below, with E = e^-|x| <= 1, as
 * q (1 or E) with q = 1 / (1 + E). The choice of 1 or E is arithmetic on neg, 1 or 0
 * (exact: E 1 + 0 or E 0 + 1), not a branch: GCC will not if-convert a select whose arm
 * holds a multiply that may trap, so without AVX-512's masks the loop stayed scalar; and
 * neg is made in the first loop (made in the second, it kept that loop scalar too). */
BP_KERNEL_BODY void bp_vsigmoid_body(bool use_fma, const float *restrict x, float *restrict y,
                                     size_t n)
{
    float a[CHUNK], neg[CHUNK];
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
        const float *xc = x + i0;
        float *yc = y + i0;
        for (size_t i = 0; i < m; i++) {
            float v = fabsf(xc[i]);
            a[i] = v > 87.0f ? 87.0f : v; /* e^-87 is still a normal float */
            neg[i] = xc[i] < 0.0f ? 1.0f : 0.0f;
        }
        for (size_t i = 0; i < m; i++) {
            float s, p;
            exp_reduced(use_fma, -a[i], &s, &p);
            float e = bp_madd(use_fma, s, p, s);
            float q = 1.0f / (1.0f + e);
            yc[i] = q * bp_madd(use_fma, e, neg[i], 1.0f - neg[i]);
        }
    }
}

BP_KERNEL_FMA(, bp_vtanh, (const float *restrict x, float *restrict y, size_t n), (x, y, n))
BP_KERNEL_FMA(, bp_vsigmoid, (const float *restrict x, float *restrict y, size_t n), (x, y, n))

#endif
