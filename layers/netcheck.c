/* netcheck.c — bp_gradcheck_net: a net's loss against its parameters, kink-aware, and
 * the report as text (bptt_netcheck.h). */
#include "bptt_netcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct net_ctx {
    bp_net *net;
    const bp_batch *batch;
} net_ctx;

static bp_node *net_loss(bp_tape *t, bp_node *const in[], void *ctx)
{
    (void)in; /* the inputs are the net's parameters themselves */
    net_ctx *m = ctx;
    return bp_net_forward(m->net, t, m->batch, 0, m->batch->T, NULL);
}

/* Where tape node `id` lies: the recurrent layer and step of the first h recorded at or
 * after it (each step records its work before its h), else the readout after them. */
static void place(bp_net *net, const bp_batch *b, int id, char *buf, size_t n)
{
    bp_tape *t = bp_tape_new();
    if (!t || !bp_net_forward(net, t, b, 0, b->T, NULL)) {
        snprintf(buf, n, "tape node %d", id);
        bp_tape_free(t);
        return;
    }
    const bp_trace *tr = bp_net_trace(net);
    int best = -1, bl = 0, bk = 0;
    for (int l = 0; l < tr->n_layers; l++)
        for (int k = 0; k < tr->steps; k++) {
            const bp_node *h = tr->h[l][k];
            if (h && h->id >= id && (best < 0 || h->id < best)) {
                best = h->id;
                bl = l;
                bk = k;
            }
        }
    if (best < 0)
        snprintf(buf, n, "the readout");
    else
        snprintf(buf, n, "%s step %d", bp_net_spec_of(net)->layers[tr->layer[bl]].name,
                 tr->t0 + bk);
    bp_tape_free(t);
}

bp_status bp_gradcheck_net(bp_net *net, bp_params *params, const bp_batch *batch,
                           const bp_check_sample_opts *opts, bp_net_check *report,
                           bp_error *err)
{
    int n = bp_params_count(params);
    memset(report, 0, sizeof *report);
    bp_node **in = calloc((size_t)n + 1, sizeof *in);
    bp_check_stats *st = calloc((size_t)n + 1, sizeof *st);
    report->param = calloc((size_t)n + 1, sizeof *report->param);
    bp_status s = in && st && report->param ? BP_OK
                  : bp_error_set(err, BP_ERR_NOMEM, "gradcheck: out of memory");
    for (int i = 0; s == BP_OK && i < n; i++)
        in[i] = bp_params_at(params, i);
    net_ctx ctx = {net, batch};
    bool ok = false;
    if (s == BP_OK)
        s = bp_gradcheck_sampled(net_loss, &ctx, in, n, opts, st, &ok, err);
    for (int i = 0; s == BP_OK && i < n; i++) {
        bp_net_check_param *p = &report->param[i];
        p->param = in[i];
        p->stats = st[i];
        if (st[i].nonsmooth)
            place(net, batch, st[i].kink_node, p->where, sizeof p->where);
        report->checked += st[i].checked;
        report->nonsmooth += st[i].nonsmooth;
        report->failed += st[i].failed;
    }
    report->n_params = n;
    report->ok = s == BP_OK && ok;
    report->T = batch->T;
    report->B = batch->B;
    free(in);
    free(st);
    if (s != BP_OK)
        bp_net_check_free(report);
    return s;
}

void bp_net_check_free(bp_net_check *r)
{
    if (!r)
        return;
    free(r->param);
    memset(r, 0, sizeof *r);
}

typedef struct text {
    char *buf;
    size_t n, used;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    if (t->used >= t->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->buf + t->used, t->n - t->used, fmt, ap);
    va_end(ap);
    t->used = k < 0 ? t->n : t->used + (size_t)k;
}

static void put_param(text *t, const bp_net_check_param *p)
{
    const bp_check_stats *s = &p->stats;
    const bp_check_result *r = &s->result;
    char shape[64];
    put(t, "%-24s %-12s %8zu %10zu %12.3g %12.3g  %s\n", p->param->name,
        bp_shape_str(p->param->shape, shape, sizeof shape), s->checked, s->nonsmooth,
        r->max_abs, r->max_rel, r->ok ? "pass" : "FAIL");
    if (s->nonsmooth)
        put(t, "    non-smooth here: %zu element%s, first element %zu at %s (%s at %g): "
               "analytic %.6g, numeric %.6g\n", s->nonsmooth, s->nonsmooth == 1 ? "" : "s",
            s->first_nonsmooth, p->where, s->kink_op ? s->kink_op->name : "?", s->kink,
            s->kink_analytic, s->kink_numeric);
    if (!r->ok)
        put(t, "    worst element %zu: analytic %.10g, numeric %.10g (%zu element%s failed)\n",
            r->worst, r->analytic, r->numeric, s->failed, s->failed == 1 ? "" : "s");
}

char *bp_net_check_str(const bp_net_check *r, char *buf, size_t n)
{
    text t = {buf, n, 0};
    if (n)
        buf[0] = '\0';
    put(&t, "%-24s %-12s %8s %10s %12s %12s  %s\n", "parameter", "shape", "checked",
        "non-smooth", "max abs err", "max rel err", "verdict");
    for (int i = 0; i < r->n_params; i++)
        put_param(&t, &r->param[i]);
    put(&t, "checked %zu elements: %zu failed, %zu skipped as non-smooth: %s\n", r->checked,
        r->failed, r->nonsmooth, r->ok ? "all passed" : "some FAILED");
    return buf;
}
