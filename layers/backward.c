/* backward.c — a whole batch forward and backward, as the net's spec says: in chunks
 * when it truncates BPTT (the state carried, its gradient not), each chunk by
 * recomputation when it asks for it. For a per-step loss (a mean over steps, or over the
 * (row, step) pairs within sequences of their own lengths) each chunk's loss weighs its
 * share of them. */
#include "net_internal.h"

bp_status bp_net_backward_batch(bp_net *net, bp_tape *tape, bp_net_state *state,
                                const bp_batch *b, bp_real scale, double *loss, bp_error *err)
{
    const bp_net_spec *spec = &net->def->spec;
    int T = b->T, K = spec->chunk ? spec->chunk : T;
    if (state)
        bp_net_state_zero(state);
    double total = 0;
    for (int t0 = 0; t0 < T; t0 += K) {
        int t1 = t0 + K < T ? t0 + K : T;
        /* a chunk's share of a per-step loss: its steps, or its pairs within sequences */
        bp_real w = spec->head != BP_HEAD_SEQ ? 1
                    : b->len ? (bp_real)((double)bp_batch_count_steps(b, t0, t1) /
                                         (double)bp_batch_count_steps(b, 0, T))
                             : (bp_real)(t1 - t0) / (bp_real)T;
        if (spec->recompute) { /* the same grads, one segment on the tape at a time */
            double l;
            bp_status st = bp_net_backward_recompute(net, tape, b, t0, t1, state,
                                                     spec->recompute, w * scale, &l, err);
            if (st != BP_OK)
                return st;
            total += (double)w * l;
            continue;
        }
        bp_tape_reset(tape);
        bp_node *l = bp_net_forward(net, tape, b, t0, t1, state);
        if (!l) {
            const bp_error *e = bp_tape_error(tape);
            return bp_error_set(err, e ? e->status : BP_ERR_VALUE, "%s",
                                e ? e->msg : "forward failed");
        }
        total += (double)w * (double)l->value[0];
        bp_real seed = w * scale; /* d(scale L)/dL_chunk */
        bp_status st = bp_backward_seed(tape, l, &seed, err);
        if (st != BP_OK)
            return st;
    }
    *loss = total;
    return BP_OK;
}

