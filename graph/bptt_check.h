/* bptt_check.h — gradient checks that explain themselves: element by element against
 * central differences, on all elements or a seeded sample, with the elements whose
 * ±eps perturbation moves some op's input across one of that op's declared kinks
 * (op->check.kinks: relu at 0) counted apart as non-smooth rather than judged.
 *
 * bp_gradcheck (bptt_graph.h) judges every element; this is the check for whole models,
 * where a ReLU's pre-activation may sit within eps of its kink and the finite difference
 * then measures a one-sided slope, not a wrong gradient. bp_gradcheck_net (bptt_layers.h)
 * runs it on a net's loss. Meaningful in the double build (bptt_f64).
 */
#ifndef BPTT_CHECK_H
#define BPTT_CHECK_H

#include "bptt_graph.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

typedef struct bp_check_sample_opts {
    bp_check_opts check; /* eps, atol, rtol, seed (0s: bp_gradcheck's defaults) */
    /* Elements perturbed per input: 0 = all. Else the sample/4 (at least 1) elements of
     * largest |analytic gradient|, then the rest drawn uniformly without replacement,
     * seeded by check.seed. */
    size_t sample;
} bp_check_sample_opts;

/* One input's verdict. Elements checked = nonsmooth + judged; failed <= judged. */
typedef struct bp_check_stats {
    bp_check_result result; /* over the judged elements: largest errors, worst, ok */
    size_t elements;        /* in the input */
    size_t checked;         /* perturbed: every element, or the sample */
    size_t nonsmooth;       /* set apart: the ±eps perturbation crossed a kink */
    size_t failed;          /* judged and missed atol + rtol |numeric| */
    /* The first non-smooth element (when nonsmooth > 0): the element, the tape position
     * of the op node whose kink argument crossed, that op and the kink. */
    size_t first_nonsmooth;
    int kink_node;
    const bp_op *kink_op;
    double kink;
    double kink_analytic, kink_numeric; /* that element's two gradients, for the report */
} bp_check_stats;

/* bp_gradcheck with sampling and kink detection: after each ±eps forward the tape's op
 * nodes with declared kinks are read (op->check.kink_arg when set, else every element of
 * every non-constant input) and an element whose two sides put some argument on
 * different sides of a kink is counted non-smooth, not judged. stats[] (n_inputs, the
 * caller's) gets one entry per input; inputs without requires_grad get elements only.
 * *all_ok: no judged element failed. Errors as bp_gradcheck's. */
bp_status bp_gradcheck_sampled(bp_check_fn fn, void *ctx, bp_node *const inputs[], int n_inputs,
                               const bp_check_sample_opts *opts, bp_check_stats stats[],
                               bool *all_ok, bp_error *err);

/* For mutation tests only: make backward run `backward` instead of op->backward for every
 * node of op, in this process, until called again with NULL (op NULL clears any swap).
 * One swap at a time. Proves that a check catches a wrong backward. Not thread-safe. */
void bp_op_swap_backward(const bp_op *op, void (*backward)(bp_node *n));

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
