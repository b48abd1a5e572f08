/* npy.c — NumPy .npy files: reading (versions 1.0, 2.0, 3.0) with every header field
 * checked before a data byte is touched, and atomic writing (version 1.0).
 *
 * A file is: "\x93NUMPY", major and minor version bytes, the header length (2 bytes
 * little-endian in 1.0, 4 bytes in 2.0 and 3.0), the header, then the data. The header
 * is a Python dict literal, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape':
 * (3, 4), }" padded with spaces and a newline. numpy reads it with ast.literal_eval;
 * this reader accepts the subset such a dict can be written in: quoted strings without
 * escapes, True/False, tuples of non-negative decimal integers. Writing is in
 * npy_write.c. */
#include "bptt_arrays.h"
#include "io_internal.h"
#include "st_bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_ACCEPTED "'<f4', '<f8', '<i4', '<i8'"

struct bp_npy {
    bp_mapped_file *map;
    bp_array a;
};

#define fail bp_io_fail /* "path: message" */

/* n bytes of s for a message: printable ASCII as is, others as \xNN, cut to ~40. */
static const char *show(const unsigned char *s, size_t n, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < size; i++) {
        if (i == 40) {
            o += (size_t)snprintf(buf + o, size - o, "...");
            break;
        }
        if (s[i] >= 0x20 && s[i] < 0x7f)
            buf[o++] = (char)s[i];
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", s[i]);
    }
    buf[o] = '\0';
    return buf;
}

/* bp_dtype's order */
static const char *const descr_of[] = {"<f4", "<f8", "<i4", "<i8"};

/* "3, 4", "5," or "": the inside of numpy's shape tuple. */
static char *shape_tuple(bp_shape sh, char *buf, size_t size)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < sh.ndim && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, i ? ", %d" : "%d", sh.dim[i]);
    if (sh.ndim == 1 && k < size)
        snprintf(buf + k, size - k, ",");
    return buf;
}

static bool little_endian_host(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* ---------------------------------------------------------------- the header */

typedef struct hp {
    const unsigned char *s;
    size_t n, at;
    int major;
    const char *path;
    bp_error *err;
} hp;

/* A syntax error: the header is not the dict literal numpy writes. */
static bp_status syntax(hp *h, const char *what)
{
    char near[64] = "";
    size_t left = h->n - h->at;
    if (left)
        show(h->s + h->at, left < 12 ? left : 12, near, sizeof near);
    return fail(h->err, BP_ERR_PARSE, h->path,
                "header is not a valid Python dict literal: %s at header byte %zu (%s%s%s)", what,
                h->at, left ? "near \"" : "at its end", near, left ? "\"" : "");
}

static void skip_ws(hp *h)
{
    while (h->at < h->n && (h->s[h->at] == ' ' || h->s[h->at] == '\t' || h->s[h->at] == '\n' ||
                            h->s[h->at] == '\r' || h->s[h->at] == '\f'))
        h->at++;
}

static bool peek(hp *h, unsigned char c)
{
    skip_ws(h);
    return h->at < h->n && h->s[h->at] == c;
}

/* A quoted string without escapes: *b, *len its bytes within the header. */
static bp_status parse_string(hp *h, const unsigned char **b, size_t *len)
{
    skip_ws(h);
    if (h->at == h->n || (h->s[h->at] != '\'' && h->s[h->at] != '"'))
        return syntax(h, "expected a quoted string");
    unsigned char q = h->s[h->at];
    size_t start = ++h->at;
    for (; h->at < h->n && h->s[h->at] != q; h->at++) {
        unsigned char c = h->s[h->at];
        if (c == '\\')
            return syntax(h, "a backslash escape in a string (not used in .npy headers)");
        if (c < 0x20 || c >= 0x7f)
            return syntax(h, "a control or non-ASCII character in a string");
    }
    if (h->at == h->n)
        return syntax(h, "an unterminated string");
    *b = h->s + start;
    *len = h->at - start;
    h->at++;
    return BP_OK;
}

static bool word(hp *h, const char *w)
{
    size_t k = strlen(w);
    if (h->n - h->at < k || memcmp(h->s + h->at, w, k) != 0)
        return false;
    /* a whole identifier: "Truex" is another name */
    unsigned char next = h->at + k < h->n ? h->s[h->at + k] : ' ';
    if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
        (next >= '0' && next <= '9') || next == '_')
        return false;
    h->at += k;
    return true;
}

static bp_status parse_bool(hp *h, bool *v)
{
    skip_ws(h);
    if (word(h, "True"))
        *v = true;
    else if (word(h, "False"))
        *v = false;
    else
        return fail(h->err, BP_ERR_PARSE, h->path,
                    "header field 'fortran_order' must be True or False (at header byte %zu)",
                    h->at);
    return BP_OK;
}

/* One dimension: a decimal integer below 2^31 (numpy 1.x wrote Python 2 longs, "3L"). */
static bp_status parse_dim(hp *h, int *d)
{
    skip_ws(h);
    size_t start = h->at;
    uint64_t v = 0;
    while (h->at < h->n && h->s[h->at] >= '0' && h->s[h->at] <= '9') {
        if (v <= INT32_MAX) /* keep counting the digits, stop growing */
            v = v * 10 + (uint64_t)(h->s[h->at] - '0');
        h->at++;
    }
    if (h->at == start)
        return fail(h->err, BP_ERR_PARSE, h->path,
                    "header field 'shape' must be a tuple of non-negative integers, e.g. (3, 4) "
                    "(at header byte %zu)",
                    h->at);
    if (h->at - start > 1 && h->s[start] == '0')
        return syntax(h, "an integer with a leading zero");
    if (h->major < 3 && h->at < h->n && (h->s[h->at] == 'L' || h->s[h->at] == 'l'))
        h->at++;
    if (v > INT32_MAX)
        return fail(h->err, BP_ERR_VALUE, h->path,
                    "header field 'shape': dimension %.*s is too large (at most 2147483647)",
                    (int)(h->at - start < 30 ? h->at - start : 30), (const char *)h->s + start);
    *d = (int)v;
    return BP_OK;
}

/* (), (5,), (3, 4), (3, 4,) */
static bp_status parse_shape(hp *h, bp_shape *sh)
{
    *sh = (bp_shape){0};
    if (!peek(h, '('))
        return fail(h->err, BP_ERR_PARSE, h->path,
                    "header field 'shape' must be a tuple such as (3, 4) (at header byte %zu)",
                    h->at);
    h->at++;
    bool comma = false;
    while (!peek(h, ')')) {
        if (sh->ndim == BP_MAX_DIMS)
            return fail(h->err, BP_ERR_PARSE, h->path,
                        "header field 'shape' has more than %d dimensions (bptt reads 0 to %d)",
                        BP_MAX_DIMS, BP_MAX_DIMS);
        bp_status s = parse_dim(h, &sh->dim[sh->ndim]);
        if (s != BP_OK)
            return s;
        sh->ndim++;
        comma = peek(h, ',');
        if (comma)
            h->at++;
        else if (!peek(h, ')'))
            return syntax(h, "expected ',' or ')' in the shape");
    }
    h->at++;
    if (sh->ndim == 1 && !comma)
        return fail(h->err, BP_ERR_PARSE, h->path,
                    "header field 'shape': (%d) is not a tuple; a 1-D shape is written (%d,)",
                    sh->dim[0], sh->dim[0]);
    return BP_OK;
}

typedef struct npy_header {
    const unsigned char *descr;
    size_t descr_len;
    bool fortran;
    bp_shape shape;
} npy_header;

static bp_status parse_value(hp *h, int key, npy_header *out)
{
    if (key == 1)
        return parse_bool(h, &out->fortran);
    if (key == 2)
        return parse_shape(h, &out->shape);
    if (peek(h, '\'') || peek(h, '"'))
        return parse_string(h, &out->descr, &out->descr_len);
    if (peek(h, '['))
        return fail(h->err, BP_ERR_PARSE, h->path,
                    "header field 'descr' is a list: structured dtypes are not supported (bptt "
                    "reads " NPY_ACCEPTED ")");
    return fail(h->err, BP_ERR_PARSE, h->path,
                "header field 'descr' must be a string such as '<f4' (at header byte %zu)", h->at);
}

/* {'descr': ..., 'fortran_order': ..., 'shape': ...}: each key once, in any order. */
static bp_status parse_dict(hp *h, npy_header *out)
{
    static const char *const keys[] = {"descr", "fortran_order", "shape"};
    bool seen[3] = {false, false, false};
    if (!peek(h, '{'))
        return syntax(h, "expected '{'");
    h->at++;
    while (!peek(h, '}')) {
        const unsigned char *k;
        size_t kn;
        bp_status s = parse_string(h, &k, &kn);
        if (s != BP_OK)
            return s;
        int key = -1;
        for (int i = 0; i < 3; i++)
            if (kn == strlen(keys[i]) && memcmp(k, keys[i], kn) == 0)
                key = i;
        char name[64];
        if (key < 0)
            return fail(h->err, BP_ERR_PARSE, h->path,
                        "header has an unknown key '%s' (a .npy header has exactly descr, "
                        "fortran_order, shape)",
                        show(k, kn, name, sizeof name));
        if (seen[key])
            return fail(h->err, BP_ERR_PARSE, h->path, "header has the key '%s' twice",
                        keys[key]);
        seen[key] = true;
        if (!peek(h, ':'))
            return syntax(h, "expected ':' after a key");
        h->at++;
        if ((s = parse_value(h, key, out)) != BP_OK)
            return s;
        if (peek(h, ','))
            h->at++;
        else if (!peek(h, '}'))
            return syntax(h, "expected ',' or '}'");
    }
    h->at++;
    skip_ws(h);
    if (h->at != h->n)
        return syntax(h, "text after the dictionary");
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return fail(h->err, BP_ERR_PARSE, h->path, "header has no key '%s'", keys[i]);
    return BP_OK;
}

/* descr: an order character ('<', '>', '=', '|' or none), a kind, a size. */
static bp_status check_descr(const char *path, const npy_header *hd, bp_dtype *dt, bp_error *err)
{
    char d[64];
    show(hd->descr, hd->descr_len, d, sizeof d);
    const char *p = d;
    char order = *p == '<' || *p == '>' || *p == '=' || *p == '|' ? *p++ : '=';
    if (p[0] == 'O')
        return fail(err, BP_ERR_PARSE, path,
                    "header field 'descr': '%s' is an object array (pickled Python objects); "
                    "bptt reads " NPY_ACCEPTED, d);
    static const struct { const char *kind; bp_dtype dt; } known[] = {
        {"f4", BP_DTYPE_F32}, {"f8", BP_DTYPE_F64}, {"i4", BP_DTYPE_I32}, {"i8", BP_DTYPE_I64}};
    int k = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(p, known[i].kind) == 0)
            k = i;
    if (k < 0)
        return fail(err, BP_ERR_PARSE, path,
                    "header field 'descr': dtype '%s' is not supported (bptt reads " NPY_ACCEPTED
                    ")", d);
    if (order == '>' || (order != '<' && !little_endian_host()))
        return fail(err, BP_ERR_PARSE, path,
                    "header field 'descr': '%s' is big-endian; bptt reads little-endian "
                    "(arr.astype('<%s'))", d, p);
    *dt = known[k].dt;
    return BP_OK;
}

/* The shape's element count (at most 2^31) and the data bytes against it. */
static bp_status check_data(const char *path, bp_array *out, size_t have, bp_error *err)
{
    uint64_t n = 1;
    for (int i = 0; i < out->shape.ndim; i++) {
        n *= (uint64_t)out->shape.dim[i]; /* each < 2^31 and n <= 2^31: no overflow */
        if (n > BP_MAX_ELEMENTS)
            return fail(err, BP_ERR_VALUE, path,
                        "header field 'shape': more than 2^31 elements (bptt's limit for one "
                        "array)");
    }
    char sb[96];
    uint64_t need = n * bp_dtype_size(out->dtype);
    shape_tuple(out->shape, sb, sizeof sb);
    if (have < need)
        return fail(err, BP_ERR_PARSE, path,
                    "truncated: shape (%s) of '%s' needs %llu data bytes, the file has %zu", sb,
                    descr_of[out->dtype], (unsigned long long)need, have);
    if (have > need)
        return fail(err, BP_ERR_PARSE, path,
                    "%llu bytes after the data (shape (%s) of '%s' needs %llu bytes)",
                    (unsigned long long)(have - need), sb, descr_of[out->dtype],
                    (unsigned long long)need);
    out->size = (size_t)n;
    return BP_OK;
}

bp_status bp_npy_parse(const unsigned char *buf, size_t n, const char *path, bp_array *out,
                       bp_error *err)
{
    bp_error local;
    if (!err)
        err = &local;
    if (!path)
        path = "npy";
    if (n < 6 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return fail(err, BP_ERR_PARSE, path, "not a .npy file (it does not start with \\x93NUMPY)");
    if (n < 8)
        return fail(err, BP_ERR_PARSE, path, "truncated: the file ends inside the version");
    int major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0)
        return fail(err, BP_ERR_PARSE, path,
                    "format version %d.%d is not supported (bptt reads 1.0, 2.0, 3.0)", major,
                    minor);
    size_t lb = major == 1 ? 2 : 4;
    if (n < 8 + lb)
        return fail(err, BP_ERR_PARSE, path, "truncated: the file ends inside the header length");
    uint64_t hlen = lb == 2 ? (uint64_t)buf[8] | (uint64_t)buf[9] << 8 : st_le32(buf + 8);
    if (hlen > n - 8 - lb)
        return fail(err, BP_ERR_PARSE, path,
                    "truncated: the header length is %llu bytes but only %zu bytes follow it",
                    (unsigned long long)hlen, n - 8 - lb);
    hp h = {buf + 8 + lb, (size_t)hlen, 0, major, path, err};
    npy_header hd = {0};
    bp_status s = parse_dict(&h, &hd);
    if (s == BP_OK && hd.fortran)
        s = fail(err, BP_ERR_PARSE, path,
                 "fortran_order is True; bptt reads C order (np.ascontiguousarray)");
    bp_array a = {.shape = hd.shape};
    if (s == BP_OK)
        s = check_descr(path, &hd, &a.dtype, err);
    size_t off = 8 + lb + (size_t)hlen;
    if (s == BP_OK)
        s = check_data(path, &a, n - off, err);
    if (s != BP_OK)
        return s;
    a.data = buf + off;
    *out = a;
    return BP_OK;
}

/* ---------------------------------------------------------------- opening */

bp_npy *bp_npy_open(const char *path, bp_error *err)
{
    bp_npy *f = calloc(1, sizeof *f);
    if (!f) {
        bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (!(f->map = bp_map_file(path, err)) ||
        bp_npy_parse(bp_mapped_data(f->map), bp_mapped_size(f->map), path, &f->a, err) != BP_OK) {
        bp_npy_close(f);
        return NULL;
    }
    return f;
}

const bp_array *bp_npy_array(const bp_npy *f)
{
    return &f->a;
}

void bp_npy_close(bp_npy *f)
{
    if (!f)
        return;
    bp_unmap_file(f->map);
    free(f);
}
