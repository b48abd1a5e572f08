/* safetensors.c — reading safetensors files, validating every header field and
 * offset before any tensor byte is touched: read into memory (bp_st_load) or mapped
 * (bp_st_map). Writing is in safetensors_write.c. */
#include "st_bytes.h"
#include "st_internal.h"
#include "suggest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *bp_dtype_name(bp_dtype d)
{
    switch (d) {
    case BP_DTYPE_F32: return "F32";
    case BP_DTYPE_F64: return "F64";
    case BP_DTYPE_I32: return "I32";
    case BP_DTYPE_I64: return "I64";
    }
    return "?";
}

size_t bp_dtype_size(bp_dtype d)
{
    return d == BP_DTYPE_F64 || d == BP_DTYPE_I64 ? 8 : 4;
}

#define fail bp_io_fail

void bp_st_free(bp_st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free((char *)f->t[i].info.name);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_key[i]);
        free(f->meta_val[i]);
    }
    free(f->t);
    free(f->by_name);
    free(f->meta_key);
    free(f->meta_val);
    free(f->buf);
    bp_unmap_file(f->map);
    free(f->path);
    free(f);
}

/* ---------------------------------------------------------------- reading the bytes */

static bp_status read_all(int fd, unsigned char *buf, size_t n, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return BP_ERR_IO;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return BP_OK;
}

/* The file's size against the 8-byte length and the header length it gives. */
static bp_status check_lengths(const char *path, uint64_t fsize, uint64_t hlen, bp_error *err)
{
    if (fsize < 8)
        return fail(err, BP_ERR_PARSE, path,
                    "file is %llu bytes, too short for a safetensors file (it starts with an "
                    "8-byte header length)",
                    (unsigned long long)fsize);
    if (hlen > BP_ST_MAX_HEADER)
        return fail(err, BP_ERR_PARSE, path,
                    "header length %llu is larger than the limit of %llu bytes (corrupt file?)",
                    (unsigned long long)hlen, (unsigned long long)BP_ST_MAX_HEADER);
    if (hlen > fsize - 8)
        return fail(err, BP_ERR_PARSE, path,
                    "truncated or corrupt: the header length is %llu bytes but only %llu bytes "
                    "follow it",
                    (unsigned long long)hlen, (unsigned long long)(fsize - 8));
    return BP_OK;
}

/* Map the file: the same size checks as load_bytes, on the mapped bytes. */
static bp_status map_bytes(bp_st_file *f, bp_error *err)
{
    if (!(f->map = bp_map_file(f->path, err)))
        return err->status;
    const unsigned char *p = bp_mapped_data(f->map);
    uint64_t fsize = bp_mapped_size(f->map);
    bp_status s = check_lengths(f->path, fsize, fsize < 8 ? 0 : st_le64(p), err);
    if (s != BP_OK)
        return s;
    f->bytes = p;
    f->size = (size_t)fsize;
    f->data = p + 8 + st_le64(p);
    f->data_size = (size_t)(fsize - 8 - st_le64(p));
    return BP_OK;
}

/* Read the file into f->buf after checking its size against the header length. */
static bp_status load_bytes(bp_st_file *f, bp_error *err)
{
    const char *path = f->path;
    int fd = bp_file_open_read(path, err);
    if (fd < 0)
        return BP_ERR_IO;
    struct stat st;
    bp_status s = BP_OK;
    size_t got = 0;
    unsigned char len8[8];
    if (fstat(fd, &st) != 0) {
        s = fail(err, BP_ERR_IO, path, "cannot stat: %s", strerror(errno));
        goto done;
    }
    uint64_t fsize = (uint64_t)st.st_size;
    if (fsize < 8) {
        s = check_lengths(path, fsize, 0, err);
        goto done;
    }
    if (read_all(fd, len8, 8, &got) != BP_OK || got != 8) {
        s = fail(err, BP_ERR_IO, path, "cannot read: %s", got != 8 ? "file shrank" : strerror(errno));
        goto done;
    }
    uint64_t hlen = st_le64(len8);
    if ((s = check_lengths(path, fsize, hlen, err)) != BP_OK)
        goto done;
    if (fsize > SIZE_MAX || !(f->buf = malloc((size_t)fsize))) {
        s = fail(err, BP_ERR_NOMEM, path, "out of memory reading %llu bytes",
                 (unsigned long long)fsize);
        goto done;
    }
    memcpy(f->buf, len8, 8);
    if (read_all(fd, f->buf + 8, (size_t)fsize - 8, &got) != BP_OK) {
        s = fail(err, BP_ERR_IO, path, "cannot read: %s", strerror(errno));
        goto done;
    }
    if (got != fsize - 8) { /* the file shrank while we read it */
        s = fail(err, BP_ERR_IO, path, "the file changed while it was read");
        goto done;
    }
    f->size = (size_t)fsize;
    f->bytes = f->buf;
    f->data = f->buf + 8 + hlen;
    f->data_size = (size_t)(fsize - 8 - hlen);
done:
    close(fd);
    return s;
}

/* ---------------------------------------------------------------- the header */

/* Read (or map) and validate: the two ways share everything after the bytes. */
static bp_st_file *open_file(const char *path, bool map, bp_error *err)
{
    bp_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    bp_error local = {0};
    if (!err)
        err = &local;
    bp_status s = map ? map_bytes(f, err) : load_bytes(f, err);
    if (s != BP_OK || bp_st_parse_header(f, err) != BP_OK) {
        bp_st_free(f);
        return NULL;
    }
    return f;
}

bp_st_file *bp_st_load(const char *path, bp_error *err)
{
    return open_file(path, false, err);
}

bp_st_file *bp_st_map(const char *path, bp_error *err)
{
    return open_file(path, true, err);
}

/* ---------------------------------------------------------------- queries */

const char *bp_st_path(const bp_st_file *f)
{
    return f->path;
}

int bp_st_count(const bp_st_file *f)
{
    return f->n;
}

const bp_st_info *bp_st_at(const bp_st_file *f, int i)
{
    return i >= 0 && i < f->n ? &f->t[i].info : NULL;
}

static int find_index(const bp_st_file *f, const char *name)
{
    int lo = 0, hi = f->n - 1; /* binary search in by_name */
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(f->t[f->by_name[mid]].info.name, name);
        if (c == 0)
            return f->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

const bp_st_info *bp_st_find(const bp_st_file *f, const char *name)
{
    int i = find_index(f, name);
    return i < 0 ? NULL : &f->t[i].info;
}

const char *bp_st_meta(const bp_st_file *f, const char *key)
{
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_key[i], key) == 0)
            return f->meta_val[i];
    return NULL;
}

int bp_st_meta_count(const bp_st_file *f)
{
    return f->n_meta;
}

const char *bp_st_meta_key(const bp_st_file *f, int i)
{
    return i >= 0 && i < f->n_meta ? f->meta_key[i] : NULL;
}

const char *bp_st_meta_value(const bp_st_file *f, int i)
{
    return i >= 0 && i < f->n_meta ? f->meta_val[i] : NULL;
}

/* ---------------------------------------------------------------- copying data out */

void bp_st_read_at(const bp_st_file *f, int i, bp_real *dst)
{
    const st_tensor *t = &f->t[i];
    const unsigned char *p = f->data + t->begin;
    size_t n = t->info.size;
    switch (t->info.dtype) {
    case BP_DTYPE_F32:
        for (size_t j = 0; j < n; j++)
            dst[j] = (bp_real)st_f32(p + 4 * j);
        break;
    case BP_DTYPE_F64:
        for (size_t j = 0; j < n; j++)
            dst[j] = (bp_real)st_f64(p + 8 * j);
        break;
    case BP_DTYPE_I32:
        for (size_t j = 0; j < n; j++)
            dst[j] = (bp_real)(int32_t)st_le32(p + 4 * j);
        break;
    case BP_DTYPE_I64:
        for (size_t j = 0; j < n; j++)
            dst[j] = (bp_real)(int64_t)st_le64(p + 8 * j);
        break;
    }
}

/* The index of name, or an error listing what the file has. */
static int lookup(const bp_st_file *f, const char *name, bp_error *err)
{
    int i = find_index(f, name);
    if (i >= 0)
        return i;
    const char **names = malloc(((size_t)f->n + 1) * sizeof *names);
    char hint[384] = "";
    if (names) {
        for (int j = 0; j < f->n; j++)
            names[j] = f->t[j].info.name;
        bp_suggest_known(hint, sizeof hint, name, names, f->n);
        free(names);
    }
    if (f->n == 0)
        fail(err, BP_ERR_NAME, f->path, "no tensor '%s' (the file holds no tensors)", name);
    else
        fail(err, BP_ERR_NAME, f->path, "no tensor '%s' (%s)", name, hint);
    return -1;
}

static bp_status check_shape(const bp_st_file *f, int i, bp_shape expect, bp_error *err)
{
    if (bp_shape_eq(f->t[i].info.shape, expect))
        return BP_OK;
    char a[64], b[64];
    return fail(err, BP_ERR_SHAPE, f->path, "%s has shape %s, the model expects %s",
                f->t[i].info.name, bp_shape_str(f->t[i].info.shape, a, sizeof a),
                bp_shape_str(expect, b, sizeof b));
}

bp_status bp_st_read(const bp_st_file *f, const char *name, bp_shape expect, bp_real *dst,
                     bp_error *err)
{
    int i = lookup(f, name, err);
    if (i < 0)
        return BP_ERR_NAME;
    bp_status s = check_shape(f, i, expect, err);
    if (s == BP_OK)
        bp_st_read_at(f, i, dst);
    return s;
}

bp_status bp_st_read_raw(const bp_st_file *f, const char *name, bp_dtype dtype, bp_shape expect,
                         void *dst, bp_error *err)
{
    int i = lookup(f, name, err);
    if (i < 0)
        return BP_ERR_NAME;
    const st_tensor *t = &f->t[i];
    if (t->info.dtype != dtype)
        return fail(err, BP_ERR_PARSE, f->path, "%s has dtype %s, expected %s", name,
                    bp_dtype_name(t->info.dtype), bp_dtype_name(dtype));
    bp_status s = check_shape(f, i, expect, err);
    if (s != BP_OK)
        return s;
    const unsigned char *p = f->data + t->begin;
    for (size_t j = 0; j < t->info.size; j++) {
        if (bp_dtype_size(dtype) == 4) {
            uint32_t u = st_le32(p + 4 * j);
            memcpy((unsigned char *)dst + 4 * j, &u, 4);
        } else {
            uint64_t u = st_le64(p + 8 * j);
            memcpy((unsigned char *)dst + 8 * j, &u, 8);
        }
    }
    return BP_OK;
}

bp_status bp_st_array(const bp_st_file *f, const char *name, bp_array *out, bp_error *err)
{
    int i = lookup(f, name, err);
    if (i < 0)
        return BP_ERR_NAME;
    const st_tensor *t = &f->t[i];
    *out = (bp_array){t->info.dtype, t->info.shape, t->info.size, f->data + t->begin};
    return BP_OK;
}
