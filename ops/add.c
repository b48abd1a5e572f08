/* add — y = a + b; b has a's shape or is one row broadcast over a's rows (a bias).
 * The kernels live in op_util.c because skip shares them. */
#include "op_util.h"

const bp_op bp_op_add = {
    .name = "add",
    .n_in = BP_OP_NIN(add),
    .n_attr = BP_OP_NATTR(add),
    .formula = "y = a + b  (b may be one row, broadcast over the batch)",
    .inputs_doc = "a, b (a's shape, or one row)",
    .grad_formula = "da += dy; db += dy (summed over rows when broadcast)",
    .shape = bp_shape_broadcast,
    .forward = bp_add_forward,
    .backward = bp_add_backward, /* da += dy; db += dy (summed over broadcast rows) */
    .unsaved = 1 | 2 | BP_UNSAVED_OUT,
    .check = {.n_cases = 4, .make_case = bp_case_bcast, .lo = -1, .hi = 1},
};
