/* bptt_netcheck.h — gradient-check a whole net: the loss of one batch over all its steps
 * against every parameter, element by element (or a seeded sample), in double precision,
 * with elements whose ±eps perturbation crosses an op's kink (a ReLU pre-activation
 * within eps of 0) reported apart, with the layer and step where it happened, instead of
 * failing. A FAIL means a wrong gradient. `bptt gradcheck MODEL.yaml` prints this report;
 * docs/examples/check_model.c is a Criterion test of a model built on it.
 *
 *     bp_net_check r;
 *     bp_gradcheck_net(net, params, batch, NULL, &r, &err);   // BP_OK: it could run
 *     cr_expect(r.ok, "%s", bp_net_check_str(&r, text, sizeof text));
 *     bp_net_check_free(&r);
 */
#ifndef BPTT_NETCHECK_H
#define BPTT_NETCHECK_H

#include "bptt_check.h"
#include "bptt_layers.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

typedef struct bp_net_check_param {
    const bp_node *param; /* the parameter (name, shape), the params' */
    bp_check_stats stats;
    char where[96];       /* the first non-smooth element's place: "rnn0 step 3", or "the
                             readout"; "" when there is none */
} bp_net_check_param;

typedef struct bp_net_check {
    int n_params;
    bp_net_check_param *param;         /* [n_params], the report's: bp_net_check_free */
    size_t checked, nonsmooth, failed; /* elements, over all parameters */
    bool ok;                           /* no judged element failed */
    int T, B;                          /* the batch checked */
} bp_net_check;

/* Check d(loss)/d(parameter) of net on batch (all T steps as one chunk, truncation off,
 * zero initial state) for every parameter of params (the net's), as bp_gradcheck_sampled
 * does; opts NULL: every element, eps 1e-6, atol 1e-5, rtol 1e-3. The parameters' values
 * are restored, their grads left holding the analytic gradient. Returns BP_OK when the
 * check could run (report->ok is the verdict); else the forward's error (a batch that does
 * not fit the net), BP_ERR_NOMEM, and report holds nothing to free. */
bp_status bp_gradcheck_net(bp_net *net, bp_params *params, const bp_batch *batch,
                           const bp_check_sample_opts *opts, bp_net_check *report,
                           bp_error *err);
void bp_net_check_free(bp_net_check *r); /* NULL and a zeroed report are no-ops */

/* The report as text: a line per parameter (shape, elements checked, non-smooth, largest
 * errors, pass/FAIL), under it "non-smooth here: 3 elements, first element 40 at rnn0
 * step 3 (rnn_relu at 0)" and, for a FAIL, the worst element; then the summary line
 * "checked 4353 elements: 0 failed, 3 skipped as non-smooth: all passed". At most n
 * bytes (cut, always terminated); returns buf. */
char *bp_net_check_str(const bp_net_check *r, char *buf, size_t n);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
