/* made.c - MADE block kernels: the masked network, the Gaussian transform and their gradients.
 *
 * Forward is plain GEMMs on pre-masked weights; bias, nonlinearity and the transform are fused
 * into one pass over each output. Backward writes every parameter gradient of the block
 * (weights by GEMM with beta = 0, biases by fused column sums), so no zeroing pass is needed;
 * weight gradients are multiplied by the mask so that masked entries stay exactly zero.
 * Shapes in comments: n rows, D inputs, H hidden units, L hidden layers. */
#include <math.h>
#include <string.h>

#include "flow_impl.h"
#include "simd.h"
#include "vmath.h"

#define EXP  MAF_EXP
#define TANH MAF_TANH

static inline maf_real *W(maf_flow *f, int k, int l)
{
    return f->params + f->w_off[(size_t)k * (f->L + 1) + l];
}
static inline maf_real *Bias(maf_flow *f, int k, int l)
{
    return f->params + f->b_off[(size_t)k * (f->L + 1) + l];
}

/* h (n,H) = act(h + b): bias and nonlinearity in one pass */
MAF_SIMD_CLONES static void bias_act(maf_real *restrict h, const maf_real *restrict b, int n, int H,
                                     maf_activation act)
{
    for (int r = 0; r < n; r++) {
        maf_real *hr = h + (size_t)r * H;
        if (act == MAF_ACT_RELU)
            for (int j = 0; j < H; j++) {
                maf_real v = hr[j] + b[j];
                hr[j] = v > 0 ? v : 0;
            }
        else
            for (int j = 0; j < H; j++) hr[j] = TANH(hr[j] + b[j]);
    }
}

void made_net(maf_flow *f, int k, const maf_real *x, int n)
{
    int D = f->D, H = f->H, L = f->L;
    const maf_real *in = x;
    int fan_in = D;
    for (int l = 0; l < L; l++) {
        maf_real *h = flow_hidden(f, k, l);
        /* h (n,H) = in (n,fan_in) . W_l (fan_in,H) */
        maf_gemm(&f->trace, false, false, n, H, fan_in, in, fan_in, W(f, k, l), H, false, h, H);
        bias_act(h, Bias(f, k, l), n, H, f->cfg.activation);
        in = h;
        fan_in = H;
    }
    /* o (n,2D) = h (n,H) . W_out (H,2D) */
    maf_gemm(&f->trace, false, false, n, 2 * D, H, in, H, W(f, k, L), 2 * D, false, flow_out(f, k),
             2 * D);
}

/* alpha <- c tanh(alpha / c) (if c > 0) and ex = exp(-alpha), over nd values */
MAF_SIMD_CLONES static void bound_and_exp(maf_real *restrict alpha, maf_real *restrict ex,
                                          size_t nd, maf_real c)
{
    if (c > 0) {
        const maf_real ic = 1 / c;
        for (size_t i = 0; i < nd; i++) alpha[i] = c * TANH(alpha[i] * ic);
    }
    for (size_t i = 0; i < nd; i++) ex[i] = EXP(-alpha[i]);
}

/* The Gaussian transform of n rows: alpha = bound(a), e = exp(-alpha), u = (x - m) e.
 * The transcendental part runs as one flat loop over n*D values (it vectorises whatever D is);
 * the per-row loops around it do only adds and multiplies. */
void made_forward(maf_flow *f, int k, const maf_real *x, int n, maf_real *u, double *logp)
{
    int D = f->D;
    const maf_real c = (maf_real)f->cfg.log_scale_bound;
    made_net(f, k, x, n);
    const maf_real *o = flow_out(f, k);
    const maf_real *bo = Bias(f, k, f->L);
    maf_real *restrict alpha = flow_alpha(f, k), *restrict ex = flow_ex(f, k);
    for (int r = 0; r < n; r++) {
        const maf_real *restrict oa = o + (size_t)r * 2 * D + D;
        maf_real *restrict ar = alpha + (size_t)r * D;
        for (int d = 0; d < D; d++) ar[d] = oa[d] + bo[D + d];
    }
    bound_and_exp(alpha, ex, (size_t)n * D, c);
    for (int r = 0; r < n; r++) {
        const maf_real *restrict om = o + (size_t)r * 2 * D;
        const maf_real *restrict xr = x + (size_t)r * D, *restrict er = ex + (size_t)r * D;
        maf_real *restrict ur = u + (size_t)r * D;
        for (int d = 0; d < D; d++) ur[d] = (xr[d] - (om[d] + bo[d])) * er[d];
        const maf_real *ar = alpha + (size_t)r * D;
        double alpha_sum = 0;
        for (int d = 0; d < D; d++) alpha_sum += ar[d];
        logp[r] -= alpha_sum;
    }
}

/* column sums of g (n,cols) into out (cols) */
MAF_SIMD_CLONES static void col_sums(const maf_real *restrict g, int n, int cols,
                                     maf_real *restrict out)
{
    memset(out, 0, (size_t)cols * sizeof *out);
    for (int r = 0; r < n; r++) {
        const maf_real *gr = g + (size_t)r * cols;
        for (int j = 0; j < cols; j++) out[j] += gr[j];
    }
}

/* dh (n,H) *= act'(h) in place, and db (H) = column sums of the result */
MAF_SIMD_CLONES static void act_backward(maf_real *restrict dh, const maf_real *restrict h, int n,
                                         int H, maf_activation act, maf_real *restrict db)
{
    memset(db, 0, (size_t)H * sizeof *db);
    for (int r = 0; r < n; r++) {
        maf_real *dr = dh + (size_t)r * H;
        const maf_real *hr = h + (size_t)r * H;
        if (act == MAF_ACT_RELU)
            for (int j = 0; j < H; j++) {
                maf_real v = hr[j] > 0 ? dr[j] : 0;
                dr[j] = v;
                db[j] += v;
            }
        else
            for (int j = 0; j < H; j++) {
                maf_real v = dr[j] * (1 - hr[j] * hr[j]);
                dr[j] = v;
                db[j] += v;
            }
    }
}

MAF_SIMD_CLONES static void apply_mask(maf_real *restrict g, const maf_real *restrict m,
                                       size_t size)
{
    for (size_t i = 0; i < size; i++) g[i] *= m[i];
}

/* Backward of the transform for one row: g holds dL/du on entry and the direct part of dL/dx
 * on exit; [dL/dm | dL/da] are written into om, oa for the GEMMs. The loss carries +alpha
 * per row (minus the log-det), scaled by s. */
MAF_SIMD_CLONES static void transform_row_backward(maf_real *restrict om, maf_real *restrict oa,
                                                   const maf_real *restrict e,
                                                   const maf_real *restrict alpha,
                                                   const maf_real *restrict u, maf_real *restrict g,
                                                   int D, maf_real c, maf_real s)
{
    const maf_real ic = c > 0 ? 1 / c : 0; /* ic = 0: unbounded, d alpha / d a = 1 */
    for (int d = 0; d < D; d++) {
        maf_real t = alpha[d] * ic, du = g[d];
        oa[d] = (s - du * u[d]) * (1 - t * t);
        g[d] = du * e[d];
        om[d] = -du * e[d];
    }
}

void made_backward(maf_flow *f, int k, const maf_real *x, const maf_real *u, int n, maf_real *g,
                   double scale, bool need_dx)
{
    int D = f->D, H = f->H, L = f->L;
    const maf_real c = (maf_real)f->cfg.log_scale_bound, s = (maf_real)scale;
    maf_real *o = flow_out(f, k); /* becomes [dL/dm | dL/da] */
    const maf_real *alpha = flow_alpha(f, k), *ex = flow_ex(f, k);
    for (int r = 0; r < n; r++) {
        size_t i = (size_t)r * D;
        transform_row_backward(o + 2 * i, o + 2 * i + D, ex + i, alpha + i, u + i, g + i, D, c, s);
    }
    size_t wi = (size_t)k * (L + 1);
    maf_real *hL = flow_hidden(f, k, L - 1);
    maf_real *dh = f->dh, *dh2 = f->dh + (size_t)f->B * H;
    col_sums(o, n, 2 * D, f->grads + f->b_off[wi + L]);
    /* dW_out (H,2D) = hL^T (H,n) . do (n,2D) */
    maf_real *gw = f->grads + f->w_off[wi + L];
    maf_gemm(&f->trace, true, false, H, 2 * D, n, hL, H, o, 2 * D, false, gw, 2 * D);
    apply_mask(gw, f->mask + f->w_off[wi + L], (size_t)H * 2 * D);
    /* dh (n,H) = do (n,2D) . W_out^T (2D,H) */
    maf_gemm(&f->trace, false, true, n, H, 2 * D, o, 2 * D, W(f, k, L), 2 * D, false, dh, H);
    for (int l = L - 1; l >= 0; l--) {
        act_backward(dh, flow_hidden(f, k, l), n, H, f->cfg.activation,
                     f->grads + f->b_off[wi + l]);
        const maf_real *in = l > 0 ? flow_hidden(f, k, l - 1) : x;
        int fan_in = l > 0 ? H : D;
        /* dW_l (fan_in,H) = in^T (fan_in,n) . dz (n,H) */
        gw = f->grads + f->w_off[wi + l];
        maf_gemm(&f->trace, true, false, fan_in, H, n, in, fan_in, dh, H, false, gw, H);
        apply_mask(gw, f->mask + f->w_off[wi + l], (size_t)fan_in * H);
        if (l > 0) {
            /* dh_prev (n,H) = dz (n,H) . W_l^T (H,H) */
            maf_gemm(&f->trace, false, true, n, H, H, dh, H, W(f, k, l), H, false, dh2, H);
            maf_real *t = dh;
            dh = dh2;
            dh2 = t;
        } else if (need_dx) {
            /* g (n,D) += dz (n,H) . W_0^T (H,D) */
            maf_gemm(&f->trace, false, true, n, D, H, dh, H, W(f, k, 0), H, true, g, D);
        }
    }
}

void made_inverse(maf_flow *f, int k, const maf_real *u, int n, maf_real *x)
{
    int D = f->D;
    const maf_real c = (maf_real)f->cfg.log_scale_bound;
    const int *deg = f->deg_in + (size_t)k * D;
    const maf_real *bo = Bias(f, k, f->L);
    memset(x, 0, (size_t)n * D * sizeof *x);
    /* pass t fixes the input of degree t, which depends only on inputs of degree < t */
    for (int t = 1; t <= D; t++) {
        made_net(f, k, x, n);
        const maf_real *o = flow_out(f, k);
        for (int d = 0; d < D; d++) {
            if (deg[d] != t) continue;
            for (int r = 0; r < n; r++) {
                const maf_real *orow = o + (size_t)r * 2 * D;
                maf_real a = orow[D + d] + bo[D + d];
                maf_real alpha = c > 0 ? c * TANH(a / c) : a;
                x[(size_t)r * D + d] = u[(size_t)r * D + d] * EXP(alpha) + orow[d] + bo[d];
            }
        }
    }
}
