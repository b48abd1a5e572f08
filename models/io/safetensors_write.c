/* safetensors_write.c — writing safetensors files atomically: temporary file in
 * the same directory, fsync, rename, fsync of the directory. */
#include "bptt_safetensors.h"
#include "io_internal.h"
#include "json.h"
#include "st_bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct w_tensor {
    char *name;
    bp_dtype dtype;
    bp_shape shape;
    size_t size;
    const void *data; /* bp_real, or the dtype's C type when raw */
    bool raw;
} w_tensor;

struct bp_st_writer {
    int n, cap;
    w_tensor *t;
    int n_meta, cap_meta;
    char **mkey, **mval;
};

bp_st_writer *bp_st_writer_new(void)
{
    return calloc(1, sizeof(bp_st_writer));
}

void bp_st_writer_free(bp_st_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n; i++)
        free(w->t[i].name);
    for (int i = 0; i < w->n_meta; i++) {
        free(w->mkey[i]);
        free(w->mval[i]);
    }
    free(w->t);
    free(w->mkey);
    free(w->mval);
    free(w);
}

/* Names and keys: 1..BP_ST_MAX_NAME bytes of UTF-8 without control characters. */
static bp_status check_name(const char *what, const char *name, bp_error *err)
{
    size_t n = strlen(name);
    if (n == 0)
        return bp_error_set(err, BP_ERR_NAME, "safetensors: %s is empty", what);
    if (n > BP_ST_MAX_NAME)
        return bp_error_set(err, BP_ERR_NAME, "safetensors: %s '%.40s...' is longer than %d bytes",
                            what, name, BP_ST_MAX_NAME);
    if (!bp_json_utf8_valid(name, n))
        return bp_error_set(err, BP_ERR_NAME, "safetensors: %s is not valid UTF-8", what);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return bp_error_set(err, BP_ERR_NAME, "safetensors: %s contains a control character",
                                what);
    return BP_OK;
}

static bp_status add(bp_st_writer *w, const char *name, bp_dtype dtype, bp_shape shape,
                     const void *data, bool raw, bp_error *err)
{
    bp_status s = check_name("a tensor name", name, err);
    if (s != BP_OK)
        return s;
    if (strcmp(name, "__metadata__") == 0)
        return bp_error_set(err, BP_ERR_NAME, "safetensors: '__metadata__' cannot name a tensor");
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return bp_error_set(err, BP_ERR_NAME, "safetensors: tensor '%s' added twice", name);
    if (dtype < BP_DTYPE_F32 || dtype > BP_DTYPE_I64)
        return bp_error_set(err, BP_ERR_VALUE, "safetensors: tensor '%s': unknown dtype %d", name,
                            (int)dtype);
    if (shape.ndim < 0 || shape.ndim > BP_MAX_DIMS)
        return bp_error_set(err, BP_ERR_SHAPE, "safetensors: tensor '%s' has %d dimensions (0 to %d)",
                            name, shape.ndim, BP_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < shape.ndim; i++) {
        if (shape.dim[i] < 0)
            return bp_error_set(err, BP_ERR_SHAPE, "safetensors: tensor '%s' has a negative dimension",
                                name);
        n *= (size_t)shape.dim[i];
        if (n > BP_MAX_ELEMENTS)
            return bp_error_set(err, BP_ERR_SHAPE, "safetensors: tensor '%s' is too large", name);
    }
    if (n > 0 && !data)
        return bp_error_set(err, BP_ERR_VALUE, "safetensors: tensor '%s' has no data", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        w_tensor *t = realloc(w->t, (size_t)cap * sizeof *t);
        if (!t)
            return bp_error_set(err, BP_ERR_NOMEM, "safetensors: out of memory");
        w->t = t;
        w->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return bp_error_set(err, BP_ERR_NOMEM, "safetensors: out of memory");
    for (int i = shape.ndim; i < BP_MAX_DIMS; i++)
        shape.dim[i] = 0;
    w->t[w->n++] = (w_tensor){copy, dtype, shape, n, data, raw};
    return BP_OK;
}

bp_status bp_st_writer_add(bp_st_writer *w, const char *name, bp_dtype dtype, bp_shape shape,
                           const bp_real *data, bp_error *err)
{
    return add(w, name, dtype, shape, data, false, err);
}

bp_status bp_st_writer_add_raw(bp_st_writer *w, const char *name, bp_dtype dtype,
                               bp_shape shape, const void *data, bp_error *err)
{
    return add(w, name, dtype, shape, data, true, err);
}

bp_status bp_st_writer_meta(bp_st_writer *w, const char *key, const char *value, bp_error *err)
{
    bp_status s = check_name("a metadata key", key, err);
    if (s != BP_OK)
        return s;
    size_t vn = strlen(value);
    if (vn > BP_ST_MAX_NAME || !bp_json_utf8_valid(value, vn))
        return bp_error_set(err, BP_ERR_VALUE,
                            "safetensors: metadata '%s' must be valid UTF-8 of at most %d bytes",
                            key, BP_ST_MAX_NAME);
    char *v = strdup(value);
    if (!v)
        return bp_error_set(err, BP_ERR_NOMEM, "safetensors: out of memory");
    for (int i = 0; i < w->n_meta; i++)
        if (strcmp(w->mkey[i], key) == 0) {
            free(w->mval[i]);
            w->mval[i] = v;
            return BP_OK;
        }
    if (w->n_meta == w->cap_meta) {
        int cap = w->cap_meta ? 2 * w->cap_meta : 8;
        char **k = realloc(w->mkey, (size_t)cap * sizeof *k);
        if (k)
            w->mkey = k;
        char **vv = k ? realloc(w->mval, (size_t)cap * sizeof *vv) : NULL;
        if (!vv) {
            free(v);
            return bp_error_set(err, BP_ERR_NOMEM, "safetensors: out of memory");
        }
        w->mval = vv;
        w->cap_meta = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return bp_error_set(err, BP_ERR_NOMEM, "safetensors: out of memory");
    }
    w->mkey[w->n_meta] = k;
    w->mval[w->n_meta++] = v;
    return BP_OK;
}

/* ---------------------------------------------------------------- the header */

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_json_string(sbuf *b, const char *s)
{
    put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            put(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            put(b, esc, 6);
        } else
            put(b, s, 1);
    }
    put(b, "\"", 1);
}

static void put_u64(sbuf *b, unsigned long long v)
{
    char num[32];
    snprintf(num, sizeof num, "%llu", v);
    puts_(b, num);
}

/* {"__metadata__":{...},"name":{"dtype":..,"shape":[..],"data_offsets":[b,e]},...}
 * padded with spaces so that 8 + length is a multiple of 8. */
static bool build_header(const bp_st_writer *w, sbuf *b)
{
    puts_(b, "{");
    if (w->n_meta) {
        puts_(b, "\"__metadata__\":{");
        for (int i = 0; i < w->n_meta; i++) {
            if (i)
                puts_(b, ",");
            put_json_string(b, w->mkey[i]);
            puts_(b, ":");
            put_json_string(b, w->mval[i]);
        }
        puts_(b, "}");
    }
    unsigned long long at = 0;
    for (int i = 0; i < w->n; i++) {
        const w_tensor *t = &w->t[i];
        if (i || w->n_meta)
            puts_(b, ",");
        put_json_string(b, t->name);
        puts_(b, ":{\"dtype\":\"");
        puts_(b, bp_dtype_name(t->dtype));
        puts_(b, "\",\"shape\":[");
        for (int d = 0; d < t->shape.ndim; d++) {
            if (d)
                puts_(b, ",");
            put_u64(b, (unsigned long long)t->shape.dim[d]);
        }
        puts_(b, "],\"data_offsets\":[");
        put_u64(b, at);
        puts_(b, ",");
        at += (unsigned long long)t->size * bp_dtype_size(t->dtype);
        put_u64(b, at);
        puts_(b, "]}");
    }
    puts_(b, "}");
    while ((8 + b->n) % 8)
        puts_(b, " ");
    return !b->oom;
}

/* Integer dtypes hold bp_real values only when they are whole and in range. */
static bp_status check_ints(const w_tensor *t, bp_error *err)
{
    if (t->raw || (t->dtype != BP_DTYPE_I32 && t->dtype != BP_DTYPE_I64))
        return BP_OK;
    const bp_real *x = t->data;
    double lim = t->dtype == BP_DTYPE_I32 ? 2147483648.0 : 9223372036854775808.0;
    for (size_t i = 0; i < t->size; i++) {
        double v = (double)x[i];
        if (!(v == floor(v) && v >= -lim && v < lim))
            return bp_error_set(err, BP_ERR_VALUE,
                                "safetensors: tensor '%s' element %zu is %g, not a whole number "
                                "that %s can hold",
                                t->name, i, v, bp_dtype_name(t->dtype));
    }
    return BP_OK;
}

/* ---------------------------------------------------------------- the file */

typedef struct out {
    int fd;
    unsigned char buf[1 << 16];
    size_t n;
    int err; /* the first errno met, 0 while fine */
} out;

static void flush(out *o)
{
    size_t done = 0;
    while (done < o->n && !o->err) {
        ssize_t r = write(o->fd, o->buf + done, o->n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            o->err = errno;
        else if (r == 0)
            o->err = EIO;
        else
            done += (size_t)r;
    }
    o->n = 0;
}

static void emit(out *o, const void *p, size_t n)
{
    const unsigned char *s = p;
    while (n && !o->err) {
        size_t k = sizeof o->buf - o->n < n ? sizeof o->buf - o->n : n;
        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        n -= k;
        if (o->n == sizeof o->buf)
            flush(o);
    }
}

/* Element i of t as little-endian bytes of its dtype into b; returns the size. */
static size_t encode(const w_tensor *t, size_t i, unsigned char *b)
{
    if (t->raw) {
        if (bp_dtype_size(t->dtype) == 4) {
            uint32_t u;
            memcpy(&u, (const unsigned char *)t->data + 4 * i, 4);
            st_put32(b, u);
            return 4;
        }
        uint64_t u;
        memcpy(&u, (const unsigned char *)t->data + 8 * i, 8);
        st_put64(b, u);
        return 8;
    }
    bp_real v = ((const bp_real *)t->data)[i];
    switch (t->dtype) {
    case BP_DTYPE_F32: {
        float f = (float)v;
        uint32_t u;
        memcpy(&u, &f, 4);
        st_put32(b, u);
        return 4;
    }
    case BP_DTYPE_F64: {
        double d = (double)v;
        uint64_t u;
        memcpy(&u, &d, 8);
        st_put64(b, u);
        return 8;
    }
    case BP_DTYPE_I32: st_put32(b, (uint32_t)(int32_t)v); return 4;
    case BP_DTYPE_I64: st_put64(b, (uint64_t)(int64_t)v); return 8;
    }
    return 0;
}

static void write_body(out *o, const bp_st_writer *w, const sbuf *h)
{
    unsigned char len8[8];
    st_put64(len8, (uint64_t)h->n);
    emit(o, len8, 8);
    emit(o, h->s, h->n);
    for (int i = 0; i < w->n && !o->err; i++) {
        const w_tensor *t = &w->t[i];
        for (size_t j = 0; j < t->size && !o->err; j++) {
            unsigned char b[8];
            emit(o, b, encode(t, j, b));
        }
    }
    flush(o);
}

/* dir and base of path ("." when path has no slash). */
static bool split_path(const char *path, char **dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *dir = strdup(".");
        *base = path;
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        *dir = strndup(path, n);
        *base = slash + 1;
    }
    return *dir != NULL;
}

bp_status bp_st_writer_save(const bp_st_writer *w, const char *path, bp_error *err)
{
    for (int i = 0; i < w->n; i++) {
        bp_status s = check_ints(&w->t[i], err);
        if (s != BP_OK)
            return s;
    }
    sbuf h = {0};
    char *dir = NULL, *tmp = NULL;
    const char *base = NULL;
    out *o = NULL;
    bp_status s = BP_OK;
    int fd = -1;
    if ((s = bp_io_check_dest(path, err)) != BP_OK)
        return s;
    size_t cap = strlen(path) + 32;
    if (!build_header(w, &h) || !split_path(path, &dir, &base) || !(tmp = malloc(cap)) ||
        !(o = malloc(sizeof *o))) {
        s = bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    bp_io_temp_name(path, tmp, cap);
    fd = mkstemp(tmp);
    if (fd < 0) {
        s = bp_error_set(err, BP_ERR_IO, "%s: cannot write (creating a temporary file in %s): %s",
                         path, dir, strerror(errno));
        goto done;
    }
    struct stat st;
    mode_t mode = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (st.st_mode & 0777) : 0644;
    *o = (out){.fd = fd};
    if (fchmod(fd, mode) != 0)
        o->err = errno;
    if (!o->err)
        write_body(o, w, &h);
    if (!o->err && fsync(fd) != 0)
        o->err = errno;
    if (close(fd) != 0 && !o->err)
        o->err = errno;
    fd = -1;
    if (!o->err && rename(tmp, path) != 0)
        o->err = errno;
    if (o->err) {
        unlink(tmp);
        s = bp_error_set(err, BP_ERR_IO, "%s: cannot write: %s", path, strerror(o->err));
        goto done;
    }
    /* the rename is durable once the directory entry is */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS)
            s = bp_error_set(err, BP_ERR_IO, "%s: written, but syncing its directory failed: %s",
                             path, strerror(errno));
        close(dfd);
    }
done:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    free(o);
    free(tmp);
    free(dir);
    free(h.s);
    return s;
}
