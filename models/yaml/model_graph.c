/* model_graph.c — the graph form of a model file: one recurrent cell written as
 * nodes that name registered ops (docs/models.md). Ops are looked up in the registry
 * by name and their attributes by the names the op declares, so an op added to ops/
 * (or registered at run time) is usable here with no change to this file. */
#include "model_config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const graph_keys[] = {"name", "state", "params", "nodes", "next"};
static const char *const param_keys[] = {"shape", "init", "std", "bound", "gain", "value"};
static const char *const init_names[] = {"zeros", "uniform", "normal", "identity", "constant"};

/* Every name the cell defines so far, for lookups and "known: ..." hints. */
typedef struct scope {
    const char *names[1 + BP_CELL_MAX_STATES + BP_CELL_MAX_PARAMS + BP_CELL_MAX_NODES];
    bp_cell_ref refs[1 + BP_CELL_MAX_STATES + BP_CELL_MAX_PARAMS + BP_CELL_MAX_NODES];
    int n;
} scope;

static bp_status define(scope *s, const bp_yd_node *at, const char *name, bp_cell_ref ref,
                        bp_error *err)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name))
            return bp_yd_fail(at, BP_ERR_NAME, err, "'%s' is defined twice in the graph", name);
    if (strlen(name) >= BP_LAYER_NAME_MAX)
        return bp_yd_fail(at, BP_ERR_VALUE, err, "the name '%s' is too long (at most %d)", name,
                          BP_LAYER_NAME_MAX - 1);
    s->names[s->n] = name;
    s->refs[s->n++] = ref;
    return BP_OK;
}

static bp_status lookup(const scope *s, const bp_yd_node *at, const char *what, const char *name,
                        bp_cell_ref *out, bp_error *err)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) {
            *out = s->refs[i];
            return BP_OK;
        }
    char hint[512];
    bp_suggest_known(hint, sizeof hint, name, s->names, s->n);
    return bp_yd_fail(at, BP_ERR_NAME, err, "%s '%s' is not defined before it (%s)", what, name,
                      hint);
}

/* state: {h: 64} or {h: 64, c: 64} — names and sizes, in order. */
static bp_status read_states(const bp_yd_node *n, bp_cell_spec *c, scope *s, bp_error *err)
{
    TRY(bp_yd_expect(n, BP_YD_MAP, err));
    if (n->n < 1 || n->n > BP_CELL_MAX_STATES)
        return bp_yd_fail(n, BP_ERR_VALUE, err, "'state' names 1 or %d states, not %d",
                          BP_CELL_MAX_STATES, n->n);
    c->n_states = n->n;
    for (int i = 0; i < n->n; i++) {
        long long size;
        TRY(bp_yd_int(n->items[i], 1, BP_LAYER_MAX_SIZE, &size, err));
        TRY(define(s, n->keys[i], n->keys[i]->text, (bp_cell_ref){BP_CELL_STATE, i}, err));
        snprintf(c->state_names[i], sizeof c->state_names[i], "%s", n->keys[i]->text);
        c->state_sizes[i] = (int)size;
    }
    return BP_OK;
}

static bp_status read_param(const bp_yd_node *n, bp_cell_param *p, bp_error *err)
{
    TRY(bp_yd_expect(n, BP_YD_MAP, err));
    TRY(bp_yd_check_keys(n, param_keys, COUNT(param_keys), err));
    const bp_yd_node *shape;
    TRY(bp_yd_require(n, "shape", &shape, err));
    TRY(bp_yd_expect(shape, BP_YD_SEQ, err));
    if (shape->n < 1 || shape->n > 2)
        return bp_yd_fail(shape, BP_ERR_SHAPE, err, "a parameter has 1 or 2 dimensions, not %d",
                          shape->n);
    p->shape.ndim = shape->n;
    for (int i = 0; i < shape->n; i++) {
        long long d;
        TRY(bp_yd_int(shape->items[i], 1, BP_LAYER_MAX_SIZE, &d, err));
        p->shape.dim[i] = (int)d;
    }
    int init;
    TRY(bp_yd_get_enum(n, "init", BP_CELL_INIT_UNIFORM, init_names, COUNT(init_names), &init,
                       err));
    p->init = (bp_cell_init)init;
    static const char *const arg_of[] = {NULL, "bound", "std", "gain", "value"};
    static const double def_of[] = {0, 0, 0.01, 1, 0};
    for (int k = 1; k < COUNT(arg_of); k++) /* only the init's own setting may appear */
        if (k != init && bp_yd_get(n, arg_of[k]))
            return bp_yd_fail(bp_yd_get(n, arg_of[k]), BP_ERR_VALUE, err,
                              "'%s' is a setting of init %s, not of init %s", arg_of[k],
                              init_names[k], init_names[init]);
    if (init > 0)
        TRY(bp_yd_get_double(n, arg_of[init], def_of[init], init == 4 ? -1e6 : 0, 1e6, &p->a,
                             err));
    if (init == BP_CELL_INIT_IDENTITY && (p->shape.ndim != 2 || p->shape.dim[0] != p->shape.dim[1]))
        return bp_yd_fail(shape, BP_ERR_SHAPE, err, "init identity needs a square matrix");
    return BP_OK;
}

static bp_status read_params(const bp_yd_node *n, bp_cell_spec *c, bp_cell_param *params,
                             scope *s, bp_error *err)
{
    if (!n)
        return BP_OK;
    TRY(bp_yd_expect(n, BP_YD_MAP, err));
    if (n->n > BP_CELL_MAX_PARAMS)
        return bp_yd_fail(n, BP_ERR_VALUE, err, "at most %d parameters", BP_CELL_MAX_PARAMS);
    for (int i = 0; i < n->n; i++) {
        TRY(define(s, n->keys[i], n->keys[i]->text, (bp_cell_ref){BP_CELL_PARAM, i}, err));
        snprintf(params[i].name, sizeof params[i].name, "%s", n->keys[i]->text);
        TRY(read_param(n->items[i], &params[i], err));
    }
    c->n_params = n->n;
    return BP_OK;
}

/* - {name: pre, op: add, inputs: [xw, hw]}, plus the op's attributes by name. */
static bp_status read_node(const bp_yd_node *n, const char *file, bp_cell_node *out, scope *s,
                           int index, bp_error *err)
{
    TRY(bp_yd_expect(n, BP_YD_MAP, err));
    const bp_yd_node *op_node, *name_node, *inputs;
    const char *name, *op_name;
    TRY(bp_yd_require(n, "name", &name_node, err));
    TRY(bp_yd_string(name_node, &name, err));
    TRY(bp_yd_require(n, "op", &op_node, err));
    TRY(bp_yd_string(op_node, &op_name, err));
    const bp_op *op = bp_op_find(op_name);
    if (!op) {
        const char *known[256];
        int k = 0;
        for (; k < bp_op_count() && k < 256; k++)
            known[k] = bp_op_at(k)->name;
        char hint[1024];
        bp_suggest_known(hint, sizeof hint, op_name, known, k);
        return bp_yd_fail(op_node, BP_ERR_NAME, err, "unknown op '%s' (%s)", op_name, hint);
    }
    const char *keys[3 + BP_MAX_ATTRS] = {"name", "op", "inputs"};
    for (int a = 0; a < op->n_attr; a++)
        keys[3 + a] = op->attr_names[a];
    TRY(bp_yd_check_keys(n, keys, 3 + op->n_attr, err));
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->where, sizeof out->where, "%s:%d:%d", file, n->line, n->col);
    out->op = op;
    TRY(bp_yd_require(n, "inputs", &inputs, err));
    TRY(bp_yd_expect(inputs, BP_YD_SEQ, err));
    if (inputs->n != op->n_in)
        return bp_yd_fail(inputs, BP_ERR_VALUE, err, "op %s takes %d input%s, not %d", op->name,
                          op->n_in, op->n_in == 1 ? "" : "s", inputs->n);
    for (int i = 0; i < inputs->n; i++) {
        const char *ref;
        TRY(bp_yd_string(inputs->items[i], &ref, err));
        TRY(lookup(s, inputs->items[i], "input", ref, &out->in[i], err));
    }
    for (int a = 0; a < op->n_attr; a++) {
        const bp_yd_node *v;
        TRY(bp_yd_require(n, op->attr_names[a], &v, err));
        TRY(bp_yd_double(v, -1e30, 1e30, &out->attr[a], err));
    }
    return define(s, name_node, name, (bp_cell_ref){BP_CELL_NODE, index}, err);
}

/* next: {h: h_new} — a node for every state. */
static bp_status read_next(const bp_yd_node *g, bp_cell_spec *c, const scope *s, bp_error *err)
{
    const bp_yd_node *next;
    TRY(bp_yd_require(g, "next", &next, err));
    TRY(bp_yd_expect(next, BP_YD_MAP, err));
    const char *states[BP_CELL_MAX_STATES];
    for (int i = 0; i < c->n_states; i++)
        states[i] = c->state_names[i];
    TRY(bp_yd_check_keys(next, states, c->n_states, err));
    for (int i = 0; i < c->n_states; i++) {
        const bp_yd_node *v;
        const char *ref;
        TRY(bp_yd_require(next, states[i], &v, err));
        TRY(bp_yd_string(v, &ref, err));
        TRY(lookup(s, v, "next value", ref, &c->next[i], err));
        if (c->next[i].kind != BP_CELL_NODE)
            return bp_yd_fail(v, BP_ERR_VALUE, err, "the next value of state '%s' must be a node",
                              states[i]);
    }
    return BP_OK;
}

bp_status bp_model_read_graph(const bp_yd_node *g, bp_model_config *c, bp_error *err)
{
    TRY(bp_yd_expect(g, BP_YD_MAP, err));
    TRY(bp_yd_check_keys(g, graph_keys, COUNT(graph_keys), err));
    const bp_yd_node *state, *nodes;
    TRY(bp_yd_require(g, "state", &state, err));
    TRY(bp_yd_require(g, "nodes", &nodes, err));
    TRY(bp_yd_expect(nodes, BP_YD_SEQ, err));
    if (nodes->n < 1 || nodes->n > BP_CELL_MAX_NODES)
        return bp_yd_fail(nodes, BP_ERR_VALUE, err, "a graph has 1 to %d nodes, not %d",
                          BP_CELL_MAX_NODES, nodes->n);
    const bp_yd_node *params = bp_yd_get(g, "params");
    int np = params && params->kind == BP_YD_MAP ? params->n : 0;
    /* one block: the spec, its parameters and its nodes (freed with the config) */
    bp_cell_spec *cell = calloc(1, sizeof *cell + (size_t)np * sizeof(bp_cell_param) +
                                       (size_t)nodes->n * sizeof(bp_cell_node));
    c->layers = calloc(1, sizeof *c->layers);
    if (!cell || !c->layers) {
        free(cell);
        return bp_error_set(err, BP_ERR_NOMEM, "out of memory");
    }
    c->cell = cell;
    bp_cell_param *param_store = (bp_cell_param *)(cell + 1);
    bp_cell_node *node_store = (bp_cell_node *)(param_store + np);
    cell->params = param_store;
    cell->nodes = node_store;
    scope *s = calloc(1, sizeof *s);
    if (!s)
        return bp_error_set(err, BP_ERR_NOMEM, "out of memory");
    bp_status st = define(s, g, "x", (bp_cell_ref){BP_CELL_X, 0}, err);
    if (st == BP_OK)
        st = read_states(state, cell, s, err);
    if (st == BP_OK)
        st = read_params(params, cell, param_store, s, err);
    for (int i = 0; st == BP_OK && i < nodes->n; i++)
        st = read_node(nodes->items[i], g->file, &node_store[i], s, i, err);
    cell->n_nodes = nodes->n;
    if (st == BP_OK)
        st = read_next(g, cell, s, err);
    free(s);
    if (st != BP_OK)
        return st;

    bp_layer_spec *l = &c->layers[0];
    bp_layer_spec_default(l, BP_LAYER_CELL);
    const char *name;
    TRY(bp_yd_get_string(g, "name", "cell", &name, err));
    if (strlen(name) >= sizeof l->name)
        return bp_yd_fail(bp_yd_get(g, "name"), BP_ERR_VALUE, err, "the name is too long");
    snprintf(l->name, sizeof l->name, "%s", name);
    l->size = cell->state_sizes[0];
    l->cell = cell;
    c->net.layers = c->layers;
    c->net.n_layers = 1;
    bp_net_spec probe = c->net;
    if (!probe.input_size)
        probe.input_size = 1;
    if (!probe.output_size)
        probe.output_size = 1;
    bp_error e;
    if (bp_net_spec_check(&probe, &e) != BP_OK)
        return bp_yd_fail(g, e.status, err, "%s", e.msg);
    return BP_OK;
}
