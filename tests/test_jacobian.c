/* test_jacobian.c - log-dets against numerically computed Jacobians (double build).
 *
 * For every MADE block, every batch-norm layer (eval mode) and the whole flow, the Jacobian is
 * computed by central differences; the block's is triangular in the block's order (exact
 * zeros above the diagonal), and each pass's log-det equals log|det J|. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flow_impl.h"
#include "testutil.h"

#define H_FD 1e-5

typedef void (*map_fn)(maf_flow *f, int k, const double *x, double *y, double *logdet);

static void map_made(maf_flow *f, int k, const double *x, double *y, double *logdet)
{
    double lp = 0;
    made_forward(f, k, x, 1, y, &lp);
    *logdet = lp;
}

static void map_bn(maf_flow *f, int k, const double *x, double *y, double *logdet)
{
    double lp = 0;
    bn_forward_eval(f, k, x, 1, y, &lp);
    *logdet = lp;
}

/* J[i*D + j] = d y_i / d x_j by central differences */
static void jacobian(maf_flow *f, int k, map_fn fn, const double *x, int D, double *J)
{
    double xp[D], yp[D], ym[D], ld;
    for (int j = 0; j < D; j++) {
        memcpy(xp, x, sizeof xp);
        xp[j] = x[j] + H_FD;
        fn(f, k, xp, yp, &ld);
        xp[j] = x[j] - H_FD;
        fn(f, k, xp, ym, &ld);
        for (int i = 0; i < D; i++) J[i * D + j] = (yp[i] - ym[i]) / (2 * H_FD);
    }
}

static void test_made_block_jacobians(void **state)
{
    (void)state;
    const int D = 6;
    for (int variant = 0; variant < 4; variant++) {
        maf_flow_config c;
        maf_flow_config_default(&c, D);
        c.blocks = 3;
        c.hidden = 15;
        c.layers = 2;
        c.activation = variant & 1 ? MAF_ACT_TANH : MAF_ACT_RELU;
        c.order = variant & 2 ? MAF_ORDER_RANDOM : MAF_ORDER_REVERSE;
        c.log_scale_bound = variant == 3 ? 0 : 2.5;
        c.max_batch = 2;
        maf_flow *f;
        CHECK_OK(maf_flow_create(&c, &f));
        maf_rng rng;
        maf_rng_seed(&rng, 3 + variant, 0);
        maf_flow_init_params(f, &rng);
        tu_jitter(f, 0.4, 10 + variant);
        for (int k = 0; k < 3; k++) {
            double x[D], y[D], J[D * D], ld;
            tu_normal(x, D, 100 + k);
            map_made(f, k, x, y, &ld);
            jacobian(f, k, map_made, x, D, J);
            const int *deg = maf_flow_input_degrees(f, k);
            for (int i = 0; i < D; i++)
                for (int j = 0; j < D; j++)
                    if (deg[j] > deg[i] && J[i * D + j] != 0)
                        fail_msg("block %d: du_%d/dx_%d = %g must be exactly 0", k, i, j,
                                 J[i * D + j]);
            double lad = tu_logabsdet(J, D);
            if (tu_relerr(lad, ld, 1) > 1e-7)
                fail_msg("block %d: log-det %.12g, numerical %.12g", k, ld, lad);
        }
        maf_flow_free(f);
    }
}

static void test_batchnorm_jacobian(void **state)
{
    (void)state;
    const int D = 5;
    maf_flow *f = tu_flow(D, 2, 8, 1, MAF_ACT_RELU, true, 6, 4, 2);
    assert_non_null(f);
    tu_jitter(f, 0.5, 3);
    double mean[D], var[D];
    for (int d = 0; d < D; d++) {
        mean[d] = 0.3 * d - 0.5;
        var[d] = 0.2 + 0.7 * d;
    }
    CHECK_OK(maf_flow_set_bn_stats(f, 1, mean, var));
    maf_flow_set_train(f, false);
    double x[D], y[D], J[D * D], ld;
    tu_normal(x, D, 5);
    map_bn(f, 1, x, y, &ld);
    jacobian(f, 1, map_bn, x, D, J);
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++)
            if (i != j) assert_true(J[i * D + j] == 0);
    double lad = tu_logabsdet(J, D);
    if (tu_relerr(lad, ld, 1) > 1e-7) fail_msg("bn log-det %.12g, numerical %.12g", ld, lad);
    maf_flow_free(f);
}

static void whole_flow(bool bn, double bound)
{
    const int D = 4;
    maf_flow *f = tu_flow(D, 3, 16, 2, MAF_ACT_TANH, bn, bound, 64, 9);
    assert_non_null(f);
    tu_jitter(f, 0.4, 1);
    if (bn) {
        double data[64 * D];
        tu_normal(data, 64 * D, 2);
        CHECK_OK(maf_flow_compute_bn_stats(f, data, 64));
    } else {
        maf_flow_set_train(f, false);
    }
    double x[D], u[D], up[D], um[D], J[D * D], lp;
    tu_normal(x, D, 77);
    CHECK_OK(maf_flow_forward(f, x, 1, u, &lp));
    for (int j = 0; j < D; j++) {
        double xp[D], t;
        memcpy(xp, x, sizeof xp);
        xp[j] += H_FD;
        CHECK_OK(maf_flow_forward(f, xp, 1, up, &t));
        xp[j] -= 2 * H_FD;
        CHECK_OK(maf_flow_forward(f, xp, 1, um, &t));
        for (int i = 0; i < D; i++) J[i * D + j] = (up[i] - um[i]) / (2 * H_FD);
    }
    double base = 0;
    for (int i = 0; i < D; i++) base += -0.5 * u[i] * u[i] - 0.5 * log(2 * M_PI);
    double expect = base + tu_logabsdet(J, D);
    if (tu_relerr(lp, expect, 1) > 1e-7)
        fail_msg("flow log p %.12g, log N(u) + log|det J| %.12g (bn %d)", lp, expect, bn);
    maf_flow_free(f);
}

static void test_whole_flow_density(void **state)
{
    (void)state;
    whole_flow(false, 0);
    whole_flow(true, 3);
    whole_flow(true, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_made_block_jacobians),
        cmocka_unit_test(test_batchnorm_jacobian),
        cmocka_unit_test(test_whole_flow_density),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
