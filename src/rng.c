/* rng.c - xoshiro256** (Blackman & Vigna) seeded through splitmix64. */
#include "maf/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void maf_rng_seed(maf_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (0xd1342543de82ef95ULL * (stream + 1));
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t maf_rng_u64(maf_rng *r)
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

double maf_rng_uniform(maf_rng *r)
{
    return (double)(maf_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t maf_rng_below(maf_rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = maf_rng_u64(r);
    while (x >= limit);
    return x % n;
}

static void box_muller(maf_rng *r, double *z0, double *z1)
{
    double u1 = 1.0 - maf_rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = maf_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    *z0 = rad * cos(2.0 * M_PI * u2);
    *z1 = rad * sin(2.0 * M_PI * u2);
}

double maf_rng_normal(maf_rng *r)
{
    double z0, z1;
    box_muller(r, &z0, &z1);
    return z0;
}

void maf_rng_normal_fill_d(maf_rng *r, double *x, size_t n)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2) box_muller(r, &x[i], &x[i + 1]);
    if (i < n) x[i] = maf_rng_normal(r);
}

void maf_rng_normal_fill_f(maf_rng *r, float *x, size_t n)
{
    double z0, z1;
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        box_muller(r, &z0, &z1);
        x[i] = (float)z0;
        x[i + 1] = (float)z1;
    }
    if (i < n) x[i] = (float)maf_rng_normal(r);
}

void maf_rng_shuffle(maf_rng *r, uint32_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)maf_rng_below(r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
