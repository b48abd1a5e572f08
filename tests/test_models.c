/* test_models.c — model files: the shipped ones load; every kind of mistake gives
 * its exact file:line:column message; --set overrides; the graph form builds a cell
 * whose gradients are right. */
#include "bptt_models.h"

#include <criterion/criterion.h>

#define TEST_DIR_PREFIX "bptt_models"
#include "test_tmpdir.h"
TestSuite(models, .fini = test_dir_remove);
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *write_file(const char *name, const char *text)
{
    const char *path = test_path(name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Load text as a model file; expect failure with the message after "<path>:". */
static void expect_error(const char *text, const char *message)
{
    const char *path = write_file("m.yaml", text);
    bp_error err = {0};
    bp_model_config *c = bp_model_config_load(path, NULL, 0, &err);
    cr_assert_null(c, "loaded, expected: %s", message);
    char want[1024];
    snprintf(want, sizeof want, "%s:%s", path, message);
    cr_expect_str_eq(err.msg, want);
}

static bp_model_config *load(const char *path, const char *const sets[], int n)
{
    bp_error err = {0};
    bp_model_config *c = bp_model_config_load(path, sets, n, &err);
    cr_assert_not_null(c, "%s: %s", path, err.msg);
    return c;
}

/* Every model file in models/ (found by listing the folder, so a new model needs no line here)
 * loads; it builds when its data is there (the digits' CSV comes from tools/get_digits.sh,
 * which tests/test_digits.sh runs). */
Test(models, every_shipped_model_loads_and_builds)
{
    DIR *d = opendir(BPTT_SOURCE_DIR "/models");
    cr_assert_not_null(d);
    int n = 0, built = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
            continue;
        char path[512], name[256];
        snprintf(path, sizeof path, "%s/models/%s", BPTT_SOURCE_DIR, e->d_name);
        snprintf(name, sizeof name, "%.*s", (int)(len - 5), e->d_name);
        bp_model_config *c = load(path, NULL, 0);
        cr_expect_str_eq(c->name, name);
        n++;
        bool files = !strcmp(c->data.task, "files");
        if (!files || access(c->data.files.train.x, R_OK) == 0) {
            bp_error err;
            bp_trainer *tr = bp_trainer_new(c, &err);
            cr_expect_not_null(tr, "%s: %s", name, err.msg);
            bp_trainer_free(tr);
            built++;
        }
        bp_model_config_free(c);
    }
    closedir(d);
    cr_expect_geq(n, 11, "only %d model files found", n);
    cr_expect_geq(built, 7);
}

Test(models, the_layer_form_fills_the_spec)
{
    char path[512];
    snprintf(path, sizeof path, "%s/models/stacked_skip.yaml", BPTT_SOURCE_DIR);
    bp_model_config *c = load(path, NULL, 0);
    cr_expect_eq(c->net.n_layers, 2);
    cr_expect_str_eq(c->layers[1].name, "rnn1");
    cr_expect_eq(c->layers[1].skip_from, 0);
    cr_expect_eq(c->layers[0].clip_grad, 25);
    cr_expect_eq(c->layers[0].act, BP_ACT_TANH);
    cr_expect_str_eq(c->data.task, "adding");
    cr_expect_eq(c->data.steps, 30);
    cr_expect_eq(c->train.optim.kind, BP_OPT_ADAM);
    cr_expect_float_eq(c->train.optim.clip_norm, 1.0, 0);
    bp_model_config_free(c);
}

Test(models, set_overrides_values_and_says_where_it_failed)
{
    char path[512];
    snprintf(path, sizeof path, "%s/models/irnn_adding.yaml", BPTT_SOURCE_DIR);
    const char *sets[] = {"train.lr=0.01", "model.layers[0].hidden=16", "data.steps=7",
                          "train.schedule=cosine"};
    bp_model_config *c = load(path, sets, 4);
    cr_expect_float_eq(c->train.optim.lr, 0.01, 0);
    cr_expect_eq(c->layers[0].size, 16);
    cr_expect_eq(c->data.steps, 7);
    cr_expect_eq(c->train.optim.schedule, BP_LR_COSINE);
    cr_expect_eq(c->train.optim.total_steps, c->train.steps);
    bp_model_config *plain = load(path, NULL, 0);
    cr_expect_neq(c->hash, plain->hash, "overrides are part of the model's identity");
    bp_model_config_free(c);
    bp_model_config_free(plain);

    bp_error err;
    const char *bad[] = {"train.lrr=1"};
    cr_expect_null(bp_model_config_load(path, bad, 1, &err));
    cr_expect(strstr(err.msg, "--set train.lrr:1:1: unknown key 'lrr' in 'train'"), "%s", err.msg);
    cr_expect(strstr(err.msg, "did you mean 'lr'?"), "%s", err.msg);
}

Test(models, mistakes_give_file_line_column_and_the_key)
{
    expect_error("model:\n  layers:\n    - type: rnn\n      hidden: sixty-four\ndata:\n  task: adding\n",
                 "4:15: 'model.layers[0].hidden' must be an integer, not 'sixty-four'");
    expect_error("model:\n  layers:\n    - type: rnn\n      hidden: 8\n",
                 "1:1: the top level is missing the required key 'data'");
    expect_error("model:\n  layers: [{type: rnn, hidden: 1000000000}]\ndata: {task: adding}\n",
                 "2:32: 'model.layers[0].hidden' is 1000000000, too large (at most 65536)");
    expect_error("model:\n  layers: [{type: rnn, hidden: 0}]\ndata: {task: adding}\n",
                 "2:32: 'model.layers[0].hidden' is 0, too small (at least 1)");
    expect_error("model:\n  layers: [{type: gru, hidden: 8}]\nloss: mse\ndata: {task: copy}\n",
                 "3:7: loss 'mse' does not fit the copy task, whose targets need 'xent'");
    expect_error("model:\n  layers: [{type: rnn, size: 8}]\ndata: {task: adding}\n",
                 "2:30: layer type 'rnn' sets its width with 'hidden', not 'size'");
    expect_error("model:\n  layers:\n    - {name: a, type: rnn, hidden: 8}\n"
                 "    - {name: b, type: rnn, hidden: 8, skip: aa}\ndata: {task: adding}\n",
                 "4:45: skip: 'aa' is not an earlier layer (known: input, a)");
    expect_error("model:\n  layers:\n    - {name: a, type: rnn, hidden: 8}\n"
                 "    - {name: b, type: rnn, hidden: 16, skip: a}\ndata: {task: adding}\n",
                 "4:7: layer 'b': skip from 'a' needs size 16, has 8");
    expect_error("model:\n  layers: [{type: rnn, hidden: 8}]\ndata: {task: chars}\n",
                 "3:7: the chars task needs 'path' (a text file; or --set data.path=FILE)");
    expect_error("model: !!python/object:os.system\n  layers: [{type: rnn, hidden: 8}]\n"
                 "data: {task: adding}\n",
                 "1:8: YAML tags are not allowed ('!!python/object:os.system'): a model file is "
                 "plain data");
    expect_error("model:\n  layers: [{type: rnn, hidden: 8}]\n  graph: {}\ndata: {task: adding}\n",
                 "3:10: a model has 'layers' or a 'graph' (one recurrent cell), not both");
}

Test(models, unknown_names_list_the_known_ones)
{
    expect_error("model:\n  layers:\n    - {type: lstmm, hidden: 8}\ndata: {task: adding}\n",
                 "3:14: unknown value 'lstmm' for 'model.layers[0].type' (known: linear, rnn, "
                 "lstm, gru, embedding; did you mean 'lstm'?)");
    expect_error("model:\n  layers: [{type: rnn, hidden: 8}]\ndata: {task: adding}\n"
                 "train: {optimizer: adamx}\n",
                 "4:20: unknown value 'adamx' for 'train.optimizer' (known: sgd, rmsprop, adam, "
                 "adamw; did you mean 'adam'?)");
    expect_error("model:\n  layers:\n    - type: rnn\n      hiden: 64\ndata:\n  task: adding\n",
                 "4:7: unknown key 'hiden' in 'model.layers[0]' (known: name, type, hidden, size, "
                 "activation, init, gain, std, spectral_radius, clip_grad, residual, skip, "
                 "forget_bias, dropout, variational, recurrent_dropout; did you mean 'hidden'?)");
}

static const char *graph_prefix = "model:\n  graph:\n    state: {h: 4}\n"
                                  "    params: {W: {shape: [4, 4]}}\n    nodes:\n";

Test(models, graph_form_mistakes)
{
    char text[1024];
    snprintf(text, sizeof text, "%s      - {name: a, op: matmull, inputs: [h, W]}\n"
             "    next: {h: a}\ndata: {task: adding}\n", graph_prefix);
    const char *path = write_file("g.yaml", text);
    bp_error err;
    cr_expect_null(bp_model_config_load(path, NULL, 0, &err));
    cr_expect(strstr(err.msg, "g.yaml:6:23: unknown op 'matmull' (known: matmul, add"), "%s",
              err.msg);
    cr_expect(strstr(err.msg, "did you mean 'matmul'?)"), "%s", err.msg);

    snprintf(text, sizeof text, "%s      - {name: a, op: matmul, inputs: [hh, W]}\n"
             "    next: {h: a}\ndata: {task: adding}\n", graph_prefix);
    expect_error(text, "6:40: input 'hh' is not defined before it (known: x, h, W)");
    snprintf(text, sizeof text, "%s      - {name: a, op: matmul, inputs: [h]}\n"
             "    next: {h: a}\ndata: {task: adding}\n", graph_prefix);
    expect_error(text, "6:39: op matmul takes 2 inputs, not 1");
    snprintf(text, sizeof text, "%s      - {name: a, op: scale, inputs: [h]}\n"
             "    next: {h: a}\ndata: {task: adding}\n", graph_prefix);
    expect_error(text, "6:9: 'model.graph.nodes[0]' is missing the required key 'c'");
    snprintf(text, sizeof text, "%s      - {name: a, op: tanh, inputs: [h]}\n"
             "    next: {h: b}\ndata: {task: adding}\n", graph_prefix);
    expect_error(text, "7:15: next value 'b' is not defined before it (known: x, h, W, a)");
}

Test(models, a_graph_shape_mismatch_names_the_node_and_its_place)
{
    const char *path = write_file(
        "s.yaml", "model:\n  graph:\n    state: {h: 4}\n    params:\n"
                  "      W_x: {shape: [3, 4]}\n      W_h: {shape: [4, 4]}\n    nodes:\n"
                  "      - {name: xw, op: matmul, inputs: [x, W_x]}\n"
                  "      - {name: hw, op: matmul, inputs: [h, W_h]}\n"
                  "      - {name: h_new, op: add, inputs: [xw, hw]}\n"
                  "    next: {h: h_new}\ndata: {task: adding}\n");
    bp_model_config *c = load(path, NULL, 0);
    bp_error err;
    cr_expect_null(bp_trainer_new(c, &err));
    char want[512];
    snprintf(want, sizeof want,
             "%s:8:9: layer 'cell', node 'xw': matmul: cannot multiply [1, 2] by [3, 4] "
             "(needs (M, K) and (K, N))", path);
    cr_expect_str_eq(err.msg, want);
    bp_model_config_free(c);
}

/* The graph form's IRNN cell has the same gradients as finite differences. */
typedef struct fixture {
    bp_trainer *tr;
    bp_batch *b;
} fixture;

static bp_node *cell_loss(bp_tape *t, bp_node *const in[], void *ctx)
{
    (void)in;
    fixture *f = ctx;
    return bp_net_forward(bp_trainer_net(f->tr), t, f->b, 0, f->b->T, NULL);
}

Test(models, the_graph_cell_passes_gradcheck)
{
    char path[512];
    snprintf(path, sizeof path, "%s/models/graph_lnrnn.yaml", BPTT_SOURCE_DIR);
    const char *sets[] = {"data.steps=4", "model.graph.state.h=5", "model.graph.params.W_x.shape=[2, 5]",
                          "model.graph.params.W_h.shape=[5, 5]", "model.graph.params.g.shape=[5]",
                          "model.graph.params.b.shape=[5]"};
    bp_model_config *c = load(path, sets, 6);
    bp_error err;
    fixture f = {.tr = bp_trainer_new(c, &err)};
    cr_assert_not_null(f.tr, "%s", err.msg);
    bp_rng rng;
    bp_rng_seed(&rng, 5);
    f.b = bp_task_batch(bp_trainer_task(f.tr), 3, BP_SPLIT_TRAIN, &rng, &err);
    bp_params *p = bp_trainer_params(f.tr);
    /* perturb the identity so the relu sees both signs */
    for (int i = 0; i < bp_params_count(p); i++) {
        bp_node *q = bp_params_at(p, i);
        for (size_t j = 0; j < q->size; j++)
            q->value[j] += (bp_real)(0.3 * (bp_rng_uniform(&rng) - 0.5));
    }
    int n = bp_params_count(p);
    bp_node *in[16];
    for (int i = 0; i < n; i++)
        in[i] = bp_params_at(p, i);
    bp_check_result r[16];
    bool ok;
    cr_assert_eq(bp_gradcheck(cell_loss, &f, in, n, NULL, r, &ok, &err), BP_OK, "%s", err.msg);
    for (int i = 0; i < n; i++)
        cr_expect(r[i].ok, "%s: max abs err %g, max rel err %g", in[i]->name, r[i].max_abs,
                  r[i].max_rel);
    cr_expect_not_null(bp_params_find(p, "cell.W_h"));
    bp_batch_free(f.b);
    bp_trainer_free(f.tr);
    bp_model_config_free(c);
}
