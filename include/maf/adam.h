/* adam.h - the Adam optimiser (Kingma & Ba 2015) over one flat parameter array.
 *
 *     g <- g + weight_decay * theta            (the gradient of an L2 term (wd/2) sum theta^2)
 *     g <- g * min(1, clip / ||g||)          (if clip_norm > 0; ||.|| the global L2 norm)
 *     m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,   t <- t + 1
 *     theta <- theta - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *
 * m and v are flat arrays laid out like the parameters (so the flow's layout table names
 * their views too). The step is deterministic: the same inputs give bitwise the same result.
 * A zero gradient on a zero-moment entry leaves the parameter unchanged (masked weights stay 0). */
#ifndef MAF_ADAM_H
#define MAF_ADAM_H

#include <stddef.h>
#include <stdint.h>

#include "maf/real.h"
#include "maf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double lr;           /* learning rate (paper: 1e-4 for MAF, 1e-3 for MADE) */
    double beta1;        /* 0.9 */
    double beta2;        /* 0.999 */
    double eps;          /* 1e-8 */
    double clip_norm;    /* clip the gradient to this global norm; 0 = off */
    double weight_decay; /* L2 coefficient lambda folded into the gradient (paper: 1e-6); it is
                            the same as maf_flow_backward's l2 argument, fused into this pass */
} maf_adam_config;

typedef struct maf_adam maf_adam;

void maf_adam_config_default(maf_adam_config *cfg);
maf_status maf_adam_create(const maf_adam_config *cfg, size_t n, maf_adam **out);
void maf_adam_free(maf_adam *a);

/* One update of params[0..n) from grads[0..n). grad_norm (optional) receives the norm of the
 * gradient (weight decay included) before clipping; when it is NULL and clipping is off the
 * norm is not computed (one pass over the arrays instead of two). When the norm is computed,
 * grads holds the gradient that was applied on return (weight decay added, clipped); otherwise
 * grads is left as it was. Fails with MAF_ERR_NUMERIC, changing nothing, if the norm is
 * computed and not finite. */
maf_status maf_adam_step(maf_adam *a, maf_real *params, maf_real *grads, double *grad_norm);

/* State, for checkpoints: moments (n values each) and the step count. */
maf_real *maf_adam_m(maf_adam *a);
maf_real *maf_adam_v(maf_adam *a);
uint64_t maf_adam_steps(const maf_adam *a);
void maf_adam_set_steps(maf_adam *a, uint64_t t);
size_t maf_adam_size(const maf_adam *a);
const maf_adam_config *maf_adam_get_config(const maf_adam *a);
void maf_adam_set_lr(maf_adam *a, double lr);

/* Global L2 norm of x[0..n), accumulated in double. */
double maf_l2_norm(const maf_real *x, size_t n);

#ifdef __cplusplus
}
#endif
#endif
