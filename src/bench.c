/* bench.c - step throughput vs. the GEMM roofline of the same calls, measured in one run. */
#include "maf/bench.h"

#include <stdlib.h>
#include <string.h>

#include "maf/adam.h"
#include "clock.h"
#include "flow_impl.h"

static const maf_bench_case presets[] = {
    {"power-b100", 6, 5, 100, 2, 100, true},      {"power-b512", 6, 5, 100, 2, 512, true},
    {"miniboone-b100", 43, 5, 100, 2, 100, true}, {"miniboone-b512", 43, 5, 100, 2, 512, true},
    {"bsds300-b100", 63, 5, 512, 2, 100, true},
};

int maf_bench_presets(const maf_bench_case **cases)
{
    *cases = presets;
    return (int)(sizeof presets / sizeof presets[0]);
}

typedef struct {
    maf_flow *flow;
    maf_adam *adam;
    maf_real *data; /* nbatch batches of B x D */
    int nbatch, next;
    double *logp;
    double loss;
} trainer;

static maf_status train_steps(trainer *t, int steps)
{
    const maf_flow_config *c = maf_flow_get_config(t->flow);
    int B = c->max_batch, D = c->dim;
    for (int s = 0; s < steps; s++) {
        const maf_real *x = t->data + (size_t)t->next * B * D;
        t->next = (t->next + 1) % t->nbatch;
        maf_status st = maf_flow_log_prob(t->flow, x, B, t->logp);
        if (st == MAF_OK) st = maf_flow_backward(t->flow, 1.0 / B, 0);
        if (st == MAF_OK)
            st = maf_adam_step(t->adam, maf_flow_params(t->flow), maf_flow_grads(t->flow), NULL);
        if (st != MAF_OK) return st;
        double sum = 0;
        for (int r = 0; r < B; r++) sum -= t->logp[r];
        t->loss = sum / B;
    }
    return MAF_OK;
}

/* Replay the recorded calls on the flow's own buffers: every buffer a GEMM writes (hidden
 * activations, outputs, gradients, scratch) is recomputed by the next step before it is read,
 * so the replay disturbs nothing and sees the same memory and cache footprint. */
static void replay_run(const maf_gemm_shape *calls, int count, int reps)
{
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < count; i++) {
            const maf_gemm_shape *g = &calls[i];
            maf_gemm(NULL, g->trans_a, g->trans_b, g->m, g->n, g->k, g->a, g->lda, g->b, g->ldb,
                     g->accumulate, g->c, g->ldc);
        }
}

static maf_real *filled(size_t n, maf_rng *rng)
{
    maf_real *p = aligned_alloc(64, (n * sizeof(maf_real) + 63) / 64 * 64);
    if (p)
        for (size_t i = 0; i < n; i++) p[i] = (maf_real)(0.1 * maf_rng_normal(rng));
    return p;
}

maf_status maf_bench_run(const maf_bench_case *bc, double seconds, maf_bench_result *res)
{
    memset(res, 0, sizeof *res);
    maf_flow_config fc;
    maf_flow_config_default(&fc, bc->dim);
    fc.blocks = bc->blocks;
    fc.hidden = bc->hidden;
    fc.layers = bc->layers;
    fc.batch_norm = bc->batch_norm;
    fc.max_batch = bc->batch;
    maf_adam_config ac;
    maf_adam_config_default(&ac);
    ac.weight_decay = 1e-6; /* the paper's L2, fused into the Adam pass */
    trainer t = {0};
    maf_gemm_shape *calls = NULL;
    int ncalls = 0;
    maf_rng rng;
    maf_rng_seed(&rng, 1234, 0);
    maf_status st = maf_flow_create(&fc, &t.flow);
    if (st != MAF_OK) return st;
    st = maf_adam_create(&ac, maf_flow_num_params(t.flow), &t.adam);
    if (st != MAF_OK) goto out;
    maf_flow_init_params(t.flow, &rng);
    t.nbatch = 16;
    t.data = filled((size_t)t.nbatch * bc->batch * bc->dim, &rng);
    t.logp = malloc((size_t)bc->batch * sizeof *t.logp);
    if (!t.data || !t.logp) {
        st = maf_fail(MAF_ERR_NOMEM, "bench: out of memory");
        goto out;
    }

    /* warm up, and record the GEMM calls of one step */
    if ((st = train_steps(&t, 10)) != MAF_OK) goto out;
    maf_flow *f = t.flow;
    f->trace.capacity = 64 * (fc.layers + 2) * fc.blocks;
    f->trace.shapes = calloc((size_t)f->trace.capacity, sizeof *f->trace.shapes);
    if (!f->trace.shapes) {
        st = maf_fail(MAF_ERR_NOMEM, "bench: out of memory");
        goto out;
    }
    f->trace.count = 0;
    if ((st = train_steps(&t, 1)) != MAF_OK) goto out;
    calls = f->trace.shapes;
    ncalls = f->trace.count;
    f->trace.shapes = NULL; /* stop recording; the list is ours now */

    /* calibrate steps per round to ~seconds / 10 */
    double t0 = maf_now();
    if ((st = train_steps(&t, 5)) != MAF_OK) goto out;
    double per = (maf_now() - t0) / 5;
    int rounds = 5;
    int steps = (int)(seconds / (2 * rounds) / (per > 1e-9 ? per : 1e-9));
    if (steps < 5) steps = 5;
    double best_step = 1e30, best_gemm = 1e30;
    for (int r = 0; r < rounds; r++) {
        t0 = maf_now();
        if ((st = train_steps(&t, steps)) != MAF_OK) goto out;
        double dt = (maf_now() - t0) / steps;
        if (dt < best_step) best_step = dt;
        t0 = maf_now();
        replay_run(calls, ncalls, steps);
        dt = (maf_now() - t0) / steps;
        if (dt < best_gemm) best_gemm = dt;
    }
    res->step_us = best_step * 1e6;
    res->gemm_us = best_gemm * 1e6;
    res->samples_per_s = bc->batch / best_step;
    res->roofline_samples_per_s = bc->batch / best_gemm;
    res->fraction = best_gemm / best_step;
    res->gemm_calls = ncalls;
    res->final_loss = t.loss;
out:
    free(calls);
    free(t.data);
    free(t.logp);
    maf_adam_free(t.adam);
    maf_flow_free(t.flow);
    return st;
}
