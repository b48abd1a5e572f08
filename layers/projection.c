/* projection.c — a first rnn, lstm or gru layer's input product x W_x, made once per
 * block of steps (not once per step), and the cache that lets recomputed segments share
 * a block's product (recompute.c). */
#include "forward.h"
#include "net_internal.h"

#include <stdlib.h>
#include <string.h>

/* Steps per input product of a first layer: all of them when the product [n B, W] is
 * small, else blocks of about BLOCK_BYTES, so that backward adds into a block's gradient
 * while it is still in cache (it is zeroed when the block's last step is reached). */
enum { BLOCK_BYTES = 256 * 1024 };
int net_projection_block(int B, int W, int steps)
{
    size_t per_step = (size_t)B * (size_t)W * sizeof(bp_real);
    size_t n = BLOCK_BYTES / per_step;
    return n < 1 ? 1 : n > (size_t)steps ? steps : (int)n;
}

/* Does layer i multiply its input by W_x once per block of steps? A first rnn, lstm or
 * gru layer does: it reads the sequence node (features or one-hot). */
bool net_projects(const bp_net *net, int i)
{
    bp_layer_kind kind = net->def->layers[i].spec.kind;
    return i == 0 && (kind == BP_LAYER_RNN || kind == BP_LAYER_LSTM || kind == BP_LAYER_GRU);
}

/* Room for n values in the cache; false when out of memory (the cache is then empty). */
static bool cache_room(net_xw_cache *c, size_t n)
{
    if (n > c->cap) {
        bp_real *v = realloc(c->value, n * sizeof(bp_real));
        if (!v) {
            c->p = -1;
            return false;
        }
        c->value = v;
        c->cap = n;
    }
    return true;
}

/* Keep a block's product for the next segments (recompute.c's cache; nothing when
 * absent or out of memory: they compute it again). */
static void cache_put(net_xw_cache *c, int p, const bp_node *xw)
{
    if (!c || !xw || !cache_room(c, xw->size))
        return;
    memcpy(c->value, xw->value, xw->size * sizeof(bp_real));
    c->size = xw->size;
    c->p = p;
}

/* x W_x into the cache, by the forward the tape makes (graph/forward.h): bit for bit the
 * value of the node bp_matmul would record. False when out of memory. */
static bool cache_product(net_xw_cache *c, int p, bp_node *x, bp_node *W, bp_tape *t)
{
    bp_shape s = bp_shape2(x->shape.dim[0], W->shape.dim[1]);
    if (!cache_room(c, bp_shape_size(s)))
        return false;
    bp_node probe = {.op = &bp_op_matmul, .in = {x, W}, .shape = s, .size = bp_shape_size(s),
                     .value = c->value};
    bp_tape_forward(t, &probe);
    c->size = probe.size;
    c->p = p;
    return true;
}

/* The first layer's input product of the block holding chunk step s, [(q - p) B, G H]:
 * the blocks start at t0 whatever the span, so a segment records the very products (same
 * shapes, same rows) the whole chunk would. One that starts before the span is detached:
 * a tape input that takes a gradient but leads nowhere, holding the rows of the span's
 * steps (from r0 on) copied from the whole block's product, made once for the segments
 * of a pass (recompute.c's cache); its grad only collects dL/d(those rows). */
net_block net_block_product(bp_net *net, bp_tape *t, const net_layer *l, const net_run *run,
                            int s, int B, const net_span *sp)
{
    net_block k = {0};
    k.p = k.r0 = sp->t0 + (s - sp->t0) / run->blk * run->blk;
    k.q = k.p + run->blk < sp->t1 ? k.p + run->blk : sp->t1;
    k.detached = k.p < sp->a;
    int rows = (k.q - k.p) * B, W = l->W_x->shape.dim[1];
    net_xw_cache *c = net->xw_cache;
    bool cached = k.detached && c && c->p == k.p; /* then the rows of x were not gathered */
    bp_node *x = cached ? NULL
                 : rows == net->in_seq->shape.dim[0]
                     ? net->in_seq
                     : bp_rows(t, net->in_seq, (double)(k.p - net->in_lo) * B, rows);
    if (!k.detached) {
        k.xw = bp_matmul(t, x, l->W_x);
        if (k.q > sp->b) /* the next segment reads it too */
            cache_put(c, k.p, k.xw);
        return k;
    }
    if (!cached && !(x && c && cache_product(c, k.p, x, l->W_x, t))) {
        if (!x) /* the tape holds an error */
            return k;
        /* no cache: the whole block as a detached tape input (the same values) */
        k.xw = bp_tape_input(t, bp_shape2(rows, W), NULL, true);
        if (k.xw) {
            bp_node probe = *k.xw;
            probe.op = &bp_op_matmul;
            probe.in[0] = x;
            probe.in[1] = l->W_x;
            bp_tape_forward(t, &probe);
        }
        return k;
    }
    k.r0 = sp->a;
    int r1 = sp->b < k.q ? sp->b : k.q;
    k.xw = bp_tape_input(t, bp_shape2((r1 - k.r0) * B, W),
                         c->value + (size_t)(k.r0 - k.p) * (size_t)B * (size_t)W, true);
    return k;
}
