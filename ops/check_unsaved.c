/* check_unsaved.c — bp_op.unsaved checked: each value an op declares its backward never
 * reads is overwritten between forward and backward, alone, with NaN and then with a
 * plain number (for a backward that only compares it; a constant input such as class
 * ids is drawn again instead), and no gradient bit may change.
 * A declaration that is wrong would let a training step's tape recycle a buffer the
 * backward still reads (bp_tape_release_value): wrong gradients, silently. */
#include "bptt_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Overwrite x, value `which` of op, with poison p: NaN (0) or 0.37 (1); a constant input
 * (class ids, which NaN would turn into an index out of range) is drawn again instead,
 * as op->check fills it, from another seed. */
static void poison(const bp_op *op, const bp_check_case *c, int which, bp_node *x, int p)
{
    const bp_op_check *k = &op->check;
    if (which < op->n_in && k->const_inputs >> which & 1 && k->fill_const) {
        bp_rng rng;
        bp_rng_seed(&rng, 0x9e3779b97f4a7c15ull + (uint64_t)p);
        k->fill_const(which, x, c, &rng);
        return;
    }
    for (size_t j = 0; j < x->size; j++)
        x->value[j] = p ? (bp_real)0.37 : (bp_real)NAN;
}

/* The gradients of the inputs that take one (concatenated into g) after y = op(in) and
 * backward from dout, with value `which` (input i; BP_MAX_INPUTS: the output; -1: none)
 * overwritten with poison p between the two. */
static bp_status grads_after(const bp_op *op, const bp_check_case *c, bp_node *const in[],
                             const bp_real *dout, int which, int p, bp_real *g, bp_error *err)
{
    bp_tape *t = bp_tape_new();
    bp_node *x = NULL; /* the value overwritten */
    bp_real *kept = NULL;
    bp_status st = BP_ERR_NOMEM;
    if (!t)
        return bp_error_set(err, st, "unsaved check: out of memory");
    for (int i = 0; i < op->n_in; i++)
        if (in[i]->grad)
            memset(in[i]->grad, 0, in[i]->size * sizeof(bp_real));
    bp_node *y = bp_apply(t, op, in, c->attr);
    if (!y) {
        st = bp_error_set(err, bp_tape_error(t)->status, "%s", bp_tape_error(t)->msg);
        goto done;
    }
    x = which == BP_MAX_INPUTS ? y : which >= 0 ? in[which] : NULL;
    if (x) {
        if (!(kept = malloc(x->size * sizeof(bp_real)))) {
            st = bp_error_set(err, st, "unsaved check: out of memory");
            goto done;
        }
        memcpy(kept, x->value, x->size * sizeof(bp_real));
        poison(op, c, which, x, p);
    }
    if ((st = bp_backward_seed(t, y, dout, err)) != BP_OK)
        goto done;
    for (int i = 0; i < op->n_in; i++)
        if (in[i]->grad) {
            memcpy(g, in[i]->grad, in[i]->size * sizeof(bp_real));
            g += in[i]->size;
        }
done:
    if (kept && x != y) /* an input is the caller's: as it was */
        memcpy(x->value, kept, x->size * sizeof(bp_real));
    free(kept);
    bp_tape_free(t);
    return st;
}

bp_status bp_check_unsaved(const bp_op *op, const bp_check_case *c, uint64_t seed, int *read,
                           bp_error *err)
{
    *read = -1;
    const bp_op_check *k = &op->check;
    bp_node *in[BP_MAX_INPUTS] = {0};
    bp_real *dout = NULL, *ref = NULL, *got = NULL;
    bp_status st = BP_OK;
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    size_t n = 0;
    for (int i = 0; i < op->n_in && st == BP_OK; i++) {
        bool is_const = k->const_inputs >> i & 1;
        if (!(in[i] = bp_leaf_new(c->in_shape[i], !is_const, err))) {
            st = err ? err->status : BP_ERR_NOMEM;
            break;
        }
        if (is_const && k->fill_const)
            k->fill_const(i, in[i], c, &rng);
        else
            bp_fill_uniform(in[i]->value, in[i]->size, k->lo, k->hi, &rng);
        n += is_const ? 0 : in[i]->size; /* the gradients compared */
    }
    if (st != BP_OK || !op->unsaved)
        goto done;
    { /* dL/dy drawn once, of y's size */
        bp_tape *t = bp_tape_new();
        bp_node *y = t ? bp_apply(t, op, in, c->attr) : NULL;
        if (y && (dout = malloc(y->size * sizeof(bp_real))))
            bp_fill_uniform(dout, y->size, -1, 1, &rng);
        if (!dout)
            st = t && bp_tape_error(t) ? bp_error_set(err, bp_tape_error(t)->status, "%s",
                                                      bp_tape_error(t)->msg)
                                       : bp_error_set(err, BP_ERR_NOMEM, "unsaved check: out "
                                                      "of memory");
        bp_tape_free(t);
    }
    if (st != BP_OK)
        goto done;
    ref = malloc((n ? n : 1) * sizeof(bp_real));
    got = malloc((n ? n : 1) * sizeof(bp_real));
    if (!ref || !got) {
        st = bp_error_set(err, BP_ERR_NOMEM, "unsaved check: out of memory");
        goto done;
    }
    if ((st = grads_after(op, c, in, dout, -1, 0, ref, err)) != BP_OK)
        goto done;
    for (int v = 0; v <= BP_MAX_INPUTS && *read < 0; v++) {
        bool declared = v == BP_MAX_INPUTS ? op->unsaved & BP_UNSAVED_OUT && !op->view
                                           : v < op->n_in && op->unsaved >> v & 1;
        for (int p = 0; declared && p < 2 && *read < 0; p++) {
            if ((st = grads_after(op, c, in, dout, v, p, got, err)) != BP_OK)
                goto done;
            if (memcmp(ref, got, n * sizeof(bp_real)))
                *read = v;
        }
    }
done:
    free(ref);
    free(got);
    free(dout);
    for (int i = 0; i < op->n_in; i++)
        bp_leaf_free(in[i]);
    return st;
}
