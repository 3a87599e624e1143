/* flow_impl.h - the internal definition of maf_flow shared by the flow's modules:
 * layout.c (degrees, masks, parameter layout table), made.c (MADE block kernels),
 * batchnorm.c (batch-norm kernels) and flow.c (the public passes). */
#ifndef MAF_FLOW_IMPL_H
#define MAF_FLOW_IMPL_H

#include "maf/flow.h"
#include "gemm.h"

#define MAF_BN_EPS 1e-5
#define MAF_ALIGN  16 /* tensor offsets are multiples of 16 values (64-byte alignment) */

struct maf_flow {
    maf_flow_config cfg;
    int D, K, H, L, B; /* dim, blocks, hidden, layers, max_batch */

    /* parameters, gradients and masks: one flat array each, carved by the layout table */
    size_t nparam, ntrainable;
    maf_real *params, *grads, *mask;
    int ntensors;
    maf_tensor_info *tensors;
    size_t *w_off, *b_off;     /* K * (L + 1): hidden layers 0..L-1, output layer L */
    size_t *lg_off, *beta_off; /* K */

    int *deg_in; /* K * D: input degrees of each block (its order) */
    int *deg_h;  /* K * L * H: hidden degrees */

    /* activations for at most B rows */
    int nz;               /* number of (B x D) stage buffers: input, then after every MADE and BN */
    maf_real *z;          /* nz * B * D */
    maf_real *h;          /* K * L * B * H: hidden activations (after the nonlinearity) */
    maf_real *o;          /* K * B * 2D: raw MADE outputs [shift | log-scale] of the last pass */
    maf_real *alpha, *ex; /* K * B * D each: alpha and exp(-alpha) of the last forward pass */
    maf_real *dh;         /* 2 * B * H: backward scratch */
    maf_real *dz;         /* B * D: gradient flowing through the stages */

    double *bn_mean, *bn_var; /* K * D: eval-mode statistics */
    double *bt_mean, *bt_var; /* K * D: last train-mode batch statistics */
    double *red;              /* 2D + 1: reduction buffer */
    double *row;              /* D + 2 max(H, 2D): scratch of the double-precision row pass */
    double bt_count;          /* global rows of the last train-mode batch */
    int n_saved;              /* rows saved by the last train-mode forward, -1 if none */
    bool train;

    maf_reduce_fn reduce;
    void *reduce_ctx;
    maf_gemm_trace trace;
};

/* the stage buffer s: row-major B x D */
static inline maf_real *flow_stage(maf_flow *f, int s)
{
    return f->z + (size_t)s * f->B * f->D;
}
static inline maf_real *flow_hidden(maf_flow *f, int k, int l)
{
    return f->h + ((size_t)k * f->L + l) * f->B * f->H;
}
static inline maf_real *flow_out(maf_flow *f, int k)
{
    return f->o + (size_t)k * f->B * 2 * f->D;
}
static inline maf_real *flow_alpha(maf_flow *f, int k)
{
    return f->alpha + (size_t)k * f->B * f->D;
}
static inline maf_real *flow_ex(maf_flow *f, int k)
{
    return f->ex + (size_t)k * f->B * f->D;
}

/* layout.c */
maf_status layout_build(maf_flow *f); /* degrees, tensor table, masks; allocates params etc. */

/* made.c: block k, n rows */
/* out (n x 2D) = raw MADE outputs without the output bias: [shift | raw log-scale]; hidden
 * activations saved in flow_hidden(f, k, .) */
void made_net(maf_flow *f, int k, const maf_real *x, int n);
/* x -> u with the log-det subtracted from logp (per row); saves alpha and exp(-alpha) */
void made_forward(maf_flow *f, int k, const maf_real *x, int n, maf_real *u, double *logp);
/* in place: g (n x D) holds dL/du on entry and dL/dx on exit (if need_dx); x and u are the
 * block's saved input and output; parameter gradients are written (not accumulated) */
void made_backward(maf_flow *f, int k, const maf_real *x, const maf_real *u, int n, maf_real *g,
                   double scale, bool need_dx);
/* u -> x by D sequential MADE evaluations; x must not alias u */
void made_inverse(maf_flow *f, int k, const maf_real *u, int n, maf_real *x);

/* batchnorm.c: layer k */
int bn_forward_train(maf_flow *f, int k, const maf_real *x, int n, maf_real *y, double *logp);
void bn_forward_eval(maf_flow *f, int k, const maf_real *x, int n, maf_real *y, double *logp);
int bn_backward(maf_flow *f, int k, const maf_real *x, int n, maf_real *g, double scale);
void bn_inverse(maf_flow *f, int k, const maf_real *y, int n, maf_real *x);
/* sums of x and x^2 over n rows added into acc (2D doubles) */
void bn_accumulate(const maf_real *x, int n, int D, double *acc);

#endif
