/* test_rng.c - the seeded generator: determinism, independent streams, distributions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

static void test_deterministic_and_streams(void **state)
{
    (void)state;
    maf_rng a, b, c;
    maf_rng_seed(&a, 42, 0);
    maf_rng_seed(&b, 42, 0);
    maf_rng_seed(&c, 42, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = maf_rng_u64(&a), y = maf_rng_u64(&b), z = maf_rng_u64(&c);
        assert_true(x == y);
        same_c += x == z;
    }
    assert_true(same_c < 2);
    /* the state alone continues the stream: a saved copy reproduces it */
    maf_rng saved = a;
    uint64_t next = maf_rng_u64(&a);
    assert_true(maf_rng_u64(&saved) == next);
}

static void test_uniform_normal_moments(void **state)
{
    (void)state;
    maf_rng r;
    maf_rng_seed(&r, 7, 0);
    const int n = 200000;
    double su = 0, sn = 0, sn2 = 0, sn4 = 0;
    for (int i = 0; i < n; i++) {
        double u = maf_rng_uniform(&r);
        assert_true(u >= 0 && u < 1);
        su += u;
        double z = maf_rng_normal(&r);
        sn += z;
        sn2 += z * z;
        sn4 += z * z * z * z;
    }
    /* 5-sigma bounds of the sample moments */
    assert_true(fabs(su / n - 0.5) < 5 * sqrt(1.0 / 12 / n));
    assert_true(fabs(sn / n) < 5 / sqrt(n));
    assert_true(fabs(sn2 / n - 1) < 5 * sqrt(2.0 / n));
    assert_true(fabs(sn4 / n - 3) < 5 * sqrt(96.0 / n));
}

static void test_below_and_shuffle(void **state)
{
    (void)state;
    maf_rng r;
    maf_rng_seed(&r, 3, 0);
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t v = maf_rng_below(&r, 7);
        assert_true(v < 7);
        hist[v]++;
    }
    for (int k = 0; k < 7; k++) assert_true(abs(hist[k] - 10000) < 500);
    uint32_t idx[100];
    for (uint32_t i = 0; i < 100; i++) idx[i] = i;
    maf_rng_shuffle(&r, idx, 100);
    int seen[100] = {0}, moved = 0;
    for (uint32_t i = 0; i < 100; i++) {
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 100; i++) assert_int_equal(seen[i], 1);
    assert_true(moved > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic_and_streams),
        cmocka_unit_test(test_uniform_normal_moments),
        cmocka_unit_test(test_below_and_shuffle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
