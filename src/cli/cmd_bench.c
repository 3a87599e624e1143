/* cmd_bench.c - `maf bench`: training-step throughput vs. the GEMM roofline. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maf/maf.h"
#include "cli.h"

void openblas_set_num_threads(int num_threads); /* OpenBLAS extensions */
char *openblas_get_corename(void);

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: maf bench [options]\n"
            "\n"
            "Times training steps (forward + backward + Adam, float32) for paper-like shapes and,\n"
            "in the same run, the GEMM calls of one step alone (the roofline).\n"
            "\n"
            "  -c, --case NAME     a preset (default: all), or 'custom' with the options below\n"
            "  -s, --seconds S     time budget per case (default 4)\n"
            "  -t, --threads N     OpenBLAS threads (default 1)\n"
            "      --no-batch-norm benchmark without batch norm\n"
            "      --dim D --blocks K --hidden H --layers L --batch B   (custom case)\n"
            "  -l, --list          list the presets\n"
            "  -h, --help          this help\n");
}

int cmd_bench(int argc, char **argv)
{
    const char *name = "all";
    double seconds = 4;
    int threads = 1, bn = 1, list = 0;
    maf_bench_case custom = {"custom", 6, 5, 100, 2, 100, true};
    static const struct option opts[] = {
        {"case", required_argument, 0, 'c'},    {"seconds", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'}, {"no-batch-norm", no_argument, 0, 'n'},
        {"dim", required_argument, 0, 'D'},     {"blocks", required_argument, 0, 'K'},
        {"hidden", required_argument, 0, 'H'},  {"layers", required_argument, 0, 'L'},
        {"batch", required_argument, 0, 'B'},   {"list", no_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:t:lh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            name = optarg;
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 'n':
            bn = 0;
            break;
        case 'D':
            custom.dim = atoi(optarg);
            break;
        case 'K':
            custom.blocks = atoi(optarg);
            break;
        case 'H':
            custom.hidden = atoi(optarg);
            break;
        case 'L':
            custom.layers = atoi(optarg);
            break;
        case 'B':
            custom.batch = atoi(optarg);
            break;
        case 'l':
            list = 1;
            break;
        case 'h':
            bench_usage(stdout);
            return 0;
        default:
            bench_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "maf bench: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!(seconds > 0) || threads < 1) {
        fprintf(stderr, "maf bench: --seconds must be > 0 and --threads >= 1\n");
        return 2;
    }
    const maf_bench_case *presets;
    int np = maf_bench_presets(&presets);
    if (list) {
        for (int i = 0; i < np; i++)
            printf("%-16s D=%d K=%d %dx%d B=%d\n", presets[i].name, presets[i].dim,
                   presets[i].blocks, presets[i].layers, presets[i].hidden, presets[i].batch);
        return 0;
    }
    maf_bench_case run[16];
    int nrun = 0;
    if (!strcmp(name, "all")) {
        for (int i = 0; i < np; i++) run[nrun++] = presets[i];
    } else if (!strcmp(name, "custom")) {
        run[nrun++] = custom;
    } else {
        for (int i = 0; i < np; i++)
            if (!strcmp(name, presets[i].name)) run[nrun++] = presets[i];
        if (!nrun) {
            fprintf(stderr, "maf bench: unknown case '%s'; choices: all, custom", name);
            for (int i = 0; i < np; i++) fprintf(stderr, ", %s", presets[i].name);
            fprintf(stderr, "\n");
            return 2;
        }
    }
    openblas_set_num_threads(threads);
    printf("maf %s bench: float32, %d OpenBLAS thread(s) (kernel %s), batch norm %s, %.1f s per "
           "case\n",
           maf_version(), threads, openblas_get_corename(), bn ? "on" : "off", seconds);
    printf("%-16s %4s %2s %8s %5s %12s %12s %8s %10s %10s %6s\n", "case", "D", "K", "hidden", "B",
           "samples/s", "roofline/s", "of_roof", "step_us", "gemm_us", "gemms");
    int rc = 0;
    for (int i = 0; i < nrun; i++) {
        run[i].batch_norm = bn;
        maf_bench_result r;
        maf_status st = maf_bench_run(&run[i], seconds, &r);
        if (st != MAF_OK) {
            fprintf(stderr, "maf bench: %s: %s\n", run[i].name, maf_last_error());
            rc = 1;
            continue;
        }
        char hid[32];
        snprintf(hid, sizeof hid, "%dx%d", run[i].layers, run[i].hidden);
        printf("%-16s %4d %2d %8s %5d %12.0f %12.0f %7.1f%% %10.1f %10.1f %6d\n", run[i].name,
               run[i].dim, run[i].blocks, hid, run[i].batch, r.samples_per_s,
               r.roofline_samples_per_s, 100 * r.fraction, r.step_us, r.gemm_us, r.gemm_calls);
        fflush(stdout);
    }
    return rc;
}
