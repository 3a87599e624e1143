/* test_gradcheck.c - the analytic gradient against central finite differences, for every
 * entry of every parameter tensor (double build), with batch norm in train mode (the batch
 * statistics depend on the parameters too), both activations, bounded and unbounded
 * log-scales, and the L2 term. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

static double loss(maf_flow *f, const double *x, int n, double l2)
{
    double lp[n], s = 0;
    if (maf_flow_log_prob(f, x, n, lp) != MAF_OK) fail_msg("log_prob: %s", maf_last_error());
    for (int r = 0; r < n; r++) s -= lp[r];
    const double *p = maf_flow_params(f);
    double reg = 0;
    for (size_t i = 0; i < maf_flow_num_params(f); i++) reg += p[i] * p[i];
    return s / n + 0.5 * l2 * reg;
}

static void gradcheck(int D, int K, int H, int L, maf_activation act, bool bn, double bound,
                      double l2, uint64_t seed)
{
    const int n = 9;
    maf_flow *f = tu_flow(D, K, H, L, act, bn, bound, n, seed);
    assert_non_null(f);
    tu_jitter(f, 0.3, seed + 1);
    double x[n * D];
    tu_normal(x, (size_t)n * D, seed + 2);
    for (int i = 0; i < n * D; i++) x[i] = 1.3 * x[i] + 0.2;
    double lp[n];
    CHECK_OK(maf_flow_log_prob(f, x, n, lp));
    CHECK_OK(maf_flow_backward(f, 1.0 / n, l2));
    size_t np = maf_flow_num_params(f);
    double *g = malloc(np * sizeof *g);
    memcpy(g, maf_flow_grads(f), np * sizeof *g);
    double *p = maf_flow_params(f);
    const double *mask = maf_flow_param_mask(f);
    double worst = 0;
    const char *worst_name = "";
    for (int t = 0; t < maf_flow_num_tensors(f); t++) {
        const maf_tensor_info *ti = maf_flow_tensor(f, t);
        for (size_t e = 0; e < (size_t)ti->rows * ti->cols; e++) {
            size_t i = ti->offset + e;
            if (mask[i] == 0) {
                if (g[i] != 0) fail_msg("%s[%zu]: masked entry has gradient %g", ti->name, e, g[i]);
                continue;
            }
            const double h = 1e-6, keep = p[i];
            p[i] = keep + h;
            double lp_ = loss(f, x, n, l2);
            p[i] = keep - h;
            double lm = loss(f, x, n, l2);
            p[i] = keep;
            double fd = (lp_ - lm) / (2 * h);
            double err = tu_relerr(g[i], fd, 1e-3);
            if (err > worst) {
                worst = err;
                worst_name = ti->name;
            }
            if (err > 1e-5)
                fail_msg("%s[%zu]: analytic %.10g, finite difference %.10g (act %d bn %d c %g)",
                         ti->name, e, g[i], fd, act, bn, bound);
        }
    }
    printf("  D=%d K=%d H=%d L=%d act=%s bn=%d c=%g l2=%g: worst relative error %.2e (%s)\n", D, K,
           H, L, act == MAF_ACT_RELU ? "relu" : "tanh", bn, bound, l2, worst, worst_name);
    free(g);
    maf_flow_free(f);
}

static void test_gradients_relu_bn(void **state)
{
    (void)state;
    gradcheck(4, 2, 10, 2, MAF_ACT_RELU, true, 3, 0, 1);
}
static void test_gradients_tanh_bn_l2(void **state)
{
    (void)state;
    gradcheck(5, 3, 8, 1, MAF_ACT_TANH, true, 2, 0.05, 2);
}
static void test_gradients_unbounded_nobn(void **state)
{
    (void)state;
    gradcheck(3, 2, 7, 3, MAF_ACT_TANH, false, 0, 0.01, 3);
}
static void test_gradients_one_dim(void **state)
{
    (void)state;
    gradcheck(1, 2, 4, 1, MAF_ACT_RELU, true, 6, 0, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_relu_bn),
        cmocka_unit_test(test_gradients_tanh_bn_l2),
        cmocka_unit_test(test_gradients_unbounded_nobn),
        cmocka_unit_test(test_gradients_one_dim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
