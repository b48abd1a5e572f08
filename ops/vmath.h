/* vmath.h — elementwise kernels the fused cell ops share (internal to ops/): bp_vtanh and
 * bp_vsigmoid, declared in bptt_ops.h.
 *
 * Float build: tanh and sigmoid from one range-reduced exp, written as plain loops the
 * compiler vectorises (branch-free, so every variant does), within 3 ulp of the
 * correctly rounded result (tests/test_f32_vmath.c), NaN in gives NaN out, and +-inf
 * give the limits. Double build: libm, so gradient checks stay exact. x and y must not
 * overlap. The loops are compiled once per kernel variant (isa.h). */
#ifndef BPTT_VMATH_H
#define BPTT_VMATH_H

#include "isa.h"

#include <stddef.h>

#endif
