/* test_f32_recompute.c — the cases of test_recompute_cases.h on the float build (the
 * vectorised tanh and sigmoid, sgemm): recomputation gives plain BPTT's loss, gradients
 * and state bit for bit there too. */
#include "test_recompute_cases.h"
