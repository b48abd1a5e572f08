/* test_tmpdir.h — a test's own folder under /tmp: made at the first path asked for, and
 * removed with what is in it when the test ends (Criterion runs each test in a process of
 * its own; declare TestSuite(suite, .fini = test_dir_remove) in the file). */
#ifndef BPTT_TEST_TMPDIR_H
#define BPTT_TEST_TMPDIR_H

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>

static char test_dir[64];

/* TEST_DIR_PREFIX "_XXXXXX"/name; the last 8 paths stay valid. */
static const char *test_path(const char *name)
{
    if (!test_dir[0]) {
        snprintf(test_dir, sizeof test_dir, "/tmp/%s_XXXXXX", TEST_DIR_PREFIX);
        cr_assert_not_null(mkdtemp(test_dir));
    }
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", test_dir, name);
    return p;
}

static void test_dir_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_dir);
    if (test_dir[0] && system(cmd) != 0)
        cr_log_warn("could not remove %s", test_dir);
}

#endif
