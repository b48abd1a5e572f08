/* file_source.c — one set of sequences on disk as arrays read in place: x, y and the
 * lengths from a safetensors file, NumPy files or a CSV file; their shapes read as a
 * data set's (steps, features, target kind) and every value checked before any batch. */
#include "files_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static bool is_int(bp_dtype d) { return d == BP_DTYPE_I32 || d == BP_DTYPE_I64; }

/* Elements [first, first + n) of a, converted (the data may be unaligned). */
static void read_elems(const bp_array *a, size_t first, size_t n, bp_real *dst)
{
    const unsigned char *p = a->data + first * bp_dtype_size(a->dtype);
    switch (a->dtype) {
    case BP_DTYPE_F32:
        for (size_t i = 0; i < n; i++) {
            float v;
            memcpy(&v, p + 4 * i, 4);
            dst[i] = (bp_real)v;
        }
        break;
    case BP_DTYPE_F64:
        for (size_t i = 0; i < n; i++) {
            double v;
            memcpy(&v, p + 8 * i, 8);
            dst[i] = (bp_real)v;
        }
        break;
    case BP_DTYPE_I32:
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            dst[i] = (bp_real)v;
        }
        break;
    case BP_DTYPE_I64:
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, p + 8 * i, 8);
            dst[i] = (bp_real)v;
        }
        break;
    }
}

static bp_status open_npy(file_source *s, const bp_file_source *src, bool inputs_only,
                          bp_error *err)
{
    if (!src->y[0] && !inputs_only)
        return bp_error_set(err, BP_ERR_VALUE, "%s: a NumPy data set needs its targets too "
                            "(data.train: {x: X.npy, y: Y.npy, lengths: L.npy})", src->x);
    const char *paths[3] = {src->x, src->y, src->lengths};
    for (int i = 0; i < 3; i++)
        if (paths[i][0] && !(s->npy[i] = bp_npy_open(paths[i], err)))
            return err ? err->status : BP_ERR_IO;
    s->x = *bp_npy_array(s->npy[0]);
    if (s->npy[1])
        s->y = *bp_npy_array(s->npy[1]);
    snprintf(s->y_path, sizeof s->y_path, "%s", src->y);
    return BP_OK;
}

static bp_status open_safetensors(file_source *s, bool inputs_only, bp_error *err)
{
    if (!(s->st = bp_st_map(s->path, err)))
        return err ? err->status : BP_ERR_IO;
    for (int i = 0; i < bp_st_count(s->st); i++) {
        const char *n = bp_st_at(s->st, i)->name;
        if (strcmp(n, "x") && strcmp(n, "y") && strcmp(n, "lengths"))
            return bp_error_set(err, BP_ERR_PARSE, "%s: unexpected tensor '%s' (a data set "
                                "holds x, y and optionally lengths)", s->path, n);
    }
    bp_status st = bp_st_array(s->st, "x", &s->x, err);
    if (st == BP_OK && !inputs_only)
        st = bp_st_array(s->st, "y", &s->y, err);
    snprintf(s->y_path, sizeof s->y_path, "%s", s->path);
    return st;
}

/* CSV: x [N, T, I] F32 over the parsed cells; the labels become y later (classes) or now
 * (values). */
void file_source_csv_opts(const bp_file_set_opts *o, bp_csv_opts *co)
{
    bp_csv_opts_default(co);
    co->features = o->csv_features;
    co->label_last = o->csv_label_last;
    co->header = o->csv_header;
}

bool file_source_is_csv(const char *path)
{
    return ends_with(path, ".csv") || ends_with(path, ".tsv");
}

static bp_status open_csv(file_source *s, const bp_file_set_opts *o, bp_csv_set *parsed,
                          bp_error *err)
{
    if (parsed) { /* csv_share's */
        s->csv = *parsed;
        *parsed = (bp_csv_set){0};
    } else {
        bp_csv_opts co;
        file_source_csv_opts(o, &co);
        bp_status st = bp_csv_set_load(s->path, &co, &s->csv, err);
        if (st != BP_OK)
            return st;
    }
    s->is_csv = true;
    const bp_csv_set *c = &s->csv;
    s->x = (bp_array){.dtype = BP_DTYPE_F32, .shape = {3, {c->N, c->T, c->I}},
                      .size = (size_t)c->N * c->T * c->I, .data = (const unsigned char *)c->x};
    if (!(s->own_y = malloc(((size_t)c->N + 1) * sizeof *s->own_y)))
        return bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", s->path);
    for (int r = 0; r < c->N; r++) {
        if (o->csv_values && !(fabs(c->labels[r]) <= FLT_MAX)) /* a target float can hold */
            return bp_error_set(err, BP_ERR_VALUE, "%s:%d: label %g is beyond the range of a "
                                "float target", s->path, r + 1 + c->had_header, c->labels[r]);
        s->own_y[r] = (float)c->labels[r];
    }
    s->y = (bp_array){.dtype = o->csv_values ? BP_DTYPE_F32 : BP_DTYPE_I32,
                      .shape = {1, {c->N}}, .size = (size_t)c->N,
                      .data = (const unsigned char *)s->own_y};
    snprintf(s->y_path, sizeof s->y_path, "%s", s->path);
    return BP_OK;
}

static char *shape_text(bp_shape sh, char *buf, size_t n)
{
    return bp_shape_str(sh, buf, n);
}

/* x and y's shapes as a data set: N, T, I, tokens, the target kind, O. */
static bp_status read_shapes(file_source *s, bp_error *err)
{
    char sx[64], sy[64];
    bp_shape x = s->x.shape, y = s->y.shape;
    bool xi = is_int(s->x.dtype), yi = is_int(s->y.dtype) || (s->is_csv && s->y.dtype == BP_DTYPE_I32);
    if (!((x.ndim == 3 && !xi) || x.ndim == 2) || x.dim[0] < 1 || x.dim[1] < 1 ||
        (x.ndim == 3 && x.dim[2] < 1))
        return bp_error_set(err, BP_ERR_SHAPE, "%s: x is %s %s; a data set's x is [N, T, I] "
                            "floats, [N, T] floats (I = 1) or [N, T] integer token ids",
                            s->path, bp_dtype_name(s->x.dtype), shape_text(x, sx, sizeof sx));
    s->N = x.dim[0];
    s->T = x.dim[1];
    s->I = x.ndim == 3 ? x.dim[2] : 1;
    s->tokens = xi;
    if (s->inputs_only)
        return (size_t)s->N * s->T * s->I > (size_t)1 << 31
                   ? bp_error_set(err, BP_ERR_VALUE, "%s: x has more than 2^31 elements", s->path)
                   : BP_OK;
    if (y.ndim < 1 || y.dim[0] != s->N)
        return bp_error_set(err, BP_ERR_SHAPE, "%s: y is %s but x has %ld sequences", s->y_path,
                            shape_text(y, sy, sizeof sy), s->N);
    if (y.ndim == 1)
        s->target = yi ? BP_TARGET_CLASS_LAST : BP_TARGET_VALUES;
    else if (y.ndim == 2 && yi && y.dim[1] == s->T)
        s->target = BP_TARGET_CLASS_SEQ;
    else if (y.ndim == 2 && !yi)
        s->target = BP_TARGET_VALUES;
    else if (y.ndim == 3 && !yi && y.dim[1] == s->T)
        s->target = BP_TARGET_VALUES_SEQ;
    else
        return bp_error_set(err, BP_ERR_SHAPE, "%s: y is %s %s; with x %s the targets are [N] "
                            "class ids or values, [N, O] values, [N, T] class ids or [N, T, O] "
                            "values", s->y_path, bp_dtype_name(s->y.dtype),
                            shape_text(y, sy, sizeof sy), shape_text(x, sx, sizeof sx));
    s->O = s->target == BP_TARGET_VALUES ? (y.ndim == 2 ? y.dim[1] : 1)
           : s->target == BP_TARGET_VALUES_SEQ ? y.dim[2] : 0;
    if (s->O < 0 || (!bp_target_is_class(s->target) && s->O < 1))
        return bp_error_set(err, BP_ERR_SHAPE, "%s: y %s holds no values", s->y_path,
                            shape_text(y, sy, sizeof sy));
    if ((size_t)s->N * s->T * s->I > (size_t)1 << 31)
        return bp_error_set(err, BP_ERR_VALUE, "%s: x has more than 2^31 elements", s->path);
    return BP_OK;
}

/* lengths [N] integers in [1, T] (or the CSV's padding): kept only when some row is short. */
static bp_status read_lengths(file_source *s, const bp_array *l, const char *where,
                              bp_error *err)
{
    char sl[64];
    if (l && (!is_int(l->dtype) || l->shape.ndim != 1 || l->shape.dim[0] != s->N))
        return bp_error_set(err, BP_ERR_SHAPE, "%s: lengths is %s %s; it must be [%ld] "
                            "integers", where, bp_dtype_name(l->dtype),
                            shape_text(l->shape, sl, sizeof sl), s->N);
    if (!(s->len = malloc(((size_t)s->N + 1) * sizeof *s->len)))
        return bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", where);
    bool short_row = false;
    for (long r = 0; r < s->N; r++) {
        double v = l ? bp_array_get(l, (size_t)r) : s->csv.lengths[r];
        if (!(v >= 1 && v <= s->T))
            return bp_error_set(err, BP_ERR_VALUE, "%s: lengths[%ld] is %g, not in [1, %d] (the "
                                "steps of x)", where, r, v, s->T);
        s->len[r] = (int)v;
        short_row |= s->len[r] < s->T;
    }
    if (!short_row) { /* every row full: batches without lengths, the plain tape */
        free(s->len);
        s->len = NULL;
    }
    return BP_OK;
}

/* x within each sequence of rows [lo, hi): finite features, or whole non-negative token
 * ids. A row at a time, converted in one loop per dtype (read_elems); the place is
 * formatted only for an error. */
static bp_status check_x(file_source *s, bp_error *err)
{
    size_t w = (size_t)s->T * s->I;
    bp_real *row = malloc((w + 1) * sizeof *row);
    if (!row)
        return bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", s->path);
    s->max_token = -1;
    bp_status st = BP_OK;
    for (long r = s->lo; r < s->hi && st == BP_OK; r++) {
        size_t n = (size_t)file_source_len(s, r) * s->I;
        read_elems(&s->x, (size_t)r * w, n, row);
        for (size_t k = 0; k < n; k++) {
            double v = (double)row[k];
            int t = (int)(k / (size_t)s->I), i = (int)(k % (size_t)s->I);
            if (!s->tokens && !isfinite(v)) {
                char at[64]; /* the element as the file's x is indexed: [N, T, I] or [N, T] */
                if (s->x.shape.ndim == 3)
                    snprintf(at, sizeof at, "x[%ld, %d, %d]", r, t, i);
                else
                    snprintf(at, sizeof at, "x[%ld, %d]", r, t);
                st = bp_error_set(err, BP_ERR_VALUE, "%s: %s is %g: sequence %ld, step %d (from "
                                  "0) must be finite (end a shorter sequence with lengths, or "
                                  "NaN cells in CSV)", s->path, at, v, r, t);
                break;
            }
            if (s->tokens && !(v >= 0 && v < 1 << 24 && v == floor(v))) {
                st = bp_error_set(err, BP_ERR_VALUE, "%s: x[%ld, %d] is %g, not a token id (a "
                                  "whole number in [0, 2^24))", s->path, r, t, v);
                break;
            }
            if (s->tokens && s->vocab && v >= s->vocab) {
                st = bp_error_set(err, BP_ERR_VALUE, "%s: x[%ld, %d] is token %g, but the "
                                  "model's vocab is %d", s->path, r, t, v, s->vocab);
                break;
            }
            if (s->tokens && v > s->max_token) {
                s->max_token = v;
                snprintf(s->max_token_at, sizeof s->max_token_at, "x[%ld, %d]", r, t);
            }
        }
    }
    free(row);
    return st;
}

/* Where y's element k of row r is, for an error: "y[3]", "y[3, 5]", "y[3, 5, 1]". */
static void y_place(const file_source *s, long r, size_t k, int w, char *at, size_t n)
{
    bool per_step = bp_target_per_step(s->target), cls = bp_target_is_class(s->target);
    int t = (int)(k / (size_t)w), o = (int)(k % (size_t)w);
    if (per_step && cls)
        snprintf(at, n, "y[%ld, %d]", r, t);
    else if (per_step)
        snprintf(at, n, "y[%ld, %d, %d]", r, t, o);
    else if (cls || s->y.shape.ndim == 1)
        snprintf(at, n, "y[%ld]", r);
    else
        snprintf(at, n, "y[%ld, %d]", r, o);
}

/* y within each sequence: finite values, or whole non-negative class ids (O = max + 1, the
 * first place of the max kept for an error). */
static bp_status check_y(file_source *s, bp_error *err)
{
    bool per_step = bp_target_per_step(s->target), cls = bp_target_is_class(s->target);
    int w = cls ? 1 : s->O;
    size_t stride = (size_t)(per_step ? s->T : 1) * w;
    bp_real *row = malloc((stride + 1) * sizeof *row);
    if (!row)
        return bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", s->y_path);
    s->max_class = -1;
    bp_status st = BP_OK;
    for (long r = 0; r < s->N && st == BP_OK; r++) {
        size_t n = (size_t)(per_step ? file_source_len(s, r) : 1) * w;
        read_elems(&s->y, (size_t)r * stride, n, row);
        for (size_t k = 0; k < n; k++) {
            double v = (double)row[k];
            bool bad = cls ? !(v >= 0 && v < 1 << 16 && v == floor(v)) : !isfinite(v);
            if (bad) {
                char at[64];
                y_place(s, r, k, w, at, sizeof at);
                st = bp_error_set(err, BP_ERR_VALUE, cls ? "%s: %s is %g, not a class id (a whole "
                                  "number in [0, 65536))" : "%s: %s is %g; targets must be finite",
                                  s->y_path, at, v);
                break;
            }
            if (cls && v > s->max_class) {
                s->max_class = v;
                y_place(s, r, k, w, s->max_class_at, sizeof s->max_class_at);
            }
        }
    }
    free(row);
    if (cls)
        s->O = (int)s->max_class + 1;
    return st;
}

bp_status file_source_open(file_source *s, const bp_file_source *src, const bp_file_set_opts *o,
                           bp_csv_set *parsed, bp_error *err)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", src->x);
    bool npy = ends_with(src->x, ".npy"), csv = file_source_is_csv(src->x);
    if (!npy && !csv && !ends_with(src->x, ".safetensors"))
        return bp_error_set(err, BP_ERR_VALUE, "%s: unknown data format (the extension says it: "
                            ".safetensors, .npy or .csv)", src->x);
    if (!npy && (src->y[0] || src->lengths[0]))
        return bp_error_set(err, BP_ERR_VALUE, "%s: y and lengths files go with .npy data; a %s "
                            "file holds its own", src->x, csv ? "CSV" : "safetensors");
    s->inputs_only = o->inputs_only;
    s->vocab = o->vocab;
    s->target = o->target;
    s->O = o->O;
    bp_status st = npy ? open_npy(s, src, o->inputs_only, err) : csv ? open_csv(s, o, parsed, err)
                                                     : open_safetensors(s, o->inputs_only, err);
    if (st == BP_OK)
        st = read_shapes(s, err);
    bp_array len;
    const bp_array *l = NULL;
    if (st == BP_OK && s->st && bp_st_find(s->st, "lengths")) {
        st = bp_st_array(s->st, "lengths", &len, err);
        l = &len;
    } else if (st == BP_OK && s->npy[2]) {
        l = bp_npy_array(s->npy[2]);
    }
    if (st == BP_OK && (l || csv))
        st = read_lengths(s, l, npy ? src->lengths : s->path, err);
    s->lo = 0;
    s->hi = s->N;
    if (o->shards > 1)
        bp_batch_share(s->N, o->shard, o->shards, &s->lo, &s->hi);
    if (st == BP_OK)
        st = check_x(s, err);
    if (st == BP_OK && !csv && !o->inputs_only)
        st = check_y(s, err);
    return st;
}

void file_source_close(file_source *s)
{
    bp_st_free(s->st);
    for (int i = 0; i < 3; i++)
        bp_npy_close(s->npy[i]);
    bp_csv_set_free(&s->csv);
    free(s->own_y);
    free(s->len);
    memset(s, 0, sizeof *s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bp_status file_source_labels(const file_source *s, double **values, int *n, bp_error *err)
{
    double *v = malloc(((size_t)s->N + 1) * sizeof *v);
    if (!v)
        return bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", s->path);
    memcpy(v, s->csv.labels, (size_t)s->N * sizeof *v);
    qsort(v, (size_t)s->N, sizeof *v, cmp_double);
    int k = 0;
    for (long r = 0; r < s->N; r++)
        if (k == 0 || v[r] != v[k - 1])
            v[k++] = v[r];
    if (k > 1 << 16) {
        free(v);
        return bp_error_set(err, BP_ERR_VALUE, "%s: %d distinct labels; at most 65536 classes "
                            "(a regression target? data.target: value)", s->path, k);
    }
    *values = v;
    *n = k;
    return BP_OK;
}

bp_status file_source_map_classes(file_source *s, const double *values, int n, bp_error *err)
{
    for (long r = 0; r < s->N; r++) {
        double v = s->csv.labels[r];
        const double *hit = bsearch(&v, values, (size_t)n, sizeof *values, cmp_double);
        if (!hit)
            return bp_error_set(err, BP_ERR_VALUE, "%s:%ld: label %g is not among the training "
                                "set's %d classes", s->path, r + 1 + s->csv.had_header, v, n);
        int32_t id = (int32_t)(hit - values);
        memcpy((unsigned char *)s->own_y + 4 * (size_t)r, &id, 4); /* y is I32 over own_y */
    }
    s->O = n;
    return BP_OK;
}

void file_source_gather(const file_source *s, const long *rows, int n, bp_batch *b, int at)
{
    size_t xw = (size_t)s->T * s->I;
    size_t yw = s->target == BP_TARGET_CLASS_LAST ? 1 : s->target == BP_TARGET_VALUES ? (size_t)s->O
                : s->target == BP_TARGET_CLASS_SEQ ? (size_t)s->T : (size_t)s->T * s->O;
    for (int k = 0; k < n; k++) {
        long r = rows[k];
        read_elems(&s->x, (size_t)r * xw, xw, b->x + (size_t)(at + k) * xw);
        if (!s->inputs_only)
            read_elems(&s->y, (size_t)r * yw, yw, b->y + (size_t)(at + k) * yw);
        if (b->len)
            b->len[at + k] = file_source_len(s, r);
        /* zeros past the end, whatever the file holds there (NaN padding would reach the
         * gradients through the cells of the steps that are masked out: 0 * NaN) */
        int L = file_source_len(s, r);
        size_t per_step = bp_target_per_step(s->target) ? yw / (size_t)s->T : 0;
        if (L < s->T) {
            memset(b->x + (size_t)(at + k) * xw + (size_t)L * s->I, 0,
                   (size_t)(s->T - L) * s->I * sizeof(bp_real));
            if (per_step)
                memset(b->y + (size_t)(at + k) * yw + (size_t)L * per_step, 0,
                       (size_t)(s->T - L) * per_step * sizeof(bp_real));
        }
    }
}
