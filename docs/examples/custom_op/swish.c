/* swish.c — an op defined in your own program, used by a model file.
 *
 * Registers swish(x; beta) = x * sigmoid(beta x) (Ramachandran et al. 2017; SiLU at
 * beta = 1) with the descriptor the built-in ops use, gradient-checks it, then loads
 * swish_rnn.yaml, whose graph form names the op, trains it and prints the loss.
 *
 * Build against the installed library, in double precision so the gradient check
 * is tight (bptt_f64; use `bptt` for float, where only training makes sense):
 *     cc -std=c11 -O2 swish.c $(pkg-config --cflags --libs bptt_f64) -o swish
 *     ./swish swish_rnn.yaml
 * Exit status: 0 when the op passes its gradient check and training lowers the
 * held-out loss, 1 when not, 2 on an error (which it prints).
 */
#include <bptt_models.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The shape rule: the output has the input's shape; refuse a bad attribute here,
 * before anything is allocated or computed, with a message naming the op. */
static bp_status swish_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    if (!(n->attr[0] > 0))
        return bp_error_set(err, BP_ERR_VALUE, "swish: beta must be > 0, got %g", n->attr[0]);
    *out = n->in[0]->shape;
    return BP_OK;
}

/* y = x sigmoid(beta x), elementwise; n->value is allocated by the tape. */
static void swish_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    const bp_node *x = n->in[0];
    double beta = n->attr[0];
    for (size_t i = 0; i < n->size; i++) {
        double v = x->value[i];
        n->value[i] = (bp_real)(v / (1 + exp(-beta * v)));
    }
}

/* dy/dx = s + beta x s (1 - s), s = sigmoid(beta x). Always ADD into the input's
 * gradient: an input read twice must receive the sum. (Backward runs only for a node
 * that requires a gradient; an op with several inputs must skip each input whose
 * requires_grad is false: its grad is NULL.) */
static void swish_backward(bp_node *n)
{
    bp_node *x = n->in[0];
    double beta = n->attr[0];
    for (size_t i = 0; i < n->size; i++) {
        double v = x->value[i];
        double s = 1 / (1 + exp(-beta * v));
        x->grad[i] += (bp_real)(n->grad[i] * (s + beta * v * s * (1 - s)));
    }
}

/* Gradient-check case k: input shape and attribute. Case 0 is a single row; later
 * cases are random [B, F] matrices, with beta 1 or 2. */
static void swish_case(int k, bp_rng *rng, bp_check_case *c)
{
    int rows = k == 0 ? 1 : 2 + (int)bp_rng_below(rng, 4);
    c->in_shape[0] = bp_shape2(rows, 2 + (int)bp_rng_below(rng, 5));
    c->attr[0] = k % 2 ? 2.0 : 1.0;
}

/* The descriptor: static, so it outlives every use (the registry keeps the pointer). */
static const bp_op swish_op = {
    .name = "swish",                /* the YAML graph form's `op: swish` */
    .n_in = 1,
    .n_attr = 1,
    .attr_names = {"beta"},         /* written `beta: 1.0` beside the node in YAML */
    .formula = "y = x sigmoid(beta x)",
    .shape = swish_shape,
    .forward = swish_forward,
    .backward = swish_backward,
    .check = {.n_cases = 4, .make_case = swish_case, .lo = -4, .hi = 4},
};

/* From C, an op is one bp_apply call; a wrapper makes it read like a built-in. */
static bp_node *swish(bp_tape *t, bp_node *x, double beta)
{
    return bp_apply(t, &swish_op, (bp_node *const[]){x}, (const double[]){beta});
}

/* swish(0.5; 1) on a tape, and its derivative, as a first smoke test. */
static int try_on_a_tape(bp_error *err)
{
    bp_tape *t = bp_tape_new();
    bp_node *x = bp_tape_input(t, bp_shape1(1), (const bp_real[]){0.5}, true);
    bp_node *y = swish(t, x, 1.0);
    if (!y || bp_backward(t, y, err) != BP_OK) {
        if (!y)
            *err = *bp_tape_error(t);
        bp_tape_free(t);
        return 2;
    }
    printf("swish(0.5) = %.6f, d/dx = %.6f\n", (double)y->value[0], (double)x->grad[0]);
    bp_tape_free(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.yaml\n", argv[0]);
        return 2;
    }
    bp_error err = {0};

    /* 1. Register: from now on bp_op_find("swish") and model files know the op. */
    if (bp_op_register(&swish_op, &err) != BP_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 2;
    }
    if (try_on_a_tape(&err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 2;
    }

    /* 2. Gradient-check it on every case its check settings draw. */
    bp_check_report report;
    char text[1024];
    if (bp_gradcheck_op_all(&swish_op, NULL, &report, &err) != BP_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 2;
    }
    printf("%s\n", bp_check_report_str(&swish_op, &report, text, sizeof text));
#ifndef BP_DOUBLE
    printf("(float build: the gradient check is only tight in double, with bptt_f64)\n");
#endif

    /* 3. Load the model file that names the op, and train it. */
    bp_model_config *cfg = bp_model_config_load(argv[1], NULL, 0, &err);
    if (!cfg) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 2;
    }
    bp_trainer *tr = bp_trainer_new(cfg, &err);
    long steps = cfg->train.steps;
    bp_model_config_free(cfg); /* the trainer keeps its own copy */
    if (!tr) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 2;
    }
    bp_net_eval before, after;
    if (bp_trainer_eval(tr, &before, &err) != BP_OK)
        goto fail;
    printf("held-out loss before training: %.5f\n", before.loss);
    for (long s = 1; s <= steps; s++) {
        double loss;
        if (bp_trainer_step(tr, &loss, NULL, &err) != BP_OK)
            goto fail;
        if (s == 1 || s % (steps / 5 > 0 ? steps / 5 : 1) == 0)
            printf("step %4ld  training loss %.5f\n", s, loss);
    }
    if (bp_trainer_eval(tr, &after, &err) != BP_OK)
        goto fail;
    printf("held-out loss after %ld steps: %.5f (%s %.5f)\n", steps, after.loss,
           after.metric_name, after.metric);
    bp_trainer_free(tr);
    if (!report.ok || !(after.loss < before.loss)) {
        printf("%s\n", !report.ok ? "gradient check FAILED" : "training did not lower the loss");
        return 1;
    }
    return 0;
fail:
    fprintf(stderr, "error: %s\n", err.msg);
    bp_trainer_free(tr);
    return 2;
}
