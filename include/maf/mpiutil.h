/* mpiutil.h - the MPI conventions of maf: checked calls, agreement on failure, rank-0 output.
 *
 * Every MPI call in libmaf goes through MAF_MPI(call), which turns a failure into a maf_status
 * whose message names the call, file, line and rank (with MPI_Error_string). When one rank
 * fails, the others must not hang: maf_mpi_agree() is a collective that every rank calls after
 * a step that may fail locally; it returns the same status on every rank and gives every rank
 * the message of the lowest failing rank. */
#ifndef MAF_MPIUTIL_H
#define MAF_MPIUTIL_H

#include <mpi.h>

#include "maf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

maf_status maf_mpi_fail(int err, const char *call, const char *file, int line);

#define MAF_MPI(call)                                                                              \
    do {                                                                                           \
        int maf_mpi_rc_ = (call);                                                                  \
        if (maf_mpi_rc_ != MPI_SUCCESS)                                                            \
            return maf_mpi_fail(maf_mpi_rc_, #call, __FILE__, __LINE__);                           \
    } while (0)

/* Collective: combine every rank's local status. Returns MAF_OK only if all ranks passed;
 * otherwise the status of the lowest failing rank, whose message (prefixed "[rank r] " when
 * there is more than one rank) becomes maf_last_error() on every rank. */
maf_status maf_mpi_agree(MPI_Comm comm, maf_status local);

/* Sum-allreduce of doubles in place over an MPI_Comm passed as ctx (a maf_reduce_fn). */
int maf_mpi_reduce_sum(double *buf, int n, void *comm_ptr);

#ifdef __cplusplus
}
#endif
#endif
