/* check_sampled.c — the element-by-element loop of every gradient check: the analytic
 * gradient from one backward pass of L = sum(w * out), then per chosen element the
 * central difference (L(x + eps) - L(x - eps)) / 2eps. With kink detection, the two
 * forwards' kink arguments (bptt_check.h) are compared, and an element whose perturbation
 * crosses a kink is counted apart instead of judged. */
#include "check_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct checker {
    bp_check_fn fn;
    void *ctx;
    bp_node *const *inputs;
    bp_tape *tape;
    bp_real *w;       /* projection of the output */
    size_t out_size;
    bool watch;       /* detect kink crossings */
    signed char *side; /* the + eps forward's side of every kink argument, in tape order */
    size_t n_side, cap_side;
} checker;

typedef struct kink_hit {
    int node;
    const bp_op *op;
    double kink;
} kink_hit;

static bp_status fn_failed(checker *c, bp_error *err)
{
    const bp_error *e = bp_tape_error(c->tape);
    return bp_error_set(err, e ? e->status : BP_ERR_VALUE, "gradcheck: %s",
                        e ? e->msg : "the function returned no output");
}

/* Run fn afresh and return L = sum(w * out), in double. */
static bp_status project(checker *c, double *loss, bp_error *err)
{
    bp_tape_reset(c->tape);
    bp_node *out = c->fn(c->tape, c->inputs, c->ctx);
    if (!out)
        return fn_failed(c, err);
    if (out->size != c->out_size)
        return bp_error_set(err, BP_ERR_SHAPE, "gradcheck: the output changed size between calls");
    double s = 0;
    for (size_t i = 0; i < out->size; i++)
        s += (double)c->w[i] * (double)out->value[i];
    *loss = s;
    return BP_OK;
}

static bool push_side(checker *c, signed char s)
{
    if (c->n_side == c->cap_side) {
        size_t cap = c->cap_side ? 2 * c->cap_side : 4096;
        signed char *p = realloc(c->side, cap);
        if (!p)
            return false;
        c->side = p;
        c->cap_side = cap;
    }
    c->side[c->n_side++] = s;
    return true;
}

/* Every kink argument on the tape, in order: record its side of each kink (record), or
 * compare with the recording. 1 and *hit at the first difference, 0 none, -1 no memory. */
static int walk(checker *c, bool record, kink_hit *hit)
{
    size_t pos = 0;
    if (record)
        c->n_side = 0;
    for (int i = 0; i < bp_tape_len(c->tape); i++) {
        const bp_node *n = bp_tape_node(c->tape, i);
        const bp_op_check *k = n->op ? &n->op->check : NULL;
        if (!k || k->n_kinks == 0)
            continue;
        int first = k->kink_arg ? -1 : 0, last = k->kink_arg ? -1 : n->op->n_in - 1;
        for (int in = first; in <= last; in++) {
            if (in >= 0 && (k->const_inputs & (1u << in)))
                continue;
            size_t m = in < 0 ? n->size : n->in[in]->size;
            for (size_t e = 0; e < m; e++) {
                double v = in < 0 ? k->kink_arg(n, e) : (double)n->in[in]->value[e];
                for (int q = 0; q < k->n_kinks; q++, pos++) {
                    signed char s = (signed char)((v > k->kinks[q]) - (v < k->kinks[q]));
                    if (record && !push_side(c, s))
                        return -1;
                    if (!record && (pos >= c->n_side || c->side[pos] != s)) {
                        *hit = (kink_hit){i, n->op, k->kinks[q]};
                        return 1;
                    }
                }
            }
        }
    }
    return 0;
}

/* One element's central difference; *crossed when watching and a kink lay between. */
static bp_status difference(checker *c, bp_real *x, size_t j, double eps, double *numeric,
                            bool *crossed, kink_hit *hit, bp_error *err)
{
    bp_real saved = x[j];
    double lp = 0, lm = 0;
    x[j] = (bp_real)(saved + eps);
    bp_status st = project(c, &lp, err);
    if (st == BP_OK && c->watch && walk(c, true, hit) < 0)
        st = bp_error_set(err, BP_ERR_NOMEM, "gradcheck: out of memory");
    x[j] = (bp_real)(saved - eps);
    if (st == BP_OK)
        st = project(c, &lm, err);
    *crossed = st == BP_OK && c->watch && walk(c, false, hit) == 1;
    x[j] = saved;
    *numeric = (lp - lm) / (2 * eps);
    return st;
}

/* Record one element's errors in r; true when it is within the tolerance. */
static bool judge(bp_check_result *r, size_t j, double a, double n, const bp_check_opts *o,
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
    return excess <= 0;
}

typedef struct ranked {
    double mag;
    size_t j;
} ranked;

/* Largest |gradient| first (NaN first of all: it must be seen), then by position. */
static int by_magnitude(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->mag != b->mag) {
        if (isnan(a->mag) || a->mag > b->mag)
            return -1;
        if (isnan(b->mag) || b->mag > a->mag)
            return 1;
    }
    return (a->j > b->j) - (a->j < b->j);
}

/* Which elements of an input of n to perturb, ascending, into idx[] (n entries): all,
 * or `sample` of them (the sample/4 largest |g|, the rest uniform). Returns how many,
 * 0 when out of memory. */
static size_t pick(const bp_real *g, size_t n, size_t sample, bp_rng *rng, size_t *idx)
{
    if (sample == 0 || sample >= n) {
        for (size_t j = 0; j < n; j++)
            idx[j] = j;
        return n;
    }
    ranked *r = malloc(n * sizeof *r);
    bool *mark = calloc(n, sizeof *mark);
    size_t top = sample / 4 ? sample / 4 : 1, got = 0;
    if (r && mark) {
        for (size_t j = 0; j < n; j++)
            r[j] = (ranked){fabs((double)g[j]), j};
        qsort(r, n, sizeof *r, by_magnitude);
        for (size_t t = 0; t < sample; t++) { /* a partial Fisher-Yates after the top */
            if (t >= top) {
                size_t u = t + bp_rng_below(rng, (uint32_t)(n - t < UINT32_MAX ? n - t : UINT32_MAX));
                ranked tmp = r[t];
                r[t] = r[u];
                r[u] = tmp;
            }
            mark[r[t].j] = true;
        }
        for (size_t j = 0; j < n; j++)
            if (mark[j])
                idx[got++] = j;
    }
    free(r);
    free(mark);
    return got;
}

static void note_kink(bp_check_stats *s, size_t j, const kink_hit *h, double a, double n)
{
    if (s->nonsmooth++)
        return;
    s->first_nonsmooth = j;
    s->kink_node = h->node;
    s->kink_op = h->op;
    s->kink = h->kink;
    s->kink_analytic = a;
    s->kink_numeric = n;
}

static bp_status check_input(checker *c, bp_node *in, const bp_real *analytic,
                             const bp_check_opts *o, size_t sample, bp_rng *rng,
                             bp_check_stats *s, bp_error *err)
{
    *s = (bp_check_stats){.result = {.ok = true}, .elements = in->size, .kink_node = -1};
    if (!in->requires_grad)
        return BP_OK;
    size_t *idx = malloc(in->size * sizeof *idx);
    size_t n = idx ? pick(analytic, in->size, sample, rng, idx) : 0;
    bp_status st = n ? BP_OK : bp_error_set(err, BP_ERR_NOMEM, "gradcheck: out of memory");
    double worst_excess = -INFINITY;
    for (size_t t = 0; st == BP_OK && t < n; t++) {
        size_t j = idx[t];
        double numeric;
        bool crossed;
        kink_hit hit;
        st = difference(c, in->value, j, o->eps, &numeric, &crossed, &hit, err);
        s->checked += st == BP_OK;
        if (st == BP_OK && crossed)
            note_kink(s, j, &hit, analytic[j], numeric);
        else if (st == BP_OK)
            s->failed += !judge(&s->result, j, analytic[j], numeric, o, &worst_excess);
    }
    free(idx);
    return st;
}

/* The analytic gradients: one backward pass of L = sum(w * out), copied per input. */
static bp_status analytic_grads(checker *c, int n_inputs, uint64_t seed, bp_real **analytic,
                                bp_error *err)
{
    bp_node *const *inputs = c->inputs;
    bp_node *out = c->fn(c->tape, inputs, c->ctx);
    if (!out)
        return fn_failed(c, err);
    c->out_size = out->size;
    if (!(c->w = malloc(out->size * sizeof *c->w)))
        return bp_error_set(err, BP_ERR_NOMEM, "gradcheck: out of memory");
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    if (out->size == 1)
        c->w[0] = 1;
    else
        bp_fill_uniform(c->w, out->size, -1, 1, &rng);
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i]->requires_grad)
            memset(inputs[i]->grad, 0, inputs[i]->size * sizeof(bp_real));
    bp_status st = bp_backward_seed(c->tape, out, c->w, err);
    for (int i = 0; st == BP_OK && i < n_inputs; i++) {
        if (!inputs[i]->requires_grad)
            continue;
        if (!(analytic[i] = malloc(inputs[i]->size * sizeof(bp_real))))
            return bp_error_set(err, BP_ERR_NOMEM, "gradcheck: out of memory");
        memcpy(analytic[i], inputs[i]->grad, inputs[i]->size * sizeof(bp_real));
    }
    return st;
}

bp_status bp_check_run(bp_check_fn fn, void *ctx, bp_node *const inputs[], int n_inputs,
                       const bp_check_opts *o, size_t sample, bool kinks, bp_check_stats stats[],
                       bool *all_ok, bp_error *err)
{
    checker c = {.fn = fn, .ctx = ctx, .inputs = inputs, .tape = bp_tape_new(), .watch = kinks};
    bp_real **analytic = calloc((size_t)n_inputs + 1, sizeof *analytic);
    bp_status st = c.tape && analytic ? analytic_grads(&c, n_inputs, o->seed, analytic, err)
                                      : bp_error_set(err, BP_ERR_NOMEM, "gradcheck: out of memory");
    bp_rng rng; /* the sample's own stream, apart from the projection's */
    bp_rng_seed(&rng, o->seed ^ 0x5a3c5a3c5a3c5a3cULL);
    *all_ok = st == BP_OK;
    for (int i = 0; st == BP_OK && i < n_inputs; i++) {
        st = check_input(&c, inputs[i], analytic[i], o, sample, &rng, &stats[i], err);
        *all_ok &= stats[i].result.ok;
    }
    for (int i = 0; analytic && i < n_inputs; i++)
        free(analytic[i]);
    free(analytic);
    free(c.w);
    free(c.side);
    bp_tape_free(c.tape);
    if (st != BP_OK)
        *all_ok = false;
    return st;
}

bp_status bp_gradcheck_sampled(bp_check_fn fn, void *ctx, bp_node *const inputs[], int n_inputs,
                               const bp_check_sample_opts *opts, bp_check_stats stats[],
                               bool *all_ok, bp_error *err)
{
    bp_check_opts o = bp_check_resolve(opts ? &opts->check : NULL);
    return bp_check_run(fn, ctx, inputs, n_inputs, &o, opts ? opts->sample : 0, true, stats,
                        all_ok, err);
}
