/* testutil.h - small helpers shared by the unit tests (header-only). */
#ifndef MAF_TESTUTIL_H
#define MAF_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maf/maf.h"

/* fail the cmocka test with the library's message if a call fails */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        maf_status st_ = (call);                                                                   \
        if (st_ != MAF_OK) fail_msg("%s -> %s: %s", #call, maf_status_str(st_), maf_last_error()); \
    } while (0)

static inline maf_flow *tu_flow(int D, int K, int H, int L, maf_activation act, bool bn,
                                double bound, int B, uint64_t seed)
{
    maf_flow_config c;
    maf_flow_config_default(&c, D);
    c.blocks = K;
    c.hidden = H;
    c.layers = L;
    c.activation = act;
    c.batch_norm = bn;
    c.log_scale_bound = bound;
    c.max_batch = B;
    c.seed = seed;
    maf_flow *f = NULL;
    if (maf_flow_create(&c, &f) != MAF_OK) {
        fprintf(stderr, "maf_flow_create: %s\n", maf_last_error());
        return NULL;
    }
    maf_rng rng;
    maf_rng_seed(&rng, seed, 99);
    maf_flow_init_params(f, &rng);
    return f;
}

/* perturb every trainable parameter a little so that biases and batch-norm parameters are not
 * at their (special) initial values of zero */
static inline void tu_jitter(maf_flow *f, double sd, uint64_t seed)
{
    maf_rng rng;
    maf_rng_seed(&rng, seed, 7);
    maf_real *p = maf_flow_params(f);
    const maf_real *m = maf_flow_param_mask(f);
    for (size_t i = 0; i < maf_flow_num_params(f); i++)
        p[i] += (maf_real)(sd * maf_rng_normal(&rng)) * m[i];
}

static inline void tu_normal(maf_real *x, size_t n, uint64_t seed)
{
    maf_rng rng;
    maf_rng_seed(&rng, seed, 3);
    for (size_t i = 0; i < n; i++) x[i] = (maf_real)maf_rng_normal(&rng);
}

/* log|det A| of an n x n row-major matrix by LU with partial pivoting (A is destroyed) */
static inline double tu_logabsdet(double *a, int n)
{
    double s = 0;
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[p * n + c])) p = r;
        if (p != c)
            for (int j = 0; j < n; j++) {
                double t = a[c * n + j];
                a[c * n + j] = a[p * n + j];
                a[p * n + j] = t;
            }
        double piv = a[c * n + c];
        if (piv == 0) return -INFINITY;
        s += log(fabs(piv));
        for (int r = c + 1; r < n; r++) {
            double fct = a[r * n + c] / piv;
            for (int j = c; j < n; j++) a[r * n + j] -= fct * a[c * n + j];
        }
    }
    return s;
}

static inline double tu_relerr(double a, double b, double floor)
{
    double d = fabs(a - b), m = fmax(fmax(fabs(a), fabs(b)), floor);
    return d / m;
}

#endif
