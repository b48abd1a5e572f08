/* yaml_set.c — `--set key.path=value` overrides applied to a loaded tree: the value is
 * parsed as YAML (labelled by the --set itself for errors), then put at the path, making
 * the mappings the path names when they are missing. */
#include "yaml_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bp_status set_fail(bp_error *err, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bp_status set_fail(bp_error *err, const char *label, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bp_status s = bp_error_vset(err, BP_ERR_VALUE, label, fmt, ap);
    va_end(ap);
    return s;
}

/* Add key -> value at the end of map (arrays are copied one longer). */
static bool map_append(bp_yd_doc *d, bp_yd_node *map, const char *label, const char *key,
                       size_t klen, bp_yd_node *value)
{
    bp_yd_node **items = bp_yd_alloc(d, ((size_t)map->n + 1) * sizeof *items);
    bp_yd_node **keys = bp_yd_alloc(d, ((size_t)map->n + 1) * sizeof *keys);
    bp_yd_node *k = bp_yd_alloc(d, sizeof *k);
    char *text = bp_yd_strndup(d, key, klen);
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

/* *slot, a node of c the path goes through: when it sits in more than one place (an
 * alias's target, `- *a`, or inside one) replaced by a shallow copy of its own, so that a
 * --set through one use does not change the others (*cow: from here down, copy). NULL
 * when out of memory. */
static bp_yd_node *own_copy(bp_yd_doc *d, bp_yd_node *c, bp_yd_node **slot, bool *cow)
{
    bp_yd_node *old = *slot;
    if (!(*cow = *cow || old->aliased))
        return old;
    bp_yd_node *k = bp_yd_alloc(d, sizeof *k);
    size_t bytes = (size_t)old->n * sizeof *old->items;
    if (!k)
        return NULL;
    *k = *old;
    k->parent = c;
    k->aliased = false;
    if (old->kind == BP_YD_SCALAR || !old->n)
        return *slot = k;
    if (!(k->items = bp_yd_alloc(d, bytes)) ||
        (old->keys && !(k->keys = bp_yd_alloc(d, bytes))))
        return NULL;
    memcpy(k->items, old->items, bytes);
    if (old->keys)
        memcpy(k->keys, old->keys, bytes);
    return *slot = k;
}

/* The path step "[i]" at *p: into item i of the sequence *cur, or (the path's end) the
 * value put there (*done). */
static bp_status step_index(bp_yd_doc *d, bp_yd_node **cur, const char **p, const char *eq,
                            bp_yd_node *value, const char *label, bool *done, bool *cow,
                            bp_error *err)
{
    bp_yd_node *c = *cur;
    char *end;
    long i = strtol(*p + 1, &end, 10);
    if (end == *p + 1 || *end != ']' || end > eq)
        return set_fail(err, label, "bad index in the path at '%.*s'", (int)(eq - *p), *p);
    if (c->kind != BP_YD_SEQ)
        return set_fail(err, label, "[%ld] needs a sequence, but %s:%d:%d is %s", i, c->file,
                        c->line, c->col, bp_yd_kind_name(c->kind));
    if (i < 0 || i >= c->n)
        return set_fail(err, label, "index %ld is out of range (the sequence at %s:%d:%d has %d "
                        "items)", i, c->file, c->line, c->col, c->n);
    *p = end + 1;
    if (*p == eq) {
        value->parent = c;
        value->index = (int)i;
        c->items[i] = value;
        *done = true;
        return BP_OK;
    }
    if (!(*cur = own_copy(d, c, &c->items[i], cow)))
        return bp_error_set(err, BP_ERR_NOMEM, "--set: out of memory");
    if (**p == '.')
        ++*p;
    return BP_OK;
}

/* The path step "key" at *p: into the mapping's value for key (made, as a mapping, when
 * missing), or (the path's end) the value put there (*done). */
static bp_status step_key(bp_yd_doc *d, bp_yd_node **cur, const char **p, const char *eq,
                          bp_yd_node *value, const char *label, bool *done, bool *cow,
                          bp_error *err)
{
    bp_yd_node *c = *cur;
    size_t klen = strcspn(*p, ".[=");
    if (klen == 0)
        return set_fail(err, label, "empty key in the path");
    if (c->kind != BP_YD_MAP)
        return set_fail(err, label, "'%.*s' needs a mapping, but %s:%d:%d is %s", (int)klen, *p,
                        c->file, c->line, c->col, bp_yd_kind_name(c->kind));
    bool last = *p + klen == eq;
    int at = -1;
    for (int i = 0; i < c->n && at < 0; i++)
        if (c->keys[i]->len == klen && memcmp(c->keys[i]->text, *p, klen) == 0)
            at = i;
    bp_yd_node *next = at >= 0 ? c->items[at] : NULL;
    if (at >= 0 && last) {
        value->parent = c;
        value->key = c->keys[at]->text;
        value->index = -1;
        c->items[at] = value;
        *done = true;
        return BP_OK;
    }
    if (at < 0) {
        next = last ? value : bp_yd_alloc(d, sizeof *next);
        if (!next)
            return bp_error_set(err, BP_ERR_NOMEM, "--set: out of memory");
        if (!last)
            *next = (bp_yd_node){.kind = BP_YD_MAP, .line = 1, .col = 1, .file = label,
                                 .index = -1, .weight = 1};
        if (!map_append(d, c, label, *p, klen, next))
            return bp_error_set(err, BP_ERR_NOMEM, "--set: out of memory");
        *done = last;
    } else if (!(next = own_copy(d, c, &c->items[at], cow))) {
        return bp_error_set(err, BP_ERR_NOMEM, "--set: out of memory");
    }
    *cur = next;
    *p += klen;
    if (**p == '.')
        ++*p;
    return BP_OK;
}

bp_status bp_yd_set(bp_yd_doc *d, const char *assignment, bp_error *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return bp_error_set(err, BP_ERR_VALUE, "--set expects key.path=value, not '%.200s'",
                            assignment);
    size_t plen = (size_t)(eq - assignment);
    char *label = bp_yd_alloc(d, plen + 8);
    if (!label)
        return bp_error_set(err, BP_ERR_NOMEM, "--set: out of memory");
    snprintf(label, plen + 8, "--set %.*s", (int)plen, assignment);
    bp_yd_node *value = NULL;
    bp_status s = bp_yd_build(d, label, eq + 1, strlen(eq + 1), &value, err);
    if (s != BP_OK)
        return s;
    if (!value) { /* "key=" : an empty plain scalar, i.e. null */
        value = bp_yd_alloc(d, sizeof *value);
        char *empty = bp_yd_strndup(d, "", 0);
        if (!value || !empty)
            return bp_error_set(err, BP_ERR_NOMEM, "--set: out of memory");
        *value = (bp_yd_node){.kind = BP_YD_SCALAR, .line = 1, .col = 1, .file = label,
                              .index = -1, .text = empty, .plain = true, .weight = 1};
    }
    bp_yd_node *cur = d->root;
    const char *p = assignment;
    bool done = false, cow = false;
    while (p < eq && !done && s == BP_OK)
        s = *p == '[' ? step_index(d, &cur, &p, eq, value, label, &done, &cow, err)
                      : step_key(d, &cur, &p, eq, value, label, &done, &cow, err);
    return s;
}
