/* test_mpi_grad.c - the distributed contract at 1, 2, 3 and 4 ranks: the gradient (with batch
 * norm over the global batch) that p ranks apply after the allreduce equals the gradient one
 * process computes on the union of their batches, to float rounding; the per-row densities
 * agree; and after an Adam step every rank holds bitwise the same parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "maf/maf.h"
#include "mpitest.h"

enum { D = 5, B = 29 }; /* B not divisible by 2, 3 or 4: uneven shares */

static maf_flow *make(int max_batch, maf_activation act)
{
    maf_flow_config c;
    maf_flow_config_default(&c, D);
    c.blocks = 3;
    c.hidden = 24;
    c.layers = 2;
    c.activation = act;
    c.max_batch = max_batch;
    maf_flow *f = NULL;
    if (maf_flow_create(&c, &f) != MAF_OK) return NULL;
    maf_rng r;
    maf_rng_seed(&r, 5, 0);
    maf_flow_init_params(f, &r);
    /* move biases and batch-norm parameters off zero: the same on every rank */
    maf_real *p = maf_flow_params(f);
    const maf_real *m = maf_flow_param_mask(f);
    for (size_t i = 0; i < maf_flow_num_params(f); i++)
        p[i] += (maf_real)(0.2 * maf_rng_normal(&r)) * m[i];
    return f;
}

static void check_case(maf_activation act, double l2)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm comm = MPI_COMM_WORLD;
    /* the global batch, identical on every rank */
    maf_real x[B * D];
    maf_rng r;
    maf_rng_seed(&r, 11, 0);
    for (int i = 0; i < B * D; i++) x[i] = (maf_real)(1.7 * maf_rng_normal(&r) + 0.4);
    int share = B / size + (rank < B % size), first = 0;
    for (int q = 0; q < rank; q++) first += B / size + (q < B % size);

    maf_flow *dist = make(B, act), *single = make(B, act);
    MT_CHECK(dist && single, "flow creation failed: %s", maf_last_error());
    if (!dist || !single) return;
    maf_flow_set_reducer(dist, maf_mpi_reduce_sum, &comm);
    double lp_d[B], lp_s[B];
    MT_CHECK(maf_flow_log_prob(dist, x + first * D, share, lp_d) == MAF_OK, "%s", maf_last_error());
    MT_CHECK(maf_flow_backward(dist, 1.0 / B, rank == 0 ? l2 : 0) == MAF_OK, "%s",
             maf_last_error());
    size_t np = maf_flow_num_params(dist);
    maf_real *g = maf_flow_grads(dist);
    MPI_Allreduce(MPI_IN_PLACE, g, (int)np, MPI_FLOAT, MPI_SUM, comm);

    MT_CHECK(maf_flow_log_prob(single, x, B, lp_s) == MAF_OK, "%s", maf_last_error());
    MT_CHECK(maf_flow_backward(single, 1.0 / B, l2) == MAF_OK, "%s", maf_last_error());
    const maf_real *gs = maf_flow_grads(single);
    for (int i = 0; i < share; i++)
        MT_CHECK(fabs(lp_d[i] - lp_s[first + i]) <= 1e-5 * (1 + fabs(lp_s[first + i])),
                 "row %d: log p %.9g on %d ranks, %.9g in one process", first + i, lp_d[i], size,
                 lp_s[first + i]);
    double gnorm = 0, dnorm = 0, worst = 0;
    for (size_t i = 0; i < np; i++) {
        gnorm += (double)gs[i] * gs[i];
        dnorm += ((double)g[i] - gs[i]) * ((double)g[i] - gs[i]);
        double e = fabs((double)g[i] - gs[i]) / (1e-3 + fabs((double)gs[i]));
        if (e > worst) worst = e;
    }
    double rel = sqrt(dnorm / gnorm);
    MT_CHECK(rel < 1e-5 && worst < 1e-3,
             "gradient on %d ranks differs from one process: relative norm %.3g, worst entry %.3g",
             size, rel, worst);
    if (rank == 0)
        printf("  act %s l2 %g: gradient relative difference %.2e (worst entry %.2e) at %d ranks\n",
               act == MAF_ACT_RELU ? "relu" : "tanh", l2, rel, worst, size);

    /* one Adam step from the allreduced gradient: bitwise identical parameters everywhere */
    maf_adam_config ac;
    maf_adam_config_default(&ac);
    ac.lr = 1e-2;
    maf_adam *a;
    MT_CHECK(maf_adam_create(&ac, np, &a) == MAF_OK, "adam");
    maf_adam_step(a, maf_flow_params(dist), g, NULL);
    maf_real *p = maf_flow_params(dist), *lo = malloc(np * sizeof *lo),
             *hi = malloc(np * sizeof *hi);
    MPI_Allreduce(p, lo, (int)np, MPI_FLOAT, MPI_MIN, comm);
    MPI_Allreduce(p, hi, (int)np, MPI_FLOAT, MPI_MAX, comm);
    size_t differ = 0;
    for (size_t i = 0; i < np; i++) differ += memcmp(&lo[i], &hi[i], sizeof lo[i]) != 0;
    MT_CHECK(differ == 0, "%zu parameters differ between ranks after the step", differ);
    free(lo);
    free(hi);
    maf_adam_free(a);
    maf_flow_free(dist);
    maf_flow_free(single);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &mt_rank);
    check_case(MAF_ACT_RELU, 0);
    check_case(MAF_ACT_TANH, 1e-3);
    return mt_finish("test_mpi_grad");
}
