/* mpiutil.c - checked MPI calls and agreement on failure. */
#include "maf/mpiutil.h"

#include <stdio.h>
#include <string.h>

maf_status maf_mpi_fail(int err, const char *call, const char *file, int line)
{
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0, rank = -1, init = 0;
    MPI_Error_string(err, msg, &len);
    MPI_Initialized(&init);
    if (init) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return maf_fail(MAF_ERR_MPI, "%s failed at %s:%d on rank %d: %s", call, file, line, rank, msg);
}

maf_status maf_mpi_agree(MPI_Comm comm, maf_status local)
{
    int rank = 0, size = 1;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS || MPI_Comm_size(comm, &size) != MPI_SUCCESS)
        return maf_fail(MAF_ERR_MPI, "the communicator is not usable while ranks agreed");
    int mine = local == MAF_OK ? size : rank, first;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
        return maf_fail(MAF_ERR_MPI, "MPI_Allreduce failed while ranks agreed on a failure");
    if (first == size) return MAF_OK;
    struct {
        int status;
        char msg[MAF_ERROR_MAX];
    } m;
    memset(&m, 0, sizeof m);
    if (rank == first) {
        m.status = local;
        /* named once, even when a failure is agreed on again by an outer step */
        if (size > 1 && strncmp(maf_last_error(), "[rank ", 6) != 0)
            snprintf(m.msg, sizeof m.msg, "[rank %d] %s", rank, maf_last_error());
        else
            snprintf(m.msg, sizeof m.msg, "%s", maf_last_error());
    }
    if (MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, first, comm) != MPI_SUCCESS)
        return maf_fail(MAF_ERR_MPI, "MPI_Bcast failed while ranks agreed on a failure");
    return maf_fail((maf_status)m.status, "%s", m.msg);
}

int maf_mpi_reduce_sum(double *buf, int n, void *comm_ptr)
{
    MPI_Comm comm = *(MPI_Comm *)comm_ptr;
    return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, comm) == MPI_SUCCESS ? 0 : -1;
}
