/* plugins.c — `--plugin FILE` for every command: taken out of argv and loaded before the
 * command runs (bp_plugin_load), remembered for the double-precision re-run. */
#include "cli.h"

#include "bptt_plugin.h"

#include <string.h>

const char *cli_plugins[CLI_MAX_PLUGINS];
int cli_n_plugins;

int cli_take_plugins(int *argc, char **argv)
{
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--plugin")) {
            argv[kept++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc || !argv[i + 1][0]) {
            cli_error(argv[0], "--plugin needs a shared library (--plugin ./libmyops.so)");
            return -1;
        }
        if (cli_n_plugins == CLI_MAX_PLUGINS) {
            cli_error(argv[0], "too many --plugin options (at most %d)", CLI_MAX_PLUGINS);
            return -1;
        }
        const char *path = argv[++i];
        bp_error err;
        if (bp_plugin_load(path, &err) != BP_OK) {
            cli_error(argv[0], "%s", err.msg);
            return -1;
        }
        cli_plugins[cli_n_plugins++] = path;
    }
    *argc = kept;
    argv[kept] = NULL;
    return 0;
}
