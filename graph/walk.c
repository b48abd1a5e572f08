/* walk.c — backward: the tape walked in reverse, each reached node's backward run, grads
 * zeroed just in time and released after their last reader (tape_internal.h). */
#include "bptt_check.h"
#include "fpmode.h"
#include "tape_internal.h"

#include <stdlib.h>
#include <string.h>

/* bp_op_swap_backward (bptt_check.h): one op's backward replaced, for mutation tests. */
static const bp_op *swap_op;
static void (*swap_backward)(bp_node *n);

void bp_op_swap_backward(const bp_op *op, void (*backward)(bp_node *n))
{
    swap_op = backward ? op : NULL;
    swap_backward = backward;
}

bp_status bp_backward(bp_tape *t, bp_node *out, bp_error *err)
{
    if (out && out->size != 1) {
        char b[64];
        return bp_error_set(err, BP_ERR_SHAPE,
                            "backward: the output must be a scalar, not %s (use bp_backward_seed)",
                            bp_shape_str(out->shape, b, sizeof b));
    }
    const bp_real one = 1;
    return bp_backward_seed(t, out, &one, err);
}

static bool is_view(const bp_node *n)
{
    return n->op && n->op->view;
}

static void zero_grad(bp_node *n)
{
    memset(n->grad, 0, n->size * sizeof(bp_real));
}

/* A grad buffer for n: a released one of the same size (last released first: still in
 * cache), else new from the arena. */
static bool grad_get(bp_tape *t, bp_node *n)
{
    size_t bytes = n->size * sizeof(bp_real);
    n->grad = bp_pool_take(&t->pool, bytes);
    if (!n->grad)
        n->grad = bp_arena_alloc(&t->arena, bytes);
    return n->grad != NULL;
}

/* Give n's grad back for reuse. */
static void grad_put(bp_tape *t, bp_node *n)
{
    bp_pool_give(&t->pool, n->grad, n->size * sizeof(bp_real));
    n->grad = NULL;
}

/* Make x's grad ready to add into: a view's is its window of its input's (made ready
 * first); anyone else's is zeroed the first time in this walk (taken from the pool when
 * released). Leaves are the caller's and are left alone. */
static bool prepare(bp_tape *t, bp_node *x)
{
    if (is_view(x)) {
        bp_node *p = x->in[0];
        if (!prepare(t, p) || !p->grad)
            return false;
        x->grad = p->grad + (x->value - p->value);
        return true;
    }
    if (x->id < 0 || t->zeroed[x->id])
        return true;
    if (!x->grad && !grad_get(t, x))
        return false;
    zero_grad(x);
    t->zeroed[x->id] = 1;
    return true;
}

/* Whether x's gradient is also reached through another input of n than input k (the
 * same node, or a view of it): n may add into it there before it stores at input k. */
static bool shared_by_inputs(const bp_node *n, int k, const bp_node *x)
{
    for (int j = 0; j < n->op->n_in; j++) {
        const bp_node *y = n->in[j];
        while (is_view(y))
            y = y->in[0];
        if (j != k && y == x)
            return true;
    }
    return false;
}

/* prepare for n's input k, except that an input n's op writes whole (bp_op.grad_assign)
 * and that nothing has written yet is not zeroed: it is marked grad_fresh, and the op
 * stores into it. Not for a view (its buffer is a window of another's), an input whose
 * buffer another input of n also reaches (rnn_tanh(z, h, h): the bias's sum would be
 * stored over), or a swapped backward (a test's, which adds). */
static bool prepare_input(bp_tape *t, bp_node *n, int k)
{
    bp_node *x = n->in[k];
    if (!(n->op->grad_assign >> k & 1) || n->op == swap_op || is_view(x) || x->id < 0 ||
        t->zeroed[x->id] || shared_by_inputs(n, k, x))
        return prepare(t, x);
    if (!x->grad && !grad_get(t, x))
        return false;
    x->grad_fresh = true;
    t->zeroed[x->id] = 1;
    return true;
}

/* Gradients are zeroed just in time: a node's grad right before the first backward that
 * adds into it, directly or through a view of it (it is then still in cache when the
 * adding starts), so the walk touches each grad while it is hot rather than clearing
 * them all first. Nodes never reached are zeroed at the end, so every tape node's grad
 * is dL/d(node) as documented. Leaves are never zeroed here.
 * Releasing (keep_grads false): an op node's grad is taken from the pool when it is
 * zeroed and given back right after the node's own backward, its last reader. */
static bp_status walk(bp_tape *t, bp_node *out, const bp_real *dout, bp_error *err)
{
    if (!out || out->id < 0 || out->id >= t->len || t->nodes[out->id] != out)
        return bp_error_set(err, BP_ERR_VALUE, "backward: the output is not a node of this tape");
    if (!out->requires_grad)
        return BP_OK; /* nothing upstream takes a gradient */
    if (t->zeroed_cap < t->len) {
        unsigned char *z = realloc(t->zeroed, (size_t)t->cap);
        if (!z)
            return bp_error_set(err, BP_ERR_NOMEM, "backward: out of memory");
        t->zeroed = z;
        t->zeroed_cap = t->cap;
    }
    memset(t->zeroed, 0, (size_t)out->id + 1);
    /* The first walk of a recording with released grads skips this pass: its nodes were
     * recorded unreached, with no grad (an op node's comes just in time; a tape input's
     * and a leaf's were made with it, and bp_apply refuses a view of a leaf without
     * one). It touched every node once more: bench tape's chain of 1 x 1 ops, 112-129 ns
     * a node with it, 100-112 without; about 3% of a B = 1 step (bench tcurve). */
    bool fresh = t->release && !t->walked;
    t->walked = true;
    for (int i = 0; i <= out->id && !fresh; i++) {
        bp_node *n = t->nodes[i];
        n->reached = false;
        n->grad_fresh = false; /* a walk that failed may have left one set */
        if (!n->requires_grad)
            continue;
        if (is_view(n)) { /* kept grads: every view points into its input's from the start */
            if (!t->release && !n->in[0]->grad) /* a leaf's, taken away since the record */
                return bp_error_set(err, BP_ERR_VALUE, "backward: the input of view %s has no "
                                    "gradient buffer", n->op->name);
            if (!t->release)
                n->grad = n->in[0]->grad + (n->value - n->in[0]->value);
            continue;
        }
        /* kept grads are all allocated now; released ones just in time (tape inputs,
         * which keep theirs, now too) */
        if (!n->grad && (!t->release || !n->op) && !grad_get(t, n))
            return bp_error_set(err, BP_ERR_NOMEM, "backward: cannot allocate gradients");
    }
    if (!prepare(t, out))
        return bp_error_set(err, BP_ERR_NOMEM, "backward: cannot allocate gradients");
    for (size_t j = 0; j < out->size; j++)
        out->grad[j] += dout[j];
    out->reached = true;
    int unreached = 0; /* nodes that take a gradient the output does not reach */
    for (int i = out->id; i >= 0; i--) {
        bp_node *n = t->nodes[i];
        if (!n->requires_grad)
            continue;
        if (!n->reached) { /* final: only later nodes, walked already, reach it */
            unreached++;
            continue;
        }
        if (!n->op)
            continue;
        for (int k = 0; k < n->op->n_in; k++)
            if (n->in[k]->requires_grad && !prepare_input(t, n, k))
                return bp_error_set(err, BP_ERR_NOMEM, "backward: cannot allocate gradients");
        if (n->op == swap_op)
            swap_backward(n);
        else
            bp_defer_backward(&t->defer, n);
        for (int k = 0; k < n->op->n_in; k++)
            n->in[k]->reached = true;
        if (t->release) { /* nothing reads dL/dn any more */
            if (is_view(n))
                n->grad = NULL;
            else
                grad_put(t, n);
        }
    }
    for (int i = 0; i <= out->id && unreached; i++) { /* none, mostly: no pass */
        bp_node *n = t->nodes[i];
        if (!n->requires_grad || n->reached)
            continue;
        unreached--;
        if (t->release && is_view(n))
            n->grad = NULL;
        else if (t->release && n->op && n->grad) /* never reached: no gradient to keep */
            grad_put(t, n);
        else if (!is_view(n) && !t->zeroed[i] && n->grad)
            zero_grad(n);
    }
    return BP_OK;
}

/* The walk, then the deferred weight gradients summed (unless held across walks). */
bp_status bp_backward_seed(bp_tape *t, bp_node *out, const bp_real *dout, bp_error *err)
{
    bp_fp_scope fp = bp_fp_flush_begin(!t->keep_denormals);
    bp_defer_begin_walk(&t->defer);
    bp_status st = walk(t, out, dout, err);
    if (!t->defer.hold)
        bp_defer_flush(&t->defer);
    bp_fp_flush_end(fp);
    bp_defer_new_period(&t->defer); /* the weights may change now */
    return st;
}

