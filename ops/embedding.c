/* embedding — y_b = E[t_b]: row t_b of the table E (V, D) for each id t_b in (B);
 * y is (B, D). Ids are stored as reals and take no gradient. */
#include "op_util.h"

static bp_status embedding_shape(const bp_node *n, bp_shape *out, bp_error *err)
{
    bp_shape e = X(n)->shape, t = Y(n)->shape;
    char se[64], st[64];
    if (e.ndim != 2 || t.ndim != 1)
        return bp_error_set(err, BP_ERR_SHAPE,
                            "table %s and ids %s do not fit (needs (V, D) and (B))",
                            bp_shape_str(e, se, sizeof se), bp_shape_str(t, st, sizeof st));
    *out = bp_shape2(t.dim[0], e.dim[1]);
    return BP_OK;
}

static void embedding_forward(bp_node *n, bp_tape *t)
{
    int V = X(n)->shape.dim[0], D = X(n)->shape.dim[1], B = Y(n)->shape.dim[0];
    for (int b = 0; b < B; b++) {
        bp_real id = Y(n)->value[b];
        if (!(id >= 0 && id < V) || (bp_real)(int)id != id) {
            bp_tape_fail(t, BP_ERR_VALUE, "embedding: id %g in row %d is not in [0, %d)",
                         (double)id, b, V);
            return;
        }
        memcpy(n->value + (size_t)b * D, X(n)->value + (size_t)id * D, (size_t)D * sizeof(bp_real));
    }
}

/* dE[t_b] += dy_b */
static void embedding_backward(bp_node *n)
{
    if (!X(n)->requires_grad)
        return;
    int D = X(n)->shape.dim[1], B = Y(n)->shape.dim[0];
    for (int b = 0; b < B; b++)
        bp_accumulate(X(n)->grad + (size_t)Y(n)->value[b] * D, n->grad + (size_t)b * D, (size_t)D);
}

static void embedding_case(int k, bp_rng *rng, bp_check_case *c)
{
    c->in_shape[0] = bp_shape2(bp_case_dim(rng), bp_case_dim(rng));
    c->in_shape[1] = bp_shape1(k == 0 ? 1 : bp_case_dim(rng) + 3); /* repeats ids: sums */
}

static void embedding_ids(int input, bp_node *x, const bp_check_case *c, bp_rng *rng)
{
    (void)input;
    for (size_t i = 0; i < x->size; i++)
        x->value[i] = (bp_real)bp_rng_below(rng, (uint32_t)c->in_shape[0].dim[0]);
}

const bp_op bp_op_embedding = {
    .name = "embedding",
    .n_in = BP_OP_NIN(embedding),
    .n_attr = BP_OP_NATTR(embedding),
    .formula = "y_b = E[t_b]",
    .inputs_doc = "E (V,D), t (B) ids",
    .grad_formula = "dE[t_b] += dy_b",
    .shape = embedding_shape,
    .forward = embedding_forward,
    .backward = embedding_backward,
    .check = {.n_cases = 3, .make_case = embedding_case, .lo = -1, .hi = 1,
              .const_inputs = 1u << 1, .fill_const = embedding_ids},
};
