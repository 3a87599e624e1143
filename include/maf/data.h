/* data.h - training data: row shards of HDF5 datasets, built-in sets with known densities, and
 * the standardisation whose log-Jacobian keeps log-likelihoods in the units of the data file.
 *
 * Sharding rule: a split of N rows is divided over p ranks in contiguous blocks; rank r owns
 * rows [floor(r N / p), floor((r+1) N / p)), so shard sizes differ by at most one row.
 *
 * HDF5 input: a 2-D dataset (rows x columns) of any float or integer type, any chunking or
 * compression; each rank reads only its rows (hyperslab, collective MPI-IO). Every value is
 * checked: a non-finite one is an error naming the file, dataset, global row and column.
 *
 * Built-in sets ("builtin:NAME" in place of a file) are generated row by row from (seed, split,
 * global row), so every rank makes exactly its own rows and the data do not depend on the
 * number of ranks. NAME is gauss<D> (2 <= D <= 1000): a correlated Gaussian with known density
 * x = mu + A z, A lower triangular with scales 0.5, 1.5, 2.5, ... */
#ifndef MAF_DATA_H
#define MAF_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

#include "maf/real.h"
#include "maf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char source[512];   /* "file.h5:/train" or "builtin:gauss8:/train", for messages */
    int dim;            /* columns */
    size_t rows;        /* rows on this rank */
    size_t global_rows; /* rows on all ranks */
    size_t first_row;   /* global index of this rank's first row */
    maf_real *x;        /* rows x dim, row-major */
} maf_shard;

/* This rank's block of n rows: [*first, *first + *count). */
void maf_shard_range(size_t n, int rank, int size, size_t *first, size_t *count);

/* Collective: read this rank's rows of `dataset` in `path` (an HDF5 file or builtin:NAME).
 * For built-in sets, `builtin_rows` is the size of the train split (val and test get a tenth)
 * and `seed` selects the draw. Errors agree on all ranks. */
maf_status maf_data_read(const char *path, const char *dataset, long builtin_rows, uint64_t seed,
                         MPI_Comm comm, maf_shard *out);
void maf_shard_free(maf_shard *s);

bool maf_builtin_is(const char *path);
/* Dimension of built-in set `name` (without the "builtin:" prefix). */
maf_status maf_builtin_dim(const char *name, int *dim);
/* Rows [first, first + count) of split 0 (train), 1 (val) or 2 (test). */
maf_status maf_builtin_generate(const char *name, int split, size_t first, size_t count,
                                uint64_t seed, maf_real *x);
/* The true log density of the built-in set at rows x (n x dim). */
maf_status maf_builtin_logpdf(const char *name, const maf_real *x, size_t n, double *logp);

/* z-scoring with the global training mean and standard deviation (over all ranks). */
typedef struct {
    int dim;
    double *mean, *std;  /* dim values each */
    double log_jacobian; /* -sum log std: add to a standardised log-density for data units */
} maf_standardizer;

/* Collective: mean and std of every column over all ranks' rows of `train` (double sums).
 * A constant column is an error naming it. */
maf_status maf_standardizer_fit(maf_standardizer *st, const maf_shard *train, MPI_Comm comm);
/* Identity transform of dimension dim (standardisation off). */
maf_status maf_standardizer_identity(maf_standardizer *st, int dim);
/* z = (x - mean) / std in place; a value whose z overflows float32 (a far row with a small std)
 * is an error naming its global row and column (local: the caller agrees over ranks). */
maf_status maf_standardizer_apply(const maf_standardizer *st, maf_shard *s);
void maf_standardizer_free(maf_standardizer *st);

#ifdef __cplusplus
}
#endif
#endif
