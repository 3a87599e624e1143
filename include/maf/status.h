/* status.h - status codes, error messages and logging shared by every libmaf module.
 *
 * Every action in libmaf returns a maf_status: MAF_OK (0) or a negative code. The detailed,
 * human-readable message of the most recent failure in the calling thread is kept and returned
 * by maf_last_error(). The library never prints and never exits: programs that want messages
 * install a log callback with maf_set_log_callback(). */
#ifndef MAF_STATUS_H
#define MAF_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MAF_OK = 0,
    MAF_ERR_ARG = -1,     /* an argument is out of range or inconsistent */
    MAF_ERR_NOMEM = -2,   /* an allocation failed */
    MAF_ERR_IO = -3,      /* a file could not be opened, read or written */
    MAF_ERR_FORMAT = -4,  /* a file has the wrong layout, version or shape */
    MAF_ERR_DATA = -5,    /* input data is bad (non-finite value, wrong dimension, too few rows) */
    MAF_ERR_NUMERIC = -6, /* a computation produced a non-finite value */
    MAF_ERR_MPI = -7,     /* an MPI call failed */
    MAF_ERR_CONFIG = -8,  /* a configuration key or value is invalid */
    MAF_ERR_STATE = -9,   /* a call was made in the wrong state (e.g. backward without forward) */
} maf_status;

/* Short fixed name of a status ("invalid argument", ...). Never NULL. */
const char *maf_status_str(maf_status s);

/* Message of the last failure in this thread ("" if none). Valid until the next failure. */
const char *maf_last_error(void);

/* the longest message kept (long enough for several paths of PATH_MAX and the reason) */
#define MAF_ERROR_MAX 16384

/* Record a failure message (printf-style) and return `s`, for use by libmaf modules and by
 * programs built on them: `return maf_fail(MAF_ERR_ARG, "dim must be >= 1, got %d", d);` */
maf_status maf_fail(maf_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Clear the message of the last failure. */
void maf_clear_error(void);

typedef enum {
    MAF_LOG_DEBUG = 0,
    MAF_LOG_INFO = 1,
    MAF_LOG_WARN = 2,
    MAF_LOG_ERROR = 3
} maf_log_level;
typedef void (*maf_log_fn)(maf_log_level level, const char *msg, void *ctx);

/* Install a log sink (NULL: discard, the default). */
void maf_set_log_callback(maf_log_fn fn, void *ctx);

/* Send a message to the installed sink, if any. */
void maf_log(maf_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
