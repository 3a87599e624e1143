/* h5io.c - atomic HDF5 writer (write "<path>.tmp", fsync, rename, fsync the folder) and a reader
 * that checks names, types and shapes and reports every failure with the file and object named.
 * The writer builds the file in memory (HDF5's core driver, no backing store) and writes its
 * image with write(2) at commit: a full disk or an I/O error is then one errno of ours, and
 * HDF5 never holds a half-written, unclosable file (which crashed its clean-up at exit).
 * The reader uses the default sec2 driver. HDF5's error printing is off during every call. */
#define _POSIX_C_SOURCE 200809L
#include "maf/h5io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

struct maf_h5_writer {
    hid_t file; /* in memory */
    int fd;     /* "<path>.tmp", created (empty) at create, written at commit */
    char *path, *tmp;
};

struct maf_h5_reader {
    hid_t file;
    char *path;
};

/* HDF5's automatic error printing, switched off for the length of one call */
typedef struct {
    H5E_auto2_t fn;
    void *data;
} quiet_state;

static quiet_state quiet_on(void)
{
    quiet_state q = {NULL, NULL};
    H5Eget_auto2(H5E_DEFAULT, &q.fn, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

static void quiet_off(quiet_state q)
{
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, q.fn, q.data);
}

/* the innermost message on HDF5's error stack ("file signature not found"), or `fallback` */
typedef struct {
    char text[200];
} detail;

static herr_t detail_cb(unsigned n, const H5E_error2_t *e, void *d)
{
    if (n == 0) snprintf(((detail *)d)->text, sizeof((detail *)d)->text, "%s", e->desc);
    return 0;
}

static detail h5_detail(const char *fallback)
{
    detail d;
    snprintf(d.text, sizeof d.text, "%s", fallback);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, detail_cb, &d);
    return d;
}

static hid_t mem_type(maf_h5_type t)
{
    const hid_t m[] = {H5T_NATIVE_FLOAT, H5T_NATIVE_DOUBLE, H5T_NATIVE_INT32, H5T_NATIVE_INT64,
                       H5T_NATIVE_UINT64};
    return m[t];
}

static hid_t file_type(maf_h5_type t)
{
    const hid_t f[] = {H5T_IEEE_F32LE, H5T_IEEE_F64LE, H5T_STD_I32LE, H5T_STD_I64LE, H5T_STD_U64LE};
    return f[t];
}

static const char *type_name(maf_h5_type t)
{
    const char *n[] = {"float32", "float64", "int32", "int64", "uint64"};
    return n[t];
}

static bool is_int(maf_h5_type t)
{
    return t == MAF_H5_I32 || t == MAF_H5_I64 || t == MAF_H5_U64;
}

/* a compound type for the fields: the C struct layout in memory, packed in the file */
static hid_t compound(const maf_h5_field *f, size_t nf, size_t record_size, bool in_file)
{
    size_t size = 0;
    for (size_t i = 0; i < nf; i++) size += in_file ? H5Tget_size(file_type(f[i].type)) : 0;
    hid_t t = H5Tcreate(H5T_COMPOUND, in_file ? size : record_size);
    size_t off = 0;
    for (size_t i = 0; i < nf && t >= 0; i++) {
        hid_t m = in_file ? file_type(f[i].type) : mem_type(f[i].type);
        if (!f[i].name || H5Tinsert(t, f[i].name, in_file ? off : f[i].offset, m) < 0) {
            H5Tclose(t);
            t = H5I_INVALID_HID;
        }
        off += H5Tget_size(m);
    }
    return t;
}

static void writer_free(maf_h5_writer *w)
{
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    free(w->path);
    free(w->tmp);
    free(w);
}

maf_status maf_h5w_create(const char *path, maf_h5_writer **out)
{
    if (!path || !*path || !out) return maf_fail(MAF_ERR_ARG, "maf_h5w_create: no path");
    *out = NULL;
    quiet_state q = quiet_on();
    maf_status st = MAF_OK;
    hid_t fapl = H5I_INVALID_HID;
    maf_h5_writer *w = calloc(1, sizeof *w);
    size_t len = strlen(path);
    if (w) w->fd = -1;
    if (!w || !(w->path = strdup(path)) || !(w->tmp = malloc(len + 5))) {
        st = maf_fail(MAF_ERR_NOMEM, "maf_h5w_create: out of memory");
        goto free_writer;
    }
    memcpy(w->tmp, path, len);
    memcpy(w->tmp + len, ".tmp", 5);
    /* the temporary now, so that an unwritable folder fails before any work */
    if ((w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        st = maf_fail(MAF_ERR_IO, "cannot create '%s': %s", w->tmp, strerror(errno));
        goto free_writer;
    }
    /* in memory (grown 1 MiB at a time, nothing on disk until commit); closing the file closes
     * every object still open in it */
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) >= 0 &&
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl < 0 || w->file < 0) {
        st = maf_fail(MAF_ERR_IO, "cannot create '%s' in memory: %s", w->tmp,
                      h5_detail("unknown HDF5 error").text);
        unlink(w->tmp);
        goto free_writer;
    }
    *out = w;
    w = NULL;
free_writer:
    writer_free(w);
    if (fapl >= 0) H5Pclose(fapl);
    quiet_off(q);
    return st;
}

/* create dataset `name` (and its parent groups) of type `ftype` with the given dataspace */
static hid_t create_ds(maf_h5_writer *w, const char *name, hid_t ftype, hid_t space)
{
    hid_t ds = H5I_INVALID_HID, lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0)
        ds = H5Dcreate2(w->file, name, ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (lcpl >= 0) H5Pclose(lcpl);
    return ds;
}

static maf_status put(maf_h5_writer *w, const char *name, hid_t mtype, hid_t ftype, int rank,
                      const hsize_t *dims, const void *data)
{
    hsize_t count = rank == 2 ? dims[0] * dims[1] : dims[0];
    if (!w || !name || !*name || (!data && count))
        return maf_fail(MAF_ERR_ARG, "maf_h5w_put: no writer, name or data");
    quiet_state q = quiet_on();
    maf_status st = MAF_OK;
    hid_t ds = H5I_INVALID_HID, space = H5Screate_simple(rank, dims, NULL);
    if (space >= 0) ds = create_ds(w, name, ftype, space);
    if (ds < 0 || (count && H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        st = maf_fail(MAF_ERR_IO, "%s: cannot write dataset '%s': %s", w->tmp, name,
                      h5_detail("unknown HDF5 error").text);
    if (ds >= 0) H5Dclose(ds);
    if (space >= 0) H5Sclose(space);
    quiet_off(q);
    return st;
}

#define PUT_FN(suffix, ctype, t)                                                                   \
    maf_status maf_h5w_put_##suffix(maf_h5_writer *w, const char *name, const ctype *data,         \
                                    size_t rows, size_t cols)                                      \
    {                                                                                              \
        const hsize_t dims[2] = {rows, cols};                                                      \
        return put(w, name, mem_type(t), file_type(t), 2, dims, data);                             \
    }
PUT_FN(f32, float, MAF_H5_F32)
PUT_FN(f64, double, MAF_H5_F64)
PUT_FN(i32, int32_t, MAF_H5_I32)
PUT_FN(i64, int64_t, MAF_H5_I64)
PUT_FN(u64, uint64_t, MAF_H5_U64)

maf_status maf_h5w_put_table(maf_h5_writer *w, const char *name, const maf_h5_field *fields,
                             size_t nfields, size_t record_size, const void *records, size_t n)
{
    if (!fields || !nfields) return maf_fail(MAF_ERR_ARG, "maf_h5w_put_table: no fields");
    const hsize_t dims[1] = {n};
    hid_t mtype = compound(fields, nfields, record_size, false);
    hid_t ftype = compound(fields, nfields, record_size, true);
    maf_status st = mtype < 0 || ftype < 0
                        ? maf_fail(MAF_ERR_ARG, "table '%s': bad field list", name ? name : "")
                        : put(w, name, mtype, ftype, 1, dims, records);
    if (mtype >= 0) H5Tclose(mtype);
    if (ftype >= 0) H5Tclose(ftype);
    return st;
}

/* write a scalar attribute, replacing an old one of the same name */
static maf_status put_attr(maf_h5_writer *w, const char *obj, const char *attr, hid_t ftype,
                           hid_t mtype, const void *value)
{
    if (!w || !obj || !attr || !*attr) return maf_fail(MAF_ERR_ARG, "maf_h5w_attr: no name");
    quiet_state q = quiet_on();
    maf_status st = MAF_OK;
    hid_t a = H5I_INVALID_HID, space = H5I_INVALID_HID, o = H5Oopen(w->file, obj, H5P_DEFAULT);
    if (o < 0) {
        st = maf_fail(MAF_ERR_ARG, "%s: no object '%s' for attribute '%s'", w->tmp, obj, attr);
        goto done;
    }
    if (H5Aexists(o, attr) > 0) H5Adelete(o, attr);
    if ((space = H5Screate(H5S_SCALAR)) >= 0)
        a = H5Acreate2(o, attr, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, value) < 0)
        st = maf_fail(MAF_ERR_IO, "%s: cannot write attribute '%s' of '%s': %s", w->tmp, attr, obj,
                      h5_detail("unknown HDF5 error").text);
    if (a >= 0) H5Aclose(a);
    if (space >= 0) H5Sclose(space);
    H5Oclose(o);
done:
    quiet_off(q);
    return st;
}

maf_status maf_h5w_attr_str(maf_h5_writer *w, const char *obj, const char *attr, const char *value)
{
    if (!value) return maf_fail(MAF_ERR_ARG, "maf_h5w_attr_str: no value");
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        if (t >= 0) H5Tclose(t);
        return maf_fail(MAF_ERR_IO, "%s: cannot make a string type for attribute '%s'",
                        w ? w->tmp : "", attr ? attr : "");
    }
    maf_status st = put_attr(w, obj, attr, t, t, &value);
    H5Tclose(t);
    return st;
}

maf_status maf_h5w_attr_f64(maf_h5_writer *w, const char *obj, const char *attr, double value)
{
    return put_attr(w, obj, attr, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

maf_status maf_h5w_attr_i64(maf_h5_writer *w, const char *obj, const char *attr, int64_t value)
{
    return put_attr(w, obj, attr, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

/* fsync the folder holding `path`, so that a rename in it is durable */
static maf_status sync_dir(const char *path)
{
    maf_status st = MAF_OK;
    char *dir = strdup(path);
    if (!dir) return maf_fail(MAF_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    const char *d = !slash ? "." : slash == dir ? "/" : (*slash = '\0', dir);
    int fd = open(d, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0)
        st = maf_fail(MAF_ERR_IO, "'%s' is written but its folder '%s' could not be synced: %s",
                      path, d, strerror(errno));
    if (fd >= 0) close(fd);
    free(dir);
    return st;
}

/* write all of buf to fd (short writes and EINTR retried); 0, or -1 with errno set */
static int write_all(int fd, const unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, buf, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        if (k == 0) {
            errno = ENOSPC;
            return -1;
        }
        buf += k;
        n -= (size_t)k;
    }
    return 0;
}

maf_status maf_h5w_commit(maf_h5_writer *w)
{
    if (!w) return maf_fail(MAF_ERR_ARG, "maf_h5w_commit: no writer");
    quiet_state q = quiet_on();
    maf_status st = MAF_OK;
    unsigned char *image = NULL;
    /* the finished file's bytes, then the in-memory file is closed (it cannot fail on disk) */
    ssize_t size =
        H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0 ? -1 : H5Fget_file_image(w->file, NULL, 0);
    if (size > 0 && (image = malloc((size_t)size)) != NULL &&
        H5Fget_file_image(w->file, image, (size_t)size) != size)
        size = -1;
    if (size <= 0 || !image)
        st = maf_fail(size > 0 ? MAF_ERR_NOMEM : MAF_ERR_IO, "cannot finish '%s' in memory: %s",
                      w->path, size > 0 ? "out of memory" : h5_detail("unknown HDF5 error").text);
    H5Fclose(w->file);
    if (st != MAF_OK) goto remove_tmp;
    /* close() is checked too: some file systems (NFS) report a full disk only there */
    int rc = write_all(w->fd, image, (size_t)size);
    if (rc == 0) rc = fsync(w->fd);
    int e = errno, rc_close = close(w->fd);
    w->fd = -1;
    if (rc == 0 && rc_close != 0) rc = -1, e = errno;
    if (rc != 0) {
        st = maf_fail(MAF_ERR_IO,
                      "cannot write '%s' (%zd bytes, to '%s'): %s; any previous '%s' is unchanged",
                      w->path, size, w->tmp, strerror(e), w->path);
        goto remove_tmp;
    }
    if (rename(w->tmp, w->path) != 0) {
        st = maf_fail(MAF_ERR_IO, "cannot rename '%s' to '%s': %s", w->tmp, w->path,
                      strerror(errno));
        goto remove_tmp;
    }
    st = sync_dir(w->path);
    goto free_image;
remove_tmp:
    unlink(w->tmp);
free_image:
    free(image);
    writer_free(w);
    quiet_off(q);
    return st;
}

void maf_h5w_abort(maf_h5_writer *w)
{
    if (!w) return;
    quiet_state q = quiet_on();
    H5Fclose(w->file); /* in memory: nothing was written to disk */
    unlink(w->tmp);
    writer_free(w);
    quiet_off(q);
}

maf_status maf_h5r_open(const char *path, maf_h5_reader **out)
{
    if (!path || !*path || !out) return maf_fail(MAF_ERR_ARG, "maf_h5r_open: no path");
    *out = NULL;
    quiet_state q = quiet_on();
    maf_status st = MAF_OK;
    maf_h5_reader *r = calloc(1, sizeof *r);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        st = maf_fail(MAF_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        goto free_reader;
    }
    close(fd);
    if (!r || !(r->path = strdup(path))) {
        st = maf_fail(MAF_ERR_NOMEM, "maf_h5r_open: out of memory");
        goto free_reader;
    }
    if ((r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        detail d = h5_detail("unknown HDF5 error");
        st = strstr(d.text, "unable to lock")
                 ? maf_fail(MAF_ERR_IO,
                            "cannot open '%s': it is open for writing elsewhere, or the file "
                            "system has no locks (then set HDF5_USE_FILE_LOCKING=FALSE) (%s)",
                            path, d.text)
                 : maf_fail(MAF_ERR_FORMAT, "cannot open '%s': not an HDF5 file or truncated (%s)",
                            path, d.text);
        goto free_reader;
    }
    *out = r;
    r = NULL;
free_reader:
    if (r) free(r->path);
    free(r);
    quiet_off(q);
    return st;
}

void maf_h5r_close(maf_h5_reader *r)
{
    if (!r) return;
    quiet_state q = quiet_on();
    H5Fclose(r->file);
    free(r->path);
    free(r);
    quiet_off(q);
}

const char *maf_h5r_path(const maf_h5_reader *r)
{
    return r ? r->path : "";
}

bool maf_h5r_has(maf_h5_reader *r, const char *name)
{
    if (!r || !name || !*name) return false;
    if (name[strspn(name, "/")] == '\0') return true; /* the root */
    char *p = strdup(name);
    if (!p) return false;
    quiet_state q = quiet_on();
    bool found = true;
    /* H5Lexists needs every parent to exist: check the path one component at a time */
    for (char *s = p + 1, *slash; found; s = slash + 1) {
        if ((slash = strchr(s, '/'))) *slash = '\0';
        found = H5Lexists(r->file, p, H5P_DEFAULT) > 0;
        if (!slash) break;
        *slash = '/';
    }
    if (found) {
        hid_t o = H5Oopen(r->file, name, H5P_DEFAULT);
        found = o >= 0 && (H5Iget_type(o) == H5I_DATASET || H5Iget_type(o) == H5I_GROUP);
        if (o >= 0) H5Oclose(o);
    }
    free(p);
    quiet_off(q);
    return found;
}

/* open dataset `name` and read its dimensions (rank must be `rank`, 1 or 2) */
static maf_status open_ds(maf_h5_reader *r, const char *name, int rank, hid_t *ds, hsize_t *dims)
{
    hid_t space = H5I_INVALID_HID;
    *ds = H5I_INVALID_HID;
    if (!maf_h5r_has(r, name))
        return maf_fail(MAF_ERR_FORMAT, "%s: no dataset '%s'", r->path, name);
    if ((*ds = H5Dopen2(r->file, name, H5P_DEFAULT)) < 0)
        return maf_fail(MAF_ERR_FORMAT, "%s: '%s' is not a dataset", r->path, name);
    if ((space = H5Dget_space(*ds)) < 0 || H5Sget_simple_extent_ndims(space) != rank ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        if (space >= 0) H5Sclose(space);
        H5Dclose(*ds);
        *ds = H5I_INVALID_HID;
        return maf_fail(MAF_ERR_FORMAT, "%s: dataset '%s' is not %d-D", r->path, name, rank);
    }
    H5Sclose(space);
    return MAF_OK;
}

maf_status maf_h5r_shape(maf_h5_reader *r, const char *name, size_t *rows, size_t *cols)
{
    if (!r || !name || !rows || !cols) return maf_fail(MAF_ERR_ARG, "maf_h5r_shape: no argument");
    quiet_state q = quiet_on();
    hid_t ds = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    maf_status st = open_ds(r, name, 2, &ds, dims);
    if (st == MAF_OK) *rows = dims[0], *cols = dims[1], H5Dclose(ds);
    quiet_off(q);
    return st;
}

/* integer reads abort instead of clipping values that do not fit */
static H5T_conv_ret_t conv_range(H5T_conv_except_t e, hid_t s, hid_t d, void *sb, void *db,
                                 void *ctx)
{
    (void)s, (void)d, (void)sb, (void)db, (void)ctx;
    return e == H5T_CONV_EXCEPT_RANGE_HI || e == H5T_CONV_EXCEPT_RANGE_LOW ? H5T_CONV_ABORT
                                                                           : H5T_CONV_UNHANDLED;
}

/* read all of `ds` as `mtype` into out; integer reads fail on values out of range */
static herr_t read_ds(hid_t ds, hid_t mtype, bool check_range, void *out)
{
    hid_t xfer = H5Pcreate(H5P_DATASET_XFER);
    herr_t rc = xfer < 0 ? -1 : check_range ? H5Pset_type_conv_cb(xfer, conv_range, NULL) : 0;
    if (rc >= 0) rc = H5Dread(ds, mtype, H5S_ALL, H5S_ALL, xfer, out);
    if (xfer >= 0) H5Pclose(xfer);
    return rc;
}

/* the stored class (H5T_INTEGER or H5T_FLOAT) fits the requested type */
static bool class_fits(H5T_class_t c, maf_h5_type t)
{
    return is_int(t) ? c == H5T_INTEGER : c == H5T_FLOAT;
}

static maf_status get(maf_h5_reader *r, const char *name, maf_h5_type t, void *out, size_t rows,
                      size_t cols)
{
    if (!r || !name || (!out && rows && cols))
        return maf_fail(MAF_ERR_ARG, "maf_h5r_get: no reader, name or buffer");
    quiet_state q = quiet_on();
    hid_t ds = H5I_INVALID_HID, ftype = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    maf_status st = open_ds(r, name, 2, &ds, dims);
    if (st != MAF_OK) goto done;
    if (dims[0] != rows || dims[1] != cols) {
        st =
            maf_fail(MAF_ERR_FORMAT, "%s: dataset '%s' is %llu x %llu, expected %zu x %zu", r->path,
                     name, (unsigned long long)dims[0], (unsigned long long)dims[1], rows, cols);
    } else if ((ftype = H5Dget_type(ds)) < 0 || !class_fits(H5Tget_class(ftype), t)) {
        st = maf_fail(MAF_ERR_FORMAT, "%s: dataset '%s' does not hold %s", r->path, name,
                      is_int(t) ? "integers" : "floating-point numbers");
    } else if (rows && cols && read_ds(ds, mem_type(t), is_int(t), out) < 0) {
        st = maf_fail(MAF_ERR_FORMAT, "%s: cannot read dataset '%s' as %s: %s", r->path, name,
                      type_name(t), h5_detail("a value is out of range").text);
    }
    if (ftype >= 0) H5Tclose(ftype);
    H5Dclose(ds);
done:
    quiet_off(q);
    return st;
}

#define GET_FN(suffix, ctype, t)                                                                   \
    maf_status maf_h5r_get_##suffix(maf_h5_reader *r, const char *name, ctype *out, size_t rows,   \
                                    size_t cols)                                                   \
    {                                                                                              \
        return get(r, name, t, out, rows, cols);                                                   \
    }
GET_FN(f32, float, MAF_H5_F32)
GET_FN(f64, double, MAF_H5_F64)
GET_FN(i32, int32_t, MAF_H5_I32)
GET_FN(i64, int64_t, MAF_H5_I64)
GET_FN(u64, uint64_t, MAF_H5_U64)

maf_status maf_h5r_get_table(maf_h5_reader *r, const char *name, const maf_h5_field *fields,
                             size_t nfields, size_t record_size, void **records, size_t *n)
{
    if (!r || !name || !fields || !nfields || !records || !n)
        return maf_fail(MAF_ERR_ARG, "maf_h5r_get_table: no argument");
    *records = NULL;
    *n = 0;
    quiet_state q = quiet_on();
    hid_t ds = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    hsize_t dims[1] = {0};
    void *buf = NULL;
    maf_status st = open_ds(r, name, 1, &ds, dims);
    if (st != MAF_OK) goto done;
    if ((ftype = H5Dget_type(ds)) < 0 || H5Tget_class(ftype) != H5T_COMPOUND) {
        st = maf_fail(MAF_ERR_FORMAT, "%s: dataset '%s' is not a table", r->path, name);
        goto close_types;
    }
    for (size_t i = 0; i < nfields; i++) {
        int k = fields[i].name ? H5Tget_member_index(ftype, fields[i].name) : -1;
        if (k < 0 || !class_fits(H5Tget_member_class(ftype, (unsigned)k), fields[i].type)) {
            st = maf_fail(MAF_ERR_FORMAT, "%s: table '%s' has no %s field '%s'", r->path, name,
                          is_int(fields[i].type) ? "integer" : "floating-point",
                          fields[i].name ? fields[i].name : "");
            goto close_types;
        }
    }
    if ((mtype = compound(fields, nfields, record_size, false)) < 0) {
        st = maf_fail(MAF_ERR_ARG, "table '%s': bad field list", name);
        goto close_types;
    }
    if (dims[0] && !(buf = calloc(dims[0], record_size))) {
        st = maf_fail(MAF_ERR_NOMEM, "%s: no memory for %llu rows of '%s'", r->path,
                      (unsigned long long)dims[0], name);
        goto close_types;
    }
    if (buf && read_ds(ds, mtype, true, buf) < 0) {
        st = maf_fail(MAF_ERR_FORMAT, "%s: cannot read table '%s': %s", r->path, name,
                      h5_detail("a value is out of range").text);
        free(buf);
        goto close_types;
    }
    *records = buf;
    *n = dims[0];
close_types:
    if (mtype >= 0) H5Tclose(mtype);
    if (ftype >= 0) H5Tclose(ftype);
    H5Dclose(ds);
done:
    quiet_off(q);
    return st;
}

/* open attribute `attr` of `obj`, which must hold a single value; *type is its stored type */
static maf_status open_attr(maf_h5_reader *r, const char *obj, const char *attr, hid_t *a,
                            hid_t *type)
{
    if (!r || !obj || !attr) return maf_fail(MAF_ERR_ARG, "maf_h5r_attr: no name");
    hid_t o = maf_h5r_has(r, obj) ? H5Oopen(r->file, obj, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t space = H5I_INVALID_HID;
    *a = *type = H5I_INVALID_HID;
    if (o >= 0 && H5Aexists(o, attr) > 0) *a = H5Aopen(o, attr, H5P_DEFAULT);
    if (o >= 0) H5Oclose(o);
    if (*a < 0)
        return maf_fail(MAF_ERR_FORMAT, "%s: no attribute '%s' on '%s'", r->path, attr, obj);
    bool scalar = (space = H5Aget_space(*a)) >= 0 && H5Sget_simple_extent_npoints(space) == 1;
    if (space >= 0) H5Sclose(space);
    if (scalar && (*type = H5Aget_type(*a)) >= 0) return MAF_OK;
    H5Aclose(*a);
    *a = H5I_INVALID_HID;
    return maf_fail(MAF_ERR_FORMAT, "%s: attribute '%s' of '%s' is not a single value", r->path,
                    attr, obj);
}

static maf_status get_attr_num(maf_h5_reader *r, const char *obj, const char *attr, bool integer,
                               hid_t mtype, void *value)
{
    quiet_state q = quiet_on();
    hid_t a = H5I_INVALID_HID, type = H5I_INVALID_HID;
    maf_status st = open_attr(r, obj, attr, &a, &type);
    if (st != MAF_OK) goto done;
    H5T_class_t c = H5Tget_class(type);
    if (!(c == H5T_INTEGER || (!integer && c == H5T_FLOAT)))
        st = maf_fail(MAF_ERR_FORMAT, "%s: attribute '%s' of '%s' is not %s", r->path, attr, obj,
                      integer ? "an integer" : "a number");
    else if (H5Aread(a, mtype, value) < 0)
        st = maf_fail(MAF_ERR_FORMAT, "%s: cannot read attribute '%s' of '%s': %s", r->path, attr,
                      obj, h5_detail("unknown HDF5 error").text);
    H5Tclose(type);
    H5Aclose(a);
done:
    quiet_off(q);
    return st;
}

maf_status maf_h5r_attr_f64(maf_h5_reader *r, const char *obj, const char *attr, double *value)
{
    return get_attr_num(r, obj, attr, false, H5T_NATIVE_DOUBLE, value);
}

maf_status maf_h5r_attr_i64(maf_h5_reader *r, const char *obj, const char *attr, int64_t *value)
{
    return get_attr_num(r, obj, attr, true, H5T_NATIVE_INT64, value);
}

maf_status maf_h5r_attr_str(maf_h5_reader *r, const char *obj, const char *attr, char **value)
{
    if (!value) return maf_fail(MAF_ERR_ARG, "maf_h5r_attr_str: no output");
    *value = NULL;
    quiet_state q = quiet_on();
    hid_t a = H5I_INVALID_HID, type = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    maf_status st = open_attr(r, obj, attr, &a, &type);
    if (st != MAF_OK) goto done;
    bool vlen = H5Tis_variable_str(type) > 0;
    size_t len = H5Tget_size(type);
    char *vs = NULL, *s = NULL;
    if (H5Tget_class(type) != H5T_STRING) {
        st = maf_fail(MAF_ERR_FORMAT, "%s: attribute '%s' of '%s' is not a string", r->path, attr,
                      obj);
        goto close_attr;
    }
    /* read in the stored character set; fixed-length strings get room for a terminator */
    if ((mtype = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_cset(mtype, H5Tget_cset(type)) < 0 ||
        H5Tset_size(mtype, vlen ? H5T_VARIABLE : len + 1) < 0 ||
        (!vlen && !(s = calloc(len + 1, 1))) || H5Aread(a, mtype, vlen ? (void *)&vs : s) < 0 ||
        (vlen && !(s = strdup(vs ? vs : "")))) {
        st = maf_fail(MAF_ERR_FORMAT, "%s: cannot read attribute '%s' of '%s': %s", r->path, attr,
                      obj, h5_detail("unknown HDF5 error").text);
        free(s);
        s = NULL;
    }
    if (vs) H5free_memory(vs);
    *value = s;
close_attr:
    if (mtype >= 0) H5Tclose(mtype);
    H5Tclose(type);
    H5Aclose(a);
done:
    quiet_off(q);
    return st;
}
