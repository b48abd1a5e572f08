/* test_layers_util.h — what the layer tests share: building a small net with random
 * parameters and a random batch, and gradient-checking its loss over its parameters.
 * Header-only (static), so every test file stays one executable. */
#ifndef TEST_LAYERS_UTIL_H
#define TEST_LAYERS_UTIL_H

#include "bptt_layers.h"
#include "bptt_ops.h"

#include <criterion/criterion.h>
#include <string.h>

typedef struct fixture {
    bp_params *params;
    bp_net *net;
    bp_batch *batch;
    int t0, t1;
    bp_net_state *saved; /* the state entering [t0, t1), a constant; NULL = zero */
    bp_net_state *state; /* a scratch copy of saved for each forward */
} fixture;

/* A net with n layers, its parameters initialised from seed. */
static inline void fx_net(fixture *f, const bp_layer_spec *layers, int n, int input_size,
                          bool tokens, bp_head_kind head, int O, int chunk, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    bp_net_spec s;
    bp_net_spec_default(&s);
    s.input_size = input_size;
    s.tokens = tokens;
    s.n_layers = n;
    s.layers = layers;
    s.head = head;
    s.output_size = O;
    s.chunk = chunk;
    bp_error err = {0};
    f->params = bp_params_new();
    f->net = bp_net_new(&s, f->params, &err);
    cr_assert_not_null(f->net, "bp_net_new: %s", err.msg);
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    cr_assert_eq(bp_net_init(f->net, &rng, &err), BP_OK, "bp_net_init: %s", err.msg);
}

/* A random batch fitting the net: x ~ U[-1, 1] (or ids below V), targets by head. */
static inline void fx_batch(fixture *f, int B, int T, bp_target_kind target, uint64_t seed)
{
    const bp_net_spec *s = bp_net_spec_of(f->net);
    bp_error err = {0};
    f->batch = bp_batch_new(B, T, s->input_size, s->tokens, target, s->output_size, &err);
    cr_assert_not_null(f->batch, "%s", err.msg);
    bp_rng rng;
    bp_rng_seed(&rng, seed);
    size_t nx = (size_t)B * T * f->batch->F;
    for (size_t i = 0; i < nx; i++)
        f->batch->x[i] = s->tokens ? (bp_real)bp_rng_below(&rng, (uint32_t)s->input_size)
                                   : (bp_real)(2 * bp_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < bp_batch_y_size(f->batch); i++)
        f->batch->y[i] = target == BP_TARGET_VALUES ? (bp_real)bp_rng_uniform(&rng)
                                                    : (bp_real)bp_rng_below(&rng, (uint32_t)s->output_size);
    f->t0 = 0;
    f->t1 = T;
}

static inline void fx_free(fixture *f)
{
    bp_net_state_free(f->saved);
    bp_net_state_free(f->state);
    bp_batch_free(f->batch);
    bp_net_free(f->net);
    bp_params_free(f->params);
}

static inline bp_node *fx_forward(bp_tape *t, bp_node *const in[], void *ctx)
{
    (void)in;
    fixture *f = ctx;
    bp_net_state *s = NULL;
    if (f->saved) {
        if (bp_net_state_copy(f->state, f->saved, NULL) != BP_OK)
            return NULL;
        s = f->state;
    }
    return bp_net_forward(f->net, t, f->batch, f->t0, f->t1, s);
}

/* Gradient-check the loss over steps [t0, t1) with respect to every parameter. */
static inline void fx_gradcheck(fixture *f, const char *what)
{
    int n = bp_params_count(f->params);
    bp_node *in[64];
    cr_assert_leq(n, 64);
    for (int i = 0; i < n; i++)
        in[i] = bp_params_at(f->params, i);
    bp_check_result r[64];
    bool ok;
    bp_error err = {0};
    cr_assert_eq(bp_gradcheck(fx_forward, f, in, n, NULL, r, &ok, &err), BP_OK, "%s: %s", what,
                 err.msg);
    for (int i = 0; i < n; i++)
        cr_expect(r[i].ok, "%s: %s max abs err %g, max rel err %g, worst element %zu "
                  "(analytic %g, numeric %g)", what, in[i]->name, r[i].max_abs, r[i].max_rel,
                  r[i].worst, r[i].analytic, r[i].numeric);
}

static inline bp_layer_spec fx_layer(bp_layer_kind kind, int size)
{
    bp_layer_spec s;
    bp_layer_spec_default(&s, kind);
    s.size = size;
    return s;
}

/* A graph cell with two states, input 3, size 4, every product per step:
 *   g = tanh(x W_x + h W_h + b);  c' = 0.5 c + g;  h' = tanh(c') * g */
static inline bp_cell_spec fx_two_state_cell(void)
{
    static const bp_cell_param params[] = {
        {"W_x", {2, {3, 4}}, BP_CELL_INIT_UNIFORM, 0},
        {"W_h", {2, {4, 4}}, BP_CELL_INIT_UNIFORM, 0},
        {"b", {1, {4}}, BP_CELL_INIT_UNIFORM, 0.5},
    };
#define REF(k, i) {BP_CELL_##k, i}
    static const bp_cell_node nodes[] = {
        {"xw", &bp_op_matmul, {REF(X, 0), REF(PARAM, 0)}, {0}, ""},
        {"hw", &bp_op_matmul, {REF(STATE, 0), REF(PARAM, 1)}, {0}, ""},
        {"pre", &bp_op_add, {REF(NODE, 0), REF(NODE, 1)}, {0}, ""},
        {"preb", &bp_op_add, {REF(NODE, 2), REF(PARAM, 2)}, {0}, ""},
        {"g", &bp_op_tanh, {REF(NODE, 3)}, {0}, ""},
        {"cs", &bp_op_scale, {REF(STATE, 1)}, {0.5}, ""},
        {"c_new", &bp_op_add, {REF(NODE, 5), REF(NODE, 4)}, {0}, ""},
        {"hc", &bp_op_tanh, {REF(NODE, 6)}, {0}, ""},
        {"h_new", &bp_op_mul, {REF(NODE, 7), REF(NODE, 4)}, {0}, ""},
    };
    bp_cell_spec cell = {.n_states = 2, .state_names = {"h", "c"}, .state_sizes = {4, 4},
                         .n_params = 3, .params = params, .n_nodes = 9, .nodes = nodes,
                         .next = {REF(NODE, 8), REF(NODE, 6)}};
#undef REF
    return cell;
}

#endif
