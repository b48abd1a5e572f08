/* test_valgrind.h — whether the test runs under valgrind (tests/valgrind.sh sets
 * BPTT_UNDER_VALGRIND), where code runs some 50 times slower: the few tests that compute
 * much there do less of the same work (fewer repetitions, shapes or cases), so that the
 * memory checks still reach every code path the test does natively. */
#ifndef TEST_VALGRIND_H
#define TEST_VALGRIND_H

#include <stdbool.h>
#include <stdlib.h>

static inline bool under_valgrind(void)
{
    return getenv("BPTT_UNDER_VALGRIND") != NULL;
}

#endif
