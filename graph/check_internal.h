/* check_internal.h — what gradcheck.c and check_sampled.c share: the checker's defaults,
 * one element's verdict, and the one loop both public checks run. */
#ifndef BPTT_CHECK_INTERNAL_H
#define BPTT_CHECK_INTERNAL_H

#include "bptt_check.h"

/* opts with every 0 replaced by the defaults of this scalar type. */
bp_check_opts bp_check_resolve(const bp_check_opts *opts);

/* Run the check: sample elements per input (0: all), with kink detection when kinks is
 * set (bp_gradcheck_sampled) or judging every element (bp_gradcheck). o is resolved. */
bp_status bp_check_run(bp_check_fn fn, void *ctx, bp_node *const inputs[], int n_inputs,
                       const bp_check_opts *o, size_t sample, bool kinks, bp_check_stats stats[],
                       bool *all_ok, bp_error *err);

#endif
