/* test_rowpass.c - maf_flow_log_prob_row_f64 (the double-precision fallback for far rows)
 * against the batched pass: equal to rounding on ordinary rows for every architecture option
 * (double build: to 1e-10; float build: to float rounding), and finite where the float pass
 * overflows. Built twice: against libmaf (float) and maf_f64 (double). */
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#ifdef MAF_REAL_DOUBLE
#define TOL 1e-10
#else
#define TOL 2e-4
#endif

static void test_matches_batched_pass(void **state)
{
    (void)state;
    const int D = 5, n = 7;
    int checked = 0;
    for (int act = 0; act < 2; act++)
        for (int bn = 0; bn < 2; bn++)
            for (int L = 1; L <= 2; L++)
                for (int b = 0; b < 2; b++) {
                    double bound = b ? 2.0 : 0.0;
                    maf_flow *f = tu_flow(D, 3, 11, L, act ? MAF_ACT_TANH : MAF_ACT_RELU, bn, bound,
                                          n, 100 + act * 8 + bn * 4 + L * 2 + b);
                    assert_non_null(f);
                    tu_jitter(f, 0.3, 5);
                    maf_real x[7 * 5];
                    tu_normal(x, (size_t)n * D, 9);
                    if (bn) { /* eval statistics that are not the identity */
                        double mean[5], var[5];
                        for (int k = 0; k < 3; k++) {
                            for (int d = 0; d < D; d++) {
                                mean[d] = 0.1 * (d - 2) + 0.05 * k;
                                var[d] = 0.5 + 0.3 * d + 0.1 * k;
                            }
                            CHECK_OK(maf_flow_set_bn_stats(f, k, mean, var));
                        }
                    }
                    maf_flow_set_train(f, false);
                    double lp[7];
                    CHECK_OK(maf_flow_log_prob(f, x, n, lp));
                    for (int r = 0; r < n; r++) {
                        double xd[5], one;
                        for (int d = 0; d < D; d++) xd[d] = x[r * D + d];
                        CHECK_OK(maf_flow_log_prob_row_f64(f, xd, &one));
                        if (!(fabs(one - lp[r]) <= TOL * fmax(1.0, fabs(lp[r]))))
                            fail_msg("act %d bn %d L %d bound %g row %d: row pass %.17g, batched "
                                     "%.17g",
                                     act, bn, L, bound, r, one, lp[r]);
                        checked++;
                    }
                    maf_flow_free(f);
                }
    assert_int_equal(checked, 16 * 7);
}

/* a row near the float range: the float pass overflows (float build), the row pass does not,
 * and it agrees with the batched pass wherever that one is finite */
static void test_far_row_finite(void **state)
{
    (void)state;
    const int D = 4;
    maf_flow *f = tu_flow(D, 5, 16, 2, MAF_ACT_RELU, true, 2.0, 2, 77);
    assert_non_null(f);
    tu_jitter(f, 0.3, 6);
    maf_flow_set_train(f, false);
    double scales[] = {1e3, 1e10, 1e20, 3e38};
    double prev = 0;
    for (int i = 0; i < 4; i++) {
        double xd[4] = {scales[i], -0.5 * scales[i], 0.25 * scales[i], scales[i]};
        double one;
        CHECK_OK(maf_flow_log_prob_row_f64(f, xd, &one));
        assert_true(isfinite(one));
        assert_true(one < prev); /* farther rows are less likely */
        prev = one;
        maf_real x[4];
        for (int d = 0; d < D; d++) x[d] = (maf_real)xd[d];
        double lp;
        CHECK_OK(maf_flow_log_prob(f, x, 1, &lp));
        if (isfinite(lp)) assert_true(fabs(one - lp) <= 1e-3 * fabs(lp));
#ifndef MAF_REAL_DOUBLE
        if (scales[i] == 3e38) assert_false(isfinite(lp)); /* the case the row pass is for */
#endif
    }
    maf_flow_free(f);
}

/* train mode with batch norm has no stored statistics to use: refused, named */
static void test_train_mode_refused(void **state)
{
    (void)state;
    maf_flow *f = tu_flow(3, 2, 8, 1, MAF_ACT_RELU, true, 2.0, 2, 5);
    assert_non_null(f);
    maf_flow_set_train(f, true);
    double x[3] = {0.1, 0.2, 0.3}, lp = 0;
    assert_int_equal(maf_flow_log_prob_row_f64(f, x, &lp), MAF_ERR_STATE);
    assert_non_null(strstr(maf_last_error(), "eval mode only"));
    maf_flow_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_batched_pass),
        cmocka_unit_test(test_far_row_finite),
        cmocka_unit_test(test_train_mode_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
