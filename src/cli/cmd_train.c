/* cmd_train.c - `maf train`: parse the command line and config, install signal handlers, run
 * the library's trainer, print progress and the summary on rank 0.
 *
 * Exit codes: 0 finished; 1 failed; 2 bad usage or configuration; 75 (MAF_EXIT_STOPPED)
 * stopped by SIGTERM, SIGUSR1 or SIGINT after writing latest.h5: resume with --resume. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "maf/maf.h"
#include "cli.h"

static volatile sig_atomic_t stop_request;

static void on_signal(int sig)
{
    (void)sig;
    stop_request = 1;
}

static void train_usage(FILE *out)
{
    fprintf(out,
            "usage: maf train -c CONFIG [--set section.key=value ...]\n"
            "                 [--resume | --auto-resume | --overwrite]\n"
            "\n"
            "Train a MAF by maximum likelihood, data-parallel over the MPI ranks it is started\n"
            "with (mpirun -n P maf train ..., srun maf train ..., or one process without a\n"
            "launcher). Writes <dir>/latest.h5, <dir>/best.h5 and <dir>/log.h5 ([output] dir);\n"
            "<dir>/.maf.lock keeps a second run off the folder while this one runs.\n"
            "\n"
            "  -c, --config FILE   INI configuration (configs/reference.ini documents every key)\n"
            "      --set S.K=V     override one key, e.g. --set train.lr=1e-3 (repeatable)\n"
            "      --resume        continue from <dir>/latest.h5\n"
            "      --auto-resume   continue from <dir>/latest.h5 if it exists, else start anew\n"
            "                      as with --overwrite (for job scripts that are requeued)\n"
            "      --overwrite     start anew even if <dir> holds a previous run (its latest.h5,\n"
            "                      best.h5 and log.h5 are removed); without it that is an error\n"
            "  -q, --quiet         no progress lines\n"
            "  -h, --help          this help\n"
            "\n"
            "exit status: 0 done, 1 error, 2 bad usage or configuration,\n"
            "             75 stopped by SIGTERM/SIGUSR1/SIGINT (resumable with --resume)\n");
}

typedef struct {
    int rank;
    bool tty, quiet;
} console;

static void on_message(const char *msg, void *ctx)
{
    console *c = ctx;
    if (c->tty) fprintf(stdout, "\r\033[K");
    printf("%s\n", msg);
    fflush(stdout);
}

static void fmt_eta(double s, char *buf, size_t n)
{
    if (s < 0)
        snprintf(buf, n, "?");
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

/* a log-likelihood in `width` columns (0: as narrow as it goes): fixed point, or exponent form
 * when far out (a row near the float range can make a validation mean -1e77) */
static const char *fmt_ll(double v, int width, char out[32])
{
    snprintf(out, 32, fabs(v) < 1e6 ? "%*.4f" : "%*.3g", width, v);
    return out;
}

static void on_progress(const maf_progress *p, void *ctx)
{
    console *c = ctx;
    if (c->quiet) return;
    char eta[32];
    fmt_eta(p->eta_s, eta, sizeof eta);
    char line[512], tr[32], va[32], be[32];
    snprintf(line, sizeof line,
             "epoch %7.2f  step %8lld  train %s  val %s%s  best %s  |g| %8.3g  "
             "%9.0f samples/s  mpi %4.1f%%  eta %s",
             p->epoch, (long long)p->step, fmt_ll(p->train_loss, 9, tr),
             fmt_ll(p->val_loglik, 9, va), p->improved ? "*" : " ", fmt_ll(p->best_val, 9, be),
             p->grad_norm, p->samples_per_s, 100 * p->comm_share, eta);
    if (c->tty) { /* a live bar on a terminal */
        char bar[23] = "[....................]";
        for (int i = 0; i < 20 && p->fraction >= 0 && i < (int)(p->fraction * 20 + 0.5); i++)
            bar[1 + i] = '#';
        printf("\r\033[K%s %s", p->fraction >= 0 ? bar : "", line);
    } else {
        printf("%s\n", line); /* plain lines in a Slurm log */
    }
    if (p->val_nonfinite)
        printf("%s  (%lld validation rows non-finite)\n", c->tty ? "\n" : "",
               (long long)p->val_nonfinite);
    fflush(stdout);
}

int cmd_train(int argc, char **argv)
{
    const char *config_path = NULL;
    bool resume = false, quiet = false, auto_resume = false, overwrite = false;
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0;
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"set", required_argument, 0, 's'},
        {"resume", no_argument, 0, 'r'},       {"auto-resume", no_argument, 0, 'a'},
        {"overwrite", no_argument, 0, 'o'},    {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 's':
            sets[nsets++] = optarg;
            break;
        case 'r':
            resume = true;
            break;
        case 'a':
            auto_resume = true;
            break;
        case 'o':
            overwrite = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            train_usage(stdout);
            free(sets);
            return 0;
        default:
            train_usage(stderr);
            free(sets);
            return 2;
        }
    }
    if ((resume || auto_resume) && overwrite) {
        fprintf(stderr, "maf train: --overwrite starts anew; it cannot go with --resume or "
                        "--auto-resume\n");
        free(sets);
        return 2;
    }
    if (optind < argc || !config_path) {
        fprintf(stderr,
                optind < argc ? "maf train: unexpected argument '%s'\n"
                              : "maf train: -c CONFIG is required%s\n",
                optind < argc ? argv[optind] : "");
        train_usage(stderr);
        free(sets);
        return 2;
    }

    int rank = 0, size = 1;
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS ||
        MPI_Comm_rank(MPI_COMM_WORLD, &rank) != MPI_SUCCESS ||
        MPI_Comm_size(MPI_COMM_WORLD, &size) != MPI_SUCCESS) {
        fprintf(stderr, "maf train: MPI could not be initialised (is this run under a working "
                        "mpirun/srun?)\n");
        free(sets);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* every rank parses the same files, so every rank reaches the same verdict */
    maf_config cfg;
    maf_config_default(&cfg);
    maf_status st = maf_config_load(&cfg, config_path);
    for (int i = 0; i < nsets && st == MAF_OK; i++) st = maf_config_set(&cfg, sets[i]);
    int rc = 0;
    if (st != MAF_OK) {
        if (rank == 0) fprintf(stderr, "maf train: %s\n", maf_last_error());
        rc = 2;
        goto out;
    }
    /* a live bar only on a real terminal: Open MPI gives ranks a pty even when mpirun's output
     * goes to a file, and Slurm logs want plain lines */
    bool launched = getenv("OMPI_COMM_WORLD_SIZE") || getenv("SLURM_JOB_ID") || getenv("PMI_RANK");
    console con = {
        .rank = rank, .tty = rank == 0 && !launched && isatty(STDOUT_FILENO), .quiet = quiet};
    if (rank == 0 && !quiet) {
        char *ini = maf_config_to_ini(&cfg);
        printf("maf %s train on %d rank(s); resolved configuration:\n%s\n", maf_version(), size,
               ini ? ini : "");
        free(ini);
        fflush(stdout);
    }
    if (auto_resume) {
        /* rank 0 decides, so that every rank takes the same path */
        char latest[4200];
        snprintf(latest, sizeof latest, "%s/latest.h5", cfg.dir);
        int exists = rank == 0 && access(latest, F_OK) == 0;
        if (MPI_Bcast(&exists, 1, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS) {
            if (rank == 0)
                fprintf(stderr, "maf train: MPI_Bcast of the --auto-resume decision failed\n");
            rc = 1;
            goto out;
        }
        resume = exists;
        /* a requeued job whose first run died before its first checkpoint may have left a log:
         * with no latest.h5 to continue from, the folder's files are this job's to replace */
        overwrite = !exists;
        if (rank == 0 && !quiet)
            printf("--auto-resume: %s\n",
                   exists ? "resuming from latest.h5"
                          : "no latest.h5, starting anew (replacing any best.h5/log.h5)");
    }
    maf_train_options opt = {.resume = resume,
                             .overwrite = overwrite,
                             .stop_request = &stop_request,
                             .progress = on_progress,
                             .message = on_message,
                             .ctx = &con};
    maf_train_result res;
    st = maf_train(&cfg, MPI_COMM_WORLD, &opt, &res);
    if (rank == 0 && con.tty) printf("\n");
    if (st != MAF_OK) {
        if (rank == 0) fprintf(stderr, "maf train: %s\n", maf_last_error());
        rc = st == MAF_ERR_CONFIG ? 2 : 1;
        goto out;
    }
    if (res.stopped) {
        if (rank == 0)
            printf("stopped at step %lld: %s/latest.h5 written; continue with --resume (exit %d)\n",
                   (long long)res.steps, cfg.dir, MAF_EXIT_STOPPED);
        rc = MAF_EXIT_STOPPED;
        goto out;
    }
    if (rank == 0) {
        char b1[32], b2[32];
        printf("done: %lld steps (%.1f epochs) in %.1f s; best validation log-likelihood %s\n",
               (long long)res.steps, res.epochs, res.wall_s, fmt_ll(res.best_val, 0, b1));
        if (isfinite(res.test_2se))
            printf("test log-likelihood: %s +- %s (2 s.e., %lld rows)",
                   fmt_ll(res.test_loglik, 0, b1), fmt_ll(res.test_2se, 0, b2),
                   (long long)res.test_rows);
        else
            printf("test log-likelihood: %s (%lld finite row(s): no standard error)",
                   fmt_ll(res.test_loglik, 0, b1), (long long)(res.test_rows - res.test_nonfinite));
        if (!isnan(res.true_test_loglik))
            printf("   true density: %.4f (gap %.4f nats)", res.true_test_loglik,
                   res.true_test_loglik - res.test_loglik);
        printf("\n  median %s, worst row %s, %lld rows below %g", fmt_ll(res.test_median, 0, b1),
               fmt_ll(res.test_worst, 0, b2), (long long)res.test_below, res.tail_threshold);
        if (res.test_nonfinite) printf(", %lld rows non-finite", (long long)res.test_nonfinite);
        /* only the files this run wrote (a finished run resumed writes only its log) */
        printf("\n  files:");
        if (res.wrote_best) printf(" %s/best.h5 (model),", cfg.dir);
        if (res.wrote_latest) printf(" %s/latest.h5,", cfg.dir);
        printf(" %s/log.h5\n", cfg.dir);
    }
out:
    free(sets);
    fflush(stdout);
    fflush(stderr);
    MPI_Finalize();
    /* every rank knows the outcome (failures are agreed) and rank 0 has said it; the status is
     * rank 0's alone, because a launcher that sees another rank exit non-zero first aborts the
     * job and can drop rank 0's message before it is forwarded */
    return rank == 0 ? rc : 0;
}
