/* fuzz_checkpoint.c - libFuzzer harness of the checkpoint reader (src/checkpoint.c, the HDF5
 * reader of src/h5io.c and the flow it builds).
 *
 * The input is the bytes of an HDF5 file. maf_ckpt_load_model() reads it with max_batch 16;
 * if that succeeds, a few fixed rows are standardised and evaluated with maf_flow_log_prob(),
 * and maf_ckpt_load_train() reads the training state into a fresh optimiser (it fails on
 * model-only files, which is fine). Every object is freed; an HDF5 id left open is reported
 * (see fuzz_util.h). No MPI call is made on this path, so MPI is not initialised.
 *
 * Allocation limits: a mutated file can ask for a flow of any size the flow accepts (up to
 * 1000 blocks x 100 layers x 1e6 hidden units). The run-time options below make ASan return
 * NULL for single allocations above 100 MB instead of aborting, so such files exercise the
 * library's out-of-memory paths instead of stopping the fuzzer. */
#define FUZZ_WITH_HDF5
#include "fuzz_util.h"

#include "maf/checkpoint.h"
#include "maf/data.h"

static fuzz_memfile h5_file;
static fuzz_h5ids base_ids;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    H5open();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    fuzz_memfile_open(&h5_file, "fuzz_checkpoint");
    base_ids = fuzz_h5ids_now();
    return 0;
}

enum { ROWS = 4, MAX_BATCH = 16 };

static void evaluate(maf_flow *flow, const maf_standardizer *stdz)
{
    int D = maf_flow_get_config(flow)->dim;
    maf_shard s = {.dim = D, .rows = ROWS, .global_rows = ROWS};
    s.x = malloc((size_t)ROWS * D * sizeof *s.x);
    if (!s.x) return;
    for (int r = 0; r < ROWS; r++)
        for (int d = 0; d < D; d++)
            s.x[(size_t)r * D + d] = (maf_real)(0.25 * (r - 1) * (d % 5 - 2) + 0.1 * d);
    maf_standardizer_apply(stdz, &s);
    double logp[ROWS];
    maf_status st = maf_flow_log_prob(flow, s.x, ROWS, logp);
    if (st != MAF_OK) {
        fprintf(stderr, "fuzz_checkpoint: log_prob of a loaded model failed: %s\n",
                maf_last_error());
        abort();
    }
    free(s.x);
}

static void load_train(const char *path, maf_flow *flow)
{
    const maf_flow_config *c = maf_flow_get_config(flow);
    size_t n = maf_flow_num_params(flow);
    maf_adam_config ac;
    maf_adam_config_default(&ac);
    maf_adam *adam = NULL;
    maf_real *best = malloc((n ? n : 1) * sizeof *best);
    double *best_bn = calloc((size_t)c->blocks * 2 * c->dim + 1, sizeof *best_bn);
    if (best && best_bn && maf_adam_create(&ac, n, &adam) == MAF_OK) {
        maf_train_state state;
        maf_standardizer stdz;
        maf_data_fingerprint fp;
        if (maf_ckpt_load_train(path, flow, adam, best, best_bn, &state, &stdz, &fp) == MAF_OK) {
            free(state.rng);
            free(state.cursor);
            maf_standardizer_free(&stdz);
        }
    }
    maf_adam_free(adam);
    free(best);
    free(best_bn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_memfile_set(&h5_file, data, size);
    maf_flow *flow = NULL;
    maf_standardizer stdz;
    maf_status st = maf_ckpt_load_model(path, MAX_BATCH, &flow, &stdz);
    fuzz_h5ids_check(&base_ids, "maf_ckpt_load_model");
    if (st == MAF_OK) {
        evaluate(flow, &stdz);
        load_train(path, flow);
        fuzz_h5ids_check(&base_ids, "maf_ckpt_load_train");
        maf_flow_free(flow);
        maf_standardizer_free(&stdz);
    } else if (flow) {
        fprintf(stderr, "fuzz_checkpoint: failed load returned a flow\n");
        abort();
    }
    return 0;
}
