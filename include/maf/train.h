/* train.h - data-parallel maximum-likelihood training of a MAF over MPI ranks.
 *
 * Every rank trains a replica on its shard of the data. One step: each rank draws its share
 * of the global minibatch from its own shard (reshuffled every pass with a seeded per-rank
 * RNG), runs the forward and backward passes (batch norm over the global batch through small
 * allreduces), then ONE in-place MPI_Allreduce of the flat gradient array with extra slots for
 * the stop flag, the loss and a non-finite count; every rank then clips and takes the same
 * Adam step. So p ranks compute exactly the gradient one process computes on the union of
 * their batches, up to float rounding.
 *
 * Global batch split: rank r takes B / p rows, plus one more if r < B mod p.
 * Epoch: ceil(N_train / B) steps. Evaluation once per epoch (or every eval_every steps):
 * batch-norm statistics of the whole training set, validation log-likelihood over all ranks'
 * rows, early stopping with patience (in evaluations). Rank 0 writes out/latest.h5 after every
 * evaluation (atomically), out/best.h5 when validation improves, and a row of out/log.h5.
 * At the end the best parameters are restored and the test log-likelihood reported.
 *
 * The output folder: rank 0 holds an exclusive lock on <dir>/.maf.lock (flock, released on any
 * exit, even a kill) for the whole run, so a second run on the same folder fails at once naming
 * the first (pid, host). A fresh run refuses a folder holding a previous run's latest.h5,
 * best.h5 or log.h5 unless opt->overwrite (then they are removed before its first write), so
 * files of two runs are never mixed. A run whose validation score is never finite is an error
 * (MAF_ERR_NUMERIC), as is a test split with no finite row.
 *
 * A stop request (the stop flag set, e.g. by SIGTERM/SIGUSR1/SIGINT) on any rank reaches all
 * ranks through the gradient allreduce: they stop after the same step, rank 0 writes
 * latest.h5 and maf_train returns with result->stopped set.
 *
 * Testing hooks (environment): MAF_TEST_STOP_AT_STEP=S makes rank MAF_TEST_STOP_RANK (default:
 * the last rank) request a stop at step S, exactly as a signal would; MAF_FAULT_KILL_IN_CHECKPOINT
 * = N or NAME kills the writing process halfway through its Nth checkpoint write, or the first
 * write of the file NAME (e.g. best.h5) (see checkpoint.c). */
#ifndef MAF_TRAIN_H
#define MAF_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <mpi.h>

#include "maf/config.h"
#include "maf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* exit code of `maf train` meaning "stopped on request, resume with --resume" */
#define MAF_EXIT_STOPPED 75

typedef struct {
    int64_t step;
    double epoch;
    double train_loss; /* mean NLL of the training batches since the previous evaluation, in
                        * data units (as val_loglik), before each step's update, no L2 term */
    double val_loglik; /* in data units */
    double best_val;
    double grad_norm;
    double samples_per_s; /* global */
    double comm_share;    /* share of step time in MPI reductions */
    double eta_s;         /* estimate of the time left (max_epochs / max_steps), -1 unknown */
    double fraction;      /* step / step limit, -1 without a limit */
    double wall_s;
    bool improved;
    int64_t val_nonfinite; /* validation rows with non-finite log-likelihood */
} maf_progress;

typedef void (*maf_progress_fn)(const maf_progress *p, void *ctx);
typedef void (*maf_message_fn)(const char *msg, void *ctx);

typedef struct {
    bool resume;    /* continue from <dir>/latest.h5 */
    bool overwrite; /* a fresh run may replace a previous run's files in <dir> (else refused) */
    volatile sig_atomic_t *stop_request; /* polled every step; nonzero = stop; may be NULL */
    maf_progress_fn progress;            /* called on rank 0 after each evaluation */
    maf_message_fn message;              /* rank 0's informational lines */
    void *ctx;
} maf_train_options;

typedef struct {
    bool stopped; /* stopped on request: resumable */
    int64_t steps;
    double epochs;
    double best_val;
    int64_t test_rows, test_nonfinite, test_below;
    double test_loglik, test_2se, test_median, test_worst, tail_threshold;
    double true_test_loglik; /* built-in data: the true density on the same rows; else NaN */
    double samples_per_s, comm_share, wall_s;
    bool wrote_best, wrote_latest; /* files this run wrote (log.h5 is always written) */
} maf_train_result;

/* Collective over comm. Errors agree on all ranks (same status and message everywhere). */
maf_status maf_train(const maf_config *cfg, MPI_Comm comm, const maf_train_options *opt,
                     maf_train_result *res);

#ifdef __cplusplus
}
#endif
#endif
