/* cmd_gradcheck.c — `bptt gradcheck --ops`: every registered op against central
 * differences, in double precision (the float build hands over to bptt-f64). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int check_ops(void)
{
    int failed = 0, cases = 0;
    printf("%-16s %4s %-3s %-14s %12s %12s  %s\n", "op", "case", "in", "shape", "max abs err",
           "max rel err", "verdict");
    for (int i = 0; i < bp_op_count(); i++) {
        const bp_op *op = bp_op_at(i);
        bp_error err;
        if (bp_op_validate(op, &err) != BP_OK) {
            printf("%-16s  invalid: %s\n", op->name, err.msg);
            failed++;
            continue;
        }
        bp_rng rng;
        bp_rng_seed(&rng, 1000 + (uint64_t)i);
        for (int k = 0; k < op->check.n_cases; k++) {
            bp_check_case c = {0};
            op->check.make_case(k, &rng, &c);
            bp_check_result r[BP_MAX_INPUTS];
            bool ok;
            cases++;
            if (bp_gradcheck_op(op, &c, 1000 + (uint64_t)i + (uint64_t)k, NULL, r, &ok, &err)) {
                printf("%-16s %4d  error: %s\n", op->name, k, err.msg);
                failed++;
                continue;
            }
            for (int j = 0; j < op->n_in; j++) {
                char s[64];
                if (op->check.const_inputs & (1u << j))
                    continue;
                printf("%-16s %4d %-3d %-14s %12.3g %12.3g  %s\n", op->name, k, j,
                       bp_shape_str(c.in_shape[j], s, sizeof s), r[j].max_abs, r[j].max_rel,
                       r[j].ok ? "pass" : "FAIL");
            }
            failed += !ok;
        }
    }
    printf("%d ops, %d cases: %s\n", bp_op_count(), cases,
           failed ? "some FAILED" : "all passed");
    return failed ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_gradcheck(int argc, char **argv)
{
    int rc = cli_run_in_f64(argc, argv);
    if (rc >= 0)
        return rc;
    if (argc == 2 && !strcmp(argv[1], "--ops"))
        return check_ops();
    cli_error("gradcheck", "usage: bptt gradcheck --ops");
    return EXIT_USAGE;
}
