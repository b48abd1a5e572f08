/* bptt_arrays.h — data files read in place: a memory-mapped file, NumPy .npy arrays,
 * safetensors tensors without a copy, and sequence data sets in the CSV layout of the
 * UCR/UEA time-series archives.
 *
 * Every reader treats its input as hostile: each length, shape and cell is checked
 * before a byte is used, and every failure is a status with a one-line error naming
 * the file and the place ("x.npy: header field 'shape': ...", "train.csv:12:7: ...").
 * Statuses: BP_ERR_IO (cannot open, map or write; not a regular file), BP_ERR_PARSE
 * (malformed content), BP_ERR_VALUE (a value or size out of range), BP_ERR_NOMEM.
 * docs/formats.md describes the formats and every error.
 *
 *     bp_npy *f = bp_npy_open("x.npy", &err);
 *     if (!f) ...err.msg...
 *     const bp_array *a = bp_npy_array(f);        // a->shape, a->dtype, in place
 *     double v = bp_array_get(a, 0);
 *     bp_npy_close(f);
 *
 *     bp_csv_opts o;
 *     bp_csv_opts_default(&o);
 *     o.features = 3;
 *     bp_csv_set s;
 *     if (bp_csv_set_load("train.csv", &o, &s, &err) != BP_OK) ...
 *     // s.x is [s.N, s.T, s.I]; s.lengths[n] steps of sequence n; s.labels[n]
 *     bp_csv_set_free(&s);
 *
 * Mapped files: the bytes are the file's own pages, read-only. A file that another
 * process truncates while it is mapped makes a later read fault (SIGBUS), as with any
 * mmap; do not shrink a data file that a run is reading.
 *
 * Thread safety: every object here is read-only once opened; distinct objects may be
 * used from distinct threads.
 */
#ifndef BPTT_ARRAYS_H
#define BPTT_ARRAYS_H

#include "bptt_safetensors.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

/* ---------------------------------------------------------------- arrays */

/* An n-dimensional array of a data file, read in place (never copied): little-endian,
 * C order, data possibly unaligned (read elements with memcpy, or bp_array_get). */
typedef struct bp_array {
    bp_dtype dtype;            /* BP_DTYPE_F32, F64, I32, I64 */
    bp_shape shape;            /* 0 (a scalar) to 4 dims; dims may be 0 */
    size_t size;               /* elements, the product of the dims */
    const unsigned char *data; /* size * bp_dtype_size(dtype) bytes; never NULL */
} bp_array;

/* Element i (< a->size: not checked) converted to double: exact for F32, F64 and I32;
 * I64 beyond 2^53 rounds to the nearest double. */
double bp_array_get(const bp_array *a, size_t i);

/* ---------------------------------------------------------------- mapped files */

typedef struct bp_mapped_file bp_mapped_file;

/* A whole regular file mapped read-only. Anything else is refused without blocking
 * (a FIFO, a device, a socket: "PATH: not a regular file"; "PATH: is a directory"),
 * BP_ERR_IO. An empty file maps to size 0 with a non-NULL data pointer; a file on a
 * file system that cannot map it (ENODEV) is read into memory instead. The caller
 * owns the result: bp_unmap_file (NULL is a no-op). */
bp_mapped_file *bp_map_file(const char *path, bp_error *err);
const unsigned char *bp_mapped_data(const bp_mapped_file *m);
size_t bp_mapped_size(const bp_mapped_file *m);
const char *bp_mapped_path(const bp_mapped_file *m);
void bp_unmap_file(bp_mapped_file *m);

/* ---------------------------------------------------------------- files */

/* The one check every reader and writer of bptt makes on a path (docs/robustness.md).
 *
 * bp_file_open_read: a descriptor of path for reading, when it is a regular file. It is
 * opened without blocking, so a FIFO never waits for a writer, and checked with fstat:
 * a directory ("PATH: is a directory"), a FIFO, a device or a socket ("PATH: not a
 * regular file (a FIFO)") is refused, BP_ERR_IO, -1. The caller closes the descriptor.
 *
 * bp_file_check_output: can a writer put a file at path? It must be absent or a regular
 * file (a device such as /dev/null or /dev/full, a FIFO or a directory is refused and left
 * alone: "PATH: cannot write: it exists and is not a regular file (a character device);
 * left alone"), its name at most 255 bytes, and its folder must take a new file (a
 * temporary file is made there and removed). BP_ERR_IO naming the path otherwise. Every
 * writer of the library refuses what it refuses, so a long run can ask before it starts.
 *
 * bp_file_same: are a and b the same existing file (device and inode, so links and
 * other spellings of a path count)? false when either does not exist. */
int bp_file_open_read(const char *path, bp_error *err);
bp_status bp_file_check_output(const char *path, bp_error *err);
bool bp_file_same(const char *a, const char *b);

/* ---------------------------------------------------------------- NumPy .npy */

typedef struct bp_npy bp_npy;

/* Map and check a .npy file (format versions 1.0, 2.0, 3.0). Accepted: descr '<f4',
 * '<f8', '<i4', '<i8' ('=' and '|' and no order character mean the host's order, as in
 * numpy, and are accepted on a little-endian host), fortran_order False, 0 to 4 dims,
 * at most 2^31 elements, and exactly the data bytes the shape needs. Refused with a
 * message: a bad magic or version; a header that is not a Python dict literal of
 * exactly the keys descr, fortran_order, shape; fortran_order True; big-endian, object
 * ('|O') and every other dtype; a negative or over-large dimension (BP_ERR_VALUE above
 * 2^31 elements); too few data bytes (expected and found) or bytes after the data.
 * The caller owns the result: bp_npy_close (NULL is a no-op). */
bp_npy *bp_npy_open(const char *path, bp_error *err);
/* The array, in place in the mapped file; valid until bp_npy_close. */
const bp_array *bp_npy_array(const bp_npy *f);
void bp_npy_close(bp_npy *f);

/* The same checks on a .npy image in memory (path only names it in errors; NULL reads
 * "npy"). On success out->data points into buf. */
bp_status bp_npy_parse(const unsigned char *buf, size_t n, const char *path, bp_array *out,
                       bp_error *err);

/* Write a .npy v1.0 file holding shape (0 to 4 dims, each >= 0, at most 2^31 elements)
 * of dtype, from data in host memory and host byte order (float, double, int32_t,
 * int64_t); written little-endian, with the header numpy itself writes. Atomic, like
 * bp_st_writer_save: a temporary file in the same directory, fsync, rename. A path that
 * exists and is not a regular file (a FIFO, a device, a directory) is refused and left
 * alone. BP_ERR_IO naming the path on failure; BP_ERR_VALUE or BP_ERR_SHAPE for bad
 * arguments. */
bp_status bp_npy_save(const char *path, bp_dtype dtype, bp_shape shape, const void *data,
                      bp_error *err);

/* ---------------------------------------------------------------- safetensors in place */

/* The tensor called name, in place: out->data points into the file's bytes (mapped by
 * bp_st_map, or read by bp_st_load), valid until bp_st_free. BP_ERR_NAME naming the
 * file and listing its tensors when there is no such tensor. */
bp_status bp_st_array(const bp_st_file *f, const char *name, bp_array *out, bp_error *err);

/* ---------------------------------------------------------------- CSV sequence sets */

/* The CSV layout of the UCR/UEA time-series archives: one sequence per row, the label
 * in the first (default) or the last cell, then T x I values row-major by step (step
 * 0's I values, then step 1's, ...). A shorter sequence ends in empty or NaN cells
 * ("NaN", "nan", any case) up to the row's full width. Delimiter ',' (a tab when the
 * first line holds tabs and no commas); spaces around a cell are ignored; lines end in
 * \n or \r\n, the last newline optional; a blank line only at the very end. Numbers
 * are decimal ("1", "-2.5", ".5e-3"), read the same whatever the C locale. */
typedef struct bp_csv_opts {
    int features;    /* I, values per step (>= 1; default 1) */
    bool label_last; /* the label is the last cell (default: the first) */
    int header;      /* -1 auto (default): the first row is a header when one of its
                        cells is neither empty nor a number (nor NaN, nor inf);
                        0 none; 1 the first row is a header, whatever it holds */
} bp_csv_opts;

typedef struct bp_csv_set {
    int N, T, I;     /* sequences, steps of a full row ((cells - 1) / I), features */
    float *x;        /* [N, T, I]; zeros past each sequence's end */
    int *lengths;    /* [N]: steps of each sequence, 1..T */
    double *labels;  /* [N]: the label cells as numbers (finite) */
    bool had_header;
} bp_csv_set;

void bp_csv_opts_default(bp_csv_opts *o);

/* Map path (bp_map_file) and parse it. On failure out is zeroed and err says
 * "PATH:ROW:COLUMN: ..." (1-based; ROW is the line, the header counting as one;
 * COLUMN is the cell's number in its row), or "PATH:ROW: ..." / "PATH: ..." where no
 * cell is to blame. Refused: a NUL byte; a blank line; a cell that is not a number;
 * inf in a value or the label, or a value beyond float range (BP_ERR_VALUE); a row
 * with another number of cells than the first data row (both counts given); a number
 * after an empty or NaN cell (a gap inside a sequence); a sequence that ends inside a
 * step; an empty sequence; an empty or NaN label; no data row; a first data row whose
 * cells - 1 is not a multiple of features; more than 2^31 - 1 rows or cells in a row,
 * or more than 2^31 values in all (BP_ERR_VALUE). The set is the caller's:
 * bp_csv_set_free. */
bp_status bp_csv_set_load(const char *path, const bp_csv_opts *o, bp_csv_set *out,
                          bp_error *err);
/* The same on n bytes in memory (not NUL-terminated; path only names it in errors,
 * NULL reads "csv"). o NULL means the defaults. */
bp_status bp_csv_set_parse(const char *buf, size_t n, const char *path, const bp_csv_opts *o,
                           bp_csv_set *out, bp_error *err);
/* Free the arrays and zero s; a zeroed set is a no-op. */
void bp_csv_set_free(bp_csv_set *s);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
