/* cmd_model.c — the model commands that read one file and write one:
 * `bptt init`, `bptt batch`, `bptt grads`, `bptt eval`, `bptt summary`. */
#include "args.h"
#include "cli.h"
#include "eval_report.h"

#include <stdio.h>
#include <string.h>

typedef struct io_opts {
    model_args model;
    const char *out, *weights, *batch, *split;
    int size;
} io_opts;

static int parse(const char *cmd, int argc, char **argv, io_opts *o)
{
    const args_string strings[] = {{"--out", &o->out},     {"--weights", &o->weights},
                                   {"--batch", &o->batch}, {"--split", &o->split},
                                   {NULL, NULL}};
    for (int i = 1; i < argc; i++) {
        int used = args_take(cmd, &o->model, strings, argc, argv, i);
        if (used < 0)
            return -1;
        if (used) {
            i += used - 1;
        } else if (!strcmp(argv[i], "--size")) {
            const char *v = args_value(cmd, argc, argv, i++);
            if (!v || args_int(cmd, "--size", v, 1, ARGS_MAX_BATCH, &o->size))
                return -1;
        } else if (args_model_file(cmd, &o->model, argv[i])) {
            return -1;
        }
    }
    return 0;
}

/* Everything a model command needs: options, config, trainer (weights loaded). */
typedef struct session {
    io_opts o;
    bp_model_config *c;
    bp_trainer *tr;
    int rc;
} session;

static int open_session(const char *cmd, int argc, char **argv, session *s, bool need_out)
{
    memset(s, 0, sizeof *s);
    if (parse(cmd, argc, argv, &s->o))
        return s->rc = EXIT_USAGE;
    if (need_out && !s->o.out) {
        cli_error(cmd, "--out FILE is required");
        return s->rc = EXIT_USAGE;
    }
    if (!(s->c = args_load(cmd, &s->o.model, &s->rc)))
        return s->rc;
    const args_file inputs[] = {{"--weights", s->o.weights}, {"--batch", s->o.batch}, {NULL, NULL}};
    const args_file outputs[] = {{"--out", s->o.out}, {NULL, NULL}};
    if (args_check_distinct(cmd, s->c, inputs, outputs) ||
        (s->o.out && args_check_output(cmd, "output", s->o.out)))
        return s->rc = EXIT_USAGE;
    s->tr = args_trainer(cmd, s->c, s->o.weights, &s->rc);
    return s->rc;
}

static int close_session(session *s)
{
    bp_trainer_free(s->tr);
    bp_model_config_free(s->c);
    return s->rc;
}

/* A batch from --batch FILE, or NULL (printed) on failure. */
static bp_batch *load_batch(const char *cmd, const char *path, int *rc)
{
    bp_error err;
    bp_batch *b = bp_batch_load(path, &err);
    if (!b) {
        cli_error(cmd, "%s", err.msg);
        *rc = EXIT_USAGE;
    }
    return b;
}

static int write_failed(const char *cmd, const bp_error *err)
{
    cli_error(cmd, "%s", err->msg);
    return EXIT_RUNTIME;
}

int cmd_init(int argc, char **argv)
{
    session s;
    if (open_session("init", argc, argv, &s, true) == EXIT_OK) {
        bp_error err;
        if (bp_trainer_save_weights(s.tr, s.o.out, &err) != BP_OK)
            s.rc = write_failed("init", &err);
        else
            printf("wrote %d parameters (%zu values) to %s\n",
                   bp_params_count(bp_trainer_params(s.tr)),
                   bp_params_elements(bp_trainer_params(s.tr)), s.o.out);
    }
    return close_session(&s);
}

int cmd_batch(int argc, char **argv)
{
    session s;
    if (open_session("batch", argc, argv, &s, true) != EXIT_OK)
        return close_session(&s);
    bp_split split = BP_SPLIT_TRAIN;
    if (s.o.split && !strcmp(s.o.split, "eval")) {
        split = BP_SPLIT_EVAL;
    } else if (s.o.split && strcmp(s.o.split, "train")) {
        cli_error("batch", "--split is train or eval, not '%s'", s.o.split);
        s.rc = EXIT_USAGE;
        return close_session(&s);
    }
    const bp_train_config *t = &bp_trainer_config(s.tr)->train;
    bp_rng rng;
    bp_rng_seed(&rng, t->seed);
    bp_error err;
    bp_batch *b = bp_task_batch(bp_trainer_task(s.tr), s.o.size ? s.o.size : t->batch, split,
                                &rng, &err);
    if (!b || bp_batch_save(s.o.out, b, &err) != BP_OK)
        s.rc = b ? write_failed("batch", &err) : (cli_error("batch", "%s", err.msg), EXIT_USAGE);
    else
        printf("wrote a batch of %d sequences of %d steps to %s\n", b->B, b->T, s.o.out);
    bp_batch_free(b);
    return close_session(&s);
}

int cmd_grads(int argc, char **argv)
{
    session s;
    if (open_session("grads", argc, argv, &s, true) != EXIT_OK)
        return close_session(&s);
    if (!s.o.batch) {
        cli_error("grads", "--batch B.safetensors is required (bptt batch writes one)");
        s.rc = EXIT_USAGE;
        return close_session(&s);
    }
    bp_batch *b = load_batch("grads", s.o.batch, &s.rc);
    if (b && args_check_batch("grads", s.tr, s.o.batch, b, 0, 0, true)) {
        bp_batch_free(b);
        s.rc = EXIT_USAGE;
        return close_session(&s);
    }
    bp_error err;
    double loss;
    if (b && bp_trainer_grads(s.tr, b, &loss, &err) != BP_OK) {
        cli_error("grads", "%s: %s", s.o.batch, err.msg);
        s.rc = EXIT_USAGE;
    } else if (b) {
        bp_params *p = bp_trainer_params(s.tr);
        bp_st_writer *w = bp_st_writer_new();
        bp_real l = (bp_real)loss;
        bp_status st = w ? bp_st_writer_add(w, "loss", BP_DTYPE_REAL, bp_shape1(1), &l, &err)
                         : bp_error_set(&err, BP_ERR_NOMEM, "out of memory");
        for (int i = 0; st == BP_OK && i < bp_params_count(p); i++) {
            bp_node *q = bp_params_at(p, i);
            st = bp_st_writer_add(w, q->name, BP_DTYPE_REAL, q->shape, q->grad, &err);
        }
        if (st == BP_OK)
            st = bp_st_writer_meta(w, "format", "bptt-grads", &err);
        if (st == BP_OK)
            st = bp_st_writer_save(w, s.o.out, &err);
        bp_st_writer_free(w);
        if (st != BP_OK)
            s.rc = write_failed("grads", &err);
        else
            printf("loss %.9g; wrote the loss and %d gradients to %s\n", loss,
                   bp_params_count(p), s.o.out);
    }
    bp_batch_free(b);
    return close_session(&s);
}

int cmd_eval(int argc, char **argv)
{
    session s;
    if (open_session("eval", argc, argv, &s, false) != EXIT_OK)
        return close_session(&s);
    if (!s.o.weights)
        fprintf(stderr, "bptt eval: no --weights: evaluating the initial weights\n");
    bp_batch *b = s.o.batch ? load_batch("eval", s.o.batch, &s.rc) : NULL;
    if (b && args_check_batch("eval", s.tr, s.o.batch, b, 0, 0, false))
        s.rc = EXIT_USAGE;
    bp_net_eval ev;
    bp_error err;
    bp_status st = s.rc ? BP_ERR_VALUE
                   : b  ? bp_net_evaluate(bp_trainer_net(s.tr), bp_trainer_tape(s.tr), b, &ev, &err)
                        : bp_trainer_eval(s.tr, &ev, &err);
    if (!s.rc && st != BP_OK) {
        cli_error("eval", "%s%s%s", b ? s.o.batch : "", b ? ": " : "", err.msg);
        s.rc = EXIT_USAGE;
    } else if (!s.rc) {
        const bp_task *task = bp_trainer_task(s.tr);
        long rows = bp_task_rows(task, BP_SPLIT_EVAL);
        char where[64], base[256];
        snprintf(where, sizeof where, "the validation set (%ld sequence%s)", rows,
                 rows == 1 ? "" : "s");
        eval_baseline_text(task, 6, base, sizeof base);
        if (strcmp(bp_task_name(task), bp_task_kind_name(BP_TASK_FILES)) || s.o.batch)
            printf("%s on %s: loss %.6f  %s %.6f  (baseline %s)\n", s.c->name,
                   s.o.batch ? s.o.batch : "the held-out batch", ev.loss, ev.metric_name,
                   ev.metric, base);
        else
            printf("%s on %s: loss %.6f  %s %.6f\n", s.c->name, where, ev.loss, ev.metric_name,
                   ev.metric);
        if (eval_report(s.tr, b, &ev, &err) != BP_OK) {
            cli_error("eval", "%s", err.msg);
            s.rc = EXIT_RUNTIME;
        }
    }
    bp_batch_free(b);
    return close_session(&s);
}

int cmd_summary(int argc, char **argv)
{
    session s;
    if (open_session("summary", argc, argv, &s, false) != EXIT_OK)
        return close_session(&s);
    bp_net *net = bp_trainer_net(s.tr);
    const bp_net_spec *spec = bp_net_spec_of(net);
    bp_params *p = bp_trainer_params(s.tr);
    printf("model %s (%s task, T = %d)\n\n", s.c->name, bp_task_name(bp_trainer_task(s.tr)),
           bp_task_steps(bp_trainer_task(s.tr)));
    printf("%-12s %-10s %-14s %10s  %s\n", "layer", "type", "output", "params", "options");
    printf("%-12s %-10s [B, %-9d] %10s  %s\n", "input", spec->tokens ? "tokens" : "values",
           spec->input_size, "0", spec->tokens ? "vocabulary" : "");
    size_t counted = 0;
    for (int l = 0; l < spec->n_layers; l++) {
        const bp_layer_spec *ls = &spec->layers[l];
        size_t n = 0;
        char prefix[BP_LAYER_NAME_MAX + 2];
        snprintf(prefix, sizeof prefix, "%s.", ls->name);
        for (int i = 0; i < bp_params_count(p); i++)
            if (!strncmp(bp_params_at(p, i)->name, prefix, strlen(prefix)))
                n += bp_params_at(p, i)->size;
        counted += n;
        char opts[128] = "";
        int u = 0;
        if (ls->kind == BP_LAYER_RNN || ls->kind == BP_LAYER_LINEAR)
            u += snprintf(opts + u, sizeof opts - (size_t)u, "%s ", bp_act_name(ls->act));
        if (bp_layer_is_recurrent(ls->kind))
            u += snprintf(opts + u, sizeof opts - (size_t)u, "init=%s ", bp_init_kind_name(ls->init));
        if (ls->clip_grad > 0)
            u += snprintf(opts + u, sizeof opts - (size_t)u, "clip_grad=%g ", ls->clip_grad);
        if (ls->residual)
            u += snprintf(opts + u, sizeof opts - (size_t)u, "residual ");
        if (ls->skip_from == BP_SKIP_INPUT)
            u += snprintf(opts + u, sizeof opts - (size_t)u, "skip=input ");
        else if (ls->skip_from >= 0)
            u += snprintf(opts + u, sizeof opts - (size_t)u, "skip=%s ",
                          spec->layers[ls->skip_from].name);
        printf("%-12s %-10s [B, %-9d] %10zu  %s\n", ls->name, bp_layer_kind_name(ls->kind),
               ls->size, n, opts);
    }
    size_t total = bp_params_elements(p);
    printf("%-12s %-10s [B, %-9d] %10zu  %s\n", "out", "readout", spec->output_size,
           total - counted, spec->head == BP_HEAD_SEQ ? "every step" : "last step");
    bp_error err;
    int per_step = bp_net_step_nodes(net, &err);
    printf("\ntotal parameters: %zu\ntape nodes per time step: %d\n", total, per_step);
    return close_session(&s);
}
