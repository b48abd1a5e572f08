/* bptt_gradflow.h — how the gradient flows back through time.
 *
 * For one batch, with the loss at the last step only, after one backward pass:
 * per recurrent layer and per step k,
 *   dh[k]  = ||dL/dh_k||_F, the gradient that enters step k's cell (B x H values);
 *   dw[k]  = ||h_{k-1}^T dL/d(h_{k-1} W_h)||_F, step k's term of the BPTT sum
 *            dL/dW_h = sum_k h_{k-1}^T dL/d(h_{k-1} W_h)   (an H x G*H matrix, G gates).
 * The distance of step k from the loss is T - 1 - k.
 *
 * Layers with clip_grad: h_k is passed on through a clip_grad node. dh_raw[k] is the
 * gradient arriving at that node (its output's grad: what later steps and layers
 * send back); dh[k] is the gradient leaving it into the cell (its input's grad, each
 * element clamped to [-c, c]) — the gradient as it flows on to earlier steps.
 * clipped[k] counts the elements the node clamped. Without a clip node
 * dh_raw == dh and clipped is 0.
 *
 * The loss: sequence-to-one models use their own loss (mse or softmax_xent of the
 * last step's readout); sequence-to-sequence models get softmax_xent of the last
 * step's logits alone, so every model measures the same thing: how much of one
 * loss at step T-1 reaches step k. Truncated BPTT (the net's chunk) is not applied:
 * the whole sequence is recorded as one piece, so the picture is full BPTT.
 * Norms are over the whole batch; the loss is a batch mean.
 *
 * The trainer's parameter gradients hold the gradient of that loss afterwards; its
 * tape holds the recorded batch until the next reset. Nothing is updated.
 * Ownership: the returned bp_gradflow is the caller's (bp_gradflow_free).
 */
#ifndef BPTT_GRADFLOW_H
#define BPTT_GRADFLOW_H

#include "bptt_models.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

typedef struct bp_gradflow_layer {
    int layer;                    /* index in the stack */
    char name[BP_LAYER_NAME_MAX]; /* "rnn0" */
    bp_layer_kind kind;
    int size;                     /* H */
    double clip_grad;             /* the layer's clip_grad c; 0 when it has none */
    double *dh;                   /* [steps] ||dL/dh_k|| entering the cell (after clipping) */
    double *dh_raw;               /* [steps] ||dL/dh_k|| arriving (before clipping) */
    double *dw;                   /* [steps] ||step k's term of dL/dW_h|| */
    long *clipped;                /* [steps] elements the clip node clamped */
    double dw_total;              /* ||dL/dW_h||_F, the norm of the whole sum */
} bp_gradflow_layer;

typedef struct bp_gradflow {
    int steps;                    /* T */
    int batch;                    /* B */
    double loss;                  /* the last step's loss */
    int n_layers;                 /* recurrent layers, in stack order */
    bp_gradflow_layer *layers;    /* [n_layers] */
} bp_gradflow;

/* Record batch on the trainer's net (whole sequence), build the last-step loss,
 * backward, and measure. The batch must fit the model (as bp_trainer_grads). A net
 * without a recurrent layer is an error (BP_ERR_VALUE). A non-finite loss is
 * reported through loss, not as an error: the norms show where it came from. */
bp_gradflow *bp_gradflow_run(bp_trainer *tr, const bp_batch *batch, bp_error *err);
void bp_gradflow_free(bp_gradflow *g);

/* The value of a curve (dh, dh_raw or dw of one layer) at a distance d from the loss,
 * i.e. at step T - 1 - d; NaN when d is outside [0, T). */
double bp_gradflow_at(const bp_gradflow *g, const double *curve, int distance);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
