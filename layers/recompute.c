/* recompute.c — memory-efficient BPTT by recomputation (Chen et al. 2016; Gruslys et al.
 * 2016): keep the state entering every segment of k steps, then backpropagate the
 * segments from the last, each recorded again from its stored state.
 *
 * Why the gradients equal plain BPTT's bit for bit. Floating-point sums depend on their
 * order, so every gradient buffer must receive the same additions, in the same order,
 * starting from the same value, as on the whole chunk's tape:
 *
 * - Values. A segment is the whole chunk's tape restricted to its steps, recorded by the
 *   same code (forward.c's net_record) from the same stored values: every op sees the
 *   same inputs and computes the same numbers. The first layer's input product
 *   x W_x is made per block of steps counted from the chunk's start, whatever the
 *   segment, so each block is the same product of the same shape (a block that starts
 *   before the segment is computed as the tape computes it, bp_tape_forward, into a
 *   detached tape input, or copied from the same product an earlier segment of the pass
 *   made).
 * - Hidden states. The tape is time major (forward.c): all of step t+1's nodes come
 *   after step t's. Backward therefore adds everything that flows back through time into
 *   dL/dh_t (from step t+1's ops, into a zeroed buffer) before anything from above at
 *   step t (the next layer, a skip, the readout). The segment after the boundary makes
 *   exactly that first partial sum, in its entering state's grad (a tape input, zeroed,
 *   the same ops adding into it). The segment before seeds it first into its last
 *   state's grad -- sum(h * G) is recorded after everything else, so its backward runs
 *   first and adds 0 + 1 G = G -- and the rest follows in the plain order.
 * - Parameters. Their grads (leaves) only ever accumulate, each in reverse step order;
 *   segments are walked from the last, steps within one from the last: the same order.
 *   Deferred weight gradients (bp_tape_set_defer) are held across the segments, so their
 *   terms form the same groups, summed at the same points, as on the whole chunk's tape.
 *   Which parameter is updated between two updates of another does not matter.
 * - Input blocks. On the plain tape each step's rows of dL/d(x W_x) receive one
 *   addition (into zero), and dW_x += x^T dL/d(x W_x) is one product over the whole block
 *   once its first step is done. A block reaching over a segment's start (detached)
 *   collects its rows in the segment; they are kept and seeded (as above) into the real
 *   product node when the segment holding the block's first step is recorded, whose
 *   backward then makes the very same product.
 * - The loss. A seq head's per-step losses all receive c dloss (c = 1 / chunk steps)
 *   through the same add chain and scale; each segment starts its chain from the sum so
 *   far (a constant), so the last segment's loss node holds the plain value.
 * - Reachability: a boundary state or block is seeded only if the later segment reached
 *   it, so exactly the nodes plain backward reaches run their backward (a parameter's
 *   grad never receives an extra +0). */
#include "fpmode.h"
#include "net_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bp_recompute_segment(int k, int steps)
{
    if (steps < 1)
        return 0;
    if (k == BP_RECOMPUTE_SQRT) {
        k = (int)ceil(sqrt((double)steps));
        while ((long)k * k < steps) /* exact ceil(sqrt) whatever libm rounds */
            k++;
        while (k > 1 && (long)(k - 1) * (k - 1) >= steps)
            k--;
    }
    if (k < 1)
        return 0;
    return k < steps ? k : steps;
}

/* One call's plan and scratch (one allocation). States are laid out as a bp_net_state's
 * block: per recurrent layer h [B, H], then c [B, C] when it has one. */
typedef struct plan {
    int t0, t1, k, n_seg;
    size_t E;            /* elements of one state */
    size_t *off_h, *off_c; /* [n_rec] offsets in a state; off_c (size_t)-1 when none */
    bp_real *ckpt;       /* [n_seg][E]: the state entering each segment */
    bp_real *dstate;     /* [E]: dL/d(state entering the segment just walked) */
    bool *dreach;        /* [2 n_rec]: ...and whether backward reached h, c */
    bp_real *tot;        /* [n_seg]: seq head, the loss summed over the steps before */
    bp_real **h0, **c0;  /* [n_rec]: the entering state of the segment being recorded */
    void *mem;
    /* the first layer's block reaching over the last walked segment's start */
    bp_real *pend;       /* its rows of dL/d(x W_x) gathered so far, zero elsewhere */
    size_t pend_cap;
    int pend_p;          /* its first step, -1 when none */
    bool pend_reached;
} plan;

static void plan_free(plan *p)
{
    free(p->mem);
    free(p->pend);
}

static bool plan_new(plan *p, const bp_net *net, int B, int t0, int t1, int k)
{
    int R = net->def->n_rec;
    *p = (plan){.t0 = t0, .t1 = t1, .k = k, .n_seg = (t1 - t0 + k - 1) / k, .pend_p = -1};
    size_t E = 0, n = (size_t)p->n_seg, r1 = (size_t)R + 1;
    size_t bytes = 2 * r1 * sizeof(size_t) + 2 * r1 * sizeof(bp_real *) + 2 * r1 * sizeof(bool);
    bytes = (bytes + 63) / 64 * 64;
    size_t lay = bytes; /* the reals after the small arrays */
    for (int r = 0; r < R; r++) {
        const net_layer *l = &net->def->layers[net->def->rec_layer[r]];
        E += (size_t)B * (size_t)(l->spec.size + net_c_size(l));
    }
    p->E = E;
    bytes += ((n + 1) * E + n) * sizeof(bp_real);
    char *m = p->mem = malloc(bytes);
    if (!m)
        return false;
    p->off_h = (size_t *)m;
    p->off_c = p->off_h + r1;
    p->h0 = (bp_real **)(p->off_c + r1);
    p->c0 = p->h0 + r1;
    p->dreach = (bool *)(p->c0 + r1);
    p->ckpt = (bp_real *)(m + lay);
    p->dstate = p->ckpt + n * E;
    p->tot = p->dstate + E;
    size_t off = 0;
    for (int r = 0; r < R; r++) {
        const net_layer *l = &net->def->layers[net->def->rec_layer[r]];
        p->off_h[r] = off;
        off += (size_t)B * (size_t)l->spec.size;
        p->off_c[r] = net_c_size(l) ? off : (size_t)-1;
        off += (size_t)B * (size_t)net_c_size(l);
    }
    memset(p->dreach, 0, 2 * r1 * sizeof(bool));
    return true;
}

static int seg_start(const plan *p, int s) { return p->t0 + s * p->k; }
static int seg_end(const plan *p, int s)
{
    int e = p->t0 + (s + 1) * p->k;
    return e < p->t1 ? e : p->t1;
}

/* Reset the tape and record segment s from its stored state; the loss node or NULL. */
static bp_node *record_segment(bp_net *net, bp_tape *t, const bp_batch *b, plan *p, int s)
{
    bp_tape_reset(t);
    bp_real *st = p->ckpt + (size_t)s * p->E;
    for (int r = 0; r < net->def->n_rec; r++) {
        p->h0[r] = st + p->off_h[r];
        p->c0[r] = p->off_c[r] == (size_t)-1 ? NULL : st + p->off_c[r];
    }
    bool seq = net->def->spec.head == BP_HEAD_SEQ;
    net_span sp = {.t0 = p->t0, .t1 = p->t1, .a = seg_start(p, s), .b = seg_end(p, s),
                   .h0 = p->h0, .c0 = p->c0, .state_grad = s > 0,
                   .total_in = seq && s > 0 ? &p->tot[s] : NULL};
    return net_record(net, t, b, &sp);
}

/* After recording segment s: the state after its last step, into dst (layout of a plan
 * state, or a bp_net_state's block). */
static void save_state(const bp_net *net, const plan *p, int steps, bp_real *const *h,
                       bp_real *const *c)
{
    for (int r = 0; r < net->def->n_rec; r++) {
        const bp_node *hn = net->tr_h_rows[r][steps - 1], *cn = net->last_c[r];
        memcpy(h[r], hn->value, hn->size * sizeof(bp_real));
        if (p->off_c[r] != (size_t)-1)
            memcpy(c[r], cn->value, cn->size * sizeof(bp_real));
    }
}

static void save_checkpoint(const bp_net *net, plan *p, int s, bp_node *loss)
{
    bp_real *st = p->ckpt + (size_t)(s + 1) * p->E;
    for (int r = 0; r < net->def->n_rec; r++) {
        p->h0[r] = st + p->off_h[r];
        p->c0[r] = p->off_c[r] == (size_t)-1 ? NULL : st + p->off_c[r];
    }
    save_state(net, p, seg_end(p, s) - seg_start(p, s), p->h0, p->c0);
    if (net->def->spec.head == BP_HEAD_SEQ) /* the running sum: the chain under the mean's scale */
        p->tot[s + 1] = (loss->op == &bp_op_scale ? loss->in[0] : loss)->value[0];
}

static bp_status tape_failed(bp_tape *t, bp_error *err)
{
    const bp_error *e = bp_tape_error(t);
    return bp_error_set(err, e ? e->status : BP_ERR_VALUE, "%s", e ? e->msg : "forward failed");
}

/* A term whose backward adds G into x's grad: sum(x * G), G a constant copy. d/dx = 1 G. */
static bp_node *seed_term(bp_tape *t, bp_node *x, const bp_real *G)
{
    return bp_sum(t, bp_mul(t, x, bp_tape_input(t, x->shape, G, false)));
}

static bp_node *plus(bp_tape *t, bp_node *S, bp_node *term)
{
    return S ? bp_add(t, S, term) : term;
}

/* Backward through the recorded segment s: its loss (dloss), the state after it (what
 * the later segment handed back) and the pending input block. *ran false when nothing
 * seeds it. */
static bp_status backward_segment(bp_net *net, bp_tape *t, plan *p, int s, bp_node *loss,
                                  bp_real dloss, bool *ran, bp_error *err)
{
    int a = seg_start(p, s), e = seg_end(p, s);
    bp_node *S = NULL;
    if (e < p->t1)
        for (int r = 0; r < net->def->n_rec; r++) {
            if (p->dreach[2 * r])
                S = plus(t, S, seed_term(t, net->tr_h_rows[r][e - a - 1], p->dstate + p->off_h[r]));
            if (p->dreach[2 * r + 1])
                S = plus(t, S, seed_term(t, net->last_c[r], p->dstate + p->off_c[r]));
        }
    const net_block *last = &net->blk_last;
    if (last->xw && !last->detached && last->q > e) { /* its later rows came from after e */
        if (p->pend_p != last->p)
            return bp_error_set(err, BP_ERR_VALUE, "recompute: the input block at step %d was "
                                "not gathered (internal error)", last->p);
        if (p->pend_reached)
            S = plus(t, S, seed_term(t, last->xw, p->pend));
        p->pend_p = -1;
    }
    *ran = S || loss->requires_grad;
    if (!*ran)
        return BP_OK;
    if (!S) /* the loss alone: exactly plain BPTT's call */
        return bp_backward_seed(t, loss, &dloss, err);
    if (loss->requires_grad) /* d(dloss L)/dL = dloss, as the seed would give */
        S = plus(t, S, bp_scale(t, loss, (double)dloss));
    if (bp_tape_error(t))
        return tape_failed(t, err);
    return bp_backward(t, S, err);
}

/* After walking segment s: dL/d(state entering it) and the rows of a block reaching over
 * its start, for the segment before. */
static bp_status gather(bp_net *net, const bp_batch *b, plan *p, int s, bp_error *err)
{
    int a = seg_start(p, s), e = seg_end(p, s);
    for (int r = 0; s > 0 && r < net->def->n_rec; r++) {
        bp_node *h = net->tr_h0[r], *c = net->tr_c0[r];
        if ((p->dreach[2 * r] = h->reached))
            memcpy(p->dstate + p->off_h[r], h->grad, h->size * sizeof(bp_real));
        if ((p->dreach[2 * r + 1] = c && c->reached))
            memcpy(p->dstate + p->off_c[r], c->grad, c->size * sizeof(bp_real));
    }
    const net_block *f = &net->blk_first;
    if (!f->xw || !f->detached)
        return BP_OK;
    size_t size = (size_t)(f->q - f->p) * (size_t)b->B * (size_t)f->xw->shape.dim[1];
    if (p->pend_p != f->p) { /* a new block: its rows before this segment stay zero */
        if (size > p->pend_cap) {
            free(p->pend);
            if (!(p->pend = malloc(size * sizeof(bp_real)))) {
                p->pend_cap = 0;
                return bp_error_set(err, BP_ERR_NOMEM, "recompute: out of memory");
            }
            p->pend_cap = size;
        }
        memset(p->pend, 0, size * sizeof(bp_real));
        p->pend_p = f->p;
        p->pend_reached = false;
    }
    size_t row = (size_t)b->B * (size_t)f->xw->shape.dim[1];
    size_t from = (size_t)(a - f->p) * row, to = (size_t)((e < f->q ? e : f->q) - f->p) * row;
    memcpy(p->pend + from, f->xw->grad + (size_t)(a - f->r0) * row, (to - from) * sizeof(bp_real));
    p->pend_reached |= f->xw->reached;
    return BP_OK;
}

bp_status bp_net_backward_recompute(bp_net *net, bp_tape *t, const bp_batch *b, int t0, int t1,
                                    bp_net_state *state, int k, bp_real dloss, double *loss,
                                    bp_error *err)
{
    if (t0 < 0 || t1 <= t0 || t1 > b->T)
        return bp_error_set(err, BP_ERR_VALUE, "recompute: steps [%d, %d) are not a range within "
                            "the batch's %d steps", t0, t1, b->T);
    int seg = bp_recompute_segment(k, t1 - t0);
    if (!seg)
        return bp_error_set(err, BP_ERR_VALUE, "recompute: the segment length must be > 0 (or "
                            "BP_RECOMPUTE_SQRT for sqrt(T)), not %d", k);
    if (state && (state->net != net || state->B != b->B))
        return bp_error_set(err, BP_ERR_SHAPE, "recompute: the state is for %s (batch %d); the "
                            "batch has %d rows", state->net != net ? "another net" : "this net",
                            state->B, b->B);
    plan p;
    if (!plan_new(&p, net, b->B, t0, t1, seg)) {
        plan_free(&p);
        return bp_error_set(err, BP_ERR_NOMEM, "recompute: out of memory");
    }
    if (state)
        memcpy(p.ckpt, state->block, p.E * sizeof(bp_real));
    else
        memset(p.ckpt, 0, p.E * sizeof(bp_real));
    bp_status st = BP_OK;
    bp_node *l = NULL;
    net_xw_cache cache = {.p = -1};
    /* the segments are recorded here, not by bp_net_forward, and the held weight
     * gradients summed after the last walk: flushed as the plain forward and walk are */
    bp_fp_scope fp = bp_fp_flush_begin(bp_tape_flushes_denormals(t));
    net->xw_cache = &cache;
    /* the first forward: every segment, keeping the state entering the next; the last
     * one stays on the tape */
    for (int s = 0; s < p.n_seg; s++) {
        if (!(l = record_segment(net, t, b, &p, s))) {
            st = tape_failed(t, err);
            goto done;
        }
        if (s < p.n_seg - 1)
            save_checkpoint(net, &p, s, l);
    }
    *loss = (double)l->value[0];
    if (state)
        save_state(net, &p, seg_end(&p, p.n_seg - 1) - seg_start(&p, p.n_seg - 1), state->h,
                   state->c);
    /* then backward, from the last segment to the first, each recorded again; the
     * deferred weight gradients are held across the segments, grouped as on the whole
     * chunk's tape */
    bp_tape_hold_deferred(t, true);
    for (int s = p.n_seg - 1; s >= 0; s--) {
        if (s < p.n_seg - 1 && !(l = record_segment(net, t, b, &p, s))) {
            st = tape_failed(t, err);
            goto done;
        }
        bool ran = false;
        if ((st = backward_segment(net, t, &p, s, l, dloss, &ran, err)) != BP_OK)
            goto done;
        if (!ran && net->def->spec.head == BP_HEAD_LAST) /* no gradient reaches back from here */
            break;
        if ((st = gather(net, b, &p, s, err)) != BP_OK)
            goto done;
    }
done:
    bp_tape_hold_deferred(t, false);
    bp_fp_flush_end(fp);
    net->xw_cache = NULL;
    free(cache.value);
    plan_free(&p);
    return st;
}
