/* gradcheck.c — compare the tape's gradients with central finite differences.
 *
 * For an output y = f(x) the checker uses the scalar L = sum(w * y) with a fixed
 * random w (w = 1 for a scalar y), so one backward pass gives dL/dx for every
 * element, and each element is checked against (L(x + eps) - L(x - eps)) / 2eps.
 * Run it in the double build: in float the differences drown in rounding. */
#include "check_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef BP_DOUBLE
static const bp_check_opts defaults = {.eps = 1e-6, .atol = 1e-5, .rtol = 1e-3, .seed = 12345};
#else
static const bp_check_opts defaults = {.eps = 1e-2, .atol = 1e-2, .rtol = 5e-2, .seed = 12345};
#endif

bp_check_opts bp_check_resolve(const bp_check_opts *o)
{
    bp_check_opts r = defaults;
    if (o) {
        if (o->eps > 0) r.eps = o->eps;
        if (o->atol > 0) r.atol = o->atol;
        if (o->rtol > 0) r.rtol = o->rtol;
        if (o->seed) r.seed = o->seed;
    }
    return r;
}

/* Every element judged, no kink detection: the op-level check keeps its samples away
 * from the kinks itself. */
bp_status bp_gradcheck(bp_check_fn fn, void *ctx, bp_node *const inputs[], int n_inputs,
                       const bp_check_opts *opts, bp_check_result result[], bool *all_ok,
                       bp_error *err)
{
    bp_check_opts o = bp_check_resolve(opts);
    bp_check_stats *stats = calloc((size_t)n_inputs + 1, sizeof *stats);
    if (!stats) {
        *all_ok = false;
        return bp_error_set(err, BP_ERR_NOMEM, "gradcheck: out of memory");
    }
    bp_status st = bp_check_run(fn, ctx, inputs, n_inputs, &o, 0, false, stats, all_ok, err);
    for (int i = 0; i < n_inputs; i++)
        result[i] = stats[i].result;
    free(stats);
    return st;
}

typedef struct op_ctx {
    const bp_op *op;
    const double *attr;
} op_ctx;

static bp_node *apply_op(bp_tape *t, bp_node *const in[], void *ctx)
{
    op_ctx *c = ctx;
    return bp_apply(t, c->op, in, c->attr);
}

/* Draw U[lo, hi] values at least `margin` away from every kink. */
static void fill_smooth(bp_node *x, const bp_op_check *k, bp_rng *rng)
{
    const double margin = 1e-2;
    for (size_t j = 0; j < x->size; j++) {
        double v;
        bool near;
        int tries = 0;
        do {
            v = k->lo + (k->hi - k->lo) * bp_rng_uniform(rng);
            near = false;
            for (int q = 0; q < k->n_kinks; q++)
                near |= fabs(v - k->kinks[q]) < margin;
        } while (near && ++tries < 1000);
        x->value[j] = (bp_real)v;
    }
}

bp_status bp_gradcheck_op(const bp_op *op, const bp_check_case *c, uint64_t seed,
                          const bp_check_opts *opts, bp_check_result result[BP_MAX_INPUTS],
                          bool *all_ok, bp_error *err)
{
    const bp_op_check *k = &op->check;
    bp_node *in[BP_MAX_INPUTS] = {0};
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    bp_status st = BP_OK;
    *all_ok = false;
    for (int i = 0; i < op->n_in; i++) {
        bool is_const = k->const_inputs & (1u << i);
        in[i] = bp_leaf_new(c->in_shape[i], !is_const, err);
        if (!in[i]) {
            st = err ? err->status : BP_ERR_NOMEM;
            goto done;
        }
        if (is_const && k->fill_const)
            k->fill_const(i, in[i], c, &rng);
        else
            fill_smooth(in[i], k, &rng);
    }
    bp_check_opts o = opts ? *opts : (bp_check_opts){0};
    if (!(o.atol > 0) && k->atol > 0) o.atol = k->atol;
    if (!(o.rtol > 0) && k->rtol > 0) o.rtol = k->rtol;
    op_ctx ctx = {op, c->attr};
    st = bp_gradcheck(apply_op, &ctx, in, op->n_in, &o, result, all_ok, err);
done:
    for (int i = 0; i < op->n_in; i++)
        bp_leaf_free(in[i]);
    return st;
}
