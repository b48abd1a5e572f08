/* test_register.c — ops from a user's program: a registered op is found, recorded,
 * differentiated, gradient-checked and usable in a model file's graph form; every bad
 * registration is refused at registration with a message naming the op and the field;
 * bp_gradcheck_op_all reports a whole op's verdict and catches a wrong backward.
 * Criterion runs each test in its own process, so registrations do not leak. */
#include "bptt_models.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a user's op, written only against the public headers ----
 * usoftsign(x; gain) = x / (1 + gain |x|), elementwise. */

static bp_status usoftsign_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    if (!(n->attr[0] > 0))
        return bp_error_set(err, BP_ERR_VALUE, "usoftsign: gain must be > 0, got %g", n->attr[0]);
    *out = n->in[0]->shape;
    return BP_OK;
}

static void usoftsign_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    double g = n->attr[0];
    for (size_t i = 0; i < n->size; i++) {
        double x = n->in[0]->value[i];
        n->value[i] = (bp_real)(x / (1 + g * fabs(x)));
    }
}

/* d/dx x / (1 + g|x|) = 1 / (1 + g|x|)^2 */
static void usoftsign_backward(bp_node *n)
{
    double g = n->attr[0];
    for (size_t i = 0; i < n->size; i++) {
        double d = 1 + g * fabs((double)n->in[0]->value[i]);
        n->in[0]->grad[i] += (bp_real)(n->grad[i] / (d * d));
    }
}

/* Wrong on purpose: forgets the square. */
static void usoftsign_backward_wrong(bp_node *n)
{
    double g = n->attr[0];
    for (size_t i = 0; i < n->size; i++)
        n->in[0]->grad[i] += (bp_real)(n->grad[i] / (1 + g * fabs((double)n->in[0]->value[i])));
}

/* case 0 is one row; later cases [B, F] with B, F in 2..5; gain 0.5 or 2. */
static void usoftsign_case(int k, bp_rng *rng, bp_check_case *c)
{
    int b = k == 0 ? 1 : 2 + (int)bp_rng_below(rng, 4);
    c->in_shape[0] = bp_shape2(b, 2 + (int)bp_rng_below(rng, 4));
    c->attr[0] = k % 2 ? 2.0 : 0.5;
}

static const bp_op usoftsign = {
    .name = "usoftsign",
    .n_in = 1,
    .n_attr = 1,
    .attr_names = {"gain"},
    .formula = "y = x / (1 + gain |x|)",
    .shape = usoftsign_shape,
    .forward = usoftsign_forward,
    .backward = usoftsign_backward,
    .check = {.n_cases = 4, .make_case = usoftsign_case, .lo = -3, .hi = 3},
};

static void register_ok(const bp_op *op)
{
    bp_error err = {0};
    cr_assert_eq(bp_op_register(op, &err), BP_OK, "%s", err.msg);
}

/* ---- registration works ---- */

Test(register, a_registered_op_is_found_recorded_and_differentiated)
{
    int before = bp_op_count();
    cr_assert_null(bp_op_find("usoftsign"));
    register_ok(&usoftsign);
    cr_expect_eq(bp_op_count(), before + 1);
    cr_expect_eq(bp_op_find("usoftsign"), &usoftsign);
    cr_expect_eq(bp_op_at(before), &usoftsign);
    cr_expect_eq(bp_op_find("tanh"), &bp_op_tanh, "built-ins are still found");
    char names[4096];
    bp_op_names(names, sizeof names);
    cr_expect_not_null(strstr(names, ", usoftsign"), "%s", names);

    /* y = sum(usoftsign(x; 2)) at x = (-1, 0.5): y = -1/3 + 1/4, dy/dx = (1/9, 1/4) */
    bp_tape *t = bp_tape_new();
    bp_node *x = bp_tape_input(t, bp_shape2(1, 2), (const bp_real[]){-1, 0.5}, true);
    bp_node *y = bp_apply(t, bp_op_find("usoftsign"), (bp_node *const[]){x}, (const double[]){2});
    bp_node *s = bp_sum(t, y);
    cr_assert_not_null(s, "%s", bp_tape_error(t) ? bp_tape_error(t)->msg : "");
    cr_expect_float_eq(s->value[0], -1.0 / 3 + 0.25, 1e-12);
    bp_error err = {0};
    cr_assert_eq(bp_backward(t, s, &err), BP_OK, "%s", err.msg);
    cr_expect_float_eq(x->grad[0], 1.0 / 9, 1e-12);
    cr_expect_float_eq(x->grad[1], 0.25, 1e-12);

    /* its shape rule's error reaches the tape like a built-in's */
    bp_tape_reset(t);
    x = bp_tape_input(t, bp_shape2(1, 2), NULL, true);
    cr_expect_null(bp_apply(t, &usoftsign, (bp_node *const[]){x}, (const double[]){-1}));
    cr_assert_not_null(bp_tape_error(t));
    cr_expect_not_null(strstr(bp_tape_error(t)->msg, "gain must be > 0, got -1"), "%s",
                       bp_tape_error(t)->msg);
    bp_tape_free(t);
}

/* ---- the report ---- */

Test(register, gradcheck_op_all_passes_a_right_op_and_reports_each_input)
{
    bp_check_report r;
    bp_error err = {0};
    cr_assert_eq(bp_gradcheck_op_all(&usoftsign, NULL, &r, &err), BP_OK, "%s", err.msg);
    char text[1024];
    bp_check_report_str(&usoftsign, &r, text, sizeof text);
    cr_expect(r.ok, "%s", text);
    cr_expect_eq(r.n_cases, 4);
    cr_expect_eq(r.n_failed, 0);
    cr_expect(r.input[0].ok);
    cr_expect_lt(r.input[0].max_abs, 1e-7, "%s", text);
    cr_expect_geq(r.worst_case[0], 0);
    cr_expect_lt(r.worst_case[0], 4);
    cr_expect_eq(r.shape[0].ndim, 2);
    const char *head = "usoftsign: 4 cases, all passed\n  input 0: max abs err ";
    cr_expect_eq(strncmp(text, head, strlen(head)), 0, "%s", text);
    /* works on an op that is not registered, and the same seed gives the same report */
    bp_check_report again;
    cr_assert_eq(bp_gradcheck_op_all(&usoftsign, NULL, &again, &err), BP_OK, "%s", err.msg);
    cr_expect_eq(again.input[0].max_abs, r.input[0].max_abs);
    cr_expect_eq(again.input[0].worst, r.input[0].worst);
}

Test(register, gradcheck_op_all_catches_a_wrong_backward)
{
    bp_op wrong = usoftsign;
    wrong.backward = usoftsign_backward_wrong;
    bp_check_report r;
    bp_error err = {0};
    cr_assert_eq(bp_gradcheck_op_all(&wrong, NULL, &r, &err), BP_OK, "%s", err.msg);
    char text[1024];
    bp_check_report_str(&wrong, &r, text, sizeof text);
    cr_expect_not(r.ok);
    cr_expect_not(r.input[0].ok);
    cr_expect_eq(r.n_failed, 4, "%s", text);
    cr_expect_gt(r.input[0].max_rel, 0.1, "%s", text);
    /* the worst element's two values are those the checker compared */
    cr_expect_gt(fabs(r.input[0].analytic - r.input[0].numeric), 1e-3, "%s", text);
    cr_expect_not_null(strstr(text, "usoftsign: 4 cases, FAILED (4 of 4)"), "%s", text);
    cr_expect_not_null(strstr(text, "input 0: "), "%s", text);
    cr_expect_not_null(strstr(text, ", FAIL; worst: case "), "%s", text);
    /* a short buffer is cut and terminated */
    char small[12];
    memset(small, 'x', sizeof small);
    bp_check_report_str(&wrong, &r, small, sizeof small);
    cr_expect_str_eq(small, "usoftsign: ");
}

/* y = x * (1 + t), t an integer-valued input that takes no gradient */
static bp_status pair_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    if (!bp_shape_eq(n->in[0]->shape, n->in[1]->shape))
        return bp_error_set(err, BP_ERR_SHAPE, "upair: shapes differ");
    *out = n->in[0]->shape;
    return BP_OK;
}
static void pair_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    for (size_t i = 0; i < n->size; i++)
        n->value[i] = n->in[0]->value[i] * (1 + n->in[1]->value[i]);
}
/* dy/dx = 1 + t; only x takes a gradient, and only when it requires one */
static void pair_backward(bp_node *n)
{
    if (!n->in[0]->requires_grad)
        return;
    for (size_t i = 0; i < n->size; i++)
        n->in[0]->grad[i] += n->grad[i] * (1 + n->in[1]->value[i]);
}
static void pair_case(int k, bp_rng *rng, bp_check_case *c)
{
    (void)rng;
    c->in_shape[0] = c->in_shape[1] = bp_shape2(1 + k, 3);
}
static void pair_fill(int input, bp_node *x, const bp_check_case *c, bp_rng *rng)
{
    (void)input, (void)c;
    for (size_t i = 0; i < x->size; i++)
        x->value[i] = (bp_real)bp_rng_below(rng, 3);
}
static const bp_op upair = {
    .name = "upair",
    .n_in = 2,
    .shape = pair_shape,
    .forward = pair_forward,
    .backward = pair_backward,
    .check = {.n_cases = 2, .make_case = pair_case, .lo = -1, .hi = 1, .const_inputs = 2,
              .fill_const = pair_fill},
};

Test(register, a_constant_input_is_left_out_of_the_report)
{
    register_ok(&upair);
    bp_check_report r;
    bp_error err = {0};
    cr_assert_eq(bp_gradcheck_op_all(&upair, NULL, &r, &err), BP_OK, "%s", err.msg);
    char text[1024];
    bp_check_report_str(&upair, &r, text, sizeof text); /* before: a message is built only on failure */
    cr_expect(r.ok, "%s", text);
    cr_expect_geq(r.worst_case[0], 0);
    cr_expect_eq(r.worst_case[1], -1);
    cr_expect_null(strstr(text, "input 1"), "%s", text);
}

/* A case its own shape rule refuses: an error naming the op, the case and the shapes. */
static void bad_case(int k, bp_rng *rng, bp_check_case *c)
{
    (void)k, (void)rng;
    c->in_shape[0] = bp_shape2(2, 3);
    c->attr[0] = 0; /* gain 0 is refused */
}

Test(register, gradcheck_op_all_names_a_case_that_cannot_run)
{
    bp_op op = usoftsign;
    op.check.make_case = bad_case;
    bp_check_report r;
    bp_error err = {0};
    cr_expect_eq(bp_gradcheck_op_all(&op, NULL, &r, &err), BP_ERR_VALUE);
    cr_expect_not(r.ok);
    cr_expect_not_null(strstr(err.msg, "op 'usoftsign', check case 0 (inputs [2, 3]): "), "%s",
                       err.msg);
    cr_expect_not_null(strstr(err.msg, "gain must be > 0, got 0"), "%s", err.msg);
    /* an invalid descriptor is an error, not a crash */
    op.forward = NULL;
    cr_expect_eq(bp_gradcheck_op_all(&op, NULL, &r, &err), BP_ERR_VALUE);
    cr_expect_not_null(strstr(err.msg, "missing its forward"), "%s", err.msg);
    /* the report of a check that could not run says so, and lists no input */
    char text[256];
    cr_expect_str_eq(bp_check_report_str(&op, &r, text, sizeof text),
                     "usoftsign: 0 cases, stopped by an error");
}

/* ---- refused registrations ---- */

/* Registering op fails with status and exactly message; the registry is unchanged. */
static void expect_refused(const bp_op *op, bp_status status, const char *message)
{
    int before = bp_op_count();
    bp_error err = {0};
    cr_expect_eq(bp_op_register(op, &err), status, "%s", message);
    cr_expect_str_eq(err.msg, message);
    cr_expect_eq(bp_op_count(), before, "%s", message);
    if (op && op->name && strcmp(op->name, "tanh") && strcmp(op->name, "usoftsign"))
        cr_expect_null(bp_op_find(op->name), "%s", message);
}

Test(register, name_clashes_are_refused)
{
    bp_op op = usoftsign;
    op.name = "tanh";
    expect_refused(&op, BP_ERR_NAME, "op 'tanh': the name is taken by a built-in op");
    cr_expect_eq(bp_op_find("tanh"), &bp_op_tanh);
    register_ok(&usoftsign);
    expect_refused(&usoftsign, BP_ERR_NAME, "op 'usoftsign': this op is already registered");
    bp_op twin = usoftsign;
    expect_refused(&twin, BP_ERR_NAME,
                   "op 'usoftsign': the name is taken by an op registered earlier");
    cr_expect_eq(bp_op_find("usoftsign"), &usoftsign);
}

Test(register, missing_functions_are_refused)
{
    bp_op op = usoftsign;
    op.name = "nofwd";
    op.forward = NULL;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'nofwd': missing its forward (.forward); an op needs .shape, .forward and "
                   ".backward");
    op = usoftsign;
    op.name = "nobwd";
    op.backward = NULL;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'nobwd': missing its backward (.backward); an op needs .shape, .forward "
                   "and .backward");
    op = usoftsign;
    op.name = "noshape";
    op.shape = NULL;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'noshape': missing its shape rule (.shape); an op needs .shape, .forward "
                   "and .backward");
}

Test(register, bad_names_and_arities_are_refused)
{
    expect_refused(NULL, BP_ERR_VALUE, "the op descriptor is NULL");
    bp_op op = usoftsign;
    op.name = NULL;
    expect_refused(&op, BP_ERR_VALUE, "an op needs a name (.name)");
    op.name = "";
    expect_refused(&op, BP_ERR_VALUE, "an op needs a name (.name)");
    const char *bad[] = {"Swish", "2x", "has-dash", "_x", "a b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        op.name = bad[i];
        char want[256];
        snprintf(want, sizeof want,
                 "op '%s': a name starts with a lower-case letter and uses only lower-case "
                 "letters, digits and '_'", bad[i]);
        expect_refused(&op, BP_ERR_NAME, want);
    }
    op = usoftsign;
    op.name = "arity";
    op.n_in = 0;
    expect_refused(&op, BP_ERR_VALUE, "op 'arity': .n_in is 0 (1 to 4 inputs allowed)");
    op.n_in = BP_MAX_INPUTS + 1;
    expect_refused(&op, BP_ERR_VALUE, "op 'arity': .n_in is 5 (1 to 4 inputs allowed)");
    op.n_in = 1;
    op.n_attr = -1;
    expect_refused(&op, BP_ERR_VALUE, "op 'arity': .n_attr is -1 (0 to 4 attributes allowed)");
}

Test(register, bad_attribute_names_are_refused)
{
    bp_op op = usoftsign;
    op.name = "attrs";
    op.n_attr = 2;
    expect_refused(&op, BP_ERR_VALUE, "op 'attrs': attribute 1 has no name (.attr_names[1])");
    op.attr_names[1] = "gain";
    expect_refused(&op, BP_ERR_NAME, "op 'attrs': two attributes are named 'gain'");
    op.attr_names[1] = "inputs";
    expect_refused(&op, BP_ERR_NAME,
                   "op 'attrs': attribute name 'inputs' is reserved (a graph node's keys are "
                   "name, op and inputs)");
    op.attr_names[1] = "Beta";
    expect_refused(&op, BP_ERR_NAME,
                   "op 'attrs': attribute name 'Beta' must start with a lower-case letter and "
                   "use only a-z, 0-9 and '_'");
}

static void fill_zero(int input, bp_node *x, const bp_check_case *c, bp_rng *rng)
{
    (void)input, (void)c, (void)rng;
    memset(x->value, 0, x->size * sizeof *x->value);
}

Test(register, bad_check_settings_are_refused)
{
    const bp_op base = {.name = "chk", .n_in = 2, .shape = pair_shape, .forward = pair_forward,
                        .backward = pair_backward,
                        .check = {.n_cases = 2, .make_case = pair_case, .lo = -1, .hi = 1}};
    register_ok(&base); /* the base is valid: each change below is what is refused */
    bp_op op = base;
    op.name = "chk2";
    op.check.n_cases = 0;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': no gradient-check settings: every op needs .check.make_case and "
                   ".check.n_cases >= 1 (got a make_case, 0)");
    op = base;
    op.name = "chk2";
    op.check.make_case = NULL;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': no gradient-check settings: every op needs .check.make_case and "
                   ".check.n_cases >= 1 (got make_case NULL, 2)");
    op.check = (bp_op_check){0};
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': no gradient-check settings: every op needs .check.make_case and "
                   ".check.n_cases >= 1 (got make_case NULL, 0)");
    op = base;
    op.name = "chk2";
    op.check.lo = 1;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': check range needs finite .check.lo < .check.hi (inputs are drawn "
                   "from U[lo, hi]), got lo = 1, hi = 1");
    op.check.lo = NAN;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': check range needs finite .check.lo < .check.hi (inputs are drawn "
                   "from U[lo, hi]), got lo = nan, hi = 1");
    op.check.lo = -INFINITY;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': check range needs finite .check.lo < .check.hi (inputs are drawn "
                   "from U[lo, hi]), got lo = -inf, hi = 1");
    op = base;
    op.name = "chk2";
    op.check.n_kinks = 3;
    expect_refused(&op, BP_ERR_VALUE, "op 'chk2': .check.n_kinks is 3 (0 to 2 allowed)");
    op.check.n_kinks = 1;
    op.check.kinks[0] = NAN;
    expect_refused(&op, BP_ERR_VALUE, "op 'chk2': .check.kinks[0] is nan");
    op = base;
    op.name = "chk2";
    op.check.atol = -1;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': check tolerances must be finite and >= 0 (0 = the checker's "
                   "default), got .check.atol = -1, .check.rtol = 0");
    op.check.atol = 0;
    op.check.rtol = NAN;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': check tolerances must be finite and >= 0 (0 = the checker's "
                   "default), got .check.atol = 0, .check.rtol = nan");
    op = base;
    op.name = "chk2";
    op.check.const_inputs = 4;
    op.check.fill_const = fill_zero;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': .check.const_inputs is 0x4, but the op has 2 inputs");
    op.check.const_inputs = 2;
    op.check.fill_const = NULL;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': .check.const_inputs needs .check.fill_const to fill them");
    op.check.const_inputs = 3;
    op.check.fill_const = fill_zero;
    expect_refused(&op, BP_ERR_VALUE,
                   "op 'chk2': .check.const_inputs marks every input constant, so no gradient "
                   "would be checked");
}

Test(register, every_built_in_op_still_validates)
{
    for (int i = 0; i < bp_op_count(); i++) {
        bp_error err = {0};
        cr_expect_eq(bp_op_validate(bp_op_at(i), &err), BP_OK, "%s", err.msg);
    }
}

/* ---- the YAML graph form ---- */

static const char model_text[] =
    "name: usoftsign_rnn\n"
    "model:\n"
    "  graph:\n"
    "    name: cell\n"
    "    state: {h: 8}\n"
    "    params:\n"
    "      W_x: {shape: [2, 8], init: normal, std: 0.3}\n"
    "      W_h: {shape: [8, 8], init: identity, gain: 0.5}\n"
    "      b:   {shape: [8], init: zeros}\n"
    "    nodes:\n"
    "      - {name: xw,  op: matmul, inputs: [x, W_x]}\n"
    "      - {name: hw,  op: matmul, inputs: [h, W_h]}\n"
    "      - {name: pre, op: add,    inputs: [xw, hw]}\n"
    "      - {name: pb,  op: add,    inputs: [pre, b]}\n"
    "      - {name: h_new, op: usoftsign, inputs: [pb], gain: 2.0}\n"
    "    next: {h: h_new}\n"
    "loss: mse\n"
    "data:\n"
    "  task: adding\n"
    "  steps: 6\n"
    "train:\n"
    "  batch: 8\n"
    "  steps: 5\n"
    "  optimizer: adam\n"
    "  lr: 0.01\n"
    "  seed: 3\n";

static void write_model(char *dir, size_t n_dir, char *path, size_t n_path)
{
    snprintf(dir, n_dir, "/tmp/bptt_register_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, n_path, "%s/usoftsign_rnn.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(model_text, f);
    fclose(f);
}

Test(register, a_model_file_names_the_op_once_registered_and_trains)
{
    char dir[64], path[128];
    write_model(dir, sizeof dir, path, sizeof path);
    bp_error err = {0};
    /* before registration the op is unknown, and the message says where */
    cr_expect_null(bp_model_config_load(path, NULL, 0, &err));
    char want[256];
    snprintf(want, sizeof want, "%s:15:27: unknown op 'usoftsign'", path);
    cr_expect_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);

    register_ok(&usoftsign);
    bp_model_config *c = bp_model_config_load(path, NULL, 0, &err);
    cr_assert_not_null(c, "%s", err.msg);
    cr_assert_not_null(c->cell);
    bp_trainer *tr = bp_trainer_new(c, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    bp_model_config_free(c);
    double first = 0, loss = 0;
    for (int s = 0; s < 5; s++) {
        cr_assert_eq(bp_trainer_step(tr, &loss, NULL, &err), BP_OK, "%s", err.msg);
        cr_expect(isfinite(loss));
        if (s == 0)
            first = loss;
    }
    cr_expect_gt(first, 0);
    cr_expect_eq(bp_trainer_steps_done(tr), 5);
    /* the op is on the tape under its name, with the model's attribute */
    bp_tape *t = bp_trainer_tape(tr);
    bool seen = false;
    for (int i = 0; i < bp_tape_len(t); i++) {
        bp_node *n = bp_tape_node(t, i);
        if (n->op == &usoftsign) {
            seen = true;
            cr_expect_eq(n->attr[0], 2.0);
        }
    }
    cr_expect(seen, "no usoftsign node on the trainer's tape");
    bp_trainer_free(tr);
    remove(path);
    rmdir(dir);
}

Test(register, a_model_file_must_give_the_ops_attribute)
{
    register_ok(&usoftsign);
    char dir[64], path[128];
    write_model(dir, sizeof dir, path, sizeof path);
    /* drop ", gain: 2.0" from the node */
    char text[sizeof model_text];
    snprintf(text, sizeof text, "%s", model_text);
    char *g = strstr(text, ", gain: 2.0}");
    cr_assert_not_null(g);
    memmove(g, g + strlen(", gain: 2.0"), strlen(g + strlen(", gain: 2.0")) + 1);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    bp_error err = {0};
    cr_expect_null(bp_model_config_load(path, NULL, 0, &err));
    cr_expect_not_null(strstr(err.msg, "gain"), "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, "usoftsign_rnn.yaml:15:"), "%s", err.msg);
    remove(path);
    rmdir(dir);
}
