/* yaml_build.c — libyaml's events turned into a bounded tree: the text checked first,
 * then nodes counted (aliases expanded) against the limits, depth bounded, anchors
 * resolved, duplicate keys, tags and merge keys refused; every error at file:line:col. */
#include "json.h"
#include "yaml_internal.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* 1-based line and column (in characters) of byte offset off. */
static void locate(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n' || (ch == '\r' && (i + 1 >= len || text[i + 1] != '\n'))) {
            (*line)++;
            *col = 1;
        } else if ((ch & 0xC0) != 0x80 && ch != '\r')
            (*col)++;
    }
}

/* Before libyaml sees it: UTF-8, no control characters, no tabs in
 * indentation. libyaml reports most of these without a line and column. */
static bp_status scan_text(const char *file, const char *text, size_t len, bp_error *err)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    size_t line = 1, col = 1;
    bool indent = true;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a byte-order mark */
    while (p < end) {
        unsigned char ch = *p;
        if (ch == '\n' || ch == '\r') {
            if (ch == '\r' && p + 1 < end && p[1] == '\n')
                p++;
            p++;
            line++;
            col = 1;
            indent = true;
            continue;
        }
        if (ch == '\t' && indent)
            return bp_yd_fail_at(err, BP_ERR_PARSE, file, line, col,
                           "found a tab character in the indentation (YAML indents with spaces)");
        if (ch == ' ' || ch == '\t') {
            p++;
            col++;
            continue;
        }
        indent = false;
        if (ch == 0)
            return bp_yd_fail_at(err, BP_ERR_PARSE, file, line, col,
                           "found a NUL byte (is this a binary or UTF-16 file?)");
        if (ch < 0x20 || ch == 0x7f)
            return bp_yd_fail_at(err, BP_ERR_PARSE, file, line, col,
                           "found the control character 0x%02x", ch);
        size_t n = bp_json_utf8_char(p, end);
        if (!n)
            return bp_yd_fail_at(err, BP_ERR_PARSE, file, line, col,
                           "invalid UTF-8 byte 0x%02x (the file must be UTF-8 text)", ch);
        if (n == 2 && p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F && p[1] != 0x85)
            return bp_yd_fail_at(err, BP_ERR_PARSE, file, line, col,
                           "found the control character U+%04X", p[1]);
        if (n == 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] >= 0xBE)
            return bp_yd_fail_at(err, BP_ERR_PARSE, file, line, col, "found the non-character U+FFF%X",
                           p[2] - 0xB0);
        p += n;
        col++;
    }
    return BP_OK;
}

/* ---------------------------------------------------------------- building the tree */

typedef struct frame {
    bp_yd_node *node;
    bp_yd_node **items, **keys;
    int n, nkeys, cap;
    char *anchor;
} frame;

typedef struct anchor {
    const char *name;
    bp_yd_node *node;
} anchor;

typedef struct builder {
    bp_yd_doc *doc;
    const char *file; /* label stored in nodes (arena) */
    const char *text;
    size_t len;
    frame *stack;
    int depth, cap;
    anchor *tab;
    size_t tab_cap, tab_n;
    size_t count;
    bp_yd_node *root;
    int docs;
    bp_error *err;
} builder;

static bp_status oom(builder *b)
{
    return bp_error_set(b->err, BP_ERR_NOMEM, "%s: out of memory", b->file);
}

static bp_status fail_mark(builder *b, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bp_status fail_mark(builder *b, yaml_mark_t m, const char *fmt, ...)
{
    char at[1280]; /* a path of up to BP_PATH_MAX bytes, a line and a column */
    snprintf(at, sizeof at, "%s:%zu:%zu", b->file, (size_t)m.line + 1, (size_t)m.column + 1);
    va_list ap;
    va_start(ap, fmt);
    bp_status s = bp_error_vset(b->err, BP_ERR_PARSE, at, fmt, ap);
    va_end(ap);
    return s;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static anchor *anchor_slot(builder *b, const char *name)
{
    size_t mask = b->tab_cap - 1;
    for (size_t i = hash(name) & mask;; i = (i + 1) & mask)
        if (!b->tab[i].name || strcmp(b->tab[i].name, name) == 0)
            return &b->tab[i];
}

static bp_status anchor_put(builder *b, const char *name, bp_yd_node *node)
{
    if (2 * (b->tab_n + 1) > b->tab_cap) { /* keep the table at most half full */
        size_t cap = b->tab_cap ? 2 * b->tab_cap : 64;
        anchor *old = b->tab;
        size_t old_cap = b->tab_cap;
        b->tab = calloc(cap, sizeof *b->tab);
        if (!b->tab) {
            b->tab = old;
            return oom(b);
        }
        b->tab_cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].name)
                *anchor_slot(b, old[i].name) = old[i];
        free(old);
    }
    anchor *a = anchor_slot(b, name);
    if (!a->name)
        b->tab_n++;
    *a = (anchor){name, node}; /* a later anchor of the same name wins */
    return BP_OK;
}

static bp_yd_node *anchor_get(builder *b, const char *name)
{
    if (!b->tab_cap)
        return NULL;
    anchor *a = anchor_slot(b, name);
    return a->name ? a->node : NULL;
}

static size_t sat_add(size_t a, size_t c)
{
    return a > SIZE_MAX / 2 - c ? SIZE_MAX / 2 : a + c;
}

/* Count n more nodes; fail once the document holds too many. */
static bp_status count(builder *b, size_t n, yaml_mark_t m)
{
    b->count = sat_add(b->count, n);
    if (b->count > b->doc->lim.max_nodes)
        return fail_mark(b, m,
                         "the document has more than %zu nodes, counting alias expansions "
                         "(an alias bomb?)",
                         b->doc->lim.max_nodes);
    return BP_OK;
}

static bp_status check_tag(builder *b, const yaml_char_t *tag, yaml_mark_t m)
{
    if (!tag)
        return BP_OK;
    const char *t = (const char *)tag, *std = "tag:yaml.org,2002:";
    bool is_std = strncmp(t, std, strlen(std)) == 0;
    return fail_mark(b, m, "YAML tags are not allowed ('%s%.80s'): a model file is plain data",
                     is_std ? "!!" : "", is_std ? t + strlen(std) : t);
}

/* A new node placed under the current container. */
static bp_yd_node *new_node(builder *b, bp_yd_kind kind, yaml_mark_t m)
{
    bp_yd_node *n = bp_yd_alloc(b->doc, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = (int)m.line + 1;
    n->col = (int)m.column + 1;
    n->file = b->file;
    n->index = -1;
    n->weight = 1;
    if (b->depth) {
        frame *f = &b->stack[b->depth - 1];
        n->parent = f->node;
        if (f->node->kind == BP_YD_SEQ)
            n->index = f->n;
        else if (f->nkeys > f->n) /* a value: its key is the last one read */
            n->key = f->keys[f->nkeys - 1]->text;
    }
    return n;
}

/* Room for one more key and one more item. */
static bp_status reserve(builder *b, frame *f)
{
    int need = (f->n > f->nkeys ? f->n : f->nkeys) + 1;
    if (need <= f->cap)
        return BP_OK;
    int cap = f->cap ? 2 * f->cap : 8;
    bp_yd_node **a = realloc(f->items, (size_t)cap * sizeof *a);
    if (!a)
        return oom(b);
    f->items = a;
    if (f->node->kind == BP_YD_MAP) {
        bp_yd_node **k = realloc(f->keys, (size_t)cap * sizeof *k);
        if (!k)
            return oom(b);
        f->keys = k;
    }
    f->cap = cap;
    return BP_OK;
}

/* Place a finished node (or an alias's target) into the current container. */
static bp_status attach(builder *b, bp_yd_node *n, yaml_mark_t m)
{
    if (!b->depth) {
        b->root = n;
        return BP_OK;
    }
    frame *f = &b->stack[b->depth - 1];
    f->node->weight = sat_add(f->node->weight, n->weight);
    bp_status s = reserve(b, f);
    if (s != BP_OK)
        return s;
    if (f->node->kind == BP_YD_SEQ) {
        f->items[f->n++] = n;
        return BP_OK;
    }
    if (f->nkeys == f->n) { /* a key */
        /* at the key itself (m is where an alias or a collection's end was read) */
        size_t line = (size_t)n->line, col = (size_t)n->col;
        if (n->kind != BP_YD_SCALAR)
            return bp_yd_fail_at(b->err, BP_ERR_PARSE, b->file, line, col,
                           "a mapping key must be a scalar, not %s", bp_yd_kind_name(n->kind));
        if (n->len == 0)
            return fail_mark(b, m, "a mapping key is empty");
        if (n->plain && strcmp(n->text, "<<") == 0)
            return fail_mark(b, m, "merge keys ('<<') are not supported: write the keys out");
        f->keys[f->nkeys++] = n;
        return BP_OK;
    }
    f->items[f->n++] = n;
    return BP_OK;
}

static bp_status open_container(builder *b, bp_yd_kind kind, const yaml_char_t *anchor_name,
                                const yaml_char_t *tag, yaml_mark_t m)
{
    bp_status s = check_tag(b, tag, m);
    if (s == BP_OK)
        s = count(b, 1, m);
    if (s != BP_OK)
        return s;
    if (b->depth >= b->doc->lim.max_depth)
        return fail_mark(b, m, "nested more than %d levels deep", b->doc->lim.max_depth);
    if (b->depth == b->cap) {
        int cap = b->cap ? 2 * b->cap : 16;
        frame *st = realloc(b->stack, (size_t)cap * sizeof *st);
        if (!st)
            return oom(b);
        b->stack = st;
        b->cap = cap;
    }
    bp_yd_node *n = new_node(b, kind, m);
    char *a = anchor_name ? bp_yd_strndup(b->doc, (const char *)anchor_name,
                                          strlen((const char *)anchor_name))
                          : NULL;
    if (!n || (anchor_name && !a))
        return oom(b);
    b->stack[b->depth++] = (frame){.node = n, .anchor = a};
    return BP_OK;
}

typedef struct key_ref {
    const bp_yd_node *key;
    int i;
} key_ref;

static int key_cmp(const void *x, const void *y)
{
    const key_ref *a = x, *c = y;
    size_t n = a->key->len < c->key->len ? a->key->len : c->key->len;
    int r = memcmp(a->key->text, c->key->text, n);
    if (r)
        return r;
    if (a->key->len != c->key->len)
        return a->key->len < c->key->len ? -1 : 1;
    return (a->i > c->i) - (a->i < c->i);
}

/* Each key once: sort, then compare neighbours. */
static bp_status check_duplicates(builder *b, const frame *f)
{
    if (f->nkeys < 2)
        return BP_OK;
    key_ref *r = malloc((size_t)f->nkeys * sizeof *r);
    if (!r)
        return oom(b);
    for (int i = 0; i < f->nkeys; i++)
        r[i] = (key_ref){f->keys[i], i};
    qsort(r, (size_t)f->nkeys, sizeof *r, key_cmp);
    bp_status s = BP_OK;
    for (int i = 1; i < f->nkeys && s == BP_OK; i++)
        if (r[i].key->len == r[i - 1].key->len &&
            memcmp(r[i].key->text, r[i - 1].key->text, r[i].key->len) == 0) {
            const bp_yd_node *first = r[i - 1].key, *again = r[i].key;
            char where[256];
            bp_yd_path(f->node, where, sizeof where);
            s = bp_yd_fail_at(b->err, BP_ERR_PARSE, b->file, (size_t)again->line, (size_t)again->col,
                        "duplicate key '%.100s' %s%s%s (first at line %d, column %d)",
                        again->text, where[0] ? "in '" : "at the top level", where,
                        where[0] ? "'" : "", first->line, first->col);
        }
    free(r);
    return s;
}

static bp_status close_container(builder *b, yaml_mark_t m)
{
    frame *f = &b->stack[b->depth - 1];
    bp_yd_node *n = f->node;
    bp_status s = n->kind == BP_YD_MAP ? check_duplicates(b, f) : BP_OK;
    if (s == BP_OK && f->n) {
        n->items = bp_yd_alloc(b->doc, (size_t)f->n * sizeof *n->items);
        if (n->kind == BP_YD_MAP)
            n->keys = bp_yd_alloc(b->doc, (size_t)f->n * sizeof *n->keys);
        if (!n->items || (n->kind == BP_YD_MAP && !n->keys))
            s = oom(b);
        else {
            memcpy(n->items, f->items, (size_t)f->n * sizeof *n->items);
            if (n->kind == BP_YD_MAP)
                memcpy(n->keys, f->keys, (size_t)f->n * sizeof *n->keys);
        }
    }
    n->n = f->n;
    free(f->items);
    free(f->keys);
    f->items = f->keys = NULL;
    if (s == BP_OK && f->anchor)
        s = anchor_put(b, f->anchor, n);
    b->depth--;
    return s == BP_OK ? attach(b, n, m) : s;
}

static bp_status on_scalar(builder *b, const yaml_event_t *e)
{
    yaml_mark_t m = e->start_mark;
    bp_status s = check_tag(b, e->data.scalar.tag, m);
    if (s == BP_OK)
        s = count(b, 1, m);
    if (s != BP_OK)
        return s;
    const char *v = (const char *)e->data.scalar.value;
    size_t len = e->data.scalar.length;
    if (memchr(v, '\0', len))
        return fail_mark(b, m, "a string holds a NUL character");
    bp_yd_node *n = new_node(b, BP_YD_SCALAR, m);
    if (!n || !(n->text = bp_yd_strndup(b->doc, v, len)))
        return oom(b);
    n->len = len;
    n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (e->data.scalar.anchor) {
        const char *a = (const char *)e->data.scalar.anchor;
        char *name = bp_yd_strndup(b->doc, a, strlen(a));
        if (!name || anchor_put(b, name, n) != BP_OK)
            return oom(b);
    }
    return attach(b, n, m);
}

static bp_status on_alias(builder *b, const yaml_event_t *e)
{
    const char *name = (const char *)e->data.alias.anchor;
    bp_yd_node *n = anchor_get(b, name);
    if (!n)
        return fail_mark(b, e->start_mark, "unknown alias '*%.100s' (no anchor '&%.100s' before it)",
                         name, name);
    bp_status s = count(b, n->weight, e->start_mark);
    n->aliased = true;
    return s == BP_OK ? attach(b, n, e->start_mark) : s;
}

static bp_status on_event(builder *b, const yaml_event_t *e)
{
    switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->docs++)
            return fail_mark(b, e->start_mark,
                             "a second YAML document starts here (a file holds one)");
        return BP_OK;
    case YAML_SCALAR_EVENT: return on_scalar(b, e);
    case YAML_ALIAS_EVENT: return on_alias(b, e);
    case YAML_SEQUENCE_START_EVENT:
        return open_container(b, BP_YD_SEQ, e->data.sequence_start.anchor,
                              e->data.sequence_start.tag, e->start_mark);
    case YAML_MAPPING_START_EVENT:
        return open_container(b, BP_YD_MAP, e->data.mapping_start.anchor,
                              e->data.mapping_start.tag, e->start_mark);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: return close_container(b, e->start_mark);
    default: return BP_OK;
    }
}

static bp_status libyaml_error(builder *b, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return oom(b);
    size_t line, col;
    if (p->error == YAML_READER_ERROR)
        locate(b->text, b->len, p->problem_offset, &line, &col);
    else {
        line = p->problem_mark.line + 1;
        col = p->problem_mark.column + 1;
    }
    const char *problem = p->problem ? p->problem : "syntax error";
    if (p->context && p->error != YAML_READER_ERROR)
        return bp_yd_fail_at(b->err, BP_ERR_PARSE, b->file, line, col, "%s (%s at line %zu, column %zu)",
                       problem, p->context, (size_t)p->context_mark.line + 1,
                       (size_t)p->context_mark.column + 1);
    return bp_yd_fail_at(b->err, BP_ERR_PARSE, b->file, line, col, "%s", problem);
}

bp_status bp_yd_build(bp_yd_doc *doc, const char *file, const char *text, size_t len,
                      bp_yd_node **root, bp_error *err)
{
    bp_status s = scan_text(file, text, len, err);
    if (s != BP_OK)
        return s;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) { /* a BOM: libyaml, told the encoding, */
        text += 3;                                       /* would read it as part of a key */
        len -= 3;
    }
    builder b = {.doc = doc, .file = file, .text = text, .len = len, .err = err};
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return oom(&b);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    for (bool done = false; !done && s == BP_OK;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) {
            s = libyaml_error(&b, &p);
            break;
        }
        done = e.type == YAML_STREAM_END_EVENT;
        s = on_event(&b, &e);
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    for (int i = 0; i < b.depth; i++) {
        free(b.stack[i].items);
        free(b.stack[i].keys);
    }
    free(b.stack);
    free(b.tab);
    *root = s == BP_OK ? b.root : NULL;
    return s;
}
