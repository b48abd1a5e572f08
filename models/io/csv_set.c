/* csv_set.c — sequence data sets in the CSV layout of the UCR/UEA time-series
 * archives: one sequence per row, a label cell first or last, then T x I values by
 * step, shorter sequences padded with empty or NaN cells. Every cell is checked, and
 * every error names PATH:ROW:COLUMN (COLUMN: the cell's number in its row). */
#include "bptt_arrays.h"

#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv {
    const char *path;
    bp_error *err;
    char delim;
    const char *dp; /* the locale's decimal point where it is not ".", else NULL */
    int I;
    bool label_last;
    int row;       /* the line being read, 1-based */
    int cells;     /* cells of every data row, from the first one; 0 before it */
    int first_row; /* the line of the first data row */
    int W;         /* value cells per row: cells - 1 = T * I */
    size_t cap;    /* rows allocated */
    bp_csv_set *out;
} csv;

/* "path:row:col: message" (col 0: "path:row: ", row 0: "path: "). */
static bp_status fail(const csv *c, bp_status st, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bp_status fail(const csv *c, bp_status st, int col, const char *fmt, ...)
{
    char at[1280]; /* the path, a row and a column */
    if (c->row && col)
        snprintf(at, sizeof at, "%s:%d:%d", c->path, c->row, col);
    else if (c->row)
        snprintf(at, sizeof at, "%s:%d", c->path, c->row);
    else
        snprintf(at, sizeof at, "%s", c->path);
    va_list ap;
    va_start(ap, fmt);
    bp_status s = bp_error_vset(c->err, st, at, fmt, ap);
    va_end(ap);
    return s;
}

/* A cell for a message: printable ASCII as is, other bytes as \xNN, cut to ~40. */
static const char *show(const char *s, size_t n, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < size; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (i == 40) {
            o += (size_t)snprintf(buf + o, size - o, "...");
            break;
        }
        if (ch >= 0x20 && ch < 0x7f)
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
    }
    buf[o] = '\0';
    return buf;
}

/* ---------------------------------------------------------------- cells */

typedef enum cell_kind { CELL_EMPTY, CELL_NAN, CELL_NUM, CELL_INF, CELL_BAD } cell_kind;

static bool ieq(const char *s, size_t n, const char *w)
{
    if (strlen(w) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != w[i]) /* ASCII lower case; w is lower case */
            return false;
    return true;
}

static size_t digits(const char *s, size_t n, size_t *i)
{
    size_t start = *i;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9')
        (*i)++;
    return *i - start;
}

/* [+-] (d+ [. d*] | . d+) [(e|E) [+-] d+], the whole of s. */
static bool decimal(const char *s, size_t n)
{
    size_t i = s[0] == '+' || s[0] == '-';
    size_t a = digits(s, n, &i), b = 0;
    if (i < n && s[i] == '.') {
        i++;
        b = digits(s, n, &i);
    }
    if (a + b == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (digits(s, n, &i) == 0)
            return false;
    }
    return i == n;
}

/* strtod on a checked decimal, whatever LC_NUMERIC says: '.' becomes the locale's
 * decimal point in a NUL-terminated copy (the cell itself is not terminated). */
static bool to_double(const char *s, size_t n, const char *dp, double *v)
{
    size_t dn = dp ? strlen(dp) : 1;
    char buf[256 + 8];
    if (n >= 256 || dn > 8)
        return false;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' && dp) {
            memcpy(buf + o, dp, dn);
            o += dn;
        } else
            buf[o++] = s[i];
    }
    buf[o] = '\0';
    char *end;
    *v = strtod(buf, &end);
    return end == buf + o;
}

/* What a cell holds, spaces around it ignored; *v for CELL_NUM. */
static cell_kind classify(const csv *c, const char *s, size_t n, double *v)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0)
        return CELL_EMPTY;
    size_t i = s[0] == '+' || s[0] == '-';
    if (ieq(s + i, n - i, "nan"))
        return CELL_NAN;
    if (ieq(s + i, n - i, "inf") || ieq(s + i, n - i, "infinity"))
        return CELL_INF;
    if (!decimal(s, n) || !to_double(s, n, c->dp, v))
        return CELL_BAD;
    return isfinite(*v) ? CELL_NUM : CELL_INF; /* 1e999 overflows to inf */
}

/* The cell starting at *p of line (len bytes): its bytes, and *p moved past it. */
static const char *next_cell(const csv *c, const char *line, size_t len, size_t *p, size_t *n)
{
    const char *s = line + *p;
    const char *d = *p < len ? memchr(s, c->delim, len - *p) : NULL;
    size_t e = d ? (size_t)(d - line) : len;
    *n = e - *p;
    *p = e + 1;
    return s;
}

/* ---------------------------------------------------------------- rows */

static bp_status check_label(const csv *c, int col, cell_kind k, const char *s, size_t n)
{
    char b[200];
    switch (k) {
    case CELL_NUM: return BP_OK;
    case CELL_EMPTY: return fail(c, BP_ERR_PARSE, col, "the label is empty");
    case CELL_NAN: return fail(c, BP_ERR_PARSE, col, "the label is NaN (missing)");
    case CELL_INF:
        return fail(c, BP_ERR_VALUE, col, "the label '%s' is not finite", show(s, n, b, sizeof b));
    case CELL_BAD: break;
    }
    return fail(c, BP_ERR_PARSE, col, "the label '%s' is not a number", show(s, n, b, sizeof b));
}

/* One data row's cells into x (W floats) and *label; *steps its steps. */
static bp_status parse_cells(const csv *c, const char *line, size_t len, float *x, double *label,
                             int *steps)
{
    int lab = c->label_last ? c->cells : 1, v = 0, k = 0, pad_col = 0;
    size_t p = 0;
    char b[200];
    for (int col = 1; col <= c->cells; col++) {
        size_t n;
        const char *s = next_cell(c, line, len, &p, &n);
        double val = 0;
        cell_kind kd = classify(c, s, n, &val);
        if (col == lab) {
            bp_status st = check_label(c, col, kd, s, n);
            if (st != BP_OK)
                return st;
            *label = val;
            continue;
        }
        if (kd == CELL_EMPTY || kd == CELL_NAN) {
            if (!pad_col)
                pad_col = col, k = v;
            v++;
            continue;
        }
        if (kd == CELL_BAD)
            return fail(c, BP_ERR_PARSE, col, "'%s' is not a number", show(s, n, b, sizeof b));
        if (pad_col)
            return fail(c, BP_ERR_PARSE, col,
                        "a value after the sequence ended at column %d (empty or NaN): no gaps "
                        "inside a sequence", pad_col);
        if (kd == CELL_INF)
            return fail(c, BP_ERR_VALUE, col, "'%s' is not finite", show(s, n, b, sizeof b));
        if (fabs(val) > FLT_MAX)
            return fail(c, BP_ERR_VALUE, col, "'%s' is beyond float range (at most %g)",
                        show(s, n, b, sizeof b), (double)FLT_MAX);
        x[v++] = (float)val;
    }
    if (!pad_col)
        k = v;
    if (k == 0)
        return fail(c, BP_ERR_PARSE, c->label_last ? 1 : 2,
                    "the sequence is empty (its first value cell is empty or NaN)");
    if (k % c->I)
        return fail(c, BP_ERR_PARSE, pad_col,
                    "the sequence ends inside a step: %d values is not a multiple of features = "
                    "%d", k, c->I);
    memset(x + k, 0, (size_t)(c->W - k) * sizeof *x);
    *steps = k / c->I;
    return BP_OK;
}

/* The first data row fixes the width: a label and a whole number of steps. */
static bp_status first_row(csv *c, int cells)
{
    if (cells < 2)
        return fail(c, BP_ERR_PARSE, 0,
                    "a row needs a label and at least one value, the first data row has 1 cell");
    if ((cells - 1) % c->I)
        return fail(c, BP_ERR_PARSE, 0,
                    "the first data row has %d value cells (cells - 1), not a multiple of "
                    "features = %d", cells - 1, c->I);
    c->cells = cells;
    c->W = cells - 1;
    c->first_row = c->row;
    return BP_OK;
}

/* Room for one more row, within 2^31 values in all. */
static bp_status grow(csv *c)
{
    bp_csv_set *o = c->out;
    size_t W = (size_t)c->W, N = (size_t)o->N;
    if ((N + 1) * W > BP_MAX_ELEMENTS)
        return fail(c, BP_ERR_VALUE, 0, "more than 2^31 values in all (N x T x I)");
    if (N < c->cap)
        return BP_OK;
    size_t cap = c->cap ? 2 * c->cap : 64;
    if (cap > BP_MAX_ELEMENTS / W)
        cap = BP_MAX_ELEMENTS / W; /* still > N, checked above */
    float *x = cap * W <= SIZE_MAX / sizeof *x ? realloc(o->x, cap * W * sizeof *x) : NULL;
    if (x)
        o->x = x;
    int *len = x ? realloc(o->lengths, cap * sizeof *len) : NULL;
    if (len)
        o->lengths = len;
    double *lab = len ? realloc(o->labels, cap * sizeof *lab) : NULL;
    if (!lab)
        return fail(c, BP_ERR_NOMEM, 0, "out of memory for %zu sequences of %zu values", cap, W);
    o->labels = lab;
    c->cap = cap;
    return BP_OK;
}

static bp_status data_row(csv *c, const char *line, size_t len)
{
    size_t cells = 1;
    for (const char *d = line; (d = memchr(d, c->delim, len - (size_t)(d - line))); d++)
        cells++;
    if (cells > INT_MAX)
        return fail(c, BP_ERR_VALUE, 0, "more than 2^31 - 1 cells in a row");
    bp_status s = BP_OK;
    if (c->cells == 0 && (s = first_row(c, (int)cells)) != BP_OK)
        return s;
    if ((int)cells != c->cells)
        return fail(c, BP_ERR_PARSE, (int)(cells < (size_t)c->cells ? cells : (size_t)c->cells) + 1,
                    "the row has %zu cells, the first data row (row %d) has %d", cells,
                    c->first_row, c->cells);
    if ((s = grow(c)) != BP_OK)
        return s;
    bp_csv_set *o = c->out;
    s = parse_cells(c, line, len, o->x + (size_t)o->N * (size_t)c->W, &o->labels[o->N],
                    &o->lengths[o->N]);
    if (s == BP_OK)
        o->N++;
    return s;
}

/* Auto header: some cell is neither empty, nor a number, nor NaN or inf. */
static bool looks_like_header(const csv *c, const char *line, size_t len)
{
    size_t p = 0;
    while (p <= len) {
        size_t n;
        double v;
        const char *s = next_cell(c, line, len, &p, &n);
        if (classify(c, s, n, &v) == CELL_BAD)
            return true;
    }
    return false;
}

/* ---------------------------------------------------------------- the file */

void bp_csv_opts_default(bp_csv_opts *o)
{
    *o = (bp_csv_opts){.features = 1, .label_last = false, .header = -1};
}

void bp_csv_set_free(bp_csv_set *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->lengths);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/* A NUL byte anywhere: its row and cell. */
static bp_status check_nul(csv *c, const char *buf, size_t n)
{
    const char *z = memchr(buf, '\0', n);
    if (!z)
        return BP_OK;
    const char *line = buf;
    c->row = 1;
    for (const char *q; (q = memchr(line, '\n', (size_t)(z - line))); line = q + 1)
        c->row++;
    int col = 1;
    for (const char *q = line; q < z; q++)
        col += *q == c->delim;
    return fail(c, BP_ERR_PARSE, col, "a NUL byte (is this a binary file?)");
}

static bp_status read_rows(csv *c, const char *buf, size_t n, int header)
{
    size_t at = 0;
    while (at < n) {
        const char *nl = memchr(buf + at, '\n', n - at);
        size_t end = nl ? (size_t)(nl - buf) : n, next = nl ? end + 1 : n;
        size_t len = end - at;
        if (len && buf[end - 1] == '\r')
            len--;
        if (c->row == INT_MAX)
            return fail(c, BP_ERR_VALUE, 0, "more than 2^31 - 1 rows");
        c->row++;
        const char *line = buf + at;
        at = next;
        if (blank(line, len)) {
            if (next == n) /* one blank line may end the file */
                break;
            return fail(c, BP_ERR_PARSE, 0, "a blank line (only the last line may be blank)");
        }
        if (c->row == 1 && (header == 1 || (header < 0 && looks_like_header(c, line, len)))) {
            c->out->had_header = true;
            continue;
        }
        bp_status s = data_row(c, line, len);
        if (s != BP_OK)
            return s;
    }
    if (c->out->N == 0) {
        c->row = 0;
        return fail(c, BP_ERR_PARSE, 0, "no data row (%s)",
                    n == 0 ? "the file is empty" : c->out->had_header ? "only a header" : "only blank lines");
    }
    return BP_OK;
}

bp_status bp_csv_set_parse(const char *buf, size_t n, const char *path, const bp_csv_opts *o,
                           bp_csv_set *out, bp_error *err)
{
    bp_error local;
    bp_csv_opts def;
    if (!o) {
        bp_csv_opts_default(&def);
        o = &def;
    }
    memset(out, 0, sizeof *out);
    if (!buf)
        buf = "", n = 0;
    csv c = {.path = path ? path : "csv", .err = err ? err : &local, .I = o->features,
             .label_last = o->label_last, .out = out};
    if (o->features < 1)
        return fail(&c, BP_ERR_VALUE, 0, "features is %d; it must be at least 1", o->features);
    if (o->header < -1 || o->header > 1)
        return fail(&c, BP_ERR_VALUE, 0, "header is %d; it must be -1 (auto), 0 or 1", o->header);
    const char *dp = localeconv()->decimal_point;
    c.dp = dp && *dp && strcmp(dp, ".") != 0 ? dp : NULL;
    /* a tab when the first line has tabs and no commas */
    const char *nl = memchr(buf, '\n', n);
    size_t first = nl ? (size_t)(nl - buf) : n;
    c.delim = memchr(buf, '\t', first) && !memchr(buf, ',', first) ? '\t' : ',';
    bp_status s = check_nul(&c, buf, n);
    if (s == BP_OK)
        s = read_rows(&c, buf, n, o->header);
    if (s != BP_OK) {
        bp_csv_set_free(out);
        return s;
    }
    out->T = c.W / c.I;
    out->I = c.I;
    return BP_OK;
}

bp_status bp_csv_set_load(const char *path, const bp_csv_opts *o, bp_csv_set *out,
                          bp_error *err)
{
    memset(out, 0, sizeof *out);
    bp_mapped_file *m = bp_map_file(path, err);
    if (!m)
        return err ? err->status : BP_ERR_IO;
    bp_status s = bp_csv_set_parse((const char *)bp_mapped_data(m), bp_mapped_size(m), path, o,
                                   out, err);
    bp_unmap_file(m);
    return s;
}
