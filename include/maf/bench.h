/* bench.h - training-step throughput against the GEMM roofline of the same shapes.
 *
 * A case builds a flow, then alternates two timed loops in the same run: full training steps
 * (forward + backward + Adam) and a replay of exactly the cblas GEMM calls that one step made
 * (same shapes, transposes, separate buffers per call). The ratio of the two is the share of
 * the GEMM-only roofline that the whole step achieves. Timing: best of several rounds. */
#ifndef MAF_BENCH_H
#define MAF_BENCH_H

#include <stdbool.h>

#include "maf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *name;
    int dim, blocks, hidden, layers, batch;
    bool batch_norm;
} maf_bench_case;

typedef struct {
    double samples_per_s;          /* training steps: batch * steps / seconds */
    double roofline_samples_per_s; /* the same GEMM calls alone */
    double fraction;               /* samples_per_s / roofline_samples_per_s */
    double step_us, gemm_us;       /* per step */
    int gemm_calls;                /* GEMM calls per step */
    double final_loss;             /* mean NLL of the last step (sanity: finite) */
} maf_bench_result;

/* The paper-like presets (POWER, MINIBOONE, BSDS300 shapes); returns the count. */
int maf_bench_presets(const maf_bench_case **cases);

/* Run one case for about `seconds` in total. */
maf_status maf_bench_run(const maf_bench_case *c, double seconds, maf_bench_result *res);

#ifdef __cplusplus
}
#endif
#endif
