/* mkdata.c - test tool: write an HDF5 data file with /train /val /test drawn from the built-in
 * gauss<D> set (known density), in mixed storage: train float64 contiguous, val and test
 * float32 chunked and gzip-compressed. Options inject faults for the error tests.
 *
 *   mkdata OUT.h5 --dim D --rows N [--nan-row R [--nan-split S] [--nan-col C]]
 *          [--constant-col C] [--no-test] [--scale] [--truth]
 *
 * --nan-split puts the --nan-row NaN into split S (train, val or test; default train), in
 * column --nan-col C (default D/2).
 * --scale multiplies column d by 10^(1 + d mod 3) (10, 100, 1000, 10, ...), so that the
 * standardisation's log-Jacobian is tens of nats; the truth includes -sum(log scale).
 * --truth prints the true mean log-likelihood of the test split. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maf/data.h"

static int write_split(hid_t file, const char *name, const float *x, size_t n, int D, bool f64,
                       bool gzip)
{
    hsize_t dims[2] = {n, (hsize_t)D};
    hid_t space = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (gzip) {
        hsize_t chunk[2] = {n < 64 ? n : 64, (hsize_t)D};
        H5Pset_chunk(dcpl, 2, chunk);
        H5Pset_deflate(dcpl, 4);
    }
    hid_t ds = H5Dcreate2(file, name, f64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, space, H5P_DEFAULT,
                          dcpl, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
    return rc < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: mkdata OUT.h5 --dim D --rows N [--nan-row R [--nan-split S] [--nan-col C]] "
                "[--constant-col C] "
                "[--no-test] [--scale] [--truth]\n");
        return 2;
    }
    const char *out = argv[1];
    int D = 4;
    long rows = 1000, nan_row = -1, const_col = -1;
    bool no_test = false, truth = false, scale = false;
    int nan_split = 0, nan_col = -1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--dim") && i + 1 < argc)
            D = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = atol(argv[++i]);
        else if (!strcmp(argv[i], "--nan-row") && i + 1 < argc)
            nan_row = atol(argv[++i]);
        else if (!strcmp(argv[i], "--constant-col") && i + 1 < argc)
            const_col = atol(argv[++i]);
        else if (!strcmp(argv[i], "--nan-split") && i + 1 < argc) {
            const char *v = argv[++i];
            nan_split = !strcmp(v, "train")  ? 0
                        : !strcmp(v, "val")  ? 1
                        : !strcmp(v, "test") ? 2
                                             : -1;
            if (nan_split < 0) {
                fprintf(stderr, "mkdata: --nan-split takes train, val or test\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--nan-col") && i + 1 < argc)
            nan_col = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scale"))
            scale = true;
        else if (!strcmp(argv[i], "--no-test"))
            no_test = true;
        else if (!strcmp(argv[i], "--truth"))
            truth = true;
        else {
            fprintf(stderr, "mkdata: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    char name[32];
    snprintf(name, sizeof name, "gauss%d", D);
    size_t nv = rows >= 10 ? (size_t)rows / 10 : 1, n[3] = {(size_t)rows, nv, nv};
    hid_t file = H5Fcreate(out, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) return 1;
    const char *splits[3] = {"train", "val", "test"};
    double sum = 0;
    for (int s = 0; s < 3; s++) {
        if (s == 2 && no_test) continue;
        float *x = malloc(n[s] * D * sizeof *x);
        if (!x || maf_builtin_generate(name, s, 0, n[s], 1, x) != MAF_OK) return 1;
        if (s == nan_split && nan_row >= 0 && (size_t)nan_row < n[s])
            x[nan_row * D + (nan_col >= 0 && nan_col < D ? nan_col : D / 2)] = NAN;
        if (s == 0 && const_col >= 0 && const_col < D)
            for (size_t r = 0; r < n[s]; r++) x[r * D + const_col] = 2.5f;
        if (s == 2 && truth) {
            double *lp = malloc(n[s] * sizeof *lp);
            maf_builtin_logpdf(name, x, n[s], lp);
            for (size_t i = 0; i < n[s]; i++) sum += lp[i];
            free(lp);
        }
        if (scale)
            for (int d = 0; d < D; d++) {
                double f = pow(10.0, 1 + d % 3);
                for (size_t r = 0; r < n[s]; r++) x[r * D + d] = (float)(x[r * D + d] * f);
                if (s == 2 && truth) sum -= (double)n[s] * log(f);
            }
        if (write_split(file, splits[s], x, n[s], D, s == 0, s != 0) != 0) return 1;
        free(x);
    }
    H5Fclose(file);
    if (truth) printf("%.6f\n", sum / (double)n[2]);
    return 0;
}
