/* f64.c — run this command in the double-precision build of bptt. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cli_run_in_f64(int argc, char **argv)
{
#ifdef BP_DOUBLE
    (void)argc;
    (void)argv;
    return -1; /* already double: run here */
#else
    char self[PATH_MAX], path[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        cli_error(argv[0], "cannot find my own path to run bptt-f64: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(path, sizeof path, "%s/bptt-f64", self);
    char *args[64 + 2 * CLI_MAX_PLUGINS];
    if (argc > 62) {
        cli_error(argv[0], "too many arguments");
        return EXIT_USAGE;
    }
    int k = 0;
    args[k++] = path;
    for (int i = 0; i < argc; i++)
        args[k++] = argv[i];
    for (int i = 0; i < cli_n_plugins; i++) { /* bptt-f64 reads X.so as X_f64.so */
        args[k++] = "--plugin";
        args[k++] = (char *)cli_plugins[i];
    }
    args[k] = NULL;
    fflush(stdout);
    execv(path, args);
    cli_error(argv[0], "cannot run %s (the double-precision build, installed beside bptt): %s",
              path, strerror(errno));
    return EXIT_RUNTIME;
#endif
}
