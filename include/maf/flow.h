/* flow.h - the Masked Autoregressive Flow (Papamakarios, Pavlakou & Murray 2017).
 *
 * A flow of K MADE blocks with Gaussian conditionals and, optionally, batch norm after every
 * block, over a standard normal base. Density direction (x -> u), per block in its order:
 *     u_i = (x_i - m_i(x_<i)) * exp(-alpha_i(x_<i)),      log|det| = -sum_i alpha_i
 * where the MADE emits a shift m_i and a raw log-scale a_i, and alpha_i = c * tanh(a_i / c)
 * when the log-scale bound c > 0 (alpha = a when c = 0, the paper's unbounded model). The
 * bound keeps exp(+-alpha) within [e^-c, e^c], so neither the density nor the inverse can
 * overflow however far a row lies from the data (see README "Numerical safety").
 * Batch norm: y = exp(log_gamma) * (x - mean) / sqrt(var + 1e-5) + beta with batch statistics in
 * train mode and stored statistics (set by the caller, e.g. from the whole training set) in
 * eval mode.
 *
 * Block orders: block 0 uses the natural order unless `order` is random; each next block
 * reverses the previous order (or draws a seeded random permutation). The order is carried by
 * the input degrees of the block's masks, so no data is ever permuted.
 *
 * Memory: every buffer (parameters, gradients, masks, activations, scratch) is allocated by
 * maf_flow_create for at most `max_batch` rows; no pass allocates.
 *
 * Parameters, gradients (and the optimiser's moments, see adam.h) are each ONE flat array of
 * maf_flow_num_params() values; maf_flow_tensor() describes the named views into it (the layout
 * table). Masked weight entries are stored as exact zeros and their gradients are exactly zero,
 * so a masked entry stays zero under any optimiser that maps a zero gradient to no update.
 *
 * Distributed batch norm: maf_flow_set_reducer() installs a sum-allreduce used for the batch
 * statistics, so that p processes compute exactly what one process computes on the union of
 * their batches. */
#ifndef MAF_FLOW_H
#define MAF_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maf/real.h"
#include "maf/rng.h"
#include "maf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct maf_flow maf_flow;

typedef enum { MAF_ACT_RELU = 0, MAF_ACT_TANH = 1 } maf_activation;
typedef enum { MAF_DEGREES_SEQUENTIAL = 0, MAF_DEGREES_RANDOM = 1 } maf_degrees;
typedef enum { MAF_ORDER_REVERSE = 0, MAF_ORDER_RANDOM = 1 } maf_order;

typedef struct {
    int dim;                   /* D, data dimension (>= 1) */
    int blocks;                /* K, number of MADE blocks (>= 1) */
    int hidden;                /* H, units per hidden layer (>= 1) */
    int layers;                /* L, hidden layers per MADE (>= 1) */
    maf_activation activation; /* relu | tanh */
    maf_degrees degrees;       /* hidden degrees: sequential (paper) | random (seeded) */
    maf_order order;           /* reverse between blocks (paper) | random permutations */
    bool batch_norm;           /* batch norm after every block (paper's MAF) */
    double log_scale_bound;    /* c > 0: alpha = c tanh(a / c); 0: unbounded */
    int max_batch;             /* largest number of rows any pass will be given */
    uint64_t seed;             /* random degrees/orders */
} maf_flow_config;

/* Paper defaults for dimension `dim`: 5 blocks, 1 x 100 hidden, relu, sequential degrees,
 * reversed orders, batch norm on, log-scale bound 2, max_batch 100, seed 1. */
void maf_flow_config_default(maf_flow_config *cfg, int dim);

typedef enum {
    MAF_TENSOR_WEIGHT = 0, /* masked weight, rows = fan_in, cols = fan_out (row-major) */
    MAF_TENSOR_BIAS = 1,   /* MADE bias, 1 x fan_out */
    MAF_TENSOR_BN_LOG_GAMMA = 2,
    MAF_TENSOR_BN_BETA = 3,
} maf_tensor_kind;

typedef struct {
    char name[32]; /* "made0.w0", "made0.b0", ..., "made0.w_out", "made0.b_out",
                      "bn0.log_gamma", "bn0.beta" */
    maf_tensor_kind kind;
    int block; /* index of the MADE block / batch-norm layer */
    int layer; /* 0..L-1 hidden layers, L = output layer; -1 for batch norm */
    int rows, cols;
    size_t offset; /* into the flat parameter (and gradient, Adam m/v) arrays */
} maf_tensor_info;

maf_status maf_flow_create(const maf_flow_config *cfg, maf_flow **out);
void maf_flow_free(maf_flow *f);
const maf_flow_config *maf_flow_get_config(const maf_flow *f);

/* Length of the flat parameter/gradient arrays (includes alignment padding, always zero). */
size_t maf_flow_num_params(const maf_flow *f);
/* Number of trainable values: the tensors' sizes, not counting masked-out weights. */
size_t maf_flow_num_trainable(const maf_flow *f);
maf_real *maf_flow_params(maf_flow *f);
/* The gradient array has MAF_GRAD_EXTRA slots after the last parameter that the library never
 * touches: a caller may put flags or sums there to travel in the same allreduce. */
#define MAF_GRAD_EXTRA 16
maf_real *maf_flow_grads(maf_flow *f);
/* 1 where a parameter is trainable, 0 for masked-out weights and padding. */
const maf_real *maf_flow_param_mask(const maf_flow *f);
int maf_flow_num_tensors(const maf_flow *f);
const maf_tensor_info *maf_flow_tensor(const maf_flow *f, int i);
/* Index of the tensor called `name`, or -1. */
int maf_flow_find_tensor(const maf_flow *f, const char *name);
/* Input degrees (1..D) of block k: input i comes at position deg[i] of the block's order. */
const int *maf_flow_input_degrees(const maf_flow *f, int block);
/* Degrees of hidden layer l of block k (H values). */
const int *maf_flow_hidden_degrees(const maf_flow *f, int block, int layer);

/* Paper initialisation: weights N(0,1)/sqrt(fan_in + 1) (then masked), biases 0,
 * log_gamma 0, beta 0. Eval statistics reset to mean 0, var 1. */
void maf_flow_init_params(maf_flow *f, maf_rng *rng);
/* Re-apply the masks to the parameters (after loading or editing them). */
void maf_flow_apply_masks(maf_flow *f);

/* Train mode (default): batch norm uses the statistics of the (global) batch given to the
 * forward pass. Eval mode: it uses the stored statistics. */
void maf_flow_set_train(maf_flow *f, bool train);
bool maf_flow_is_train(const maf_flow *f);

/* Stored batch-norm statistics of layer k (D values each), used in eval mode. */
maf_status maf_flow_set_bn_stats(maf_flow *f, int layer, const double *mean, const double *var);
maf_status maf_flow_get_bn_stats(const maf_flow *f, int layer, double *mean, double *var);
/* Every layer's statistics at once, as blocks x 2 x dim doubles (layer k: its mean, then its
 * var), e.g. to keep the best model's statistics. Setting is a no-op when batch norm is off. */
void maf_flow_get_all_bn_stats(const maf_flow *f, double *stats);
maf_status maf_flow_set_all_bn_stats(maf_flow *f, const double *stats);

/* Sum-allreduce of n doubles in place, across the processes that train one model together.
 * Return 0 on success. NULL (default): one process. */
typedef int (*maf_reduce_fn)(double *buf, int n, void *ctx);
void maf_flow_set_reducer(maf_flow *f, maf_reduce_fn fn, void *ctx);

/* Density pass: logp[r] = log p(x_r) for rows x (n x D, row-major), n <= max_batch.
 * In train mode this also saves what maf_flow_backward needs. With a reducer installed and
 * batch norm in train mode, every process must call this collectively. */
maf_status maf_flow_log_prob(maf_flow *f, const maf_real *x, int n, double *logp);

/* log p of one row in double precision throughout (eval mode: the stored batch-norm statistics),
 * for rows far from the data whose float pass overflows (|x| near the float range): the result
 * is finite for any finite x, as large as the model makes it. Uses a scratch of the flow. */
maf_status maf_flow_log_prob_row_f64(maf_flow *f, const double *x, double *logp);

/* The same pass, also returning the base variables u (n x D, may be NULL). */
maf_status maf_flow_forward(maf_flow *f, const maf_real *x, int n, maf_real *u, double *logp);

/* Gradient pass after a train-mode maf_flow_log_prob on n rows. Writes into the gradient array
 *     grad = scale * d/dtheta sum_r (-log p(x_r))  +  l2 * theta
 * i.e. scale = 1/n and l2 = lambda gives the gradient of mean NLL + (lambda/2) sum theta^2.
 * Data-parallel use: scale = 1/global_batch on every process, l2 on one process only, then a
 * sum-allreduce of the gradient array. Collective when a reducer is installed. */
maf_status maf_flow_backward(maf_flow *f, double scale, double l2);

/* Inverse pass u -> x (n x D each, n <= max_batch); requires eval mode when batch norm is on.
 * Costs D MADE evaluations per block (autoregressive inversion). u and x may alias. */
maf_status maf_flow_inverse(maf_flow *f, const maf_real *u, int n, maf_real *x);

/* n samples from the model (eval mode): u ~ N(0, I) from rng, then the inverse pass. */
maf_status maf_flow_sample(maf_flow *f, maf_rng *rng, int n, maf_real *x);

/* Compute the eval statistics of every batch-norm layer from a whole data set (the paper's
 * choice): layer k's mean and variance over all rows of x pushed through layers before it in
 * eval mode. x is n x D, processed in chunks of max_batch rows; with a reducer installed the
 * statistics are over all processes' rows (collective). Leaves the flow in eval mode.
 * Allocates a copy of x (this is not a step-loop call). */
maf_status maf_flow_compute_bn_stats(maf_flow *f, const maf_real *x, size_t n);

/* The same, using x as workspace (no copy): x is overwritten with its image after the last
 * batch-norm layer. Each layer costs one MADE pass over the rows. */
maf_status maf_flow_compute_bn_stats_inplace(maf_flow *f, maf_real *x, size_t n);

#ifdef __cplusplus
}
#endif
#endif
