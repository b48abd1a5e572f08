/* cmd_graph.c — `bptt graph MODEL.yaml --steps K --dot FILE`: the tape of the model
 * unrolled over K steps as Graphviz DOT. One cluster per time step; each parameter
 * is one node outside the clusters, read by every step (blue edges), so the weight
 * sharing that makes BPTT sum over steps is visible; edges that carry a value from
 * one step to the next (the hidden state) are red; skip and clip_grad nodes are
 * filled orange and red; the loss is a double octagon. Render: dot -Tsvg FILE. */
#include "args.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAPH_MAX_STEPS 200

typedef struct graph_opts {
    model_args model;
    const char *dot;
    int steps, size;
} graph_opts;

static int parse(int argc, char **argv, graph_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--set")) {
            int used = args_model_option("graph", &o->model, argc, argv, i);
            if (used < 0)
                return -1;
            i += used - 1;
        } else if (!strcmp(a, "--steps") || !strcmp(a, "--size") || !strcmp(a, "--dot")) {
            if (!(v = args_value("graph", argc, argv, i++)))
                return -1;
            if (!strcmp(a, "--dot"))
                o->dot = v;
            else if (args_int("graph", a, v, 1, !strcmp(a, "--steps") ? GRAPH_MAX_STEPS : 4096,
                               !strcmp(a, "--steps") ? &o->steps : &o->size))
                return -1;
        } else if (args_model_file("graph", &o->model, a)) {
            return -1;
        }
    }
    if (!o->steps) {
        cli_error("graph", "--steps K is required (how many time steps to unroll)");
        return -1;
    }
    return 0;
}

enum { STEP_NONE = -1, STEP_ALL = -2 };

/* The time step each tape node belongs to: a recorded h_t or h_{t-1} W_h fixes its
 * own; an op takes the latest of its inputs'; any other node (an input: x_t, h0, the
 * targets; or an op on inputs alone) takes the step of the nodes that read it, or
 * STEP_ALL when nodes of several steps read it (e.g. the input projection of all
 * steps done as one matmul). STEP_NONE where nothing applies. */
static int *assign_steps(bp_tape *t, const bp_trace *tr)
{
    int n = bp_tape_len(t);
    size_t cap = (size_t)(n ? n : 1);
    int *step = malloc(cap * sizeof *step), *lo = malloc(cap * sizeof *lo);
    int *hi = malloc(cap * sizeof *hi);
    if (!step || !lo || !hi) {
        free(step);
        free(lo);
        free(hi);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        step[i] = STEP_NONE;
        lo[i] = n + 1; /* the consumers' steps seen so far: [lo, hi] */
        hi[i] = -1;
    }
    for (int l = 0; l < tr->n_layers; l++)
        for (int k = 0; k < tr->steps; k++) {
            step[tr->h[l][k]->id] = k;
            step[tr->rec[l][k]->id] = k;
        }
    for (int i = 0; i < n; i++) {
        bp_node *x = bp_tape_node(t, i);
        if (!x->op || step[i] >= 0)
            continue;
        for (int j = 0; j < x->op->n_in; j++)
            if (x->in[j]->id >= 0 && step[x->in[j]->id] > step[i])
                step[i] = step[x->in[j]->id];
    }
    for (int i = n - 1; i >= 0; i--) { /* every consumer of i comes later on the tape */
        bp_node *x = bp_tape_node(t, i);
        if (step[i] == STEP_NONE && hi[i] >= 0)
            step[i] = lo[i] == hi[i] ? lo[i] : STEP_ALL;
        if (step[i] == STEP_NONE || !x->op)
            continue;
        for (int j = 0; j < x->op->n_in; j++) {
            int id = x->in[j]->id;
            if (id < 0 || step[id] != STEP_NONE)
                continue;
            int s_lo = step[i] == STEP_ALL ? 0 : step[i];
            int s_hi = step[i] == STEP_ALL ? n : step[i];
            lo[id] = s_lo < lo[id] ? s_lo : lo[id];
            hi[id] = s_hi > hi[id] ? s_hi : hi[id];
        }
    }
    free(lo);
    free(hi);
    return step;
}

static bool is_param(const bp_node *x)
{
    return x->id < 0 && x->name;
}

static bool is_loss(const bp_node *x)
{
    return x->op && (x->op == &bp_op_mse || x->op == &bp_op_softmax_xent);
}

/* A DOT string body: quotes and backslashes escaped. */
static void dot_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
}

/* What a tape input is: a layer's initial state (an lstm records c0 right after h0),
 * the targets, or the step's input. */
static void input_label(FILE *f, const bp_node *x, bp_tape *t, const bp_net *net, int step)
{
    const bp_trace *tr = bp_net_trace(net);
    for (int l = 0; l < tr->n_layers; l++) {
        const bp_layer_spec *s = &bp_net_spec_of(net)->layers[tr->layer[l]];
        if (tr->h0[l] == x) {
            fprintf(f, "h0 of %s (zero)", s->name);
            return;
        }
        if (s->kind == BP_LAYER_LSTM && tr->h0[l]->id + 1 == x->id) { /* recorded after h0 */
            fprintf(f, "c0 of %s (zero)", s->name);
            return;
        }
    }
    for (int i = x->id + 1; i < bp_tape_len(t); i++) {
        const bp_node *c = bp_tape_node(t, i);
        if (is_loss(c) && c->in[1] == x) {
            fputs("targets", f);
            return;
        }
    }
    if (step == STEP_ALL)
        fputs("x, all steps", f);
    else
        fprintf(f, "x[%d]", step);
}

/* The node's label: "op [shape]" with its attributes, or what a leaf is. */
static void node_label(FILE *f, const bp_node *x, bp_tape *t, const bp_net *net, int step)
{
    char s[64];
    bp_shape_str(x->shape, s, sizeof s);
    if (!x->op) {
        input_label(f, x, t, net, step);
    } else if (x->op == &bp_op_clip_grad) {
        fprintf(f, "clip_grad ±%g", x->attr[0]);
    } else if (x->op == &bp_op_skip) {
        fputs("skip: f(x) + x", f);
    } else if (x->op == &bp_op_slice) {
        fprintf(f, "slice %g:%g", x->attr[0], x->attr[0] + x->attr[1]);
    } else {
        dot_text(f, x->op->name);
        for (int a = 0; a < x->op->n_attr; a++)
            fprintf(f, " %s=%g", x->op->attr_names[a], x->attr[a]);
    }
    fprintf(f, "\\n%s", s);
    const bp_trace *tr = bp_net_trace(net);
    for (int l = 0; l < tr->n_layers; l++)
        for (int k = 0; k < tr->steps; k++) {
            const char *name = bp_net_spec_of(net)->layers[tr->layer[l]].name;
            if (tr->h[l][k] == x)
                fprintf(f, "\\nh[%d] of %s", k, name);
            if (tr->rec[l][k] == x)
                fprintf(f, "\\nh[%d] W_h of %s", k - 1, name);
        }
}

static void node_style(FILE *f, const bp_node *x)
{
    if (!x->op)
        fputs(", shape=ellipse, fillcolor=\"#f1f3f5\"", f);
    else if (x->op == &bp_op_skip)
        fputs(", fillcolor=\"#ffd8a8\", penwidth=2, class=\"skip\"", f);
    else if (x->op == &bp_op_clip_grad || x->op == &bp_op_clip_grad_norm)
        fputs(", fillcolor=\"#ffc9c9\", penwidth=2, class=\"clip\"", f);
    else if (is_loss(x))
        fputs(", shape=doubleoctagon, fillcolor=\"#fff3bf\"", f);
}

static void write_dot(FILE *f, const bp_model_config *c, bp_trainer *tr, bp_node *loss, int K)
{
    bp_tape *t = bp_trainer_tape(tr);
    bp_net *net = bp_trainer_net(tr);
    bp_params *params = bp_trainer_params(tr);
    int *step = assign_steps(t, bp_net_trace(net));
    int n = bp_tape_len(t);
    fputs("digraph bptt {\n", f);
    fprintf(f, "  graph [label=\"%s unrolled over %d steps: %d tape nodes; the %d parameters are "
               "shared by every step\", labelloc=t, fontname=\"Helvetica\", rankdir=LR, "
               "newrank=true];\n", c->name, K, n, bp_params_count(params));
    fputs("  node [fontname=\"Helvetica\", fontsize=10, shape=box, style=\"rounded,filled\", "
          "fillcolor=\"#ffffff\"];\n  edge [color=\"#495057\", arrowsize=0.6];\n", f);
    fputs("  subgraph cluster_params {\n    label=\"parameters (one node each, read by every "
          "step)\"; style=dashed; color=\"#1c7ed6\";\n", f);
    for (int i = 0; i < bp_params_count(params); i++) {
        const bp_node *p = bp_params_at(params, i);
        char s[64];
        fprintf(f, "    p%d [label=\"", i);
        dot_text(f, p->name);
        fprintf(f, "\\n%s\", shape=box3d, fillcolor=\"#d0ebff\", class=\"param\"];\n",
                bp_shape_str(p->shape, s, sizeof s));
    }
    fputs("  }\n", f);
    int n_all = 0;
    for (int i = 0; step && i < n; i++)
        n_all += step[i] == STEP_ALL;
    for (int k = n_all ? STEP_ALL : STEP_NONE; k < K; k++) {
        if (k >= 0)
            fprintf(f, "  subgraph cluster_t%d {\n    label=\"t = %d\"; style=rounded; "
                       "color=\"#adb5bd\";\n", k, k);
        else if (k == STEP_ALL)
            fputs("  subgraph cluster_all {\n    label=\"all steps at once\"; style=rounded; "
                  "color=\"#adb5bd\";\n", f);
        for (int i = 0; i < n; i++) {
            if ((step ? step[i] : STEP_NONE) != k)
                continue;
            const bp_node *x = bp_tape_node(t, i);
            fprintf(f, "    n%d [label=\"", i);
            node_label(f, x, t, net, k);
            fputc('"', f);
            node_style(f, x);
            fprintf(f, "%s];\n", x == loss ? ", peripheries=3" : "");
        }
        if (k != STEP_NONE)
            fputs("  }\n", f);
    }
    for (int i = 0; i < n; i++) {
        const bp_node *x = bp_tape_node(t, i);
        for (int j = 0; x->op && j < x->op->n_in; j++) {
            const bp_node *in = x->in[j];
            if (is_param(in)) {
                int p = 0;
                while (p < bp_params_count(params) && bp_params_at(params, p) != in)
                    p++;
                fprintf(f, "  p%d -> n%d [color=\"#1c7ed6\"];\n", p, i);
            } else if (in->id >= 0) {
                bool across = step && step[in->id] >= 0 && step[i] > step[in->id] && in->op;
                fprintf(f, "  n%d -> n%d%s;\n", in->id, i,
                        across ? " [color=\"#e03131\", penwidth=2]" : "");
            }
        }
    }
    fputs("}\n", f);
    free(step);
}

int cmd_graph(int argc, char **argv)
{
    graph_opts o = {0};
    int rc = EXIT_OK;
    if (parse(argc, argv, &o))
        return EXIT_USAGE;
    bp_model_config *c = args_load("graph", &o.model, &rc);
    if (!c)
        return rc;
    const args_file outputs[] = {{"--dot", o.dot}, {NULL, NULL}};
    if (args_check_distinct("graph", c, NULL, outputs) ||
        (o.dot && args_check_output("graph", "graph", o.dot))) {
        bp_model_config_free(c);
        return EXIT_USAGE;
    }
    bp_trainer *tr = args_trainer("graph", c, NULL, &rc);
    bp_batch *b = NULL;
    FILE *f = NULL;
    if (!tr)
        goto done;
    const bp_task *task = bp_trainer_task(tr);
    bp_error err;
    /* zeros: only the shapes matter; the last of the K steps carries the loss */
    b = bp_batch_new(o.size ? o.size : c->train.batch, o.steps,
                     bp_task_tokens(task) ? 1 : bp_task_input_size(task), bp_task_tokens(task),
                     bp_task_target(task), bp_task_output_size(task), &err);
    if (!b) {
        cli_error("graph", "%s", err.msg);
        rc = cli_status_exit(err.status);
        goto done;
    }
    bp_tape *t = bp_trainer_tape(tr);
    bp_tape_reset(t);
    bp_node *loss = bp_net_forward(bp_trainer_net(tr), t, b, 0, o.steps, NULL);
    if (!loss) {
        cli_error("graph", "%s", bp_tape_error(t)->msg);
        rc = EXIT_USAGE;
        goto done;
    }
    f = o.dot ? fopen(o.dot, "w") : stdout;
    if (!f) {
        cli_error("graph", "cannot write %s: %s", o.dot, strerror(errno));
        rc = EXIT_USAGE;
        goto done;
    }
    write_dot(f, c, tr, loss, o.steps);
    if (o.dot) {
        int bad = ferror(f);
        if (fclose(f) != 0 || bad) {
            cli_error("graph", "cannot write %s: %s", o.dot, strerror(errno));
            rc = EXIT_RUNTIME;
        } else {
            printf("wrote %s: %d tape nodes over %d steps, %d parameters (render: dot -Tsvg %s "
                   "-o graph.svg)\n", o.dot, bp_tape_len(t), o.steps,
                   bp_params_count(bp_trainer_params(tr)), o.dot);
        }
    }
done:
    bp_batch_free(b);
    bp_trainer_free(tr);
    bp_model_config_free(c);
    return rc;
}
