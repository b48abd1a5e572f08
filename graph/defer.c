/* defer.c — a matmul whose weight is a parameter, used at many steps:
 *   the weight gradient made once for many steps, dW += Σ_t A_tᵀ dC_t
 *   = [A_1; ...; A_n]ᵀ [dC_1; ...; dC_n];
 *   the step products on the weight packed once (ops/panel.h) instead of by every BLAS
 *   call: C_t = A_t W on W packed at its first step product of a record, and
 *   dA_t += dC_t Wᵀ, after the walk's first made as a BLAS call, on Wᵀ packed at the
 *   weight's second dA of the walk (a weight used once is not worth a copy); for the
 *   products bp_tape_packs_product takes (`bptt bench tape` prints the panel product
 *   against OpenBLAS at every bench steps size). */
#include "defer.h"
#include "bind.h"
#include "blas.h"
#include "bptt_ops.h"
#include "matmul.h"
#include "panel.h"

#include <stdlib.h>
#include <string.h>

/* Sum slot s's pending rows into its weight's grad. */
static void flush_slot(defer_slot *s)
{
    if (s->rows)
        bp_gemm(CblasRowMajor, CblasTrans, CblasNoTrans, s->K, s->N, s->rows, 1, s->a, s->K,
                s->dc, s->N, 1, s->leaf->grad, s->N);
    s->rows = 0;
}

void bp_defer_flush(bp_defer *d)
{
    for (int i = 0; i < d->n; i++)
        flush_slot(&d->slot[i]);
}

void bp_defer_new_period(bp_defer *d)
{
    if (!(d->hold && d->walk_held))
        d->period++;
}

void bp_defer_begin_walk(bp_defer *d)
{
    bp_defer_new_period(d);
    d->walk_held = d->hold;
}

void bp_defer_hold(bp_defer *d, bool hold)
{
    if (!hold)
        bp_defer_flush(d);
    d->hold = hold;
    d->walk_held = false;
    d->period++;
}

void bp_defer_free(bp_defer *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->slot[i].a);
        free(d->slot[i].w.data);
        free(d->slot[i].wt.data);
    }
    free(d->slot);
    free(d->index);
    *d = (bp_defer){0};
}

/* Rows one slot of weight w holds: BP_DEFER_ROWS, fewer when they pass BP_DEFER_BYTES. */
static int slot_rows(const bp_node *w)
{
    size_t row = ((size_t)w->shape.dim[0] + (size_t)w->shape.dim[1]) * sizeof(bp_real);
    size_t n = BP_DEFER_BYTES / row;
    return n < BP_DEFER_ROWS ? (int)n : BP_DEFER_ROWS;
}

/* An empty slot for weight w: nothing pending, nothing packed, no buffers yet. */
static defer_slot slot_new(bp_node *w)
{
    return (defer_slot){.leaf = w, .K = w->shape.dim[0], .N = w->shape.dim[1],
                        .cap = slot_rows(w)};
}

/* Where leaf w's slot number is, or would go, in the index (open addressing). */
static size_t index_place(const bp_defer *d, const bp_node *w)
{
    size_t i = bp_node_slot(w, d->index_mask);
    while (d->index[i] && d->slot[d->index[i] - 1].leaf != w)
        i = (i + 1) & d->index_mask;
    return i;
}

/* The index at most half full for n + 1 slots: rebuilt twice as large when not. */
static bool index_room(bp_defer *d)
{
    if (d->index && 2 * ((size_t)d->n + 1) <= d->index_mask + 1)
        return true;
    size_t size = d->index ? 2 * (d->index_mask + 1) : 16;
    int *index = calloc(size, sizeof *index);
    if (!index)
        return false;
    free(d->index);
    d->index = index;
    d->index_mask = size - 1;
    for (int k = 0; k < d->n; k++)
        d->index[index_place(d, d->slot[k].leaf)] = k + 1;
    return true;
}

/* The slot of weight w (made on first use), or NULL when out of memory: found by its
 * leaf in the index, so a net of many weights costs no more per term than one. */
static defer_slot *slot_of(bp_defer *d, bp_node *w)
{
    if (d->index) {
        int k = d->index[index_place(d, w)];
        if (k)
            return &d->slot[k - 1];
    }
    if (!index_room(d))
        return NULL;
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 8;
        defer_slot *p = realloc(d->slot, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        d->slot = p;
        d->cap = cap;
    }
    d->slot[d->n] = slot_new(w);
    d->index[index_place(d, w)] = d->n + 1;
    return &d->slot[d->n++];
}

/* A matmul by a parameter (a leaf off the tape): its weight's slot, or NULL (another
 * node, or out of memory: the op's own backward then). */
static defer_slot *param_slot(bp_defer *d, const bp_node *n)
{
    bp_node *w = n->in[1];
    if (n->op != &bp_op_matmul || w->op || w->id >= 0)
        return NULL;
    defer_slot *s = slot_of(d, w);
    if (s && (s->K != w->shape.dim[0] || s->N != w->shape.dim[1])) {
        /* another leaf at a freed one's address: its slot made anew (what was pending
         * was the freed leaf's) */
        free(s->a);
        free(s->w.data);
        free(s->wt.data);
        *s = slot_new(w);
    }
    return s;
}

/* Whether n's weight gradient waits in slot s: deferral on, few rows, a slot that holds
 * two such terms (its rows allocated at the first). */
static bool defers(bp_defer *d, defer_slot *s, const bp_node *n)
{
    int M = n->in[0]->shape.dim[0];
    if (d->off || M >= BP_DEFER_MAX_ROWS || 2 * M > s->cap)
        return false;
    if (!s->a && !(s->a = malloc((size_t)s->cap * (size_t)(s->K + s->N) * sizeof(bp_real))))
        return false;
    s->dc = s->a + (size_t)s->cap * (size_t)s->K;
    return true;
}

/* c, packed from s's weight (transposed: Wᵀ) in this period and kernel variant unless it
 * already was; NULL when out of memory. */
static const bp_real *packed_copy(const bp_defer *d, defer_slot *s, bool trans, defer_copy *c)
{
    int isa = bp_isa_current();
    if (c->data && c->period == d->period && c->isa == isa)
        return c->data;
    int K = trans ? s->N : s->K, N = trans ? s->K : s->N;
    if (!c->data && !(c->data = malloc(bp_panel_size(K, N) * sizeof(bp_real))))
        return NULL;
    bp_panel_pack(s->leaf->value, K, N, s->N, trans, c->data);
    c->period = d->period;
    c->isa = isa;
    return c->data;
}

bool bp_tape_packs_product(int M, int K, int N)
{
    return M <= BP_PANEL_MAX_ROWS && N <= bp_panel_max_cols() &&
           (size_t)K * (size_t)N <= BP_PACK_MAX;
}

bool bp_defer_forward(bp_defer *d, bp_node *n)
{
    int M = n->in[0]->shape.dim[0];
    if (M < 2) /* one row: matmul's row kernel, which needs no copy */
        return false;
    defer_slot *s = param_slot(d, n);
    if (!s || !bp_tape_packs_product(M, s->K, s->N))
        return false;
    const bp_real *wp = packed_copy(d, s, false, &s->w);
    if (!wp)
        return false;
    bp_panel_times(n->in[0]->value, s->K, M, s->K, wp, s->N, n->value, s->N, false);
    return true;
}

/* s's Wᵀ packed for this walk, or NULL: at its first dA in the walk, for products it
 * does not pack, or when out of memory. */
static const bp_real *packed_wt(const bp_defer *d, defer_slot *s, int M)
{
    if (!bp_tape_packs_product(M, s->N, s->K)) /* dC (M, N) Wᵀ (N, K) */
        return NULL;
    if (s->wt.period != d->period && s->used_period != d->period) {
        s->used_period = d->period;
        return NULL;
    }
    return packed_copy(d, s, true, &s->wt);
}

void bp_defer_backward(bp_defer *d, bp_node *n)
{
    defer_slot *s = param_slot(d, n);
    if (!s) {
        n->op->backward(n);
        return;
    }
    int M = n->in[0]->shape.dim[0];
    const bp_real *wt = n->in[0]->requires_grad ? packed_wt(d, s, M) : NULL;
    if (wt)
        bp_matmul_backward_a_packed(n, wt);
    else
        bp_matmul_backward_a(n);
    bp_node *w = s->leaf;
    if (!w->requires_grad || !w->grad)
        return;
    if (!defers(d, s, n)) {
        bp_matmul_backward_b(n);
        return;
    }
    if (s->rows + M > s->cap)
        flush_slot(s);
    memcpy(s->a + (size_t)s->rows * (size_t)s->K, n->in[0]->value,
           (size_t)M * (size_t)s->K * sizeof(bp_real));
    memcpy(s->dc + (size_t)s->rows * (size_t)s->N, n->grad,
           (size_t)M * (size_t)s->N * sizeof(bp_real));
    s->rows += M;
}
