/* test_recompute.c — memory-efficient BPTT (bp_net_backward_recompute) gives plain
 * BPTT's loss, gradients and state bit for bit: the cases of test_recompute_cases.h on
 * the double build. test_f32_recompute.c runs them on the float build. */
#include "test_recompute_cases.h"
