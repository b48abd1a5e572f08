/* check_model.c — a Criterion test of your own model's gradients: a ReLU RNN built in C,
 * checked whole (every parameter, all steps) against central differences with
 * bp_gradcheck_net, in double precision. Elements whose perturbation crosses the ReLU's
 * kink are reported apart (r.nonsmooth), so a failure means a wrong gradient.
 *
 * Build and run against the installed library:
 *     cc -std=c11 check_model.c $(pkg-config --cflags --libs bptt_f64 criterion) -o check_model
 *     ./check_model
 */
#include <bptt_models.h>
#include <criterion/criterion.h>

static bp_params *params;
static bp_net *net;
static bp_batch *batch;

/* The model under test: input 2, a ReLU RNN of 16 with identity init, one output. */
static void setup(void)
{
    bp_error err;
    bp_layer_spec rnn;
    bp_layer_spec_default(&rnn, BP_LAYER_RNN);
    rnn.size = 16;
    rnn.act = BP_ACT_RELU;
    rnn.init = BP_INIT_IDENTITY;
    bp_net_spec spec;
    bp_net_spec_default(&spec);
    spec.input_size = 2;
    spec.n_layers = 1;
    spec.layers = &rnn;
    spec.output_size = 1;
    params = bp_params_new();
    net = bp_net_new(&spec, params, &err);
    cr_assert_not_null(net, "%s", err.msg);
    bp_rng rng;
    bp_rng_seed(&rng, 7);
    cr_assert_eq(bp_net_init(net, &rng, &err), BP_OK, "%s", err.msg);
    batch = bp_batch_new(4, 6, 2, false, BP_TARGET_VALUES, 1, &err); /* B 4, T 6 */
    cr_assert_not_null(batch, "%s", err.msg);
    bp_fill_uniform(batch->x, 4 * 6 * 2, -1, 1, &rng);
    bp_fill_uniform(batch->y, 4, -1, 1, &rng);
}

static void teardown(void)
{
    bp_batch_free(batch);
    bp_net_free(net);
    bp_params_free(params);
}

TestSuite(my_model, .init = setup, .fini = teardown);

Test(my_model, every_gradient_matches_finite_differences)
{
    bp_net_check r;
    bp_error err;
    char text[4096];
    cr_assert_eq(bp_gradcheck_net(net, params, batch, NULL, &r, &err), BP_OK, "%s", err.msg);
    cr_expect(r.ok, "%s", bp_net_check_str(&r, text, sizeof text));
    cr_expect_eq(r.checked, bp_params_elements(params));
    bp_net_check_free(&r);
}

Test(my_model, a_sample_of_each_parameter)
{
    bp_check_sample_opts opts = {.sample = 20, .check = {.eps = 1e-5}};
    bp_net_check r;
    bp_error err;
    char text[4096];
    cr_assert_eq(bp_gradcheck_net(net, params, batch, &opts, &r, &err), BP_OK, "%s", err.msg);
    cr_expect(r.ok, "%s", bp_net_check_str(&r, text, sizeof text));
    for (int i = 0; i < r.n_params; i++)
        cr_expect_leq(r.param[i].stats.checked, 20, "%s", r.param[i].param->name);
    bp_net_check_free(&r);
}
