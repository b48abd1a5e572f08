/* eval.c — loss and task metric of a batch, chunk by chunk, without backward. */
#include "net_internal.h"

/* Rows of z (B, C) whose largest logit (the first, on ties) is the target's class, among
 * the rows still within their sequence at step s (the last-step head: every row). */
static long count_correct(const bp_node *z, const bp_batch *b, int s, const bp_real *y,
                          size_t y_stride, long *counted)
{
    int B = z->shape.dim[0], C = z->shape.dim[1];
    long correct = 0;
    for (int r = 0; r < B; r++) {
        if (s >= bp_batch_len(b, r))
            continue;
        const bp_real *row = z->value + (size_t)r * C;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (row[c] > row[best])
                best = c;
        correct += best == (int)y[(size_t)r * y_stride];
        ++*counted;
    }
    return correct;
}

bp_status bp_net_evaluate(bp_net *net, bp_tape *t, const bp_batch *b, bp_net_eval *out,
                          bp_error *err)
{
    int T = b->T, K = net->def->spec.chunk > 0 && net->def->spec.chunk < T ? net->def->spec.chunk : T;
    if (net->def->spec.recompute && bp_recompute_segment(net->def->spec.recompute, K)) /* no backward: */
        K = bp_recompute_segment(net->def->spec.recompute, K); /* its segments, the state carried */
    bp_net_state *state = NULL;
    if (K < T && !(state = bp_net_state_new(net, b->B, err)))
        return err ? err->status : BP_ERR_NOMEM;
    bool seq = net->def->spec.head == BP_HEAD_SEQ;
    double loss = 0;
    long correct = 0, counted = 0;
    bp_status st = BP_OK;
    for (int t0 = 0; t0 < T; t0 += K) {
        int t1 = t0 + K < T ? t0 + K : T;
        bp_tape_reset(t);
        bp_node *l = bp_net_forward(net, t, b, t0, t1, state);
        if (!l) {
            const bp_error *e = bp_tape_error(t);
            st = bp_error_set(err, e->status, "%s", e->msg);
            break;
        }
        if (seq) {
            /* the chunk's mean, weighted by its steps (or its pairs within sequences) */
            loss += (double)l->value[0] * (b->len ? (double)bp_batch_count_steps(b, t0, t1)
                                                  : (double)(t1 - t0));
            for (int k = 0; b->target == BP_TARGET_CLASS_SEQ && k < t1 - t0; k++)
                correct += count_correct(net->logits[k], b, t0 + k, b->y + t0 + k, (size_t)T,
                                         &counted);
        } else if (t1 == T) {
            loss = l->value[0];
            if (b->target == BP_TARGET_CLASS_LAST)
                correct = count_correct(net->logits[t1 - t0 - 1], b, -1, b->y, 1, &counted);
        }
    }
    bp_net_state_free(state);
    if (st != BP_OK)
        return st;
    out->loss = !seq ? loss : b->len ? loss / (double)bp_batch_count_steps(b, 0, T) : loss / T;
    if (!bp_target_is_class(b->target)) {
        out->metric = out->loss;
        out->metric_name = "mse";
    } else {
        out->metric = counted ? (double)correct / (double)counted : 0;
        out->metric_name = "accuracy";
    }
    return BP_OK;
}
