/* vmath.h - exp and tanh for the elementwise passes, written so the compiler vectorises them.
 *
 * libm's expf/tanhf are scalar calls and dominated the non-GEMM time of a training step.
 * These inline versions are branch-free (range reduction to r in [-ln2/2, ln2/2], degree-6
 * polynomial, exponent by integer shift), so loops that call them become SIMD loops.
 * Accuracy (checked against libm in tests/test_vmath.c): exp relative error < 4e-7 on
 * [-87, 88] (the argument is clamped to that range: no inf, no denormals; NaN stays NaN);
 * tanh absolute error
 * < 3e-7. The double build (MAF_REAL_DOUBLE, used for gradient checks) uses libm. */
#ifndef MAF_VMATH_H
#define MAF_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "maf/real.h"

static inline float vm_expf(float x_in)
{
    /* clamped so that the exponent arithmetic below is defined for any input (a NaN goes to
     * -87 here and is passed through at the end) */
    float x = x_in > -87.0f ? x_in : -87.0f;
    x = x < 88.0f ? x : 88.0f;
    /* n = round(x / ln2) by the 1.5 * 2^23 trick (exact in round-to-nearest) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f;  /* ln2 split in a high part exact in float ... */
    r = r - n * 1.428606765330187045e-06f; /* ... and the rest */
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x_in == x_in ? p * scale : x_in;
}

static inline float vm_tanhf(float y)
{
    float a = y < 0 ? -y : y;
    /* large |y|: 1 - 2 / (exp(2|y|) + 1); small |y|: odd Taylor series (no cancellation) */
    float big = 1.0f - 2.0f / (vm_expf(2.0f * a) + 1.0f);
    float a2 = a * a;
    float small =
        a *
        (1.0f + a2 * (-1.0f / 3 + a2 * (2.0f / 15 + a2 * (-17.0f / 315 + a2 * (62.0f / 2835)))));
    float t = a < 0.25f ? small : big;
    return y < 0 ? -t : t;
}

#ifdef MAF_REAL_DOUBLE
#define MAF_EXP  exp
#define MAF_TANH tanh
#else
#define MAF_EXP  vm_expf
#define MAF_TANH vm_tanhf
#endif

#endif
