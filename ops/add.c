/* add — y = a + b; b has a's shape or is one row broadcast over a's rows (a bias).
 * The kernels live in op_util.c because skip shares them. */
#include "op_util.h"

const bp_op bp_op_add = {
    .name = "add",
    .n_in = 2,
    .formula = "y = a + b  (b may be one row, broadcast over the batch)",
    .shape = bp_shape_broadcast,
    .forward = bp_add_forward,
    .backward = bp_add_backward, /* da += dy; db += dy (summed over broadcast rows) */
    .check = {.n_cases = 4, .make_case = bp_case_bcast, .lo = -1, .hi = 1},
};
