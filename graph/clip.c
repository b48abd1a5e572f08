/* clip.c — gradient norms and clipping over every parameter of a bp_params. */
#include "bptt_optim.h"

#include <math.h>

/* sqrt(sum g^2) over all grads, accumulated in double. If the sum overflows while
 * every element is finite, recompute as m * sqrt(sum (g/m)^2) with m = max |g|. */
double bp_grad_global_norm(const bp_params *p)
{
    double ss = 0, m = 0;
    int n = bp_params_count(p);
    for (int k = 0; k < n; k++) {
        const bp_node *q = bp_params_at(p, k);
        for (size_t i = 0; i < q->size; i++) {
            double g = q->grad[i];
            ss += g * g;
            if (fabs(g) > m)
                m = fabs(g);
        }
    }
    if (isfinite(ss) || !isfinite(m) || m == 0)
        return sqrt(ss);
    double ss2 = 0;
    for (int k = 0; k < n; k++) {
        const bp_node *q = bp_params_at(p, k);
        for (size_t i = 0; i < q->size; i++) {
            double g = q->grad[i] / m;
            ss2 += g * g;
        }
    }
    return m * sqrt(ss2);
}

/* g <- g * (max_norm / ||g||) when ||g|| > max_norm, so that ||g|| = max_norm after */
bool bp_clip_grad_global_norm(bp_params *p, double max_norm, double *norm_before)
{
    double norm = bp_grad_global_norm(p);
    if (norm_before)
        *norm_before = norm;
    if (!(max_norm > 0) || !(norm > max_norm) || !isfinite(norm))
        return false;
    double scale = max_norm / norm;
    int n = bp_params_count(p);
    for (int k = 0; k < n; k++) {
        bp_node *q = bp_params_at(p, k);
        for (size_t i = 0; i < q->size; i++)
            q->grad[i] = (bp_real)(q->grad[i] * scale);
    }
    return true;
}

/* g <- min(max(g, -c), c) elementwise */
bool bp_clip_grad_value(bp_params *p, double c)
{
    if (!(c > 0))
        return false;
    bool changed = false;
    bp_real hi = (bp_real)c, lo = (bp_real)-c;
    int n = bp_params_count(p);
    for (int k = 0; k < n; k++) {
        bp_node *q = bp_params_at(p, k);
        for (size_t i = 0; i < q->size; i++) {
            if (q->grad[i] > hi) {
                q->grad[i] = hi;
                changed = true;
            } else if (q->grad[i] < lo) {
                q->grad[i] = lo;
                changed = true;
            }
        }
    }
    return changed;
}
