/* csv.c — see csv.h. */
#include "csv.h"
#include "bptt_arrays.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

void csv_free(csv_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_cols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->cells);
    free(t);
}

int csv_column(const csv_table *t, const char *name)
{
    for (int i = 0; i < t->n_cols; i++)
        if (!strcmp(t->names[i], name))
            return i;
    return -1;
}

double csv_cell(const csv_table *t, int row, int col)
{
    if (col < 0 || col >= t->n_cols || row < 0 || row >= t->n_rows)
        return NAN;
    return t->cells[(size_t)row * t->n_cols + col];
}

/* Split line (no newline) at commas in place; returns the field count (at most max). */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    for (char *p = line;; p++) {
        if (n < max)
            fields[n] = p;
        n++;
        p = strchr(p, ',');
        if (!p)
            break;
        *p = '\0';
    }
    return n;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return false;
    return true;
}

enum { MAX_COLS = 256, CSV_MAX_LINE = 65536 };

static bool add_row(csv_table *t, size_t *cap, char **f, int n, const char *path, long line,
                    char *err, size_t en)
{
    if (n != t->n_cols) {
        fail(err, en, "%s:%ld: %d fields, the header has %d", path, line, n, t->n_cols);
        return false;
    }
    if ((size_t)(t->n_rows + 1) * (size_t)t->n_cols > *cap) {
        size_t c = *cap ? 2 * *cap : 1024 * (size_t)t->n_cols;
        double *cells = realloc(t->cells, c * sizeof *cells);
        if (!cells) {
            fail(err, en, "%s: out of memory", path);
            return false;
        }
        t->cells = cells;
        *cap = c;
    }
    double *row = t->cells + (size_t)t->n_rows * t->n_cols;
    for (int i = 0; i < n; i++) {
        if (blank(f[i])) {
            row[i] = NAN;
            continue;
        }
        char *end;
        errno = 0;
        row[i] = strtod(f[i], &end);
        while (*end == ' ' || *end == '\t')
            end++;
        if (end == f[i] || *end) {
            fail(err, en, "%s:%ld: column '%s' holds '%s', not a number", path, line,
                 t->names[i], f[i]);
            return false;
        }
    }
    t->n_rows++;
    return true;
}

/* The next line into buf (cap bytes); 0 at the end of the file, -1 when it does not fit. */
static int next_line(FILE *fp, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, fp))
        return 0;
    size_t n = strlen(buf);
    return n + 1 == cap && buf[n - 1] != '\n' && !feof(fp) ? -1 : 1;
}

/* The file, opened as every reader of bptt opens one: a regular file, never waiting on a
 * FIFO (a device such as /dev/zero, an endless line, is refused). */
static FILE *open_csv(const char *path, char *err, size_t en)
{
    bp_error e = {0};
    int fd = bp_file_open_read(path, &e);
    FILE *fp = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!fp) {
        fail(err, en, "%s", fd >= 0 ? strerror(errno) : e.msg);
        if (fd >= 0)
            close(fd);
    }
    return fp;
}

csv_table *csv_read(const char *path, char *err, size_t en)
{
    FILE *fp = open_csv(path, err, en);
    if (!fp)
        return NULL;
    csv_table *t = calloc(1, sizeof *t);
    char *line = malloc(CSV_MAX_LINE + 2), *f[MAX_COLS];
    size_t cap = 0;
    long lineno = 0;
    bool ok = t && line;
    if (!ok)
        fail(err, en, "%s: out of memory", path);
    int got;
    while (ok && (got = next_line(fp, line, CSV_MAX_LINE + 2)) != 0) {
        lineno++;
        if (got < 0) {
            fail(err, en, "%s:%ld: the line is longer than %d bytes", path, lineno, CSV_MAX_LINE);
            ok = false;
            break;
        }
        chomp(line);
        if (blank(line))
            continue;
        int n = split(line, f, MAX_COLS);
        if (n > MAX_COLS) {
            fail(err, en, "%s:%ld: more than %d fields", path, lineno, MAX_COLS);
            ok = false;
        } else if (!t->names) {
            t->names = calloc((size_t)n, sizeof *t->names);
            ok = t->names != NULL;
            for (int i = 0; ok && i < n; i++) {
                ok = (t->names[i] = strdup(f[i])) != NULL;
                t->n_cols = i + 1;
            }
            if (!ok)
                fail(err, en, "%s: out of memory", path);
        } else {
            ok = add_row(t, &cap, f, n, path, lineno, err, en);
        }
    }
    if (ok && ferror(fp)) {
        fail(err, en, "cannot read %s: %s", path, strerror(errno));
        ok = false;
    }
    if (ok && !t->names) {
        fail(err, en, "%s: empty (no header line)", path);
        ok = false;
    }
    free(line);
    fclose(fp);
    if (!ok) {
        csv_free(t);
        return NULL;
    }
    return t;
}
