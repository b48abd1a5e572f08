/* optim.c — SGD (momentum, Nesterov), RMSprop, Adam and AdamW with PyTorch's update rules;
 * the step: finiteness check, clipping, update, zeroed grads. No allocation per step. */
#include "bptt_optim.h"

#include <tgmath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bp_optim {
    bp_optim_config c;
    bp_params *params;
    int n_params;
    long steps;
    double lr_scale;     /* the plateau schedule's reductions so far (1: none) */
    double plateau_best; /* its best validation loss, and evaluations since */
    int plateau_bad;
    bool *decays;        /* [n_params]: weight_decay applies to it (c.decay) */
    int per_param;   /* state leaves per parameter: 0 (plain SGD), 1 or 2 (Adam) */
    bp_node **state; /* [per_param * n_params]: state[s * n_params + k] for param k */
};

static bp_node *state_leaf(const char *prefix, const bp_node *param, bp_error *err)
{
    bp_node *n = bp_leaf_new(param->shape, false, err);
    if (!n)
        return NULL;
    size_t len = strlen(prefix) + strlen(param->name) + 2;
    char *name = malloc(len);
    if (!name) {
        bp_leaf_free(n);
        bp_error_set(err, BP_ERR_NOMEM, "optimizer: cannot allocate a state name");
        return NULL;
    }
    snprintf(name, len, "%s.%s", prefix, param->name);
    n->name = name;
    return n;
}

bp_optim *bp_optim_new(const bp_optim_config *c, bp_params *params, bp_error *err)
{
    if (bp_optim_config_check(c, err) != BP_OK)
        return NULL;
    if (!params || bp_params_count(params) == 0) {
        bp_error_set(err, BP_ERR_VALUE, "optimizer: there are no parameters to optimize");
        return NULL;
    }
    bp_optim *o = calloc(1, sizeof *o);
    if (!o) {
        bp_error_set(err, BP_ERR_NOMEM, "optimizer: out of memory");
        return NULL;
    }
    o->c = *c;
    o->params = params;
    o->n_params = bp_params_count(params);
    const char *prefix[2] = {NULL, NULL};
    switch (c->kind) {
    case BP_OPT_SGD:
        if (c->momentum > 0)
            prefix[0] = "sgd.momentum";
        break;
    case BP_OPT_RMSPROP: prefix[0] = "rmsprop.square_avg"; break;
    case BP_OPT_ADAM:
    case BP_OPT_ADAMW:
        prefix[0] = "adam.m";
        prefix[1] = "adam.v";
        break;
    case BP_OPT_COUNT: break;
    }
    o->lr_scale = 1;
    o->plateau_best = INFINITY;
    if (!(o->decays = calloc((size_t)o->n_params, sizeof *o->decays))) {
        free(o);
        bp_error_set(err, BP_ERR_NOMEM, "optimizer: out of memory");
        return NULL;
    }
    for (int k = 0; k < o->n_params; k++)
        o->decays[k] = c->decay == BP_DECAY_ALL || bp_params_at(params, k)->shape.ndim >= 2;
    o->per_param = prefix[1] ? 2 : prefix[0] ? 1 : 0;
    if (o->per_param) {
        o->state = calloc((size_t)o->per_param * (size_t)o->n_params, sizeof *o->state);
        if (!o->state) {
            free(o->decays);
            free(o);
            bp_error_set(err, BP_ERR_NOMEM, "optimizer: out of memory");
            return NULL;
        }
    }
    for (int s = 0; s < o->per_param; s++)
        for (int k = 0; k < o->n_params; k++) {
            bp_node *leaf = state_leaf(prefix[s], bp_params_at(params, k), err);
            if (!leaf) {
                bp_optim_free(o);
                return NULL;
            }
            o->state[s * o->n_params + k] = leaf;
        }
    return o;
}

void bp_optim_free(bp_optim *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->per_param * o->n_params; i++)
        if (o->state[i]) {
            free((char *)o->state[i]->name);
            bp_leaf_free(o->state[i]);
        }
    free(o->state);
    free(o->decays);
    free(o);
}

const bp_optim_config *bp_optim_config_of(const bp_optim *o)
{
    return &o->c;
}

long bp_optim_steps_done(const bp_optim *o)
{
    return o->steps;
}

void bp_optim_set_steps_done(bp_optim *o, long steps)
{
    o->steps = steps < 0 ? 0 : steps;
}

int bp_optim_state_count(const bp_optim *o)
{
    return o->per_param * o->n_params;
}

bp_node *bp_optim_state_at(const bp_optim *o, int i)
{
    return i >= 0 && i < bp_optim_state_count(o) ? o->state[i] : NULL;
}

bp_node *bp_optim_state_find(const bp_optim *o, const char *name)
{
    for (int i = 0; i < bp_optim_state_count(o); i++)
        if (strcmp(o->state[i]->name, name) == 0)
            return o->state[i];
    return NULL;
}

/* The first NaN or Inf among the loss and the grads, as an error naming the step
 * (numbered from 1), the parameter and the element. */
static bp_status check_finite(const bp_optim *o, double loss, bp_error *err)
{
    long step = o->steps + 1;
    if (!isfinite(loss))
        return bp_error_set(err, BP_ERR_NONFINITE, "step %ld: loss is %s", step,
                            isnan(loss) ? "NaN" : loss > 0 ? "+Inf" : "-Inf");
    for (int k = 0; k < o->n_params; k++) {
        const bp_node *q = bp_params_at(o->params, k);
        for (size_t i = 0; i < q->size; i++)
            if (!isfinite(q->grad[i])) {
                char s[64];
                return bp_error_set(err, BP_ERR_NONFINITE,
                                    "step %ld: gradient of %s %s has %s at element %zu", step,
                                    q->name, bp_shape_str(q->shape, s, sizeof s),
                                    isnan(q->grad[i]) ? "NaN" : q->grad[i] > 0 ? "+Inf" : "-Inf",
                                    i);
            }
    }
    return BP_OK;
}

/* The updates compute in bp_real, as PyTorch does in the parameter's dtype, in its order
 * of operations and with its constants: a Python float such as 1 - beta2 is computed in
 * double and rounded once to the dtype (1 - fl(0.999) would be 0.00099998713 in float,
 * against fl(0.001)). The constants are hoisted, so each loop vectorises. wd is 0 for a
 * parameter that does not decay. */

/* SGD (torch.optim.SGD, dampening 0), g already including weight decay:
 *   b <- mu b + g;  d = g + mu b (Nesterov) or b;  p <- p - lr d      (mu = 0: d = g) */
static void sgd_update(const bp_optim *o, bp_node *p, bp_node *buf, double lr, double wd_)
{
    const bp_real mu = (bp_real)o->c.momentum, wd = (bp_real)wd_;
    const bp_real rate = (bp_real)lr;
    bp_real *restrict w = p->value;
    const bp_real *restrict dw = p->grad;
    for (size_t i = 0; i < p->size; i++) {
        bp_real g = dw[i] + wd * w[i];
        bp_real d = g;
        if (buf) {
            bp_real b = mu * buf->value[i] + g;
            buf->value[i] = b;
            d = o->c.nesterov ? g + mu * b : b;
        }
        w[i] -= rate * d;
    }
}

/* RMSprop (torch.optim.RMSprop, not centered, no momentum):
 *   v <- a v + (1 - a) g^2;  p <- p - lr (g / (sqrt(v) + eps)) */
static void rmsprop_update(const bp_optim *o, bp_node *p, bp_node *v, double lr, double wd_)
{
    const bp_real a = (bp_real)o->c.alpha, one_a = (bp_real)(1 - o->c.alpha);
    const bp_real eps = (bp_real)o->c.eps, wd = (bp_real)wd_, rate = (bp_real)lr;
    bp_real *restrict w = p->value, *restrict vv = v->value;
    const bp_real *restrict dw = p->grad;
    for (size_t i = 0; i < p->size; i++) {
        bp_real g = dw[i] + wd * w[i];
        bp_real vi = vv[i] * a + one_a * g * g;
        vv[i] = vi;
        w[i] -= rate * (g / (sqrt(vi) + eps));
    }
}

/* Adam and AdamW (torch.optim.Adam / AdamW, not amsgrad), at step t:
 *   AdamW: p <- p (1 - lr wd);  Adam: g <- g + wd p
 *   m <- lerp(m, g, 1 - b1);  v <- b2 v + (1 - b2) g^2
 *   p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
static void adam_update(const bp_optim *o, bp_node *p, bp_node *m, bp_node *v, double lr,
                        long t, double wd_)
{
    bool decoupled = o->c.kind == BP_OPT_ADAMW;
    double bc1 = 1 - pow(o->c.beta1, (double)t), bc2 = 1 - pow(o->c.beta2, (double)t);
    const bp_real b2 = (bp_real)o->c.beta2, one_b2 = (bp_real)(1 - o->c.beta2);
    const bp_real w1 = (bp_real)(1 - o->c.beta1), w1c = 1 - w1; /* lerp's weight */
    const bp_real eps = (bp_real)o->c.eps, wd = decoupled ? 0 : (bp_real)wd_;
    const bp_real shrink = (bp_real)(1 - lr * wd_);
    const bp_real neg_step = (bp_real)(-(lr / bc1)), bc2_sqrt = (bp_real)sqrt(bc2);
    bp_real *restrict w = p->value, *restrict mm = m->value, *restrict vv = v->value;
    const bp_real *restrict dw = p->grad;
    if (decoupled && wd_ > 0)
        for (size_t i = 0; i < p->size; i++)
            w[i] *= shrink;
    for (size_t i = 0; i < p->size; i++) {
        bp_real g = dw[i] + wd * w[i];
        /* ATen's lerp: the formula that is exact at its nearer end */
        bp_real mi = w1 < (bp_real)0.5 ? mm[i] + w1 * (g - mm[i]) : g - (g - mm[i]) * w1c;
        bp_real vi = vv[i] * b2 + one_b2 * g * g;
        mm[i] = mi;
        vv[i] = vi;
        w[i] += neg_step * (mi / (sqrt(vi) / bc2_sqrt + eps));
    }
}

bool bp_optim_observe(bp_optim *o, double val_loss)
{
    if (o->c.schedule != BP_LR_PLATEAU || !isfinite(val_loss))
        return false;
    /* torch's ReduceLROnPlateau, mode min, threshold_mode rel, cooldown 0 */
    if (val_loss < o->plateau_best * (1 - o->c.plateau_threshold)) {
        o->plateau_best = val_loss;
        o->plateau_bad = 0;
        return false;
    }
    if (++o->plateau_bad <= o->c.plateau_patience)
        return false;
    o->plateau_bad = 0;
    double floor = o->c.lr_min / o->c.lr, scale = o->lr_scale * o->c.plateau_factor;
    scale = scale < floor ? floor : scale;
    if (o->c.lr * (o->lr_scale - scale) <= 1e-8) /* torch's eps on the lr */
        return false;
    o->lr_scale = scale;
    return true;
}

double bp_optim_lr_scale(const bp_optim *o) { return o->lr_scale; }

double bp_optim_lr(const bp_optim *o)
{
    return bp_lr_at(&o->c, o->steps) * o->lr_scale;
}

void bp_optim_plateau_state(const bp_optim *o, double out[3])
{
    out[0] = o->lr_scale;
    out[1] = o->plateau_best;
    out[2] = (double)o->plateau_bad;
}

bool bp_optim_set_plateau_state(bp_optim *o, const double in[3])
{
    if (!(in[0] > 0 && in[0] <= 1) || isnan(in[1]) || !(in[2] >= 0 && in[2] <= 1e9) ||
        in[2] != floor(in[2]))
        return false;
    o->lr_scale = in[0];
    o->plateau_best = in[1];
    o->plateau_bad = (int)in[2];
    return true;
}

bp_status bp_optim_step(bp_optim *o, double loss, bp_step_info *info, bp_error *err)
{
    if (bp_params_count(o->params) != o->n_params)
        return bp_error_set(err, BP_ERR_VALUE,
                            "optimizer: the parameter set changed from %d to %d parameters "
                            "after the optimizer was made",
                            o->n_params, bp_params_count(o->params));
    bp_status st = check_finite(o, loss, err);
    if (st != BP_OK)
        return st;
    bool clipped = false;
    double norm = bp_grad_global_norm(o->params);
    /* value clip first, then the norm clip, so that with both set a norm above
     * clip_norm still ends exactly at clip_norm */
    if (o->c.clip_value > 0)
        clipped |= bp_clip_grad_value(o->params, o->c.clip_value);
    if (o->c.clip_norm > 0)
        clipped |= bp_clip_grad_global_norm(o->params, o->c.clip_norm, NULL);
    double lr = bp_optim_lr(o);
    long t = o->steps + 1;
    for (int k = 0; k < o->n_params; k++) {
        bp_node *p = bp_params_at(o->params, k);
        bp_node *s0 = o->per_param > 0 ? o->state[k] : NULL;
        bp_node *s1 = o->per_param > 1 ? o->state[o->n_params + k] : NULL;
        double wd = o->decays[k] ? o->c.weight_decay : 0;
        switch (o->c.kind) {
        case BP_OPT_SGD: sgd_update(o, p, s0, lr, wd); break;
        case BP_OPT_RMSPROP: rmsprop_update(o, p, s0, lr, wd); break;
        case BP_OPT_ADAM:
        case BP_OPT_ADAMW: adam_update(o, p, s0, s1, lr, t, wd); break;
        case BP_OPT_COUNT: break;
        }
    }
    o->steps = t;
    bp_params_zero_grad(o->params);
    if (info)
        *info = (bp_step_info){.grad_norm = norm, .clipped = clipped, .lr = lr};
    return BP_OK;
}
