/* fuzz_util.h - helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * memfile: the library reads files by path, so every input is written to one file per process,
 * $TMPDIR/maf-<tag>-<pid> (default TMPDIR: /dev/shm, in memory), rewritten for every input and
 * removed at exit (a crash leaves it; run.cmake sets TMPDIR to a scratch folder). A memfd
 * would leave nothing behind, but HDF5 cannot open "/proc/self/fd/N" (its realpath is not a
 * file: "can't retrieve real path for file").
 *
 * h5ids: HDF5 keeps every open file, group, dataset, attribute, datatype, dataspace and
 * property list in its id tables, where LeakSanitizer cannot see a forgotten one (the tables
 * are reachable). A reader that forgets to close an id on some error path leaks it and may keep
 * the file open. The harnesses record the id counts before the first input and abort when an
 * input leaves more ids behind than were there before. */
#ifndef MAF_FUZZ_UTIL_H
#define MAF_FUZZ_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef FUZZ_WITH_HDF5
#include <hdf5.h>

/* the HDF5 harnesses: single allocations above 100 MB return NULL instead of aborting, so a file
 * announcing a huge model or dataset takes the library's out-of-memory path */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=100";
}
#endif

typedef struct {
    int fd;
    char path[4096];
} fuzz_memfile;

static void fuzz_die(const char *what)
{
    fprintf(stderr, "fuzz harness: %s: %s\n", what, strerror(errno));
    abort();
}

static char fuzz_tmp_path[4096];

static void fuzz_remove_tmp(void)
{
    if (fuzz_tmp_path[0]) unlink(fuzz_tmp_path);
}

/* create the file once (name: a short tag) */
static void fuzz_memfile_open(fuzz_memfile *m, const char *name)
{
    const char *dir = getenv("TMPDIR");
    snprintf(m->path, sizeof m->path, "%s/maf-%s-%ld", dir && *dir ? dir : "/dev/shm", name,
             (long)getpid());
    m->fd = open(m->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (m->fd < 0) fuzz_die(m->path);
    snprintf(fuzz_tmp_path, sizeof fuzz_tmp_path, "%s", m->path);
    atexit(fuzz_remove_tmp);
}

/* replace the file's contents by data[0..size); returns its path */
static const char *fuzz_memfile_set(fuzz_memfile *m, const uint8_t *data, size_t size)
{
    if (ftruncate(m->fd, 0) != 0) fuzz_die("ftruncate");
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(m->fd, data + done, size - done, (off_t)done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fuzz_die("pwrite");
        done += (size_t)w;
    }
    return m->path;
}

#ifdef FUZZ_WITH_HDF5
/* the id types a reader creates and must close */
static const H5I_type_t fuzz_id_types[] = {H5I_FILE,    H5I_GROUP, H5I_DATATYPE,   H5I_DATASPACE,
                                           H5I_DATASET, H5I_ATTR,  H5I_GENPROP_LST};
static const char *const fuzz_id_names[] = {"file",    "group",     "datatype",     "dataspace",
                                            "dataset", "attribute", "property list"};
#define FUZZ_NID (sizeof fuzz_id_types / sizeof fuzz_id_types[0])

typedef struct {
    hsize_t n[FUZZ_NID];
} fuzz_h5ids;

static fuzz_h5ids fuzz_h5ids_now(void)
{
    fuzz_h5ids c;
    for (size_t i = 0; i < FUZZ_NID; i++) {
        c.n[i] = 0;
        if (H5Inmembers(fuzz_id_types[i], &c.n[i]) < 0) c.n[i] = 0;
    }
    return c;
}

/* abort (a finding) if more ids are open than in `base` */
static void fuzz_h5ids_check(const fuzz_h5ids *base, const char *after)
{
    fuzz_h5ids now = fuzz_h5ids_now();
    for (size_t i = 0; i < FUZZ_NID; i++)
        if (now.n[i] > base->n[i]) {
            fprintf(stderr,
                    "fuzz harness: HDF5 id leak after %s: %llu %s id(s) open, %llu before the "
                    "first input\n",
                    after, (unsigned long long)now.n[i], fuzz_id_names[i],
                    (unsigned long long)base->n[i]);
            abort();
        }
}
#endif

#endif
