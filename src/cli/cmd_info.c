/* cmd_info.c - `maf info`: describe a checkpoint or evaluation log, or print one attribute. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maf/maf.h"
#include "cli.h"

static void info_usage(FILE *out)
{
    fprintf(out, "usage: maf info [--get ATTRIBUTE] FILE.h5\n"
                 "\n"
                 "Describe a maf checkpoint (latest.h5, best.h5) or evaluation log (log.h5), or\n"
                 "print the value of one root attribute (e.g. --get step, --get test_loglik).\n");
}

/* print a root attribute of any of the types maf writes; 0 if found */
static int print_attr(maf_h5_reader *r, const char *name, const char *label)
{
    double d;
    int64_t i;
    char *s = NULL;
    if (maf_h5r_attr_i64(r, "/", name, &i) == MAF_OK) {
        printf(label ? "%-16s %lld\n" : "%s%lld\n", label ? label : "", (long long)i);
    } else if (maf_h5r_attr_f64(r, "/", name, &d) == MAF_OK) {
        printf(label ? "%-16s %.10g\n" : "%s%.17g\n", label ? label : "", d);
    } else if (maf_h5r_attr_str(r, "/", name, &s) == MAF_OK) {
        printf(label ? "%-16s %s\n" : "%s%s\n", label ? label : "", s);
        free(s);
    } else {
        return 1;
    }
    return 0;
}

int cmd_info(int argc, char **argv)
{
    const char *get = NULL;
    static const struct option opts[] = {
        {"get", required_argument, 0, 'g'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:h", opts, NULL)) != -1) {
        if (c == 'g')
            get = optarg;
        else if (c == 'h') {
            info_usage(stdout);
            return 0;
        } else {
            info_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        info_usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    maf_h5_reader *r;
    if (maf_h5r_open(path, &r) != MAF_OK) {
        fprintf(stderr, "maf info: %s\n", maf_last_error());
        return 1;
    }
    int rc = 0;
    if (get) {
        if (print_attr(r, get, NULL)) {
            fprintf(stderr, "maf info: %s has no attribute '%s'\n", path, get);
            rc = 1;
        }
    } else {
        static const char *keys[] = {"format",
                                     "kind",
                                     "format_version",
                                     "dim",
                                     "blocks",
                                     "hidden",
                                     "layers",
                                     "activation",
                                     "batch_norm",
                                     "order",
                                     "degrees",
                                     "log_scale_bound",
                                     "step",
                                     "evals",
                                     "best_val",
                                     "bad_evals",
                                     "finished",
                                     "n_ranks",
                                     "adam_steps",
                                     "log_jacobian",
                                     "test_loglik",
                                     "test_loglik_2se",
                                     "test_median",
                                     "test_worst",
                                     "test_below_threshold",
                                     "true_test_loglik"};
        printf("%s\n", path);
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) print_attr(r, keys[i], keys[i]);
        size_t rows, cols;
        if (maf_h5r_shape(r, "model/made0.w0", &rows, &cols) == MAF_OK)
            printf("%-16s model/made{k}.*, bn{k}.* (see include/maf/checkpoint.h)\n", "tensors");
        maf_eval_row *log = NULL;
        size_t n = 0;
        if (maf_h5r_has(r, "log") && maf_evallog_read(path, &log, &n) == MAF_OK) {
            printf("%10s %7s %11s %11s %10s %8s %12s %6s %9s\n", "step", "epoch", "train_loss",
                   "val_loglik", "grad_norm", "lr", "samples/s", "mpi%", "wall_s");
            for (size_t i = 0; i < n; i++)
                printf("%10lld %7lld %11.5f %11.5f %10.4g %8.2g %12.0f %6.2f %9.2f\n",
                       (long long)log[i].step, (long long)log[i].epoch, log[i].train_loss,
                       log[i].val_loglik, log[i].grad_norm, log[i].lr, log[i].samples_per_s,
                       100 * log[i].comm_share, log[i].wall_time);
            free(log);
        }
    }
    maf_h5r_close(r);
    return rc;
}
