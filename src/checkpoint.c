/* checkpoint.c - model and training-state files on top of the atomic HDF5 writer (h5io). */
#include "maf/checkpoint.h"

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maf/h5io.h"

#ifdef MAF_REAL_DOUBLE
#define put_real maf_h5w_put_f64
#define get_real maf_h5r_get_f64
#else
#define put_real maf_h5w_put_f32
#define get_real maf_h5r_get_f32
#endif

static const char *act_name(maf_activation a)
{
    return a == MAF_ACT_TANH ? "tanh" : "relu";
}
static const char *order_name(maf_order o)
{
    return o == MAF_ORDER_RANDOM ? "random" : "reverse";
}
static const char *degrees_name(maf_degrees d)
{
    return d == MAF_DEGREES_RANDOM ? "random" : "sequential";
}

#define TRY(call)                                                                                  \
    do {                                                                                           \
        st = (call);                                                                               \
        if (st != MAF_OK) goto out;                                                                \
    } while (0)

static maf_status put_tensors(maf_h5_writer *w, const maf_flow *f, const char *group,
                              const maf_real *values)
{
    char name[96];
    for (int t = 0; t < maf_flow_num_tensors(f); t++) {
        const maf_tensor_info *ti = maf_flow_tensor(f, t);
        snprintf(name, sizeof name, "%s/%s", group, ti->name);
        maf_status st = put_real(w, name, values + ti->offset, (size_t)ti->rows, (size_t)ti->cols);
        if (st != MAF_OK) return st;
    }
    return MAF_OK;
}

static maf_status put_bn(maf_h5_writer *w, const maf_flow *f, const char *group, const double *bn)
{
    const maf_flow_config *c = maf_flow_get_config(f);
    char name[96];
    for (int k = 0; k < c->blocks && c->batch_norm; k++) {
        const double *mean = bn + (size_t)k * 2 * c->dim, *var = mean + c->dim;
        snprintf(name, sizeof name, "%s/bn%d.mean", group, k);
        maf_status st = maf_h5w_put_f64(w, name, mean, 1, (size_t)c->dim);
        if (st != MAF_OK) return st;
        snprintf(name, sizeof name, "%s/bn%d.var", group, k);
        if ((st = maf_h5w_put_f64(w, name, var, 1, (size_t)c->dim)) != MAF_OK) return st;
    }
    return MAF_OK;
}

maf_status maf_ckpt_write(const char *path, const maf_ckpt_contents *c)
{
    maf_flow *f = c->flow;
    const maf_flow_config *fc = maf_flow_get_config(f);
    maf_h5_writer *w = NULL;
    double *bn = malloc(((size_t)fc->blocks * 2 * fc->dim + 1) * sizeof *bn);
    maf_status st = bn ? MAF_OK : maf_fail(MAF_ERR_NOMEM, "checkpoint: out of memory");
    if (st != MAF_OK) goto out;
    maf_flow_get_all_bn_stats(f, bn);
    TRY(maf_h5w_create(path, &w));
    TRY(maf_h5w_attr_str(w, "/", "format", "maf-checkpoint"));
    TRY(maf_h5w_attr_i64(w, "/", "format_version", MAF_CKPT_FORMAT_VERSION));
    TRY(maf_h5w_attr_str(w, "/", "kind", c->kind));
    TRY(maf_h5w_attr_str(w, "/", "config", c->config_text ? c->config_text : ""));
    TRY(maf_h5w_attr_i64(w, "/", "dim", fc->dim));
    TRY(maf_h5w_attr_i64(w, "/", "blocks", fc->blocks));
    TRY(maf_h5w_attr_i64(w, "/", "hidden", fc->hidden));
    TRY(maf_h5w_attr_i64(w, "/", "layers", fc->layers));
    TRY(maf_h5w_attr_str(w, "/", "activation", act_name(fc->activation)));
    TRY(maf_h5w_attr_i64(w, "/", "batch_norm", fc->batch_norm));
    TRY(maf_h5w_attr_str(w, "/", "order", order_name(fc->order)));
    TRY(maf_h5w_attr_str(w, "/", "degrees", degrees_name(fc->degrees)));
    TRY(maf_h5w_attr_f64(w, "/", "log_scale_bound", fc->log_scale_bound));
    TRY(maf_h5w_attr_i64(w, "/", "seed", (int64_t)fc->seed));
    TRY(put_tensors(w, f, "model", maf_flow_params(f)));
    for (int k = 0; k < fc->blocks; k++) {
        char name[96];
        snprintf(name, sizeof name, "model/made%d.input_degrees", k);
        TRY(maf_h5w_put_i32(w, name, maf_flow_input_degrees(f, k), 1, (size_t)fc->dim));
        int32_t *hd = malloc((size_t)fc->layers * fc->hidden * sizeof *hd);
        if (!hd) {
            st = maf_fail(MAF_ERR_NOMEM, "checkpoint: out of memory");
            goto out;
        }
        for (int l = 0; l < fc->layers; l++)
            memcpy(hd + (size_t)l * fc->hidden, maf_flow_hidden_degrees(f, k, l),
                   (size_t)fc->hidden * sizeof *hd);
        snprintf(name, sizeof name, "model/made%d.hidden_degrees", k);
        st = maf_h5w_put_i32(w, name, hd, (size_t)fc->layers, (size_t)fc->hidden);
        free(hd);
        if (st != MAF_OK) goto out;
    }
    TRY(put_bn(w, f, "model", bn));
    /* testing hook: die in the middle of a checkpoint write (tests that the old file survives):
     * MAF_FAULT_KILL_IN_CHECKPOINT = N (a number) kills in this process's Nth write, = NAME in
     * the first write of a file whose name ends with NAME (e.g. best.h5) */
    static int writes;
    const char *kill_at = getenv("MAF_FAULT_KILL_IN_CHECKPOINT");
    ++writes;
    if (kill_at && *kill_at) {
        char *end;
        long n = strtol(kill_at, &end, 10);
        size_t lp = strlen(path), lk = strlen(kill_at);
        if (*end ? lp >= lk && !strcmp(path + lp - lk, kill_at) : n == writes) {
            fprintf(stderr, "fault injection: killed while writing %s\n", path);
            raise(SIGKILL);
        }
    }
    TRY(maf_h5w_put_f64(w, "data/mean", c->stdz->mean, 1, (size_t)fc->dim));
    TRY(maf_h5w_put_f64(w, "data/std", c->stdz->std, 1, (size_t)fc->dim));
    TRY(maf_h5w_attr_f64(w, "/", "log_jacobian", c->stdz->log_jacobian));
    if (c->adam) {
        /* the moments share the parameters' layout table */
        TRY(put_tensors(w, f, "adam/m", maf_adam_m(c->adam)));
        TRY(put_tensors(w, f, "adam/v", maf_adam_v(c->adam)));
        TRY(maf_h5w_attr_i64(w, "/", "adam_steps", (int64_t)maf_adam_steps(c->adam)));
    }
    if (c->best_params) TRY(put_tensors(w, f, "best", c->best_params));
    if (c->best_bn) TRY(put_bn(w, f, "best", c->best_bn));
    if (c->data) {
        TRY(maf_h5w_attr_str(w, "/", "data_path", c->data->path));
        TRY(maf_h5w_put_i64(w, "data/rows", c->data->rows, 1, 3));
        TRY(maf_h5w_attr_i64(w, "/", "batch_size", c->data->batch_size));
    }
    if (c->state) {
        const maf_train_state *s = c->state;
        TRY(maf_h5w_attr_i64(w, "/", "step", s->step));
        TRY(maf_h5w_attr_i64(w, "/", "evals", s->evals));
        TRY(maf_h5w_attr_i64(w, "/", "bad_evals", s->bad_evals));
        TRY(maf_h5w_attr_i64(w, "/", "finished", s->finished));
        TRY(maf_h5w_attr_f64(w, "/", "best_val", s->best_val));
        TRY(maf_h5w_attr_f64(w, "/", "loss_sum", s->loss_sum));
        TRY(maf_h5w_attr_f64(w, "/", "loss_count", s->loss_count));
        TRY(maf_h5w_attr_i64(w, "/", "n_ranks", s->n_ranks));
        if (s->rng) TRY(maf_h5w_put_u64(w, "ranks/rng", s->rng, (size_t)s->n_ranks, 4));
        if (s->cursor) TRY(maf_h5w_put_i64(w, "ranks/cursor", s->cursor, (size_t)s->n_ranks, 1));
    }
    st = maf_h5w_commit(w);
    w = NULL;
out:
    if (w) maf_h5w_abort(w);
    free(bn);
    return st;
}

static maf_status get_tensors(maf_h5_reader *r, maf_flow *f, const char *group, maf_real *values)
{
    char name[96];
    for (int t = 0; t < maf_flow_num_tensors(f); t++) {
        const maf_tensor_info *ti = maf_flow_tensor(f, t);
        snprintf(name, sizeof name, "%s/%s", group, ti->name);
        maf_status st = get_real(r, name, values + ti->offset, (size_t)ti->rows, (size_t)ti->cols);
        if (st != MAF_OK) return st;
    }
    return MAF_OK;
}

static maf_status get_bn(maf_h5_reader *r, const maf_flow *f, const char *group, double *bn)
{
    const maf_flow_config *c = maf_flow_get_config(f);
    char name[96];
    for (int k = 0; k < c->blocks && c->batch_norm; k++) {
        double *mean = bn + (size_t)k * 2 * c->dim, *var = mean + c->dim;
        snprintf(name, sizeof name, "%s/bn%d.mean", group, k);
        maf_status st = maf_h5r_get_f64(r, name, mean, 1, (size_t)c->dim);
        if (st != MAF_OK) return st;
        snprintf(name, sizeof name, "%s/bn%d.var", group, k);
        if ((st = maf_h5r_get_f64(r, name, var, 1, (size_t)c->dim)) != MAF_OK) return st;
    }
    return MAF_OK;
}

/* every value finite (and >= 0 when nonneg): a damaged or crafted file is named, not trusted */
static maf_status check_values(const char *path, const char *what, const double *x, size_t n,
                               bool nonneg)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || (nonneg && x[i] < 0))
            return maf_fail(MAF_ERR_FORMAT, "%s: %s[%zu] = %g: expected a finite%s value", path,
                            what, i, x[i], nonneg ? " non-negative" : "");
    return MAF_OK;
}

static maf_status check_reals(const char *path, const maf_flow *f, const char *group,
                              const maf_real *x, bool nonneg)
{
    for (int t = 0; t < maf_flow_num_tensors(f); t++) {
        const maf_tensor_info *ti = maf_flow_tensor(f, t);
        const maf_real *v = x + ti->offset;
        for (size_t i = 0; i < (size_t)ti->rows * ti->cols; i++)
            if (!isfinite(v[i]) || (nonneg && v[i] < 0))
                return maf_fail(MAF_ERR_FORMAT, "%s: %s/%s[%zu] = %g: expected a finite%s value",
                                path, group, ti->name, i, (double)v[i],
                                nonneg ? " non-negative" : "");
    }
    return MAF_OK;
}

static maf_status int_range(const char *path, const char *name, int64_t v, int64_t lo, int64_t hi)
{
    if (v >= lo && v <= hi) return MAF_OK;
    return maf_fail(MAF_ERR_FORMAT, "%s: attribute %s = %lld is out of range (expected %lld..%lld)",
                    path, name, (long long)v, (long long)lo, (long long)hi);
}

static maf_status read_choice(maf_h5_reader *r, const char *name, const char *a, const char *b,
                              int *which)
{
    char *s = NULL;
    maf_status st = maf_h5r_attr_str(r, "/", name, &s);
    if (st != MAF_OK) return st;
    if (!strcmp(s, a))
        *which = 0;
    else if (!strcmp(s, b))
        *which = 1;
    else
        st = maf_fail(MAF_ERR_FORMAT, "%s: attribute %s = '%s': expected %s or %s", maf_h5r_path(r),
                      name, s, a, b);
    free(s);
    return st;
}

/* the standardisation: finite means, positive stds, log_jacobian = -sum(log std) */
static maf_status read_stdz(maf_h5_reader *r, int dim, maf_standardizer *stdz)
{
    const char *path = maf_h5r_path(r);
    maf_status st = maf_standardizer_identity(stdz, dim);
    if (st != MAF_OK) return st;
    TRY(maf_h5r_get_f64(r, "data/mean", stdz->mean, 1, (size_t)dim));
    TRY(maf_h5r_get_f64(r, "data/std", stdz->std, 1, (size_t)dim));
    TRY(maf_h5r_attr_f64(r, "/", "log_jacobian", &stdz->log_jacobian));
    TRY(check_values(path, "data/mean", stdz->mean, (size_t)dim, false));
    double lj = 0;
    for (int d = 0; d < dim; d++) {
        if (!(stdz->std[d] > 0) || !isfinite(stdz->std[d])) {
            st = maf_fail(MAF_ERR_FORMAT, "%s: data/std[%d] = %g: expected a positive value", path,
                          d, stdz->std[d]);
            goto out;
        }
        lj -= log(stdz->std[d]);
    }
    if (!(fabs(stdz->log_jacobian - lj) <= 1e-9 * fmax(1.0, fabs(lj))))
        st = maf_fail(MAF_ERR_FORMAT,
                      "%s: attribute log_jacobian = %.17g but -sum(log data/std) = "
                      "%.17g",
                      path, stdz->log_jacobian, lj);
out:
    if (st != MAF_OK) maf_standardizer_free(stdz);
    return st;
}

/* parameters (finite) and eval batch-norm statistics (finite, variances >= 0) of group */
static maf_status read_model(maf_h5_reader *r, maf_flow *f, const char *group, maf_real *params,
                             double *bn)
{
    const maf_flow_config *c = maf_flow_get_config(f);
    maf_status st = get_tensors(r, f, group, params);
    if (st == MAF_OK) st = check_reals(maf_h5r_path(r), f, group, params, false);
    if (st == MAF_OK) st = get_bn(r, f, group, bn);
    for (int k = 0; k < c->blocks && c->batch_norm && st == MAF_OK; k++) {
        char what[64];
        snprintf(what, sizeof what, "%s/bn%d.mean", group, k);
        st =
            check_values(maf_h5r_path(r), what, bn + (size_t)k * 2 * c->dim, (size_t)c->dim, false);
        snprintf(what, sizeof what, "%s/bn%d.var", group, k);
        if (st == MAF_OK)
            st = check_values(maf_h5r_path(r), what, bn + ((size_t)k * 2 + 1) * c->dim,
                              (size_t)c->dim, true);
    }
    return st;
}

/* read the architecture attributes into cfg */
static maf_status read_arch(maf_h5_reader *r, maf_flow_config *cfg)
{
    maf_status st;
    char *s = NULL;
    int64_t v, dim, blocks, hidden, layers, bn;
    double bound;
    TRY(maf_h5r_attr_str(r, "/", "format", &s));
    if (strcmp(s, "maf-checkpoint") != 0) {
        st = maf_fail(MAF_ERR_FORMAT, "%s: not a maf checkpoint (format '%s')", maf_h5r_path(r), s);
        goto out;
    }
    free(s);
    s = NULL;
    TRY(maf_h5r_attr_i64(r, "/", "format_version", &v));
    if (v != MAF_CKPT_FORMAT_VERSION) {
        st = maf_fail(MAF_ERR_FORMAT, "%s: checkpoint format version %lld, this maf reads %d",
                      maf_h5r_path(r), (long long)v, MAF_CKPT_FORMAT_VERSION);
        goto out;
    }
    const char *path = maf_h5r_path(r);
    TRY(maf_h5r_attr_i64(r, "/", "dim", &dim));
    TRY(int_range(path, "dim", dim, 1, 100000));
    TRY(maf_h5r_attr_i64(r, "/", "blocks", &blocks));
    TRY(int_range(path, "blocks", blocks, 1, 1000));
    TRY(maf_h5r_attr_i64(r, "/", "hidden", &hidden));
    TRY(int_range(path, "hidden", hidden, 1, 1000000));
    TRY(maf_h5r_attr_i64(r, "/", "layers", &layers));
    TRY(int_range(path, "layers", layers, 1, 100));
    TRY(maf_h5r_attr_i64(r, "/", "batch_norm", &bn));
    TRY(int_range(path, "batch_norm", bn, 0, 1));
    TRY(maf_h5r_attr_f64(r, "/", "log_scale_bound", &bound));
    if (!(bound >= 0) || !isfinite(bound)) {
        st = maf_fail(MAF_ERR_FORMAT,
                      "%s: attribute log_scale_bound = %g: expected a finite value >= 0", path,
                      bound);
        goto out;
    }
    TRY(maf_h5r_attr_i64(r, "/", "seed", &v));
    maf_flow_config_default(cfg, (int)dim);
    cfg->blocks = (int)blocks;
    cfg->hidden = (int)hidden;
    cfg->layers = (int)layers;
    cfg->batch_norm = bn != 0;
    cfg->log_scale_bound = bound;
    cfg->seed = (uint64_t)v;
    int which;
    TRY(read_choice(r, "activation", "relu", "tanh", &which));
    cfg->activation = which ? MAF_ACT_TANH : MAF_ACT_RELU;
    TRY(read_choice(r, "order", "reverse", "random", &which));
    cfg->order = which ? MAF_ORDER_RANDOM : MAF_ORDER_REVERSE;
    TRY(read_choice(r, "degrees", "sequential", "random", &which));
    cfg->degrees = which ? MAF_DEGREES_RANDOM : MAF_DEGREES_SEQUENTIAL;
out:
    free(s);
    return st;
}

maf_status maf_ckpt_load_model(const char *path, int max_batch, maf_flow **flow,
                               maf_standardizer *stdz)
{
    maf_h5_reader *r = NULL;
    maf_flow *f = NULL;
    double *bn = NULL;
    maf_flow_config cfg;
    maf_status st;
    *flow = NULL;
    memset(stdz, 0, sizeof *stdz);
    TRY(maf_h5r_open(path, &r));
    TRY(read_arch(r, &cfg));
    cfg.max_batch = max_batch;
    TRY(maf_flow_create(&cfg, &f));
    bn = calloc((size_t)cfg.blocks * 2 * cfg.dim + 1, sizeof *bn);
    if (!bn) {
        st = maf_fail(MAF_ERR_NOMEM, "out of memory");
        goto out;
    }
    TRY(read_model(r, f, "model", maf_flow_params(f), bn));
    maf_flow_apply_masks(f);
    TRY(maf_flow_set_all_bn_stats(f, bn));
    maf_flow_set_train(f, false);
    TRY(read_stdz(r, cfg.dim, stdz));
    *flow = f;
    f = NULL;
out:
    if (st != MAF_OK) maf_standardizer_free(stdz);
    maf_flow_free(f);
    free(bn);
    maf_h5r_close(r);
    return st;
}

/* a setting of the checkpoint against the configuration's, both printed as the config writes them
 * (names for the choices) */
static maf_status same_setting(const char *path, const char *key, const char *in_file,
                               const char *in_config)
{
    if (!strcmp(in_file, in_config)) return MAF_OK;
    return maf_fail(MAF_ERR_FORMAT,
                    "%s: checkpoint has [model] %s = %s, the configuration %s (resume with the "
                    "configuration it was trained with)",
                    path, key, in_file, in_config);
}

static maf_status same_arch(const char *path, const maf_flow_config *f, const maf_flow_config *c)
{
    char a[2][64];
    const struct {
        const char *key;
        int fv, cv;
    } ints[] = {{"blocks", f->blocks, c->blocks},
                {"hidden", f->hidden, c->hidden},
                {"layers", f->layers, c->layers}};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        snprintf(a[0], sizeof a[0], "%d", ints[i].fv);
        snprintf(a[1], sizeof a[1], "%d", ints[i].cv);
        maf_status st = same_setting(path, ints[i].key, a[0], a[1]);
        if (st != MAF_OK) return st;
    }
    snprintf(a[0], sizeof a[0], "%.17g", f->log_scale_bound);
    snprintf(a[1], sizeof a[1], "%.17g", c->log_scale_bound);
    maf_status st = same_setting(path, "batch_norm", f->batch_norm ? "true" : "false",
                                 c->batch_norm ? "true" : "false");
    if (st == MAF_OK)
        st = same_setting(path, "activation", act_name(f->activation), act_name(c->activation));
    if (st == MAF_OK) st = same_setting(path, "order", order_name(f->order), order_name(c->order));
    if (st == MAF_OK)
        st = same_setting(path, "degrees", degrees_name(f->degrees), degrees_name(c->degrees));
    if (st == MAF_OK) st = same_setting(path, "log_scale_bound", a[0], a[1]);
    return st;
}

maf_status maf_ckpt_load_train(const char *path, maf_flow *flow, maf_adam *adam,
                               maf_real *best_params, double *best_bn, maf_train_state *state,
                               maf_standardizer *stdz, maf_data_fingerprint *data)
{
    maf_h5_reader *r = NULL;
    double *bn = NULL;
    maf_flow_config file_cfg;
    const maf_flow_config *c = maf_flow_get_config(flow);
    maf_status st;
    memset(state, 0, sizeof *state);
    memset(stdz, 0, sizeof *stdz);
    memset(data, 0, sizeof *data);
    TRY(maf_h5r_open(path, &r));
    TRY(read_arch(r, &file_cfg));
    if (file_cfg.dim != c->dim) {
        st = maf_fail(MAF_ERR_DATA, "%s: checkpoint was trained on %d columns, the data has %d",
                      path, file_cfg.dim, c->dim);
        goto out;
    }
    TRY(same_arch(path, &file_cfg, c));
    bn = calloc((size_t)c->blocks * 2 * c->dim + 1, sizeof *bn);
    if (!bn) {
        st = maf_fail(MAF_ERR_NOMEM, "out of memory");
        goto out;
    }
    TRY(read_model(r, flow, "model", maf_flow_params(flow), bn));
    maf_flow_apply_masks(flow);
    TRY(maf_flow_set_all_bn_stats(flow, bn));
    int64_t t;
    TRY(get_tensors(r, flow, "adam/m", maf_adam_m(adam)));
    TRY(check_reals(path, flow, "adam/m", maf_adam_m(adam), false));
    TRY(get_tensors(r, flow, "adam/v", maf_adam_v(adam)));
    TRY(check_reals(path, flow, "adam/v", maf_adam_v(adam), true));
    TRY(read_model(r, flow, "best", best_params, best_bn));
    int64_t n_ranks;
    TRY(maf_h5r_attr_i64(r, "/", "step", &state->step));
    TRY(int_range(path, "step", state->step, 0, INT64_MAX / 2));
    TRY(maf_h5r_attr_i64(r, "/", "adam_steps", &t));
    TRY(int_range(path, "adam_steps", t, state->step, state->step)); /* one update per step */
    maf_adam_set_steps(adam, (uint64_t)t);
    TRY(maf_h5r_attr_i64(r, "/", "evals", &state->evals));
    TRY(int_range(path, "evals", state->evals, 0, state->step));
    TRY(maf_h5r_attr_i64(r, "/", "bad_evals", &state->bad_evals));
    TRY(int_range(path, "bad_evals", state->bad_evals, 0, state->evals));
    TRY(maf_h5r_attr_i64(r, "/", "finished", &state->finished));
    TRY(int_range(path, "finished", state->finished, 0, 1));
    TRY(maf_h5r_attr_f64(r, "/", "best_val", &state->best_val));
    TRY(maf_h5r_attr_f64(r, "/", "loss_sum", &state->loss_sum));
    TRY(maf_h5r_attr_f64(r, "/", "loss_count", &state->loss_count));
    if (isnan(state->best_val) || state->best_val == INFINITY || !isfinite(state->loss_sum) ||
        !(state->loss_count >= 0) || !isfinite(state->loss_count)) {
        st = maf_fail(MAF_ERR_FORMAT,
                      "%s: best_val = %g, loss_sum = %g, loss_count = %g: expected a finite (or "
                      "-inf) best_val and finite sums, loss_count >= 0",
                      path, state->best_val, state->loss_sum, state->loss_count);
        goto out;
    }
    TRY(read_stdz(r, c->dim, stdz));
    /* what the run was trained on (absent in older checkpoints: unknown) */
    data->rows[0] = data->rows[1] = data->rows[2] = data->batch_size = -1;
    data->seed = file_cfg.seed;
    if (maf_h5r_has(r, "data/rows")) {
        char *dp = NULL;
        TRY(maf_h5r_get_i64(r, "data/rows", data->rows, 1, 3));
        TRY(maf_h5r_attr_i64(r, "/", "batch_size", &data->batch_size));
        TRY(maf_h5r_attr_str(r, "/", "data_path", &dp));
        snprintf(data->path, sizeof data->path, "%s", dp);
        free(dp);
    }
    TRY(maf_h5r_attr_i64(r, "/", "n_ranks", &n_ranks));
    TRY(int_range(path, "n_ranks", n_ranks, 1, 10000000));
    state->n_ranks = (int)n_ranks;
    state->rng = malloc((size_t)n_ranks * 4 * sizeof *state->rng);
    state->cursor = malloc((size_t)n_ranks * sizeof *state->cursor);
    if (!state->rng || !state->cursor) {
        st = maf_fail(MAF_ERR_NOMEM, "out of memory");
        goto out;
    }
    TRY(maf_h5r_get_u64(r, "ranks/rng", state->rng, (size_t)n_ranks, 4));
    TRY(maf_h5r_get_i64(r, "ranks/cursor", state->cursor, (size_t)n_ranks, 1));
    for (int64_t k = 0; k < n_ranks; k++) {
        const uint64_t *s = state->rng + k * 4;
        if (!(s[0] | s[1] | s[2] | s[3])) {
            st = maf_fail(MAF_ERR_FORMAT, "%s: ranks/rng row %lld is all zero (not a valid state)",
                          path, (long long)k);
            goto out;
        }
        char what[48];
        snprintf(what, sizeof what, "ranks/cursor[%lld]", (long long)k);
        TRY(int_range(path, what, state->cursor[k], 0, INT64_MAX / 2));
    }
out:
    if (st != MAF_OK) {
        free(state->rng);
        free(state->cursor);
        state->rng = NULL;
        state->cursor = NULL;
        maf_standardizer_free(stdz);
    }
    free(bn);
    maf_h5r_close(r);
    return st;
}
