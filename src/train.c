/* train.c - the data-parallel trainer (see train.h for the contract).
 *
 * Guarantees: every rank applies the same update (one gradient allreduce per step); a stop
 * request anywhere stops all ranks after the same step; any failure is agreed on by all ranks
 * before anyone returns (no rank is left waiting in a collective); nothing in the step loop
 * allocates; the state written to latest.h5 is enough to continue bitwise identically. */
#include "maf/train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maf/adam.h"
#include "maf/checkpoint.h"
#include "maf/data.h"
#include "maf/evallog.h"
#include "maf/flow.h"
#include "maf/mpiutil.h"
#include "clock.h"

enum { SLOT_STOP = 0, SLOT_LOSS = 1, SLOT_NONFINITE = 2, NSLOTS = 3 };

typedef struct {
    MPI_Comm comm;
    double seconds; /* time spent in reductions */
} reducer_ctx;

typedef struct {
    const maf_config *cfg;
    const maf_train_options *opt;
    MPI_Comm comm;
    int rank, size;
    char *config_text;
    char path_latest[4200], path_best[4200], path_log[4200], path_lock[4200];
    int lock_fd; /* rank 0: the folder lock, held until maf_train returns */

    maf_shard train, val, test;
    maf_standardizer stdz;
    maf_flow *flow;
    maf_adam *adam;
    int D, K, local_batch, chunk;
    size_t nparam;

    uint32_t *perm;         /* this rank's shuffled training rows */
    size_t cursor;          /* next position in perm */
    maf_rng rng;            /* shuffle stream, advanced by each shuffle */
    maf_rng rng_at_shuffle; /* its state before the current permutation was drawn */

    maf_real *batch;
    double *logp;
    maf_real *best_params;
    double *best_bn;
    maf_real *bn_work; /* copy of the training shard for the batch-norm statistics pass */
    double *xrow;      /* D: one row in double, for the double-precision evaluation of far rows */
    maf_data_fingerprint fp; /* what this run trains on, stored in every checkpoint */

    maf_train_state state;
    int64_t steps_per_epoch;
    reducer_ctx red;
    maf_evallog *log;
    int64_t test_stop_step; /* testing hook, see train.h; 0 = off */
} trainer;

static void say(trainer *t, const char *fmt, ...)
{
    if (t->rank != 0 || !t->opt->message) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    t->opt->message(buf, t->opt->ctx);
}

static int timed_reduce(double *buf, int n, void *ctx)
{
    reducer_ctx *r = ctx;
    double t0 = maf_now();
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, r->comm);
    r->seconds += maf_now() - t0;
    return rc == MPI_SUCCESS ? 0 : -1;
}

/* ---- data ---- */

static maf_status load_data(trainer *t)
{
    const maf_config *c = t->cfg;
    maf_status st = maf_data_read(c->path, c->train, c->builtin_rows, c->seed, t->comm, &t->train);
    if (st == MAF_OK)
        st = maf_data_read(c->path, c->val, c->builtin_rows, c->seed, t->comm, &t->val);
    if (st == MAF_OK)
        st = maf_data_read(c->path, c->test, c->builtin_rows, c->seed, t->comm, &t->test);
    if (st != MAF_OK) return st;
    t->D = t->train.dim;
    if (t->val.dim != t->D || t->test.dim != t->D)
        return maf_fail(MAF_ERR_DATA, "%s: train has %d columns but val has %d and test %d",
                        c->path, t->D, t->val.dim, t->test.dim);
    if (t->train.global_rows < (size_t)t->size)
        return maf_fail(MAF_ERR_DATA,
                        "%s has %zu rows but %d ranks are training: every rank needs at least one "
                        "training row (use fewer ranks)",
                        t->train.source, t->train.global_rows, t->size);
    if (t->val.global_rows < 1 || t->test.global_rows < 1)
        return maf_fail(MAF_ERR_DATA, "%s: the val and test splits need at least one row", c->path);
    if ((size_t)c->batch_size > t->train.global_rows)
        return maf_fail(MAF_ERR_CONFIG,
                        "[train] batch_size = %d is larger than the %zu training rows of %s: rows "
                        "would repeat within a batch (use at most %zu)",
                        c->batch_size, t->train.global_rows, t->train.source, t->train.global_rows);
    if (c->batch_size < t->size)
        return maf_fail(MAF_ERR_CONFIG,
                        "[train] batch_size = %d is smaller than the %d ranks: every rank needs at "
                        "least one row per step",
                        c->batch_size, t->size);
    st = c->standardize ? maf_standardizer_fit(&t->stdz, &t->train, t->comm)
                        : maf_standardizer_identity(&t->stdz, t->D);
    if (st != MAF_OK) return st;
    st = maf_standardizer_apply(&t->stdz, &t->train);
    if (st == MAF_OK) st = maf_standardizer_apply(&t->stdz, &t->val);
    if (st == MAF_OK) st = maf_standardizer_apply(&t->stdz, &t->test);
    return maf_mpi_agree(t->comm, st);
}

/* ---- set-up: everything the step loop needs is allocated here ---- */

static maf_status setup(trainer *t)
{
    const maf_config *c = t->cfg;
    /* this rank's share of the global batch by the same rule as its share of the rows, so every
     * training row is drawn at the same rate B/N whatever the rank count, and the shares add up
     * to batch_size (with B = N, a step is exactly one pass over the training set) */
    size_t first_in_batch, share;
    maf_shard_range((size_t)c->batch_size, t->rank, t->size, &first_in_batch, &share);
    t->local_batch = (int)share;
    t->chunk = t->local_batch > 1024 ? t->local_batch : 1024;
    maf_flow_config fc;
    maf_flow_config_default(&fc, t->D);
    fc.blocks = c->blocks;
    fc.hidden = c->hidden;
    fc.layers = c->layers;
    fc.activation = c->activation;
    fc.batch_norm = c->batch_norm;
    fc.order = c->order;
    fc.degrees = c->degrees;
    fc.log_scale_bound = c->log_scale_bound;
    fc.max_batch = t->chunk;
    fc.seed = c->seed;
    maf_status st = maf_flow_create(&fc, &t->flow);
    if (st != MAF_OK) return st;
    t->K = c->blocks;
    t->nparam = maf_flow_num_params(t->flow);
    maf_rng init;
    maf_rng_seed(&init, c->seed, 0); /* the same stream on every rank: identical replicas */
    maf_flow_init_params(t->flow, &init);
    t->red.comm = t->comm;
    maf_flow_set_reducer(t->flow, timed_reduce, &t->red);
    maf_adam_config ac;
    maf_adam_config_default(&ac);
    ac.lr = c->lr;
    ac.clip_norm = c->clip_norm;
    ac.weight_decay = c->weight_decay;
    if ((st = maf_adam_create(&ac, t->nparam, &t->adam)) != MAF_OK) return st;

    size_t n = t->train.rows;
    t->perm = malloc((n ? n : 1) * sizeof *t->perm);
    t->batch = malloc((size_t)t->chunk * t->D * sizeof *t->batch);
    t->logp = malloc((size_t)t->chunk * sizeof *t->logp);
    t->best_params = calloc(t->nparam, sizeof *t->best_params);
    t->best_bn = calloc((size_t)t->K * 2 * t->D + 1, sizeof *t->best_bn);
    t->bn_work = c->batch_norm ? malloc((n ? n : 1) * t->D * sizeof *t->bn_work) : NULL;
    t->xrow = malloc((size_t)t->D * sizeof *t->xrow);
    t->state.n_ranks = t->size;
    t->state.rng = calloc((size_t)t->size * 4, sizeof *t->state.rng);
    t->state.cursor = calloc((size_t)t->size, sizeof *t->state.cursor);
    if (!t->perm || !t->batch || !t->logp || !t->best_params || !t->best_bn ||
        (c->batch_norm && !t->bn_work) || !t->xrow || !t->state.rng || !t->state.cursor)
        return maf_fail(MAF_ERR_NOMEM, "trainer: out of memory for %zu training rows", n);
    t->steps_per_epoch = (int64_t)((t->train.global_rows + c->batch_size - 1) / c->batch_size);
    t->state.best_val = -INFINITY;
    t->fp =
        (maf_data_fingerprint){.rows = {(int64_t)t->train.global_rows, (int64_t)t->val.global_rows,
                                        (int64_t)t->test.global_rows},
                               .batch_size = c->batch_size,
                               .seed = c->seed};
    snprintf(t->fp.path, sizeof t->fp.path, "%s", c->path);
    /* until validation improves, the best model is the initial one */
    memcpy(t->best_params, maf_flow_params(t->flow), t->nparam * sizeof *t->best_params);
    maf_flow_get_all_bn_stats(t->flow, t->best_bn);
    maf_rng_seed(&t->rng, c->seed, 1000 + (uint64_t)t->rank);
    const char *stop_at = getenv("MAF_TEST_STOP_AT_STEP"),
               *stop_rank = getenv("MAF_TEST_STOP_RANK");
    if (stop_at && (stop_rank ? atoi(stop_rank) : t->size - 1) == t->rank)
        t->test_stop_step = atoll(stop_at);
    return MAF_OK;
}

/* a new pass over this rank's rows: identity, then a shuffle; the RNG state before it is kept
 * so that a resumed run can draw the same permutation again */
static void reshuffle(trainer *t)
{
    t->rng_at_shuffle = t->rng;
    for (size_t i = 0; i < t->train.rows; i++) t->perm[i] = (uint32_t)i;
    maf_rng_shuffle(&t->rng, t->perm, t->train.rows);
    t->cursor = 0;
}

static void next_batch(trainer *t)
{
    int D = t->D;
    for (int i = 0; i < t->local_batch; i++) {
        if (t->cursor >= t->train.rows) reshuffle(t);
        memcpy(t->batch + (size_t)i * D, t->train.x + (size_t)t->perm[t->cursor++] * D,
               (size_t)D * sizeof *t->batch);
    }
}

/* ---- evaluation ---- */

/* the paper's eval statistics: every batch-norm layer over the whole training set */
static maf_status refresh_bn_stats(trainer *t)
{
    if (!t->cfg->batch_norm) {
        maf_flow_set_train(t->flow, false);
        return MAF_OK;
    }
    memcpy(t->bn_work, t->train.x, t->train.rows * t->D * sizeof *t->bn_work);
    return maf_flow_compute_bn_stats_inplace(t->flow, t->bn_work, t->train.rows);
}

/* sum of log p over a shard (data units), its count, and the non-finite rows */
static maf_status eval_sum(trainer *t, const maf_shard *s, double *out3, double *all_logp)
{
    double sum = 0, nonfinite = 0, first_bad = INFINITY;
    for (size_t r0 = 0; r0 < s->rows; r0 += (size_t)t->chunk) {
        int m = (int)(s->rows - r0 < (size_t)t->chunk ? s->rows - r0 : (size_t)t->chunk);
        maf_status st = maf_flow_log_prob(t->flow, s->x + r0 * t->D, m, t->logp);
        if (st != MAF_OK) return st;
        for (int i = 0; i < m; i++) {
            if (!isfinite(t->logp[i])) {
                /* a row far from the data overflows the float pass: again in double */
                for (int d = 0; d < t->D; d++) t->xrow[d] = s->x[(r0 + i) * t->D + d];
                st = maf_flow_log_prob_row_f64(t->flow, t->xrow, &t->logp[i]);
                if (st != MAF_OK) return st;
            }
            double lp = t->logp[i] + t->stdz.log_jacobian;
            if (all_logp) all_logp[r0 + i] = lp;
            if (isfinite(lp)) {
                sum += lp;
            } else {
                nonfinite++;
                if (first_bad == INFINITY) first_bad = (double)(s->first_row + r0 + i);
            }
        }
    }
    out3[0] = sum;
    out3[1] = nonfinite;
    out3[2] = first_bad;
    return MAF_OK;
}

static maf_status evaluate_val(trainer *t, double *val, int64_t *nonfinite)
{
    maf_status st = refresh_bn_stats(t);
    double acc[3] = {0, 0, INFINITY};
    if (st == MAF_OK) st = eval_sum(t, &t->val, acc, NULL);
    st = maf_mpi_agree(t->comm, st);
    maf_flow_set_train(t->flow, true);
    if (st != MAF_OK) return st;
    double first = acc[2];
    MAF_MPI(MPI_Allreduce(MPI_IN_PLACE, acc, 2, MPI_DOUBLE, MPI_SUM, t->comm));
    MAF_MPI(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_DOUBLE, MPI_MIN, t->comm));
    *nonfinite = (int64_t)acc[1];
    double good = (double)t->val.global_rows - acc[1];
    *val = acc[1] > 0 ? -INFINITY : acc[0] / good;
    if (acc[1] > 0)
        say(t,
            "warning: %s: %lld of %zu rows have a non-finite log-likelihood (first: row %.0f); "
            "validation counts as -inf",
            t->val.source, (long long)acc[1], t->val.global_rows, first);
    return MAF_OK;
}

/* ---- checkpoints ---- */

static maf_status gather_state(trainer *t)
{
    uint64_t mine[5];
    memcpy(mine, t->rng_at_shuffle.s, sizeof t->rng_at_shuffle.s);
    mine[4] = (uint64_t)t->cursor;
    uint64_t *all = t->rank == 0 ? malloc((size_t)t->size * 5 * sizeof *all) : NULL;
    if (t->rank == 0 && !all) return maf_fail(MAF_ERR_NOMEM, "out of memory");
    int rc = MPI_Gather(mine, 5, MPI_UINT64_T, all, 5, MPI_UINT64_T, 0, t->comm);
    if (rc != MPI_SUCCESS) {
        free(all);
        return maf_mpi_fail(rc, "MPI_Gather", __FILE__, __LINE__);
    }
    if (t->rank == 0) {
        for (int r = 0; r < t->size; r++) {
            memcpy(t->state.rng + (size_t)r * 4, all + (size_t)r * 5, 4 * sizeof *all);
            t->state.cursor[r] = (int64_t)all[(size_t)r * 5 + 4];
        }
        free(all);
    }
    return MAF_OK;
}

/* Collective; rank 0 writes. kind "latest" carries everything needed to resume. */
static maf_status write_checkpoint(trainer *t, const char *path, const char *kind, bool full)
{
    /* every rank's RNG and cursor only where a resume reads them (latest.h5) */
    maf_status st = full ? gather_state(t) : MAF_OK;
    maf_train_state state = t->state;
    if (!full) state.rng = NULL, state.cursor = NULL;
    if (st == MAF_OK && t->rank == 0) {
        maf_ckpt_contents c = {.kind = kind,
                               .data = &t->fp,
                               .config_text = t->config_text,
                               .flow = t->flow,
                               .stdz = &t->stdz,
                               .adam = full ? t->adam : NULL,
                               .best_params = full ? t->best_params : NULL,
                               .best_bn = full ? t->best_bn : NULL,
                               .state = &state};
        st = maf_ckpt_write(path, &c);
    }
    return maf_mpi_agree(t->comm, st);
}

/* the data and settings of a resumed run against the checkpoint's: other data is refused, a
 * changed batch size, seed or path is said */
static maf_status check_fingerprint(trainer *t, const maf_data_fingerprint *fp,
                                    const maf_standardizer *file_stdz)
{
    const maf_config *c = t->cfg;
    const size_t now[3] = {t->train.global_rows, t->val.global_rows, t->test.global_rows};
    if (fp->rows[0] >= 0 && (fp->rows[0] != (int64_t)now[0] || fp->rows[1] != (int64_t)now[1] ||
                             fp->rows[2] != (int64_t)now[2]))
        return maf_fail(MAF_ERR_DATA,
                        "%s was trained on '%s' with %lld/%lld/%lld train/val/test rows; [data] "
                        "path = %s has %zu/%zu/%zu: resuming on other data is refused (start "
                        "anew with --overwrite, or another [output] dir)",
                        t->path_latest, fp->path, (long long)fp->rows[0], (long long)fp->rows[1],
                        (long long)fp->rows[2], c->path, now[0], now[1], now[2]);
    for (int d = 0; d < t->D; d++) {
        double m0 = file_stdz->mean[d], s0 = file_stdz->std[d];
        if (fabs(t->stdz.mean[d] - m0) > 1e-9 * s0 || fabs(t->stdz.std[d] / s0 - 1) > 1e-9)
            return maf_fail(MAF_ERR_DATA,
                            "%s: the training split's column %d has mean %.10g and std %.10g, "
                            "the checkpoint's standardisation %.10g and %.10g: the data (or [data] "
                            "standardize) changed; resuming on other data is refused",
                            t->path_latest, d, t->stdz.mean[d], t->stdz.std[d], m0, s0);
    }
    if (fp->rows[0] >= 0 && strcmp(fp->path, c->path))
        say(t,
            "note: the checkpoint was trained on '%s', now [data] path = %s (same rows and "
            "statistics): continuing",
            fp->path, c->path);
    if (fp->batch_size >= 0 && fp->batch_size != c->batch_size)
        say(t,
            "warning: [train] batch_size was %lld, now %d: the run continues but is not "
            "bitwise identical to an uninterrupted one",
            (long long)fp->batch_size, c->batch_size);
    if (fp->seed != c->seed)
        say(t,
            "warning: [train] seed was %llu, now %llu: the run continues with the saved "
            "shuffle states (a new seed only affects a re-sharded resume)",
            (unsigned long long)fp->seed, (unsigned long long)c->seed);
    return MAF_OK;
}

static maf_status resume(trainer *t)
{
    free(t->state.rng); /* replaced by the file's */
    free(t->state.cursor);
    maf_standardizer file_stdz;
    maf_data_fingerprint *fp = malloc(sizeof *fp);
    maf_status st = fp ? maf_ckpt_load_train(t->path_latest, t->flow, t->adam, t->best_params,
                                             t->best_bn, &t->state, &file_stdz, fp)
                       : maf_fail(MAF_ERR_NOMEM, "out of memory");
    st = maf_mpi_agree(t->comm, st);
    if (st == MAF_OK) {
        st = maf_mpi_agree(t->comm, check_fingerprint(t, fp, &file_stdz));
        maf_standardizer_free(&file_stdz);
    }
    free(fp);
    if (st != MAF_OK) return st;
    if (t->state.n_ranks == t->size) {
        memcpy(t->rng.s, t->state.rng + (size_t)t->rank * 4, sizeof t->rng.s);
        reshuffle(t); /* draws the same permutation as before the stop */
        t->cursor = (size_t)t->state.cursor[t->rank];
        if (t->cursor > t->train.rows)
            st = maf_fail(MAF_ERR_FORMAT,
                          "%s: ranks/cursor[%d] = %zu is beyond the %zu rows of rank %d's shard",
                          t->path_latest, t->rank, t->cursor, t->train.rows, t->rank);
        st = maf_mpi_agree(t->comm, st);
    } else {
        /* a different rank count re-shards the data: fresh per-rank streams (not bitwise) */
        say(t,
            "resuming a %d-rank run on %d ranks: data re-sharded, shuffles re-seeded (the run "
            "continues but is not bitwise identical to an uninterrupted one)",
            t->state.n_ranks, t->size);
        maf_rng_seed(&t->rng, t->cfg->seed ^ (uint64_t)t->state.step, 1000 + (uint64_t)t->rank);
        reshuffle(t);
        free(t->state.rng);
        free(t->state.cursor);
        t->state.n_ranks = t->size;
        t->state.rng = calloc((size_t)t->size * 4, sizeof *t->state.rng);
        t->state.cursor = calloc((size_t)t->size, sizeof *t->state.cursor);
        if (!t->state.rng || !t->state.cursor) st = maf_fail(MAF_ERR_NOMEM, "out of memory");
        st = maf_mpi_agree(t->comm, st);
    }
    return st;
}

/* ---- the test report ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static maf_status final_test(trainer *t, maf_train_result *res)
{
    memcpy(maf_flow_params(t->flow), t->best_params, t->nparam * sizeof *t->best_params);
    maf_flow_set_all_bn_stats(t->flow, t->best_bn);
    maf_flow_set_train(t->flow, false);
    double *mine = malloc((t->test.rows ? t->test.rows : 1) * sizeof *mine);
    double acc[3] = {0, 0, INFINITY};
    maf_status st =
        mine ? eval_sum(t, &t->test, acc, mine) : maf_fail(MAF_ERR_NOMEM, "out of memory");
    st = maf_mpi_agree(t->comm, st);
    int *counts = NULL, *displs = NULL;
    double *all = NULL;
    if (st != MAF_OK) goto out;
    int n = (int)t->test.rows;
    if (t->rank == 0) {
        counts = malloc((size_t)t->size * sizeof *counts);
        displs = malloc((size_t)t->size * sizeof *displs);
        all = malloc(t->test.global_rows * sizeof *all);
        if (!counts || !displs || !all) st = maf_fail(MAF_ERR_NOMEM, "out of memory");
    }
    st = maf_mpi_agree(t->comm, st);
    if (st != MAF_OK) goto out;
    if (MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, 0, t->comm) != MPI_SUCCESS) {
        st = maf_fail(MAF_ERR_MPI, "MPI_Gather of the test row counts failed");
        goto out;
    }
    if (t->rank == 0) {
        displs[0] = 0;
        for (int r = 1; r < t->size; r++) displs[r] = displs[r - 1] + counts[r - 1];
    }
    if (MPI_Gatherv(mine, n, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, t->comm) !=
        MPI_SUCCESS) {
        st = maf_fail(MAF_ERR_MPI, "MPI_Gatherv of the test log-likelihoods failed");
        goto out;
    }
    /* the true density of built-in data on the same rows */
    res->true_test_loglik = NAN;
    if (maf_builtin_is(t->cfg->path)) {
        const char *name = t->cfg->path + strlen("builtin:");
        maf_real *raw = malloc((t->test.rows ? t->test.rows : 1) * t->D * sizeof *raw);
        double *lp = malloc((t->test.rows ? t->test.rows : 1) * sizeof *lp);
        double sum[2] = {0, 1}; /* sum of the true log p, and "this rank could not" */
        if (raw && lp &&
            maf_builtin_generate(name, 2, t->test.first_row, t->test.rows, t->cfg->seed, raw) ==
                MAF_OK &&
            maf_builtin_logpdf(name, raw, t->test.rows, lp) == MAF_OK) {
            sum[1] = 0;
            for (size_t i = 0; i < t->test.rows; i++) sum[0] += lp[i];
        }
        free(raw);
        free(lp);
        int rc = MPI_Allreduce(MPI_IN_PLACE, sum, 2, MPI_DOUBLE, MPI_SUM, t->comm);
        if (rc != MPI_SUCCESS) {
            st = maf_mpi_fail(rc, "MPI_Allreduce of the true test log-likelihood", __FILE__,
                              __LINE__);
            goto out;
        }
        /* without it (no memory on some rank) the figure is left out, not made up */
        res->true_test_loglik = sum[1] > 0 ? NAN : sum[0] / (double)t->test.global_rows;
    }
    if (t->rank == 0) {
        size_t N = t->test.global_rows, good = 0, below = 0;
        double s = 0, s2 = 0, worst = INFINITY;
        for (size_t i = 0; i < N; i++) {
            double v = all[i];
            if (!isfinite(v)) continue;
            all[good++] = v;
            s += v;
            below += v < t->cfg->tail_threshold;
            if (v < worst) worst = v;
        }
        double mean = good ? s / (double)good : NAN;
        if (!good)
            st = maf_fail(MAF_ERR_NUMERIC,
                          "%s: none of the %zu test rows has a finite log-likelihood under the "
                          "best model",
                          t->test.source, N);
        for (size_t i = 0; i < good; i++) s2 += (all[i] - mean) * (all[i] - mean);
        qsort(all, good, sizeof *all, cmp_double);
        res->test_rows = (int64_t)N;
        res->test_nonfinite = (int64_t)(N - good);
        res->test_loglik = mean;
        res->test_2se = good > 1 ? 2 * sqrt(s2 / (double)(good - 1)) / sqrt((double)good) : NAN;
        res->test_median =
            good ? (good % 2 ? all[good / 2] : 0.5 * (all[good / 2 - 1] + all[good / 2])) : NAN;
        res->test_worst = worst;
        res->test_below = (int64_t)below;
        res->tail_threshold = t->cfg->tail_threshold;
    }
    if ((st = maf_mpi_agree(t->comm, st)) != MAF_OK) goto out;
    /* everyone gets rank 0's summary */
    double summary[8] = {(double)res->test_rows,  (double)res->test_nonfinite,
                         res->test_loglik,        res->test_2se,
                         res->test_median,        res->test_worst,
                         (double)res->test_below, res->tail_threshold};
    int rc = MPI_Bcast(summary, 8, MPI_DOUBLE, 0, t->comm);
    if (rc != MPI_SUCCESS) {
        st = maf_mpi_fail(rc, "MPI_Bcast of the test summary", __FILE__, __LINE__);
        goto out;
    }
    res->test_rows = (int64_t)summary[0];
    res->test_nonfinite = (int64_t)summary[1];
    res->test_loglik = summary[2];
    res->test_2se = summary[3];
    res->test_median = summary[4];
    res->test_worst = summary[5];
    res->test_below = (int64_t)summary[6];
    res->tail_threshold = summary[7];
out:
    free(mine);
    free(counts);
    free(displs);
    free(all);
    return st;
}

/* ---- the loop ---- */

/* the step at which max_steps or max_epochs ends the run, whichever comes first; 0: none */
static int64_t step_limit(const trainer *t)
{
    const maf_config *c = t->cfg;
    int64_t limit = c->max_steps > 0 ? c->max_steps : 0;
    if (c->max_epochs > 0) {
        int64_t e = (int64_t)c->max_epochs * t->steps_per_epoch;
        if (!limit || e < limit) limit = e;
    }
    return limit;
}

static bool limit_reached(const trainer *t)
{
    int64_t limit = step_limit(t);
    return limit > 0 && t->state.step >= limit;
}

static bool run_is_done(const trainer *t)
{
    return t->state.bad_evals >= t->cfg->patience || limit_reached(t);
}

static maf_status make_output_dir(trainer *t)
{
    maf_status st = MAF_OK;
    if (t->rank == 0) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s", t->cfg->dir);
        int err = 0;
        for (char *p = tmp + 1; *p; p++)
            if (*p == '/') {
                *p = 0;
                if (mkdir(tmp, 0755) != 0 && errno != EEXIST) err = errno;
                *p = '/';
            }
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) err = errno;
        struct stat sb;
        int stat_err = stat(tmp, &sb) != 0 ? errno : 0;
        if (stat_err || !S_ISDIR(sb.st_mode))
            st =
                maf_fail(MAF_ERR_IO, "[output] dir = %s: cannot create the folder: %s", t->cfg->dir,
                         err        ? strerror(err)
                         : stat_err ? strerror(stat_err)
                                    : "a file of that name is in the way");
        else if (access(tmp, W_OK | X_OK) != 0)
            st = maf_fail(MAF_ERR_IO, "[output] dir = %s: cannot write in the folder: %s",
                          t->cfg->dir, strerror(errno));
    }
    return maf_mpi_agree(t->comm, st);
}

/* rank 0 takes an exclusive lock on <dir>/.maf.lock and writes "pid host" into it; a folder
 * locked by a live run is an error naming it. File systems without flock: a warning. */
static maf_status lock_output_dir(trainer *t)
{
    maf_status st = MAF_OK;
    if (t->rank == 0) {
        t->lock_fd = open(t->path_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (t->lock_fd < 0) {
            st = maf_fail(MAF_ERR_IO, "[output] dir = %s: cannot create the lock file '%s': %s",
                          t->cfg->dir, t->path_lock, strerror(errno));
        } else if (flock(t->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK) {
                char who[256] = "";
                ssize_t n = pread(t->lock_fd, who, sizeof who - 1, 0);
                who[n > 0 ? n : 0] = '\0';
                who[strcspn(who, "\n")] = '\0';
                long pid = 0;
                char host[200] = "?";
                sscanf(who, "%ld %199s", &pid, host);
                st = maf_fail(MAF_ERR_IO,
                              "[output] dir = %s: folder in use by another run (pid %ld on host "
                              "%s); wait for it to end or choose another [output] dir",
                              t->cfg->dir, pid, host);
            } else {
                say(t,
                    "warning: cannot lock '%s' (%s): two runs on this folder would not be "
                    "detected",
                    t->path_lock, strerror(errno));
            }
        } else {
            char host[200] = "?", line[256];
            gethostname(host, sizeof host);
            host[sizeof host - 1] = '\0';
            int n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), host);
            if (ftruncate(t->lock_fd, 0) != 0 || pwrite(t->lock_fd, line, (size_t)n, 0) != n)
                say(t, "warning: cannot write '%s': %s", t->path_lock, strerror(errno));
        }
    }
    return maf_mpi_agree(t->comm, st);
}

/* a fresh run into a folder with another run's files: refused without --overwrite; with it,
 * remove = true removes them */
static maf_status check_previous_run(trainer *t, bool remove)
{
    bool overwrite = t->opt->overwrite;
    maf_status st = MAF_OK;
    if (t->rank == 0) {
        const char *paths[3] = {t->path_latest, t->path_best, t->path_log};
        char found[64] = "";
        for (int i = 0; i < 3; i++) {
            if (access(paths[i], F_OK) != 0) continue;
            const char *base = strrchr(paths[i], '/') + 1;
            snprintf(found + strlen(found), sizeof found - strlen(found), "%s%s",
                     *found ? ", " : "", base);
            if (remove && unlink(paths[i]) != 0 && errno != ENOENT)
                st = maf_fail(MAF_ERR_IO, "--overwrite: cannot remove '%s': %s", paths[i],
                              strerror(errno));
        }
        if (*found && !overwrite)
            st = maf_fail(MAF_ERR_CONFIG,
                          "[output] dir = %s holds a previous run (%s): continue it with "
                          "--resume, replace it with --overwrite, or choose another [output] dir",
                          t->cfg->dir, found);
        if (*found && remove && st == MAF_OK) say(t, "--overwrite: removed the previous %s", found);
    }
    return maf_mpi_agree(t->comm, st);
}

static maf_status train_loop(trainer *t, maf_train_result *res)
{
    const maf_config *c = t->cfg;
    maf_real *g = maf_flow_grads(t->flow);
    const int64_t eval_every = c->eval_every > 0 ? c->eval_every : t->steps_per_epoch;
    const int64_t limit = step_limit(t); /* fixed for the run: config and epoch length */
    double t_start = maf_now(), t_window = maf_now(), comm_window = 0, red_window0 = t->red.seconds;
    int64_t steps_window = 0;
    double grad_norm = 0;
    maf_status st = MAF_OK;
    for (;;) {
        /* an evaluation follows this step on the eval_every grid or at the step limit; its row
         * logs this step's gradient norm */
        bool last_before_eval =
            (t->state.step + 1) % eval_every == 0 || (limit > 0 && t->state.step + 1 >= limit);
        next_batch(t);
        st = maf_flow_log_prob(t->flow, t->batch, t->local_batch, t->logp);
        if (st == MAF_OK) st = maf_flow_backward(t->flow, 1.0 / c->batch_size, 0);
        if (st != MAF_OK) return maf_mpi_agree(t->comm, st); /* a failed BN reduction */
        double loss = 0, nonfinite = 0;
        for (int i = 0; i < t->local_batch; i++) {
            if (isfinite(t->logp[i]))
                loss -= t->logp[i];
            else
                nonfinite++;
        }
        bool stop_here = (t->opt->stop_request && *t->opt->stop_request) ||
                         t->state.step + 1 == t->test_stop_step;
        g[t->nparam + SLOT_STOP] = stop_here ? 1.0f : 0.0f;
        g[t->nparam + SLOT_LOSS] = (maf_real)loss;
        g[t->nparam + SLOT_NONFINITE] = (maf_real)nonfinite;
        double t0 = maf_now();
        MAF_MPI(
            MPI_Allreduce(MPI_IN_PLACE, g, (int)t->nparam + NSLOTS, MPI_FLOAT, MPI_SUM, t->comm));
        comm_window += maf_now() - t0;
        if (g[t->nparam + SLOT_NONFINITE] > 0)
            return maf_fail(MAF_ERR_NUMERIC,
                            "step %lld: %.0f rows of the batch have a non-finite log-likelihood; "
                            "try a smaller [train] lr, [train] clip_norm, or [model] "
                            "log_scale_bound",
                            (long long)t->state.step + 1, (double)g[t->nparam + SLOT_NONFINITE]);
        st = maf_adam_step(t->adam, maf_flow_params(t->flow), g,
                           last_before_eval ? &grad_norm : NULL);
        if (st != MAF_OK) return st; /* identical gradient on all ranks: all fail together */
        t->state.step++;
        steps_window++;
        t->state.loss_sum += g[t->nparam + SLOT_LOSS];
        t->state.loss_count += c->batch_size;
        bool stop = g[t->nparam + SLOT_STOP] > 0;
        bool at_limit = limit > 0 && t->state.step >= limit;
        if (stop) {
            say(t, "stop requested: stopping after step %lld, writing %s", (long long)t->state.step,
                t->path_latest);
            res->stopped = true;
            st = write_checkpoint(t, t->path_latest, "latest", true);
            res->wrote_latest = st == MAF_OK;
            return st;
        }
        if (!last_before_eval && !at_limit) continue;

        /* evaluation */
        double dt = maf_now() - t_window;
        double comm_s = comm_window + (t->red.seconds - red_window0);
        double val = -INFINITY;
        int64_t val_bad = 0;
        if ((st = evaluate_val(t, &val, &val_bad)) != MAF_OK) return st;
        t->state.evals++;
        bool improved = val > t->state.best_val;
        if (improved) {
            t->state.best_val = val;
            t->state.bad_evals = 0;
            memcpy(t->best_params, maf_flow_params(t->flow), t->nparam * sizeof *t->best_params);
            maf_flow_get_all_bn_stats(t->flow, t->best_bn);
        } else {
            t->state.bad_evals++;
        }
        bool patience_out = t->state.bad_evals >= c->patience;
        bool done = patience_out || at_limit;
        maf_progress p = {
            .step = t->state.step,
            .epoch = (double)t->state.step / (double)t->steps_per_epoch,
            /* in data units, as every reported figure: the NLL of z less the log-Jacobian */
            .train_loss = t->state.loss_count > 0
                              ? t->state.loss_sum / t->state.loss_count - t->stdz.log_jacobian
                              : NAN,
            .val_loglik = val,
            .best_val = t->state.best_val,
            .grad_norm = grad_norm,
            .samples_per_s = steps_window * (double)c->batch_size / (dt > 0 ? dt : 1e-9),
            .comm_share = dt > 0 ? comm_s / dt : 0,
            .eta_s = -1,
            .fraction = -1,
            .wall_s = maf_now() - t_start,
            .improved = improved,
            .val_nonfinite = val_bad,
        };
        if (limit > 0) {
            p.eta_s = (double)(limit - t->state.step) * dt / (double)steps_window;
            p.fraction = (double)t->state.step / (double)limit;
        }
        res->samples_per_s = p.samples_per_s;
        res->comm_share = p.comm_share;
        t->state.loss_sum = t->state.loss_count = 0;
        if (t->rank == 0) {
            maf_eval_row row = {.step = t->state.step,
                                .epoch = (int64_t)(t->state.step / t->steps_per_epoch),
                                .train_loss = p.train_loss,
                                .val_loglik = val,
                                .grad_norm = grad_norm,
                                .lr = c->lr,
                                .samples_per_s = p.samples_per_s,
                                .comm_share = p.comm_share,
                                .wall_time = p.wall_s};
            st = maf_evallog_append(t->log, &row);
            if (t->opt->progress) t->opt->progress(&p, t->opt->ctx);
        }
        if ((st = maf_mpi_agree(t->comm, st)) != MAF_OK) return st;
        if (improved && (st = write_checkpoint(t, t->path_best, "best", false)) != MAF_OK)
            return st;
        res->wrote_best |= improved;
        if (done) t->state.finished = 1;
        if ((st = write_checkpoint(t, t->path_latest, "latest", true)) != MAF_OK) return st;
        res->wrote_latest = true;
        if (done) {
            say(t, "%s after %lld steps (%.1f epochs)",
                patience_out ? "early stopping: no improvement in [train] patience evaluations"
                             : "reached the step/epoch limit",
                (long long)t->state.step, (double)t->state.step / t->steps_per_epoch);
            return MAF_OK;
        }
        t_window = maf_now();
        comm_window = 0;
        red_window0 = t->red.seconds;
        steps_window = 0;
    }
}

maf_status maf_train(const maf_config *cfg, MPI_Comm comm, const maf_train_options *opt,
                     maf_train_result *res)
{
    static const maf_train_options no_opt = {0};
    trainer t = {.cfg = cfg, .opt = opt ? opt : &no_opt, .comm = comm, .lock_fd = -1};
    memset(res, 0, sizeof *res);
    res->true_test_loglik = NAN;
    if (MPI_Comm_rank(comm, &t.rank) != MPI_SUCCESS || MPI_Comm_size(comm, &t.size) != MPI_SUCCESS)
        return maf_fail(MAF_ERR_MPI, "maf_train: the communicator is not usable");
    double t_start = maf_now();
    t.config_text = maf_config_to_ini(cfg);
    maf_status st = t.config_text ? MAF_OK : maf_fail(MAF_ERR_NOMEM, "out of memory");
    st = maf_mpi_agree(comm, st);
    if (st != MAF_OK) goto out;
    snprintf(t.path_latest, sizeof t.path_latest, "%s/latest.h5", cfg->dir);
    snprintf(t.path_best, sizeof t.path_best, "%s/best.h5", cfg->dir);
    snprintf(t.path_log, sizeof t.path_log, "%s/log.h5", cfg->dir);
    snprintf(t.path_lock, sizeof t.path_lock, "%s/.maf.lock", cfg->dir);
    if ((st = make_output_dir(&t)) != MAF_OK) goto out;
    if ((st = lock_output_dir(&t)) != MAF_OK) goto out;
    if (!t.opt->resume && (st = check_previous_run(&t, false)) != MAF_OK) goto out;
    if ((st = load_data(&t)) != MAF_OK) goto out;
    st = maf_mpi_agree(comm, setup(&t));
    if (st != MAF_OK) goto out;
    say(&t,
        "data: %s  train %zu, val %zu, test %zu rows x %d columns on %d rank(s); batch %d "
        "(%d on this rank), %lld steps per epoch",
        cfg->path, t.train.global_rows, t.val.global_rows, t.test.global_rows, t.D, t.size,
        cfg->batch_size, t.local_batch, (long long)t.steps_per_epoch);
    if (opt && opt->resume) {
        if ((st = resume(&t)) != MAF_OK) goto out;
        say(&t, "resumed from %s at step %lld (best validation %.4f)", t.path_latest,
            (long long)t.state.step, t.state.best_val);
        /* a finished run continues if the configuration now allows more steps */
        if (t.state.finished && !run_is_done(&t)) t.state.finished = 0;
    } else {
        reshuffle(&t);
        /* the previous run's files go only now that this run is set up and about to write */
        if (t.opt->overwrite && (st = check_previous_run(&t, true)) != MAF_OK) goto out;
    }
    if (t.rank == 0)
        st = maf_evallog_open(t.path_log, t.config_text, opt && opt->resume ? t.state.step : -1,
                              &t.log);
    if ((st = maf_mpi_agree(comm, st)) != MAF_OK) goto out;
    if (!t.state.finished) {
        st = train_loop(&t, res);
        if (st != MAF_OK || res->stopped) goto out;
    } else {
        say(&t, "%s is a finished run: reporting its test log-likelihood", t.path_latest);
    }
    if (!isfinite(t.state.best_val)) {
        st = maf_fail(MAF_ERR_NUMERIC,
                      "no evaluation gave a finite validation log-likelihood (%lld evaluations): "
                      "there is no best model; see the warnings above, and try a smaller [train] "
                      "lr, [train] clip_norm or [model] log_scale_bound",
                      (long long)t.state.evals);
        goto out;
    }
    if ((st = final_test(&t, res)) != MAF_OK) goto out;
    if (t.rank == 0) {
        /* only defined figures are stored: a 1-row split has no s.e., a file no true density */
        const struct {
            const char *name;
            double value;
        } attrs[] = {{"test_loglik", res->test_loglik},
                     {"test_loglik_2se", res->test_2se},
                     {"test_median", res->test_median},
                     {"test_worst", res->test_worst},
                     {"test_below_threshold", (double)res->test_below},
                     {"true_test_loglik", res->true_test_loglik}};
        for (size_t i = 0; i < sizeof attrs / sizeof *attrs && st == MAF_OK; i++)
            if (isfinite(attrs[i].value))
                st = maf_evallog_set_attr_f64(t.log, attrs[i].name, attrs[i].value);
    }
    st = maf_mpi_agree(comm, st);
out:
    res->steps = t.state.step;
    res->epochs = t.steps_per_epoch ? (double)t.state.step / t.steps_per_epoch : 0;
    res->best_val = t.state.best_val;
    res->wall_s = maf_now() - t_start;
    if (t.log) {
        maf_status cs = maf_evallog_close(t.log);
        if (st == MAF_OK) st = cs;
    }
    free(t.config_text);
    maf_shard_free(&t.train);
    maf_shard_free(&t.val);
    maf_shard_free(&t.test);
    maf_standardizer_free(&t.stdz);
    maf_flow_free(t.flow);
    maf_adam_free(t.adam);
    free(t.perm);
    free(t.batch);
    free(t.logp);
    free(t.best_params);
    free(t.best_bn);
    free(t.bn_work);
    free(t.xrow);
    free(t.state.rng);
    free(t.state.cursor);
    if (t.lock_fd >= 0) close(t.lock_fd); /* releases the folder lock */
    return st;
}
