/* where — y_r = m_r ? a_r : b_r, row by row: m is (B) or (B, 1), a 0/1 mask that takes no
 * gradient; a and b are (B, F). Variable-length sequences use it to keep a finished
 * sequence's state (and its readout) unchanged past its end, as PyTorch's
 * pack_padded_sequence does. */
#include "op_util.h"

#define M(n) ((n)->in[0])
#define A(n) ((n)->in[1])
#define B_(n) ((n)->in[2])

static bp_status where_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    bp_shape m = M(n)->shape, a = A(n)->shape, b = B_(n)->shape;
    char sm[64], sa[64], sb[64];
    bool rows = a.ndim == 2 && ((m.ndim == 1 && m.dim[0] == a.dim[0]) ||
                                (m.ndim == 2 && m.dim[0] == a.dim[0] && m.dim[1] == 1));
    if (!rows || !bp_shape_eq(a, b))
        return bp_error_set(err, BP_ERR_SHAPE,
                            "mask %s, a %s and b %s do not fit (needs (B), (B, F) and (B, F))",
                            bp_shape_str(m, sm, sizeof sm), bp_shape_str(a, sa, sizeof sa),
                            bp_shape_str(b, sb, sizeof sb));
    *out = a;
    return BP_OK;
}

static void where_forward(bp_node *n, bp_tape *t)
{
    (void)t;
    int B = A(n)->shape.dim[0], F = A(n)->shape.dim[1];
    for (int r = 0; r < B; r++) {
        const bp_node *src = M(n)->value[r] != 0 ? A(n) : B_(n);
        memcpy(n->value + (size_t)r * F, src->value + (size_t)r * F, (size_t)F * sizeof(bp_real));
    }
}

/* da_r += m_r dy_r; db_r += (1 - m_r) dy_r */
static void where_backward(bp_node *n)
{
    int B = A(n)->shape.dim[0], F = A(n)->shape.dim[1];
    for (int r = 0; r < B; r++) {
        bp_node *dst = M(n)->value[r] != 0 ? A(n) : B_(n);
        if (dst->requires_grad)
            bp_accumulate(dst->grad + (size_t)r * F, n->grad + (size_t)r * F, (size_t)F);
    }
}

static void where_case(int k, bp_rng *rng, bp_check_case *c)
{
    int B = k == 0 ? 1 : bp_case_dim(rng), F = bp_case_dim(rng);
    c->in_shape[0] = bp_shape1(B);
    c->in_shape[1] = c->in_shape[2] = bp_shape2(B, F);
}

static void where_mask(int input, bp_node *x, const bp_check_case *c, bp_rng *rng)
{
    (void)input;
    (void)c;
    for (size_t i = 0; i < x->size; i++)
        x->value[i] = (bp_real)bp_rng_below(rng, 2);
}

const bp_op bp_op_where = {
    .name = "where",
    .n_in = BP_OP_NIN(where),
    .n_attr = BP_OP_NATTR(where),
    .formula = "y_r = m_r ? a_r : b_r (row mask m)",
    .inputs_doc = "m (B) 0/1 mask, a, b (B,F)",
    .grad_formula = "da_r += m_r dy_r; db_r += (1 − m_r) dy_r",
    .shape = where_shape,
    .forward = where_forward,
    .backward = where_backward,
    .check = {.n_cases = 3, .make_case = where_case, .lo = -1, .hi = 1, .const_inputs = 1u << 0,
              .fill_const = where_mask},
};
