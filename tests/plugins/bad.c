/* bad.c — plugins that must be refused (tests/test_plugin.c), one per -D: BAD_NOREG
 * defines no registration function, BAD_OLD only the registration of a bptt before the
 * descriptor's layout version, BAD_DUP registers a built-in's name, BAD_DESC a
 * descriptor without a backward. */
#include <bptt_plugin.h>

#ifdef BAD_OLD
__attribute__((visibility("default"))) bp_status bptt_plugin_register_f32(bp_error *err);
__attribute__((visibility("default"))) bp_status bptt_plugin_register_f32(bp_error *err)
{
    (void)err;
    return BP_OK;
}
#elif defined(BAD_NOREG)
int bptt_plugin_something_else(void);
int bptt_plugin_something_else(void)
{
    return 0;
}
#else
static bp_status same_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    (void)err;
    *out = n->in[0]->shape;
    return BP_OK;
}

static void copy(bp_node *n, bp_tape *t)
{
    (void)t;
    for (size_t i = 0; i < n->size; i++)
        n->value[i] = n->in[0]->value[i];
}

static void pass_back(bp_node *n)
{
    for (size_t i = 0; i < n->size; i++)
        n->in[0]->grad[i] += n->grad[i];
}

static void one_case(int k, bp_rng *rng, bp_check_case *c)
{
    (void)k;
    (void)rng;
    c->in_shape[0] = bp_shape2(2, 3);
}

static const bp_op op = {
#ifdef BAD_DUP
    .name = "tanh",
    .backward = pass_back,
#else
    .name = "nobackward",
#endif
    .n_in = 1,
    .shape = same_shape,
    .forward = copy,
    .check = {.n_cases = 1, .make_case = one_case, .lo = -1, .hi = 1},
};

BP_PLUGIN_REGISTER(err)
{
    (void)pass_back;
    return bp_op_register(&op, err);
}
#endif
