/* test_run_bptt.h — run the built `bptt` as a user does, for the tests of the command line
 * that read its output as one stream (stdout and stderr together). */
#ifndef BPTT_TEST_RUN_BPTT_H
#define BPTT_TEST_RUN_BPTT_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>

static char out[1 << 16];

/* Run `bptt ARGS` (a shell fragment, printf-formatted); its output in out; the exit status. */
__attribute__((format(printf, 1, 2))) static int bptt(const char *fmt, ...)
{
    char args[2048], cmd[3072];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 %s/bptt %s 2>&1 </dev/null",
             BPTT_BINARY_DIR, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

#endif
