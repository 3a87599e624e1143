/* main.c - the `maf` command-line tool: a thin shell over libmaf.
 *
 * Each subcommand parses its arguments, calls the library and prints; all computing is in
 * libmaf. Exit codes: 0 success, 1 runtime failure, 2 usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maf/maf.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: maf <command> [options]\n"
            "\n"
            "Masked Autoregressive Flows: density estimation in C with MPI and HDF5.\n"
            "\n"
            "commands:\n"
            "  train     train a MAF (data-parallel under mpirun/srun) on HDF5 or built-in data\n"
            "  info      describe a checkpoint or log, or print one attribute\n"
            "  bench     time training steps against the GEMM roofline of the same shapes\n"
            "\n"
            "options:\n"
            "  -h, --help     this help (maf <command> --help for a command's options)\n"
            "  -V, --version  print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("maf %s\n", maf_version());
        return 0;
    }
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    fprintf(stderr, "maf: unknown command '%s' (try 'maf --help')\n", cmd);
    return 2;
}
