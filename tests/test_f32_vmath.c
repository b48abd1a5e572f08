/* test_f32_vmath.c — the float build's vectorised tanh and sigmoid (ops/vmath.c) against
 * double-precision libm: within 3 ulp on a dense grid and at tiny arguments, the limits
 * at +-inf and beyond the clamps, NaN kept, and the same results whatever the length
 * (the vector body and the scalar tail must agree). */
#include "vmath.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

static double ulps(float got, double want)
{
    float w = (float)fabs(want);
    double ulp = (double)nextafterf(w, INFINITY) - (double)w;
    return fabs((double)got - want) / ulp;
}

static double sigmoid_ref(double x)
{
    return 1 / (1 + exp(-x));
}

Test(vmath, tanh_and_sigmoid_within_3_ulp)
{
    enum { N = 400001 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *z = malloc(N * sizeof *z);
    for (int i = 0; i < N; i++)
        x[i] = (float)(i - N / 2) * 1e-4f; /* [-20, 20] */
    bp_vtanh(x, y, N);
    bp_vsigmoid(x, z, N);
    double wt = 0, ws = 0;
    for (int i = 0; i < N; i++) {
        wt = fmax(wt, ulps(y[i], tanh((double)x[i])));
        ws = fmax(ws, ulps(z[i], sigmoid_ref((double)x[i])));
    }
    for (int k = 0; k < 250; k++) { /* tiny arguments, both signs */
        float v = ldexpf(1.0f, -k / 2) * (k % 2 ? -1.0f : 1.0f), a, b;
        bp_vtanh(&v, &a, 1);
        bp_vsigmoid(&v, &b, 1);
        wt = fmax(wt, ulps(a, tanh((double)v)));
        ws = fmax(ws, ulps(b, sigmoid_ref((double)v)));
    }
    cr_expect_leq(wt, 3.0, "tanh: %g ulp", wt);
    cr_expect_leq(ws, 3.0, "sigmoid: %g ulp", ws);
    free(x);
    free(y);
    free(z);
}

Test(vmath, limits_and_nan)
{
    float x[] = {INFINITY, -INFINITY, 1e30f, -1e30f, 50.0f, -50.0f, 0.0f, -0.0f, NAN};
    float y[9], z[9];
    bp_vtanh(x, y, 9);
    bp_vsigmoid(x, z, 9);
    float ty[] = {1, -1, 1, -1, 1, -1, 0, 0};
    for (int i = 0; i < 8; i++)
        cr_expect_eq(y[i], ty[i], "tanh(%g) = %g", x[i], y[i]);
    cr_expect(signbit(y[7]), "tanh(-0) keeps the sign");
    cr_expect(isnan(y[8]) && isnan(z[8]), "NaN in, NaN out");
    cr_expect_eq(z[0], 1.0f);
    cr_expect(z[1] >= 0 && z[1] < 1e-37f, "sigmoid(-inf) = %g", z[1]);
    cr_expect_eq(z[4], 1.0f);
    cr_expect(fabs(z[5] - sigmoid_ref(-50)) < 1e-28, "sigmoid(-50) = %g", z[5]);
    cr_expect_eq(z[6], 0.5f);
}

Test(vmath, every_length_gives_the_same_values)
{
    float x[700], full[700], part[700];
    for (int i = 0; i < 700; i++)
        x[i] = sinf((float)i) * 6;
    bp_vtanh(x, full, 700);
    for (int n = 1; n < 700; n += 37) {
        bp_vtanh(x, part, (size_t)n);
        for (int i = 0; i < n; i++)
            cr_expect_eq(part[i], full[i], "length %d, element %d", n, i);
    }
}
