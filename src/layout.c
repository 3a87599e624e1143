/* layout.c - orders, degrees, masks and the parameter layout table of a flow.
 *
 * Guarantees: one table defines every parameter tensor; params, grads and mask are single
 * flat arrays with each tensor at a 64-byte aligned offset; the masks make every MADE block
 * autoregressive in its order: output i depends on input j only if deg_in[j] < deg_in[i]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow_impl.h"

static size_t align_up(size_t n)
{
    return (n + MAF_ALIGN - 1) / MAF_ALIGN * MAF_ALIGN;
}

static void make_orders(maf_flow *f, maf_rng *rng)
{
    int D = f->D;
    for (int k = 0; k < f->K; k++) {
        int *deg = f->deg_in + (size_t)k * D;
        if (f->cfg.order == MAF_ORDER_RANDOM) {
            uint32_t perm[D];
            for (int i = 0; i < D; i++) perm[i] = (uint32_t)i;
            maf_rng_shuffle(rng, perm, (size_t)D);
            for (int p = 0; p < D; p++) deg[perm[p]] = p + 1;
        } else if (k == 0) {
            for (int i = 0; i < D; i++) deg[i] = i + 1;
        } else {
            const int *prev = deg - D;
            for (int i = 0; i < D; i++) deg[i] = D + 1 - prev[i];
        }
    }
}

static void make_hidden_degrees(maf_flow *f, maf_rng *rng)
{
    int D = f->D, H = f->H, hi = D > 1 ? D - 1 : 1;
    for (int k = 0; k < f->K; k++) {
        int lo = 1; /* smallest degree of the previous layer (inputs: 1) */
        for (int l = 0; l < f->L; l++) {
            int *deg = f->deg_h + ((size_t)k * f->L + l) * H;
            int next_lo = hi;
            for (int j = 0; j < H; j++) {
                if (f->cfg.degrees == MAF_DEGREES_RANDOM) {
                    int a = lo < hi ? lo : hi;
                    deg[j] = a + (int)maf_rng_below(rng, (uint64_t)(hi - a + 1));
                } else {
                    deg[j] = j % hi + 1;
                }
                if (deg[j] < next_lo) next_lo = deg[j];
            }
            lo = next_lo;
        }
    }
}

static void add_tensor(maf_flow *f, size_t *off, const char *name, maf_tensor_kind kind, int block,
                       int layer, int rows, int cols)
{
    maf_tensor_info *t = &f->tensors[f->ntensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->block = block;
    t->layer = layer;
    t->rows = rows;
    t->cols = cols;
    t->offset = *off;
    *off = align_up(*off + (size_t)rows * cols);
}

/* Fill the masks: 1 for trainable entries, 0 for masked weights and padding. */
static void make_masks(maf_flow *f)
{
    int D = f->D, H = f->H, L = f->L;
    f->ntrainable = 0;
    for (int t = 0; t < f->ntensors; t++) {
        const maf_tensor_info *ti = &f->tensors[t];
        maf_real *m = f->mask + ti->offset;
        size_t size = (size_t)ti->rows * ti->cols;
        if (ti->kind != MAF_TENSOR_WEIGHT) {
            for (size_t i = 0; i < size; i++) m[i] = 1;
            f->ntrainable += size;
            continue;
        }
        int k = ti->block, l = ti->layer;
        const int *deg_in = f->deg_in + (size_t)k * D;
        const int *prev = l == 0 ? deg_in : f->deg_h + ((size_t)k * L + l - 1) * H;
        const int *next = l < L ? f->deg_h + ((size_t)k * L + l) * H : NULL;
        for (int a = 0; a < ti->rows; a++)
            for (int b = 0; b < ti->cols; b++) {
                bool on = next ? prev[a] <= next[b] : prev[a] < deg_in[b % D];
                m[(size_t)a * ti->cols + b] = on ? 1 : 0;
                f->ntrainable += on;
            }
    }
}

maf_status layout_build(maf_flow *f)
{
    int D = f->D, H = f->H, L = f->L, K = f->K;
    int per_block = 2 * (L + 1) + (f->cfg.batch_norm ? 2 : 0);
    f->tensors = calloc((size_t)K * per_block, sizeof *f->tensors);
    f->w_off = calloc((size_t)K * (L + 1), sizeof *f->w_off);
    f->b_off = calloc((size_t)K * (L + 1), sizeof *f->b_off);
    f->lg_off = calloc((size_t)K, sizeof *f->lg_off);
    f->beta_off = calloc((size_t)K, sizeof *f->beta_off);
    f->deg_in = calloc((size_t)K * D, sizeof *f->deg_in);
    f->deg_h = calloc((size_t)K * L * H, sizeof *f->deg_h);
    if (!f->tensors || !f->w_off || !f->b_off || !f->lg_off || !f->beta_off || !f->deg_in ||
        !f->deg_h)
        return maf_fail(MAF_ERR_NOMEM, "flow: cannot allocate the layout table");

    maf_rng rng;
    maf_rng_seed(&rng, f->cfg.seed, 0x6f72646572ULL); /* stream "order" */
    make_orders(f, &rng);
    make_hidden_degrees(f, &rng);

    size_t off = 0;
    char name[32];
    for (int k = 0; k < K; k++) {
        for (int l = 0; l <= L; l++) {
            int fan_in = l == 0 ? D : H, fan_out = l == L ? 2 * D : H;
            size_t i = (size_t)k * (L + 1) + l;
            if (l < L)
                snprintf(name, sizeof name, "made%d.w%d", k, l);
            else
                snprintf(name, sizeof name, "made%d.w_out", k);
            f->w_off[i] = off;
            add_tensor(f, &off, name, MAF_TENSOR_WEIGHT, k, l, fan_in, fan_out);
            if (l < L)
                snprintf(name, sizeof name, "made%d.b%d", k, l);
            else
                snprintf(name, sizeof name, "made%d.b_out", k);
            f->b_off[i] = off;
            add_tensor(f, &off, name, MAF_TENSOR_BIAS, k, l, 1, fan_out);
        }
        if (f->cfg.batch_norm) {
            snprintf(name, sizeof name, "bn%d.log_gamma", k);
            f->lg_off[k] = off;
            add_tensor(f, &off, name, MAF_TENSOR_BN_LOG_GAMMA, k, -1, 1, D);
            snprintf(name, sizeof name, "bn%d.beta", k);
            f->beta_off[k] = off;
            add_tensor(f, &off, name, MAF_TENSOR_BN_BETA, k, -1, 1, D);
        }
    }
    f->nparam = off;
    f->params = aligned_alloc(64, off * sizeof(maf_real));
    f->grads = aligned_alloc(64, (off + MAF_GRAD_EXTRA) * sizeof(maf_real));
    f->mask = aligned_alloc(64, off * sizeof(maf_real));
    if (!f->params || !f->grads || !f->mask)
        return maf_fail(MAF_ERR_NOMEM, "flow: cannot allocate %zu parameters", off);
    memset(f->params, 0, off * sizeof(maf_real));
    memset(f->grads, 0, (off + MAF_GRAD_EXTRA) * sizeof(maf_real));
    memset(f->mask, 0, off * sizeof(maf_real));
    make_masks(f);
    return MAF_OK;
}
