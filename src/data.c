/* data.c - row shards from HDF5 (parallel hyperslab reads) or built-in generators, value
 * checks that agree on all ranks, and global standardisation. */
#include "maf/data.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maf/mpiutil.h"
#include "maf/rng.h"

#define BUILTIN_PREFIX "builtin:"

void maf_shard_range(size_t n, int rank, int size, size_t *first, size_t *count)
{
    size_t a = (size_t)((unsigned __int128)n * (unsigned)rank / (unsigned)size);
    size_t b = (size_t)((unsigned __int128)n * (unsigned)(rank + 1) / (unsigned)size);
    *first = a;
    *count = b - a;
}

void maf_shard_free(maf_shard *s)
{
    if (!s) return;
    free(s->x);
    s->x = NULL;
}

/* ---- built-in sets ---- */

bool maf_builtin_is(const char *path)
{
    return strncmp(path, BUILTIN_PREFIX, strlen(BUILTIN_PREFIX)) == 0;
}

maf_status maf_builtin_dim(const char *name, int *dim)
{
    char *end;
    if (strncmp(name, "gauss", 5) == 0) {
        long d = strtol(name + 5, &end, 10);
        if (end != name + 5 && *end == '\0' && d >= 2 && d <= 1000) {
            *dim = (int)d;
            return MAF_OK;
        }
    }
    return maf_fail(MAF_ERR_CONFIG,
                    "unknown built-in data set '%s'; built-in sets: gauss<D> with 2 <= D <= 1000 "
                    "(e.g. builtin:gauss8)",
                    name);
}

/* gauss<D>: x = mu + A z; A lower triangular, fixed by D */
static double gauss_a(int i, int j)
{
    if (i == j) return 0.5 + (i % 3);
    return 0.8 * sin(7.0 * i + 3.0 * j + 1.0) / sqrt((double)i + 1.0);
}
static double gauss_mu(int i, int dim)
{
    return 0.5 * (i - dim / 2);
}

maf_status maf_builtin_generate(const char *name, int split, size_t first, size_t count,
                                uint64_t seed, maf_real *x)
{
    int D = 0;
    maf_status st = maf_builtin_dim(name, &D);
    if (st != MAF_OK) return st;
    double z[D];
    for (size_t r = 0; r < count; r++) {
        maf_rng rng; /* one stream per (split, row): independent of the rank count */
        maf_rng_seed(&rng, seed ^ 0x6275696c74696eULL, ((uint64_t)split << 48) | (first + r));
        maf_rng_normal_fill_d(&rng, z, (size_t)D);
        for (int i = 0; i < D; i++) {
            double v = gauss_mu(i, D);
            for (int j = 0; j <= i; j++) v += gauss_a(i, j) * z[j];
            x[r * D + i] = (maf_real)v;
        }
    }
    return MAF_OK;
}

maf_status maf_builtin_logpdf(const char *name, const maf_real *x, size_t n, double *logp)
{
    int D = 0;
    maf_status st = maf_builtin_dim(name, &D);
    if (st != MAF_OK) return st;
    double z[D], logdet = 0;
    for (int i = 0; i < D; i++) logdet += log(gauss_a(i, i));
    for (size_t r = 0; r < n; r++) {
        double s = 0;
        for (int i = 0; i < D; i++) { /* forward substitution: z = A^-1 (x - mu) */
            double v = x[r * D + i] - gauss_mu(i, D);
            for (int j = 0; j < i; j++) v -= gauss_a(i, j) * z[j];
            z[i] = v / gauss_a(i, i);
            s += z[i] * z[i];
        }
        logp[r] = -0.5 * s - 0.5 * D * log(2 * M_PI) - logdet;
    }
    return MAF_OK;
}

static int split_index(const char *dataset)
{
    if (!strcmp(dataset, "train")) return 0;
    if (!strcmp(dataset, "val")) return 1;
    if (!strcmp(dataset, "test")) return 2;
    return -1;
}

static maf_status read_builtin(const char *name, const char *dataset, long train_rows,
                               uint64_t seed, int rank, int size, maf_shard *out)
{
    int split = split_index(dataset);
    if (split < 0)
        return maf_fail(MAF_ERR_CONFIG,
                        "built-in data set '%s' has splits train, val and test, not '%s'", name,
                        dataset);
    maf_status st = maf_builtin_dim(name, &out->dim);
    if (st != MAF_OK) return st;
    out->global_rows = split == 0 ? (size_t)train_rows : (size_t)(train_rows / 10);
    maf_shard_range(out->global_rows, rank, size, &out->first_row, &out->rows);
    out->x = malloc((out->rows ? out->rows : 1) * (size_t)out->dim * sizeof *out->x);
    if (!out->x)
        return maf_fail(MAF_ERR_NOMEM, "%s: out of memory for %zu rows", out->source, out->rows);
    return maf_builtin_generate(name, split, out->first_row, out->rows, seed, out->x);
}

/* ---- HDF5 ---- */

/* A value beyond float32's range (finite in a float64 file) becomes this NaN in the shard, so
 * that check_finite can name it for what it is; the first such value is kept for the message. */
#define OVERFLOW_BITS 0x7fc0f10fu
typedef struct {
    double first;
    long count;
} overflow_info;

static H5T_conv_ret_t on_overflow(H5T_conv_except_t what, hid_t src, hid_t dst, void *src_buf,
                                  void *dst_buf, void *ctx)
{
    (void)dst;
    if (what != H5T_CONV_EXCEPT_RANGE_HI && what != H5T_CONV_EXCEPT_RANGE_LOW)
        return H5T_CONV_UNHANDLED;
    overflow_info *o = ctx;
    if (o->count++ == 0)
        o->first = H5Tget_size(src) == sizeof(double)
                       ? *(const double *)src_buf
                       : (what == H5T_CONV_EXCEPT_RANGE_HI ? HUGE_VAL : -HUGE_VAL);
    uint32_t bits = OVERFLOW_BITS;
    memcpy(dst_buf, &bits, sizeof bits);
    return H5T_CONV_HANDLED;
}

static bool is_overflow_marker(maf_real v)
{
#ifdef MAF_REAL_DOUBLE
    (void)v;
    return false;
#else
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == OVERFLOW_BITS;
#endif
}

/* Every rank reads its rows of one dataset. The steps that are collective in parallel HDF5
 * (open, read, close) are reached by every rank or by none: each local failure is agreed on
 * (maf_mpi_agree) before the next collective step. */
static maf_status read_hdf5(const char *path, const char *dataset, MPI_Comm comm, int rank,
                            int size, maf_shard *out, overflow_info *ovf)
{
    maf_status st = MAF_OK;
    hid_t fapl = -1, file = -1, dset = -1, fspace = -1, mspace = -1, dxpl = -1, type = -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* checked before MPI-IO sees the path: it prints pages of errors for a folder or a
     * missing file before HDF5 returns */
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || access(path, R_OK) != 0)
        st = maf_fail(MAF_ERR_IO, "cannot open data file '%s': %s", path,
                      stat(path, &sb) != 0   ? strerror(errno)
                      : S_ISDIR(sb.st_mode)  ? "it is a folder, not a file"
                      : !S_ISREG(sb.st_mode) ? "not a regular file"
                                             : strerror(errno));
    if (st == MAF_OK && ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
                         H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0))
        st = maf_fail(MAF_ERR_IO, "%s: cannot set up MPI-IO access", path);
    if ((st = maf_mpi_agree(comm, st)) != MAF_OK) goto out;
    if ((file = H5Fopen(path, H5F_ACC_RDONLY, fapl)) < 0)
        st = maf_fail(MAF_ERR_FORMAT, "cannot open data file '%s': not an HDF5 file, or truncated",
                      path);
    if ((st = maf_mpi_agree(comm, st)) != MAF_OK) goto out;
    hsize_t dims[2] = {0, 0};
    H5T_class_t cls = H5T_NO_CLASS;
    int ndims = -1;
    if (H5Lexists(file, dataset, H5P_DEFAULT) <= 0 ||
        (dset = H5Dopen2(file, dataset, H5P_DEFAULT)) < 0)
        st = maf_fail(MAF_ERR_DATA, "%s: no dataset '%s' (set [data] train/val/test to its name)",
                      path, dataset);
    else if ((type = H5Dget_type(dset)) < 0 || (cls = H5Tget_class(type)) < 0 ||
             (fspace = H5Dget_space(dset)) < 0 || (ndims = H5Sget_simple_extent_ndims(fspace)) < 0)
        st = maf_fail(MAF_ERR_FORMAT, "%s: cannot read the type and shape of dataset '%s'", path,
                      dataset);
    else if (cls != H5T_FLOAT && cls != H5T_INTEGER)
        st = maf_fail(MAF_ERR_DATA, "%s: dataset '%s' is not numeric (need float or integer)", path,
                      dataset);
    else if (ndims != 2)
        st = maf_fail(MAF_ERR_DATA,
                      "%s: dataset '%s' must be 2-D (rows x columns), it has %d dimensions", path,
                      dataset, ndims);
    else if (H5Sget_simple_extent_dims(fspace, dims, NULL) < 0)
        st = maf_fail(MAF_ERR_FORMAT, "%s: cannot read the shape of dataset '%s'", path, dataset);
    else if (dims[1] < 1 || dims[1] > 100000)
        st = maf_fail(MAF_ERR_DATA, "%s: dataset '%s' has %llu columns (need 1..100000)", path,
                      dataset, (unsigned long long)dims[1]);
    else if (dims[0] == 0)
        st = maf_fail(MAF_ERR_DATA, "%s: dataset '%s' has 0 rows (%llu columns): it needs data",
                      path, dataset, (unsigned long long)dims[1]);
    if ((st = maf_mpi_agree(comm, st)) != MAF_OK) goto out;
    out->dim = (int)dims[1];
    out->global_rows = (size_t)dims[0];
    maf_shard_range(out->global_rows, rank, size, &out->first_row, &out->rows);
    out->x = malloc((out->rows ? out->rows : 1) * (size_t)out->dim * sizeof *out->x);
    /* every rank takes part in the collective read; a rank without rows selects nothing */
    hsize_t start[2] = {out->first_row, 0}, count[2] = {out->rows, dims[1]};
    hsize_t mdims[2] = {out->rows ? out->rows : 1, dims[1]};
    if (!out->x)
        st = maf_fail(MAF_ERR_NOMEM, "%s: out of memory for %zu rows of %d columns", out->source,
                      out->rows, out->dim);
    else if ((mspace = H5Screate_simple(2, mdims, NULL)) < 0 ||
             (out->rows ? H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL)
                        : H5Sselect_none(fspace) | H5Sselect_none(mspace)) < 0 ||
             (dxpl = H5Pcreate(H5P_DATASET_XFER)) < 0 ||
             H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0 ||
             H5Pset_type_conv_cb(dxpl, on_overflow, ovf) < 0)
        st = maf_fail(MAF_ERR_IO, "%s: cannot select rows %zu..%zu of '%s'", path, out->first_row,
                      out->first_row + out->rows, dataset);
    if ((st = maf_mpi_agree(comm, st)) != MAF_OK) goto out;
#ifdef MAF_REAL_DOUBLE
    hid_t mtype = H5T_NATIVE_DOUBLE;
#else
    hid_t mtype = H5T_NATIVE_FLOAT;
#endif
    if (H5Dread(dset, mtype, mspace, fspace, dxpl, out->x) < 0)
        st = maf_fail(MAF_ERR_IO, "%s: reading rows %zu..%zu of '%s' failed", path, out->first_row,
                      out->first_row + out->rows, dataset);
out:
    if (dxpl >= 0) H5Pclose(dxpl);
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    if (type >= 0) H5Tclose(type);
    if (dset >= 0) H5Dclose(dset);
    if (file >= 0) H5Fclose(file);
    if (fapl >= 0) H5Pclose(fapl);
    return st;
}

/* the first non-finite value over all ranks, by global row */
static maf_status check_finite(maf_shard *s, const overflow_info *ovf, MPI_Comm comm)
{
    int64_t bad_row = INT64_MAX, bad_rows = 0;
    int bad_col = -1;
    for (size_t r = 0; r < s->rows; r++) {
        bool row_bad = false;
        for (int d = 0; d < s->dim; d++)
            if (!isfinite(s->x[r * s->dim + d])) {
                if (bad_row == INT64_MAX) {
                    bad_row = (int64_t)(s->first_row + r);
                    bad_col = d;
                }
                row_bad = true;
            }
        bad_rows += row_bad;
    }
    int64_t first, total;
    MAF_MPI(MPI_Allreduce(&bad_row, &first, 1, MPI_INT64_T, MPI_MIN, comm));
    MAF_MPI(MPI_Allreduce(&bad_rows, &total, 1, MPI_INT64_T, MPI_SUM, comm));
    if (total == 0) return MAF_OK;
    /* the owner of the first bad row tells everyone its column and value, and whether it is a
     * float64 value beyond float32's range (then the first such value on its rank) */
    double info[3] = {-1, 0, 0};
    if (first == bad_row) {
        maf_real v = s->x[(first - (int64_t)s->first_row) * s->dim + bad_col];
        info[0] = bad_col;
        info[1] = is_overflow_marker(v) ? 0 : v;
        info[2] = is_overflow_marker(v) ? ovf->first : 0;
    }
    MAF_MPI(MPI_Allreduce(MPI_IN_PLACE, info, 1, MPI_DOUBLE, MPI_MAX, comm));
    MAF_MPI(MPI_Allreduce(MPI_IN_PLACE, info + 1, 2, MPI_DOUBLE, MPI_SUM, comm));
    if (info[2] != 0)
        return maf_fail(MAF_ERR_DATA,
                        "%s: row %lld (0-based) column %d is %g: finite, but beyond the range of "
                        "float32 (+-3.4e38) that maf computes in; rescale the column (%lld row(s) "
                        "have values out of range or non-finite)",
                        s->source, (long long)first, (int)info[0], info[2], (long long)total);
    return maf_fail(MAF_ERR_DATA,
                    "%s: row %lld (0-based) column %d is %g: data must be finite; %lld row(s) "
                    "have non-finite values",
                    s->source, (long long)first, (int)info[0], info[1], (long long)total);
}

maf_status maf_data_read(const char *path, const char *dataset, long builtin_rows, uint64_t seed,
                         MPI_Comm comm, maf_shard *out)
{
    int rank, size;
    MAF_MPI(MPI_Comm_rank(comm, &rank));
    MAF_MPI(MPI_Comm_size(comm, &size));
    memset(out, 0, sizeof *out);
    overflow_info ovf = {0, 0};
    snprintf(out->source, sizeof out->source, "%s:/%s", path, dataset);
    maf_status st;
    if (maf_builtin_is(path))
        st = read_builtin(path + strlen(BUILTIN_PREFIX), dataset, builtin_rows, seed, rank, size,
                          out);
    else
        st = read_hdf5(path, dataset, comm, rank, size, out, &ovf);
    st = maf_mpi_agree(comm, st);
    if (st == MAF_OK) st = check_finite(out, &ovf, comm);
    if (st != MAF_OK) maf_shard_free(out);
    return st;
}

/* ---- standardisation ---- */

static maf_status std_alloc(maf_standardizer *st, int dim)
{
    st->dim = dim;
    st->mean = calloc((size_t)dim, sizeof *st->mean);
    st->std = calloc((size_t)dim, sizeof *st->std);
    st->log_jacobian = 0;
    if (!st->mean || !st->std) {
        maf_standardizer_free(st);
        return maf_fail(MAF_ERR_NOMEM, "out of memory");
    }
    return MAF_OK;
}

maf_status maf_standardizer_identity(maf_standardizer *st, int dim)
{
    maf_status s = std_alloc(st, dim);
    if (s != MAF_OK) return s;
    for (int d = 0; d < dim; d++) st->std[d] = 1;
    return MAF_OK;
}

maf_status maf_standardizer_fit(maf_standardizer *st, const maf_shard *train, MPI_Comm comm)
{
    int D = train->dim;
    maf_status s = std_alloc(st, D);
    if (s != MAF_OK) return s;
    /* two passes: the global mean first, then squared deviations from it (exact enough for
     * heavy-tailed raw data where sum(x^2) - n mean^2 would cancel) */
    double *acc = calloc(2 * (size_t)D + 1, sizeof *acc);
    if (!acc) return maf_fail(MAF_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < train->rows; r++)
        for (int d = 0; d < D; d++) acc[d] += train->x[r * D + d];
    acc[2 * D] = (double)train->rows;
    if (MPI_Allreduce(MPI_IN_PLACE, acc, 2 * D + 1, MPI_DOUBLE, MPI_SUM, comm) != MPI_SUCCESS) {
        free(acc);
        return maf_fail(MAF_ERR_MPI, "MPI_Allreduce of the training mean failed");
    }
    double n = acc[2 * D];
    for (int d = 0; d < D; d++) st->mean[d] = acc[d] / n;
    memset(acc + D, 0, (size_t)D * sizeof *acc);
    for (size_t r = 0; r < train->rows; r++)
        for (int d = 0; d < D; d++) {
            double v = train->x[r * D + d] - st->mean[d];
            acc[D + d] += v * v;
        }
    if (MPI_Allreduce(MPI_IN_PLACE, acc + D, D, MPI_DOUBLE, MPI_SUM, comm) != MPI_SUCCESS) {
        free(acc);
        return maf_fail(MAF_ERR_MPI, "MPI_Allreduce of the training variance failed");
    }
    for (int d = 0; d < D; d++) {
        st->std[d] = sqrt(acc[D + d] / n);
        if (!(st->std[d] > 0) || !isfinite(st->std[d])) {
            free(acc);
            maf_standardizer_free(st);
            return maf_fail(
                MAF_ERR_DATA,
                "%s: column %d is constant (std 0): its density is degenerate; drop the "
                "column or set [data] standardize = false",
                train->source, d);
        }
        st->log_jacobian -= log(st->std[d]);
    }
    free(acc);
    return MAF_OK;
}

maf_status maf_standardizer_apply(const maf_standardizer *st, maf_shard *s)
{
    int D = st->dim;
    for (size_t r = 0; r < s->rows; r++)
        for (int d = 0; d < D; d++) {
            double z = (s->x[r * D + d] - st->mean[d]) / st->std[d];
            s->x[r * D + d] = (maf_real)z;
            if (!isfinite(s->x[r * D + d]))
                return maf_fail(MAF_ERR_DATA,
                                "%s: row %zu (0-based) column %d is %g: standardised by the "
                                "training std %g it is %g, beyond the float32 range maf computes "
                                "in; rescale the column or set [data] standardize = false",
                                s->source, s->first_row + r, d, z * st->std[d] + st->mean[d],
                                st->std[d], z);
        }
    return MAF_OK;
}

void maf_standardizer_free(maf_standardizer *st)
{
    if (!st) return;
    free(st->mean);
    free(st->std);
    st->mean = st->std = NULL;
}
