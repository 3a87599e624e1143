/* test_fixture.c - log p and every gradient against fixtures written by an independent NumPy
 * implementation (tests/fixtures/make_fixtures.py). Built twice: against the double library
 * (agreement to ~1e-10) and the float library (agreement to float rounding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#ifdef MAF_REAL_DOUBLE
#define TOL_LOGP 1e-10
#define TOL_GRAD 1e-9
#else
#define TOL_LOGP 1e-5
#define TOL_GRAD 2e-4
#endif

typedef struct {
    char kind[8], name[32];
    int rows, cols;
    double *v;
} section;

typedef struct {
    int D, K, H, L, bn, N;
    char act[8];
    double c, lam;
    section s[64];
    int ns;
} fixture;

static bool read_fixture(const char *path, fixture *fx)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return false;
    memset(fx, 0, sizeof *fx);
    char line[256];
    line[sizeof line - 1] = 0;
    bool ok = false;
    while (fscanf(fp, " %255s", line) == 1) {
        if (line[0] == '#') {
            if (!fgets(line, sizeof line, fp)) break;
            continue;
        }
        if (!strcmp(line, "config")) {
            ok = fscanf(fp, "%d %d %d %d %7s %d %lf %lf %d", &fx->D, &fx->K, &fx->H, &fx->L,
                        fx->act, &fx->bn, &fx->c, &fx->lam, &fx->N) == 9;
            if (!ok) break;
            continue;
        }
        section *s = &fx->s[fx->ns++];
        memcpy(s->kind, line, sizeof s->kind - 1);
        if (!strcmp(line, "param") || !strcmp(line, "grad")) {
            if (fscanf(fp, "%31s %d %d", s->name, &s->rows, &s->cols) != 3) return false;
        } else if (fscanf(fp, "%d %d", &s->rows, &s->cols) != 2) {
            return false;
        }
        s->v = malloc((size_t)s->rows * s->cols * sizeof *s->v);
        for (int i = 0; i < s->rows * s->cols; i++)
            if (fscanf(fp, "%lf", &s->v[i]) != 1) return false;
    }
    fclose(fp);
    return ok;
}

static section *find(fixture *fx, const char *kind, const char *name)
{
    for (int i = 0; i < fx->ns; i++)
        if (!strcmp(fx->s[i].kind, kind) && (!name || !strcmp(fx->s[i].name, name)))
            return &fx->s[i];
    return NULL;
}

static void check_fixture(const char *file)
{
    char path[1024];
    const char *dir = getenv("FIXTURE_DIR");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "fixtures", file);
    fixture fx;
    if (!read_fixture(path, &fx)) fail_msg("cannot read fixture %s", path);
    maf_flow_config c;
    maf_flow_config_default(&c, fx.D);
    c.blocks = fx.K;
    c.hidden = fx.H;
    c.layers = fx.L;
    c.activation = strcmp(fx.act, "tanh") ? MAF_ACT_RELU : MAF_ACT_TANH;
    c.batch_norm = fx.bn;
    c.log_scale_bound = fx.c;
    c.max_batch = fx.N;
    maf_flow *f;
    CHECK_OK(maf_flow_create(&c, &f));
    maf_real *p = maf_flow_params(f);
    /* load every tensor by name: the fixture holds them all, pre-masked by its own masks */
    assert_int_equal(maf_flow_num_tensors(f), (fx.ns - 3) / 2);
    for (int t = 0; t < maf_flow_num_tensors(f); t++) {
        const maf_tensor_info *ti = maf_flow_tensor(f, t);
        section *s = find(&fx, "param", ti->name);
        if (!s) fail_msg("%s: no tensor %s", file, ti->name);
        assert_int_equal(s->rows, ti->rows);
        assert_int_equal(s->cols, ti->cols);
        for (int i = 0; i < s->rows * s->cols; i++) {
            p[ti->offset + i] = (maf_real)s->v[i];
            /* our mask must keep every weight the reference kept (and zero the ones it zeroed) */
            bool ref_on = s->v[i] != 0, ours = maf_flow_param_mask(f)[ti->offset + i] != 0;
            if (ti->kind == MAF_TENSOR_WEIGHT && ref_on != ours)
                fail_msg("%s: mask of %s[%d] differs from the reference", file, ti->name, i);
        }
    }
    section *xs = find(&fx, "x", NULL), *ls = find(&fx, "logp", NULL),
            *loss = find(&fx, "loss", NULL);
    assert_non_null(xs);
    maf_real x[fx.N * fx.D];
    for (int i = 0; i < fx.N * fx.D; i++) x[i] = (maf_real)xs->v[i];
    double lp[fx.N], sum = 0;
    CHECK_OK(maf_flow_log_prob(f, x, fx.N, lp));
    double worst = 0;
    for (int r = 0; r < fx.N; r++) {
        double e = tu_relerr(lp[r], ls->v[r], 1);
        worst = fmax(worst, e);
        if (e > TOL_LOGP)
            fail_msg("%s: log p[%d] = %.12g, reference %.12g", file, r, lp[r], ls->v[r]);
        sum -= lp[r];
    }
    double reg = 0;
    for (size_t i = 0; i < maf_flow_num_params(f); i++) reg += (double)p[i] * p[i];
    double our_loss = sum / fx.N + 0.5 * fx.lam * reg;
    if (tu_relerr(our_loss, loss->v[0], 1) > TOL_LOGP)
        fail_msg("%s: loss %.12g, reference %.12g", file, our_loss, loss->v[0]);
    CHECK_OK(maf_flow_backward(f, 1.0 / fx.N, fx.lam));
    const maf_real *g = maf_flow_grads(f);
    double gworst = 0;
    for (int t = 0; t < maf_flow_num_tensors(f); t++) {
        const maf_tensor_info *ti = maf_flow_tensor(f, t);
        section *s = find(&fx, "grad", ti->name);
        if (!s) fail_msg("%s: no gradient of %s", file, ti->name);
        for (int i = 0; i < s->rows * s->cols; i++) {
            double e = tu_relerr(g[ti->offset + i], s->v[i], 1e-2);
            gworst = fmax(gworst, e);
            if (e > TOL_GRAD)
                fail_msg("%s: d loss / d %s[%d] = %.10g, reference %.10g", file, ti->name, i,
                         (double)g[ti->offset + i], s->v[i]);
        }
    }
    printf("  %s: log p worst relative error %.2e, gradients %.2e\n", file, worst, gworst);
    for (int i = 0; i < fx.ns; i++) free(fx.s[i].v);
    maf_flow_free(f);
}

static void test_relu_bn(void **state)
{
    (void)state;
    check_fixture("fixture_relu_bn.txt");
}

static void test_tanh_nobn(void **state)
{
    (void)state;
    check_fixture("fixture_tanh_nobn.txt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_bn),
        cmocka_unit_test(test_tanh_nobn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
