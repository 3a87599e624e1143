/* clock.h - the monotonic wall clock that the timings of libmaf read (seconds). */
#ifndef MAF_CLOCK_H
#define MAF_CLOCK_H

#include <time.h>

static inline double maf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
