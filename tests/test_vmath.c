/* test_vmath.c - the vectorisable exp and tanh against libm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "vmath.h"

static void test_exp(void **state)
{
    (void)state;
    double worst = 0;
    for (double x = -87; x <= 88; x += 0.000731) {
        float y = vm_expf((float)x);
        double ref = exp((double)(float)x);
        double e = fabs(y - ref) / ref;
        if (e > worst) worst = e;
    }
    printf("  exp: worst relative error %.2e\n", worst);
    assert_true(worst < 4e-7);
    assert_true(isfinite(vm_expf(1000.0f)) && vm_expf(-1000.0f) > 0);
    assert_true(isfinite(vm_expf(INFINITY)) && vm_expf(-INFINITY) > 0);
    /* NaN in, NaN out (and no undefined integer conversion on the way: UBSan checks it) */
    assert_true(isnan(vm_expf(NAN)) && isnan(vm_tanhf(NAN)));
}

static void test_tanh(void **state)
{
    (void)state;
    double worst = 0;
    for (double x = -12; x <= 12; x += 0.0001237) {
        float y = vm_tanhf((float)x);
        double e = fabs(y - tanh((double)(float)x));
        if (e > worst) worst = e;
    }
    printf("  tanh: worst absolute error %.2e\n", worst);
    assert_true(worst < 3e-7);
    assert_true(vm_tanhf(0.0f) == 0.0f && vm_tanhf(50.0f) == 1.0f && vm_tanhf(-50.0f) == -1.0f);
    /* tiny arguments keep full relative accuracy */
    assert_true(fabs(vm_tanhf(1e-6f) - 1e-6f) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_tanh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
