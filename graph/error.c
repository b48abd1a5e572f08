/* error.c — errors as values: a status and a message, filled by the library,
 * printed (or not) by the caller. */
#include "bptt_graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bp_status bp_error_set(bp_error *err, bp_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

bp_status bp_error_vset(bp_error *err, bp_status status, const char *prefix, const char *fmt,
                        va_list ap)
{
    if (!err)
        return status;
    char msg[sizeof err->msg];
    vsnprintf(msg, sizeof msg, fmt, ap);
    err->status = status;
    if (prefix)
        snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, msg);
    else
        memcpy(err->msg, msg, sizeof msg);
    return status;
}

void bp_error_prefix(bp_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}

const char *bp_status_name(bp_status status)
{
    switch (status) {
    case BP_OK: return "ok";
    case BP_ERR_SHAPE: return "shape error";
    case BP_ERR_VALUE: return "bad value";
    case BP_ERR_NOMEM: return "out of memory";
    case BP_ERR_IO: return "i/o error";
    case BP_ERR_PARSE: return "parse error";
    case BP_ERR_NONFINITE: return "non-finite value";
    case BP_ERR_NAME: return "name error";
    }
    return "unknown error";
}
