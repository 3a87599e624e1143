/* rng.h - the seeded random number generator used everywhere in maf (xoshiro256**).
 *
 * The state is four 64-bit words and nothing else, so it can be saved in a checkpoint and
 * restored to continue a stream exactly. Streams for different purposes (weights, degrees,
 * shuffling on rank r) are derived from one seed with maf_rng_seed(seed, stream). */
#ifndef MAF_RNG_H
#define MAF_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t s[4];
} maf_rng;

/* Initialise from (seed, stream) through splitmix64: distinct streams are independent. */
void maf_rng_seed(maf_rng *r, uint64_t seed, uint64_t stream);
uint64_t maf_rng_u64(maf_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double maf_rng_uniform(maf_rng *r);
/* Uniform integer in [0, n) without modulo bias; n >= 1. */
uint64_t maf_rng_below(maf_rng *r, uint64_t n);
/* Standard normal (Box-Muller; consumes two uniforms per call). */
double maf_rng_normal(maf_rng *r);
/* Fill x[0..n) with standard normals (pairs from Box-Muller). */
void maf_rng_normal_fill_f(maf_rng *r, float *x, size_t n);
void maf_rng_normal_fill_d(maf_rng *r, double *x, size_t n);
/* Fisher-Yates shuffle of idx[0..n). */
void maf_rng_shuffle(maf_rng *r, uint32_t *idx, size_t n);

#ifdef __cplusplus
}
#endif
#endif
