/* args.c — see args.h. */
#include "args.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *args_value(const char *cmd, int argc, char **argv, int i)
{
    if (i + 1 >= argc || argv[i + 1][0] == '\0') {
        cli_error(cmd, "%s needs a value", argv[i]);
        return NULL;
    }
    return argv[i + 1];
}

static int add_set(const char *cmd, model_args *a, const char *set)
{
    if (a->n_sets == ARGS_MAX_SETS) {
        cli_error(cmd, "too many --set options (at most %d)", ARGS_MAX_SETS);
        return -1;
    }
    a->sets[a->n_sets++] = set;
    return 0;
}

int args_model_option(const char *cmd, model_args *a, int argc, char **argv, int i)
{
    const char *opt = argv[i], *key = NULL;
    if (!strcmp(opt, "--set"))
        key = "";
    else if (!strcmp(opt, "--seed"))
        key = "train.seed";
    else if (!strcmp(opt, "--steps"))
        key = "train.steps";
    else if (!strcmp(opt, "--threads"))
        key = "train.threads";
    else
        return 0;
    const char *v = args_value(cmd, argc, argv, i);
    if (!v)
        return -1;
    if (key[0]) {
        if (a->n_owned == 4) {
            cli_error(cmd, "%s given too often", opt);
            return -1;
        }
        char *s = a->owned[a->n_owned++];
        snprintf(s, sizeof a->owned[0], "%s=%s", key, v);
        v = s;
    } else if (!strchr(v, '=')) {
        cli_error(cmd, "--set needs key.path=value, got '%s'", v);
        return -1;
    }
    return add_set(cmd, a, v) ? -1 : 2;
}

int args_take(const char *cmd, model_args *a, const args_string *strings, int argc, char **argv,
              int i)
{
    int used = args_model_option(cmd, a, argc, argv, i);
    if (used)
        return used;
    for (const args_string *s = strings; s && s->name; s++) {
        if (strcmp(argv[i], s->name))
            continue;
        return (*s->slot = args_value(cmd, argc, argv, i)) ? 2 : -1;
    }
    return 0;
}

int args_model_file(const char *cmd, model_args *a, const char *arg)
{
    if (arg[0] == '-' && arg[1]) {
        cli_error(cmd, "unknown option '%s' (see bptt %s --help)", arg, cmd);
        return -1;
    }
    if (a->model) {
        cli_error(cmd, "one model file, please (got '%s' and '%s')", a->model, arg);
        return -1;
    }
    a->model = arg;
    return 0;
}

bp_model_config *args_load(const char *cmd, const model_args *a, int *exit_code)
{
    if (!a->model) {
        cli_error(cmd, "which model? usage: bptt %s MODEL.yaml ...", cmd);
        *exit_code = EXIT_USAGE;
        return NULL;
    }
    bp_error err = {0};
    bp_model_config *c = bp_model_config_load(a->model, a->sets, a->n_sets, &err);
    if (!c) {
        fprintf(stderr, "bptt %s: %s\n", cmd, err.msg);
        *exit_code = EXIT_USAGE;
    }
    return c;
}

bp_trainer *args_trainer(const char *cmd, const bp_model_config *c, const char *weights,
                         int *exit_code)
{
    bp_error err = {0};
    bp_trainer *tr = bp_trainer_new(c, &err);
    if (!tr) {
        /* say which model file, unless the message already does */
        if (strncmp(err.msg, c->path, strlen(c->path)))
            cli_error(cmd, "%s: %s", c->path, err.msg);
        else
            cli_error(cmd, "%s", err.msg);
        *exit_code = err.status == BP_ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
        return NULL;
    }
    if (weights && bp_trainer_load(tr, weights, true, &err) != BP_OK) {
        cli_error(cmd, "%s", err.msg);
        *exit_code = err.status == BP_ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
        bp_trainer_free(tr);
        return NULL;
    }
    return tr;
}

int args_check_output(const char *cmd, const char *what, const char *path)
{
    struct stat st;
    size_t n = strlen(path);
    if (n == 0 || path[n - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        cli_error(cmd, "cannot write the %s %s: it is a directory", what, path);
        return -1;
    }
    const char *slash = strrchr(path, '/');
    char probe[4096];
    if (snprintf(probe, sizeof probe, "%.*s.bptt-probe-XXXXXX", slash ? (int)(slash - path + 1) : 0,
                 path) >= (int)sizeof probe) {
        cli_error(cmd, "cannot write the %s %s: the path is too long", what, path);
        return -1;
    }
    int fd = mkstemp(probe);
    if (fd < 0) {
        cli_error(cmd, "cannot write the %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}
