/* csv_share.c — a CSV data file parsed by shard 0 alone and shared with the others through
 * the data set's share hook (bptt_tasks.h), so that under MPI one rank reads the text.
 *
 * The messages, the same on every shard whatever fails where: a head (shard 0's status
 * and error, the set's sizes), then, when shard 0 parsed it, x, the lengths and the labels
 * in chunks of a fixed size. A shard that cannot allocate the set still receives every
 * chunk (into a scratch chunk) before it fails, so no shard waits for another. */
#include "files_internal.h"

#include <stdlib.h>
#include <string.h>

enum { CHUNK = 64 * 1024 };

typedef struct share_head {
    int32_t status;
    int32_t N, T, I, had_header;
    char msg[sizeof ((bp_error *)0)->msg];
} share_head;

/* bytes of buf in chunks (into scratch where buf is NULL: a shard that holds nowhere). */
static bp_status share_bytes(const bp_file_set_opts *o, void *buf, size_t bytes,
                             unsigned char *scratch, bp_error *err)
{
    for (size_t at = 0; at < bytes; at += CHUNK) {
        size_t n = bytes - at < CHUNK ? bytes - at : CHUNK;
        bp_status st = o->share(o->share_ctx, buf ? (unsigned char *)buf + at : scratch, n, err);
        if (st != BP_OK)
            return st;
    }
    return BP_OK;
}

bp_status csv_share(const bp_file_set_opts *o, const char *path, bp_csv_set *out,
                    bp_error *err)
{
    memset(out, 0, sizeof *out);
    bool root = o->shard == 0;
    share_head h = {0};
    bp_status st = BP_OK;
    if (root) {
        bp_csv_opts co;
        file_source_csv_opts(o, &co);
        bp_error e = {0};
        st = bp_csv_set_load(path, &co, out, &e);
        h = (share_head){.status = st, .N = out->N, .T = out->T, .I = out->I,
                         .had_header = out->had_header};
        memcpy(h.msg, e.msg, sizeof h.msg);
        if (err && st != BP_OK)
            *err = e;
    }
    bp_status xst = o->share(o->share_ctx, &h, sizeof h, err);
    if (xst != BP_OK || h.status != BP_OK) {
        bp_csv_set_free(out);
        if (xst == BP_OK && !root) /* shard 0's error, as it said it */
            bp_error_set(err, (bp_status)h.status, "%.*s", (int)sizeof h.msg - 1, h.msg);
        return xst != BP_OK ? xst : (bp_status)h.status;
    }
    size_t cells = (size_t)h.N * (size_t)h.T * (size_t)h.I;
    if (!root) {
        *out = (bp_csv_set){.N = h.N, .T = h.T, .I = h.I, .had_header = h.had_header};
        out->x = malloc((cells + 1) * sizeof *out->x);
        out->lengths = malloc(((size_t)h.N + 1) * sizeof *out->lengths);
        out->labels = malloc(((size_t)h.N + 1) * sizeof *out->labels);
        if (!out->x || !out->lengths || !out->labels)
            st = bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory for the data set rank 0 "
                              "read", path);
    }
    unsigned char scratch[CHUNK];
    bool hold = st == BP_OK;
    if ((xst = share_bytes(o, hold ? out->x : NULL, cells * sizeof *out->x, scratch, err)) ==
            BP_OK &&
        (xst = share_bytes(o, hold ? out->lengths : NULL, (size_t)h.N * sizeof *out->lengths,
                           scratch, err)) == BP_OK)
        xst = share_bytes(o, hold ? out->labels : NULL, (size_t)h.N * sizeof *out->labels,
                          scratch, err);
    st = xst != BP_OK ? xst : st;
    if (st != BP_OK)
        bp_csv_set_free(out);
    return st;
}
