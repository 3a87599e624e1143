/* fuzz_data.c - libFuzzer harness of the data reader (src/data.c: the MPI-IO HDF5 reader, the
 * dataset checks and the value checks) and the standardisation.
 *
 * The input is the bytes of an HDF5 data file. maf_data_read() reads each of train, val and
 * test on MPI_COMM_WORLD (a single process: MPI is initialised once as a singleton); when a
 * split reads, maf_standardizer_fit() runs on it. Every object is freed; an HDF5 id left open is
 * reported (see fuzz_util.h). Single allocations above 100 MB fail (NULL) instead of aborting,
 * so a file that announces a huge dataset exercises the out-of-memory path. */
#define FUZZ_WITH_HDF5
#include "fuzz_util.h"

#include <mpi.h>
#include <sanitizer/lsan_interface.h>

#include "maf/data.h"

static fuzz_memfile h5_file;
static fuzz_h5ids base_ids;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* Open MPI's start-up leaves unreachable blocks (pmix, hwloc, opal): not counted as leaks */
    __lsan_disable();
    int rc = MPI_Init(NULL, NULL);
    __lsan_enable();
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "fuzz_data: MPI_Init failed\n");
        abort();
    }
    H5open();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    fuzz_memfile_open(&h5_file, "fuzz_data");
    base_ids = fuzz_h5ids_now();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const splits[] = {"train", "val", "test"};
    const char *path = fuzz_memfile_set(&h5_file, data, size);
    for (int i = 0; i < 3; i++) {
        maf_shard s;
        maf_status st = maf_data_read(path, splits[i], 0, 1, MPI_COMM_WORLD, &s);
        fuzz_h5ids_check(&base_ids, "maf_data_read");
        if (st != MAF_OK) {
            if (s.x) {
                fprintf(stderr, "fuzz_data: failed read left its rows allocated\n");
                abort();
            }
            continue;
        }
        if (s.dim < 1 || s.rows != s.global_rows || s.first_row != 0 || !s.x) {
            fprintf(stderr, "fuzz_data: inconsistent shard: dim %d, rows %zu of %zu from %zu\n",
                    s.dim, s.rows, s.global_rows, s.first_row);
            abort();
        }
        maf_standardizer stdz;
        if (maf_standardizer_fit(&stdz, &s, MPI_COMM_WORLD) == MAF_OK) {
            maf_standardizer_apply(&stdz, &s);
            maf_standardizer_free(&stdz);
        }
        maf_shard_free(&s);
    }
    return 0;
}
