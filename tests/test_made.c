/* test_made.c - the MADE autoregressive property (exact zeros) and inverse(forward(x)) == x. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

/* For one single-block flow: output i must be bitwise unchanged under a change of input j
 * unless deg[j] < deg[i] (or i == j); with tanh, sequential degrees and H >= D - 1 every
 * allowed dependency must also be present. */
static void check_autoregressive(int D, int H, int L, maf_degrees deg_kind, maf_order order,
                                 maf_activation act, uint64_t seed)
{
    maf_flow_config c;
    maf_flow_config_default(&c, D);
    c.blocks = 1;
    c.hidden = H;
    c.layers = L;
    c.degrees = deg_kind;
    c.order = order;
    c.activation = act;
    c.batch_norm = false;
    c.max_batch = 4;
    c.seed = seed;
    maf_flow *f;
    CHECK_OK(maf_flow_create(&c, &f));
    maf_rng rng;
    maf_rng_seed(&rng, seed, 5);
    maf_flow_init_params(f, &rng);
    tu_jitter(f, 0.3, seed);
    const int *deg = maf_flow_input_degrees(f, 0);
    /* the degrees are a permutation of 1..D */
    int seen[D + 1];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < D; i++) {
        assert_true(deg[i] >= 1 && deg[i] <= D);
        seen[deg[i]]++;
    }
    for (int i = 1; i <= D; i++) assert_int_equal(seen[i], 1);

    int n = 4;
    maf_real x[n * D], x2[n * D], u[n * D], u2[n * D];
    double lp[n];
    tu_normal(x, (size_t)n * D, seed + 1);
    CHECK_OK(maf_flow_forward(f, x, n, u, lp));
    bool full = act == MAF_ACT_TANH && deg_kind == MAF_DEGREES_SEQUENTIAL && H >= D - 1;
    for (int j = 0; j < D; j++) {
        memcpy(x2, x, sizeof x);
        for (int r = 0; r < n; r++) x2[r * D + j] += 0.75f;
        CHECK_OK(maf_flow_forward(f, x2, n, u2, lp));
        for (int i = 0; i < D; i++) {
            bool allowed = i == j || deg[j] < deg[i];
            int changed = 0;
            for (int r = 0; r < n; r++) changed += u[r * D + i] != u2[r * D + i];
            if (!allowed && changed)
                fail_msg("D=%d H=%d L=%d: output %d (degree %d) depends on input %d (degree %d)", D,
                         H, L, i, deg[i], j, deg[j]);
            if (allowed && full && !changed)
                fail_msg("D=%d H=%d L=%d: output %d (degree %d) ignores input %d (degree %d)", D, H,
                         L, i, deg[i], j, deg[j]);
        }
    }
    maf_flow_free(f);
}

static void test_autoregressive_property(void **state)
{
    (void)state;
    const int dims[] = {1, 2, 5, 8}, hiddens[] = {3, 10, 24}, layers[] = {1, 2, 3};
    uint64_t seed = 1;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++)
            for (int l = 0; l < 3; l++)
                for (int dk = 0; dk < 2; dk++)
                    for (int ok = 0; ok < 2; ok++)
                        for (int act = 0; act < 2; act++)
                            check_autoregressive(dims[a], hiddens[b], layers[l], (maf_degrees)dk,
                                                 (maf_order)ok, (maf_activation)act, seed++);
}

static void test_orders_reverse_between_blocks(void **state)
{
    (void)state;
    maf_flow *f = tu_flow(7, 4, 16, 1, MAF_ACT_RELU, true, 6, 8, 11);
    assert_non_null(f);
    for (int i = 0; i < 7; i++) assert_int_equal(maf_flow_input_degrees(f, 0)[i], i + 1);
    for (int k = 1; k < 4; k++)
        for (int i = 0; i < 7; i++)
            assert_int_equal(maf_flow_input_degrees(f, k)[i],
                             8 - maf_flow_input_degrees(f, k - 1)[i]);
    /* sequential hidden degrees as in the paper: (j mod max(1, D-1)) + 1 */
    for (int j = 0; j < 16; j++) assert_int_equal(maf_flow_hidden_degrees(f, 2, 0)[j], j % 6 + 1);
    maf_flow_free(f);
}

static void roundtrip(bool bn, double bound, maf_activation act)
{
    const int D = 5, n = 32;
    maf_flow *f = tu_flow(D, 3, 20, 2, act, bn, bound, n, 21);
    assert_non_null(f);
    tu_jitter(f, 0.1, 4);
    maf_real x[n * D], u[n * D], back[n * D];
    double lp[n];
    tu_normal(x, (size_t)n * D, 8);
    if (bn) {
        /* eval statistics from a larger sample, as after training */
        maf_real big[400 * D];
        tu_normal(big, 400 * D, 9);
        for (int i = 0; i < 400 * D; i++) big[i] = big[i] * 1.5f + 0.3f;
        CHECK_OK(maf_flow_compute_bn_stats(f, big, 400));
    } else {
        maf_flow_set_train(f, false);
    }
    CHECK_OK(maf_flow_forward(f, x, n, u, lp));
    CHECK_OK(maf_flow_inverse(f, u, n, back));
    double worst = 0;
    for (int i = 0; i < n * D; i++) {
        double e = fabs((double)back[i] - x[i]) / (1 + fabs(x[i]));
        if (e > worst) worst = e;
    }
    if (worst > 2e-5) fail_msg("inverse(forward(x)) differs from x by %g (bn %d)", worst, bn);
    /* in place: u and x may alias */
    CHECK_OK(maf_flow_inverse(f, u, n, u));
    for (int i = 0; i < n * D; i++) assert_true(u[i] == back[i]);
    maf_flow_free(f);
}

static void test_inverse_roundtrip(void **state)
{
    (void)state;
    roundtrip(false, 6, MAF_ACT_RELU);
    roundtrip(true, 6, MAF_ACT_RELU);
    roundtrip(true, 0, MAF_ACT_TANH);
    roundtrip(false, 0, MAF_ACT_TANH);
}

static void test_sampling_is_finite_and_seeded(void **state)
{
    (void)state;
    const int D = 4, n = 50;
    maf_flow *f = tu_flow(D, 5, 32, 2, MAF_ACT_RELU, true, 6, n, 5);
    assert_non_null(f);
    tu_jitter(f, 0.5, 12); /* a strongly non-trivial flow */
    maf_flow_set_train(f, false);
    maf_real a[n * D], b[n * D];
    maf_rng r1, r2;
    maf_rng_seed(&r1, 77, 0);
    maf_rng_seed(&r2, 77, 0);
    CHECK_OK(maf_flow_sample(f, &r1, n, a));
    CHECK_OK(maf_flow_sample(f, &r2, n, b));
    for (int i = 0; i < n * D; i++) {
        assert_true(isfinite(a[i]));
        assert_true(a[i] == b[i]);
    }
    maf_flow_free(f);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    maf_flow_config c;
    maf_flow_config_default(&c, 0);
    maf_flow *f = (maf_flow *)1;
    assert_int_equal(maf_flow_create(&c, &f), MAF_ERR_ARG);
    assert_null(f);
    assert_non_null(strstr(maf_last_error(), "dim"));
    maf_flow_config_default(&c, 3);
    c.max_batch = 4;
    CHECK_OK(maf_flow_create(&c, &f));
    maf_real x[5 * 3] = {0};
    double lp[5];
    assert_int_equal(maf_flow_log_prob(f, x, 5, lp), MAF_ERR_ARG); /* more rows than max_batch */
    assert_int_equal(maf_flow_backward(f, 1, 0), MAF_ERR_STATE);   /* no forward yet */
    assert_int_equal(maf_flow_inverse(f, x, 2, x), MAF_ERR_STATE); /* train mode with bn */
    maf_flow_free(f);
    maf_flow_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_autoregressive_property),
        cmocka_unit_test(test_orders_reverse_between_blocks),
        cmocka_unit_test(test_inverse_roundtrip),
        cmocka_unit_test(test_sampling_is_finite_and_seeded),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
