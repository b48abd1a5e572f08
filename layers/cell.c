/* cell.c — a recurrent cell written as a graph of registered ops (BP_LAYER_CELL):
 * its check, its parameters, their init, and one recorded step. */
#include "net_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reference is valid when it names something that exists before node `before`. */
static bool ref_ok(const bp_cell_spec *c, bp_cell_ref r, int before)
{
    switch (r.kind) {
    case BP_CELL_X: return true;
    case BP_CELL_STATE: return r.index >= 0 && r.index < c->n_states;
    case BP_CELL_PARAM: return r.index >= 0 && r.index < c->n_params;
    case BP_CELL_NODE: return r.index >= 0 && r.index < before;
    }
    return false;
}

bp_cell_spec *bp_cell_spec_copy(const bp_cell_spec *c)
{
    size_t np = (size_t)c->n_params, nn = (size_t)c->n_nodes;
    bp_cell_spec *d = malloc(sizeof *d + np * sizeof *c->params + nn * sizeof *c->nodes);
    if (!d)
        return NULL;
    *d = *c;
    bp_cell_param *params = (bp_cell_param *)(d + 1);
    bp_cell_node *nodes = (bp_cell_node *)(params + np);
    if (np)
        memcpy(params, c->params, np * sizeof *params);
    memcpy(nodes, c->nodes, nn * sizeof *nodes);
    d->params = params;
    d->nodes = nodes;
    return d;
}

bp_status net_cell_check(const bp_layer_spec *l, bp_error *err)
{
    const bp_cell_spec *c = l->cell;
    if (!c)
        return bp_error_set(err, BP_ERR_VALUE, "a cell layer needs its graph (spec.cell)");
    if (c->n_states < 1 || c->n_states > BP_CELL_MAX_STATES)
        return bp_error_set(err, BP_ERR_VALUE, "a cell has 1 to %d states, not %d",
                            BP_CELL_MAX_STATES, c->n_states);
    for (int i = 0; i < c->n_states; i++)
        if (c->state_sizes[i] < 1 || c->state_sizes[i] > BP_LAYER_MAX_SIZE)
            return bp_error_set(err, BP_ERR_VALUE, "state '%s' has size %d (1 to %d)",
                                c->state_names[i], c->state_sizes[i], BP_LAYER_MAX_SIZE);
    if (l->size != c->state_sizes[0])
        return bp_error_set(err, BP_ERR_SHAPE, "the layer's size %d differs from its first "
                            "state's, %d", l->size, c->state_sizes[0]);
    if (c->n_params < 0 || c->n_params > BP_CELL_MAX_PARAMS || (c->n_params && !c->params))
        return bp_error_set(err, BP_ERR_VALUE, "a cell has 0 to %d parameters",
                            BP_CELL_MAX_PARAMS);
    for (int i = 0; i < c->n_params; i++)
        if (bp_shape_check(c->params[i].shape, err) != BP_OK) {
            bp_error_prefix(err, "parameter '%s'", c->params[i].name);
            return err ? err->status : BP_ERR_SHAPE;
        }
    if (c->n_nodes < 1 || c->n_nodes > BP_CELL_MAX_NODES || !c->nodes)
        return bp_error_set(err, BP_ERR_VALUE, "a cell has 1 to %d nodes", BP_CELL_MAX_NODES);
    for (int k = 0; k < c->n_nodes; k++) {
        const bp_cell_node *n = &c->nodes[k];
        if (!n->op)
            return bp_error_set(err, BP_ERR_NAME, "node '%s' has no op", n->name);
        for (int i = 0; i < n->op->n_in; i++)
            if (!ref_ok(c, n->in[i], k))
                return bp_error_set(err, BP_ERR_NAME, "node '%s': input %d is not defined "
                                    "before it", n->name, i);
    }
    for (int i = 0; i < c->n_states; i++)
        if (c->next[i].kind != BP_CELL_NODE || !ref_ok(c, c->next[i], c->n_nodes))
            return bp_error_set(err, BP_ERR_NAME, "the next value of state '%s' must be a node",
                                c->state_names[i]);
    return BP_OK;
}

bp_status net_cell_make_params(net_layer *l, bp_params *p, bp_error *err)
{
    const bp_cell_spec *c = l->spec.cell;
    l->cell_params = calloc((size_t)c->n_params + 1, sizeof *l->cell_params);
    if (!l->cell_params)
        return bp_error_set(err, BP_ERR_NOMEM, "cell: out of memory");
    for (int i = 0; i < c->n_params; i++) {
        char name[2 * BP_LAYER_NAME_MAX + 2];
        snprintf(name, sizeof name, "%s.%s", l->spec.name, c->params[i].name);
        if (!(l->cell_params[i] = bp_params_add(p, name, c->params[i].shape, err)))
            return err ? err->status : BP_ERR_NOMEM;
    }
    /* trace: the recurrent product is the first matmul of state 0 by a parameter */
    l->cell_rec = -1;
    for (int k = 0; k < c->n_nodes && l->cell_rec < 0; k++) {
        const bp_cell_node *n = &c->nodes[k];
        if (n->op == &bp_op_matmul && n->in[0].kind == BP_CELL_STATE && n->in[0].index == 0 &&
            n->in[1].kind == BP_CELL_PARAM)
            l->cell_rec = k;
    }
    return BP_OK;
}

int net_c_size(const net_layer *l)
{
    if (l->spec.kind == BP_LAYER_LSTM)
        return l->spec.size;
    if (l->spec.kind == BP_LAYER_CELL && l->spec.cell->n_states > 1)
        return l->spec.cell->state_sizes[1];
    return 0;
}

/* Record one step on zeros (batch 1) so that shape errors surface when the net is
 * built, naming the node, rather than in the middle of training (net_cell_step checks
 * the next states' shapes at every step, for a shape that depends on the batch size). */
bp_status net_cell_dry_run(net_layer *l, bp_error *err)
{
    const bp_cell_spec *c = l->spec.cell;
    bp_tape *t = bp_tape_new();
    bp_node **vals = calloc((size_t)c->n_nodes, sizeof *vals);
    if (!t || !vals) {
        bp_tape_free(t);
        free(vals);
        return bp_error_set(err, BP_ERR_NOMEM, "cell: out of memory");
    }
    step_io io = {
        .x = bp_tape_input(t, bp_shape2(1, l->in_size), NULL, false),
        .h = bp_tape_input(t, bp_shape2(1, c->state_sizes[0]), NULL, false),
        .c = c->n_states > 1 ? bp_tape_input(t, bp_shape2(1, c->state_sizes[1]), NULL, false)
                             : NULL,
        .vals = vals,
    };
    net_cell_step(t, l, &io);
    bp_status st = BP_OK;
    if (bp_tape_error(t))
        st = bp_error_set(err, bp_tape_error(t)->status, "%s", bp_tape_error(t)->msg);
    bp_tape_free(t);
    free(vals);
    return st;
}

void net_cell_free(net_layer *l)
{
    free(l->cell_params);
}

bp_status net_cell_init(net_layer *l, bp_rng *rng, bp_error *err)
{
    const bp_cell_spec *c = l->spec.cell;
    for (int i = 0; i < c->n_params; i++) {
        const bp_cell_param *q = &c->params[i];
        bp_node *n = l->cell_params[i];
        switch (q->init) {
        case BP_CELL_INIT_ZEROS:
            memset(n->value, 0, n->size * sizeof(bp_real));
            break;
        case BP_CELL_INIT_CONSTANT:
            for (size_t j = 0; j < n->size; j++)
                n->value[j] = (bp_real)q->a;
            break;
        case BP_CELL_INIT_UNIFORM: { /* a = 0: 1/sqrt(fan), fan = the last dimension */
            double bound = q->a > 0 ? q->a : 1 / sqrt((double)q->shape.dim[q->shape.ndim - 1]);
            net_fill_uniform(n, bound, rng);
            break;
        }
        case BP_CELL_INIT_NORMAL:
            bp_fill_normal(n->value, n->size, 0, q->a, rng);
            break;
        case BP_CELL_INIT_IDENTITY:
            if (q->shape.ndim != 2 || q->shape.dim[0] != q->shape.dim[1])
                return bp_error_set(err, BP_ERR_SHAPE, "parameter '%s': identity init needs a "
                                    "square matrix", q->name);
            memset(n->value, 0, n->size * sizeof(bp_real));
            for (int j = 0; j < q->shape.dim[0]; j++)
                n->value[(size_t)j * q->shape.dim[0] + j] = (bp_real)q->a;
            break;
        }
    }
    return BP_OK;
}

/* Resolve a reference for this step. */
static bp_node *ref_node(const net_layer *l, const step_io *io, bp_cell_ref r)
{
    switch (r.kind) {
    case BP_CELL_X: return io->x;
    case BP_CELL_STATE: return r.index == 0 ? io->h : io->c;
    case BP_CELL_PARAM: return l->cell_params[r.index];
    case BP_CELL_NODE: return io->vals[r.index];
    }
    return NULL;
}

/* Each state's next value must be [B, size] at this step's batch size B, not only at the
 * dry run's 1: a rows op can make a shape depend on B. The tape's error names the node
 * and its place in the model file. */
static bool next_shapes_ok(bp_tape *t, const net_layer *l, bp_node *const *vals, int B)
{
    const bp_cell_spec *c = l->spec.cell;
    for (int i = 0; i < c->n_states; i++) {
        const bp_cell_node *n = &c->nodes[c->next[i].index];
        bp_shape have = vals[c->next[i].index]->shape;
        bp_shape want = bp_shape2(B, c->state_sizes[i]);
        char s1[64], s2[64];
        if (!bp_shape_eq(have, want)) {
            bp_tape_fail(t, BP_ERR_SHAPE, "%s%slayer '%s': the next value of state '%s' is node "
                         "'%s' of shape %s (batch %d); the state is %s", n->where,
                         n->where[0] ? ": " : "", l->spec.name, c->state_names[i], n->name,
                         bp_shape_str(have, s1, sizeof s1), B, bp_shape_str(want, s2, sizeof s2));
            return false;
        }
    }
    return true;
}

/* Only the next states leave a step (the layer passes h on; the trace reads rec's input
 * and grad, not its value): the step's other values go back to the tape where no backward
 * reads them (bp_tape_release_value, bp_op.unsaved), a state and what it is a view of
 * kept. */
static void release_step(bp_tape *t, const bp_cell_spec *c, bp_node *const *vals)
{
    for (int k = 0; k < c->n_nodes; k++) {
        bool state = false;
        for (int s = 0; s < c->n_states; s++)
            for (const bp_node *x = vals[c->next[s].index]; x && !state;
                 x = x->op && x->op->view ? x->in[0] : NULL)
                state = x == vals[k];
        if (!state)
            bp_tape_release_value(t, vals[k]);
    }
}

/* Record the cell's nodes in order. A failing node's error is given its name and
 * place in the model file. */
void net_cell_step(bp_tape *t, const net_layer *l, step_io *io)
{
    const bp_cell_spec *c = l->spec.cell;
    io->rec = io->h_new = io->c_new = NULL;
    for (int k = 0; k < c->n_nodes; k++) {
        const bp_cell_node *n = &c->nodes[k];
        bp_node *in[BP_MAX_INPUTS] = {0};
        for (int i = 0; i < n->op->n_in; i++)
            in[i] = ref_node(l, io, n->in[i]);
        bool had_error = bp_tape_error(t) != NULL;
        io->vals[k] = bp_apply(t, n->op, in, n->attr);
        if (!io->vals[k]) {
            if (!had_error && bp_tape_error(t)) {
                bp_error e = *bp_tape_error(t);
                bp_tape_clear_error(t);
                bp_tape_fail(t, e.status, "%s%slayer '%s', node '%s': %s", n->where,
                             n->where[0] ? ": " : "", l->spec.name, n->name, e.msg);
            }
            return;
        }
    }
    if (io->x && !next_shapes_ok(t, l, io->vals, io->x->shape.dim[0]))
        return;
    io->rec = l->cell_rec >= 0 ? io->vals[l->cell_rec] : NULL;
    io->h_new = io->vals[c->next[0].index];
    io->c_new = c->n_states > 1 ? io->vals[c->next[1].index] : NULL;
    release_step(t, c, io->vals);
}
