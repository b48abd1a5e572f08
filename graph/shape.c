/* shape.c — shapes of up to BP_MAX_DIMS dimensions, row-major. */
#include "bptt_graph.h"

#include <stdio.h>

bp_shape bp_shape1(int d0)
{
    return (bp_shape){.ndim = 1, .dim = {d0}};
}

bp_shape bp_shape2(int d0, int d1)
{
    return (bp_shape){.ndim = 2, .dim = {d0, d1}};
}

size_t bp_shape_size(bp_shape s)
{
    size_t n = 1;
    for (int i = 0; i < s.ndim; i++)
        n *= (size_t)s.dim[i];
    return n;
}

bool bp_shape_eq(bp_shape a, bp_shape b)
{
    if (a.ndim != b.ndim)
        return false;
    for (int i = 0; i < a.ndim; i++)
        if (a.dim[i] != b.dim[i])
            return false;
    return true;
}

char *bp_shape_str(bp_shape s, char *buf, size_t n)
{
    size_t used = 0;
    used += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s.ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %d" : "%d", s.dim[i]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

bp_status bp_shape_check(bp_shape s, bp_error *err)
{
    char b[64];
    if (s.ndim < 1 || s.ndim > BP_MAX_DIMS)
        return bp_error_set(err, BP_ERR_SHAPE, "a tensor has 1 to %d dimensions, not %d",
                            BP_MAX_DIMS, s.ndim);
    size_t n = 1;
    for (int i = 0; i < s.ndim; i++) {
        if (s.dim[i] < 1)
            return bp_error_set(err, BP_ERR_SHAPE, "shape %s: every dimension must be >= 1",
                                bp_shape_str(s, b, sizeof b));
        n *= (size_t)s.dim[i];
        if (n > BP_MAX_ELEMENTS)
            return bp_error_set(err, BP_ERR_NOMEM,
                                "shape %s is too large (more than %zu elements)",
                                bp_shape_str(s, b, sizeof b), (size_t)BP_MAX_ELEMENTS);
    }
    return BP_OK;
}
