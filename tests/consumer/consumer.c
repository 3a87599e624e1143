/* consumer.c - create a flow, evaluate log p of a few points, free it: through the installed
 * headers and library only. Exits 0 when the densities are finite and match a standard
 * normal for a flow whose output weights are zero (then u = x, log p = log N(x)). */
#include <math.h>
#include <stdio.h>

#include <maf/maf.h>

int main(void)
{
    maf_flow_config c;
    maf_flow_config_default(&c, 2);
    c.blocks = 2;
    c.hidden = 8;
    c.max_batch = 3;
    c.batch_norm = false;
    maf_flow *f;
    if (maf_flow_create(&c, &f) != MAF_OK) {
        fprintf(stderr, "create: %s\n", maf_last_error());
        return 1;
    }
    maf_rng r;
    maf_rng_seed(&r, 1, 0);
    maf_flow_init_params(f, &r);
    float x[6] = {0, 0, 1, -1, 0.5f, 2};
    double lp[3];
    if (maf_flow_log_prob(f, x, 3, lp) != MAF_OK) {
        fprintf(stderr, "log_prob: %s\n", maf_last_error());
        return 1;
    }
    /* zero the output layers: the flow becomes the identity */
    for (int t = 0; t < maf_flow_num_tensors(f); t++) {
        const maf_tensor_info *ti = maf_flow_tensor(f, t);
        if (ti->layer == c.layers)
            for (int i = 0; i < ti->rows * ti->cols; i++) maf_flow_params(f)[ti->offset + i] = 0;
    }
    double id[3];
    maf_flow_log_prob(f, x, 3, id);
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        double want = -log(2 * M_PI) - 0.5 * (x[2 * i] * x[2 * i] + x[2 * i + 1] * x[2 * i + 1]);
        printf("log p = %.6f (identity flow %.6f, N(0, I) %.6f)\n", lp[i], id[i], want);
        bad += !isfinite(lp[i]) || fabs(id[i] - want) > 1e-5;
    }
    printf("libmaf %s\n", maf_version());
    maf_flow_free(f);
    return bad ? 1 : 0;
}
