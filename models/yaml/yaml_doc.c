/* yaml_doc.c — reading a YAML file into a bounded tree with libyaml's event
 * parser, and --set overrides. Accessors are in yaml_access.c. */
#include "yaml_doc.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* ---------------------------------------------------------------- the document's arena */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk;

struct bp_yd_doc {
    char *file;
    bp_yd_node *root;
    chunk *arena;
    bp_yd_limits lim;
};

static void *arena_alloc(bp_yd_doc *d, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    chunk *c = d->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = d->arena;
        c->used = 0;
        c->cap = cap;
        d->arena = c;
    }
    void *p = (unsigned char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

static char *arena_strndup(bp_yd_doc *d, const char *s, size_t n)
{
    char *p = arena_alloc(d, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void bp_yd_free(bp_yd_doc *doc)
{
    if (!doc)
        return;
    for (chunk *c = doc->arena, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(doc->file);
    free(doc);
}

const bp_yd_node *bp_yd_root(const bp_yd_doc *doc)
{
    return doc->root;
}

const char *bp_yd_file(const bp_yd_doc *doc)
{
    return doc->file;
}

/* ---------------------------------------------------------------- errors at a place */

static bp_status fail_at(bp_error *err, bp_status st, const char *file, size_t line, size_t col,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static bp_status fail_at(bp_error *err, bp_status st, const char *file, size_t line, size_t col,
                         const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bp_error_set(err, st, "%s:%zu:%zu: %s", file, line, col, msg);
}

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
            return fail_at(err, BP_ERR_PARSE, file, line, col,
                           "found a tab character in the indentation (YAML indents with spaces)");
        if (ch == ' ' || ch == '\t') {
            p++;
            col++;
            continue;
        }
        indent = false;
        if (ch == 0)
            return fail_at(err, BP_ERR_PARSE, file, line, col,
                           "found a NUL byte (is this a binary or UTF-16 file?)");
        if (ch < 0x20 || ch == 0x7f)
            return fail_at(err, BP_ERR_PARSE, file, line, col,
                           "found the control character 0x%02x", ch);
        size_t n = bp_json_utf8_char(p, end);
        if (!n)
            return fail_at(err, BP_ERR_PARSE, file, line, col,
                           "invalid UTF-8 byte 0x%02x (the file must be UTF-8 text)", ch);
        if (n == 2 && p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F && p[1] != 0x85)
            return fail_at(err, BP_ERR_PARSE, file, line, col,
                           "found the control character U+%04X", p[1]);
        if (n == 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] >= 0xBE)
            return fail_at(err, BP_ERR_PARSE, file, line, col, "found the non-character U+FFF%X",
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
    char msg[sizeof b->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail_at(b->err, BP_ERR_PARSE, b->file, m.line + 1, m.column + 1, "%s", msg);
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
    bp_yd_node *n = arena_alloc(b->doc, sizeof *n);
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
            return fail_at(b->err, BP_ERR_PARSE, b->file, line, col,
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
    char *a = anchor_name ? arena_strndup(b->doc, (const char *)anchor_name,
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
            s = fail_at(b->err, BP_ERR_PARSE, b->file, (size_t)again->line, (size_t)again->col,
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
        n->items = arena_alloc(b->doc, (size_t)f->n * sizeof *n->items);
        if (n->kind == BP_YD_MAP)
            n->keys = arena_alloc(b->doc, (size_t)f->n * sizeof *n->keys);
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
    if (!n || !(n->text = arena_strndup(b->doc, v, len)))
        return oom(b);
    n->len = len;
    n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (e->data.scalar.anchor) {
        const char *a = (const char *)e->data.scalar.anchor;
        char *name = arena_strndup(b->doc, a, strlen(a));
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
        return fail_at(b->err, BP_ERR_PARSE, b->file, line, col, "%s (%s at line %zu, column %zu)",
                       problem, p->context, (size_t)p->context_mark.line + 1,
                       (size_t)p->context_mark.column + 1);
    return fail_at(b->err, BP_ERR_PARSE, b->file, line, col, "%s", problem);
}

/* Parse text into nodes in doc's arena; *root may be NULL (no document). */
static bp_status build(bp_yd_doc *doc, const char *file, const char *text, size_t len,
                       bp_yd_node **root, bp_error *err)
{
    builder b = {.doc = doc, .file = file, .text = text, .len = len, .err = err};
    bp_status s = scan_text(file, text, len, err);
    if (s != BP_OK)
        return s;
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

static bp_yd_doc *new_doc(const char *name, const bp_yd_limits *lim, bp_error *err)
{
    bp_yd_doc *d = calloc(1, sizeof *d);
    if (!d || !(d->file = strdup(name))) {
        free(d);
        bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    d->lim = lim ? *lim
                 : (bp_yd_limits){BP_YD_MAX_BYTES, BP_YD_MAX_DEPTH, BP_YD_MAX_NODES};
    return d;
}

bp_yd_doc *bp_yd_load_string(const char *name, const char *text, size_t len,
                             const bp_yd_limits *lim, bp_error *err)
{
    bp_error local;
    if (!err)
        err = &local;
    bp_yd_doc *d = new_doc(name, lim, err);
    if (!d)
        return NULL;
    bp_status s = BP_OK;
    if (len > d->lim.max_bytes)
        s = fail_at(err, BP_ERR_PARSE, name, 1, 1,
                    "the file is %zu bytes, larger than the limit of %zu bytes", len,
                    d->lim.max_bytes);
    else
        s = build(d, d->file, text, len, &d->root, err);
    if (s == BP_OK && (!d->root || bp_yd_is_null(d->root))) {
        bool blank = true;
        for (size_t i = 0; i < len && blank; i++)
            blank = strchr(" \t\r\n", text[i]) != NULL;
        s = fail_at(err, BP_ERR_PARSE, name, 1, 1, "%s",
                    blank ? "the file is empty"
                          : "the file holds no YAML content (only comments or a null document)");
    }
    if (s != BP_OK) {
        bp_yd_free(d);
        return NULL;
    }
    return d;
}

bp_yd_doc *bp_yd_load_file(const char *path, const bp_yd_limits *lim, bp_error *err)
{
    size_t cap = lim ? lim->max_bytes : BP_YD_MAX_BYTES;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        bp_error_set(err, BP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    bp_status s = BP_OK;
    if (fstat(fd, &st) != 0)
        s = bp_error_set(err, BP_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        s = fail_at(err, BP_ERR_PARSE, path, 1, 1, "is a directory, not a YAML file");
    else if (!S_ISREG(st.st_mode))
        s = fail_at(err, BP_ERR_PARSE, path, 1, 1, "is not a regular file");
    else if ((uint64_t)st.st_size > cap)
        s = fail_at(err, BP_ERR_PARSE, path, 1, 1,
                    "the file is %llu bytes, larger than the limit of %zu bytes",
                    (unsigned long long)st.st_size, cap);
    else if (!(text = malloc(cap + 1)))
        s = bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", path);
    while (s == BP_OK && len <= cap) { /* read to the end, or one byte past the cap */
        ssize_t r = read(fd, text + len, cap + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            s = bp_error_set(err, BP_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        else if (r == 0)
            break;
        else
            len += (size_t)r;
    }
    close(fd);
    if (s == BP_OK && len > cap)
        s = fail_at(err, BP_ERR_PARSE, path, 1, 1, "the file is larger than the limit of %zu bytes",
                    cap);
    bp_yd_doc *d = s == BP_OK ? bp_yd_load_string(path, text, len, lim, err) : NULL;
    free(text);
    return d;
}

/* ---------------------------------------------------------------- --set overrides */

static bp_status set_fail(bp_error *err, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bp_status set_fail(bp_error *err, const char *label, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bp_error_set(err, BP_ERR_VALUE, "%s: %s", label, msg);
}

/* Add key -> value at the end of map (arrays are copied one longer). */
static bool map_append(bp_yd_doc *d, bp_yd_node *map, const char *label, const char *key,
                       size_t klen, bp_yd_node *value)
{
    bp_yd_node **items = arena_alloc(d, ((size_t)map->n + 1) * sizeof *items);
    bp_yd_node **keys = arena_alloc(d, ((size_t)map->n + 1) * sizeof *keys);
    bp_yd_node *k = arena_alloc(d, sizeof *k);
    char *text = arena_strndup(d, key, klen);
    if (!items || !keys || !k || !text)
        return false;
    if (map->n) {
        memcpy(items, map->items, (size_t)map->n * sizeof *items);
        memcpy(keys, map->keys, (size_t)map->n * sizeof *keys);
    }
    *k = (bp_yd_node){.kind = BP_YD_SCALAR, .line = 1, .col = 1, .file = label, .parent = map,
                      .index = -1, .text = text, .len = klen, .plain = true, .weight = 1};
    value->parent = map;
    value->key = text;
    value->index = -1;
    keys[map->n] = k;
    items[map->n] = value;
    map->items = items;
    map->keys = keys;
    map->n++;
    return true;
}

bp_status bp_yd_set(bp_yd_doc *d, const char *assignment, bp_error *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return bp_error_set(err, BP_ERR_VALUE, "--set expects key.path=value, not '%.200s'",
                            assignment);
    size_t plen = (size_t)(eq - assignment);
    char *label = arena_alloc(d, plen + 8);
    if (!label)
        return bp_error_set(err, BP_ERR_NOMEM, "--set: out of memory");
    snprintf(label, plen + 8, "--set %.*s", (int)plen, assignment);
    bp_yd_node *value = NULL;
    bp_status s = build(d, label, eq + 1, strlen(eq + 1), &value, err);
    if (s != BP_OK)
        return s;
    if (!value) { /* "key=" : an empty plain scalar, i.e. null */
        value = arena_alloc(d, sizeof *value);
        char *empty = arena_strndup(d, "", 0);
        if (!value || !empty)
            return bp_error_set(err, BP_ERR_NOMEM, "--set: out of memory");
        *value = (bp_yd_node){.kind = BP_YD_SCALAR, .line = 1, .col = 1, .file = label,
                              .index = -1, .text = empty, .plain = true, .weight = 1};
    }
    bp_yd_node *cur = d->root;
    const char *p = assignment;
    while (p < eq) {
        if (*p == '[') { /* [index] */
            char *end;
            long i = strtol(p + 1, &end, 10);
            if (end == p + 1 || *end != ']' || end > eq)
                return set_fail(err, label, "bad index in the path at '%.*s'", (int)(eq - p), p);
            if (cur->kind != BP_YD_SEQ)
                return set_fail(err, label, "[%ld] needs a sequence, but %s:%d:%d is %s", i,
                                cur->file, cur->line, cur->col, bp_yd_kind_name(cur->kind));
            if (i < 0 || i >= cur->n)
                return set_fail(err, label, "index %ld is out of range (the sequence at %s:%d:%d "
                                "has %d items)", i, cur->file, cur->line, cur->col, cur->n);
            p = end + 1;
            if (p == eq) {
                value->parent = cur;
                value->index = (int)i;
                cur->items[i] = value;
                return BP_OK;
            }
            cur = cur->items[i];
            if (*p == '.')
                p++;
            continue;
        }
        size_t klen = strcspn(p, ".[=");
        if (klen == 0)
            return set_fail(err, label, "empty key in the path");
        if (cur->kind != BP_YD_MAP)
            return set_fail(err, label, "'%.*s' needs a mapping, but %s:%d:%d is %s", (int)klen,
                            p, cur->file, cur->line, cur->col, bp_yd_kind_name(cur->kind));
        bool last = p + klen == eq;
        bp_yd_node *next = NULL;
        int at = -1;
        for (int i = 0; i < cur->n && at < 0; i++)
            if (cur->keys[i]->len == klen && memcmp(cur->keys[i]->text, p, klen) == 0)
                at = i;
        if (at >= 0 && last) {
            value->parent = cur;
            value->key = cur->keys[at]->text;
            value->index = -1;
            cur->items[at] = value;
            return BP_OK;
        }
        if (at >= 0)
            next = cur->items[at];
        else {
            next = last ? value : arena_alloc(d, sizeof *next);
            if (!next)
                return bp_error_set(err, BP_ERR_NOMEM, "--set: out of memory");
            if (!last)
                *next = (bp_yd_node){.kind = BP_YD_MAP, .line = 1, .col = 1, .file = label,
                                     .index = -1, .weight = 1};
            if (!map_append(d, cur, label, p, klen, next))
                return bp_error_set(err, BP_ERR_NOMEM, "--set: out of memory");
            if (last)
                return BP_OK;
        }
        cur = next;
        p += klen;
        if (*p == '.')
            p++;
    }
    return BP_OK;
}
