/* adam.c - Adam with bias correction and optional global-norm clipping, one fused pass. */
#include "maf/adam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

#ifdef MAF_REAL_DOUBLE
#define SQRT sqrt
#else
#define SQRT sqrtf
#endif

struct maf_adam {
    maf_adam_config cfg;
    size_t n;
    uint64_t t;
    maf_real *m, *v;
};

void maf_adam_config_default(maf_adam_config *cfg)
{
    *cfg = (maf_adam_config){
        .lr = 1e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .clip_norm = 0, .weight_decay = 0};
}

maf_status maf_adam_create(const maf_adam_config *cfg, size_t n, maf_adam **out)
{
    *out = NULL;
    if (!(cfg->lr > 0) || !(cfg->beta1 >= 0 && cfg->beta1 < 1) ||
        !(cfg->beta2 >= 0 && cfg->beta2 < 1) || !(cfg->eps > 0) || !(cfg->clip_norm >= 0) ||
        !(cfg->weight_decay >= 0))
        return maf_fail(MAF_ERR_ARG,
                        "adam: need lr > 0, 0 <= beta1, beta2 < 1, eps > 0, clip_norm >= 0, "
                        "weight_decay >= 0 (got lr %g beta1 %g beta2 %g eps %g clip_norm %g "
                        "weight_decay %g)",
                        cfg->lr, cfg->beta1, cfg->beta2, cfg->eps, cfg->clip_norm,
                        cfg->weight_decay);
    maf_adam *a = calloc(1, sizeof *a);
    if (!a) return maf_fail(MAF_ERR_NOMEM, "adam: out of memory");
    a->cfg = *cfg;
    a->n = n;
    a->m = calloc(n ? n : 1, sizeof *a->m);
    a->v = calloc(n ? n : 1, sizeof *a->v);
    if (!a->m || !a->v) {
        maf_adam_free(a);
        return maf_fail(MAF_ERR_NOMEM, "adam: cannot allocate moments for %zu parameters", n);
    }
    *out = a;
    return MAF_OK;
}

void maf_adam_free(maf_adam *a)
{
    if (!a) return;
    free(a->m);
    free(a->v);
    free(a);
}

MAF_SIMD_CLONES double maf_l2_norm(const maf_real *x, size_t n)
{
    /* four double accumulators: vectorisable and still far more exact than float */
    double s[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s[j] += (double)x[i + j] * x[i + j];
    for (; i < n; i++) s[0] += (double)x[i] * x[i];
    return sqrt((s[0] + s[1]) + (s[2] + s[3]));
}

/* the fused update pass; gs != 1 (clipped) also stores the applied gradient */
MAF_SIMD_CLONES static void adam_update(maf_real *restrict params, maf_real *restrict grads,
                                        maf_real *restrict m, maf_real *restrict v, size_t n,
                                        maf_real wd1, maf_real gs, maf_real b1, maf_real b2,
                                        maf_real c1, maf_real c2, maf_real step, maf_real isb2,
                                        maf_real eps)
{
    if (gs != 1) {
        for (size_t i = 0; i < n; i++) {
            maf_real g = (grads[i] + wd1 * params[i]) * gs;
            grads[i] = g;
            m[i] = b1 * m[i] + c1 * g;
            v[i] = b2 * v[i] + c2 * g * g;
            params[i] -= step * m[i] / (SQRT(v[i]) * isb2 + eps);
        }
    } else {
        /* the common case reads four arrays and writes three: memory-bound on large flows */
        for (size_t i = 0; i < n; i++) {
            maf_real g = grads[i] + wd1 * params[i];
            m[i] = b1 * m[i] + c1 * g;
            v[i] = b2 * v[i] + c2 * g * g;
            params[i] -= step * m[i] / (SQRT(v[i]) * isb2 + eps);
        }
    }
}

maf_status maf_adam_step(maf_adam *a, maf_real *restrict params, maf_real *restrict grads,
                         double *grad_norm)
{
    const maf_real wd = (maf_real)a->cfg.weight_decay;
    size_t n = a->n;
    maf_real gs = 1;
    if (grad_norm || a->cfg.clip_norm > 0) {
        if (wd != 0)
            for (size_t i = 0; i < n; i++) grads[i] += wd * params[i];
        double norm = maf_l2_norm(grads, n);
        if (grad_norm) *grad_norm = norm;
        if (!isfinite(norm)) {
            if (wd != 0) /* give the caller back the gradient it passed */
                for (size_t i = 0; i < n; i++) grads[i] -= wd * params[i];
            return maf_fail(MAF_ERR_NUMERIC, "adam: the gradient is not finite (norm %g)", norm);
        }
        if (a->cfg.clip_norm > 0 && norm > a->cfg.clip_norm)
            gs = (maf_real)(a->cfg.clip_norm / norm);
    }
    const maf_real wd1 = grad_norm || a->cfg.clip_norm > 0 ? 0 : wd; /* not yet added */
    a->t++;
    double bc1 = 1.0 - pow(a->cfg.beta1, (double)a->t);
    double bc2 = 1.0 - pow(a->cfg.beta2, (double)a->t);
    /* theta -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps): the bias corrections folded into two
     * scalars, one fused pass over the four arrays */
    const maf_real b1 = (maf_real)a->cfg.beta1, b2 = (maf_real)a->cfg.beta2;
    const maf_real c1 = (maf_real)(1.0 - a->cfg.beta1), c2 = (maf_real)(1.0 - a->cfg.beta2);
    const maf_real step = (maf_real)(a->cfg.lr / bc1), isb2 = (maf_real)(1.0 / sqrt(bc2));
    const maf_real eps = (maf_real)a->cfg.eps;
    adam_update(params, grads, a->m, a->v, n, wd1, gs, b1, b2, c1, c2, step, isb2, eps);
    return MAF_OK;
}

maf_real *maf_adam_m(maf_adam *a)
{
    return a->m;
}
maf_real *maf_adam_v(maf_adam *a)
{
    return a->v;
}
uint64_t maf_adam_steps(const maf_adam *a)
{
    return a->t;
}
void maf_adam_set_steps(maf_adam *a, uint64_t t)
{
    a->t = t;
}
size_t maf_adam_size(const maf_adam *a)
{
    return a->n;
}
const maf_adam_config *maf_adam_get_config(const maf_adam *a)
{
    return &a->cfg;
}
void maf_adam_set_lr(maf_adam *a, double lr)
{
    a->cfg.lr = lr;
}
