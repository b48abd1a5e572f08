/* predict.c — the net's outputs for a batch, forward only: chunk by chunk with the state
 * carried, the tape reset after each (nothing is kept for a backward pass). */
#include "net_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Steps per recorded chunk when the net does not truncate: forward only, carrying the
 * state is exact, and the tape then holds at most this many steps. */
enum { PREDICT_CHUNK = 256 };

/* dst = softmax(z) for class targets, else z, one row of O. */
static void emit(const bp_real *z, int O, bool probs, bp_real *dst)
{
    if (!probs) {
        memcpy(dst, z, (size_t)O * sizeof *dst);
        return;
    }
    bp_real m = z[0];
    for (int c = 1; c < O; c++)
        m = z[c] > m ? z[c] : m;
    double s = 0;
    for (int c = 0; c < O; c++)
        s += exp((double)(z[c] - m));
    for (int c = 0; c < O; c++)
        dst[c] = (bp_real)(exp((double)(z[c] - m)) / s);
}

bp_status bp_net_predict(bp_net *net, bp_tape *t, const bp_batch *b, bp_net_state *state,
                         bp_real *out, bp_error *err)
{
    int T = b->T, B = b->B, O = net->def->spec.output_size;
    int K = net->def->spec.chunk > 0 ? net->def->spec.chunk : PREDICT_CHUNK;
    K = K < T ? K : T;
    bp_net_state *own = NULL;
    if (!state && K < T && !(state = own = bp_net_state_new(net, B, err)))
        return err ? err->status : BP_ERR_NOMEM;
    bool seq = net->def->spec.head == BP_HEAD_SEQ, probs = bp_target_is_class(b->target);
    bp_status st = BP_OK;
    for (int t0 = 0; t0 < T && st == BP_OK; t0 += K) {
        int t1 = t0 + K < T ? t0 + K : T;
        bp_tape_reset(t);
        if (!bp_net_forward(net, t, b, t0, t1, state)) {
            const bp_error *e = bp_tape_error(t);
            st = bp_error_set(err, e->status, "%s", e->msg);
            break;
        }
        for (int k = seq ? 0 : t1 - t0 - 1; k < t1 - t0 && (seq || t1 == T); k++) {
            const bp_node *z = net->logits[k];
            for (int r = 0; r < B; r++) {
                bp_real *dst = seq ? out + ((size_t)r * T + t0 + k) * O : out + (size_t)r * O;
                emit(z->value + (size_t)r * O, O, probs, dst);
            }
        }
    }
    bp_tape_reset(t);
    bp_net_state_free(own);
    return st;
}
