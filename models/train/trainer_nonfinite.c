/* trainer_nonfinite.c — when a step's loss is NaN or Inf, say where it came from: a
 * parameter that already holds a non-finite value (an earlier update overflowed), or
 * the first tape node of the last chunk whose value is not finite and the parameters
 * it reads, with their largest |value|. */
#include "trainer_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The index of the first non-finite element of n's value, or -1. */
static long first_bad(const bp_node *n)
{
    for (size_t i = 0; n->value && i < n->size; i++)
        if (!isfinite((double)n->value[i]))
            return (long)i;
    return -1;
}

static double max_abs(const bp_node *n)
{
    double m = 0;
    for (size_t i = 0; i < n->size; i++)
        if (fabs((double)n->value[i]) > m)
            m = fabs((double)n->value[i]);
    return m;
}

static bool is_param(const bp_params *p, const bp_node *n)
{
    for (int i = 0; i < bp_params_count(p); i++)
        if (bp_params_at(p, i) == n)
            return true;
    return false;
}

/* Append "; " and the explanation to err->msg. */
void bp_trainer_explain_nonfinite(const bp_trainer *tr, bp_error *err)
{
    if (!err)
        return;
    char why[384] = "", s[64];
    size_t u = 0;
    const bp_params *p = tr->params;
    for (int i = 0; i < bp_params_count(p) && !why[0]; i++) {
        const bp_node *q = bp_params_at(p, i);
        long at = first_bad(q);
        if (at >= 0)
            snprintf(why, sizeof why,
                     "parameter %s %s holds %g at element %ld (an earlier update overflowed: "
                     "lower train.lr or clip the gradients)",
                     q->name, bp_shape_str(q->shape, s, sizeof s), (double)q->value[at], at);
    }
    const bp_tape *t = tr->tape;
    for (int i = 0; i < bp_tape_len(t) && !why[0]; i++) {
        const bp_node *n = bp_tape_node(t, i);
        if (bp_value_released(n) || first_bad(n) < 0) /* gone: its buffer was reused */
            continue;
        u += (size_t)snprintf(why + u, sizeof why - u,
                              "the first non-finite value is the output of %s %s (tape node %d "
                              "of %d)",
                              n->op ? n->op->name : (n->name ? n->name : "an input"),
                              bp_shape_str(n->shape, s, sizeof s), i + 1, bp_tape_len(t));
        /* the parameters it reads, and those a released input of it read (h W_h: its
         * value went on to the next step's product, so its consumer is the first seen) */
        for (int j = 0; j < BP_MAX_INPUTS && u < sizeof why; j++) {
            const bp_node *x = n->in[j];
            for (int k = 0; x && k < (x->released ? BP_MAX_INPUTS : 1) && u < sizeof why; k++) {
                const bp_node *q = x->released ? x->in[k] : x;
                if (q && q->name && is_param(p, q))
                    u += (size_t)snprintf(why + u, sizeof why - u, ", which reads parameter %s "
                                          "(largest |value| %.3g)", q->name, max_abs(q));
            }
        }
    }
    if (!why[0] || !strstr(why, "parameter")) {
        const bp_node *big = NULL;
        double m = -1;
        for (int i = 0; i < bp_params_count(p); i++)
            if (max_abs(bp_params_at(p, i)) > m) {
                big = bp_params_at(p, i);
                m = max_abs(big);
            }
        if (big && u < sizeof why)
            snprintf(why + u, sizeof why - u, "%slargest parameter: %s (|value| up to %.3g)",
                     why[0] ? "; " : "", big->name, m);
    }
    if (why[0]) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, "; %s", why);
    }
}
