/* safetensors_header.c — a safetensors header checked field by field before any tensor
 * byte is touched: strict JSON, each tensor's dtype, shape and data_offsets, the metadata,
 * unique names, and a data section with no overlaps and no holes. */
#include "json.h"
#include "st_bytes.h"
#include "st_internal.h"
#include "suggest.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fail bp_io_fail

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

/* A tensor entry's dtype: a string naming one bptt reads. */
static bp_status read_dtype(bp_st_file *f, st_tensor *t, bp_json_val v, bp_error *err)
{
    const char *name = t->info.name;
    if (bp_json_type_of(v) != BP_JSON_STRING)
        return fail(err, BP_ERR_PARSE, f->path, "tensor '%s': dtype is %s, not a string", name,
                    bp_json_type_name(bp_json_type_of(v)));
    if (dtype_from(v, &t->info.dtype))
        return BP_OK;
    char *d = NULL;
    if (get_text(f, v, "a dtype", true, &d, err) != BP_OK)
        return err ? err->status : BP_ERR_PARSE;
    fail(err, BP_ERR_PARSE, f->path,
         "tensor '%s': dtype '%s' is not supported (bptt reads F32, F64, I32, I64)", name, d);
    free(d);
    return BP_ERR_PARSE;
}

/* The shape's element count (checked against BP_MAX_ELEMENTS as it grows) and the data
 * offsets against the data section and the dtype's bytes. */
static bp_status check_extent(bp_st_file *f, st_tensor *t, const uint64_t *shape, int ndim,
                              const uint64_t off[2], bp_error *err)
{
    const char *name = t->info.name;
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

/* Which of dtype, shape, data_offsets k names; -1 (and the error) for another field. */
static int field_of(bp_st_file *f, const char *name, bp_json_val k, bp_error *err)
{
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    for (int i = 0; i < 3; i++)
        if (bp_json_str_eq(k, fields[i]))
            return i;
    char *key = NULL;
    if (get_text(f, k, "a tensor field", true, &key, err) != BP_OK)
        return -1;
    fail(err, BP_ERR_PARSE, f->path,
         "tensor '%s': unknown field '%s' (known: dtype, shape, data_offsets)", name, key);
    free(key);
    return -1;
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
        int which = field_of(f, name, k, err);
        if (which < 0)
            return err ? err->status : BP_ERR_PARSE;
        if (seen[which])
            return fail(err, BP_ERR_PARSE, f->path, "tensor '%s': field %s appears twice", name,
                        fields[which]);
        seen[which] = true;
        bp_status s = which == 0 ? read_dtype(f, t, v, err)
                      : which == 1 ? get_ints(f, name, "shape", v, BP_MAX_DIMS, INT_MAX, shape,
                                              &ndim, err)
                                   : get_ints(f, name, "data_offsets", v, 2, UINT64_MAX, off,
                                              &noff, err);
        if (s == BP_OK && which == 2 && noff != 2)
            return fail(err, BP_ERR_PARSE, f->path,
                        "tensor '%s': data_offsets must be [begin, end]", name);
        if (s != BP_OK)
            return s;
    }
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return fail(err, BP_ERR_PARSE, f->path, "tensor '%s': missing field %s", name,
                        fields[i]);
    return check_extent(f, t, shape, ndim, off, err);
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

bp_status bp_st_parse_header(bp_st_file *f, bp_error *err)
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
