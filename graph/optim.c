/* optim.c — SGD (momentum, Nesterov), RMSprop and Adam with PyTorch's update rules;
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
        prefix[0] = "adam.m";
        prefix[1] = "adam.v";
        break;
    }
    o->per_param = prefix[1] ? 2 : prefix[0] ? 1 : 0;
    if (o->per_param) {
        o->state = calloc((size_t)o->per_param * (size_t)o->n_params, sizeof *o->state);
        if (!o->state) {
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

/* The updates compute in bp_real, as PyTorch does in the parameter's dtype; the
 * constants are hoisted, so each loop vectorises. */

/* SGD (torch.optim.SGD, dampening 0), g already including weight decay:
 *   b <- mu b + g;  d = g + mu b (Nesterov) or b;  p <- p - lr d      (mu = 0: d = g) */
static void sgd_update(const bp_optim *o, bp_node *p, bp_node *buf, double lr)
{
    const bp_real mu = (bp_real)o->c.momentum, wd = (bp_real)o->c.weight_decay;
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
 *   v <- a v + (1 - a) g^2;  p <- p - lr g / (sqrt(v) + eps) */
static void rmsprop_update(const bp_optim *o, bp_node *p, bp_node *v, double lr)
{
    const bp_real a = (bp_real)o->c.alpha, eps = (bp_real)o->c.eps;
    const bp_real wd = (bp_real)o->c.weight_decay, rate = (bp_real)lr;
    bp_real *restrict w = p->value, *restrict vv = v->value;
    const bp_real *restrict dw = p->grad;
    for (size_t i = 0; i < p->size; i++) {
        bp_real g = dw[i] + wd * w[i];
        bp_real vi = a * vv[i] + (1 - a) * g * g;
        vv[i] = vi;
        w[i] -= rate * g / (sqrt(vi) + eps);
    }
}

static void adam_update(const bp_optim *o, bp_node *p, bp_node *m, bp_node *v, double lr,
                        long t)
{
    double bc1 = 1 - pow(o->c.beta1, (double)t), bc2 = 1 - pow(o->c.beta2, (double)t);
    const bp_real b1 = (bp_real)o->c.beta1, b2 = (bp_real)o->c.beta2;
    const bp_real eps = (bp_real)o->c.eps, wd = (bp_real)o->c.weight_decay;
    const bp_real step_size = (bp_real)(lr / bc1), inv_sqrt_bc2 = (bp_real)(1 / sqrt(bc2));
    bp_real *restrict w = p->value, *restrict mm = m->value, *restrict vv = v->value;
    const bp_real *restrict dw = p->grad;
    for (size_t i = 0; i < p->size; i++) {
        bp_real g = dw[i] + wd * w[i];
        bp_real mi = b1 * mm[i] + (1 - b1) * g;
        bp_real vi = b2 * vv[i] + (1 - b2) * g * g;
        mm[i] = mi;
        vv[i] = vi;
        w[i] -= step_size * mi / (sqrt(vi) * inv_sqrt_bc2 + eps);
    }
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
    double lr = bp_lr_at(&o->c, o->steps);
    long t = o->steps + 1;
    for (int k = 0; k < o->n_params; k++) {
        bp_node *p = bp_params_at(o->params, k);
        bp_node *s0 = o->per_param > 0 ? o->state[k] : NULL;
        bp_node *s1 = o->per_param > 1 ? o->state[o->n_params + k] : NULL;
        switch (o->c.kind) {
        case BP_OPT_SGD: sgd_update(o, p, s0, lr); break;
        case BP_OPT_RMSPROP: rmsprop_update(o, p, s0, lr); break;
        case BP_OPT_ADAM: adam_update(o, p, s0, s1, lr, t); break;
        }
    }
    o->steps = t;
    bp_params_zero_grad(o->params);
    if (info)
        *info = (bp_step_info){.grad_norm = norm, .clipped = clipped, .lr = lr};
    return BP_OK;
}
