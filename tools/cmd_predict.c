/* cmd_predict.c — `bptt predict`: a trained model's outputs for every sequence of a data
 * file (class probabilities and the arg-max, or values), written as .safetensors, .npy or
 * .csv by the output's extension. The model's data is not read: the checkpoint's metadata
 * says what it was (bp_checkpoint_task). */
#include "args.h"
#include "cli.h"
#include "predict_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { PREDICT_BATCH = 256 };

/* The trainer for a checkpoint: its metadata's task (no data read), or, for a file
 * without one (weights from an older bptt), the model file's own data. */
bp_trainer *predict_trainer(const char *cmd, const bp_model_config *c, const char *weights,
                            int *rc)
{
    bp_error err = {0};
    bp_task *task = bp_checkpoint_task(weights, &err);
    if (!task && err.status != BP_ERR_PARSE) {
        cli_error(cmd, "%s", err.msg);
        *rc = EXIT_USAGE;
        return NULL;
    }
    if (!task)
        return args_trainer(cmd, c, weights, rc);
    bp_trainer *tr = bp_trainer_new_with_task(c, task, &err);
    if (tr && bp_trainer_load(tr, weights, true, &err) != BP_OK) {
        bp_trainer_free(tr);
        tr = NULL;
    }
    if (!tr) {
        cli_error(cmd, "%s", err.msg);
        *rc = err.status == BP_ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
    }
    return tr;
}

/* The input file as a data set of inputs only, in the model's CSV layout; a NumPy x's
 * lengths from their own file, as data.train's {x, y, lengths} has them (NULL: none). */
static bp_task *open_input(const bp_model_config *c, const bp_trainer *tr, const char *path,
                           const char *lengths, bp_error *err)
{
    bp_file_set_opts o = c->data.files;
    memset(&o.train, 0, sizeof o.train);
    memset(&o.valid, 0, sizeof o.valid);
    o.valid_fraction = 0;
    o.valid_last = 0;
    o.inputs_only = true;
    o.target = bp_task_target(bp_trainer_task((bp_trainer *)tr));
    const bp_net_spec *s = bp_net_spec_of(bp_trainer_net((bp_trainer *)tr));
    o.O = s->output_size;
    o.vocab = s->tokens ? s->input_size : 0; /* an id beyond it is refused, naming its place */
    if (strlen(path) >= sizeof o.train.x || (lengths && strlen(lengths) >= sizeof o.train.lengths)) {
        bp_error_set(err, BP_ERR_VALUE, "%s: the path is too long",
                     strlen(path) >= sizeof o.train.x ? path : lengths);
        return NULL;
    }
    snprintf(o.train.x, sizeof o.train.x, "%s", path);
    if (lengths) /* the data set refuses it beside a file that holds its own */
        snprintf(o.train.lengths, sizeof o.train.lengths, "%s", lengths);
    return bp_task_files(&o, err);
}

/* Every row's outputs, PREDICT_BATCH rows at a time. */
static bp_status run_all(bp_trainer *tr, bp_task *in, predict_result *r, bp_error *err)
{
    bp_net *net = bp_trainer_net(tr);
    size_t per_row = (size_t)(r->per_step ? r->T : 1) * (size_t)r->O;
    for (long first = 0; first < r->N; first += PREDICT_BATCH) {
        int n = (int)(r->N - first < PREDICT_BATCH ? r->N - first : PREDICT_BATCH);
        bp_batch *b = bp_task_slice(in, BP_SPLIT_EVAL, first, n, err);
        if (!b)
            return err->status;
        bp_status st = bp_net_predict(net, bp_trainer_tape(tr), b, NULL,
                                      r->out + (size_t)first * per_row, err);
        for (int k = 0; st == BP_OK && k < n; k++)
            r->len[first + k] = bp_batch_len(b, k);
        bp_batch_free(b);
        if (st != BP_OK)
            return st;
    }
    return BP_OK;
}

/* The input must be what the model reads (its token ids were checked against the
 * vocabulary as the file was opened). */
static bp_status check_input(const bp_trainer *tr, const bp_task *in, const char *path,
                             bp_error *err)
{
    const bp_net_spec *s = bp_net_spec_of(bp_trainer_net((bp_trainer *)tr));
    if (bp_task_tokens(in) != s->tokens)
        return bp_error_set(err, BP_ERR_SHAPE, "%s: holds %s; the model reads %s", path,
                            bp_task_tokens(in) ? "token ids" : "feature vectors",
                            s->tokens ? "token ids" : "feature vectors");
    if (!s->tokens && bp_task_input_size(in) != s->input_size)
        return bp_error_set(err, BP_ERR_SHAPE, "%s: has %d feature%s per step; the model reads %d",
                            path, bp_task_input_size(in), bp_task_input_size(in) == 1 ? "" : "s",
                            s->input_size);
    return BP_OK;
}

int cmd_predict(int argc, char **argv)
{
    model_args m = {0};
    const char *weights = NULL, *input = NULL, *lengths = NULL, *out = NULL;
    const args_string strings[] = {{"--weights", &weights}, {"--input", &input},
                                   {"--lengths", &lengths}, {"--out", &out}, {NULL, NULL}};
    for (int i = 1; i < argc; i++) {
        int used = args_take("predict", &m, strings, argc, argv, i);
        if (used < 0)
            return EXIT_USAGE;
        if (used)
            i += used - 1;
        else if (args_model_file("predict", &m, argv[i]))
            return EXIT_USAGE;
    }
    if (!m.model || !weights || !input || !out) {
        cli_error("predict", "usage: bptt predict MODEL.yaml --weights W --input FILE "
                  "[--lengths L.npy] --out FILE");
        return EXIT_USAGE;
    }
    if (!predict_format_known(out)) {
        cli_error("predict", "%s: the output's extension says its format: .safetensors, .npy or "
                  ".csv", out);
        return EXIT_USAGE;
    }
    const args_file inputs[] = {{"the model file", m.model}, {"--weights", weights},
                                {"--input", input}, {"--lengths", lengths}, {NULL, NULL}};
    const args_file outputs[] = {{"--out", out}, {NULL, NULL}};
    if (args_check_distinct("predict", NULL, inputs, outputs) ||
        args_check_output("predict", "predictions", out))
        return EXIT_USAGE;
    int rc = EXIT_OK;
    bp_model_config *c = args_load("predict", &m, &rc);
    bp_trainer *tr = c ? predict_trainer("predict", c, weights, &rc) : NULL;
    bp_error err = {0};
    bp_task *in = tr ? open_input(c, tr, input, lengths, &err) : NULL;
    predict_result r = {0};
    if (tr && (!in || check_input(tr, in, input, &err) != BP_OK ||
               predict_result_init(&r, tr, in, &err) != BP_OK || run_all(tr, in, &r, &err) != BP_OK)) {
        cli_error("predict", "%s", err.msg);
        rc = err.status == BP_ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
    } else if (tr) {
        if (predict_write(&r, bp_trainer_task(tr), out, &err) != BP_OK) {
            cli_error("predict", "%s", err.msg);
            rc = EXIT_RUNTIME;
        } else {
            printf("wrote predictions for %ld sequence%s to %s\n", r.N, r.N == 1 ? "" : "s", out);
        }
    }
    predict_result_free(&r);
    bp_task_free(in);
    bp_trainer_free(tr);
    bp_model_config_free(c);
    return rc;
}
