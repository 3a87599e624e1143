/* test_train_gaussian.c - a short single-process training on a correlated Gaussian (a density
 * a MAF can represent exactly) reaches a test log-likelihood within 0.05 nats of the truth,
 * measured on the same test points as the true density. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

enum { D = 3, NTRAIN = 20000, NTEST = 5000, B = 100 };

/* x = A z + mu with A lower triangular: log p(x) = log N(A^-1 (x - mu)) - log|det A| */
static const double A[D][D] = {{2.0, 0, 0}, {1.2, 0.5, 0}, {-0.8, 0.6, 1.5}};
static const double MU[D] = {3.0, -1.0, 0.5};

static void draw(maf_rng *r, maf_real *x, int n)
{
    for (int i = 0; i < n; i++) {
        double z[D];
        for (int d = 0; d < D; d++) z[d] = maf_rng_normal(r);
        for (int a = 0; a < D; a++) {
            double v = MU[a];
            for (int b = 0; b <= a; b++) v += A[a][b] * z[b];
            x[i * D + a] = (maf_real)v;
        }
    }
}

static double true_logp(const maf_real *x)
{
    double z[D], s = 0;
    for (int a = 0; a < D; a++) { /* forward substitution */
        double v = x[a] - MU[a];
        for (int b = 0; b < a; b++) v -= A[a][b] * z[b];
        z[a] = v / A[a][a];
        s += -0.5 * z[a] * z[a] - 0.5 * log(2 * M_PI) - log(A[a][a]);
    }
    return s;
}

static void test_learns_correlated_gaussian(void **state)
{
    (void)state;
    maf_real *train = malloc(sizeof(maf_real) * NTRAIN * D);
    maf_real *test = malloc(sizeof(maf_real) * NTEST * D);
    maf_rng r;
    maf_rng_seed(&r, 2024, 0);
    draw(&r, train, NTRAIN);
    draw(&r, test, NTEST);

    maf_flow *f = tu_flow(D, 3, 32, 1, MAF_ACT_RELU, true, 6, B, 5);
    assert_non_null(f);
    maf_adam_config ac;
    maf_adam_config_default(&ac);
    ac.lr = 1e-3;
    ac.weight_decay = 1e-6;
    maf_adam *adam;
    CHECK_OK(maf_adam_create(&ac, maf_flow_num_params(f), &adam));
    uint32_t *perm = malloc(sizeof *perm * NTRAIN);
    for (uint32_t i = 0; i < NTRAIN; i++) perm[i] = i;
    maf_real batch[B * D];
    double lp[B];
    for (int epoch = 0; epoch < 15; epoch++) {
        maf_rng_shuffle(&r, perm, NTRAIN);
        for (int s = 0; s + B <= NTRAIN; s += B) {
            for (int i = 0; i < B; i++)
                memcpy(&batch[i * D], &train[perm[s + i] * D], sizeof(maf_real) * D);
            CHECK_OK(maf_flow_log_prob(f, batch, B, lp));
            CHECK_OK(maf_flow_backward(f, 1.0 / B, 0));
            CHECK_OK(maf_adam_step(adam, maf_flow_params(f), maf_flow_grads(f), NULL));
        }
    }
    CHECK_OK(maf_flow_compute_bn_stats(f, train, NTRAIN));
    double model = 0, truth = 0;
    for (int s = 0; s < NTEST; s += B) {
        CHECK_OK(maf_flow_log_prob(f, &test[s * D], B, lp));
        for (int i = 0; i < B; i++) {
            model += lp[i];
            truth += true_logp(&test[(s + i) * D]);
        }
    }
    model /= NTEST;
    truth /= NTEST;
    printf("  test log-likelihood: model %.4f, true density %.4f, gap %.4f nats\n", model, truth,
           truth - model);
    assert_true(fabs(model - truth) < 0.05);
    free(perm);
    free(train);
    free(test);
    maf_adam_free(adam);
    maf_flow_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_correlated_gaussian),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
