/* net.c — building a net: its parameters, its scratch, and the carried state. */
#include "net_internal.h"
#include "net_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bp_node *add_param(bp_params *p, const char *layer, const char *param, bp_shape s,
                          bp_error *err)
{
    char name[BP_LAYER_NAME_MAX + 16];
    snprintf(name, sizeof name, "%s.%s", layer, param);
    return bp_params_add(p, name, s, err);
}

/* The parameters of one layer, with DESIGN.md's names and shapes. */
static bp_status make_params(net_layer *l, bp_params *p, bp_error *err)
{
    const char *n = l->spec.name;
    int in = l->in_size, H = l->spec.size;
    switch (l->spec.kind) {
    case BP_LAYER_LINEAR:
        l->W_x = add_param(p, n, "W", bp_shape2(in, H), err);
        l->b = l->W_x ? add_param(p, n, "b", bp_shape1(H), err) : NULL;
        return l->b ? BP_OK : err->status;
    case BP_LAYER_EMBEDDING:
        l->W_x = add_param(p, n, "E", bp_shape2(in, H), err);
        return l->W_x ? BP_OK : err->status;
    case BP_LAYER_RNN:
    case BP_LAYER_LSTM:
    case BP_LAYER_GRU: {
        int G = l->spec.kind == BP_LAYER_RNN ? 1 : l->spec.kind == BP_LAYER_LSTM ? 4 : 3;
        bool gru = l->spec.kind == BP_LAYER_GRU;
        l->W_x = add_param(p, n, "W_x", bp_shape2(in, G * H), err);
        l->W_h = l->W_x ? add_param(p, n, "W_h", bp_shape2(H, G * H), err) : NULL;
        l->b = l->W_h ? add_param(p, n, gru ? "b_x" : "b", bp_shape1(G * H), err) : NULL;
        if (gru && l->b)
            l->b_h = add_param(p, n, "b_h", bp_shape1(G * H), err);
        return l->b && (!gru || l->b_h) ? BP_OK : err->status;
    }
    case BP_LAYER_CELL:
        return net_cell_make_params(l, p, err);
    }
    return bp_error_set(err, BP_ERR_VALUE, "unknown layer kind");
}

static void def_free(net_def *d)
{
    if (!d)
        return;
    free(d->spec_layers);
    for (int i = 0; d->layers && i < d->spec.n_layers; i++)
        net_cell_free(&d->layers[i]);
    free(d->layers);
    free(d->rec_layer);
    free(d);
}

/* The definition: the layers, their parameter leaves on params, the readout. */
static net_def *def_new(const bp_net_spec *spec, bp_params *params, bp_error *err)
{
    int L = spec->n_layers;
    net_def *d = calloc(1, sizeof *d);
    if (!d)
        goto nomem;
    d->spec = *spec;
    d->spec_layers = calloc((size_t)L, sizeof *d->spec_layers);
    d->layers = calloc((size_t)L, sizeof *d->layers);
    d->rec_layer = calloc((size_t)L, sizeof *d->rec_layer);
    if (!d->spec_layers || !d->layers || !d->rec_layer)
        goto nomem;
    for (int i = 0; i < L; i++) {
        net_layer *l = &d->layers[i];
        l->spec = spec->layers[i];
        net_layer_name(spec, i, l->spec.name);
        d->spec_layers[i] = l->spec;
        l->in_size = net_layer_in_size(spec, i);
        l->rec_index = -1;
        if (bp_layer_is_recurrent(l->spec.kind)) {
            l->rec_index = d->n_rec;
            d->rec_layer[d->n_rec++] = i;
        }
    }
    d->spec.layers = d->spec_layers;
    for (int i = 0; i < L; i++)
        if (make_params(&d->layers[i], params, err) != BP_OK)
            goto fail;
    for (int i = 0; i < L; i++)
        if (spec->layers[i].kind == BP_LAYER_CELL && net_cell_dry_run(&d->layers[i], err))
            goto fail;
    int H = spec->layers[L - 1].size, O = spec->output_size;
    d->out_W = add_param(params, "out", "W", bp_shape2(H, O), err);
    d->out_b = d->out_W ? add_param(params, "out", "b", bp_shape1(O), err) : NULL;
    if (!d->out_b)
        goto fail;
    return d;
nomem:
    bp_error_set(err, BP_ERR_NOMEM, "net: out of memory");
fail:
    def_free(d);
    return NULL;
}

/* A net on definition d (owned: freed with it): its recording scratch, unsized. */
static bp_net *net_on(net_def *d, bool owns, bp_error *err)
{
    int L = d->spec.n_layers;
    size_t R = (size_t)d->n_rec + 1;
    bp_net *net = calloc(1, sizeof *net);
    if (!net) {
        if (owns)
            def_free(d);
        bp_error_set(err, BP_ERR_NOMEM, "net: out of memory");
        return NULL;
    }
    net->def = d;
    net->owns_def = owns;
    net->tr_h0 = calloc(R, sizeof *net->tr_h0);
    net->tr_c0 = calloc(R, sizeof *net->tr_c0);
    net->runs = calloc((size_t)L, sizeof *net->runs);
    net->last_c = calloc(R, sizeof *net->last_c);
    net->tr_h_rows = calloc(R, sizeof *net->tr_h_rows);
    net->tr_rec_rows = calloc(R, sizeof *net->tr_rec_rows);
    net->cell_vals = calloc((size_t)L, sizeof *net->cell_vals);
    bool ok = net->tr_h0 && net->tr_c0 && net->runs && net->last_c && net->tr_h_rows &&
              net->tr_rec_rows && net->cell_vals;
    for (int i = 0; ok && i < L; i++)
        if (d->layers[i].spec.kind == BP_LAYER_CELL)
            ok = (net->cell_vals[i] = calloc((size_t)d->layers[i].spec.cell->n_nodes,
                                             sizeof(bp_node *))) != NULL;
    if (!ok) {
        bp_net_free(net);
        bp_error_set(err, BP_ERR_NOMEM, "net: out of memory");
        return NULL;
    }
    net->trace.n_layers = d->n_rec;
    net->trace.layer = d->rec_layer;
    net->trace.h0 = net->tr_h0;
    return net;
}

bp_net *bp_net_new(const bp_net_spec *spec, bp_params *params, bp_error *errp)
{
    bp_error local = {0}, *err = errp ? errp : &local;
    if (bp_net_spec_check(spec, err) != BP_OK)
        return NULL;
    net_def *d = def_new(spec, params, err);
    return d ? net_on(d, true, err) : NULL;
}

bp_net *net_new_worker(const bp_net *primary, bp_error *errp)
{
    bp_error local = {0}, *err = errp ? errp : &local;
    return net_on(primary->def, false, err);
}

void bp_net_free(bp_net *net)
{
    if (!net)
        return;
    for (int i = 0; net->cell_vals && i < net->def->spec.n_layers; i++)
        free(net->cell_vals[i]);
    free(net->cell_vals);
    free(net->in_nodes);
    free(net->outs);
    free(net->tr_h);
    free(net->tr_rec);
    free(net->tr_h0);
    free(net->tr_c0);
    free(net->runs);
    free(net->last_c);
    free(net->tr_h_rows);
    free(net->tr_rec_rows);
    free(net->logits);
    free(net->buf);
    if (net->owns_def)
        def_free(net->def);
    free(net);
}

const bp_net_spec *bp_net_spec_of(const bp_net *net)
{
    return &net->def->spec;
}

bp_node *bp_net_param(const bp_net *net, int layer, const char *param)
{
    if (layer < 0 || layer >= net->def->spec.n_layers || !param)
        return NULL;
    const net_layer *l = &net->def->layers[layer];
    bp_node *cand[] = {l->W_x, l->W_h, l->b, l->b_h};
    size_t n = strlen(l->spec.name);
    for (int i = 0; i < 4; i++)
        if (cand[i] && strncmp(cand[i]->name, l->spec.name, n) == 0 && cand[i]->name[n] == '.' &&
            strcmp(cand[i]->name + n + 1, param) == 0)
            return cand[i];
    return NULL;
}

static bool grow(void *pp, size_t count, size_t elem)
{
    void *p = realloc(*(void **)pp, count * elem);
    if (!p)
        return false;
    *(void **)pp = p;
    return true;
}

bool net_reserve(bp_net *net, int steps)
{
    if (steps <= net->cap_steps)
        return true;
    size_t cap = (size_t)steps, L = (size_t)net->def->spec.n_layers, R = (size_t)net->def->n_rec;
    if (!grow(&net->in_nodes, cap, sizeof(bp_node *)) ||
        !grow(&net->outs, L * cap, sizeof(bp_node *)) ||
        !grow(&net->tr_h, (R ? R : 1) * cap, sizeof(bp_node *)) ||
        !grow(&net->tr_rec, (R ? R : 1) * cap, sizeof(bp_node *)) ||
        !grow(&net->logits, cap, sizeof(bp_node *)))
        return false;
    net->cap_steps = steps;
    for (size_t r = 0; r < R; r++) {
        net->tr_h_rows[r] = net->tr_h + r * cap;
        net->tr_rec_rows[r] = net->tr_rec + r * cap;
    }
    net->trace.h = (bp_node *const *const *)net->tr_h_rows;
    net->trace.rec = (bp_node *const *const *)net->tr_rec_rows;
    net->trace.logits = net->logits;
    return true;
}

const bp_trace *bp_net_trace(const bp_net *net)
{
    return &net->trace;
}

/* ---------------------------------------------------------------- state */

bp_net_state *bp_net_state_new(const bp_net *net, int B, bp_error *err)
{
    if (B < 1 || B > BP_LAYER_MAX_SIZE) {
        bp_error_set(err, BP_ERR_VALUE, "net state: batch size must be in [1, %d], not %d",
                     BP_LAYER_MAX_SIZE, B);
        return NULL;
    }
    bp_net_state *s = calloc(1, sizeof *s);
    size_t R = (size_t)net->def->n_rec, total = 0;
    if (s) {
        s->net = net;
        s->B = B;
        s->h = calloc(R + 1, sizeof *s->h);
        s->c = calloc(R + 1, sizeof *s->c);
    }
    if (!s || !s->h || !s->c)
        goto nomem;
    for (size_t r = 0; r < R; r++) {
        const net_layer *l = &net->def->layers[net->def->rec_layer[r]];
        total += (size_t)B * (size_t)(l->spec.size + net_c_size(l));
    }
    s->elements = total;
    s->block = calloc(total ? total : 1, sizeof(bp_real));
    if (!s->block)
        goto nomem;
    bp_real *p = s->block;
    for (size_t r = 0; r < R; r++) {
        const net_layer *l = &net->def->layers[net->def->rec_layer[r]];
        s->h[r] = p;
        p += (size_t)B * l->spec.size;
        if (net_c_size(l)) {
            s->c[r] = p;
            p += (size_t)B * net_c_size(l);
        }
    }
    return s;
nomem:
    bp_net_state_free(s);
    bp_error_set(err, BP_ERR_NOMEM, "net state: out of memory");
    return NULL;
}

void bp_net_state_free(bp_net_state *s)
{
    if (!s)
        return;
    free(s->h);
    free(s->c);
    free(s->block);
    free(s);
}

void bp_net_state_zero(bp_net_state *s)
{
    memset(s->block, 0, s->elements * sizeof(bp_real));
}

bp_status bp_net_state_copy(bp_net_state *dst, const bp_net_state *src, bp_error *err)
{
    if (dst->net != src->net || dst->B != src->B)
        return bp_error_set(err, BP_ERR_SHAPE, "net state: cannot copy a state of another net "
                            "or batch size (%d into %d)", src->B, dst->B);
    memcpy(dst->block, src->block, src->elements * sizeof(bp_real));
    return BP_OK;
}

bp_real *bp_net_state_h(bp_net_state *s, int i)
{
    return i >= 0 && i < s->net->def->n_rec ? s->h[i] : NULL;
}

bp_real *bp_net_state_c(bp_net_state *s, int i)
{
    return i >= 0 && i < s->net->def->n_rec ? s->c[i] : NULL;
}
