/* flow.c - the public flow API: creation, initialisation and the three passes.
 *
 * Stages of a flow with batch norm: z0 = x -> MADE 0 -> z1 -> BN 0 -> z2 -> MADE 1 -> ...;
 * without: z0 -> MADE 0 -> z1 -> MADE 1 -> ... The stage buffers keep what backward needs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flow_impl.h"

#define MAF_MAX_DIM 10000

void maf_flow_config_default(maf_flow_config *cfg, int dim)
{
    *cfg = (maf_flow_config){
        .dim = dim,
        .blocks = 5,
        .hidden = 100,
        .layers = 1,
        .activation = MAF_ACT_RELU,
        .degrees = MAF_DEGREES_SEQUENTIAL,
        .order = MAF_ORDER_REVERSE,
        .batch_norm = true,
        .log_scale_bound = 2.0,
        .max_batch = 100,
        .seed = 1,
    };
}

static maf_status check_config(const maf_flow_config *c)
{
    if (c->dim < 1 || c->dim > MAF_MAX_DIM)
        return maf_fail(MAF_ERR_ARG, "flow: dim must be in 1..%d, got %d", MAF_MAX_DIM, c->dim);
    if (c->blocks < 1 || c->blocks > 1000)
        return maf_fail(MAF_ERR_ARG, "flow: blocks must be in 1..1000, got %d", c->blocks);
    if (c->hidden < 1 || c->hidden > 1000000)
        return maf_fail(MAF_ERR_ARG, "flow: hidden must be in 1..1000000, got %d", c->hidden);
    if (c->layers < 1 || c->layers > 100)
        return maf_fail(MAF_ERR_ARG, "flow: layers must be in 1..100, got %d", c->layers);
    if (c->activation != MAF_ACT_RELU && c->activation != MAF_ACT_TANH)
        return maf_fail(MAF_ERR_ARG, "flow: activation must be relu or tanh");
    if (c->degrees != MAF_DEGREES_SEQUENTIAL && c->degrees != MAF_DEGREES_RANDOM)
        return maf_fail(MAF_ERR_ARG, "flow: degrees must be sequential or random");
    if (c->order != MAF_ORDER_REVERSE && c->order != MAF_ORDER_RANDOM)
        return maf_fail(MAF_ERR_ARG, "flow: order must be reverse or random");
    if (!(c->log_scale_bound >= 0) || !isfinite(c->log_scale_bound))
        return maf_fail(MAF_ERR_ARG, "flow: log_scale_bound must be finite and >= 0, got %g",
                        c->log_scale_bound);
    if (c->max_batch < 1 || c->max_batch > (1 << 24))
        return maf_fail(MAF_ERR_ARG, "flow: max_batch must be in 1..%d, got %d", 1 << 24,
                        c->max_batch);
    return MAF_OK;
}

static void *zalloc(size_t n, size_t size)
{
    size_t bytes = (n * size + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p) memset(p, 0, bytes);
    return p;
}

maf_status maf_flow_create(const maf_flow_config *cfg, maf_flow **out)
{
    *out = NULL;
    if (!cfg) return maf_fail(MAF_ERR_ARG, "flow: config is NULL");
    maf_status st = check_config(cfg);
    if (st != MAF_OK) return st;
    maf_flow *f = calloc(1, sizeof *f);
    if (!f) return maf_fail(MAF_ERR_NOMEM, "flow: out of memory");
    f->cfg = *cfg;
    f->D = cfg->dim;
    f->K = cfg->blocks;
    f->H = cfg->hidden;
    f->L = cfg->layers;
    f->B = cfg->max_batch;
    f->train = true;
    f->n_saved = -1;
    st = layout_build(f);
    if (st != MAF_OK) goto out_free;

    size_t D = (size_t)f->D, B = (size_t)f->B, H = (size_t)f->H, K = (size_t)f->K;
    f->nz = 1 + f->K * (cfg->batch_norm ? 2 : 1);
    f->z = zalloc((size_t)f->nz * B * D, sizeof(maf_real));
    f->h = zalloc(K * (size_t)f->L * B * H, sizeof(maf_real));
    f->o = zalloc(K * B * 2 * D, sizeof(maf_real));
    f->alpha = zalloc(K * B * D, sizeof(maf_real));
    f->ex = zalloc(K * B * D, sizeof(maf_real));
    f->dh = zalloc(2 * B * H, sizeof(maf_real));
    f->dz = zalloc(B * D, sizeof(maf_real));
    f->bn_mean = zalloc(K * D, sizeof(double));
    f->bn_var = zalloc(K * D, sizeof(double));
    f->bt_mean = zalloc(K * D, sizeof(double));
    f->bt_var = zalloc(K * D, sizeof(double));
    f->red = zalloc(2 * D + 1, sizeof(double));
    f->row = zalloc(D + 2 * (size_t)(H > 2 * D ? H : 2 * D), sizeof(double));
    if (!f->z || !f->h || !f->o || !f->alpha || !f->ex || !f->dh || !f->dz || !f->bn_mean ||
        !f->bn_var || !f->bt_mean || !f->bt_var || !f->red || !f->row) {
        st = maf_fail(MAF_ERR_NOMEM, "flow: cannot allocate activations for %d rows", f->B);
        goto out_free;
    }
    for (size_t i = 0; i < K * D; i++) f->bn_var[i] = 1;
    *out = f;
    return MAF_OK;
out_free:
    maf_flow_free(f);
    return st;
}

void maf_flow_free(maf_flow *f)
{
    if (!f) return;
    free(f->tensors);
    free(f->w_off);
    free(f->b_off);
    free(f->lg_off);
    free(f->beta_off);
    free(f->deg_in);
    free(f->deg_h);
    free(f->params);
    free(f->grads);
    free(f->mask);
    free(f->z);
    free(f->h);
    free(f->o);
    free(f->alpha);
    free(f->ex);
    free(f->dh);
    free(f->dz);
    free(f->bn_mean);
    free(f->bn_var);
    free(f->bt_mean);
    free(f->bt_var);
    free(f->red);
    free(f->row);
    free(f->trace.shapes);
    free(f);
}

const maf_flow_config *maf_flow_get_config(const maf_flow *f)
{
    return &f->cfg;
}
size_t maf_flow_num_params(const maf_flow *f)
{
    return f->nparam;
}
size_t maf_flow_num_trainable(const maf_flow *f)
{
    return f->ntrainable;
}
maf_real *maf_flow_params(maf_flow *f)
{
    return f->params;
}
maf_real *maf_flow_grads(maf_flow *f)
{
    return f->grads;
}
const maf_real *maf_flow_param_mask(const maf_flow *f)
{
    return f->mask;
}
int maf_flow_num_tensors(const maf_flow *f)
{
    return f->ntensors;
}
const maf_tensor_info *maf_flow_tensor(const maf_flow *f, int i)
{
    return i >= 0 && i < f->ntensors ? &f->tensors[i] : NULL;
}
int maf_flow_find_tensor(const maf_flow *f, const char *name)
{
    for (int i = 0; i < f->ntensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return i;
    return -1;
}
const int *maf_flow_input_degrees(const maf_flow *f, int block)
{
    return block >= 0 && block < f->K ? f->deg_in + (size_t)block * f->D : NULL;
}
const int *maf_flow_hidden_degrees(const maf_flow *f, int block, int layer)
{
    if (block < 0 || block >= f->K || layer < 0 || layer >= f->L) return NULL;
    return f->deg_h + ((size_t)block * f->L + layer) * f->H;
}

void maf_flow_init_params(maf_flow *f, maf_rng *rng)
{
    memset(f->params, 0, f->nparam * sizeof(maf_real));
    for (int t = 0; t < f->ntensors; t++) {
        const maf_tensor_info *ti = &f->tensors[t];
        if (ti->kind != MAF_TENSOR_WEIGHT) continue; /* biases, log_gamma, beta: 0 */
        double sd = 1.0 / sqrt((double)ti->rows + 1.0);
        maf_real *w = f->params + ti->offset;
        for (size_t i = 0; i < (size_t)ti->rows * ti->cols; i++)
            w[i] = (maf_real)(sd * maf_rng_normal(rng));
    }
    maf_flow_apply_masks(f);
    for (size_t i = 0; i < (size_t)f->K * f->D; i++) {
        f->bn_mean[i] = 0;
        f->bn_var[i] = 1;
    }
    f->n_saved = -1;
}

void maf_flow_apply_masks(maf_flow *f)
{
    for (size_t i = 0; i < f->nparam; i++) f->params[i] *= f->mask[i];
}

void maf_flow_set_train(maf_flow *f, bool train)
{
    f->train = train;
    f->n_saved = -1;
}
bool maf_flow_is_train(const maf_flow *f)
{
    return f->train;
}

maf_status maf_flow_set_bn_stats(maf_flow *f, int layer, const double *mean, const double *var)
{
    if (!f->cfg.batch_norm) return maf_fail(MAF_ERR_STATE, "flow: batch norm is off");
    if (layer < 0 || layer >= f->K)
        return maf_fail(MAF_ERR_ARG, "flow: batch-norm layer %d out of range 0..%d", layer,
                        f->K - 1);
    for (int d = 0; d < f->D; d++)
        if (!isfinite(mean[d]) || !isfinite(var[d]) || var[d] < 0)
            return maf_fail(MAF_ERR_NUMERIC,
                            "flow: batch-norm layer %d statistics of dimension %d are not finite "
                            "(mean %g, var %g)",
                            layer, d, mean[d], var[d]);
    memcpy(f->bn_mean + (size_t)layer * f->D, mean, (size_t)f->D * sizeof *mean);
    memcpy(f->bn_var + (size_t)layer * f->D, var, (size_t)f->D * sizeof *var);
    return MAF_OK;
}

maf_status maf_flow_get_bn_stats(const maf_flow *f, int layer, double *mean, double *var)
{
    if (layer < 0 || layer >= f->K)
        return maf_fail(MAF_ERR_ARG, "flow: batch-norm layer %d out of range 0..%d", layer,
                        f->K - 1);
    memcpy(mean, f->bn_mean + (size_t)layer * f->D, (size_t)f->D * sizeof *mean);
    memcpy(var, f->bn_var + (size_t)layer * f->D, (size_t)f->D * sizeof *var);
    return MAF_OK;
}

void maf_flow_get_all_bn_stats(const maf_flow *f, double *stats)
{
    for (int k = 0; k < f->K; k++)
        maf_flow_get_bn_stats(f, k, stats + (size_t)k * 2 * f->D,
                              stats + (size_t)k * 2 * f->D + f->D);
}

maf_status maf_flow_set_all_bn_stats(maf_flow *f, const double *stats)
{
    for (int k = 0; k < f->K && f->cfg.batch_norm; k++) {
        maf_status st = maf_flow_set_bn_stats(f, k, stats + (size_t)k * 2 * f->D,
                                              stats + (size_t)k * 2 * f->D + f->D);
        if (st != MAF_OK) return st;
    }
    return MAF_OK;
}

void maf_flow_set_reducer(maf_flow *f, maf_reduce_fn fn, void *ctx)
{
    f->reduce = fn;
    f->reduce_ctx = ctx;
}

static maf_status check_rows(const maf_flow *f, int n, const char *what)
{
    if (n < 0 || n > f->B)
        return maf_fail(MAF_ERR_ARG, "flow: %s of %d rows; this flow takes 0..%d (max_batch)", what,
                        n, f->B);
    return MAF_OK;
}

/* Run every stage in the current mode; the output is in the last stage buffer. */
static maf_status run_stages(maf_flow *f, const maf_real *x, int n, double *logp)
{
    maf_real *z0 = flow_stage(f, 0);
    if (x != z0) memcpy(z0, x, (size_t)n * f->D * sizeof *x);
    int per = f->cfg.batch_norm ? 2 : 1;
    for (int s = 0; s < f->nz - 1; s++) {
        int k = s / per;
        const maf_real *in = flow_stage(f, s);
        maf_real *out = flow_stage(f, s + 1);
        if (s % per == 0) {
            made_forward(f, k, in, n, out, logp);
        } else if (f->train) {
            int rc = bn_forward_train(f, k, in, n, out, logp);
            if (rc == -1)
                return maf_fail(MAF_ERR_MPI, "flow: the batch-norm reduction failed (layer %d)", k);
            if (rc == -2)
                return maf_fail(MAF_ERR_ARG, "flow: batch norm in train mode needs rows, the "
                                             "global batch is empty");
        } else {
            bn_forward_eval(f, k, in, n, out, logp);
        }
    }
    return MAF_OK;
}

maf_status maf_flow_log_prob_row_f64(maf_flow *f, const double *x, double *logp)
{
    if (f->train && f->cfg.batch_norm)
        return maf_fail(MAF_ERR_STATE, "flow: the double-precision row pass is eval mode only");
    int D = f->D, H = f->H, L = f->L, wmax = H > 2 * D ? H : 2 * D;
    double *z = f->row, *a = z + D, *b = a + wmax, c = f->cfg.log_scale_bound, lp = 0;
    for (int d = 0; d < D; d++) z[d] = x[d];
    for (int k = 0; k < f->K; k++) {
        /* the masked MLP, layer by layer, ping-ponging between the scratch rows a and b; the
         * last layer leaves o = [m | raw log-scale] */
        const double *in = z;
        int fan_in = D;
        for (int l = 0; l <= L; l++) {
            size_t i = (size_t)k * (L + 1) + l;
            const maf_real *W = f->params + f->w_off[i], *bias = f->params + f->b_off[i];
            int cols = l < L ? H : 2 * D;
            double *out = in == a ? b : a; /* ping-pong between the two scratch rows */
            for (int j = 0; j < cols; j++) {
                double s = bias[j];
                for (int r = 0; r < fan_in; r++) s += in[r] * (double)W[(size_t)r * cols + j];
                if (l < L) s = f->cfg.activation == MAF_ACT_RELU ? (s > 0 ? s : 0) : tanh(s);
                out[j] = s;
            }
            in = out;
            fan_in = cols;
        }
        const double *o = in; /* [m | raw log-scale] */
        for (int d = 0; d < D; d++) {
            double al = c > 0 ? c * tanh(o[D + d] / c) : o[D + d];
            z[d] = (z[d] - o[d]) * exp(-al);
            lp -= al;
        }
        if (f->cfg.batch_norm) {
            const maf_real *lg = f->params + f->lg_off[k], *beta = f->params + f->beta_off[k];
            const double *mean = f->bn_mean + (size_t)k * D, *var = f->bn_var + (size_t)k * D;
            for (int d = 0; d < D; d++) {
                double v = var[d] + MAF_BN_EPS;
                z[d] = exp((double)lg[d]) * (z[d] - mean[d]) / sqrt(v) + beta[d];
                lp += (double)lg[d] - 0.5 * log(v);
            }
        }
    }
    for (int d = 0; d < D; d++) lp -= 0.5 * z[d] * z[d];
    *logp = lp - 0.5 * D * log(2.0 * M_PI);
    return MAF_OK;
}

maf_status maf_flow_log_prob(maf_flow *f, const maf_real *x, int n, double *logp)
{
    return maf_flow_forward(f, x, n, NULL, logp);
}

maf_status maf_flow_forward(maf_flow *f, const maf_real *x, int n, maf_real *u_out, double *logp)
{
    maf_status st = check_rows(f, n, "log_prob");
    if (st != MAF_OK) return st;
    f->n_saved = -1;
    for (int r = 0; r < n; r++) logp[r] = 0;
    st = run_stages(f, x, n, logp);
    if (st != MAF_OK) return st;
    const maf_real *u = flow_stage(f, f->nz - 1);
    const double base = -0.5 * f->D * log(2.0 * M_PI);
    for (int r = 0; r < n; r++) {
        const maf_real *ur = u + (size_t)r * f->D;
        double ss = 0;
        for (int d = 0; d < f->D; d++) ss += (double)ur[d] * ur[d];
        logp[r] += base - 0.5 * ss;
    }
    if (u_out) memcpy(u_out, u, (size_t)n * f->D * sizeof *u);
    if (f->train) f->n_saved = n;
    return MAF_OK;
}

maf_status maf_flow_backward(maf_flow *f, double scale, double l2)
{
    if (f->n_saved < 0)
        return maf_fail(MAF_ERR_STATE, "flow: backward needs a train-mode log_prob first");
    int n = f->n_saved, D = f->D, per = f->cfg.batch_norm ? 2 : 1;
    /* d(-log N(u))/du = u */
    const maf_real *u = flow_stage(f, f->nz - 1);
    maf_real *g = f->dz;
    for (size_t i = 0; i < (size_t)n * D; i++) g[i] = (maf_real)scale * u[i];
    for (int s = f->nz - 2; s >= 0; s--) {
        int k = s / per;
        if (s % per == 0) {
            made_backward(f, k, flow_stage(f, s), flow_stage(f, s + 1), n, g, scale, s > 0);
        } else if (bn_backward(f, k, flow_stage(f, s), n, g, scale) != 0) {
            return maf_fail(MAF_ERR_MPI, "flow: the batch-norm reduction failed (layer %d)", k);
        }
    }
    if (l2 != 0) {
        maf_real lam = (maf_real)l2;
        for (size_t i = 0; i < f->nparam; i++) f->grads[i] += lam * f->params[i];
    }
    return MAF_OK;
}

maf_status maf_flow_inverse(maf_flow *f, const maf_real *u, int n, maf_real *x)
{
    maf_status st = check_rows(f, n, "inverse");
    if (st != MAF_OK) return st;
    if (f->cfg.batch_norm && f->train)
        return maf_fail(MAF_ERR_STATE, "flow: the inverse needs eval mode (batch norm is on)");
    f->n_saved = -1;
    int D = f->D;
    maf_real *cur = f->dz, *tmp = flow_stage(f, 0);
    memcpy(cur, u, (size_t)n * D * sizeof *u);
    for (int k = f->K - 1; k >= 0; k--) {
        if (f->cfg.batch_norm) bn_inverse(f, k, cur, n, cur);
        made_inverse(f, k, cur, n, tmp);
        maf_real *t = cur;
        cur = tmp;
        tmp = t;
    }
    memcpy(x, cur, (size_t)n * D * sizeof *x);
    return MAF_OK;
}

maf_status maf_flow_sample(maf_flow *f, maf_rng *rng, int n, maf_real *x)
{
    maf_status st = check_rows(f, n, "sample");
    if (st != MAF_OK) return st;
    maf_real *u = f->dz;
#ifdef MAF_REAL_DOUBLE
    maf_rng_normal_fill_d(rng, u, (size_t)n * f->D);
#else
    maf_rng_normal_fill_f(rng, u, (size_t)n * f->D);
#endif
    return maf_flow_inverse(f, u, n, x);
}

maf_status maf_flow_compute_bn_stats(maf_flow *f, const maf_real *x, size_t n)
{
    maf_real *work = malloc((n ? n : 1) * (size_t)f->D * sizeof *work);
    if (!work) return maf_fail(MAF_ERR_NOMEM, "flow: out of memory for %zu rows of statistics", n);
    memcpy(work, x, n * (size_t)f->D * sizeof *work);
    maf_status st = maf_flow_compute_bn_stats_inplace(f, work, n);
    free(work);
    return st;
}

maf_status maf_flow_compute_bn_stats_inplace(maf_flow *f, maf_real *x, size_t n)
{
    if (!f->cfg.batch_norm) return maf_fail(MAF_ERR_STATE, "flow: batch norm is off");
    int D = f->D;
    f->train = false;
    f->n_saved = -1;
    double *acc = malloc((2 * (size_t)D + 1) * sizeof *acc);
    double *mean = malloc(2 * (size_t)D * sizeof *mean);
    double *logp = malloc((size_t)f->B * sizeof *logp);
    maf_status st = MAF_OK;
    if (!acc || !mean || !logp) {
        st = maf_fail(MAF_ERR_NOMEM, "flow: out of memory for batch-norm statistics");
        goto out;
    }
    double *var = mean + D;
    maf_real *out = flow_stage(f, 1);
    for (int k = 0; k < f->K; k++) {
        memset(acc, 0, (2 * (size_t)D + 1) * sizeof *acc);
        /* x <- MADE_k(x), accumulating the statistics of its output */
        for (size_t r0 = 0; r0 < n; r0 += (size_t)f->B) {
            int m = (int)(n - r0 < (size_t)f->B ? n - r0 : (size_t)f->B);
            maf_real *xc = x + r0 * D;
            made_forward(f, k, xc, m, out, logp);
            memcpy(xc, out, (size_t)m * D * sizeof *xc);
            bn_accumulate(xc, m, D, acc);
        }
        acc[2 * D] = (double)n;
        if (f->reduce && f->reduce(acc, 2 * D + 1, f->reduce_ctx) != 0) {
            st = maf_fail(MAF_ERR_MPI, "flow: the batch-norm reduction failed (layer %d)", k);
            goto out;
        }
        if (acc[2 * D] < 1) {
            st = maf_fail(MAF_ERR_DATA, "flow: no rows to compute batch-norm statistics from");
            goto out;
        }
        for (int d = 0; d < D; d++) {
            mean[d] = acc[d] / acc[2 * D];
            double v = acc[D + d] / acc[2 * D] - mean[d] * mean[d];
            var[d] = v > 0 ? v : 0;
        }
        if ((st = maf_flow_set_bn_stats(f, k, mean, var)) != MAF_OK) goto out;
        /* x <- BN_k(x) */
        for (size_t r0 = 0; r0 < n; r0 += (size_t)f->B) {
            int m = (int)(n - r0 < (size_t)f->B ? n - r0 : (size_t)f->B);
            bn_forward_eval(f, k, x + r0 * D, m, out, NULL);
            memcpy(x + r0 * D, out, (size_t)m * D * sizeof *x);
        }
    }
out:
    free(acc);
    free(mean);
    free(logp);
    return st;
}
