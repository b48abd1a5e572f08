/* json.c — strict JSON: validate once, then walk values in place. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct checker {
    const char *s, *p, *end;
    int max_depth;
    const char *why;
    const char *bad;
} checker;

static bool fail(checker *c, const char *at, const char *why)
{
    c->bad = at;
    c->why = why;
    return false;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Four hex digits at p (p + 4 <= end checked by the caller). */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char b = p[0];
    if (b < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF)
        n = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0)
            lo = 0xA0; /* no overlongs */
        if (b == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0)
            lo = 0x90;
        if (b == 0xF4)
            hi = 0x8F; /* at most U+10FFFF */
    } else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

size_t bp_json_utf8_char(const unsigned char *p, const unsigned char *end)
{
    return p < end ? utf8_len(p, end) : 0;
}

bool bp_json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        size_t k = utf8_len(p, end);
        if (!k)
            return false;
        p += k;
    }
    return true;
}

static bool check_string(checker *c)
{
    const char *p = c->p + 1; /* after the opening quote */
    while (p < c->end) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            c->p = p + 1;
            return true;
        }
        if (ch < 0x20)
            return fail(c, p, "control character inside a string");
        if (ch == '\\') {
            if (p + 1 >= c->end)
                break;
            char e = p[1];
            if (e && strchr("\"\\/bfnrt", e)) {
                p += 2;
                continue;
            }
            if (e != 'u')
                return fail(c, p, "invalid escape in a string");
            if (c->end - p < 6)
                break;
            long u = hex4(p + 2);
            if (u < 0)
                return fail(c, p, "invalid \\u escape in a string");
            p += 6;
            if (u >= 0xDC00 && u <= 0xDFFF)
                return fail(c, p - 6, "lone low surrogate in a string");
            if (u >= 0xD800 && u <= 0xDBFF) { /* must pair with a low surrogate */
                long lo = (c->end - p >= 6 && p[0] == '\\' && p[1] == 'u') ? hex4(p + 2) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail(c, p - 6, "lone high surrogate in a string");
                p += 6;
            }
            continue;
        }
        size_t n = utf8_len((const unsigned char *)p, (const unsigned char *)c->end);
        if (!n)
            return fail(c, p, "invalid UTF-8 in a string");
        p += n;
    }
    return fail(c, c->end, "unterminated string");
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool check_number(checker *c)
{
    const char *p = c->p, *e = c->end;
    if (p < e && *p == '-')
        p++;
    if (p >= e || !is_digit(*p))
        return fail(c, c->p, "invalid number");
    if (*p == '0')
        p++;
    else
        while (p < e && is_digit(*p))
            p++;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !is_digit(*p))
            return fail(c, p, "invalid number: a digit must follow '.'");
        while (p < e && is_digit(*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !is_digit(*p))
            return fail(c, p, "invalid number: a digit must follow the exponent");
        while (p < e && is_digit(*p))
            p++;
    }
    if (p < e && is_digit(*p))
        return fail(c, p, "invalid number: leading zero");
    c->p = p;
    return true;
}

static bool check_literal(checker *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return fail(c, c->p, "invalid literal (expected a value)");
    c->p += n;
    return true;
}

static bool check_value(checker *c, int depth);

static bool check_container(checker *c, int depth, char close)
{
    if (depth >= c->max_depth)
        return fail(c, c->p, "nested too deeply");
    c->p = skip_ws(c->p + 1, c->end);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return true;
    }
    for (;;) {
        if (close == '}') {
            if (c->p >= c->end || *c->p != '"')
                return fail(c, c->p, "expected a string key");
            if (!check_string(c))
                return false;
            c->p = skip_ws(c->p, c->end);
            if (c->p >= c->end || *c->p != ':')
                return fail(c, c->p, "expected ':' after a key");
            c->p = skip_ws(c->p + 1, c->end);
        }
        if (!check_value(c, depth + 1))
            return false;
        c->p = skip_ws(c->p, c->end);
        if (c->p < c->end && *c->p == ',') {
            c->p = skip_ws(c->p + 1, c->end);
            continue;
        }
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return true;
        }
        return fail(c, c->p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool check_value(checker *c, int depth)
{
    if (c->p >= c->end)
        return fail(c, c->p, "unexpected end (expected a value)");
    switch (*c->p) {
    case '{': return check_container(c, depth, '}');
    case '[': return check_container(c, depth, ']');
    case '"': return check_string(c);
    case 't': return check_literal(c, "true");
    case 'f': return check_literal(c, "false");
    case 'n': return check_literal(c, "null");
    default:
        if (*c->p == '-' || is_digit(*c->p))
            return check_number(c);
        return fail(c, c->p, "unexpected character (expected a value)");
    }
}

bool bp_json_check(const char *text, size_t n, int max_depth, size_t *bad_at, const char **why)
{
    checker c = {.s = text, .p = text, .end = text + n, .max_depth = max_depth};
    c.p = skip_ws(c.p, c.end);
    bool ok = check_value(&c, 0);
    if (ok) {
        c.p = skip_ws(c.p, c.end);
        if (c.p != c.end)
            ok = fail(&c, c.p, "unexpected text after the value");
    }
    if (!ok) {
        if (bad_at)
            *bad_at = (size_t)(c.bad - text);
        if (why)
            *why = c.why;
    }
    return ok;
}

/* ---------------------------------------------------------------- walking checked text */

bp_json_val bp_json_root(const char *text, size_t n)
{
    return (bp_json_val){skip_ws(text, text + n), text + n};
}

bp_json_type bp_json_type_of(bp_json_val v)
{
    switch (*v.p) {
    case '{': return BP_JSON_OBJECT;
    case '[': return BP_JSON_ARRAY;
    case '"': return BP_JSON_STRING;
    case 't':
    case 'f': return BP_JSON_BOOL;
    case 'n': return BP_JSON_NULL;
    default: return BP_JSON_NUMBER;
    }
}

const char *bp_json_type_name(bp_json_type t)
{
    switch (t) {
    case BP_JSON_NULL: return "null";
    case BP_JSON_BOOL: return "a boolean";
    case BP_JSON_NUMBER: return "a number";
    case BP_JSON_STRING: return "a string";
    case BP_JSON_ARRAY: return "an array";
    case BP_JSON_OBJECT: return "an object";
    }
    return "a value";
}

/* The character after the (valid) value at p. */
static const char *skip_value(const char *p, const char *end)
{
    if (*p == '"') {
        for (p++; *p != '"'; p++)
            if (*p == '\\')
                p++;
        return p + 1;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < end; p++) {
            if (*p == '"')
                p = skip_value(p, end) - 1;
            else if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
        }
        return end;
    }
    while (p < end && !strchr(",]} \t\n\r", *p))
        p++;
    return p;
}

bp_json_iter bp_json_iter_begin(bp_json_val container)
{
    return (bp_json_iter){container.p + 1, container.end, true};
}

/* Move past whitespace and one separating comma; false at the closing bracket. */
static bool iter_step(bp_json_iter *it)
{
    it->p = skip_ws(it->p, it->end);
    if (!it->first && *it->p == ',')
        it->p = skip_ws(it->p + 1, it->end);
    it->first = false;
    return *it->p != '}' && *it->p != ']';
}

bool bp_json_next_member(bp_json_iter *it, bp_json_val *key, bp_json_val *val)
{
    if (!iter_step(it))
        return false;
    *key = (bp_json_val){it->p, it->end};
    it->p = skip_ws(skip_value(it->p, it->end), it->end) + 1; /* past ':' */
    it->p = skip_ws(it->p, it->end);
    *val = (bp_json_val){it->p, it->end};
    it->p = skip_value(it->p, it->end);
    return true;
}

size_t bp_json_count_members(bp_json_val object)
{
    size_t n = 0;
    bp_json_val k, v;
    bp_json_iter it = bp_json_iter_begin(object);
    while (bp_json_next_member(&it, &k, &v))
        n++;
    return n;
}

bool bp_json_next_item(bp_json_iter *it, bp_json_val *val)
{
    if (!iter_step(it))
        return false;
    *val = (bp_json_val){it->p, it->end};
    it->p = skip_value(it->p, it->end);
    return true;
}

/* Decode the checked string at s into out (which has room for the raw length);
 * returns the decoded length. */
static size_t decode(bp_json_val s, char *out)
{
    size_t n = 0;
    for (const char *p = s.p + 1; *p != '"';) {
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        char e = p[1];
        p += 2;
        switch (e) {
        case 'b': out[n++] = '\b'; continue;
        case 'f': out[n++] = '\f'; continue;
        case 'n': out[n++] = '\n'; continue;
        case 'r': out[n++] = '\r'; continue;
        case 't': out[n++] = '\t'; continue;
        case 'u': break;
        default: out[n++] = e; continue; /* " \ / */
        }
        unsigned long u = (unsigned long)hex4(p);
        p += 4;
        if (u >= 0xD800 && u <= 0xDBFF) { /* U = 0x10000 + (hi - 0xD800) * 0x400 + (lo - 0xDC00) */
            unsigned long lo = (unsigned long)hex4(p + 2);
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        if (u < 0x80)
            out[n++] = (char)u;
        else if (u < 0x800) {
            out[n++] = (char)(0xC0 | (u >> 6));
            out[n++] = (char)(0x80 | (u & 0x3F));
        } else if (u < 0x10000) {
            out[n++] = (char)(0xE0 | (u >> 12));
            out[n++] = (char)(0x80 | ((u >> 6) & 0x3F));
            out[n++] = (char)(0x80 | (u & 0x3F));
        } else {
            out[n++] = (char)(0xF0 | (u >> 18));
            out[n++] = (char)(0x80 | ((u >> 12) & 0x3F));
            out[n++] = (char)(0x80 | ((u >> 6) & 0x3F));
            out[n++] = (char)(0x80 | (u & 0x3F));
        }
    }
    return n;
}

char *bp_json_strdup(bp_json_val s, size_t *len)
{
    size_t raw = (size_t)(skip_value(s.p, s.end) - s.p); /* decoding never grows a string */
    char *out = malloc(raw + 1);
    if (!out)
        return NULL;
    size_t n = decode(s, out);
    out[n] = '\0';
    if (len)
        *len = n;
    return out;
}

bool bp_json_str_eq(bp_json_val s, const char *lit)
{
    size_t n = strlen(lit), raw = (size_t)(skip_value(s.p, s.end) - s.p);
    if (raw - 2 == n && memcmp(s.p + 1, lit, n) == 0) /* the common case: no escapes */
        return true;
    if (raw - 2 < n) /* escapes only shrink */
        return false;
    size_t dn = 0;
    char *d = bp_json_strdup(s, &dn);
    bool eq = d && dn == n && memcmp(d, lit, n) == 0;
    free(d);
    return eq;
}

bool bp_json_get_u64(bp_json_val v, uint64_t *out)
{
    const char *p = v.p;
    if (!is_digit(*p))
        return false;
    uint64_t x = 0;
    for (; p < v.end && is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    if (p < v.end && (*p == '.' || *p == 'e' || *p == 'E'))
        return false;
    *out = x;
    return true;
}
