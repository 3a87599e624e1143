/* h5io.h - an atomic HDF5 writer and a checked HDF5 reader (serial file access, rank 0 only).
 *
 * Writer guarantee: maf_h5w_create() creates an empty "<path>.tmp" (so an unwritable folder fails
 * at once) and builds the file in memory; maf_h5w_commit() writes its image to the temporary,
 * fsyncs it, renames it over <path> and fsyncs the folder. At every moment <path> is
 * either the old complete file or the new complete file, whatever happens to the process (a kill
 * leaves at most a stale "<path>.tmp", which the next create truncates); a full disk or an I/O
 * error is reported with the file and the OS's reason, the temporary removed.
 *
 * Layout: every array is a 2-D dataset rows x cols (a vector is n x 1) of little-endian IEEE
 * floats or integers; scalars and strings are attributes (strings are variable-length UTF-8,
 * which h5py reads as str); tables are 1-D datasets of a compound type. Names may contain '/':
 * intermediate groups are created on write.
 *
 * Reader guarantee: every failure returns MAF_ERR_IO (the file cannot be read) or MAF_ERR_FORMAT
 * (it is not HDF5, is truncated, or lacks the object, type or shape asked for) with a message
 * naming the file and the object. Reads convert between float and double; integer reads fail
 * instead of clipping a value that does not fit the requested type.
 *
 * HDF5's own error printing is switched off during every call and restored afterwards. */
#ifndef MAF_H5IO_H
#define MAF_H5IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* element types of table fields */
typedef enum { MAF_H5_F32, MAF_H5_F64, MAF_H5_I32, MAF_H5_I64, MAF_H5_U64 } maf_h5_type;

/* one field of a table record: its name in the file, its offset in the C struct, its type */
typedef struct {
    const char *name;
    size_t offset;
    maf_h5_type type;
} maf_h5_field;

typedef struct maf_h5_writer maf_h5_writer;

/* Create "<path>.tmp" empty (truncating any old one) and start the file in memory. Nothing at
 * `path` is touched until commit. */
maf_status maf_h5w_create(const char *path, maf_h5_writer **out);
/* Datasets rows x cols; `name` may contain '/' (intermediate groups are created). */
maf_status maf_h5w_put_f32(maf_h5_writer *w, const char *name, const float *data, size_t rows,
                           size_t cols);
maf_status maf_h5w_put_f64(maf_h5_writer *w, const char *name, const double *data, size_t rows,
                           size_t cols);
maf_status maf_h5w_put_i32(maf_h5_writer *w, const char *name, const int32_t *data, size_t rows,
                           size_t cols);
maf_status maf_h5w_put_i64(maf_h5_writer *w, const char *name, const int64_t *data, size_t rows,
                           size_t cols);
maf_status maf_h5w_put_u64(maf_h5_writer *w, const char *name, const uint64_t *data, size_t rows,
                           size_t cols);
/* A 1-D table of n records of record_size bytes each, stored as a compound dataset with one
 * member per field (h5py reads it as a structured array). */
maf_status maf_h5w_put_table(maf_h5_writer *w, const char *name, const maf_h5_field *fields,
                             size_t nfields, size_t record_size, const void *records, size_t n);
/* Attributes on the object `obj` ("/" for the file root, or a dataset/group written before);
 * an existing attribute of the same name is replaced. */
maf_status maf_h5w_attr_str(maf_h5_writer *w, const char *obj, const char *attr, const char *value);
maf_status maf_h5w_attr_f64(maf_h5_writer *w, const char *obj, const char *attr, double value);
maf_status maf_h5w_attr_i64(maf_h5_writer *w, const char *obj, const char *attr, int64_t value);
/* Write the file's image to "<path>.tmp", fsync it, rename it over `path`, fsync the folder. On
 * a failure before the rename (no space left, permissions, I/O error: the message names the file
 * and the OS's reason) the temporary is removed and the old `path` (if any) is left intact; a
 * failure to fsync the folder after the rename is reported, with the new file in place. Frees w
 * always. */
maf_status maf_h5w_commit(maf_h5_writer *w);
/* Discard the file and remove the temporary; free w (NULL is a no-op). */
void maf_h5w_abort(maf_h5_writer *w);

typedef struct maf_h5_reader maf_h5_reader;

/* Open read-only. Missing or unreadable file: MAF_ERR_IO; truncated, corrupt or not HDF5:
 * MAF_ERR_FORMAT; the message names the path. */
maf_status maf_h5r_open(const char *path, maf_h5_reader **out);
/* NULL is a no-op. */
void maf_h5r_close(maf_h5_reader *r);
/* A dataset or group `name` exists ("/" always does). */
bool maf_h5r_has(maf_h5_reader *r, const char *name);
/* Shape of a 2-D dataset (MAF_ERR_FORMAT naming file and dataset if missing or not 2-D). */
maf_status maf_h5r_shape(maf_h5_reader *r, const char *name, size_t *rows, size_t *cols);
/* Read a whole dataset whose shape must be exactly rows x cols, converted to the requested type;
 * errors name the file, the dataset, the shape found and the shape expected. */
maf_status maf_h5r_get_f32(maf_h5_reader *r, const char *name, float *out, size_t rows,
                           size_t cols);
maf_status maf_h5r_get_f64(maf_h5_reader *r, const char *name, double *out, size_t rows,
                           size_t cols);
maf_status maf_h5r_get_i32(maf_h5_reader *r, const char *name, int32_t *out, size_t rows,
                           size_t cols);
maf_status maf_h5r_get_i64(maf_h5_reader *r, const char *name, int64_t *out, size_t rows,
                           size_t cols);
maf_status maf_h5r_get_u64(maf_h5_reader *r, const char *name, uint64_t *out, size_t rows,
                           size_t cols);
/* Read a whole 1-D table: every field must be a member of the file's compound type (members
 * not asked for are ignored). *records is malloc'd (NULL when *n is 0); the caller frees it. */
maf_status maf_h5r_get_table(maf_h5_reader *r, const char *name, const maf_h5_field *fields,
                             size_t nfields, size_t record_size, void **records, size_t *n);
/* Attributes; a string is returned malloc'd (caller frees). Missing: MAF_ERR_FORMAT naming it.
 * Strings may be variable- or fixed-length; f64 accepts any numeric attribute, i64 integers. */
maf_status maf_h5r_attr_str(maf_h5_reader *r, const char *obj, const char *attr, char **value);
maf_status maf_h5r_attr_f64(maf_h5_reader *r, const char *obj, const char *attr, double *value);
maf_status maf_h5r_attr_i64(maf_h5_reader *r, const char *obj, const char *attr, int64_t *value);
/* The path given to maf_h5r_open. */
const char *maf_h5r_path(const maf_h5_reader *r);

#ifdef __cplusplus
}
#endif
#endif
