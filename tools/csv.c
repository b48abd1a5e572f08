/* csv.c — see csv.h. */
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

enum { MAX_COLS = 256 };

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

csv_table *csv_read(const char *path, char *err, size_t en)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fail(err, en, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    csv_table *t = calloc(1, sizeof *t);
    char *line = NULL, *f[MAX_COLS];
    size_t lcap = 0, cap = 0;
    long lineno = 0;
    bool ok = t != NULL;
    if (!t)
        fail(err, en, "%s: out of memory", path);
    while (ok && getline(&line, &lcap, fp) >= 0) {
        lineno++;
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
