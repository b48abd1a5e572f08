/* vmath.h — elementwise kernels the fused cell ops share (internal to ops/).
 *
 * Float build: tanh and sigmoid from one range-reduced exp, written as plain loops the
 * compiler vectorises, within 3 ulp of the correctly rounded result (tests/test_f32_vmath.c),
 * NaN in gives NaN out, and +-inf give the limits. Double build: libm, so gradient checks
 * stay exact. x and y must not overlap.
 *
 * BP_KERNEL marks a hot loop that GCC also compiles for AVX-512 and AVX2 (x86-64-v4 and
 * -v3), the variant picked once at load time; results are the same in every variant
 * (elementwise, no reassociation, no contraction into FMA under -std=c11). Define
 * BP_NO_CLONES to build the baseline only. */
#ifndef BPTT_VMATH_H
#define BPTT_VMATH_H

#include "bptt_graph.h"

#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(BP_NO_CLONES)
#define BP_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BP_KERNEL
#endif

/* y = tanh(x) */
void bp_vtanh(const bp_real *restrict x, bp_real *restrict y, size_t n);
/* y = 1 / (1 + exp(-x)) */
void bp_vsigmoid(const bp_real *restrict x, bp_real *restrict y, size_t n);

#endif
