/* swish.c — an op of your own, as a plugin: every bptt command can then use it.
 *
 * Defines swish(x; beta) = x * sigmoid(beta x) (Ramachandran et al. 2017; SiLU at
 * beta = 1) with the descriptor the built-in ops use, and the one function a plugin
 * exports, its registration (BP_PLUGIN_REGISTER). swish_rnn.yaml's graph form names the op.
 *
 * Build it against the installed library twice, for bptt (float: training) and for
 * bptt-f64 (double: gradient checks; it finds libswish_f64.so beside libswish.so):
 *     cc -std=c11 -O2 -shared -fPIC swish.c $(pkg-config --cflags --libs bptt) -o libswish.so
 *     cc -std=c11 -O2 -shared -fPIC swish.c $(pkg-config --cflags --libs bptt_f64) -o libswish_f64.so
 * then use it from any command:
 *     bptt train swish_rnn.yaml --plugin ./libswish.so
 *     bptt gradcheck swish_rnn.yaml --plugin ./libswish.so
 */
#include <bptt_plugin.h>

#include <math.h>

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
    .unsaved = BP_UNSAVED_OUT,      /* backward reads x, never y */
    .check = {.n_cases = 4, .make_case = swish_case, .lo = -4, .hi = 4},
};

/* The registration, which `--plugin ./libswish.so` (or a model file's `plugins:`) runs:
 * register every op of the plugin and return the first failure. */
BP_PLUGIN_REGISTER(err)
{
    return bp_op_register(&swish_op, err);
}
