/* cmd_gradcheck.c — `bptt gradcheck --ops`: every registered op against central
 * differences, in double precision (the float build hands over to bptt-f64). */
#include "args.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every registered op on all its check cases (bp_gradcheck_op_all): per input the
 * largest errors over the cases and the shape of the worst one. */
static int check_ops(void)
{
    int failed = 0, cases = 0;
    printf("%-16s %5s %-3s %-14s %12s %12s  %s\n", "op", "cases", "in", "worst shape",
           "max abs err", "max rel err", "verdict");
    for (int i = 0; i < bp_op_count(); i++) {
        const bp_op *op = bp_op_at(i);
        bp_check_report r;
        bp_error err;
        if (bp_gradcheck_op_all(op, NULL, &r, &err) != BP_OK) {
            printf("%-16s  error: %s\n", op->name, err.msg);
            failed++;
            continue;
        }
        cases += r.n_cases;
        for (int j = 0; j < op->n_in; j++) {
            char s[64];
            if (op->check.const_inputs & (1u << j))
                continue;
            printf("%-16s %5d %-3d %-14s %12.3g %12.3g  %s\n", op->name, r.n_cases, j,
                   bp_shape_str(r.shape[j], s, sizeof s), r.input[j].max_abs,
                   r.input[j].max_rel, r.input[j].ok ? "pass" : "FAIL");
        }
        failed += !r.ok;
    }
    printf("%d ops, %d cases: %s\n", bp_op_count(), cases, failed ? "some FAILED" : "all passed");
    return failed ? EXIT_RUNTIME : EXIT_OK;
}

/* The whole model: the loss of one small batch over the full sequence (truncation
 * off: finite differences see every step), against every parameter. */
typedef struct model_ctx {
    bp_trainer *tr;
    bp_batch *batch;
} model_ctx;

static bp_node *model_loss(bp_tape *t, bp_node *const in[], void *ctx)
{
    (void)in; /* the inputs are the trainer's parameters themselves */
    model_ctx *m = ctx;
    return bp_net_forward(bp_trainer_net(m->tr), t, m->batch, 0, m->batch->T, NULL);
}

static int check_model(int argc, char **argv)
{
    model_args a = {0};
    int batch = 2, rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int used = args_model_option("gradcheck", &a, argc, argv, i);
        if (used < 0)
            return EXIT_USAGE;
        if (used) {
            i += used - 1;
        } else if (!strcmp(argv[i], "--batch-size")) {
            const char *v = args_value("gradcheck", argc, argv, i++);
            if (!v || sscanf(v, "%d", &batch) != 1 || batch < 1 || batch > 64) {
                cli_error("gradcheck", "--batch-size needs 1 to 64");
                return EXIT_USAGE;
            }
        } else if (args_model_file("gradcheck", &a, argv[i])) {
            return EXIT_USAGE;
        }
    }
    bp_model_config *c = args_load("gradcheck", &a, &rc);
    if (!c)
        return rc;
    bp_trainer *tr = args_trainer("gradcheck", c, NULL, &rc);
    model_ctx m = {.tr = tr};
    bp_error err;
    bp_rng rng;
    bp_rng_seed(&rng, c->train.seed);
    if (tr && !(m.batch = bp_task_batch(bp_trainer_task(tr), batch, BP_SPLIT_TRAIN, &rng, &err))) {
        cli_error("gradcheck", "%s", err.msg);
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK) {
        bp_params *p = bp_trainer_params(tr);
        int n = bp_params_count(p);
        bp_node **in = calloc((size_t)n, sizeof *in);
        bp_check_result *r = calloc((size_t)n, sizeof *r);
        bool ok = false;
        for (int i = 0; in && i < n; i++)
            in[i] = bp_params_at(p, i);
        printf("gradcheck %s: batch %d, T = %d, %zu parameters, double precision\n", c->name,
               batch, m.batch->T, bp_params_elements(p));
        if (!in || !r || bp_gradcheck(model_loss, &m, in, n, NULL, r, &ok, &err) != BP_OK) {
            cli_error("gradcheck", "%s", in && r ? err.msg : "out of memory");
            rc = EXIT_RUNTIME;
        } else {
            printf("%-24s %-12s %12s %12s  %s\n", "parameter", "shape", "max abs err",
                   "max rel err", "verdict");
            for (int i = 0; i < n; i++) {
                char s[64];
                printf("%-24s %-12s %12.3g %12.3g  %s\n", in[i]->name,
                       bp_shape_str(in[i]->shape, s, sizeof s), r[i].max_abs, r[i].max_rel,
                       r[i].ok ? "pass" : "FAIL");
                if (!r[i].ok)
                    printf("    worst element %zu: analytic %.10g, numeric %.10g\n", r[i].worst,
                           r[i].analytic, r[i].numeric);
            }
            printf("%s\n", ok ? "all passed" : "some FAILED");
            rc = ok ? EXIT_OK : EXIT_RUNTIME;
        }
        free(in);
        free(r);
    }
    bp_batch_free(m.batch);
    bp_trainer_free(tr);
    bp_model_config_free(c);
    return rc;
}

int cmd_gradcheck(int argc, char **argv)
{
    int rc = cli_run_in_f64(argc, argv);
    if (rc >= 0)
        return rc;
    if (argc == 2 && !strcmp(argv[1], "--ops"))
        return check_ops();
    if (argc < 2) {
        cli_error("gradcheck", "usage: bptt gradcheck MODEL.yaml [--set k=v]... | --ops");
        return EXIT_USAGE;
    }
    return check_model(argc, argv);
}
