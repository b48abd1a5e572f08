/* check_report.c — gradient-check one op on all of its check cases (and its unsaved
 * declaration, check_unsaved.c) and summarise the verdict: what a user's test of their
 * own op needs in one call. */
#include "bptt_ops.h"

#include <stdio.h>
#include <string.h>

/* Fold case k's result for one input into the report's entry for that input. The
 * entry's worst element comes from the case with the largest relative error among
 * the failing cases (among all cases while none failed). */
static void fold(bp_check_report *r, int i, int k, const bp_check_result *res, bp_shape shape)
{
    bp_check_result *acc = &r->input[i];
    bool take = r->worst_case[i] < 0 || (!res->ok && acc->ok) ||
                (res->ok == acc->ok && res->max_rel > acc->max_rel);
    double max_abs = acc->max_abs > res->max_abs ? acc->max_abs : res->max_abs;
    double max_rel = acc->max_rel > res->max_rel ? acc->max_rel : res->max_rel;
    bool ok = acc->ok && res->ok;
    if (take) {
        *acc = *res;
        r->worst_case[i] = k;
        r->shape[i] = shape;
    }
    acc->max_abs = max_abs;
    acc->max_rel = max_rel;
    acc->ok = ok;
}

bp_status bp_gradcheck_op_all(const bp_op *op, const bp_check_opts *opts, bp_check_report *report,
                              bp_error *err)
{
    *report = (bp_check_report){.ok = false, .unsaved_case = -1, .unsaved_read = -1};
    for (int i = 0; i < BP_MAX_INPUTS; i++) {
        report->input[i] = (bp_check_result){.ok = true};
        report->worst_case[i] = -1;
    }
    bp_status st = bp_op_validate(op, err);
    if (st != BP_OK)
        return st;
    uint64_t seed = opts && opts->seed ? opts->seed : 1;
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    for (int k = 0; k < op->check.n_cases; k++) {
        bp_check_case c = {0};
        op->check.make_case(k, &rng, &c);
        bp_check_result res[BP_MAX_INPUTS];
        bool ok;
        st = bp_gradcheck_op(op, &c, seed + (uint64_t)k, opts, res, &ok, err);
        int read = -1;
        if (st == BP_OK)
            st = bp_check_unsaved(op, &c, seed + (uint64_t)k, &read, err);
        if (read >= 0 && report->unsaved_case < 0) {
            report->unsaved_case = k;
            report->unsaved_read = read;
        }
        ok &= read < 0;
        if (st != BP_OK) {
            char shapes[160] = "";
            size_t used = 0;
            for (int i = 0; i < op->n_in && used < sizeof shapes; i++) {
                char s[64];
                used += (size_t)snprintf(shapes + used, sizeof shapes - used, i ? ", %s" : "%s",
                                         bp_shape_str(c.in_shape[i], s, sizeof s));
            }
            bp_error_prefix(err, "op '%s', check case %d (inputs %s)", op->name, k, shapes);
            return st;
        }
        for (int i = 0; i < op->n_in; i++)
            if (!(op->check.const_inputs & (1u << i)))
                fold(report, i, k, &res[i], c.in_shape[i]);
        report->n_cases++;
        report->n_failed += !ok;
    }
    report->ok = report->n_failed == 0;
    return BP_OK;
}

char *bp_check_report_str(const bp_op *op, const bp_check_report *r, char *buf, size_t n)
{
    if (!buf || n == 0)
        return buf;
    const char *verdict = r->ok ? "all passed" : r->n_failed ? "FAILED" : "stopped by an error";
    size_t used = (size_t)snprintf(buf, n, "%s: %d case%s, %s", op->name, r->n_cases,
                                   r->n_cases == 1 ? "" : "s", verdict);
    if (r->n_failed && used < n)
        used += (size_t)snprintf(buf + used, n - used, " (%d of %d)", r->n_failed, r->n_cases);
    if (r->unsaved_case >= 0 && used < n) {
        char what[32] = "its output's value";
        if (r->unsaved_read < BP_MAX_INPUTS)
            snprintf(what, sizeof what, "input %d's value", r->unsaved_read);
        used += (size_t)snprintf(buf + used, n - used,
                                 "\n  .unsaved: FAIL, backward reads %s (case %d), which the "
                                 "op declares unread: clear that bit", what, r->unsaved_case);
    }
    for (int i = 0; i < op->n_in && used < n; i++) {
        if (op->check.const_inputs & (1u << i) || r->worst_case[i] < 0)
            continue;
        const bp_check_result *x = &r->input[i];
        char s[64];
        used += (size_t)snprintf(buf + used, n - used,
                                 "\n  input %d: max abs err %.3g, max rel err %.3g, %s; worst: "
                                 "case %d %s element %zu, analytic %.9g vs numeric %.9g",
                                 i, x->max_abs, x->max_rel, x->ok ? "pass" : "FAIL",
                                 r->worst_case[i], bp_shape_str(r->shape[i], s, sizeof s),
                                 x->worst, x->analytic, x->numeric);
    }
    return buf;
}
