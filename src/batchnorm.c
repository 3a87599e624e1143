/* batchnorm.c - batch-norm layers of the flow (Papamakarios et al. 2017, eq. in section 3.4).
 *
 *     y = exp(log_gamma) * (x - mean) / sqrt(var + eps) + beta,
 *     log|det| = sum_d (log_gamma_d - 0.5 log(var_d + eps))   (the same for every row)
 *
 * Train mode: biased batch statistics, summed in double and, when a reducer is installed,
 * over the global batch of all processes (one reduction of 2D+1 doubles forward, one of 2D
 * backward), so that the gradient equals the single-process gradient on the union of the
 * batches. Eval mode: the stored statistics. */
#include <math.h>
#include <string.h>

#include "flow_impl.h"
#include "simd.h"

MAF_SIMD_CLONES void bn_accumulate(const maf_real *x, int n, int D, double *acc)
{
    for (int r = 0; r < n; r++) {
        const maf_real *xr = x + (size_t)r * D;
        for (int d = 0; d < D; d++) {
            double v = xr[d];
            acc[d] += v;
            acc[D + d] += v * v;
        }
    }
}

/* y = (x - mean) * scale + beta, and log-det added to every row */
MAF_SIMD_CLONES static void bn_apply(maf_flow *f, int k, const double *mean, const double *var,
                                     const maf_real *x, int n, maf_real *y, double *logp)
{
    int D = f->D;
    const maf_real *lg = f->params + f->lg_off[k], *beta = f->params + f->beta_off[k];
    maf_real mu[D], scale[D];
    double logdet = 0;
    for (int d = 0; d < D; d++) {
        double v = var[d] + MAF_BN_EPS;
        mu[d] = (maf_real)mean[d];
        scale[d] = (maf_real)(exp((double)lg[d]) / sqrt(v));
        logdet += (double)lg[d] - 0.5 * log(v);
    }
    for (int r = 0; r < n; r++) {
        const maf_real *xr = x + (size_t)r * D;
        maf_real *yr = y + (size_t)r * D;
        for (int d = 0; d < D; d++) yr[d] = (xr[d] - mu[d]) * scale[d] + beta[d];
        if (logp) logp[r] += logdet;
    }
}

int bn_forward_train(maf_flow *f, int k, const maf_real *x, int n, maf_real *y, double *logp)
{
    int D = f->D;
    double *acc = f->red;
    memset(acc, 0, (2 * (size_t)D + 1) * sizeof *acc);
    bn_accumulate(x, n, D, acc);
    acc[2 * D] = n;
    if (f->reduce && f->reduce(acc, 2 * D + 1, f->reduce_ctx) != 0) return -1;
    double N = acc[2 * D];
    if (N < 1) return -2;
    double *mean = f->bt_mean + (size_t)k * D, *var = f->bt_var + (size_t)k * D;
    for (int d = 0; d < D; d++) {
        mean[d] = acc[d] / N;
        double v = acc[D + d] / N - mean[d] * mean[d];
        var[d] = v > 0 ? v : 0;
    }
    f->bt_count = N;
    bn_apply(f, k, mean, var, x, n, y, logp);
    return 0;
}

void bn_forward_eval(maf_flow *f, int k, const maf_real *x, int n, maf_real *y, double *logp)
{
    size_t o = (size_t)k * f->D;
    bn_apply(f, k, f->bn_mean + o, f->bn_var + o, x, n, y, logp);
}

MAF_SIMD_CLONES int bn_backward(maf_flow *f, int k, const maf_real *x, int n, maf_real *g,
                                double scale)
{
    int D = f->D;
    const double *mean = f->bt_mean + (size_t)k * D, *var = f->bt_var + (size_t)k * D;
    const maf_real *lg = f->params + f->lg_off[k];
    maf_real *glg = f->grads + f->lg_off[k], *gbeta = f->grads + f->beta_off[k];
    double *sum = f->red; /* [sum dy | sum dy * xhat] over the local rows */
    maf_real mu[D], inv_sigma[D];
    for (int d = 0; d < D; d++) {
        mu[d] = (maf_real)mean[d];
        inv_sigma[d] = (maf_real)(1.0 / sqrt(var[d] + MAF_BN_EPS));
    }
    memset(sum, 0, 2 * (size_t)D * sizeof *sum);
    for (int r = 0; r < n; r++) {
        const maf_real *xr = x + (size_t)r * D, *gr = g + (size_t)r * D;
        for (int d = 0; d < D; d++) {
            maf_real xhat = (xr[d] - mu[d]) * inv_sigma[d];
            sum[d] += gr[d];
            sum[D + d] += (double)(gr[d] * xhat);
        }
    }
    /* local parameter gradients: y carries gamma * xhat + beta; the loss carries -log_gamma
     * per row (minus the log-det), n rows here */
    for (int d = 0; d < D; d++) {
        double gamma = exp((double)lg[d]);
        gbeta[d] = (maf_real)sum[d];
        glg[d] = (maf_real)(gamma * sum[D + d] - scale * n);
    }
    if (f->reduce && f->reduce(sum, 2 * D, f->reduce_ctx) != 0) return -1;
    double N = f->bt_count;
    /* dx = gamma/sigma (dy - mean(dy) - xhat mean(dy xhat)) + scale xhat / sigma, where the
     * last term is the gradient of +0.5 log(var + eps) per row through var */
    maf_real a[D], m1[D], m2[D], b[D];
    for (int d = 0; d < D; d++) {
        double gamma = exp((double)lg[d]);
        a[d] = (maf_real)(gamma)*inv_sigma[d];
        m1[d] = (maf_real)(sum[d] / N);
        m2[d] = (maf_real)(sum[D + d] / N);
        b[d] = (maf_real)scale * inv_sigma[d];
    }
    for (int r = 0; r < n; r++) {
        const maf_real *xr = x + (size_t)r * D;
        maf_real *gr = g + (size_t)r * D;
        for (int d = 0; d < D; d++) {
            maf_real xhat = (xr[d] - mu[d]) * inv_sigma[d];
            gr[d] = a[d] * (gr[d] - m1[d] - xhat * m2[d]) + b[d] * xhat;
        }
    }
    return 0;
}

void bn_inverse(maf_flow *f, int k, const maf_real *y, int n, maf_real *x)
{
    int D = f->D;
    const maf_real *lg = f->params + f->lg_off[k], *beta = f->params + f->beta_off[k];
    const double *mean = f->bn_mean + (size_t)k * D, *var = f->bn_var + (size_t)k * D;
    maf_real mu[D], scale[D];
    for (int d = 0; d < D; d++) {
        mu[d] = (maf_real)mean[d];
        scale[d] = (maf_real)(sqrt(var[d] + MAF_BN_EPS) * exp(-(double)lg[d]));
    }
    for (int r = 0; r < n; r++)
        for (int d = 0; d < D; d++) {
            size_t i = (size_t)r * D + d;
            x[i] = (y[i] - beta[d]) * scale[d] + mu[d];
        }
}
