/* params.c — leaves that persist across steps, and the named parameter set. */
#include "bptt_graph.h"

#include <stdlib.h>
#include <string.h>

bp_node *bp_leaf_new(bp_shape shape, bool requires_grad, bp_error *err)
{
    if (bp_shape_check(shape, err) != BP_OK)
        return NULL;
    bp_node *n = calloc(1, sizeof *n);
    if (!n) {
        bp_error_set(err, BP_ERR_NOMEM, "cannot allocate a leaf");
        return NULL;
    }
    n->shape = shape;
    n->size = bp_shape_size(shape);
    n->id = -1;
    n->requires_grad = requires_grad;
    n->value = calloc(n->size, sizeof(bp_real));
    n->grad = requires_grad ? calloc(n->size, sizeof(bp_real)) : NULL;
    if (!n->value || (requires_grad && !n->grad)) {
        char b[64];
        bp_leaf_free(n);
        bp_error_set(err, BP_ERR_NOMEM, "cannot allocate a tensor of shape %s",
                     bp_shape_str(shape, b, sizeof b));
        return NULL;
    }
    return n;
}

void bp_leaf_free(bp_node *leaf)
{
    if (!leaf)
        return;
    free(leaf->value);
    free(leaf->grad);
    free(leaf);
}

struct bp_params {
    bp_node **items;
    bool *borrowed; /* [cap]: items[i]->value is another set's (bp_params_share_values) */
    int len, cap;
};

bp_params *bp_params_new(void)
{
    return calloc(1, sizeof(bp_params));
}

void bp_params_free(bp_params *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->len; i++) {
        free((char *)p->items[i]->name);
        if (p->borrowed[i])
            p->items[i]->value = NULL; /* the lender frees it */
        bp_leaf_free(p->items[i]);
    }
    free(p->items);
    free(p->borrowed);
    free(p);
}

bp_node *bp_params_add(bp_params *p, const char *name, bp_shape shape, bp_error *err)
{
    if (bp_params_find(p, name)) {
        bp_error_set(err, BP_ERR_NAME, "parameter '%s' is defined twice", name);
        return NULL;
    }
    if (p->len == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        bp_node **items = realloc(p->items, (size_t)cap * sizeof *items);
        if (items)
            p->items = items;
        bool *borrowed = items ? realloc(p->borrowed, (size_t)cap * sizeof *borrowed) : NULL;
        if (!borrowed) {
            bp_error_set(err, BP_ERR_NOMEM, "cannot grow the parameter list");
            return NULL;
        }
        p->borrowed = borrowed;
        p->cap = cap;
    }
    bp_node *n = bp_leaf_new(shape, true, err);
    if (!n) {
        bp_error_prefix(err, "parameter '%s'", name);
        return NULL;
    }
    n->name = strdup(name);
    if (!n->name) {
        bp_leaf_free(n);
        bp_error_set(err, BP_ERR_NOMEM, "cannot allocate a parameter name");
        return NULL;
    }
    p->borrowed[p->len] = false;
    p->items[p->len++] = n;
    return n;
}

bp_node *bp_params_find(const bp_params *p, const char *name)
{
    for (int i = 0; i < p->len; i++)
        if (strcmp(p->items[i]->name, name) == 0)
            return p->items[i];
    return NULL;
}

int bp_params_count(const bp_params *p)
{
    return p->len;
}

bp_node *bp_params_at(const bp_params *p, int i)
{
    return i >= 0 && i < p->len ? p->items[i] : NULL;
}

size_t bp_params_elements(const bp_params *p)
{
    size_t n = 0;
    for (int i = 0; i < p->len; i++)
        n += p->items[i]->size;
    return n;
}

void bp_params_zero_grad(bp_params *p)
{
    for (int i = 0; i < p->len; i++)
        memset(p->items[i]->grad, 0, p->items[i]->size * sizeof(bp_real));
}

bp_status bp_params_share_values(bp_params *dst, const bp_params *src, bp_error *err)
{
    if (dst->len != src->len)
        return bp_error_set(err, BP_ERR_NAME, "cannot share values: %d parameters against %d",
                            dst->len, src->len);
    for (int i = 0; i < dst->len; i++) {
        const bp_node *d = dst->items[i], *s = src->items[i];
        if (strcmp(d->name, s->name))
            return bp_error_set(err, BP_ERR_NAME,
                                "cannot share values: parameter %d is '%s' here, '%s' there", i,
                                d->name, s->name);
        if (d->size != s->size || d->shape.ndim != s->shape.ndim ||
            memcmp(d->shape.dim, s->shape.dim, (size_t)d->shape.ndim * sizeof d->shape.dim[0])) {
            char a[64], b[64];
            return bp_error_set(err, BP_ERR_SHAPE,
                                "cannot share values: '%s' is %s here, %s there", d->name, bp_shape_str(d->shape, a, sizeof a),
                                bp_shape_str(s->shape, b, sizeof b));
        }
    }
    for (int i = 0; i < dst->len; i++) { /* all checked: now change them all */
        bp_node *d = dst->items[i];
        if (!dst->borrowed[i])
            free(d->value);
        d->value = src->items[i]->value;
        dst->borrowed[i] = true;
    }
    return BP_OK;
}
