/* bench_child.c — run a measurement in a fresh process (so its peak resident size is its
 * own) and read back what it printed. */
#include "bench_util.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int bench_run_child(const char *path, char *const argv[], char *out, size_t size)
{
    int fd[2];
    if (pipe(fd)) {
        cli_error("bench", "pipe: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        cli_error("bench", "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return EXIT_RUNTIME;
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDOUT_FILENO);
        close(fd[1]);
        execv(path, argv);
        fprintf(stderr, "bptt bench: cannot run %s: %s\n", path, strerror(errno));
        _exit(EXIT_RUNTIME);
    }
    close(fd[1]);
    size_t used = 0;
    ssize_t n;
    while (used + 1 < size && (n = read(fd[0], out + used, size - 1 - used)) > 0)
        used += (size_t)n;
    out[used] = '\0';
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? EXIT_OK : EXIT_RUNTIME;
}
