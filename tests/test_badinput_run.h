/* test_badinput_run.h — running the `bptt` binary the way a user does, for the bad-input
 * and fault tests: a private temporary folder, files written byte for byte, a run's
 * stdout, stderr and exit status (128 + the signal when it died of one), and runs under
 * a file size limit. Included by tests/test_badinput.c and tests/test_faults.c. */
#ifndef BPTT_TEST_BADINPUT_RUN_H
#define BPTT_TEST_BADINPUT_RUN_H

#include "bptt_models.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* An AddressSanitizer build reserves terabytes of address space: no ulimit -v there. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define BPTT BPTT_BINARY_DIR "/bptt"
#define MODEL(name) BPTT_SOURCE_DIR "/models/" name ".yaml"
/* tanh_adding made tiny: every run takes milliseconds */
#define TINY "--set model.layers[0].hidden=8 --set train.batch=2 --set train.eval_batch=2 " \
             "--set data.steps=4"

static char dir[64];
static const char *run_prefix = ""; /* shell commands before each run, e.g. a ulimit */
static char out[1 << 16], err_text[1 << 14];

/* The private folder: in /dev/shm when fast is set and it is there (a tmpfs, where fsync
 * costs nothing), else in /tmp. */
__attribute__((unused)) static void make_dir_in(bool fast)
{
    snprintf(dir, sizeof dir, "%s/bptt_bad_XXXXXX",
             fast && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
}

__attribute__((unused)) static void make_dir(void)
{
    make_dir_in(false);
}

__attribute__((unused)) static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (dir[0] && system(cmd) != 0)
        cr_log_warn("could not remove %s", dir);
}

/* dir/name, in one of 8 rotating buffers. */
__attribute__((unused)) static const char *tmp(const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

__attribute__((unused)) static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

__attribute__((unused)) static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* The whole file; *n its size. NULL when it cannot be read. Free it. */
__attribute__((unused)) static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 12, len = 0, got;
    unsigned char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *n = len;
    return buf;
}

__attribute__((unused)) static void slurp(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

__attribute__((unused)) static int status_of(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run `bptt ARGS` (a shell fragment, run from dir) with stdout in out and stderr in
 * err_text; returns the exit status. */
__attribute__((unused)) static int bptt(const char *fmt, ...)
{
    char args[4096], cmd[6144];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s OPENBLAS_NUM_THREADS=1 %s %s >stdout.txt 2>stderr.txt </dev/null", dir,
             run_prefix, BPTT, args);
    int status = system(cmd);
    slurp(tmp("stdout.txt"), out, sizeof out);
    slurp(tmp("stderr.txt"), err_text, sizeof err_text);
    return status_of(status);
}

/* The same with the file size limited to fsize bytes and SIGXFSZ ignored (a full disk:
 * each write past the limit fails with EFBIG). argv is NULL-terminated, after "bptt". */
__attribute__((unused)) static int bptt_fsize(rlim_t fsize, const char *const argv[])
{
    const char *args[32] = {BPTT};
    int n = 1;
    while (argv[n - 1] && n < 31) {
        args[n] = argv[n - 1];
        n++;
    }
    args[n] = NULL;
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int o = open(tmp("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(tmp("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || chdir(dir) != 0)
            _exit(126);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit r = {fsize, fsize};
        if (setrlimit(RLIMIT_FSIZE, &r) != 0)
            _exit(126);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execv(BPTT, (char *const *)args);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    slurp(tmp("stdout.txt"), out, sizeof out);
    slurp(tmp("stderr.txt"), err_text, sizeof err_text);
    return status_of(status);
}

/* A run's status and a piece of its stderr; never a crash. */
#define expect_run(want, text, ...)                                                        \
    do {                                                                                   \
        int rc_ = bptt(__VA_ARGS__);                                                       \
        cr_expect_lt(rc_, 128, "bptt crashed (signal %d): %s", rc_ - 128, err_text);       \
        cr_expect_eq(rc_, want, "exit %d, expected %d: %s", rc_, want, err_text);          \
        cr_expect(strstr(err_text, text), "expected '%s' in: %s", text, err_text);         \
    } while (0)

#endif
