/* bind.c — a tape's parameter binding: see bind.h. */
#include "bind.h"

#include <stdlib.h>

void bp_bind_free(bp_bind *b)
{
    free(b->from);
    free(b->to);
    *b = (bp_bind){0};
}

bp_status bp_bind_build(bp_bind *b, const bp_params *shared, bp_params *own, bp_error *err)
{
    bp_bind_free(b);
    if (!shared)
        return BP_OK;
    int n = bp_params_count(shared);
    if (!own || bp_params_count(own) != n)
        return bp_error_set(err, BP_ERR_VALUE, "bind: %d parameters against %d", n,
                            own ? bp_params_count(own) : 0);
    size_t slots = 2;
    while (slots < 2 * (size_t)n) /* at most half full */
        slots *= 2;
    b->from = calloc(slots, sizeof *b->from);
    b->to = calloc(slots, sizeof *b->to);
    if (!b->from || !b->to) {
        bp_bind_free(b);
        return bp_error_set(err, BP_ERR_NOMEM, "bind: out of memory");
    }
    b->mask = slots - 1;
    for (int k = 0; k < n; k++) {
        const bp_node *s = bp_params_at(shared, k);
        size_t i = bp_bind_slot(b, s);
        while (b->from[i] && b->from[i] != s)
            i = (i + 1) & b->mask;
        b->from[i] = s;
        b->to[i] = bp_params_at(own, k);
    }
    return BP_OK;
}
