/* test_optim.c — optimizers against hand-derived closed forms, schedules, clipping,
 * non-finite detection and the optimizer state's names. Double build. */
#include "bptt_optim.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#define TOL 1e-12

/* Two parameters, "lin.W" [2, 2] and "lin.b" [3], with values p0[k] = 0.5 + 0.25 k
 * (k the element's position across both). */
static bp_params *make_params(void)
{
    bp_error err = {0};
    bp_params *p = bp_params_new();
    cr_assert(bp_params_add(p, "lin.W", bp_shape2(2, 2), &err), "%s", err.msg);
    cr_assert(bp_params_add(p, "lin.b", bp_shape1(3), &err), "%s", err.msg);
    int k = 0;
    for (int j = 0; j < bp_params_count(p); j++) {
        bp_node *q = bp_params_at(p, j);
        for (size_t i = 0; i < q->size; i++)
            q->value[i] = 0.5 + 0.25 * k++;
    }
    return p;
}

/* element k (across both parameters) of value or grad */
static bp_real *elem(bp_params *p, int k, bool grad)
{
    for (int j = 0; j < bp_params_count(p); j++) {
        bp_node *q = bp_params_at(p, j);
        if ((size_t)k < q->size)
            return grad ? &q->grad[k] : &q->value[k];
        k -= (int)q->size;
    }
    return NULL;
}

#define N_ELEM 7
static double p0(int k)
{
    return 0.5 + 0.25 * k;
}
/* a fixed, sign-varying gradient per element */
static double gconst(int k)
{
    return (k % 2 ? -1.0 : 1.0) * (0.3 + 0.1 * k);
}

static void set_const_grads(bp_params *p)
{
    for (int k = 0; k < N_ELEM; k++)
        *elem(p, k, true) = gconst(k);
}

static bp_optim *make_opt(bp_optim_config *c, bp_params *p)
{
    bp_error err = {0};
    bp_optim *o = bp_optim_new(c, p, &err);
    cr_assert(o, "%s", err.msg);
    return o;
}

static void step_ok(bp_optim *o, bp_step_info *info)
{
    bp_error err = {0};
    cr_assert_eq(bp_optim_step(o, 1.0, info, &err), BP_OK, "%s", err.msg);
}

Test(optim, defaults_are_pytorchs)
{
    bp_optim_config c;
    bp_optim_config_default(&c);
    cr_expect_eq(c.kind, BP_OPT_ADAM);
    cr_expect_eq(c.lr, 1e-3);
    cr_expect_eq(c.beta1, 0.9);
    cr_expect_eq(c.beta2, 0.999);
    cr_expect_eq(c.alpha, 0.99);
    cr_expect_eq(c.eps, 1e-8);
    cr_expect_eq(c.momentum, 0);
    cr_expect_eq(c.weight_decay, 0);
    cr_expect_eq(c.schedule, BP_LR_CONSTANT);
    cr_expect_eq(c.clip_norm, 0);
    cr_expect_eq(c.clip_value, 0);
    bp_error err = {0};
    cr_expect_eq(bp_optim_config_check(&c, &err), BP_OK, "%s", err.msg);
}

static void expect_bad(bp_optim_config c, const char *needle)
{
    bp_error err = {0};
    bp_params *p = make_params();
    cr_expect_null(bp_optim_new(&c, p, &err));
    cr_expect_eq(err.status, BP_ERR_VALUE);
    cr_expect(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
    bp_params_free(p);
}

Test(optim, settings_out_of_range_are_errors)
{
    bp_optim_config d;
    bp_optim_config_default(&d);
    bp_optim_config c = d;
    c.lr = 0;
    expect_bad(c, "lr");
    c = d, c.lr = NAN;
    expect_bad(c, "lr");
    c = d, c.kind = BP_OPT_SGD, c.momentum = 1.5;
    expect_bad(c, "momentum");
    c = d, c.kind = BP_OPT_SGD, c.nesterov = true;
    expect_bad(c, "nesterov");
    c = d, c.beta2 = 1;
    expect_bad(c, "beta2");
    c = d, c.kind = BP_OPT_RMSPROP, c.alpha = -0.1;
    expect_bad(c, "alpha");
    c = d, c.eps = 0;
    expect_bad(c, "eps");
    c = d, c.weight_decay = -1;
    expect_bad(c, "weight_decay");
    c = d, c.clip_norm = -1;
    expect_bad(c, "clip_norm");
    c = d, c.clip_value = INFINITY;
    expect_bad(c, "clip_value");
    c = d, c.schedule = BP_LR_STEP, c.step_every = 0;
    expect_bad(c, "step_every");
    c = d, c.schedule = BP_LR_COSINE;
    expect_bad(c, "total_steps");
    c = d, c.schedule = BP_LR_COSINE, c.total_steps = 10, c.lr_min = 1;
    expect_bad(c, "lr_min");

    bp_error err = {0};
    bp_params *empty = bp_params_new();
    cr_expect_null(bp_optim_new(&d, empty, &err));
    cr_expect(strstr(err.msg, "no parameters"), "%s", err.msg);
    bp_params_free(empty);
}

Test(optim, names_round_trip)
{
    bp_opt_kind k;
    bp_lr_kind s;
    cr_expect(bp_opt_kind_parse("rmsprop", &k) && k == BP_OPT_RMSPROP);
    cr_expect_str_eq(bp_opt_kind_name(BP_OPT_SGD), "sgd");
    cr_expect(bp_opt_kind_parse("adamw", &k) && k == BP_OPT_ADAMW);
    cr_expect(!bp_opt_kind_parse("adamx", &k));
    bp_decay_params d;
    cr_expect(bp_decay_params_parse("all", &d) && d == BP_DECAY_ALL);
    cr_expect_str_eq(bp_decay_params_name(BP_DECAY_MATRICES), "matrices");
    cr_expect_str_eq(bp_lr_kind_name(BP_LR_PLATEAU), "plateau");
    cr_expect(bp_lr_kind_parse("cosine", &s) && s == BP_LR_COSINE);
    cr_expect_str_eq(bp_lr_kind_name(BP_LR_STEP), "step");
    cr_expect(!bp_lr_kind_parse("linear", &s));
}

/* Plain SGD on L = sum p^2 (g = 2p): p_t = p0 (1 - 2 lr)^t. */
Test(optim, sgd_plain_on_a_quadratic)
{
    bp_params *p = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = BP_OPT_SGD;
    c.lr = 0.1;
    bp_optim *o = make_opt(&c, p);
    cr_expect_eq(bp_optim_state_count(o), 0);
    for (int t = 1; t <= 3; t++) {
        for (int k = 0; k < N_ELEM; k++)
            *elem(p, k, true) = 2 * *elem(p, k, false);
        step_ok(o, NULL);
        for (int k = 0; k < N_ELEM; k++)
            cr_expect_float_eq(*elem(p, k, false), p0(k) * pow(1 - 2 * c.lr, t), TOL,
                               "t %d k %d", t, k);
    }
    cr_expect_eq(bp_optim_steps_done(o), 3);
    bp_optim_free(o);
    bp_params_free(p);
}

/* Momentum with a constant g: b_t = g (1 + mu + ... + mu^(t-1)), p_t = p_{t-1} - lr b_t;
 * Nesterov steps by g + mu b_t instead. */
static void momentum_case(bool nesterov)
{
    bp_params *p = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = BP_OPT_SGD;
    c.lr = 0.05;
    c.momentum = 0.9;
    c.nesterov = nesterov;
    bp_optim *o = make_opt(&c, p);
    double mu = c.momentum;
    double moved = 0; /* sum of the step multipliers of g so far */
    for (int t = 1; t <= 3; t++) {
        set_const_grads(p);
        step_ok(o, NULL);
        double bt = (1 - pow(mu, t)) / (1 - mu); /* b_t / g */
        moved += nesterov ? 1 + mu * bt : bt;
        for (int k = 0; k < N_ELEM; k++) {
            cr_expect_float_eq(*elem(p, k, false), p0(k) - c.lr * gconst(k) * moved, TOL,
                               "t %d k %d", t, k);
            cr_expect_float_eq(bp_optim_state_at(o, k < 4 ? 0 : 1)->value[k < 4 ? k : k - 4],
                               gconst(k) * bt, TOL);
        }
    }
    bp_optim_free(o);
    bp_params_free(p);
}

Test(optim, sgd_momentum_constant_gradient)
{
    momentum_case(false);
}

Test(optim, sgd_nesterov_constant_gradient)
{
    momentum_case(true);
}

/* RMSprop with a constant g: v_t = (1 - a^t) g^2, step lr g / (|g| sqrt(1 - a^t) + eps). */
Test(optim, rmsprop_constant_gradient)
{
    bp_params *p = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = BP_OPT_RMSPROP;
    c.lr = 0.01;
    c.eps = 1e-3; /* large enough to matter in the comparison */
    bp_optim *o = make_opt(&c, p);
    double want[N_ELEM];
    for (int k = 0; k < N_ELEM; k++)
        want[k] = p0(k);
    for (int t = 1; t <= 3; t++) {
        set_const_grads(p);
        step_ok(o, NULL);
        double va = 1 - pow(c.alpha, t);
        for (int k = 0; k < N_ELEM; k++) {
            double g = gconst(k);
            want[k] -= c.lr * g / (fabs(g) * sqrt(va) + c.eps);
            cr_expect_float_eq(*elem(p, k, false), want[k], TOL, "t %d k %d", t, k);
        }
    }
    bp_optim_free(o);
    bp_params_free(p);
}

/* Adam with a constant g: bias correction makes m_hat = g and v_hat = g^2 exactly, so
 * every step moves p by lr g / (|g| + eps), whatever the betas. */
Test(optim, adam_constant_gradient_bias_corrected)
{
    bp_params *p = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.lr = 0.01;
    c.beta1 = 0.8;
    c.beta2 = 0.95;
    c.eps = 1e-2;
    bp_optim *o = make_opt(&c, p);
    for (int t = 1; t <= 3; t++) {
        set_const_grads(p);
        step_ok(o, NULL);
        for (int k = 0; k < N_ELEM; k++) {
            double g = gconst(k);
            cr_expect_float_eq(*elem(p, k, false), p0(k) - t * c.lr * g / (fabs(g) + c.eps),
                               1e-10, "t %d k %d", t, k);
        }
    }
    bp_optim_free(o);
    bp_params_free(p);
}

/* Adam on L = sum p^2 / 2 (g = p), two steps written out:
 *   step 1: m1 = (1-b1) p0, v1 = (1-b2) p0^2, p1 = p0 - lr m1/(1-b1) / (sqrt(v1/(1-b2)) + eps)
 *   step 2: g = p1, m2 = b1 m1 + (1-b1) p1, v2 = b2 v1 + (1-b2) p1^2,
 *           p2 = p1 - lr m2/(1-b1^2) / (sqrt(v2/(1-b2^2)) + eps) */
Test(optim, adam_two_steps_by_hand)
{
    bp_params *p = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.lr = 0.1;
    bp_optim *o = make_opt(&c, p);
    double b1 = c.beta1, b2 = c.beta2, lr = c.lr, eps = c.eps;
    for (int t = 1; t <= 2; t++) {
        for (int k = 0; k < N_ELEM; k++)
            *elem(p, k, true) = *elem(p, k, false);
        step_ok(o, NULL);
    }
    for (int k = 0; k < N_ELEM; k++) {
        double q0 = p0(k);
        double m1 = (1 - b1) * q0, v1 = (1 - b2) * q0 * q0;
        double q1 = q0 - lr * (m1 / (1 - b1)) / (sqrt(v1 / (1 - b2)) + eps);
        double m2 = b1 * m1 + (1 - b1) * q1, v2 = b2 * v1 + (1 - b2) * q1 * q1;
        double q2 = q1 - lr * (m2 / (1 - b1 * b1)) / (sqrt(v2 / (1 - b2 * b2)) + eps);
        cr_expect_float_eq(*elem(p, k, false), q2, TOL, "k %d", k);
        bp_node *m = bp_optim_state_find(o, k < 4 ? "adam.m.lin.W" : "adam.m.lin.b");
        bp_node *v = bp_optim_state_find(o, k < 4 ? "adam.v.lin.W" : "adam.v.lin.b");
        cr_assert(m && v);
        cr_expect_float_eq(m->value[k < 4 ? k : k - 4], m2, TOL);
        cr_expect_float_eq(v->value[k < 4 ? k : k - 4], v2, TOL);
    }
    bp_optim_free(o);
    bp_params_free(p);
}

/* Weight decay adds wd p to the gradient: SGD with zero grads gives p_t = p0 (1 - lr wd)^t;
 * Adam with zero grads sees g = wd p, and its first step moves p by lr wd p / (wd |p| + eps).
 * (On every parameter: weight_decay_on all.) */
Test(optim, weight_decay_is_l2_in_the_gradient)
{
    bp_params *p = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = BP_OPT_SGD;
    c.lr = 0.1;
    c.weight_decay = 0.5;
    c.decay = BP_DECAY_ALL;
    bp_optim *o = make_opt(&c, p);
    for (int t = 1; t <= 3; t++) {
        step_ok(o, NULL); /* grads are zero */
        for (int k = 0; k < N_ELEM; k++)
            cr_expect_float_eq(*elem(p, k, false), p0(k) * pow(1 - c.lr * c.weight_decay, t),
                               TOL);
    }
    bp_optim_free(o);
    bp_params_free(p);

    p = make_params();
    bp_optim_config_default(&c);
    c.lr = 0.01;
    c.weight_decay = 0.01;
    c.decay = BP_DECAY_ALL;
    c.eps = 1e-3;
    o = make_opt(&c, p);
    step_ok(o, NULL);
    for (int k = 0; k < N_ELEM; k++) {
        double g = c.weight_decay * p0(k);
        cr_expect_float_eq(*elem(p, k, false), p0(k) - c.lr * g / (fabs(g) + c.eps), TOL);
    }
    bp_optim_free(o);
    bp_params_free(p);
}

Test(optim, schedules_at_chosen_steps)
{
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.lr = 0.2;
    cr_expect_eq(bp_lr_at(&c, 0), 0.2);
    cr_expect_eq(bp_lr_at(&c, 12345), 0.2);

    c.schedule = BP_LR_STEP;
    c.step_every = 10;
    c.step_gamma = 0.5;
    cr_expect_float_eq(bp_lr_at(&c, 0), 0.2, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 9), 0.2, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 10), 0.1, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 19), 0.1, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 25), 0.05, TOL);

    c.schedule = BP_LR_COSINE;
    c.total_steps = 100;
    c.lr = 1.0;
    c.lr_min = 0.1;
    cr_expect_float_eq(bp_lr_at(&c, 0), 1.0, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 50), 0.55, TOL); /* cos(pi/2) = 0: halfway */
    cr_expect_float_eq(bp_lr_at(&c, 25), 0.1 + 0.9 * (1 + sqrt(0.5)) / 2, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 100), 0.1, TOL);
    cr_expect_float_eq(bp_lr_at(&c, 250), 0.1, TOL); /* held at lr_min */

    /* the step uses the schedule's rate for steps_done, and reports it */
    c.schedule = BP_LR_STEP;
    c.kind = BP_OPT_SGD;
    c.lr = 1.0;
    c.step_every = 2;
    c.step_gamma = 0.1;
    bp_params *p = make_params();
    bp_optim *o = make_opt(&c, p);
    double want[] = {1.0, 1.0, 0.1, 0.1, 0.01};
    for (int t = 0; t < 5; t++) {
        bp_step_info info;
        double before = *elem(p, 0, false);
        *elem(p, 0, true) = 1;
        step_ok(o, &info);
        cr_expect_float_eq(info.lr, want[t], TOL, "step %d", t);
        cr_expect_float_eq(before - *elem(p, 0, false), want[t], TOL, "step %d", t);
    }
    bp_optim_free(o);
    bp_params_free(p);
}

Test(optim, clip_norm_above_ends_exactly_at_the_threshold)
{
    bp_params *p = make_params();
    /* grads 3, 4 in lin.W and 12 in lin.b: norm 13 */
    *elem(p, 0, true) = 3;
    *elem(p, 1, true) = 4;
    *elem(p, 4, true) = 12;
    cr_expect_float_eq(bp_grad_global_norm(p), 13, TOL);
    double before = 0;
    cr_expect(bp_clip_grad_global_norm(p, 6.5, &before));
    cr_expect_float_eq(before, 13, TOL);
    cr_expect_float_eq(bp_grad_global_norm(p), 6.5, TOL); /* equals, not 1 */
    cr_expect_float_eq(*elem(p, 0, true), 1.5, TOL);      /* direction kept */
    cr_expect_float_eq(*elem(p, 1, true), 2.0, TOL);
    cr_expect_float_eq(*elem(p, 4, true), 6.0, TOL);

    /* an odd threshold, many elements */
    for (int k = 0; k < N_ELEM; k++)
        *elem(p, k, true) = gconst(k) * 37;
    cr_expect(bp_clip_grad_global_norm(p, 0.731, NULL));
    cr_expect_float_eq(bp_grad_global_norm(p), 0.731, TOL);
    bp_params_free(p);
}

Test(optim, clip_norm_below_is_untouched)
{
    bp_params *p = make_params();
    set_const_grads(p);
    double n = bp_grad_global_norm(p);
    bp_real saved[N_ELEM];
    for (int k = 0; k < N_ELEM; k++)
        saved[k] = *elem(p, k, true);
    double before = 0;
    cr_expect_not(bp_clip_grad_global_norm(p, n * 1.01, &before));
    cr_expect_eq(before, n);
    cr_expect_not(bp_clip_grad_global_norm(p, 0, NULL)); /* 0 = off */
    for (int k = 0; k < N_ELEM; k++)
        cr_expect_eq(*elem(p, k, true), saved[k]);
    bp_params_free(p);
}

Test(optim, norm_does_not_overflow)
{
    bp_params *p = make_params();
    *elem(p, 0, true) = 1e200;
    *elem(p, 5, true) = -1e200;
    cr_expect_float_eq(bp_grad_global_norm(p) / 1e200, sqrt(2.0), 1e-12);
    cr_expect(bp_clip_grad_global_norm(p, 1.0, NULL));
    cr_expect_float_eq(bp_grad_global_norm(p), 1.0, TOL);
    bp_params_free(p);
}

Test(optim, step_clips_by_norm_and_reports)
{
    bp_params *p = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = BP_OPT_SGD;
    c.lr = 1;
    c.clip_norm = 2.6;
    bp_optim *o = make_opt(&c, p);
    *elem(p, 0, true) = 3;
    *elem(p, 1, true) = 4;
    *elem(p, 4, true) = 12;
    bp_step_info info;
    step_ok(o, &info);
    cr_expect_float_eq(info.grad_norm, 13, TOL);
    cr_expect(info.clipped);
    cr_expect_float_eq(p0(0) - *elem(p, 0, false), 0.6, TOL); /* 3 * 2.6/13 */
    cr_expect_float_eq(p0(1) - *elem(p, 1, false), 0.8, TOL);
    cr_expect_float_eq(p0(4) - *elem(p, 4, false), 2.4, TOL);
    for (int k = 0; k < N_ELEM; k++)
        cr_expect_eq(*elem(p, k, true), 0, "grads are zeroed after the step");
    /* below the threshold: not clipped */
    *elem(p, 2, true) = 1;
    step_ok(o, &info);
    cr_expect_not(info.clipped);
    cr_expect_float_eq(info.grad_norm, 1, TOL);
    bp_optim_free(o);
    bp_params_free(p);
}

Test(optim, value_clip)
{
    bp_params *p = make_params();
    set_const_grads(p); /* |g| from 0.3 to 0.9 */
    cr_expect(bp_clip_grad_value(p, 0.5));
    for (int k = 0; k < N_ELEM; k++) {
        double g = gconst(k);
        double want = g > 0.5 ? 0.5 : g < -0.5 ? -0.5 : g;
        cr_expect_float_eq(*elem(p, k, true), want, TOL, "k %d", k);
    }
    cr_expect_not(bp_clip_grad_value(p, 0.5)); /* nothing left to clamp */
    cr_expect_not(bp_clip_grad_value(p, 0));   /* off */

    /* through the step, with both clips: value first, norm still ends at clip_norm */
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.kind = BP_OPT_SGD;
    c.lr = 1;
    c.clip_value = 0.5;
    bp_params_zero_grad(p);
    bp_optim *o = make_opt(&c, p);
    *elem(p, 3, true) = -7;
    bp_step_info info;
    double before = *elem(p, 3, false);
    step_ok(o, &info);
    cr_expect(info.clipped);
    cr_expect_float_eq(info.grad_norm, 7, TOL);
    cr_expect_float_eq(*elem(p, 3, false) - before, 0.5, TOL);
    bp_optim_free(o);
    bp_params_free(p);
}

static void snapshot(bp_params *p, bp_optim *o, double *buf)
{
    int n = 0;
    for (int k = 0; k < N_ELEM; k++)
        buf[n++] = *elem(p, k, false);
    for (int s = 0; s < bp_optim_state_count(o); s++) {
        bp_node *q = bp_optim_state_at(o, s);
        for (size_t i = 0; i < q->size; i++)
            buf[n++] = q->value[i];
    }
}

Test(optim, nonfinite_stops_the_step_untouched)
{
    bp_params *p = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    bp_optim *o = make_opt(&c, p);
    for (int t = 0; t < 2; t++) {
        set_const_grads(p);
        step_ok(o, NULL);
    }
    double before[3 * N_ELEM], after[3 * N_ELEM];
    snapshot(p, o, before);

    bp_error err = {0};
    set_const_grads(p);
    *elem(p, 6, true) = NAN; /* lin.b element 2 */
    cr_expect_eq(bp_optim_step(o, 0.5, NULL, &err), BP_ERR_NONFINITE);
    cr_expect(strstr(err.msg, "step 3"), "%s", err.msg);
    cr_expect(strstr(err.msg, "lin.b"), "%s", err.msg);
    cr_expect(strstr(err.msg, "NaN"), "%s", err.msg);
    cr_expect(strstr(err.msg, "element 2"), "%s", err.msg);
    cr_expect(isnan(*elem(p, 6, true)), "grads are left for inspection");
    snapshot(p, o, after);
    cr_expect_arr_eq(before, after, sizeof before);
    cr_expect_eq(bp_optim_steps_done(o), 2);

    *elem(p, 6, true) = 0;
    *elem(p, 1, true) = -INFINITY;
    cr_expect_eq(bp_optim_step(o, 0.5, NULL, &err), BP_ERR_NONFINITE);
    cr_expect(strstr(err.msg, "step 3: gradient of lin.W [2, 2] has -Inf at element 1"), "%s",
              err.msg);

    *elem(p, 1, true) = 0;
    cr_expect_eq(bp_optim_step(o, NAN, NULL, &err), BP_ERR_NONFINITE);
    cr_expect(strstr(err.msg, "step 3: loss is NaN"), "%s", err.msg);
    cr_expect_eq(bp_optim_step(o, INFINITY, NULL, &err), BP_ERR_NONFINITE);
    cr_expect(strstr(err.msg, "loss is +Inf"), "%s", err.msg);
    snapshot(p, o, after);
    cr_expect_arr_eq(before, after, sizeof before);
    cr_expect_eq(bp_optim_steps_done(o), 2);

    /* and a finite step goes on from there */
    step_ok(o, NULL);
    cr_expect_eq(bp_optim_steps_done(o), 3);
    bp_optim_free(o);
    bp_params_free(p);
}

Test(optim, state_names_and_shapes)
{
    const char *want_adam[] = {"adam.m.lin.W", "adam.m.lin.b", "adam.v.lin.W", "adam.v.lin.b"};
    bp_params *p = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    bp_optim *o = make_opt(&c, p);
    cr_assert_eq(bp_optim_state_count(o), 4);
    for (int i = 0; i < 4; i++) {
        bp_node *s = bp_optim_state_at(o, i);
        cr_expect_str_eq(s->name, want_adam[i]);
        cr_expect(bp_shape_eq(s->shape, bp_params_at(p, i % 2)->shape));
        cr_expect_not(s->requires_grad);
    }
    cr_expect_null(bp_optim_state_at(o, 4));
    cr_expect_null(bp_optim_state_find(o, "adam.m.nope"));
    bp_optim_set_steps_done(o, 41);
    cr_expect_eq(bp_optim_steps_done(o), 41);
    bp_optim_free(o);

    c.kind = BP_OPT_RMSPROP;
    o = make_opt(&c, p);
    cr_assert_eq(bp_optim_state_count(o), 2);
    cr_expect_str_eq(bp_optim_state_at(o, 1)->name, "rmsprop.square_avg.lin.b");
    bp_optim_free(o);

    c.kind = BP_OPT_SGD;
    c.momentum = 0.5;
    o = make_opt(&c, p);
    cr_assert_eq(bp_optim_state_count(o), 2);
    cr_expect_str_eq(bp_optim_state_at(o, 0)->name, "sgd.momentum.lin.W");
    bp_optim_free(o);
    bp_params_free(p);
}

/* Restoring steps_done and the state reproduces the run: Adam's bias correction
 * depends on the step count. */
Test(optim, restored_state_continues_the_run)
{
    bp_params *a = make_params(), *b = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    c.lr = 0.05;
    bp_optim *oa = make_opt(&c, a), *ob = make_opt(&c, b);
    for (int t = 0; t < 3; t++) {
        set_const_grads(a);
        *elem(a, 2, true) += (bp_real)t;
        step_ok(oa, NULL);
    }
    for (int k = 0; k < N_ELEM; k++)
        *elem(b, k, false) = *elem(a, k, false);
    for (int s = 0; s < bp_optim_state_count(oa); s++)
        memcpy(bp_optim_state_at(ob, s)->value, bp_optim_state_at(oa, s)->value,
               bp_optim_state_at(oa, s)->size * sizeof(bp_real));
    bp_optim_set_steps_done(ob, bp_optim_steps_done(oa));
    set_const_grads(a);
    set_const_grads(b);
    step_ok(oa, NULL);
    step_ok(ob, NULL);
    for (int k = 0; k < N_ELEM; k++)
        cr_expect_eq(*elem(a, k, false), *elem(b, k, false));
    bp_optim_free(oa);
    bp_optim_free(ob);
    bp_params_free(a);
    bp_params_free(b);
}

Test(optim, params_added_later_is_an_error)
{
    bp_params *p = make_params();
    bp_optim_config c;
    bp_optim_config_default(&c);
    bp_optim *o = make_opt(&c, p);
    bp_error err = {0};
    cr_assert(bp_params_add(p, "late.W", bp_shape1(2), &err));
    cr_expect_eq(bp_optim_step(o, 1.0, NULL, &err), BP_ERR_VALUE);
    cr_expect(strstr(err.msg, "parameter set changed"), "%s", err.msg);
    bp_optim_free(o);
    bp_params_free(p);
}
