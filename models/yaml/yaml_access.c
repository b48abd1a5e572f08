/* yaml_access.c — walking a YAML tree and reading typed scalars, with errors
 * that give file:line:column and the key's path. */
#include "suggest.h"
#include "yaml_doc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *bp_yd_kind_name(bp_yd_kind k)
{
    switch (k) {
    case BP_YD_SCALAR: return "a scalar";
    case BP_YD_SEQ: return "a sequence";
    case BP_YD_MAP: return "a mapping";
    }
    return "a node";
}

bool bp_yd_is_null(const bp_yd_node *n)
{
    if (!n || n->kind != BP_YD_SCALAR || !n->plain)
        return false;
    const char *t = n->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
           !strcmp(t, "NULL");
}

const bp_yd_node *bp_yd_get(const bp_yd_node *map, const char *key)
{
    if (!map || map->kind != BP_YD_MAP)
        return NULL;
    size_t len = strlen(key);
    for (int i = 0; i < map->n; i++)
        if (map->keys[i]->len == len && memcmp(map->keys[i]->text, key, len) == 0)
            return map->items[i];
    return NULL;
}

static void path_into(const bp_yd_node *n, char *buf, size_t size, size_t *used)
{
    if (!n || !n->parent)
        return;
    path_into(n->parent, buf, size, used);
    if (*used >= size)
        return;
    if (n->key)
        *used += (size_t)snprintf(buf + *used, size - *used, "%s%s", *used ? "." : "", n->key);
    else if (n->index >= 0)
        *used += (size_t)snprintf(buf + *used, size - *used, "[%d]", n->index);
}

char *bp_yd_path(const bp_yd_node *n, char *buf, size_t size)
{
    size_t used = 0;
    if (size)
        buf[0] = '\0';
    path_into(n, buf, size, &used);
    return buf;
}

bp_status bp_yd_fail(const bp_yd_node *n, bp_status st, bp_error *err, const char *fmt, ...)
{
    char at[1280]; /* a path of up to BP_PATH_MAX bytes, a line and a column */
    snprintf(at, sizeof at, "%s:%d:%d", n->file, n->line, n->col);
    va_list ap;
    va_start(ap, fmt);
    bp_status s = bp_error_vset(err, st, at, fmt, ap);
    va_end(ap);
    return s;
}

/* "'model.layers[0]'" or "the top level" */
static const char *where(const bp_yd_node *n, char *buf, size_t size)
{
    char p[256];
    bp_yd_path(n, p, sizeof p);
    if (!p[0])
        snprintf(buf, size, "the top level");
    else
        snprintf(buf, size, "'%s'", p);
    return buf;
}

/* What a node is, for "must be X, not Y": "a mapping", "null", "'abc'" (cut,
 * with control characters shown as '?'). */
static const char *what(const bp_yd_node *n, char *buf, size_t size)
{
    if (n->kind != BP_YD_SCALAR)
        snprintf(buf, size, "%s", bp_yd_kind_name(n->kind));
    else if (bp_yd_is_null(n))
        snprintf(buf, size, "null");
    else {
        char t[64];
        size_t k = 0;
        for (size_t i = 0; i < n->len && k < 40; i++)
            t[k++] = (unsigned char)n->text[i] < 0x20 ? '?' : n->text[i];
        t[k] = '\0';
        snprintf(buf, size, "%s'%s%s'", n->plain ? "" : "the quoted string ", t,
                 n->len > 40 ? "..." : "");
    }
    return buf;
}

bp_status bp_yd_expect(const bp_yd_node *n, bp_yd_kind kind, bp_error *err)
{
    if (n->kind == kind && !(kind == BP_YD_SCALAR && bp_yd_is_null(n)))
        return BP_OK;
    char w[300], x[100];
    if (!n->parent)
        return bp_yd_fail(n, BP_ERR_PARSE, err, "the document must be %s, not %s",
                          bp_yd_kind_name(kind), what(n, x, sizeof x));
    return bp_yd_fail(n, BP_ERR_PARSE, err, "%s must be %s, not %s", where(n, w, sizeof w),
                      bp_yd_kind_name(kind), what(n, x, sizeof x));
}

bp_status bp_yd_check_keys(const bp_yd_node *map, const char *const known[], int n_known,
                           bp_error *err)
{
    bp_status s = bp_yd_expect(map, BP_YD_MAP, err);
    if (s != BP_OK)
        return s;
    for (int i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->text;
        bool found = false;
        for (int j = 0; n_known < 0 ? known[j] != NULL : j < n_known; j++)
            if (strcmp(known[j], k) == 0)
                found = true;
        if (found)
            continue;
        char hint[320], w[300];
        bp_suggest_known(hint, sizeof hint, k, known, n_known);
        where(map, w, sizeof w);
        return bp_yd_fail(map->keys[i], BP_ERR_NAME, err, "unknown key '%.100s' %s %s (%s)", k,
                          map->parent ? "in" : "at", w, hint);
    }
    return BP_OK;
}

bp_status bp_yd_require(const bp_yd_node *map, const char *key, const bp_yd_node **out,
                        bp_error *err)
{
    if (!map)
        return bp_error_set(err, BP_ERR_PARSE, "missing the required key '%s'", key);
    bp_status s = bp_yd_expect(map, BP_YD_MAP, err);
    if (s != BP_OK)
        return s;
    const bp_yd_node *v = bp_yd_get(map, key);
    if (!v) {
        char w[300];
        return bp_yd_fail(map, BP_ERR_PARSE, err, "%s is missing the required key '%s'",
                          where(map, w, sizeof w), key);
    }
    *out = v;
    return BP_OK;
}

/* ---------------------------------------------------------------- typed scalars */

static bp_status wrong(const bp_yd_node *n, const char *want, bp_error *err)
{
    char w[300], x[100];
    return bp_yd_fail(n, BP_ERR_PARSE, err, "%s must be %s, not %s", where(n, w, sizeof w), want,
                      what(n, x, sizeof x));
}

/* Plain decimal: [-+]?[0-9]+ */
static bool int_syntax(const char *t)
{
    if (*t == '-' || *t == '+')
        t++;
    if (!*t)
        return false;
    for (; *t; t++)
        if (*t < '0' || *t > '9')
            return false;
    return true;
}

bp_status bp_yd_int(const bp_yd_node *n, long long lo, long long hi, long long *out,
                    bp_error *err)
{
    if (n->kind != BP_YD_SCALAR || !n->plain || !int_syntax(n->text))
        return wrong(n, "an integer", err);
    errno = 0;
    long long v = strtoll(n->text, NULL, 10);
    bool over = errno == ERANGE;
    char w[300];
    if ((over && v > 0) || v > hi)
        return bp_yd_fail(n, BP_ERR_VALUE, err, "%s is %.40s, too large (at most %lld)",
                          where(n, w, sizeof w), n->text, hi);
    if ((over && v < 0) || v < lo)
        return bp_yd_fail(n, BP_ERR_VALUE, err, "%s is %.40s, too small (at least %lld)",
                          where(n, w, sizeof w), n->text, lo);
    *out = v;
    return BP_OK;
}

/* Plain decimal with optional fraction and exponent, or YAML's .inf / .nan. */
static bool number_syntax(const char *t)
{
    if (*t == '-' || *t == '+')
        t++;
    bool digits = false;
    while (*t >= '0' && *t <= '9') {
        t++;
        digits = true;
    }
    if (*t == '.') {
        t++;
        while (*t >= '0' && *t <= '9') {
            t++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    if (*t == 'e' || *t == 'E') {
        t++;
        if (*t == '-' || *t == '+')
            t++;
        if (*t < '0' || *t > '9')
            return false;
        while (*t >= '0' && *t <= '9')
            t++;
    }
    return *t == '\0';
}

static bool nonfinite_syntax(const char *t)
{
    if (*t == '-' || *t == '+')
        t++;
    static const char *const forms[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN",
                                        "inf",  "nan",  "Infinity", "NaN"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (strcmp(t, forms[i]) == 0)
            return true;
    return false;
}

bp_status bp_yd_double(const bp_yd_node *n, double lo, double hi, double *out, bp_error *err)
{
    char w[300];
    if (n->kind == BP_YD_SCALAR && n->plain && nonfinite_syntax(n->text))
        return bp_yd_fail(n, BP_ERR_NONFINITE, err, "%s must be a finite number, not %.40s",
                          where(n, w, sizeof w), n->text);
    if (n->kind != BP_YD_SCALAR || !n->plain || !number_syntax(n->text))
        return wrong(n, "a number", err);
    double v = strtod(n->text, NULL);
    if (!isfinite(v))
        return bp_yd_fail(n, BP_ERR_NONFINITE, err, "%s is %.40s, too large for a number",
                          where(n, w, sizeof w), n->text);
    if (v > hi)
        return bp_yd_fail(n, BP_ERR_VALUE, err, "%s is %.40s, too large (at most %g)",
                          where(n, w, sizeof w), n->text, hi);
    if (v < lo)
        return bp_yd_fail(n, BP_ERR_VALUE, err, "%s is %.40s, too small (at least %g)",
                          where(n, w, sizeof w), n->text, lo);
    *out = v;
    return BP_OK;
}

bp_status bp_yd_bool(const bp_yd_node *n, bool *out, bp_error *err)
{
    if (n->kind == BP_YD_SCALAR && n->plain) {
        const char *t = n->text;
        if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE")) {
            *out = true;
            return BP_OK;
        }
        if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE")) {
            *out = false;
            return BP_OK;
        }
    }
    return wrong(n, "true or false", err);
}

bp_status bp_yd_string(const bp_yd_node *n, const char **out, bp_error *err)
{
    if (n->kind != BP_YD_SCALAR || bp_yd_is_null(n))
        return wrong(n, "a string", err);
    *out = n->text;
    return BP_OK;
}

bp_status bp_yd_enum(const bp_yd_node *n, const char *const names[], int n_names, int *out,
                     bp_error *err)
{
    const char *t = "";
    bp_status s = bp_yd_string(n, &t, err);
    if (s != BP_OK)
        return s;
    for (int i = 0; n_names < 0 ? names[i] != NULL : i < n_names; i++)
        if (strcmp(names[i], t) == 0) {
            *out = i;
            return BP_OK;
        }
    char hint[320], w[300];
    bp_suggest_known(hint, sizeof hint, t, names, n_names);
    return bp_yd_fail(n, BP_ERR_NAME, err, "unknown value '%.100s' for %s (%s)", t,
                      where(n, w, sizeof w), hint);
}

/* ---------------------------------------------------------------- under a key, with a default */

bp_status bp_yd_get_int(const bp_yd_node *map, const char *key, long long def, long long lo,
                        long long hi, long long *out, bp_error *err)
{
    const bp_yd_node *v = bp_yd_get(map, key);
    if (!v) {
        *out = def;
        return BP_OK;
    }
    return bp_yd_int(v, lo, hi, out, err);
}

bp_status bp_yd_get_double(const bp_yd_node *map, const char *key, double def, double lo,
                           double hi, double *out, bp_error *err)
{
    const bp_yd_node *v = bp_yd_get(map, key);
    if (!v) {
        *out = def;
        return BP_OK;
    }
    return bp_yd_double(v, lo, hi, out, err);
}

bp_status bp_yd_get_bool(const bp_yd_node *map, const char *key, bool def, bool *out,
                         bp_error *err)
{
    const bp_yd_node *v = bp_yd_get(map, key);
    if (!v) {
        *out = def;
        return BP_OK;
    }
    return bp_yd_bool(v, out, err);
}

bp_status bp_yd_get_string(const bp_yd_node *map, const char *key, const char *def,
                           const char **out, bp_error *err)
{
    const bp_yd_node *v = bp_yd_get(map, key);
    if (!v) {
        *out = def;
        return BP_OK;
    }
    return bp_yd_string(v, out, err);
}

bp_status bp_yd_get_enum(const bp_yd_node *map, const char *key, int def,
                         const char *const names[], int n_names, int *out, bp_error *err)
{
    const bp_yd_node *v = bp_yd_get(map, key);
    if (!v) {
        *out = def;
        return BP_OK;
    }
    return bp_yd_enum(v, names, n_names, out, err);
}
