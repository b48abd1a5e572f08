/* test_optim_rules.c — AdamW against its formula (one and ten steps), which parameters
 * weight decay reaches, the warm-up, exponential and plateau learning rates step by step.
 * Double build. */
#include "bptt_optim.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#define TOL 1e-13

static bp_real *val(bp_params *p, int k)
{
    return k < 4 ? &bp_params_at(p, 0)->value[k] : &bp_params_at(p, 1)->value[k - 4];
}

/* "W" [2, 2] and "b" [2], values 0.5 + 0.25 k across both (k = 0..5). */
static bp_params *two_params(void)
{
    bp_error err = {0};
    bp_params *p = bp_params_new();
    cr_assert(bp_params_add(p, "W", bp_shape2(2, 2), &err), "%s", err.msg);
    cr_assert(bp_params_add(p, "b", bp_shape1(2), &err), "%s", err.msg);
    for (int k = 0; k < 6; k++)
        *val(p, k) = 0.5 + 0.25 * k;
    return p;
}

static bp_real *grad(bp_params *p, int k)
{
    return k < 4 ? &bp_params_at(p, 0)->grad[k] : &bp_params_at(p, 1)->grad[k - 4];
}

/* the gradient of element k at step t: varies in sign and size */
static double g_at(int k, int t)
{
    return sin(1.0 + 0.7 * k + 1.3 * t);
}

static bp_optim *make(const bp_optim_config *c, bp_params *p)
{
    bp_error err = {0};
    bp_optim *o = bp_optim_new(c, p, &err);
    cr_assert(o, "%s", err.msg);
    return o;
}

static void step(bp_optim *o, bp_step_info *info)
{
    bp_error err = {0};
    cr_assert_eq(bp_optim_step(o, 1.0, info, &err), BP_OK, "%s", err.msg);
}

/* torch.optim.AdamW written out in double: p <- p (1 - lr wd); m <- b1 m + (1 - b1) g;
 * v <- b2 v + (1 - b2) g^2; p <- p - lr / (1 - b1^t) m / (sqrt(v / (1 - b2^t)) + eps),
 * with wd on W only (weight_decay_on matrices). */
static void adamw_case(int steps)
{
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = BP_OPT_ADAMW;
    c.lr = 0.01;
    c.weight_decay = 0.1;
    c.eps = 1e-6;
    bp_params *p = two_params();
    bp_optim *o = make(&c, p);
    double w[6], m[6] = {0}, v[6] = {0};
    for (int k = 0; k < 6; k++)
        w[k] = *val(p, k);
    for (int t = 1; t <= steps; t++) {
        for (int k = 0; k < 6; k++) {
            *grad(p, k) = g_at(k, t);
            double g = g_at(k, t), wd = k < 4 ? c.weight_decay : 0;
            w[k] *= 1 - c.lr * wd;
            m[k] = c.beta1 * m[k] + (1 - c.beta1) * g;
            v[k] = c.beta2 * v[k] + (1 - c.beta2) * g * g;
            double mh = m[k] / (1 - pow(c.beta1, t)), vh = v[k] / (1 - pow(c.beta2, t));
            w[k] -= c.lr * mh / (sqrt(vh) + c.eps);
        }
        step(o, NULL);
    }
    for (int k = 0; k < 6; k++)
        cr_expect_float_eq(*val(p, k), w[k], TOL, "%d steps, element %d: %.17g vs %.17g", steps,
                           k, (double)*val(p, k), w[k]);
    bp_optim_free(o);
    bp_params_free(p);
}

Test(optim_rules, adamw_one_step_is_its_formula) { adamw_case(1); }
Test(optim_rules, adamw_ten_steps_are_its_formula) { adamw_case(10); }

/* AdamW's decay is decoupled: with zero gradients Adam's update is 0 and only
 * p (1 - lr wd)^t remains, on the matrix alone; Adam's L2 would move p by about lr. */
Test(optim_rules, adamw_decay_is_decoupled_and_spares_biases)
{
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = BP_OPT_ADAMW;
    c.lr = 0.1;
    c.weight_decay = 0.5;
    bp_params *p = two_params();
    bp_optim *o = make(&c, p);
    for (int t = 1; t <= 3; t++)
        step(o, NULL);
    for (int k = 0; k < 6; k++) {
        double p0 = 0.5 + 0.25 * k, want = k < 4 ? p0 * pow(1 - 0.05, 3) : p0;
        cr_expect_float_eq(*val(p, k), want, TOL, "element %d", k);
    }
    bp_optim_free(o);
    bp_params_free(p);
    c.decay = BP_DECAY_ALL; /* now the bias shrinks too */
    p = two_params();
    o = make(&c, p);
    step(o, NULL);
    cr_expect_float_eq(*val(p, 5), 1.75 * 0.95, TOL);
    bp_optim_free(o);
    bp_params_free(p);
}

/* SGD's L2 decay, by default on matrices only: the bias of zero gradient stays. */
Test(optim_rules, l2_decay_defaults_to_matrices)
{
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = BP_OPT_SGD;
    c.lr = 0.1;
    c.weight_decay = 0.5;
    bp_params *p = two_params();
    bp_optim *o = make(&c, p);
    step(o, NULL);
    cr_expect_float_eq(*val(p, 0), 0.5 * 0.95, TOL);
    cr_expect_eq(*val(p, 4), 1.5);
    bp_optim_free(o);
    bp_params_free(p);
}

Test(optim_rules, warmup_then_each_schedule)
{
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.lr = 1.0;
    c.warmup_steps = 4;
    double warm[] = {0.25, 0.5, 0.75, 1.0};
    for (int s = 0; s < 4; s++)
        cr_expect_float_eq(bp_lr_at(&c, s), warm[s], TOL, "step %d", s);
    cr_expect_eq(bp_lr_at(&c, 4), 1.0);
    cr_expect_eq(bp_lr_at(&c, 999), 1.0);
    c.schedule = BP_LR_STEP; /* its steps count from the warm-up's end */
    c.step_every = 3;
    c.step_gamma = 0.5;
    cr_expect_float_eq(bp_lr_at(&c, 2), 0.75, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 6), 1.0, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 7), 0.5, TOL);
    c.schedule = BP_LR_COSINE; /* over total - warm-up steps */
    c.total_steps = 14;
    c.lr_min = 0;
    cr_expect_float_eq(bp_lr_at(&c, 4), 1.0, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 9), 0.5, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 14), 0.0, TOL);
    c.schedule = BP_LR_EXPONENTIAL;
    c.decay_rate = 0.5;
    c.decay_steps = 2;
    cr_expect_float_eq(bp_lr_at(&c, 4), 1.0, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 5), sqrt(0.5), TOL);
    cr_expect_float_eq(bp_lr_at(&c, 8), 0.25, TOL);
    bp_error err;
    c.schedule = BP_LR_COSINE;
    c.warmup_steps = 14;
    cr_expect_eq(bp_optim_config_check(&c, &err), BP_ERR_VALUE);
    cr_expect(strstr(err.msg, "warmup_steps (14) must be below"), "%s", err.msg);
}

/* torch's ReduceLROnPlateau(factor 0.5, patience 2, threshold 0.1, min_lr 0.3): a cut
 * after the third evaluation in a row that is not 10% below the best, never below 0.3. */
Test(optim_rules, plateau_cuts_step_by_step)
{
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = BP_OPT_SGD;
    c.lr = 2.0;
    c.schedule = BP_LR_PLATEAU;
    c.plateau_factor = 0.5;
    c.plateau_patience = 2;
    c.plateau_threshold = 0.1;
    c.lr_min = 0.3;
    bp_params *p = two_params();
    bp_optim *o = make(&c, p);
    double loss[] = {1.0, 0.95, 0.92, 0.91, 0.5, 0.49, 0.48, 0.47, 0.47, 0.47, 0.47, 0.47, 0.47};
    bool cut[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0};
    double lr[] = {2, 2, 2, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3};
    for (int e = 0; e < 13; e++) {
        cr_expect_eq(bp_optim_observe(o, loss[e]), cut[e], "evaluation %d", e);
        cr_expect_float_eq(bp_optim_lr(o), lr[e], TOL, "evaluation %d: lr %g", e, bp_optim_lr(o));
    }
    bp_step_info info;
    step(o, &info);
    cr_expect_float_eq(info.lr, 0.3, TOL);
    double st[3], bad[3] = {0.5, NAN, 0};
    bp_optim_plateau_state(o, st);
    cr_expect_float_eq(st[1], 0.5, TOL); /* 0.49 and below were not 10% better */
    cr_expect(!bp_optim_set_plateau_state(o, bad));
    bad[0] = 0;
    bad[1] = 1;
    cr_expect(!bp_optim_set_plateau_state(o, bad));
    bp_optim_free(o);
    bp_params_free(p);
}
