/* enospc.c - LD_PRELOAD shim for fault tests: the disk fills up during checkpoint writes.
 *
 *   LD_PRELOAD=libenospc.so MAF_FAULT_ENOSPC_AFTER=B [MAF_FAULT_ENOSPC_SUFFIX=.tmp] prog ...
 *
 * write(2) to a file whose path ends with the suffix (default ".tmp": maf's temporaries) succeeds
 * for the first B bytes this process writes to such files, then writes short and fails with
 * ENOSPC ("No space left on device"), as a full file system does. Other writes are untouched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long long budget = -1;

static int is_target(int fd)
{
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 0;
    path[n] = '\0';
    const char *suffix = getenv("MAF_FAULT_ENOSPC_SUFFIX");
    if (!suffix) suffix = ".tmp";
    size_t ls = strlen(suffix);
    return (size_t)n >= ls && strcmp(path + n - ls, suffix) == 0;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real_write)(int, const void *, size_t);
    if (!real_write) real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (budget < 0) {
        const char *e = getenv("MAF_FAULT_ENOSPC_AFTER");
        budget = e ? atoll(e) : LLONG_MAX;
        if (budget < 0) budget = 0;
    }
    if (n > 0 && is_target(fd)) {
        if (budget == 0) {
            errno = ENOSPC;
            return -1;
        }
        if ((long long)n > budget) n = (size_t)budget;
        budget -= (long long)n;
    }
    return real_write(fd, buf, n);
}
