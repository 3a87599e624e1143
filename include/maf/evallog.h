/* evallog.h - the evaluation log of a training run: one row per evaluation, durable on append.
 *
 * File layout (HDF5, earliest file format, readable by h5py):
 *   /log      1-D dataset of a compound type whose members are named exactly as the fields of
 *             maf_eval_row: step, epoch (int64); train_loss, val_loglik, grad_norm, lr,
 *             samples_per_s, comm_share, wall_time (float64). h5py: f["log"]["val_loglik"].
 *             train_loss is the mean negative log-likelihood of the training batches since the
 *             previous row (each row's before its update; batch norm in train mode; no L2 term),
 *             in data units like val_loglik; grad_norm is the norm of the gradient applied at
 *             the row's step (L2 term included, before clipping).
 *   /@config  root attribute, variable-length UTF-8 string: the run's configuration text.
 *   /@<name>  root float64 attributes set with maf_evallog_set_attr_f64 (e.g. "test_loglik",
 *             "test_loglik_2se").
 *
 * Guarantee: every append and attribute update rewrites the whole (small) log to "<path>.tmp"
 * and renames it over <path> after fsync (see h5io.h). So when a call returns, its change is on
 * disk, and a process killed at any moment (SIGKILL, power loss after the fsync) leaves at <path>
 * a complete, openable log holding every row appended before; the file is never held open, so
 * other processes may read it while the run goes on. */
#ifndef MAF_EVALLOG_H
#define MAF_EVALLOG_H

#include <stddef.h>
#include <stdint.h>

#include "maf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int64_t step, epoch;
    double train_loss, val_loglik, grad_norm, lr, samples_per_s, comm_share, wall_time;
} maf_eval_row;

typedef struct maf_evallog maf_evallog;

/* keep_through_step < 0: create a new log at path (replacing any old one) with config_text
 * (NULL: "") as the root attribute "config". keep_through_step >= 0 (a resumed run): open the
 * existing log, drop every row with step > keep_through_step and every f64 attribute (they
 * describe the end of a run, which the resumed run sets again), and replace "config" by
 * config_text unless it is NULL; if the file does not exist, create it as new. The resulting
 * log is on disk when this returns. */
maf_status maf_evallog_open(const char *path, const char *config_text, int64_t keep_through_step,
                            maf_evallog **out);
/* Append one row; when this returns the row is on disk and survives the process being killed
 * at any later moment. On failure the log (in memory and on disk) is unchanged. */
maf_status maf_evallog_append(maf_evallog *log, const maf_eval_row *row);
/* Set (or replace) a double root attribute, durable like a row. "config" is reserved. */
maf_status maf_evallog_set_attr_f64(maf_evallog *log, const char *name, double value);
/* Free the log (nothing is left to write). NULL: no-op. */
maf_status maf_evallog_close(maf_evallog *log);
/* Read back the rows of the log at path: *rows malloc'd (NULL if *n is 0), caller frees. */
maf_status maf_evallog_read(const char *path, maf_eval_row **rows, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
