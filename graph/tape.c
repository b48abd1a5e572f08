/* tape.c — the define-by-run tape: nodes recorded in execution order (the backward walk,
 * in reverse order: walk.c). */
#include "bptt_ops.h"
#include "forward.h"
#include "fpmode.h"
#include "tape_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


bp_tape *bp_tape_new(void)
{
    return calloc(1, sizeof(bp_tape));
}

void bp_tape_free(bp_tape *t)
{
    if (!t)
        return;
    bp_arena_free(&t->arena);
    bp_defer_free(&t->defer);
    bp_bind_free(&t->bind);
    free(t->nodes);
    free(t->zeroed);
    free(t);
}

void bp_tape_reset(bp_tape *t)
{
    bp_pool_clear(&t->pool); /* before the arena rewinds */
    bp_arena_reset(&t->arena);
    t->len = 0;
    t->scratch = 0;
    t->walked = false;
    bp_defer_new_period(&t->defer);
    bp_tape_clear_error(t);
}

void bp_tape_set_keep_grads(bp_tape *t, bool keep)
{
    t->release = !keep;
}

void bp_tape_set_keep_values(bp_tape *t, bool keep)
{
    t->release_values = !keep;
}

void bp_tape_set_defer(bp_tape *t, bool on)
{
    bp_defer_flush(&t->defer);
    t->defer.off = !on;
}

void bp_tape_set_flush_denormals(bp_tape *t, bool on)
{
    t->keep_denormals = !on;
}

bool bp_tape_flushes_denormals(const bp_tape *t)
{
    return !t->keep_denormals;
}

void bp_tape_hold_deferred(bp_tape *t, bool hold)
{
    bp_fp_scope fp = bp_fp_flush_begin(!t->keep_denormals); /* hold(false) sums them */
    bp_defer_hold(&t->defer, hold);
    bp_fp_flush_end(fp);
}

const bp_error *bp_tape_error(const bp_tape *t)
{
    return t->failed ? &t->err : NULL;
}

void bp_tape_clear_error(bp_tape *t)
{
    t->failed = false;
    t->err.status = BP_OK;
    t->err.msg[0] = '\0';
}

int bp_tape_len(const bp_tape *t)
{
    return t->len;
}

bp_node *bp_tape_node(const bp_tape *t, int i)
{
    return i >= 0 && i < t->len ? t->nodes[i] : NULL;
}

size_t bp_tape_arena_bytes(const bp_tape *t)
{
    return t->arena.reserved;
}

/* Arena memory for the tape's own pieces (nodes, their buffers); fails the tape. */
static void *tape_alloc(bp_tape *t, size_t bytes)
{
    void *p = bp_arena_alloc(&t->arena, bytes);
    if (!p && !t->failed) {
        t->failed = true;
        bp_error_set(&t->err, BP_ERR_NOMEM, "tape: cannot allocate %zu bytes", bytes);
    }
    return p;
}

void *bp_tape_alloc(bp_tape *t, size_t bytes)
{
    void *p = tape_alloc(t, bytes);
    if (p)
        t->scratch += bytes;
    return p;
}

size_t bp_tape_scratch_bytes(const bp_tape *t)
{
    return t->scratch;
}

void bp_tape_fail(bp_tape *t, bp_status status, const char *fmt, ...)
{
    if (t->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    t->failed = true;
    t->err.status = status;
    vsnprintf(t->err.msg, sizeof t->err.msg, fmt, ap);
    va_end(ap);
}

/* Append n to the execution order; the array grows by doubling and is kept
 * across resets, so a warmed-up tape appends without allocating. */
static bool push(bp_tape *t, bp_node *n)
{
    if (t->len == t->cap) {
        int cap = t->cap ? 2 * t->cap : 1024;
        bp_node **nodes = realloc(t->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            t->failed = true;
            bp_error_set(&t->err, BP_ERR_NOMEM, "tape: cannot grow to %d nodes", cap);
            return false;
        }
        t->nodes = nodes;
        t->cap = cap;
    }
    n->id = t->len;
    t->nodes[t->len++] = n;
    return true;
}

/* Where a node's value starts after its struct: a buffer of 256 bytes or more at 64 bytes
 * (BP_ARENA_ALIGN, for SIMD), a smaller one at 16, as bp_arena_alloc aligns them. */
static size_t value_offset(size_t value_bytes)
{
    size_t align = value_bytes < 256 ? 16 : BP_ARENA_ALIGN;
    return (sizeof(bp_node) + align - 1) / align * align;
}

/* *proto (its shape and size set) copied onto the arena, with a value buffer unless it
 * is a view (whose forward points value into its input): a released buffer of its size
 * when the pool has one, else one arena piece, the buffer right after the struct, so a
 * node is one allocation and one copy. */
static bp_node *node_put(bp_tape *t, const bp_node *proto, bool view)
{
    size_t bytes = view ? 0 : proto->size * sizeof(bp_real);
    bp_real *reused = view ? NULL : bp_pool_take(&t->pool, bytes);
    size_t at = view || reused ? sizeof(bp_node) : value_offset(bytes);
    unsigned char *p = tape_alloc(t, reused ? at : at + bytes);
    if (!p) {
        if (reused)
            bp_pool_give(&t->pool, reused, bytes);
        return NULL;
    }
    bp_node *n = (bp_node *)p;
    *n = *proto;
    if (!view)
        n->value = reused ? reused : (bp_real *)(p + at);
    return n;
}

bp_node *bp_tape_input(bp_tape *t, bp_shape shape, const bp_real *data, bool requires_grad)
{
    if (t->failed)
        return NULL;
    bp_error e;
    if (bp_shape_check(shape, &e) != BP_OK) {
        t->failed = true;
        bp_error_set(&t->err, e.status, "input: %s", e.msg);
        return NULL;
    }
    bp_node *n = node_put(t, &(bp_node){.shape = shape, .size = bp_shape_size(shape)}, false);
    if (!n)
        return NULL;
    if (data)
        memcpy(n->value, data, n->size * sizeof(bp_real));
    else
        memset(n->value, 0, n->size * sizeof(bp_real));
    n->requires_grad = requires_grad;
    if (requires_grad) {
        n->grad = tape_alloc(t, n->size * sizeof(bp_real));
        if (!n->grad)
            return NULL;
        memset(n->grad, 0, n->size * sizeof(bp_real));
    }
    return push(t, n) ? n : NULL;
}

/* s's element count when bp_shape_check would pass it, else 0: the check of every
 * recorded node, without the message (bp_shape_check makes it on failure). */
static size_t shape_size_ok(bp_shape s)
{
    if (s.ndim < 1 || s.ndim > BP_MAX_DIMS)
        return 0;
    size_t n = 1;
    for (int i = 0; i < s.ndim; i++) {
        if (s.dim[i] < 1)
            return 0;
        n *= (size_t)s.dim[i];
        if (n > BP_MAX_ELEMENTS)
            return 0;
    }
    return n;
}

void bp_tape_forward(bp_tape *t, bp_node *n)
{
    if (n->op != &bp_op_matmul || !bp_defer_forward(&t->defer, n))
        n->op->forward(n, t);
}

/* A backward reads x's value: x, and what it is a view of, keep their buffers. Only
 * nodes of a tape are marked (a leaf may be shared by the tapes of several threads). */
static void mark_saved(bp_node *x)
{
    for (; x && x->id >= 0; x = x->in[0]) {
        x->saved = true;
        if (!x->op || !x->op->view)
            return;
    }
}

/* A view's gradient is a window of its owner's (the node it is a view of, through other
 * views): a leaf or tape input that takes a gradient must have its buffer (an op node's
 * is made by the walk). */
static bool view_owner_has_grad(const bp_node *x)
{
    while (x->op && x->op->view)
        x = x->in[0];
    return x->op || !x->requires_grad || x->grad;
}

bp_node *bp_apply(bp_tape *t, const bp_op *op, bp_node *const in[], const double attr[])
{
    if (t->failed)
        return NULL;
    for (int i = 0; i < op->n_in; i++) {
        if (!in[i] || bp_value_released(in[i])) {
            t->failed = true;
            bp_error_set(&t->err, BP_ERR_VALUE, in[i] ? "%s: input %d's value was released "
                         "(bp_tape_release_value)" : "%s: input %d is missing", op->name, i);
            return NULL;
        }
    }
    /* The node is made on the stack, shape first, so a bad shape allocates nothing. Its
     * fields (every one of bp_node's) are set one by one: `= {.op = op}` clears its
     * 150-odd bytes with rep stos, 3% of a B = 1 step in perf. */
    bp_node probe;
    probe.op = op;
    for (int i = 0; i < BP_MAX_INPUTS; i++)
        probe.in[i] = i < op->n_in ? in[i] : NULL;
    for (int i = 0; i < BP_MAX_ATTRS; i++)
        probe.attr[i] = i < op->n_attr ? attr[i] : 0;
    probe.shape = (bp_shape){0};
    probe.size = 0;
    probe.value = probe.grad = NULL;
    probe.aux = NULL;
    probe.name = NULL;
    probe.id = 0;
    probe.requires_grad = probe.reached = probe.grad_fresh = false;
    probe.saved = !(op->unsaved & BP_UNSAVED_OUT);
    probe.released = false;
    if (t->bind.mask) /* a bound tape: its own stand-in for a shared leaf */
        for (int i = 0; i < op->n_in; i++)
            probe.in[i] = bp_bind_find(&t->bind, in[i]);
    bp_shape s;
    bp_error e; /* written only on an error: not cleared (it is 516 bytes, per node) */
    e.status = BP_OK;
    e.msg[0] = '\0';
    bp_status st = op->shape(&probe, &s, &e);
    if (st == BP_OK && !(probe.size = shape_size_ok(s)))
        st = bp_shape_check(s, &e); /* the output shape is bad: say how */
    if (st != BP_OK) {
        t->failed = true;
        bp_error_set(&t->err, e.status != BP_OK ? e.status : st, "%s: %s", op->name, e.msg);
        return NULL;
    }
    probe.shape = s;
    for (int i = 0; i < op->n_in; i++)
        probe.requires_grad |= probe.in[i]->requires_grad;
    if (op->view && probe.requires_grad && !view_owner_has_grad(probe.in[0])) {
        t->failed = true;
        bp_error_set(&t->err, BP_ERR_VALUE, "%s: its input takes a gradient but has no "
                     "gradient buffer", op->name);
        return NULL;
    }
    bp_node *n = node_put(t, &probe, op->view);
    if (!n)
        return NULL;
    bp_tape_forward(t, n);
    if (t->failed) /* forward's scratch allocation failed */
        return NULL;
    if (!push(t, n))
        return NULL;
    for (int i = 0; i < op->n_in; i++)
        if (!(op->unsaved >> i & 1))
            mark_saved(n->in[i]);
    return n;
}

bool bp_value_released(const bp_node *n)
{
    for (; n; n = n->op && n->op->view ? n->in[0] : NULL)
        if (n->released)
            return true;
    return false;
}

bool bp_tape_release_value(bp_tape *t, bp_node *n)
{
    if (!t->release_values || !n || !n->op || n->op->view || n->saved || n->released ||
        n->id < 0 || n->id >= t->len || t->nodes[n->id] != n)
        return false;
    bp_pool_give(&t->pool, n->value, n->size * sizeof(bp_real));
    n->released = true;
    return true;
}

bp_status bp_tape_bind_params(bp_tape *t, const bp_params *shared, bp_params *own,
                              bp_error *err)
{
    return bp_bind_build(&t->bind, shared, own, err);
}
