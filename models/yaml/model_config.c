/* model_config.c — a model file (YAML) read against a closed schema into a
 * bp_model_config. Every error names file:line:column and the key; unknown keys and
 * names list the known ones. The schema is documented in docs/models.md. */
#include "bptt_models.h"
#include "hash.h"
#include "model_config_internal.h"
#include "bptt_plugin.h"
#include "yaml_doc.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const top_keys[] = {"name", "plugins", "model", "loss", "data", "train"};
static const char *const model_keys[] = {"input", "vocab", "output", "layers", "graph",
                                         "truncate", "recompute"};
static const char *const layer_keys[] = {"name", "type", "hidden", "size", "activation",
                                         "init", "gain", "std", "spectral_radius", "clip_grad",
                                         "residual", "skip", "forget_bias", "dropout",
                                         "variational", "recurrent_dropout"};
/* The names the layer form takes, from the layers' own lists (bptt_layers.h). */
#define FORM_KIND(id, name, form) form,
#define ACT_NAME(id, name, op, fused) name,
#define INIT_NAME(id, name) name,
static const bool in_layer_form[] = {BP_LAYER_KIND_LIST(FORM_KIND)};
static const char *const activations[] = {BP_ACT_LIST(ACT_NAME)};
static const char *const inits[] = {BP_INIT_LIST(INIT_NAME)};

/* The layer kinds a model file's layer form names ("cell" comes from model.graph). */
static int layer_types(const char *names[BP_LAYER_KIND_COUNT], bp_layer_kind ids[BP_LAYER_KIND_COUNT])
{
    int n = 0;
    for (int k = 0; k < BP_LAYER_KIND_COUNT; k++)
        if (in_layer_form[k]) {
            ids[n] = (bp_layer_kind)k;
            names[n++] = bp_layer_kind_name((bp_layer_kind)k);
        }
    return n;
}
static const char *const losses[] = {"mse", "xent"};

bp_status bp_model_copy_text(const bp_yd_node *n, const char *s, char *dst, size_t size,
                           bp_error *err)
{
    if (strlen(s) >= size)
        return bp_yd_fail(n, BP_ERR_VALUE, err, "'%s' is too long (at most %zu characters)", s,
                          size - 1);
    memcpy(dst, s, strlen(s) + 1);
    return BP_OK;
}

bp_status bp_model_get_int(const bp_yd_node *map, const char *key, long long def, long long lo,
                         long long hi, int *out, bp_error *err)
{
    long long v;
    TRY(bp_yd_get_int(map, key, def, lo, hi, &v, err));
    *out = (int)v;
    return BP_OK;
}

bp_status bp_model_get_long(const bp_yd_node *map, const char *key, long long def, long long lo,
                          long long hi, long *out, bp_error *err)
{
    long long v;
    TRY(bp_yd_get_int(map, key, def, lo, hi, &v, err));
    *out = (long)v;
    return BP_OK;
}

/* recompute: true (segments of ceil(sqrt(T)) steps), false or 0 (off), or a segment
 * length k >= 1. */
static bp_status read_recompute(const bp_yd_node *m, int *out, bp_error *err)
{
    const bp_yd_node *n = bp_yd_get(m, "recompute");
    bool on;
    *out = 0;
    if (!n)
        return BP_OK;
    if (bp_yd_bool(n, &on, NULL) == BP_OK) {
        *out = on ? BP_RECOMPUTE_SQRT : 0;
        return BP_OK;
    }
    long long k;
    bp_error e;
    bp_status st = bp_yd_int(n, 0, BP_TASK_MAX_T, &k, &e);
    if (st == BP_OK)
        *out = (int)k;
    if (st == BP_ERR_VALUE) /* an integer out of range: its message */
        bp_error_set(err, st, "%s", e.msg);
    if (st == BP_OK || st == BP_ERR_VALUE)
        return st;
    return bp_yd_fail(n, BP_ERR_PARSE, err, "'model.recompute' must be true (segments of "
                      "sqrt(T) steps), false or a segment length in steps, not %s%s%s",
                      n->kind == BP_YD_SCALAR ? "'" : "",
                      n->kind == BP_YD_SCALAR ? n->text : bp_yd_kind_name(n->kind),
                      n->kind == BP_YD_SCALAR ? "'" : "");
}

/* skip: an earlier layer's name, or "input". Resolved after every name is known. */
static bp_status resolve_skip(const bp_yd_node *layer, const bp_layer_spec *layers, int i,
                              int *out, bp_error *err)
{
    const bp_yd_node *n = bp_yd_get(layer, "skip");
    *out = BP_SKIP_NONE;
    if (!n || bp_yd_is_null(n))
        return BP_OK;
    const char *name;
    TRY(bp_yd_string(n, &name, err));
    if (!strcmp(name, "input")) {
        *out = BP_SKIP_INPUT;
        return BP_OK;
    }
    const char *earlier[BP_NET_MAX_LAYERS + 1];
    earlier[0] = "input";
    for (int j = 0; j < i; j++) {
        if (!strcmp(layers[j].name, name)) {
            *out = j;
            return BP_OK;
        }
        earlier[j + 1] = layers[j].name;
    }
    char hint[256];
    bp_suggest_known(hint, sizeof hint, name, earlier, i + 1);
    return bp_yd_fail(n, BP_ERR_NAME, err,
                      "skip: '%s' is not an earlier layer (%s)", name, hint);
}

/* A dropout rate: in [0, 1) (1 would drop everything, and scale by 1 / 0). */
static bp_status get_rate(const bp_yd_node *map, const char *key, double *out, bp_error *err)
{
    TRY(bp_yd_get_double(map, key, 0, 0, 1, out, err));
    if (*out == 1)
        return bp_yd_fail(bp_yd_get(map, key), BP_ERR_VALUE, err,
                          "'%s' must be in [0, 1) (the fraction dropped), not 1", key);
    return BP_OK;
}

static bp_status read_layer(const bp_yd_node *n, int i, bp_layer_spec *l, bp_error *err)
{
    int type, act, init;
    TRY(bp_yd_expect(n, BP_YD_MAP, err));
    TRY(bp_yd_check_keys(n, layer_keys, COUNT(layer_keys), err));
    const bp_yd_node *type_node;
    TRY(bp_yd_require(n, "type", &type_node, err));
    const char *type_names[BP_LAYER_KIND_COUNT];
    bp_layer_kind type_ids[BP_LAYER_KIND_COUNT];
    TRY(bp_yd_enum(type_node, type_names, layer_types(type_names, type_ids), &type, err));
    bp_layer_spec_default(l, type_ids[type]);
    bool recurrent = bp_layer_is_recurrent(l->kind);

    const char *name;
    TRY(bp_yd_get_string(n, "name", "", &name, err));
    if (!name[0])
        snprintf(l->name, sizeof l->name, "%s%d", type_names[type], i);
    else
        TRY(bp_model_copy_text(bp_yd_get(n, "name"), name, l->name, sizeof l->name, err));

    /* width: "hidden" for recurrent layers, "size" for the others */
    const char *want = recurrent ? "hidden" : "size", *other = recurrent ? "size" : "hidden";
    if (bp_yd_get(n, other))
        return bp_yd_fail(bp_yd_get(n, other), BP_ERR_NAME, err,
                          "layer type '%s' sets its width with '%s', not '%s'", type_names[type],
                          want, other);
    const bp_yd_node *width;
    TRY(bp_yd_require(n, want, &width, err));
    long long size;
    TRY(bp_yd_int(width, 1, BP_LAYER_MAX_SIZE, &size, err));
    l->size = (int)size;

    TRY(bp_yd_get_enum(n, "activation", l->act, activations, COUNT(activations), &act, err));
    l->act = (bp_act)act;
    TRY(bp_yd_get_enum(n, "init", l->init, inits, COUNT(inits), &init, err));
    l->init = (bp_init_kind)init;
    TRY(bp_yd_get_double(n, "gain", l->init_gain, -1e6, 1e6, &l->init_gain, err));
    TRY(bp_yd_get_double(n, "std", l->init_std, 0, 1e6, &l->init_std, err));
    TRY(bp_yd_get_double(n, "spectral_radius", 0, 0, 1e6, &l->spectral_radius, err));
    TRY(bp_yd_get_double(n, "clip_grad", 0, 0, 1e30, &l->clip_grad, err));
    TRY(bp_yd_get_bool(n, "residual", false, &l->residual, err));
    TRY(bp_yd_get_double(n, "forget_bias", 0, -1e6, 1e6, &l->forget_bias, err));
    TRY(get_rate(n, "dropout", &l->dropout, err));
    TRY(bp_yd_get_bool(n, "variational", false, &l->variational, err));
    TRY(get_rate(n, "recurrent_dropout", &l->recurrent_dropout, err));
    return BP_OK;
}

/* The net's own check, its message placed at the layer at fault (the net's own fields:
 * the first layer). */
static bp_status check_layers(const bp_yd_node *seq, bp_net_spec *net, bp_error *err)
{
    bp_error e;
    int at;
    if (bp_net_spec_check_at(net, &at, &e) != BP_OK)
        return bp_yd_fail(seq->items[at < 0 ? 0 : at], e.status, err, "%s", e.msg);
    return BP_OK;
}

static bp_status read_model(const bp_yd_node *m, bp_model_config *c, bp_error *err)
{
    TRY(bp_yd_expect(m, BP_YD_MAP, err));
    TRY(bp_yd_check_keys(m, model_keys, COUNT(model_keys), err));
    bp_net_spec_default(&c->net);
    TRY(bp_model_get_int(m, "input", 0, 1, BP_LAYER_MAX_SIZE, &c->net.input_size, err));
    int vocab;
    TRY(bp_model_get_int(m, "vocab", 0, 1, BP_LAYER_MAX_SIZE, &vocab, err));
    if (vocab && c->net.input_size)
        return bp_yd_fail(bp_yd_get(m, "vocab"), BP_ERR_VALUE, err,
                          "give 'input' (features per step) or 'vocab' (token input), not both");
    if (vocab)
        c->net.input_size = vocab;
    TRY(bp_model_get_int(m, "output", 0, 1, BP_LAYER_MAX_SIZE, &c->net.output_size, err));
    TRY(bp_model_get_int(m, "truncate", 0, 0, BP_TASK_MAX_T, &c->net.chunk, err));
    TRY(read_recompute(m, &c->net.recompute, err));

    const bp_yd_node *layers = bp_yd_get(m, "layers"), *graph = bp_yd_get(m, "graph");
    if (layers && graph)
        return bp_yd_fail(graph, BP_ERR_VALUE, err,
                          "a model has 'layers' or a 'graph' (one recurrent cell), not both");
    if (!layers && !graph)
        return bp_yd_fail(m, BP_ERR_VALUE, err, "'model' is missing the required key 'layers' "
                                                "(or 'graph')");
    if (graph)
        return bp_model_read_graph(graph, c, err);
    TRY(bp_yd_expect(layers, BP_YD_SEQ, err));
    if (layers->n < 1 || layers->n > BP_NET_MAX_LAYERS)
        return bp_yd_fail(layers, BP_ERR_VALUE, err, "'model.layers' needs 1 to %d layers, has %d",
                          BP_NET_MAX_LAYERS, layers->n);
    c->layers = calloc((size_t)layers->n, sizeof *c->layers);
    if (!c->layers)
        return bp_error_set(err, BP_ERR_NOMEM, "out of memory");
    for (int i = 0; i < layers->n; i++)
        TRY(read_layer(layers->items[i], i, &c->layers[i], err));
    for (int i = 0; i < layers->n; i++)
        TRY(resolve_skip(layers->items[i], c->layers, i, &c->layers[i].skip_from, err));
    c->net.layers = c->layers;
    c->net.n_layers = layers->n;
    /* the net's check needs sizes: take the task's when the file leaves them out */
    bp_net_spec probe = c->net;
    if (!probe.input_size)
        probe.input_size = 1;
    if (!probe.output_size)
        probe.output_size = 1;
    probe.tokens = vocab > 0 || c->layers[0].kind == BP_LAYER_EMBEDDING;
    return check_layers(layers, &probe, err);
}

/* The loss a model file may name must be the one its task's targets need (a data set's
 * targets are known once it is read: the trainer checks data.loss then). */
static bp_status check_loss(const bp_yd_node *root, bp_data_config *d, bp_error *err)
{
    const bp_yd_node *n = bp_yd_get(root, "loss");
    if (!n)
        return BP_OK;
    int loss;
    TRY(bp_yd_enum(n, losses, COUNT(losses), &loss, err));
    snprintf(d->loss, sizeof d->loss, "%s", losses[loss]);
#define TASK_LOSS(id, name, T, lo, loss) loss,
    static const char *const task_loss[] = {BP_TASK_LIST(TASK_LOSS)};
    bp_task_kind kind;
    if (!bp_task_kind_parse(d->task, &kind) || !task_loss[kind])
        return BP_OK;
    if (strcmp(losses[loss], task_loss[kind]))
        return bp_yd_fail(n, BP_ERR_VALUE, err,
                          "loss '%s' does not fit the %s task, whose targets need '%s'",
                          losses[loss], d->task, task_loss[kind]);
    return BP_OK;
}

/* FNV-1a over the file's bytes and the overrides: tells checkpoints of different
 * model files apart. */
static uint64_t hash_file(const char *path, const char *const sets[], int n_sets)
{
    uint64_t h = BP_FNV1A_START;
    FILE *f = fopen(path, "rb");
    if (f) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            h = bp_fnv1a(h, buf, n);
        fclose(f);
    }
    for (int i = 0; i < n_sets; i++)
        h = bp_fnv1a(h, sets[i], strlen(sets[i]) + 1);
    return h;
}

/* plugins: [lib.so, ...] -- loaded (bptt_plugin.h) before the model is read, so that its
 * graph may name their ops; paths relative to the model file. */
static bp_status load_plugins(const bp_yd_node *list, const char *model_path, bp_error *err)
{
    if (!list)
        return BP_OK;
    TRY(bp_yd_expect(list, BP_YD_SEQ, err));
    for (int i = 0; i < list->n; i++) {
        char path[BP_PATH_MAX];
        bp_error e;
        TRY(bp_model_path(list->items[i], model_path, path, sizeof path, err));
        size_t len = strlen(path);
        if (len < 4 || strcmp(path + len - 3, ".so"))
            return bp_yd_fail(list->items[i], BP_ERR_VALUE, err,
                              "a plugin is a shared library NAME.so, not '%s'", path);
        if (bp_plugin_load(path, &e) != BP_OK)
            return bp_yd_fail(list->items[i], e.status, err, "%s", e.msg);
    }
    return BP_OK;
}

static bp_status read_config(const bp_yd_node *root, bp_model_config *c, bp_error *err)
{
    TRY(bp_yd_expect(root, BP_YD_MAP, err));
    TRY(bp_yd_check_keys(root, top_keys, COUNT(top_keys), err));
    const char *name;
    TRY(bp_yd_get_string(root, "name", "", &name, err));
    if (name[0]) {
        TRY(bp_model_copy_text(bp_yd_get(root, "name"), name, c->name, sizeof c->name, err));
    } else { /* the file's stem */
        const char *base = strrchr(c->path, '/');
        base = base ? base + 1 : c->path;
        size_t len = strcspn(base, ".");
        snprintf(c->name, sizeof c->name, "%.*s", (int)(len < sizeof c->name ? len : 63), base);
    }
    const bp_yd_node *model, *data;
    TRY(bp_yd_require(root, "model", &model, err));
    TRY(bp_yd_require(root, "data", &data, err));
    TRY(load_plugins(bp_yd_get(root, "plugins"), c->path, err));
    TRY(read_model(model, c, err));
    TRY(bp_model_read_data(data, c->path, &c->data, err));
    TRY(check_loss(root, &c->data, err));
    const bp_yd_node *train = bp_yd_get(root, "train");
    TRY(bp_model_read_train(train, &c->train, err));
    /* epochs pass over a data set's rows: a built-in task has none (steps would win over
     * them unseen, the default steps among them) */
    const bp_yd_node *epochs = train ? bp_yd_get(train, "epochs") : NULL;
    if (epochs && strcmp(c->data.task, bp_task_kind_name(BP_TASK_FILES)))
        return bp_yd_fail(epochs, BP_ERR_VALUE, err, "'train.epochs' is for data files "
                          "(data.train): the %s task draws fresh sequences, train.steps counts "
                          "them", c->data.task);
    return BP_OK;
}

bp_model_config *bp_model_config_load(const char *path, const char *const sets[], int n_sets,
                                      bp_error *err)
{
    if (strlen(path) >= BP_PATH_MAX) {
        bp_error_set(err, BP_ERR_VALUE, "the model path is too long");
        return NULL;
    }
    bp_yd_doc *doc = bp_yd_load_file(path, NULL, err);
    if (!doc)
        return NULL;
    bp_model_config *c = calloc(1, sizeof *c);
    bp_status st = c ? BP_OK : bp_error_set(err, BP_ERR_NOMEM, "out of memory");
    for (int i = 0; st == BP_OK && i < n_sets; i++)
        st = bp_yd_set(doc, sets[i], err);
    if (st == BP_OK) {
        snprintf(c->path, sizeof c->path, "%s", path);
        c->hash = hash_file(path, sets, n_sets);
        st = read_config(bp_yd_root(doc), c, err);
    }
    bp_yd_free(doc);
    if (st != BP_OK) {
        bp_model_config_free(c);
        return NULL;
    }
    return c;
}
