/* train_by_hand.c — a recurrent net written with ops on a tape, trained by hand.
 *
 * The task: read a sequence x_0 .. x_{T-1} of numbers in U(-1, 1) and output x_0, the
 * first one, after the last step; the net must carry it through T steps, so its
 * gradient flows back through all of them (backpropagation through time):
 *     h_t = tanh(x_t W_x + h_{t-1} W_h + b),  h_{-1} = 0
 *     y   = h_{T-1} W_o + b_o,                 L = mean((y - x_0)^2)
 *
 *     cc -std=c11 -O2 train_by_hand.c $(pkg-config --cflags --libs bptt) -o train_by_hand
 *     ./train_by_hand
 * Exit status 0 when training lowers the loss tenfold, 1 when not, 2 on an error.
 */
#include <bptt_graph.h>
#include <bptt_ops.h>
#include <bptt_optim.h>

#include <math.h>
#include <stdio.h>

enum { B = 32, T = 6, H = 16, STEPS = 600 };

/* Everything one run owns. Parameters live in params (outside the tape); the tape's
 * nodes live until bp_tape_reset. */
typedef struct net {
    bp_params *params;
    bp_node *W_x, *W_h, *b, *W_o, *b_o;
} net;

/* Add the parameters, then draw their values: value and grad are plain arrays. */
static bp_status net_init(net *m, bp_rng *rng, bp_error *err)
{
    m->params = bp_params_new();
    if (!m->params)
        return bp_error_set(err, BP_ERR_NOMEM, "no memory for the parameters");
    if (!(m->W_x = bp_params_add(m->params, "rnn.W_x", bp_shape2(1, H), err)) ||
        !(m->W_h = bp_params_add(m->params, "rnn.W_h", bp_shape2(H, H), err)) ||
        !(m->b = bp_params_add(m->params, "rnn.b", bp_shape1(H), err)) ||
        !(m->W_o = bp_params_add(m->params, "out.W", bp_shape2(H, 1), err)) ||
        !(m->b_o = bp_params_add(m->params, "out.b", bp_shape1(1), err)))
        return err->status;
    bp_fill_normal(m->W_x->value, m->W_x->size, 0, 1.0, rng);
    bp_fill_normal(m->W_h->value, m->W_h->size, 0, 1.0 / sqrt(H), rng);
    bp_fill_normal(m->W_o->value, m->W_o->size, 0, 1.0 / sqrt(H), rng);
    return BP_OK; /* biases stay 0 */
}

/* Record the forward pass of one batch on the tape; return the loss node.
 * x is [T][B] (step-major), y is [B]. NULL when an op failed: the tape holds the
 * error, so the chain needs one check at its end. */
static bp_node *forward(bp_tape *t, const net *m, bp_real x[T][B], const bp_real *y,
                        bp_node **x0)
{
    bp_node *h = bp_tape_input(t, bp_shape2(B, H), NULL, false); /* zeros */
    for (int s = 0; s < T; s++) {
        /* x_0 takes a gradient, so dL/dx_0 can be read after backward */
        bp_node *xs = bp_tape_input(t, bp_shape2(B, 1), x[s], s == 0);
        if (s == 0)
            *x0 = xs;
        bp_node *pre = bp_add(t, bp_matmul(t, xs, m->W_x), bp_matmul(t, h, m->W_h));
        h = bp_tanh(t, bp_add(t, pre, m->b)); /* (B, H); b is broadcast over rows */
    }
    bp_node *out = bp_add(t, bp_matmul(t, h, m->W_o), m->b_o); /* (B, 1) */
    bp_node *target = bp_tape_input(t, bp_shape2(B, 1), y, false);
    return bp_mse(t, out, target);
}

static void draw_batch(bp_rng *rng, bp_real x[T][B], bp_real *y)
{
    for (int s = 0; s < T; s++)
        bp_fill_uniform(x[s], B, -1, 1, rng);
    for (int i = 0; i < B; i++)
        y[i] = x[0][i];
}

static double norm(const bp_real *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return sqrt(s);
}

int main(void)
{
    bp_error err = {0};
    bp_rng rng;
    bp_rng_seed(&rng, 42);
    net m = {0};
    bp_tape *tape = bp_tape_new();
    bp_optim *opt = NULL;
    int rc = 2;
    if (!tape || net_init(&m, &rng, &err) != BP_OK)
        goto done;

    /* Adam with global-norm clipping; the optimizer keeps a pointer to params. */
    bp_optim_config oc;
    bp_optim_config_default(&oc);
    oc.lr = 0.01;
    oc.clip_norm = 1.0;
    if (!(opt = bp_optim_new(&oc, m.params, &err)))
        goto done;

    static bp_real x[T][B];
    bp_real y[B];
    double first = 0, recent = 0;
    for (int step = 0; step < STEPS; step++) {
        draw_batch(&rng, x, y);
        bp_node *x0 = NULL;
        bp_node *loss = forward(tape, &m, x, y, &x0);
        if (!loss) {
            err = *bp_tape_error(tape);
            goto done;
        }
        /* dL/d(every node) by one reverse walk of the tape; parameter grads are summed
         * over the T steps that read them. */
        if (bp_backward(tape, loss, &err) != BP_OK)
            goto done;
        double l = loss->value[0];
        if (step == 0) {
            first = l;
            printf("step 0: loss %.4f  |dL/dW_h| %.3g  |dL/dW_x| %.3g  |dL/dx_0| %.3g\n", l,
                   norm(m.W_h->grad, m.W_h->size), norm(m.W_x->grad, m.W_x->size),
                   norm(x0->grad, x0->size));
        }
        recent = step < STEPS - 50 ? 0 : recent + l / 50; /* the mean of the last 50 */
        /* check, clip, update, zero the grads */
        bp_step_info info;
        if (bp_optim_step(opt, l, &info, &err) != BP_OK)
            goto done;
        if ((step + 1) % 100 == 0)
            printf("step %d: loss %.4f  grad norm %.3g%s\n", step + 1, l, info.grad_norm,
                   info.clipped ? " (clipped)" : "");
        bp_tape_reset(tape); /* forget this step's nodes; memory is kept for the next */
    }
    printf("mean loss of the last 50 steps: %.4f (first step: %.4f)\n", recent, first);
    rc = recent < first / 10 ? 0 : 1;
done:
    if (rc == 2)
        fprintf(stderr, "error: %s\n", err.msg);
    bp_optim_free(opt);
    bp_tape_free(tape);
    bp_params_free(m.params);
    return rc;
}
