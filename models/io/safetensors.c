/* safetensors.c — reading safetensors files, validating every header field and
 * offset before any tensor byte is touched: read into memory (bp_st_load) or mapped
 * (bp_st_map). Writing is in safetensors_write.c. */
#include "bptt_arrays.h"
#include "bptt_safetensors.h"
#include "json.h"
#include "st_bytes.h"
#include "suggest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct st_tensor {
    bp_st_info info;
    uint64_t begin, end; /* byte offsets into the data */
} st_tensor;

struct bp_st_file {
    char *path;
    unsigned char *buf;         /* the whole file, when read (bp_st_load) */
    bp_mapped_file *map;        /* the whole file, when mapped (bp_st_map) */
    const unsigned char *bytes; /* buf or the mapping */
    size_t size;
    const unsigned char *data; /* after the header */
    size_t data_size;
    int n;
    st_tensor *t;   /* header order */
    int *by_name;   /* indices sorted by name */
    int n_meta;
    char **meta_key, **meta_val; /* header order */
};

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

/* "path: message" */
static bp_status fail(bp_error *err, bp_status st, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bp_status fail(bp_error *err, bp_status st, const char *path, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bp_error_set(err, st, "%s: %s", path, msg);
}

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
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, BP_ERR_IO, path, "cannot open: %s", strerror(errno));
    struct stat st;
    bp_status s = BP_OK;
    size_t got = 0;
    unsigned char len8[8];
    if (fstat(fd, &st) != 0) {
        s = fail(err, BP_ERR_IO, path, "cannot stat: %s", strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        s = fail(err, BP_ERR_IO, path, "is a directory, not a safetensors file");
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        s = fail(err, BP_ERR_IO, path, "not a regular file");
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

/* A name, metadata key or value: decoded, at most BP_ST_MAX_NAME bytes, with no
 * NUL; names and keys also without control characters (they go into messages). */
static bp_status get_text(bp_st_file *f, bp_json_val v, const char *what, bool is_name,
                          char **out, bp_error *err)
{
    size_t len = 0;
    char *s = bp_json_strdup(v, &len);
    if (!s)
        return fail(err, BP_ERR_NOMEM, f->path, "out of memory");
    const char *why = NULL;
    if (len > BP_ST_MAX_NAME)
        why = "is longer than 1024 bytes";
    else if (strlen(s) != len)
        why = "contains a NUL character";
    else if (is_name && len == 0)
        why = "is empty";
    else if (is_name)
        for (size_t i = 0; i < len && !why; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                why = "contains a control character";
    if (why) {
        free(s);
        return fail(err, BP_ERR_PARSE, f->path, "header: %s %s", what, why);
    }
    *out = s;
    return BP_OK;
}

/* Sort keys carry what they compare, so qsort needs no global context. */
typedef struct name_key {
    const char *name;
    int i;
} name_key;

static int by_name_cmp(const void *a, const void *b);

/* Each __metadata__ key once: sort a copy, compare neighbours (no n^2 on hostile files). */
static bp_status check_unique_keys(bp_st_file *f, bp_error *err)
{
    name_key *k = malloc(((size_t)f->n_meta + 1) * sizeof *k);
    if (!k)
        return fail(err, BP_ERR_NOMEM, f->path, "out of memory");
    for (int i = 0; i < f->n_meta; i++)
        k[i] = (name_key){f->meta_key[i], i};
    qsort(k, (size_t)f->n_meta, sizeof *k, by_name_cmp);
    bp_status s = BP_OK;
    for (int i = 1; i < f->n_meta && s == BP_OK; i++)
        if (strcmp(k[i - 1].name, k[i].name) == 0)
            s = fail(err, BP_ERR_PARSE, f->path, "header: __metadata__ has key '%s' twice",
                     k[i].name);
    free(k);
    return s;
}

static bp_status parse_metadata(bp_st_file *f, bp_json_val obj, bp_error *err)
{
    if (bp_json_type_of(obj) != BP_JSON_OBJECT)
        return fail(err, BP_ERR_PARSE, f->path, "header: __metadata__ is %s, not an object",
                    bp_json_type_name(bp_json_type_of(obj)));
    size_t n = bp_json_count_members(obj);
    bp_json_val k, v;
    bp_json_iter it;
    f->meta_key = calloc(n + 1, sizeof *f->meta_key);
    f->meta_val = calloc(n + 1, sizeof *f->meta_val);
    if (!f->meta_key || !f->meta_val)
        return fail(err, BP_ERR_NOMEM, f->path, "out of memory");
    it = bp_json_iter_begin(obj);
    while (bp_json_next_member(&it, &k, &v)) {
        char *key = NULL;
        if (get_text(f, k, "a __metadata__ key", true, &key, err) != BP_OK)
            return err ? err->status : BP_ERR_PARSE;
        f->meta_key[f->n_meta++] = key;
        if (bp_json_type_of(v) != BP_JSON_STRING)
            return fail(err, BP_ERR_PARSE, f->path,
                        "header: __metadata__ '%s' is %s; metadata values must be strings", key,
                        bp_json_type_name(bp_json_type_of(v)));
        char what[64 + BP_ST_MAX_NAME];
        snprintf(what, sizeof what, "the __metadata__ value of '%s'", key);
        if (get_text(f, v, what, false, &f->meta_val[f->n_meta - 1], err) != BP_OK)
            return err ? err->status : BP_ERR_PARSE;
    }
    return check_unique_keys(f, err);
}

/* An array of at most max non-negative integers, each <= lim. */
static bp_status get_ints(bp_st_file *f, const char *tname, const char *field, bp_json_val v,
                          int max, uint64_t lim, uint64_t out[], int *count, bp_error *err)
{
    if (bp_json_type_of(v) != BP_JSON_ARRAY)
        return fail(err, BP_ERR_PARSE, f->path, "tensor '%s': %s is %s, not an array", tname,
                    field, bp_json_type_name(bp_json_type_of(v)));
    int n = 0;
    bp_json_val x;
    bp_json_iter it = bp_json_iter_begin(v);
    while (bp_json_next_item(&it, &x)) {
        if (n == max)
            return fail(err, BP_ERR_PARSE, f->path,
                        "tensor '%s': %s has more than %d entries", tname, field, max);
        uint64_t u;
        if (!bp_json_get_u64(x, &u))
            return fail(err, BP_ERR_PARSE, f->path,
                        "tensor '%s': %s must hold non-negative integers", tname, field);
        if (u > lim)
            return fail(err, BP_ERR_PARSE, f->path,
                        "tensor '%s': %s entry %llu is too large (at most %llu)", tname, field,
                        (unsigned long long)u, (unsigned long long)lim);
        out[n++] = u;
    }
    *count = n;
    return BP_OK;
}

static bool dtype_from(bp_json_val v, bp_dtype *d)
{
    static const bp_dtype all[] = {BP_DTYPE_F32, BP_DTYPE_F64, BP_DTYPE_I32, BP_DTYPE_I64};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (bp_json_str_eq(v, bp_dtype_name(all[i]))) {
            *d = all[i];
            return true;
        }
    return false;
}

static bp_status parse_tensor(bp_st_file *f, st_tensor *t, bp_json_val obj, bp_error *err)
{
    const char *name = t->info.name;
    if (bp_json_type_of(obj) != BP_JSON_OBJECT)
        return fail(err, BP_ERR_PARSE, f->path, "tensor '%s': its entry is %s, not an object",
                    name, bp_json_type_name(bp_json_type_of(obj)));
    bool seen[3] = {false, false, false}; /* dtype, shape, data_offsets */
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    uint64_t shape[BP_MAX_DIMS], off[2];
    int ndim = 0, noff = 0;
    bp_json_val k, v;
    bp_json_iter it = bp_json_iter_begin(obj);
    while (bp_json_next_member(&it, &k, &v)) {
        int which = -1;
        for (int i = 0; i < 3; i++)
            if (bp_json_str_eq(k, fields[i]))
                which = i;
        if (which < 0) {
            char *key = NULL;
            if (get_text(f, k, "a tensor field", true, &key, err) != BP_OK)
                return err ? err->status : BP_ERR_PARSE;
            fail(err, BP_ERR_PARSE, f->path,
                 "tensor '%s': unknown field '%s' (known: dtype, shape, data_offsets)", name,
                 key);
            free(key);
            return BP_ERR_PARSE;
        }
        if (seen[which])
            return fail(err, BP_ERR_PARSE, f->path, "tensor '%s': field %s appears twice", name,
                        fields[which]);
        seen[which] = true;
        bp_status s = BP_OK;
        if (which == 0) {
            if (bp_json_type_of(v) != BP_JSON_STRING)
                return fail(err, BP_ERR_PARSE, f->path, "tensor '%s': dtype is %s, not a string",
                            name, bp_json_type_name(bp_json_type_of(v)));
            if (!dtype_from(v, &t->info.dtype)) {
                char *d = NULL;
                if (get_text(f, v, "a dtype", true, &d, err) != BP_OK)
                    return err ? err->status : BP_ERR_PARSE;
                fail(err, BP_ERR_PARSE, f->path,
                     "tensor '%s': dtype '%s' is not supported (bptt reads F32, F64, I32, I64)",
                     name, d);
                free(d);
                return BP_ERR_PARSE;
            }
        } else if (which == 1) {
            s = get_ints(f, name, "shape", v, BP_MAX_DIMS, INT_MAX, shape, &ndim, err);
        } else {
            s = get_ints(f, name, "data_offsets", v, 2, UINT64_MAX, off, &noff, err);
            if (s == BP_OK && noff != 2)
                return fail(err, BP_ERR_PARSE, f->path,
                            "tensor '%s': data_offsets must be [begin, end]", name);
        }
        if (s != BP_OK)
            return s;
    }
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return fail(err, BP_ERR_PARSE, f->path, "tensor '%s': missing field %s", name,
                        fields[i]);
    /* elements = prod(shape), checked against BP_MAX_ELEMENTS as it grows */
    uint64_t n = 1;
    t->info.shape.ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        t->info.shape.dim[i] = (int)shape[i];
        n *= shape[i];
        if (n > BP_MAX_ELEMENTS)
            return fail(err, BP_ERR_PARSE, f->path,
                        "tensor '%s': shape has more than %llu elements", name,
                        (unsigned long long)BP_MAX_ELEMENTS);
    }
    t->info.size = (size_t)n;
    t->begin = off[0];
    t->end = off[1];
    if (off[0] > off[1])
        return fail(err, BP_ERR_PARSE, f->path,
                    "tensor '%s': data_offsets [%llu, %llu] end before they begin", name,
                    (unsigned long long)off[0], (unsigned long long)off[1]);
    if (off[1] > f->data_size)
        return fail(err, BP_ERR_PARSE, f->path,
                    "tensor '%s': data_offsets [%llu, %llu] run past the end of the data (%zu "
                    "bytes; truncated file?)",
                    name, (unsigned long long)off[0], (unsigned long long)off[1], f->data_size);
    uint64_t bytes = n * bp_dtype_size(t->info.dtype);
    if (off[1] - off[0] != bytes) {
        char sb[64];
        return fail(err, BP_ERR_PARSE, f->path,
                    "tensor '%s': data_offsets [%llu, %llu] span %llu bytes, but %s %s needs "
                    "%llu",
                    name, (unsigned long long)off[0], (unsigned long long)off[1],
                    (unsigned long long)(off[1] - off[0]), bp_dtype_name(t->info.dtype),
                    bp_shape_str(t->info.shape, sb, sizeof sb), (unsigned long long)bytes);
    }
    return BP_OK;
}

typedef struct span_key {
    uint64_t begin, end;
    int i;
} span_key;

static int by_name_cmp(const void *a, const void *b)
{
    const name_key *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int by_span_cmp(const void *a, const void *b)
{
    const span_key *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Names unique; the tensors tile the data exactly: no overlap, no hole. */
static bp_status check_layout(bp_st_file *f, bp_error *err)
{
    size_t n = (size_t)f->n;
    name_key *names = malloc((n + 1) * sizeof *names);
    span_key *spans = malloc((n + 1) * sizeof *spans);
    f->by_name = malloc((n + 1) * sizeof *f->by_name);
    bp_status s = BP_OK;
    if (!names || !spans || !f->by_name) {
        s = fail(err, BP_ERR_NOMEM, f->path, "out of memory");
        goto done;
    }
    for (int i = 0; i < f->n; i++) {
        names[i] = (name_key){f->t[i].info.name, i};
        spans[i] = (span_key){f->t[i].begin, f->t[i].end, i};
    }
    qsort(names, n, sizeof *names, by_name_cmp);
    qsort(spans, n, sizeof *spans, by_span_cmp);
    for (size_t i = 0; i < n; i++)
        f->by_name[i] = names[i].i;
    for (size_t i = 1; i < n && s == BP_OK; i++)
        if (strcmp(names[i - 1].name, names[i].name) == 0)
            s = fail(err, BP_ERR_PARSE, f->path, "header: tensor '%s' appears twice",
                     names[i].name);
    uint64_t at = 0;
    for (size_t i = 0; i < n && s == BP_OK; i++) {
        const st_tensor *t = &f->t[spans[i].i];
        if (t->begin < at) {
            const st_tensor *prev = &f->t[spans[i - 1].i];
            s = fail(err, BP_ERR_PARSE, f->path,
                     "tensors '%s' and '%s' overlap (data_offsets [%llu, %llu] and [%llu, %llu])",
                     prev->info.name, t->info.name, (unsigned long long)prev->begin,
                     (unsigned long long)prev->end, (unsigned long long)t->begin,
                     (unsigned long long)t->end);
        } else if (t->begin > at)
            s = fail(err, BP_ERR_PARSE, f->path,
                     "data bytes [%llu, %llu) before tensor '%s' belong to no tensor",
                     (unsigned long long)at, (unsigned long long)t->begin, t->info.name);
        at = t->end;
    }
    if (s == BP_OK && at != f->data_size)
        s = fail(err, BP_ERR_PARSE, f->path,
                 "data bytes [%llu, %zu) after the last tensor belong to no tensor",
                 (unsigned long long)at, f->data_size);
done:
    free(names);
    free(spans);
    return s;
}

static bp_status parse_header(bp_st_file *f, bp_error *err)
{
    const char *h = (const char *)f->bytes + 8;
    size_t hlen = (size_t)(f->data - f->bytes) - 8;
    size_t at = 0;
    const char *why = NULL;
    if (!bp_json_check(h, hlen, BP_ST_MAX_DEPTH, &at, &why))
        return fail(err, BP_ERR_PARSE, f->path, "header is not valid JSON: byte %zu: %s", at, why);
    bp_json_val root = bp_json_root(h, hlen);
    if (bp_json_type_of(root) != BP_JSON_OBJECT)
        return fail(err, BP_ERR_PARSE, f->path, "header is %s, not a JSON object",
                    bp_json_type_name(bp_json_type_of(root)));
    size_t members = bp_json_count_members(root);
    bp_json_val k, v;
    bp_json_iter it;
    if (members > INT_MAX / 2)
        return fail(err, BP_ERR_PARSE, f->path, "header has too many entries");
    f->t = calloc(members + 1, sizeof *f->t);
    if (!f->t)
        return fail(err, BP_ERR_NOMEM, f->path, "out of memory");
    bool have_meta = false;
    it = bp_json_iter_begin(root);
    while (bp_json_next_member(&it, &k, &v)) {
        if (bp_json_str_eq(k, "__metadata__")) {
            if (have_meta)
                return fail(err, BP_ERR_PARSE, f->path, "header: __metadata__ appears twice");
            have_meta = true;
            bp_status s = parse_metadata(f, v, err);
            if (s != BP_OK)
                return s;
            continue;
        }
        st_tensor *t = &f->t[f->n];
        char *name = NULL;
        if (get_text(f, k, "a tensor name", true, &name, err) != BP_OK)
            return err ? err->status : BP_ERR_PARSE;
        t->info.name = name;
        f->n++;
        bp_status s = parse_tensor(f, t, v, err);
        if (s != BP_OK)
            return s;
    }
    return check_layout(f, err);
}

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
    if (s != BP_OK || parse_header(f, err) != BP_OK) {
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
