/* spectral.c — the spectral radius by Gelfand's formula, and scaling W_h to one.
 *
 * rho(W) = lim_k ||W^k||^(1/k). Power iteration on a block V of m random vectors,
 * normalised at every step with the log of each norm accumulated, gives
 * L_k = log ||W^k V|| without overflow. L_k ~ k log rho + log C + o(1): the constant C
 * (large for non-normal W) does not matter to the slope, so log rho is taken as the
 * least-squares slope of L_k over k in [M, 2M]. A complex pair of dominant eigenvalues
 * only makes ||W^k V|| oscillate within fixed bounds, which the fit averages out, and
 * m > 1 vectors damp the oscillation further.
 * Accuracy: exact to rounding for normal matrices (rotations, diagonals, orthogonal);
 * about 1e-3 relative at worst for random matrices whose top eigenvalues nearly tie
 * in modulus (the iteration cannot separate them in 2M steps). */
#include "blas.h"
#include "net_internal.h"

#include <math.h>
#include <stdlib.h>

#define WARM 150   /* M: the fit runs over steps M..2M */
#define BLOCK 8    /* vectors in the block (at most n) */

bp_status bp_spectral_radius(const bp_real *w, int n, double *rho, bp_error *err)
{
    if (n < 1)
        return bp_error_set(err, BP_ERR_VALUE, "spectral radius: size %d", n);
    int m = n < BLOCK ? n : BLOCK;
    size_t nn = (size_t)n * n, nm = (size_t)n * m;
    double *W = malloc(nn * sizeof *W), *V = malloc(nm * sizeof *V), *U = malloc(nm * sizeof *U);
    bp_status st = BP_OK;
    if (!W || !V || !U) {
        st = bp_error_set(err, BP_ERR_NOMEM, "spectral radius: out of memory");
        goto done;
    }
    for (size_t i = 0; i < nn; i++) {
        W[i] = w[i];
        if (!isfinite(W[i])) {
            st = bp_error_set(err, BP_ERR_NONFINITE, "spectral radius: W has a non-finite "
                              "element at %zu", i);
            goto done;
        }
    }
    bp_rng rng; /* a fixed stream: the estimate is a function of W alone */
    bp_rng_seed(&rng, 0x5eed5eedULL);
    for (size_t i = 0; i < nm; i++)
        V[i] = bp_rng_normal(&rng);
    double log_norm = 0, sk = 0, sl = 0, skl = 0, skk = 0; /* sums for the fit */
    *rho = 0;
    for (int k = 0; k <= 2 * WARM; k++) {
        /* V = V / ||V||, log_norm += log ||V||; then V = W V (n x n)(n x m) */
        double s = 0;
        for (size_t i = 0; i < nm; i++)
            s += V[i] * V[i];
        if (!(s > 0))
            goto done; /* W^k V = 0: W is nilpotent on V, rho = 0 */
        s = sqrt(s);
        if (k > 0)
            log_norm += log(s);
        if (k >= WARM) {
            sk += k;
            sl += log_norm;
            skl += k * log_norm;
            skk += (double)k * k;
        }
        if (k == 2 * WARM)
            break;
        for (size_t i = 0; i < nm; i++)
            V[i] /= s;
        bp_gemm_f64(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, m, n, 1, W, n, V, m, 0, U, m);
        double *tmp = V;
        V = U;
        U = tmp;
    }
    double npts = WARM + 1; /* slope = cov(k, L) / var(k) */
    *rho = exp((skl - sk * sl / npts) / (skk - sk * sk / npts));
done:
    free(W);
    free(V);
    free(U);
    return st;
}

bp_status bp_set_spectral_radius(bp_real *w, int n, double target, bp_error *err)
{
    if (!(isfinite(target) && target > 0))
        return bp_error_set(err, BP_ERR_VALUE, "spectral radius: the target must be > 0, not %g",
                            target);
    double rho;
    bp_status st = bp_spectral_radius(w, n, &rho, err);
    if (st != BP_OK)
        return st;
    if (!(rho > 1e-300))
        return bp_error_set(err, BP_ERR_VALUE, "spectral radius: W_h has radius 0 and cannot "
                            "be scaled to %g", target);
    double f = target / rho;
    for (size_t i = 0; i < (size_t)n * n; i++)
        w[i] = (bp_real)(w[i] * f);
    return BP_OK;
}
