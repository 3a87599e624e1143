/* checkpoint.h - model and training-state files (HDF5), written atomically by rank 0.
 *
 * File layout (format_version 1). Two kinds: latest.h5 (kind "latest": everything a resume
 * needs) and best.h5 (kind "best": the model of the best validation score, with the training
 * state at the moment it was written). Root attributes of both: format = "maf-checkpoint",
 * format_version, kind, config (the resolved INI text), dim, blocks, hidden, layers,
 * activation ("relu" | "tanh"), batch_norm (0|1), order ("reverse" | "random"), degrees
 * ("sequential" | "random"), log_scale_bound, seed (of the orders/degrees and the
 * initialisation), log_jacobian (= -sum(log data/std): the standardisation's term of log p in
 * data units), data_path, batch_size, and the training state: step, evals, bad_evals,
 * finished, best_val, loss_sum, loss_count, n_ranks; latest.h5 also adam_steps.
 *   model/<tensor>                float32, rows x cols: made{k}.w{l} (fan_in x fan_out),
 *                                 made{k}.b{l} (1 x H), made{k}.w_out (H x 2D: columns 0..D-1
 *                                 are the shifts m, D..2D-1 the raw log-scales a),
 *                                 made{k}.b_out (1 x 2D), bn{k}.log_gamma, bn{k}.beta (1 x D)
 *   model/made{k}.input_degrees   int32 1 x D: position (1..D) of each input in block k's order
 *   model/made{k}.hidden_degrees  int32 L x H
 *   model/bn{k}.mean, bn{k}.var   float64 1 x D: the eval-mode batch-norm statistics
 *                                 (bn{k}.* are absent when batch_norm = 0)
 *   data/mean, data/std           float64 1 x D: the standardisation z = (x - mean) / std
 *                                 (0 and 1 when [data] standardize = false)
 *   data/rows                     int64 1 x 3: global rows of train, val, test it was trained on
 *                                 (with root attributes data_path and batch_size: the
 *                                 fingerprint a resume is checked against)
 *   adam/m/<tensor>, adam/v/<tensor>   Adam moments (latest only)
 *   best/<tensor>, best/bn{k}.mean, best/bn{k}.var   the best parameters so far (latest only)
 *   ranks/rng (n_ranks x 4, uint64), ranks/cursor (n_ranks x 1, int64): every rank's shuffle
 *                                 RNG state (before its last shuffle) and position (latest only)
 *
 * To evaluate log p(x) from a file in another program (all in double is fine; maf itself reads
 * data into float32 and evaluates in float32, with double sums, which costs up to ~1e-3 nats
 * per row on data with large offsets; scripts/maf_model.py is this recipe in NumPy):
 *   z = (x - data/mean) / data/std;  logp = -sum(log data/std)
 *   for k = 0..blocks-1:
 *     h = act(z W0 + b0); ...; o = h w_out + b_out; m = o[:D], a = o[D:]
 *     alpha = c tanh(a / c) if log_scale_bound c > 0 else a
 *     z = (z - m) exp(-alpha);  logp -= sum(alpha)
 *     if batch_norm: z = exp(log_gamma) (z - mean) / sqrt(var + 1e-5) + beta
 *                    logp += sum(log_gamma - 0.5 log(var + 1e-5))
 *   logp += sum(-0.5 z^2 - 0.5 log(2 pi))
 * (The weights are stored masked: the masks need not be applied again.)
 *
 * To sample: u ~ N(0, I); for k = blocks-1 down to 0: if batch_norm, z = (u - beta)
 * exp(-log_gamma) sqrt(var + 1e-5) + mean; then x = 0 and D times x = z exp(alpha(x)) + m(x)
 * (m, alpha from the block's MADE at x; exact after D passes since input i depends only on
 * inputs earlier in the order); u = x. Finally x = u data/std + data/mean. */
#ifndef MAF_CHECKPOINT_H
#define MAF_CHECKPOINT_H

#include <stdint.h>

#include "maf/adam.h"
#include "maf/data.h"
#include "maf/flow.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MAF_CKPT_FORMAT_VERSION 1

typedef struct {
    int64_t step, evals, bad_evals, finished;
    double best_val, loss_sum, loss_count;
    int n_ranks;
    uint64_t *rng;   /* n_ranks x 4 */
    int64_t *cursor; /* n_ranks */
} maf_train_state;

/* What a run was trained on, stored in every checkpoint (attributes data_path, data_rows,
 * batch_size; seed is stored with the model) and checked on resume: a different data set (row
 * counts or standardisation) is refused, a different batch size or seed is warned about. */
typedef struct {
    char path[4096];
    int64_t rows[3]; /* global rows of train, val, test; -1: unknown (an older checkpoint) */
    int64_t batch_size;
    uint64_t seed;
} maf_data_fingerprint;

typedef struct {
    const char *kind;        /* "latest" or "best" */
    const char *config_text; /* resolved config (INI) */
    maf_flow *flow;          /* parameters and eval batch-norm statistics */
    const maf_standardizer *stdz;
    maf_adam *adam;              /* NULL: no optimiser state */
    const maf_real *best_params; /* NULL: no best copy; else maf_flow_num_params values */
    const double *best_bn;       /* K x 2 x D (mean, var per layer) or NULL */
    const maf_train_state *state;
    const maf_data_fingerprint *data; /* NULL: not stored */
} maf_ckpt_contents;

/* Write to path.tmp, fsync, rename over path, fsync the folder: path is always either the old
 * or the new complete file. */
maf_status maf_ckpt_write(const char *path, const maf_ckpt_contents *c);

/* Create a flow (for at most max_batch rows) from a checkpoint, with its parameters and eval
 * batch-norm statistics, in eval mode, and its standardisation. */
maf_status maf_ckpt_load_model(const char *path, int max_batch, maf_flow **flow,
                               maf_standardizer *stdz);

/* Resume: check the file matches `flow`'s architecture (errors name both values) and load the
 * parameters, batch-norm statistics, Adam state, best copy, training state, the standardisation
 * it was trained with (stdz, allocated here) and the data fingerprint. Every loaded value is
 * range-checked (finite parameters and moments, v >= 0, variances >= 0, std > 0, 0 <= bad_evals
 * <= evals, adam_steps = step >= 0, finished 0/1, cursors >= 0, a non-zero RNG state, ...): a
 * crafted or damaged file is an error naming the attribute or dataset. state->rng and
 * state->cursor are allocated here (n_ranks of the file); the caller frees them. */
maf_status maf_ckpt_load_train(const char *path, maf_flow *flow, maf_adam *adam,
                               maf_real *best_params, double *best_bn, maf_train_state *state,
                               maf_standardizer *stdz, maf_data_fingerprint *data);

#ifdef __cplusplus
}
#endif
#endif
