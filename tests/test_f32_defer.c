/* test_f32_defer.c — deferred weight gradients on the float build (sgemm): the cases of
 * test_defer_cases.h to 1e-5 of each parameter's largest gradient element. */
#define DEFER_TOL 1e-5
#include "test_defer_cases.h"
