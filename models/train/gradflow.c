/* gradflow.c — per-step gradient norms of every recurrent layer, read from the
 * net's trace after one backward from a last-step loss (see bptt_gradflow.h). */
#include "bptt_gradflow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void bp_gradflow_free(bp_gradflow *g)
{
    if (!g)
        return;
    for (int l = 0; l < g->n_layers; l++) {
        free(g->layers[l].dh);
        free(g->layers[l].dh_raw);
        free(g->layers[l].dw);
        free(g->layers[l].clipped);
    }
    free(g->layers);
    free(g);
}

double bp_gradflow_at(const bp_gradflow *g, const double *curve, int distance)
{
    if (!g || !curve || distance < 0 || distance >= g->steps)
        return NAN;
    return curve[g->steps - 1 - distance];
}

static double norm2(const bp_real *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * (double)x[i];
    return sqrt(s);
}

/* ||A^T G||_F for A (B, H) and G (B, N); m is H*N doubles of scratch.
 * m[i][j] = sum_b A[b][i] G[b][j]. */
static double term_norm(const bp_node *a, const bp_node *g, double *m)
{
    int B = a->shape.dim[0], H = a->shape.dim[1], N = g->shape.dim[1];
    memset(m, 0, (size_t)H * (size_t)N * sizeof *m);
    for (int b = 0; b < B; b++) {
        const bp_real *ar = a->value + (size_t)b * H, *gr = g->grad + (size_t)b * N;
        for (int i = 0; i < H; i++) {
            double ai = (double)ar[i];
            if (ai == 0)
                continue;
            double *mr = m + (size_t)i * N;
            for (int j = 0; j < N; j++)
                mr[j] += ai * (double)gr[j];
        }
    }
    double s = 0;
    for (size_t i = 0; i < (size_t)H * (size_t)N; i++)
        s += m[i] * m[i];
    return sqrt(s);
}

/* The loss of the last step alone: the net's own loss for a sequence-to-one head;
 * for a sequence head, softmax_xent of the last step's logits against y[:, T-1]. */
static bp_node *last_step_loss(bp_net *net, bp_tape *t, const bp_batch *b, bp_node *loss,
                               bp_error *err)
{
    if (bp_net_spec_of(net)->head == BP_HEAD_LAST)
        return loss;
    const bp_trace *tr = bp_net_trace(net);
    bp_node *z = tr->logits[tr->steps - 1];
    bp_real *y = malloc((size_t)b->B * sizeof *y);
    if (!y) {
        bp_error_set(err, BP_ERR_NOMEM, "gradflow: out of memory");
        return NULL;
    }
    for (int r = 0; r < b->B; r++)
        y[r] = b->y[(size_t)r * b->T + (b->T - 1)];
    bp_node *l = bp_softmax_xent(t, z, bp_tape_input(t, bp_shape1(b->B), y, false));
    free(y);
    if (!l) {
        const bp_error *e = bp_tape_error(t);
        bp_error_set(err, e ? e->status : BP_ERR_VALUE, "gradflow: %s",
                     e ? e->msg : "the last-step loss failed");
    }
    return l;
}

static bool layer_alloc(bp_gradflow_layer *L, int T)
{
    L->dh = calloc((size_t)T, sizeof *L->dh);
    L->dh_raw = calloc((size_t)T, sizeof *L->dh_raw);
    L->dw = calloc((size_t)T, sizeof *L->dw);
    L->clipped = calloc((size_t)T, sizeof *L->clipped);
    return L->dh && L->dh_raw && L->dw && L->clipped;
}

/* Fill one layer's curves from the trace row r after backward. */
static bool measure_layer(bp_net *net, const bp_trace *tr, int r, bp_gradflow_layer *L)
{
    const bp_layer_spec *s = &bp_net_spec_of(net)->layers[tr->layer[r]];
    L->layer = tr->layer[r];
    memcpy(L->name, s->name, sizeof L->name);
    L->kind = s->kind;
    L->size = s->size;
    L->clip_grad = s->clip_grad > 0 ? s->clip_grad : 0;
    int T = tr->steps;
    const bp_node *rec0 = tr->rec[r][0];
    size_t mn = (size_t)rec0->in[0]->shape.dim[1] * (size_t)rec0->shape.dim[1];
    double *m = malloc(mn * sizeof *m);
    if (!m)
        return false;
    for (int k = 0; k < T; k++) {
        const bp_node *h = tr->h[r][k], *rec = tr->rec[r][k];
        /* h is clip_grad(h_k) when the layer clips: its grad arrives, its input's leaves */
        const bp_node *cell = h->op == &bp_op_clip_grad ? h->in[0] : h;
        L->dh_raw[k] = h->grad ? norm2(h->grad, h->size) : 0;
        L->dh[k] = cell->grad ? norm2(cell->grad, cell->size) : 0;
        if (cell != h && h->grad) {
            double c = h->attr[0];
            for (size_t i = 0; i < h->size; i++)
                L->clipped[k] += fabs((double)h->grad[i]) > c;
        }
        /* step k's term: h_{k-1}^T dL/d(h_{k-1} W_h), rec = matmul(h_{k-1}, W_h) */
        L->dw[k] = rec->grad ? term_norm(rec->in[0], rec, m) : 0;
    }
    free(m);
    /* W_h is what every step's recurrent product reads (also in the graph form) */
    const bp_node *W_h = rec0->in[1];
    L->dw_total = W_h && W_h->grad ? norm2(W_h->grad, W_h->size) : 0;
    return true;
}

static bp_gradflow *gradflow_run(bp_trainer *tr, const bp_batch *batch, bp_error *err)
{
    bp_net *net = bp_trainer_net(tr);
    bp_tape *t = bp_trainer_tape(tr);
    if (!batch) {
        bp_error_set(err, BP_ERR_VALUE, "gradflow: no batch");
        return NULL;
    }
    bp_params_zero_grad(bp_trainer_params(tr));
    bp_tape_reset(t);
    bp_node *loss = bp_net_forward(net, t, batch, 0, batch->T, NULL);
    if (!loss) {
        const bp_error *e = bp_tape_error(t);
        bp_error_set(err, e ? e->status : BP_ERR_VALUE, "gradflow: %s",
                     e ? e->msg : "the forward pass failed");
        return NULL;
    }
    const bp_trace *trace = bp_net_trace(net);
    if (trace->n_layers == 0) {
        bp_error_set(err, BP_ERR_VALUE, "gradflow: the model has no recurrent layer (rnn, lstm "
                     "or gru), so no gradient flows through time");
        return NULL;
    }
    if (!(loss = last_step_loss(net, t, batch, loss, err)))
        return NULL;
    if (bp_backward(t, loss, err) != BP_OK)
        return NULL;
    bp_gradflow *g = calloc(1, sizeof *g);
    if (!g || !(g->layers = calloc((size_t)trace->n_layers, sizeof *g->layers))) {
        free(g);
        bp_error_set(err, BP_ERR_NOMEM, "gradflow: out of memory");
        return NULL;
    }
    g->steps = trace->steps;
    g->batch = batch->B;
    g->loss = (double)loss->value[0];
    g->n_layers = trace->n_layers;
    for (int r = 0; r < g->n_layers; r++) {
        if (!layer_alloc(&g->layers[r], g->steps) ||
            !measure_layer(net, trace, r, &g->layers[r])) {
            bp_gradflow_free(g);
            bp_error_set(err, BP_ERR_NOMEM, "gradflow: out of memory");
            return NULL;
        }
    }
    return g;
}

/* A diagnostic of vanishing gradients reports them as they are: denormals kept (in float
 * they would be flushed to 0 below 1.2e-38; bp_tape_set_flush_denormals), the trainer's
 * switch put back after. */
bp_gradflow *bp_gradflow_run(bp_trainer *tr, const bp_batch *batch, bp_error *err)
{
    bp_tape *t = bp_trainer_tape(tr);
    bool flush = bp_tape_flushes_denormals(t);
    bp_tape_set_flush_denormals(t, false);
    bp_gradflow *g = gradflow_run(tr, batch, err);
    bp_tape_set_flush_denormals(t, flush);
    return g;
}
