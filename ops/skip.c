/* skip — y = f(x) + x, a skip (residual) connection. The arithmetic of add, under
 * its own name on the tape so diagnostics can tell how much gradient takes the
 * shortcut; the shapes must match exactly. */
#include "op_util.h"

const bp_op bp_op_skip = {
    .name = "skip",
    .n_in = BP_OP_NIN(skip),
    .n_attr = BP_OP_NATTR(skip),
    .formula = "y = fx + x",
    .inputs_doc = "fx, x (same shape)",
    .grad_formula = "dfx += dy; dx += dy",
    .shape = bp_shape_exact,
    .forward = bp_add_forward,
    .backward = bp_add_backward, /* dfx += dy; dx += dy */
    .unsaved = 1 | 2 | BP_UNSAVED_OUT,
    .check = {.n_cases = 3, .make_case = bp_case_same, .lo = -1, .hi = 1},
};
