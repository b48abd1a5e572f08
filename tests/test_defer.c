/* test_defer.c — deferred weight gradients on the double build: the cases of
 * test_defer_cases.h to 1e-12 of each parameter's largest gradient element. */
#define DEFER_TOL 1e-12
#include "test_defer_cases.h"
