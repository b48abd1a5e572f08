/* args.c — see args.h. */
#include "args.h"
#include "dist_cli.h"
#include "cli.h"

#include <ctype.h>
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

int args_int(const char *cmd, const char *opt, const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (*end || !v[0] || isspace((unsigned char)v[0]) || errno || n < lo || n > hi) {
        cli_error(cmd, "%s takes a whole number from %d to %d, not '%s'", opt, lo, hi, v);
        return -1;
    }
    *out = (int)n;
    return 0;
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
    /* under mpirun each rank reads its share of a data set (bptt_dist.h) */
    bp_trainer *tr = cli_dist ? bp_trainer_new_dist(c, cli_dist, &err) : bp_trainer_new(c, &err);
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

int args_check_batch(const char *cmd, bp_trainer *tr, const char *source, const bp_batch *b,
                     int batch, int steps, bool backward)
{
    bool model_classes = bp_target_is_class(bp_task_target(bp_trainer_task(tr)));
    if (b && bp_target_is_class(b->target) != model_classes) {
        cli_error(cmd, "%s: the batch's targets are %s; the model predicts %s", source,
                  model_classes ? "values" : "class ids", model_classes ? "classes" : "values");
        return -1;
    }
    bp_error err = {0};
    if (b && bp_net_check_batch(bp_trainer_net(tr), b, &err) != BP_OK) {
        cli_error(cmd, "%s: %s", source, err.msg);
        return -1;
    }
    if (bp_trainer_check_batch(tr, b ? b->B : batch, b ? b->T : steps, backward, &err) == BP_OK)
        return 0;
    cli_error(cmd, "%s: %s", source, err.msg);
    return -1;
}

int args_check_output(const char *cmd, const char *what, const char *path)
{
    struct stat st;
    size_t n = strlen(path);
    if (n == 0 || path[n - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        cli_error(cmd, "cannot write the %s %s: it is a directory", what, path);
        return -1;
    }
    bp_error err = {0};
    if (bp_file_check_output(path, &err) == BP_OK)
        return 0;
    /* "PATH: cannot write: why" said as "cannot write the WHAT PATH: why" */
    const char *why = err.msg;
    if (!strncmp(why, path, n) && !strncmp(why + n, ": cannot write: ", 16))
        why += n + 16;
    cli_error(cmd, "cannot write the %s %s: %s", what, path, why);
    return -1;
}

/* The files a model file reads besides itself: data.path, data.train, data.valid. */
static int data_inputs(const bp_model_config *c, args_file *in, int cap)
{
    const bp_file_source *src[] = {&c->data.files.train, &c->data.files.valid};
    int n = 0;
    if (c->data.path[0] && n < cap)
        in[n++] = (args_file){"the data file", c->data.path};
    for (int i = 0; i < 2; i++) {
        const char *paths[] = {src[i]->x, src[i]->y, src[i]->lengths};
        for (int j = 0; j < 3; j++)
            if (paths[j][0] && n < cap)
                in[n++] = (args_file){"a data file", paths[j]};
    }
    return n;
}

int args_check_distinct(const char *cmd, const bp_model_config *c, const args_file *inputs,
                        const args_file *outputs)
{
    args_file all[48];
    int n = 0;
    if (c)
        all[n++] = (args_file){"the model file", c->path};
    if (c)
        n += data_inputs(c, all + n, 7);
    for (const args_file *f = inputs; f && f->what && n < 48; f++)
        if (f->path)
            all[n++] = *f;
    for (const args_file *o = outputs; o && o->what; o++) {
        for (int i = 0; o->path && i < n; i++) {
            if (!bp_file_same(o->path, all[i].path))
                continue;
            cli_error(cmd, "%s %s is %s %s, an input of this run: refusing to overwrite it; "
                      "choose another path", o->what, o->path, all[i].what, all[i].path);
            return -1;
        }
        for (const args_file *p = outputs; o->path && p < o; p++) {
            if (!p->path || (strcmp(o->path, p->path) && !bp_file_same(o->path, p->path)))
                continue;
            cli_error(cmd, "%s %s and %s %s are the same file: choose two paths", p->what,
                      p->path, o->what, o->path);
            return -1;
        }
    }
    return 0;
}
