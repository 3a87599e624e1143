/* mpitest.h - a minimal harness for tests that run under mpirun at several rank counts:
 * every rank counts its failures, the counts are summed, rank 0 reports, and every rank
 * exits non-zero if any rank failed (so no rank can deadlock the next collective). */
#ifndef MAF_MPITEST_H
#define MAF_MPITEST_H

#include <mpi.h>
#include <stdio.h>

static int mt_failures;
static int mt_rank;

#define MT_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            mt_failures++;                                                                         \
            fprintf(stderr, "[rank %d] %s:%d: check failed: %s: ", mt_rank, __FILE__, __LINE__,    \
                    #cond);                                                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

/* sum the failures of all ranks; returns the process exit code */
static int mt_finish(const char *name)
{
    int total = 0, size;
    MPI_Allreduce(&mt_failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (mt_rank == 0)
        printf("%s at %d rank(s): %d passed, %d failed\n", name, size, total ? 0 : 1,
               total ? 1 : 0);
    MPI_Finalize();
    return total ? 1 : 0;
}

#endif
