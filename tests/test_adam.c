/* test_adam.c - Adam against hand-computed values, clipping, weight decay, the L2 term of the
 * backward pass, non-finite gradients, and masked weights staying exactly zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

static void test_two_steps_by_hand(void **state)
{
    (void)state;
    maf_adam_config c;
    maf_adam_config_default(&c);
    c.lr = 0.01;
    maf_adam *a;
    CHECK_OK(maf_adam_create(&c, 3, &a));
    maf_real p[3] = {1, -2, 0.5f};
    maf_real g1[3] = {0.1f, -0.2f, 0.3f}, g2[3] = {0.05f, 0.4f, -0.1f};
    /* step 1: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2: theta -= lr g / (|g| + eps) */
    CHECK_OK(maf_adam_step(a, p, g1, NULL));
    const double want1[3] = {1 - 0.01 * 0.1 / (0.1 + 1e-8), -2 + 0.01 * 0.2 / (0.2 + 1e-8),
                             0.5 - 0.01 * 0.3 / (0.3 + 1e-8)};
    for (int i = 0; i < 3; i++) assert_true(fabs(p[i] - want1[i]) < 1e-6);
    /* step 2 by the textbook formulas in double */
    CHECK_OK(maf_adam_step(a, p, g2, NULL));
    const double G1[3] = {0.1, -0.2, 0.3}, G2[3] = {0.05, 0.4, -0.1};
    for (int i = 0; i < 3; i++) {
        double m = 0.9 * (0.1 * G1[i]) + 0.1 * G2[i];
        double v = 0.999 * (0.001 * G1[i] * G1[i]) + 0.001 * G2[i] * G2[i];
        double mhat = m / (1 - 0.81), vhat = v / (1 - 0.999 * 0.999);
        double want = want1[i] - 0.01 * mhat / (sqrt(vhat) + 1e-8);
        if (fabs(p[i] - want) > 2e-6) fail_msg("param %d: %.9g, by hand %.9g", i, p[i], want);
    }
    assert_int_equal(maf_adam_steps(a), 2);
    maf_adam_free(a);
}

static void test_clipping(void **state)
{
    (void)state;
    maf_adam_config c;
    maf_adam_config_default(&c);
    c.clip_norm = 1;
    maf_adam *a;
    CHECK_OK(maf_adam_create(&c, 2, &a));
    maf_real p[2] = {0, 0}, g[2] = {3, 4};
    double norm;
    CHECK_OK(maf_adam_step(a, p, g, &norm));
    assert_true(fabs(norm - 5) < 1e-6);
    assert_true(fabs(g[0] - 0.6f) < 1e-6 && fabs(g[1] - 0.8f) < 1e-6);
    /* the first moment saw the clipped gradient */
    assert_true(fabs(maf_adam_m(a)[0] - 0.06f) < 1e-7);
    /* below the threshold nothing is scaled */
    maf_real g2[2] = {0.3f, 0.4f};
    CHECK_OK(maf_adam_step(a, p, g2, &norm));
    assert_true(fabs(g2[0] - 0.3f) < 1e-7 && fabs(norm - 0.5) < 1e-6);
    maf_adam_free(a);
}

static void test_weight_decay_equals_l2_gradient(void **state)
{
    (void)state;
    maf_adam_config c;
    maf_adam_config_default(&c);
    maf_adam *a, *b;
    c.weight_decay = 0.1;
    CHECK_OK(maf_adam_create(&c, 4, &a));
    c.weight_decay = 0;
    CHECK_OK(maf_adam_create(&c, 4, &b));
    maf_real pa[4] = {1, 2, -3, 0.5f}, pb[4] = {1, 2, -3, 0.5f};
    for (int s = 0; s < 3; s++) {
        maf_real ga[4] = {0.1f, 0, -0.2f, 0.05f}, gb[4];
        for (int i = 0; i < 4; i++) gb[i] = ga[i] + 0.1f * pb[i];
        CHECK_OK(maf_adam_step(a, pa, ga, s == 1 ? &(double){0} : NULL)); /* both code paths */
        CHECK_OK(maf_adam_step(b, pb, gb, NULL));
        for (int i = 0; i < 4; i++) assert_true(fabs(pa[i] - pb[i]) < 1e-7);
    }
    maf_adam_free(a);
    maf_adam_free(b);
}

static void test_nonfinite_gradient_rejected(void **state)
{
    (void)state;
    maf_adam_config c;
    maf_adam_config_default(&c);
    maf_adam *a;
    CHECK_OK(maf_adam_create(&c, 2, &a));
    maf_real p[2] = {1, 2}, g[2] = {NAN, 1};
    double norm;
    assert_int_equal(maf_adam_step(a, p, g, &norm), MAF_ERR_NUMERIC);
    assert_true(p[0] == 1 && p[1] == 2);
    assert_int_equal(maf_adam_steps(a), 0);
    c.lr = -1;
    maf_adam *bad = (maf_adam *)1;
    assert_int_equal(maf_adam_create(&c, 2, &bad), MAF_ERR_ARG);
    assert_null(bad);
    maf_adam_free(a);
}

static void test_backward_l2_term(void **state)
{
    (void)state;
    const int D = 3, n = 8;
    maf_flow *f = tu_flow(D, 2, 6, 1, MAF_ACT_RELU, true, 6, n, 3);
    assert_non_null(f);
    tu_jitter(f, 0.2, 4);
    maf_real x[n * D];
    double lp[n];
    tu_normal(x, (size_t)n * D, 5);
    size_t np = maf_flow_num_params(f);
    maf_real *g0 = malloc(np * sizeof *g0);
    CHECK_OK(maf_flow_log_prob(f, x, n, lp));
    CHECK_OK(maf_flow_backward(f, 1.0 / n, 0));
    memcpy(g0, maf_flow_grads(f), np * sizeof *g0);
    CHECK_OK(maf_flow_log_prob(f, x, n, lp));
    CHECK_OK(maf_flow_backward(f, 1.0 / n, 0.25));
    const maf_real *p = maf_flow_params(f), *g = maf_flow_grads(f);
    for (size_t i = 0; i < np; i++) assert_true(fabs((g[i] - g0[i]) - 0.25 * p[i]) < 1e-6);
    free(g0);
    maf_flow_free(f);
}

static void test_masked_weights_stay_zero(void **state)
{
    (void)state;
    const int D = 5, n = 16;
    maf_flow *f = tu_flow(D, 3, 12, 2, MAF_ACT_RELU, true, 6, n, 8);
    assert_non_null(f);
    maf_adam_config c;
    maf_adam_config_default(&c);
    c.lr = 1e-2;
    c.weight_decay = 1e-3;
    maf_adam *a;
    CHECK_OK(maf_adam_create(&c, maf_flow_num_params(f), &a));
    maf_real x[n * D];
    double lp[n];
    for (int s = 0; s < 50; s++) {
        tu_normal(x, (size_t)n * D, 100 + s);
        CHECK_OK(maf_flow_log_prob(f, x, n, lp));
        CHECK_OK(maf_flow_backward(f, 1.0 / n, 0));
        CHECK_OK(maf_adam_step(a, maf_flow_params(f), maf_flow_grads(f), NULL));
    }
    const maf_real *p = maf_flow_params(f), *m = maf_flow_param_mask(f);
    size_t zeros = 0, moved = 0;
    for (size_t i = 0; i < maf_flow_num_params(f); i++) {
        if (m[i] == 0) {
            assert_true(p[i] == 0);
            zeros++;
        } else {
            moved += p[i] != 0;
        }
    }
    assert_true(zeros > 0 && moved > 0);
    maf_adam_free(a);
    maf_flow_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_steps_by_hand),
        cmocka_unit_test(test_clipping),
        cmocka_unit_test(test_weight_decay_equals_l2_gradient),
        cmocka_unit_test(test_nonfinite_gradient_rejected),
        cmocka_unit_test(test_backward_l2_term),
        cmocka_unit_test(test_masked_weights_stay_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
