/* bptt_safetensors.h — checkpoints and batch files in the safetensors format.
 *
 * A file is: 8 bytes, the header length N (unsigned, little-endian); N bytes of
 * JSON, padded with spaces so that 8 + N is a multiple of 8; then the raw
 * little-endian tensor data. The header maps each tensor name to
 * {"dtype": "F32", "shape": [64, 64], "data_offsets": [begin, end]} (offsets into
 * the data, end exclusive), plus an optional "__metadata__" object of string
 * values. Python reads these files with safetensors.numpy.load_file or with
 * numpy alone (docs/formats.md shows both).
 *
 * Reading validates everything before handing out a byte: the header length
 * against the file size (and a 100 MB cap), strict JSON nested at most 8 deep,
 * each dtype (F32, F64, I32, I64), each shape (0 to 4 dims, each below 2^31,
 * at most 2^31 elements), each data_offsets pair (begin <= end <= data size,
 * end - begin == elements * dtype size), no two tensors sharing bytes and no
 * unindexed bytes between them (the format forbids holes), unique names, and
 * __metadata__ holding only strings. Every failure returns NULL with an error
 * naming the file and the tensor or field; no hostile file makes it read out of
 * bounds.
 *
 * Writing is atomic: a temporary file in the same directory, fsync, rename over
 * the path, fsync of the directory. A failed write (unwritable directory, disk
 * full, RLIMIT_FSIZE) removes the temporary file, leaves any existing file at
 * the path untouched and returns BP_ERR_IO naming the path and the errno text.
 * (A process under `ulimit -f` gets SIGXFSZ on the write past the limit; a
 * program that wants the error instead of dying ignores SIGXFSZ — the library
 * does not touch signal handlers.) The new file gets the mode of the file it
 * replaces, or 0644.
 *
 *     bp_st_writer *w = bp_st_writer_new();
 *     bp_st_writer_add(w, "rnn0.W_h", BP_DTYPE_REAL, bp_shape2(64, 64), W_h, &err);
 *     bp_st_writer_meta(w, "step", "1200", &err);
 *     if (bp_st_writer_save(w, "ckpt.safetensors", &err) != BP_OK) ...
 *     bp_st_writer_free(w);
 *
 *     bp_st_file *f = bp_st_load("ckpt.safetensors", &err);
 *     if (!f || bp_st_read(f, "rnn0.W_h", bp_shape2(64, 64), W_h, &err) != BP_OK) ...
 *     const char *step = bp_st_meta(f, "step");          // NULL when absent
 *     bp_st_free(f);
 *
 * Thread safety: a bp_st_file is read-only after loading; distinct objects may
 * be used from distinct threads.
 */
#ifndef BPTT_SAFETENSORS_H
#define BPTT_SAFETENSORS_H

#include "bptt_graph.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

/* The element types bptt reads and writes (safetensors' names in quotes). */
typedef enum bp_dtype {
    BP_DTYPE_F32, /* "F32" */
    BP_DTYPE_F64, /* "F64" */
    BP_DTYPE_I32, /* "I32" */
    BP_DTYPE_I64, /* "I64" */
} bp_dtype;

/* The dtype that holds a bp_real exactly: F32 in the float build, F64 in the
 * double build (so gradients from bptt-f64 keep every bit). */
#ifdef BP_DOUBLE
#define BP_DTYPE_REAL BP_DTYPE_F64
#else
#define BP_DTYPE_REAL BP_DTYPE_F32
#endif

const char *bp_dtype_name(bp_dtype d); /* "F32" */
size_t bp_dtype_size(bp_dtype d);      /* bytes per element */

/* Limits a file must respect to be read. */
#define BP_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000) /* header bytes */
#define BP_ST_MAX_DEPTH 8                              /* JSON nesting */
#define BP_ST_MAX_NAME 1024                            /* bytes in a name, key or value */

/* ---------------------------------------------------------------- reading */

typedef struct bp_st_file bp_st_file;

/* What the header says about one tensor. */
typedef struct bp_st_info {
    const char *name;
    bp_dtype dtype;
    bp_shape shape; /* ndim 0 (a scalar) to 4; dims may be 0 */
    size_t size;    /* elements: the product of the dims */
} bp_st_info;

/* Read and validate the whole file. NULL and err (BP_ERR_IO: cannot open or
 * read; BP_ERR_PARSE: malformed; BP_ERR_NOMEM) on failure. The file object is the
 * caller's: bp_st_free (NULL is a no-op). Every pointer the functions below return
 * (infos, names, metadata strings) is the file's, valid until bp_st_free. */
bp_st_file *bp_st_load(const char *path, bp_error *err);
/* As bp_st_load, but the file is mapped read-only (bp_map_file) rather than read into
 * memory, for data sets far larger than a checkpoint; the same validation, and the
 * same errors (a FIFO or device is refused without blocking). bp_st_array (in
 * bptt_arrays.h) then gives a tensor in place. The file must not shrink while it is
 * open (a read of a truncated mapping faults). */
bp_st_file *bp_st_map(const char *path, bp_error *err);
void bp_st_free(bp_st_file *f);
const char *bp_st_path(const bp_st_file *f);

/* Tensors in header order; bp_st_at is NULL outside [0, count). */
int bp_st_count(const bp_st_file *f);
const bp_st_info *bp_st_at(const bp_st_file *f, int i);
/* The tensor called name, or NULL. */
const bp_st_info *bp_st_find(const bp_st_file *f, const char *name);

/* __metadata__: its value for key, or NULL; and its entries in header order (NULL
 * outside [0, count)). */
const char *bp_st_meta(const bp_st_file *f, const char *key);
int bp_st_meta_count(const bp_st_file *f);
const char *bp_st_meta_key(const bp_st_file *f, int i);
const char *bp_st_meta_value(const bp_st_file *f, int i);

/* Copy tensor name, converted to bp_real, into dst (expect's size elements).
 * Fails with BP_ERR_NAME when the tensor is missing ("x.safetensors: no tensor
 * 'rnn0.W_h' (it has: ...)") and BP_ERR_SHAPE when its shape differs
 * ("x.safetensors: rnn0.W_h has shape [64, 64], the model expects [128, 128]").
 * Integers convert exactly while |v| <= 2^24 (float) or 2^53 (double). */
bp_status bp_st_read(const bp_st_file *f, const char *name, bp_shape expect, bp_real *dst,
                     bp_error *err);
/* Copy the tensor at index i (which must be in [0, count): not checked), whatever
 * its shape, into dst (info->size elements), converted to bp_real. */
void bp_st_read_at(const bp_st_file *f, int i, bp_real *dst);
/* Copy tensor name without conversion into dst, which holds expect's size
 * elements of the C type of dtype (float, double, int32_t, int64_t), in host
 * byte order. Fails when the name, dtype or shape differs. For values a
 * bp_real cannot hold exactly (an RNG state, a 64-bit step counter). */
bp_status bp_st_read_raw(const bp_st_file *f, const char *name, bp_dtype dtype, bp_shape expect,
                         void *dst, bp_error *err);

/* ---------------------------------------------------------------- writing */

typedef struct bp_st_writer bp_st_writer;

bp_st_writer *bp_st_writer_new(void); /* NULL when out of memory; the caller's:
                                         bp_st_writer_free (NULL is a no-op) */
void bp_st_writer_free(bp_st_writer *w);

/* Add a tensor stored as dtype, converted from bp_real. The data is NOT copied:
 * it must stay valid until bp_st_writer_save returns. Integer dtypes require
 * whole values in range (checked when saving). Fails on an empty, duplicate or
 * over-long name, a name with control characters or invalid UTF-8, the name
 * "__metadata__", or a bad shape (ndim 0 to 4, dims >= 0). */
bp_status bp_st_writer_add(bp_st_writer *w, const char *name, bp_dtype dtype, bp_shape shape,
                           const bp_real *data, bp_error *err);
/* Add a tensor whose data already has the C type of dtype, in host byte order
 * (not copied either). */
bp_status bp_st_writer_add_raw(bp_st_writer *w, const char *name, bp_dtype dtype,
                               bp_shape shape, const void *data, bp_error *err);
/* Add (or replace) a __metadata__ entry; key and value are copied. */
bp_status bp_st_writer_meta(bp_st_writer *w, const char *key, const char *value,
                            bp_error *err);
/* Write the file atomically (see the top of this header). BP_ERR_IO naming the path
 * on failure; BP_ERR_VALUE for an integer tensor holding a value its dtype cannot
 * hold. The writer can be saved again or freed. */
bp_status bp_st_writer_save(const bp_st_writer *w, const char *path, bp_error *err);

/* ---------------------------------------------------------------- batch files */

/* A batch as a safetensors file (docs/formats.md): x [B, T, F] F32, or
 * [B, T] I32 token ids; y [B, O] F32 values, [B] or [B, T] I32 class ids.
 * Metadata: "format": "bptt-batch", "target": "values" | "class_last" |
 * "class_seq", "classes": O (for class targets). */
bp_status bp_batch_save(const char *path, const bp_batch *b, bp_error *err);
/* Read a batch written by bp_batch_save or by another program. The target
 * kind follows from y's dtype and rank (and must agree with "target" when the
 * metadata has one); the number of classes comes from "classes", or else is
 * the largest id + 1. F64 and I64 are accepted too. Ids must be whole,
 * non-negative and below the number of classes. The batch is the caller's
 * (bp_batch_free). Errors: those of bp_st_load; a missing x or y, an extra tensor or
 * metadata that contradicts y (BP_ERR_PARSE); shapes that break the contract
 * (BP_ERR_SHAPE); ids that are not whole or out of range (BP_ERR_VALUE). */
bp_batch *bp_batch_load(const char *path, bp_error *err);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
