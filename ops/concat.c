/* concat — y = [a, b] along the feature (last) axis: a is (B, Fa), b is (B, Fb),
 * y is (B, Fa + Fb). */
#include "op_util.h"

static bp_status concat_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    bp_shape a = X(n)->shape, b = Y(n)->shape;
    char sa[64], sb[64];
    if (a.ndim != 2 || b.ndim != 2 || a.dim[0] != b.dim[0])
        return bp_error_set(err, BP_ERR_SHAPE,
                            "cannot join %s and %s (needs (B, Fa) and (B, Fb))",
                            bp_shape_str(a, sa, sizeof sa), bp_shape_str(b, sb, sizeof sb));
    *out = bp_shape2(a.dim[0], a.dim[1] + b.dim[1]);
    return BP_OK;
}

static void concat_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    int B = n->shape.dim[0], fa = X(n)->shape.dim[1], fb = Y(n)->shape.dim[1];
    for (int r = 0; r < B; r++) {
        memcpy(n->value + (size_t)r * (fa + fb), X(n)->value + (size_t)r * fa,
               (size_t)fa * sizeof(bp_real));
        memcpy(n->value + (size_t)r * (fa + fb) + fa, Y(n)->value + (size_t)r * fb,
               (size_t)fb * sizeof(bp_real));
    }
}

/* da += dy[:, :Fa]; db += dy[:, Fa:] */
static void concat_backward(bp_node *n)
{
    int B = n->shape.dim[0], fa = X(n)->shape.dim[1], fb = Y(n)->shape.dim[1];
    for (int r = 0; r < B; r++) {
        const bp_real *dy = n->grad + (size_t)r * (fa + fb);
        if (X(n)->requires_grad)
            bp_accumulate(X(n)->grad + (size_t)r * fa, dy, (size_t)fa);
        if (Y(n)->requires_grad)
            bp_accumulate(Y(n)->grad + (size_t)r * fb, dy + fa, (size_t)fb);
    }
}

static void concat_case(int k, bp_rng *rng, bp_check_case *c)
{
    int B = k == 0 ? 1 : bp_case_dim(rng);
    c->in_shape[0] = bp_shape2(B, bp_case_dim(rng));
    c->in_shape[1] = bp_shape2(B, bp_case_dim(rng));
}

const bp_op bp_op_concat = {
    .name = "concat",
    .n_in = BP_OP_NIN(concat),
    .n_attr = BP_OP_NATTR(concat),
    .formula = "y = [a, b]  (along the feature axis)",
    .inputs_doc = "a (B,Fa), b (B,Fb)",
    .grad_formula = "da += dy[:, :Fa]; db += dy[:, Fa:]",
    .shape = concat_shape,
    .forward = concat_forward,
    .backward = concat_backward,
    .unsaved = 1 | 2 | BP_UNSAVED_OUT,
    .check = {.n_cases = 3, .make_case = concat_case, .lo = -1, .hi = 1},
};
