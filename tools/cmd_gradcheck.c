/* cmd_gradcheck.c — `bptt gradcheck --ops`: every registered op against central
 * differences, in double precision (the float build hands over to bptt-f64). */
#include "args.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every registered op on all its check cases (bp_gradcheck_op_all): per input the
 * largest errors over the cases and the shape of the worst one; whether the values the
 * op declares its backward never reads (bp_op.unsaved) are indeed not read: "-" when it
 * declares none. */
static int check_ops(void)
{
    int failed = 0, cases = 0;
    printf("%-16s %5s %-3s %-14s %12s %12s  %-7s %s\n", "op", "cases", "in", "worst shape",
           "max abs err", "max rel err", "unsaved", "verdict");
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
            printf("%-16s %5d %-3d %-14s %12.3g %12.3g  %-7s %s\n", op->name, r.n_cases, j,
                   bp_shape_str(r.shape[j], s, sizeof s), r.input[j].max_abs,
                   r.input[j].max_rel, !op->unsaved ? "-" : r.unsaved_case < 0 ? "held" : "FAIL",
                   r.input[j].ok && r.unsaved_case < 0 ? "pass" : "FAIL");
        }
        if (r.unsaved_case >= 0) {
            char text[1024];
            const char *u = strstr(bp_check_report_str(op, &r, text, sizeof text), ".unsaved");
            printf("  %.*s\n", u ? (int)strcspn(u, "\n") : 0, u ? u : "");
        }
        failed += !r.ok;
    }
    printf("%d ops, %d cases: %s\n", bp_op_count(), cases, failed ? "some FAILED" : "all passed");
    return failed ? EXIT_RUNTIME : EXIT_OK;
}

/* The ops registered from plugins, each on its own check cases, before the model that
 * uses them: a model check that passes says little about an op whose own check fails. */
static int check_user_ops(void)
{
    int failed = 0;
    for (int i = BP_OPID_BUILTIN_COUNT; i < bp_op_count(); i++) {
        const bp_op *op = bp_op_at(i);
        bp_check_report r;
        bp_error err;
        char text[2048];
        if (bp_gradcheck_op_all(op, NULL, &r, &err) != BP_OK) {
            cli_error("gradcheck", "%s", err.msg);
            return EXIT_USAGE;
        }
        printf("op %s", bp_check_report_str(op, &r, text, sizeof text));
        failed += !r.ok;
    }
    if (bp_op_count() > BP_OPID_BUILTIN_COUNT)
        printf("\n");
    return failed ? EXIT_RUNTIME : EXIT_OK;
}

typedef struct check_args {
    model_args model;
    const char *weights, *batch_file;
    int batch;
    bp_check_sample_opts o;
} check_args;

/* A number option's value into *v, within [lo, hi]; -1 (printed) when it is not. */
static int number(int argc, char **argv, int i, double lo, double hi, double *v)
{
    const char *s = args_value("gradcheck", argc, argv, i);
    char *end = NULL;
    if (s)
        *v = strtod(s, &end);
    if (!s || end == s || *end || !(*v >= lo && *v <= hi)) {
        cli_error("gradcheck", "%s needs a number in [%g, %g]%s%s%s", argv[i], lo, hi,
                  s ? ", got '" : "", s ? s : "", s ? "'" : "");
        return -1;
    }
    return 2;
}

static int parse_option(check_args *a, int argc, char **argv, int i)
{
    const args_string strings[] = {{"--weights", &a->weights}, {"--batch", &a->batch_file},
                                   {NULL, NULL}};
    int used = args_take("gradcheck", &a->model, strings, argc, argv, i);
    double v = 0;
    if (used)
        return used;
    if (!strcmp(argv[i], "--batch-size"))
        used = number(argc, argv, i, 1, 64, &v), a->batch = (int)v;
    else if (!strcmp(argv[i], "--sample"))
        used = number(argc, argv, i, 0, 1e9, &v), a->o.sample = (size_t)v;
    else if (!strcmp(argv[i], "--eps"))
        used = number(argc, argv, i, 1e-12, 1, &a->o.check.eps);
    else if (!strcmp(argv[i], "--atol"))
        used = number(argc, argv, i, 1e-300, 1e6, &a->o.check.atol);
    else if (!strcmp(argv[i], "--rtol"))
        used = number(argc, argv, i, 1e-300, 1e6, &a->o.check.rtol);
    else
        used = args_model_file("gradcheck", &a->model, argv[i]) ? -1 : 1;
    return used;
}

/* The batch: --batch FILE, else --batch-size rows drawn from the task with train.seed. */
static bp_batch *check_batch(const check_args *a, bp_trainer *tr, int *rc)
{
    bp_error err;
    bp_rng rng;
    bp_rng_seed(&rng, bp_trainer_config(tr)->train.seed);
    bp_batch *b = a->batch_file ? bp_batch_load(a->batch_file, &err)
                                : bp_task_batch(bp_trainer_task(tr), a->batch, BP_SPLIT_TRAIN,
                                                &rng, &err);
    if (!b) {
        cli_error("gradcheck", "%s", err.msg);
        *rc = EXIT_USAGE;
    } else if (a->batch_file &&
               args_check_batch("gradcheck", tr, a->batch_file, b, 0, 0, true)) {
        bp_batch_free(b);
        b = NULL;
        *rc = EXIT_USAGE;
    }
    return b;
}

static int run_check(const check_args *a, const bp_model_config *c, bp_trainer *tr,
                     const bp_batch *b)
{
    bp_params *p = bp_trainer_params(tr);
    bp_check_sample_opts o = a->o;
    o.check.seed = c->train.seed;
    printf("gradcheck %s: batch %d, T = %d, %zu parameters, %s, double precision%s%s\n",
           c->name, b->B, b->T, bp_params_elements(p), a->weights ? a->weights : "initial weights",
           a->batch_file ? ", batch " : "", a->batch_file ? a->batch_file : "");
    if (o.sample)
        printf("sampling %zu elements per parameter (the largest gradients and a seeded draw)\n",
               o.sample);
    bp_net_check r;
    bp_error err;
    if (bp_gradcheck_net(bp_trainer_net(tr), p, b, &o, &r, &err) != BP_OK) {
        cli_error("gradcheck", "%s", err.msg);
        return cli_status_exit(err.status);
    }
    size_t n = 512 * ((size_t)r.n_params + 2);
    char *text = malloc(n);
    if (text)
        fputs(bp_net_check_str(&r, text, n), stdout);
    free(text);
    int rc = !text ? EXIT_RUNTIME : r.ok ? EXIT_OK : EXIT_RUNTIME;
    bp_net_check_free(&r);
    return rc;
}

static int check_model(int argc, char **argv)
{
    check_args a = {.batch = 2};
    int rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int used = parse_option(&a, argc, argv, i);
        if (used < 0)
            return EXIT_USAGE;
        i += used - 1;
    }
    bp_model_config *c = args_load("gradcheck", &a.model, &rc);
    bp_trainer *tr = c ? args_trainer("gradcheck", c, a.weights, &rc) : NULL;
    bp_batch *b = tr ? check_batch(&a, tr, &rc) : NULL;
    if (b && (rc = check_user_ops()) != EXIT_USAGE) {
        int model_rc = run_check(&a, c, tr, b);
        rc = model_rc ? model_rc : rc;
    }
    bp_batch_free(b);
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
