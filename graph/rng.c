/* rng.c — xoshiro256** seeded through splitmix64 (Blackman & Vigna), so a seed
 * gives the same stream everywhere: runs are bit-reproducible. */
#include "bptt_graph.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void bp_rng_seed(bp_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

uint64_t bp_rng_next(bp_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double bp_rng_uniform(bp_rng *r)
{
    return (double)(bp_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Box-Muller; one value per call keeps the stream position simple to reason about. */
double bp_rng_normal(bp_rng *r)
{
    double u1 = 1.0 - bp_rng_uniform(r); /* (0, 1] */
    double u2 = bp_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint32_t bp_rng_below(bp_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection: unbiased. A draw is rejected with
     * probability below 1/2, so 64 rejections in a row (p < 2^-64) only happen to a
     * broken state: the all-zero one, which gives zeros forever; then the draw stands
     * instead of spinning. */
    uint64_t m = (uint64_t)(uint32_t)(bp_rng_next(r) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        for (int tries = 0; low < threshold && tries < 64; tries++) {
            m = (uint64_t)(uint32_t)(bp_rng_next(r) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void bp_fill_uniform(bp_real *x, size_t n, double lo, double hi, bp_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (bp_real)(lo + (hi - lo) * bp_rng_uniform(r));
}

void bp_fill_normal(bp_real *x, size_t n, double mean, double std, bp_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (bp_real)(mean + std * bp_rng_normal(r));
}
