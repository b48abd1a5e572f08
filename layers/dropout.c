/* dropout.c — the layers' dropout masks (bp_net_set_dropout), recorded as dropout ops.
 *
 * A mask element is a function of (seed, layer, site, step, global row, unit), drawn by a
 * counter-based generator (SplitMix64's finaliser over the counter): no stream to keep in
 * order, so recomputing a segment, the next chunk of truncated BPTT and a batch split
 * across threads all see the masks one whole forward would. Each 64-bit draw gives four
 * 16-bit uniforms: an element is dropped when its uniform is below p * 65536. */
#include "net_internal.h"

#include <math.h>

void bp_net_set_dropout(bp_net *net, bool on, uint64_t seed)
{
    net->drop_on = on;
    net->drop_seed = seed;
}

bool bp_net_dropout_on(const bp_net *net) { return net->drop_on; }
uint64_t bp_net_dropout_seed(const bp_net *net) { return net->drop_seed; }

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The mask [B, W] of one site at step s (-1: the whole sequence's, variational). */
static bp_node *make_mask(const bp_net *net, bp_tape *t, int site, int s, int B, int W,
                          double p)
{
    bp_node *m = bp_tape_input(t, bp_shape2(B, W), NULL, false);
    if (!m)
        return NULL;
    const bp_real keep = (bp_real)(1.0 / (1.0 - p));
    const uint32_t cut = (uint32_t)lround(p * 65536.0);
    uint64_t base = mix(net->drop_seed ^ mix(((uint64_t)(uint32_t)site << 32) |
                                             (uint32_t)(s + 1)));
    for (int r = 0; r < B; r++) {
        uint64_t row = mix(base + 0x9e3779b97f4a7c15ull * (uint64_t)(net->row0 + r + 1));
        bp_real *mr = m->value + (size_t)r * (size_t)W;
        for (int j = 0; j < W; j += 4) {
            uint64_t u = mix(row + (uint64_t)j);
            for (int q = 0; q < 4 && j + q < W; q++, u >>= 16)
                mr[j + q] = (uint32_t)(u & 0xffff) < cut ? 0 : keep;
        }
    }
    return m;
}

bp_node *net_dropout(bp_net *net, bp_tape *t, int i, bool recurrent, int s, bp_node *x)
{
    const bp_layer_spec *l = &net->def->layers[i].spec;
    double p = recurrent ? l->recurrent_dropout : l->dropout;
    if (!net->drop_on || !(p > 0) || !x)
        return x;
    int B = x->shape.dim[0], W = x->shape.dim[1], site = 2 * i + recurrent;
    if (!recurrent && !l->variational)
        return bp_dropout(t, x, make_mask(net, t, site, s, B, W, p));
    net_run *run = &net->runs[i];
    bp_node **var = recurrent ? &run->var_rec : &run->var_out;
    if (!*var)
        *var = make_mask(net, t, site, -1, B, W, p);
    return bp_dropout(t, x, *var);
}
