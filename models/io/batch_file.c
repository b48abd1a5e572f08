/* batch_file.c — a bp_batch as a safetensors file: x [B, T, F] F32 or [B, T]
 * I32 tokens; y [B, O] or [B, T, O] F32 values, [B] or [B, T] I32 class ids; optional
 * lengths [B] I32 (each row's steps). */
#include "bptt_safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const target_names[] = {"values", "class_last", "class_seq", "values_seq"};

bp_status bp_batch_save(const char *path, const bp_batch *b, bp_error *err)
{
    bp_st_writer *w = bp_st_writer_new();
    if (!w)
        return bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", path);
    bp_shape xs = b->tokens ? bp_shape2(b->B, b->T) : (bp_shape){3, {b->B, b->T, b->F}};
    bp_shape ys = b->target == BP_TARGET_VALUES       ? bp_shape2(b->B, b->O)
                  : b->target == BP_TARGET_CLASS_LAST ? bp_shape1(b->B)
                  : b->target == BP_TARGET_CLASS_SEQ  ? bp_shape2(b->B, b->T)
                                                      : (bp_shape){3, {b->B, b->T, b->O}};
    bp_dtype yt = bp_target_is_class(b->target) ? BP_DTYPE_I32 : BP_DTYPE_F32;
    char classes[32];
    snprintf(classes, sizeof classes, "%d", b->O);
    bp_status s = bp_st_writer_meta(w, "format", "bptt-batch", err);
    if (s == BP_OK)
        s = bp_st_writer_meta(w, "target", target_names[b->target], err);
    if (s == BP_OK && bp_target_is_class(b->target))
        s = bp_st_writer_meta(w, "classes", classes, err);
    if (s == BP_OK && b->len)
        s = bp_st_writer_add_raw(w, "lengths", BP_DTYPE_I32, bp_shape1(b->B), b->len, err);
    if (s == BP_OK)
        s = bp_st_writer_add(w, "x", b->tokens ? BP_DTYPE_I32 : BP_DTYPE_F32, xs, b->x, err);
    if (s == BP_OK)
        s = bp_st_writer_add(w, "y", yt, ys, b->y, err);
    if (s == BP_OK)
        s = bp_st_writer_save(w, path, err);
    else
        bp_error_prefix(err, "%s", path);
    bp_st_writer_free(w);
    return s;
}

static bool is_int(bp_dtype d)
{
    return d == BP_DTYPE_I32 || d == BP_DTYPE_I64;
}

/* Ids must be whole, >= 0 and (when lim > 0) < lim; *max gets the largest. */
static bp_status check_ids(const bp_st_file *f, const char *name, const bp_real *v, size_t n,
                           double lim, const char *what, double *max, bp_error *err)
{
    /* ids must also survive the trip through bp_real: 2^24 in float */
    const double exact = sizeof(bp_real) == 4 ? 16777216.0 : 9007199254740992.0;
    *max = -1;
    for (size_t i = 0; i < n; i++) {
        double x = (double)v[i];
        if (x < 0 || x > exact || (lim > 0 && x >= lim)) {
            char range[64];
            if (lim > 0)
                snprintf(range, sizeof range, "in [0, %.0f)", lim);
            else
                snprintf(range, sizeof range, "in [0, %.0f]", exact);
            return bp_error_set(err, BP_ERR_VALUE, "%s: %s element %zu is %.17g; a %s must be %s",
                                bp_st_path(f), name, i, x, what, range);
        }
        if (x > *max)
            *max = x;
    }
    return BP_OK;
}

/* Read a whole tensor into a new buffer. */
static bp_real *read_all(const bp_st_file *f, int i, bp_error *err)
{
    const bp_st_info *t = bp_st_at(f, i);
    bp_real *v = malloc((t->size ? t->size : 1) * sizeof *v);
    if (!v) {
        bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", bp_st_path(f));
        return NULL;
    }
    bp_st_read_at(f, i, v);
    return v;
}

static int index_of(const bp_st_file *f, const char *name)
{
    for (int i = 0; i < bp_st_count(f); i++)
        if (strcmp(bp_st_at(f, i)->name, name) == 0)
            return i;
    return -1;
}

/* lengths [B] whole numbers in [1, T]. */
static bp_status read_lengths(const bp_st_file *f, bp_batch *b, bp_error *err)
{
    int *len = malloc((size_t)b->B * sizeof *len);
    if (!len)
        return bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", bp_st_path(f));
    bp_status st = bp_st_read_raw(f, "lengths", BP_DTYPE_I32, bp_shape1(b->B), len, err);
    if (st == BP_OK && (st = bp_batch_set_lengths(b, len, err)) != BP_OK)
        bp_error_prefix(err, "%s", bp_st_path(f));
    free(len);
    return st;
}

/* The target kind y's dtype and rank say, checked against x's B and T and against the
 * metadata's "target". */
static bool target_of(const bp_st_file *f, const bp_st_info *x, const bp_st_info *y,
                      bp_target_kind *kind, bp_error *err)
{
    const char *path = bp_st_path(f);
    char s1[64], s2[64];
    int B = x->shape.dim[0], T = x->shape.dim[1];
    if (!is_int(y->dtype))
        *kind = y->shape.ndim == 3 ? BP_TARGET_VALUES_SEQ : BP_TARGET_VALUES;
    else
        *kind = y->shape.ndim == 1 ? BP_TARGET_CLASS_LAST : BP_TARGET_CLASS_SEQ;
    bool shape_ok = *kind == BP_TARGET_VALUES ? y->shape.ndim == 2 && y->shape.dim[0] == B
                    : *kind == BP_TARGET_CLASS_LAST ? y->shape.dim[0] == B
                    : *kind == BP_TARGET_VALUES_SEQ ? y->shape.dim[0] == B && y->shape.dim[1] == T
                        : y->shape.ndim == 2 && y->shape.dim[0] == B && y->shape.dim[1] == T;
    if (!shape_ok) {
        char wbuf[64];
        bool values = !bp_target_is_class(*kind);
        snprintf(wbuf, sizeof wbuf, "%s (%s y: %s)",
                 values ? "[B, O] or [B, T, O]" : "[B] or [B, T]", bp_dtype_name(y->dtype),
                 values ? "values" : "class ids");
        bp_error_set(err, BP_ERR_SHAPE, "%s: y has shape %s but x is %s; y must be %s", path,
                     bp_shape_str(y->shape, s1, sizeof s1), bp_shape_str(x->shape, s2, sizeof s2),
                     wbuf);
        return false;
    }
    const char *tmeta = bp_st_meta(f, "target");
    if (tmeta && strcmp(tmeta, target_names[*kind]) != 0) {
        bp_error_set(err, BP_ERR_PARSE, "%s: metadata says target '%s' but y (%s %s) is '%s'",
                     path, tmeta, bp_dtype_name(y->dtype), bp_shape_str(y->shape, s1, sizeof s1),
                     target_names[*kind]);
        return false;
    }
    return true;
}

/* The metadata's "classes" for class targets (0 when absent: the largest id + 1). */
static bool meta_classes(const bp_st_file *f, bp_target_kind kind, double *classes,
                         bp_error *err)
{
    const char *cmeta = bp_st_meta(f, "classes");
    *classes = 0;
    if (!cmeta || !bp_target_is_class(kind))
        return true;
    char *end;
    long c = strtol(cmeta, &end, 10);
    if (end == cmeta || *end || c < 1 || c > (1L << 24)) {
        bp_error_set(err, BP_ERR_PARSE,
                     "%s: metadata 'classes' is '%s', not a whole number in [1, 16777216]",
                     bp_st_path(f), cmeta);
        return false;
    }
    *classes = (double)c;
    return true;
}

/* x and y (and lengths) present, and nothing else. */
static bool tensors_of(const bp_st_file *f, int *xi, int *yi, bp_error *err)
{
    const char *path = bp_st_path(f);
    for (int i = 0; i < bp_st_count(f); i++) {
        const char *n = bp_st_at(f, i)->name;
        if (strcmp(n, "x") != 0 && strcmp(n, "y") != 0 && strcmp(n, "lengths") != 0) {
            bp_error_set(err, BP_ERR_PARSE, "%s: unexpected tensor '%s' (a batch holds x, y and "
                         "optionally lengths)", path, n);
            return false;
        }
    }
    *xi = index_of(f, "x");
    *yi = index_of(f, "y");
    if (*xi < 0 || *yi < 0) {
        bp_error_set(err, BP_ERR_PARSE, "%s: a batch file needs tensors x and y; %s is missing",
                     path, *xi < 0 ? "x" : "y");
        return false;
    }
    return true;
}

static bp_batch *load(const bp_st_file *f, bp_error *err)
{
    const char *path = bp_st_path(f);
    char s1[64];
    int xi, yi;
    if (!tensors_of(f, &xi, &yi, err))
        return NULL;
    const bp_st_info *x = bp_st_at(f, xi), *y = bp_st_at(f, yi);
    bool tokens = is_int(x->dtype);
    if (tokens ? x->shape.ndim != 2 : x->shape.ndim != 3) {
        bp_error_set(err, BP_ERR_SHAPE, "%s: x has shape %s; expected %s", path,
                     bp_shape_str(x->shape, s1, sizeof s1),
                     tokens ? "[B, T] (token ids)" : "[B, T, F]");
        return NULL;
    }
    int B = x->shape.dim[0], T = x->shape.dim[1], F = tokens ? 1 : x->shape.dim[2];
    bp_target_kind kind;
    double classes;
    if (!target_of(f, x, y, &kind, err) || !meta_classes(f, kind, &classes, err))
        return NULL;
    bp_real *xv = read_all(f, xi, err), *yv = xv ? read_all(f, yi, err) : NULL;
    bp_batch *b = NULL;
    double max = 0;
    if (!yv)
        goto done;
    if (tokens && check_ids(f, "x", xv, x->size, 0, "token id", &max, err) != BP_OK)
        goto done;
    if (bp_target_is_class(kind)) {
        if (check_ids(f, "y", yv, y->size, classes, "class id", &max, err) != BP_OK)
            goto done;
        if (classes == 0)
            classes = max + 1;
    }
    int O = kind == BP_TARGET_VALUES ? y->shape.dim[1] : kind == BP_TARGET_VALUES_SEQ
            ? y->shape.dim[2] : (int)(classes > 0 ? classes : 1);
    b = bp_batch_new(B, T, F, tokens, kind, O, err);
    if (!b) {
        bp_error_prefix(err, "%s", path);
        goto done;
    }
    memcpy(b->x, xv, x->size * sizeof *xv);
    memcpy(b->y, yv, bp_batch_y_size(b) * sizeof *yv);
    if (index_of(f, "lengths") >= 0 && read_lengths(f, b, err) != BP_OK) {
        bp_batch_free(b);
        b = NULL;
    }
done:
    free(xv);
    free(yv);
    return b;
}

bp_batch *bp_batch_load(const char *path, bp_error *err)
{
    bp_st_file *f = bp_st_load(path, err);
    if (!f)
        return NULL;
    bp_batch *b = load(f, err);
    bp_st_free(f);
    return b;
}
