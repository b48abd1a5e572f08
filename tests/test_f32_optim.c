/* test_f32_optim.c — one float32 step of Adam, AdamW, RMSprop and SGD with momentum gives
 * the bits of torch.optim's float32 step: its order of operations, with each constant
 * (1 - beta, lr / bias correction, ...) computed in double and rounded once to float. */
#include "bptt_optim.h"

#include <criterion/criterion.h>
#include <math.h>

#define N 5

static const float g0[N] = {0.3f, -1.7f, 2.5e-3f, 4.0f, -0.0625f};
static const float p0[N] = {0.1f, 0.2f, -0.3f, 0.4f, 1.5f};

static bp_optim *one_step(bp_opt_kind kind, bp_params **pp, void (*tune)(bp_optim_config *))
{
    bp_error err = {0};
    bp_params *p = bp_params_new();
    bp_node *w = bp_params_add(p, "W", bp_shape2(1, N), &err);
    cr_assert(w, "%s", err.msg);
    for (int i = 0; i < N; i++) {
        w->value[i] = p0[i];
        w->grad[i] = g0[i];
    }
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = kind;
    c.lr = 1e-3;
    if (tune)
        tune(&c);
    bp_optim *o = bp_optim_new(&c, p, &err);
    cr_assert(o, "%s", err.msg);
    cr_assert_eq(bp_optim_step(o, 1.0, NULL, &err), BP_OK, "%s", err.msg);
    *pp = p;
    return o;
}

static void expect_bits(const bp_node *n, const float *want, const char *what)
{
    for (int i = 0; i < N; i++)
        cr_expect_eq(n->value[i], want[i], "%s[%d]: %.9g, torch's float32 step gives %.9g", what,
                     i, (double)n->value[i], (double)want[i]);
}

/* torch: exp_avg.lerp_(g, 1 - b1); exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2);
 * denom = (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps); p.addcdiv_(exp_avg, denom, -lr/bc1) */
static void adam_reference(float decay, float p[N], float m[N], float v[N])
{
    const float w1 = (float)(1 - 0.9), b2 = (float)0.999, one_b2 = (float)(1 - 0.999);
    const float bc2s = (float)sqrt(1 - 0.999), eps = (float)1e-8;
    const float neg_step = (float)(-(1e-3 / (1 - 0.9)));
    for (int i = 0; i < N; i++) {
        float g = g0[i];
        p[i] = p0[i] * decay;
        m[i] = 0.0f + w1 * (g - 0.0f);
        v[i] = 0.0f * b2 + one_b2 * g * g;
        p[i] = p[i] + neg_step * (m[i] / (sqrtf(v[i]) / bc2s + eps));
    }
}

Test(f32_optim, adam_step_is_torchs_bits)
{
    bp_params *p;
    bp_optim *o = one_step(BP_OPT_ADAM, &p, NULL);
    float w[N], m[N], v[N];
    adam_reference(1.0f, w, m, v);
    expect_bits(bp_params_at(p, 0), w, "p");
    expect_bits(bp_optim_state_find(o, "adam.m.W"), m, "m");
    expect_bits(bp_optim_state_find(o, "adam.v.W"), v, "v");
    /* the point of rounding 1 - b2 once: v = fl(0.001) g^2, not (1 - fl(0.999)) g^2 */
    float wrong = (1.0f - (float)0.999) * g0[3] * g0[3];
    cr_expect_neq(bp_optim_state_find(o, "adam.v.W")->value[3], wrong);
    bp_optim_free(o);
    bp_params_free(p);
}

static void adamw_tune(bp_optim_config *c) { c->weight_decay = 0.01; }

Test(f32_optim, adamw_step_is_torchs_bits)
{
    bp_params *p;
    bp_optim *o = one_step(BP_OPT_ADAMW, &p, adamw_tune);
    float w[N], m[N], v[N];
    adam_reference((float)(1 - 1e-3 * 0.01), w, m, v);
    expect_bits(bp_params_at(p, 0), w, "p");
    bp_optim_free(o);
    bp_params_free(p);
}

/* torch: square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha);
 * avg = square_avg.sqrt().add_(eps); p.addcdiv_(g, avg, value=-lr) */
Test(f32_optim, rmsprop_step_is_torchs_bits)
{
    bp_params *p;
    bp_optim *o = one_step(BP_OPT_RMSPROP, &p, NULL);
    float w[N], v[N];
    const float a = (float)0.99, one_a = (float)(1 - 0.99), eps = (float)1e-8;
    for (int i = 0; i < N; i++) {
        v[i] = 0.0f * a + one_a * g0[i] * g0[i];
        w[i] = p0[i] - (float)1e-3 * (g0[i] / (sqrtf(v[i]) + eps));
    }
    expect_bits(bp_params_at(p, 0), w, "p");
    expect_bits(bp_optim_state_find(o, "rmsprop.square_avg.W"), v, "square_avg");
    bp_optim_free(o);
    bp_params_free(p);
}

static void momentum_tune(bp_optim_config *c)
{
    c->momentum = 0.9;
    c->weight_decay = 0.1;
}

/* torch: g = g + wd p; buf = g (first step); p.add_(buf, alpha=-lr) */
Test(f32_optim, sgd_momentum_step_is_torchs_bits)
{
    bp_params *p;
    bp_optim *o = one_step(BP_OPT_SGD, &p, momentum_tune);
    float w[N];
    for (int i = 0; i < N; i++) {
        float g = g0[i] + (float)0.1 * p0[i];
        w[i] = p0[i] - (float)1e-3 * g;
    }
    expect_bits(bp_params_at(p, 0), w, "p");
    bp_optim_free(o);
    bp_params_free(p);
}
