/* gradcheck.c — compare the tape's gradients with central finite differences.
 *
 * For an output y = f(x) the checker uses the scalar L = sum(w * y) with a fixed
 * random w (w = 1 for a scalar y), so one backward pass gives dL/dx for every
 * element, and each element is checked against (L(x + eps) - L(x - eps)) / 2eps.
 * Run it in the double build: in float the differences drown in rounding. */
#include "bptt_graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef BP_DOUBLE
static const bp_check_opts defaults = {.eps = 1e-6, .atol = 1e-5, .rtol = 1e-3, .seed = 12345};
#else
static const bp_check_opts defaults = {.eps = 1e-2, .atol = 1e-2, .rtol = 5e-2, .seed = 12345};
#endif

static bp_check_opts resolve(const bp_check_opts *o)
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

typedef struct checker {
    bp_check_fn fn;
    void *ctx;
    bp_node *const *inputs;
    bp_tape *tape;
    bp_real *w;     /* projection of the output */
    size_t out_size;
} checker;

/* Run fn afresh and return L = sum(w * out), in double. */
static bp_status project(checker *c, double *loss, bp_error *err)
{
    bp_tape_reset(c->tape);
    bp_node *out = c->fn(c->tape, c->inputs, c->ctx);
    if (!out) {
        const bp_error *e = bp_tape_error(c->tape);
        return bp_error_set(err, e ? e->status : BP_ERR_VALUE, "gradcheck: %s",
                            e ? e->msg : "the function returned no output");
    }
    if (out->size != c->out_size)
        return bp_error_set(err, BP_ERR_SHAPE, "gradcheck: the output changed size between calls");
    double s = 0;
    for (size_t i = 0; i < out->size; i++)
        s += (double)c->w[i] * (double)out->value[i];
    *loss = s;
    return BP_OK;
}

static void judge(bp_check_result *r, size_t j, double a, double n, const bp_check_opts *o,
                  double *worst_excess)
{
    double diff = fabs(a - n);
    double rel = diff / fmax(fabs(n), o->atol);
    double excess = diff - (o->atol + o->rtol * fabs(n));
    if (diff > r->max_abs || isnan(diff)) r->max_abs = diff;
    if (rel > r->max_rel || isnan(rel)) r->max_rel = rel;
    if (isnan(excess))
        excess = INFINITY; /* a NaN is the worst miss there is */
    if (excess > *worst_excess) {
        *worst_excess = excess;
        r->worst = j;
        r->analytic = a;
        r->numeric = n;
    }
    if (!(excess <= 0)) /* NaN fails too */
        r->ok = false;
}

bp_status bp_gradcheck(bp_check_fn fn, void *ctx, bp_node *const inputs[], int n_inputs,
                       const bp_check_opts *opts, bp_check_result result[], bool *all_ok,
                       bp_error *err)
{
    bp_check_opts o = resolve(opts);
    checker c = {.fn = fn, .ctx = ctx, .inputs = inputs, .tape = bp_tape_new()};
    bp_real **analytic = calloc((size_t)n_inputs, sizeof *analytic);
    bp_status st = BP_OK;
    *all_ok = true;
    if (!c.tape || !analytic) {
        st = bp_error_set(err, BP_ERR_NOMEM, "gradcheck: out of memory");
        goto done;
    }

    /* Analytic gradients: one backward pass of L = sum(w * out). */
    bp_node *out = fn(c.tape, inputs, ctx);
    if (!out) {
        const bp_error *e = bp_tape_error(c.tape);
        st = bp_error_set(err, e ? e->status : BP_ERR_VALUE, "gradcheck: %s",
                          e ? e->msg : "the function returned no output");
        goto done;
    }
    c.out_size = out->size;
    c.w = malloc(out->size * sizeof *c.w);
    if (!c.w) {
        st = bp_error_set(err, BP_ERR_NOMEM, "gradcheck: out of memory");
        goto done;
    }
    bp_rng rng;
    bp_rng_seed(&rng, o.seed);
    if (out->size == 1)
        c.w[0] = 1;
    else
        bp_fill_uniform(c.w, out->size, -1, 1, &rng);
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i]->requires_grad)
            memset(inputs[i]->grad, 0, inputs[i]->size * sizeof(bp_real));
    if ((st = bp_backward_seed(c.tape, out, c.w, err)) != BP_OK)
        goto done;
    for (int i = 0; i < n_inputs; i++) {
        if (!inputs[i]->requires_grad)
            continue;
        analytic[i] = malloc(inputs[i]->size * sizeof(bp_real));
        if (!analytic[i]) {
            st = bp_error_set(err, BP_ERR_NOMEM, "gradcheck: out of memory");
            goto done;
        }
        memcpy(analytic[i], inputs[i]->grad, inputs[i]->size * sizeof(bp_real));
    }

    /* Numeric gradients, element by element. */
    for (int i = 0; i < n_inputs; i++) {
        bp_check_result *r = &result[i];
        *r = (bp_check_result){.ok = true};
        if (!inputs[i]->requires_grad)
            continue;
        double worst_excess = -INFINITY;
        bp_real *x = inputs[i]->value;
        for (size_t j = 0; j < inputs[i]->size; j++) {
            bp_real saved = x[j];
            double lp, lm;
            x[j] = (bp_real)(saved + o.eps);
            st = project(&c, &lp, err);
            x[j] = (bp_real)(saved - o.eps);
            if (st == BP_OK)
                st = project(&c, &lm, err);
            x[j] = saved;
            if (st != BP_OK)
                goto done;
            double numeric = (lp - lm) / (2 * o.eps);
            judge(r, j, analytic[i][j], numeric, &o, &worst_excess);
        }
        *all_ok &= r->ok;
    }
done:
    if (analytic)
        for (int i = 0; i < n_inputs; i++)
            free(analytic[i]);
    free(analytic);
    free(c.w);
    bp_tape_free(c.tape);
    if (st != BP_OK)
        *all_ok = false;
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
