/* init.c — parameter initialisation schemes, deterministic from a bp_rng. */
#include "net_internal.h"

#include <math.h>
#include <stdlib.h>

void net_fill_uniform(bp_node *n, double bound, bp_rng *rng)
{
    bp_fill_uniform(n->value, n->size, -bound, bound, rng);
}

static void fill_const(bp_node *n, double v)
{
    for (size_t i = 0; i < n->size; i++)
        n->value[i] = (bp_real)v;
}

/* Columns [col0, col0 + H) of W (H, cols) = gain Q, Q a random orthogonal H x H matrix:
 * modified Gram-Schmidt on the columns of a Gaussian matrix, which is its QR with R's
 * diagonal positive (Q then follows the Haar measure). */
static bp_status fill_orthogonal(bp_node *W, int col0, int H, double gain, bp_rng *rng,
                                 bp_error *err)
{
    int cols = W->shape.dim[1];
    double *q = malloc((size_t)H * H * sizeof *q); /* column j at q + j * H */
    if (!q)
        return bp_error_set(err, BP_ERR_NOMEM, "init: out of memory");
    for (size_t i = 0; i < (size_t)H * H; i++)
        q[i] = bp_rng_normal(rng);
    for (int j = 0; j < H; j++) {
        double *v = q + (size_t)j * H;
        for (int p = 0; p < j; p++) { /* v -= (q_p . v) q_p */
            const double *u = q + (size_t)p * H;
            double d = 0;
            for (int i = 0; i < H; i++)
                d += u[i] * v[i];
            for (int i = 0; i < H; i++)
                v[i] -= d * u[i];
        }
        double norm = 0;
        for (int i = 0; i < H; i++)
            norm += v[i] * v[i];
        norm = sqrt(norm);
        for (int i = 0; i < H; i++)
            v[i] = norm > 0 ? v[i] / norm : (i == j); /* a null Gaussian draw: never in practice */
    }
    for (int i = 0; i < H; i++)
        for (int j = 0; j < H; j++)
            W->value[(size_t)i * cols + col0 + j] = (bp_real)(gain * q[(size_t)j * H + i]);
    free(q);
    return BP_OK;
}

static bp_status init_recurrent(net_layer *l, bp_rng *rng, bp_error *err)
{
    const bp_layer_spec *s = &l->spec;
    int H = s->size, G = (int)(l->W_h->shape.dim[1] / H);
    double k = 1 / sqrt((double)H);
    /* PyTorch's order of draws: weight_ih, weight_hh, bias_ih, bias_hh */
    net_fill_uniform(l->W_x, k, rng);
    net_fill_uniform(l->W_h, k, rng);
    net_fill_uniform(l->b, k, rng);
    if (l->b_h)
        net_fill_uniform(l->b_h, k, rng);
    switch (s->init) {
    case BP_INIT_DEFAULT:
        break;
    case BP_INIT_IDENTITY: /* IRNN: W_h = gain I, W_x ~ N(0, 0.001^2), b = 0 */
        bp_fill_normal(l->W_x->value, l->W_x->size, 0, 0.001, rng);
        fill_const(l->W_h, 0);
        for (int i = 0; i < H; i++)
            l->W_h->value[(size_t)i * H + i] = (bp_real)s->init_gain;
        fill_const(l->b, 0);
        break;
    case BP_INIT_NORMAL:
        bp_fill_normal(l->W_h->value, l->W_h->size, 0, s->init_std, rng);
        break;
    case BP_INIT_ORTHOGONAL:
        for (int g = 0; g < G; g++) {
            bp_status st = fill_orthogonal(l->W_h, g * H, H, s->init_gain, rng, err);
            if (st != BP_OK)
                return st;
        }
        break;
    }
    if (s->spectral_radius > 0) {
        bp_status st = bp_set_spectral_radius(l->W_h->value, H, s->spectral_radius, err);
        if (st != BP_OK) {
            bp_error_prefix(err, "layer '%s'", s->name);
            return st;
        }
    }
    if (s->kind == BP_LAYER_LSTM && s->forget_bias != 0)
        for (int i = H; i < 2 * H; i++) /* the f block of b */
            l->b->value[i] = (bp_real)s->forget_bias;
    return BP_OK;
}

bp_status net_init_layer(net_layer *l, bp_rng *rng, bp_error *err)
{
    switch (l->spec.kind) {
    case BP_LAYER_LINEAR: { /* PyTorch's nn.Linear: W, b ~ U(-1/sqrt(in), 1/sqrt(in)) */
        double k = 1 / sqrt((double)l->in_size);
        net_fill_uniform(l->W_x, k, rng);
        net_fill_uniform(l->b, k, rng);
        return BP_OK;
    }
    case BP_LAYER_EMBEDDING: /* PyTorch's nn.Embedding: E ~ N(0, 1) */
        bp_fill_normal(l->W_x->value, l->W_x->size, 0, 1, rng);
        return BP_OK;
    case BP_LAYER_CELL:
        return net_cell_init(l, rng, err);
    default:
        return init_recurrent(l, rng, err);
    }
}

bp_status bp_net_init(bp_net *net, bp_rng *rng, bp_error *err)
{
    for (int i = 0; i < net->def->spec.n_layers; i++) {
        bp_status st = net_init_layer(&net->def->layers[i], rng, err);
        if (st != BP_OK)
            return st;
    }
    double k = 1 / sqrt((double)net->def->out_W->shape.dim[0]);
    net_fill_uniform(net->def->out_W, k, rng);
    net_fill_uniform(net->def->out_b, k, rng);
    return BP_OK;
}
