/* status.c - thread-local error messages and the log sink. */
#include "maf/status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[MAF_ERROR_MAX];
static maf_log_fn log_fn;
static void *log_ctx;

const char *maf_status_str(maf_status s)
{
    switch (s) {
    case MAF_OK:
        return "ok";
    case MAF_ERR_ARG:
        return "invalid argument";
    case MAF_ERR_NOMEM:
        return "out of memory";
    case MAF_ERR_IO:
        return "I/O error";
    case MAF_ERR_FORMAT:
        return "bad file format";
    case MAF_ERR_DATA:
        return "bad data";
    case MAF_ERR_NUMERIC:
        return "non-finite result";
    case MAF_ERR_MPI:
        return "MPI error";
    case MAF_ERR_CONFIG:
        return "bad configuration";
    case MAF_ERR_STATE:
        return "invalid state";
    }
    return "unknown status";
}

const char *maf_last_error(void)
{
    return last_error;
}

maf_status maf_fail(maf_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

void maf_clear_error(void)
{
    last_error[0] = '\0';
}

void maf_set_log_callback(maf_log_fn fn, void *ctx)
{
    log_fn = fn;
    log_ctx = ctx;
}

void maf_log(maf_log_level level, const char *fmt, ...)
{
    if (!log_fn) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_fn(level, buf, log_ctx);
}
