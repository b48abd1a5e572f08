/* cmd_gradflow.c — `bptt gradflow MODEL.yaml... [--variant 'NAME:key=v,...']...`:
 * for one batch with the loss at the last step, how much gradient reaches each
 * earlier step, per recurrent layer, for several models side by side. A --variant
 * right after a model file is that model's; one before any model file applies to
 * every model that has none of its own. Output: a table
 * with sparklines, a CSV file and an SVG figure. Runs in double precision (through
 * bptt-f64, as gradcheck does) so that vanishing norms far below float's range are
 * measured rather than flushed to zero; --f32 measures in the float build. */
#include "args.h"
#include "cli.h"
#include "cmd_gradflow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GF_MAX_MODELS 16
#define GF_MAX_VARIANTS 32
#define GF_MAX_RUNS 64
#define GF_MAX_VARIANT_SETS 16

typedef struct gf_model {
    const char *path, *weights;
} gf_model;

typedef struct gf_variant {
    int model;                       /* the model file it follows; -1: before any, for all */
    char name[64];
    char *sets[GF_MAX_VARIANT_SETS]; /* owned copies */
    int n_sets;
} gf_variant;

typedef struct gf_opts {
    gf_model models[GF_MAX_MODELS];
    int n_models;
    gf_variant variants[GF_MAX_VARIANTS];
    int n_variants;
    const char *sets[ARGS_MAX_SETS];
    int n_sets;
    char seed_set[64];
    const char *batch, *svg, *csv, *title;
    int size;
} gf_opts;

/* "NAME:key=v,key=v" (or "NAME" alone: the model as it is) into v. */
static int parse_variant(const char *spec, gf_variant *v)
{
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len == 0 || len >= sizeof v->name) {
        cli_error("gradflow", "--variant '%s': the name before ':' must have 1 to %zu characters",
                  spec, sizeof v->name - 1);
        return -1;
    }
    memcpy(v->name, spec, len);
    v->name[len] = '\0';
    if (strpbrk(v->name, ",\"\n")) {
        cli_error("gradflow", "--variant '%s': a name holds no comma, quote or newline", spec);
        return -1;
    }
    if (!colon || !colon[1])
        return 0;
    char *copy = strdup(colon + 1), *save = NULL;
    if (!copy) {
        cli_error("gradflow", "out of memory");
        return -1;
    }
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strchr(tok, '=') || tok[0] == '=') {
            cli_error("gradflow", "--variant '%s': '%s' is not key.path=value", spec, tok);
            free(copy);
            return -1;
        }
        if (v->n_sets == GF_MAX_VARIANT_SETS) {
            cli_error("gradflow", "--variant '%s': at most %d settings", spec,
                      GF_MAX_VARIANT_SETS);
            free(copy);
            return -1;
        }
        if (!(v->sets[v->n_sets++] = strdup(tok))) {
            cli_error("gradflow", "out of memory");
            free(copy);
            return -1;
        }
    }
    free(copy);
    return 0;
}

static void opts_free(gf_opts *o)
{
    for (int i = 0; i < o->n_variants; i++)
        for (int j = 0; j < o->variants[i].n_sets; j++)
            free(o->variants[i].sets[j]);
}

static int parse(int argc, char **argv, gf_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        bool takes = !strcmp(a, "--weights") || !strcmp(a, "--set") || !strcmp(a, "--seed") ||
                     !strcmp(a, "--variant") || !strcmp(a, "--batch") || !strcmp(a, "--size") ||
                     !strcmp(a, "--svg") || !strcmp(a, "--csv") || !strcmp(a, "--title");
        if (takes && !(v = args_value("gradflow", argc, argv, i++)))
            return -1;
        if (!strcmp(a, "--weights")) {
            if (!o->n_models || o->models[o->n_models - 1].weights) {
                cli_error("gradflow", "--weights %s: put it right after its model file", v);
                return -1;
            }
            o->models[o->n_models - 1].weights = v;
        } else if (!strcmp(a, "--set") || !strcmp(a, "--seed")) {
            if (o->n_sets == ARGS_MAX_SETS) {
                cli_error("gradflow", "too many --set options (at most %d)", ARGS_MAX_SETS);
                return -1;
            }
            if (!strcmp(a, "--seed")) {
                snprintf(o->seed_set, sizeof o->seed_set, "train.seed=%s", v);
                v = o->seed_set;
            } else if (!strchr(v, '=')) {
                cli_error("gradflow", "--set needs key.path=value, got '%s'", v);
                return -1;
            }
            o->sets[o->n_sets++] = v;
        } else if (!strcmp(a, "--variant")) {
            if (o->n_variants == GF_MAX_VARIANTS) {
                cli_error("gradflow", "at most %d variants", GF_MAX_VARIANTS);
                return -1;
            }
            o->variants[o->n_variants].model = o->n_models - 1;
            if (parse_variant(v, &o->variants[o->n_variants++]))
                return -1;
        } else if (!strcmp(a, "--size")) {
            if (args_int("gradflow", "--size", v, 1, ARGS_MAX_BATCH, &o->size))
                return -1;
        } else if (takes) {
            *(!strcmp(a, "--batch") ? &o->batch : !strcmp(a, "--svg") ? &o->svg
              : !strcmp(a, "--csv") ? &o->csv : &o->title) = v;
        } else if (!strcmp(a, "--f32")) {
            continue; /* handled before handing over to bptt-f64 */
        } else if (a[0] == '-' && a[1]) {
            cli_error("gradflow", "unknown option '%s' (see bptt gradflow --help)", a);
            return -1;
        } else if (o->n_models == GF_MAX_MODELS) {
            cli_error("gradflow", "at most %d model files", GF_MAX_MODELS);
            return -1;
        } else {
            o->models[o->n_models++] = (gf_model){a, NULL};
        }
    }
    if (!o->n_models) {
        cli_error("gradflow", "which model? usage: bptt gradflow MODEL.yaml... (see --help)");
        return -1;
    }
    return 0;
}

/* The file's name without folder and extension. */
static void stem(const char *path, char *out, size_t n)
{
    const char *s = strrchr(path, '/');
    snprintf(out, n, "%s", s ? s + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

static void make_label(const gf_opts *o, const bp_model_config *c, const gf_model *m,
                       const gf_variant *v, gf_run *runs, int n)
{
    char *l = runs[n].label;
    size_t cap = sizeof runs[n].label;
    if (v && v->model < 0 && o->n_models > 1)
        snprintf(l, cap, "%s:%s", c->name, v->name);
    else
        snprintf(l, cap, "%s", v ? v->name : c->name);
    if (m->weights && !v) {
        char w[64];
        stem(m->weights, w, sizeof w);
        size_t len = strlen(l);
        snprintf(l + len, cap - len, " @%s", w);
    }
    int same = 0;
    for (int i = 0; i < n; i++)
        same += !strncmp(runs[i].label, l, strlen(l));
    if (same) {
        size_t len = strlen(l);
        snprintf(l + len, cap - len, " (%d)", same + 1);
    }
}

/* One run: load the model with its settings, build the trainer, measure. */
static int run_one(const gf_opts *o, const gf_model *m, const gf_variant *v,
                   const bp_batch *file_batch, gf_run *runs, int n)
{
    const char *sets[ARGS_MAX_SETS + GF_MAX_VARIANT_SETS];
    int ns = 0, rc = EXIT_OK;
    for (int i = 0; i < o->n_sets; i++)
        sets[ns++] = o->sets[i];
    for (int i = 0; v && i < v->n_sets; i++)
        sets[ns++] = v->sets[i];
    bp_error err = {0};
    bp_model_config *c = bp_model_config_load(m->path, sets, ns, &err);
    if (!c) {
        cli_error("gradflow", "%s%s%s%s", v ? "variant " : "", v ? v->name : "", v ? ": " : "",
                  err.msg);
        return EXIT_USAGE;
    }
    bp_trainer *tr = args_trainer("gradflow", c, m->weights, &rc);
    int B = o->size ? o->size : c->train.batch;
    if (tr && args_check_batch("gradflow", tr, file_batch ? o->batch : m->path, file_batch, B,
                               bp_task_steps(bp_trainer_task(tr)), true)) {
        bp_trainer_free(tr);
        tr = NULL;
        rc = EXIT_USAGE;
    }
    bp_batch *drawn = NULL;
    if (tr && !file_batch) {
        bp_rng rng;
        bp_rng_seed(&rng, c->train.seed);
        drawn = bp_task_batch(bp_trainer_task(tr), o->size ? o->size : c->train.batch,
                              BP_SPLIT_TRAIN, &rng, &err);
        if (!drawn) {
            cli_error("gradflow", "%s: %s", m->path, err.msg);
            rc = cli_status_exit(err.status);
        }
    }
    if (tr && (file_batch || drawn)) {
        runs[n].g = bp_gradflow_run(tr, file_batch ? file_batch : drawn, &err);
        if (!runs[n].g) {
            cli_error("gradflow", "%s: %s", file_batch ? o->batch : m->path, err.msg);
            rc = cli_status_exit(err.status);
        } else {
            runs[n].model = m->path;
            runs[n].weights = m->weights;
            make_label(o, c, m, v, runs, n);
        }
    }
    bp_batch_free(drawn);
    bp_trainer_free(tr);
    bp_model_config_free(c);
    return rc;
}

int cmd_gradflow(int argc, char **argv)
{
    bool f32 = false;
    for (int i = 1; i < argc; i++)
        f32 |= !strcmp(argv[i], "--f32");
    if (!f32) {
        int rc = cli_run_in_f64(argc, argv);
        if (rc >= 0)
            return rc;
    }
    gf_opts o = {0};
    gf_run runs[GF_MAX_RUNS];
    int n = 0, rc = EXIT_OK;
    memset(runs, 0, sizeof runs);
    bp_batch *fb = NULL;
    if (parse(argc, argv, &o)) {
        opts_free(&o);
        return EXIT_USAGE;
    }
    args_file inputs[2 * GF_MAX_MODELS + 2] = {{"--batch", o.batch}};
    for (int m = 0; m < o.n_models; m++) {
        inputs[1 + 2 * m] = (args_file){"a model file", o.models[m].path};
        inputs[2 + 2 * m] = (args_file){"--weights", o.models[m].weights};
    }
    inputs[1 + 2 * o.n_models] = (args_file){NULL, NULL};
    const args_file outputs[] = {{"--svg", o.svg}, {"--csv", o.csv}, {NULL, NULL}};
    if (args_check_distinct("gradflow", NULL, inputs, outputs) ||
        (o.svg && args_check_output("gradflow", "figure", o.svg)) ||
        (o.csv && args_check_output("gradflow", "table", o.csv))) {
        opts_free(&o);
        return EXIT_USAGE;
    }
    if (o.batch) {
        bp_error err;
        if (!(fb = bp_batch_load(o.batch, &err))) {
            cli_error("gradflow", "%s", err.msg);
            opts_free(&o);
            return EXIT_USAGE;
        }
    }
    for (int m = 0; m < o.n_models && !rc; m++) {
        /* the model's own variants, else those given before any model, else none */
        int owner = m, count = 0;
        for (int v = 0; v < o.n_variants; v++)
            count += o.variants[v].model == m;
        if (!count)
            owner = -1;
        for (int v = 0; v < o.n_variants; v++)
            count += o.variants[v].model == -1 && owner == -1;
        for (int v = 0; v <= o.n_variants && !rc; v++) {
            const gf_variant *var = v < o.n_variants ? &o.variants[v] : NULL;
            if (var ? var->model != owner : count > 0)
                continue;
            if (n == GF_MAX_RUNS) {
                cli_error("gradflow", "at most %d curves", GF_MAX_RUNS);
                rc = EXIT_USAGE;
            } else if (!(rc = run_one(&o, &o.models[m], var, fb, runs, n))) {
                n++;
            }
        }
    }
    if (!rc) {
        gf_print_table(stdout, runs, n);
        if (o.csv && gf_write_csv(o.csv, runs, n)) {
            cli_error("gradflow", "cannot write %s: %s", o.csv, strerror(errno));
            rc = EXIT_RUNTIME;
        } else if (o.csv) {
            printf("wrote %s\n", o.csv);
        }
        if (o.svg && gf_write_svg(o.svg, o.title, runs, n)) {
            cli_error("gradflow", "cannot write %s: %s", o.svg, strerror(errno));
            rc = EXIT_RUNTIME;
        } else if (o.svg) {
            printf("wrote %s\n", o.svg);
        }
    }
    for (int i = 0; i < n; i++)
        bp_gradflow_free(runs[i].g);
    bp_batch_free(fb);
    opts_free(&o);
    return rc;
}
