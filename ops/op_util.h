/* op_util.h — what op files share (internal to ops/): shape rules, broadcast
 * loops and gradient-check case makers. */
#ifndef BPTT_OP_UTIL_H
#define BPTT_OP_UTIL_H

#include "bptt_ops.h"

#include <string.h>

/* An op's inputs and attributes, from its line in registry.def: the one place that says
 * them (the C wrapper's signature is made from the same line), so a descriptor cannot
 * disagree with its wrapper. */
enum {
#define BP_OP(name, n_in, n_attr) BP_OP_NIN_##name = n_in, BP_OP_NATTR_##name = n_attr,
#include "registry.def"
#undef BP_OP
};
#define BP_OP_NIN(name) BP_OP_NIN_##name
#define BP_OP_NATTR(name) BP_OP_NATTR_##name

#define X(n) ((n)->in[0])
#define Y(n) ((n)->in[1])

/* For an op that declares input x in bp_op.grad_assign: whether its backward stores into
 * x->grad rather than adding (the tape left the buffer uncleared); the flag is cleared,
 * so a second write to the same node (an op with it as two inputs) adds. */
static inline bool bp_grad_take_fresh(bp_node *x)
{
    bool fresh = x->grad_fresh;
    x->grad_fresh = false;
    return fresh;
}

/* The beta of a gemm that makes x's gradient: 0 stores, 1 adds. */
static inline bp_real bp_grad_beta(bp_node *x)
{
    return bp_grad_take_fresh(x) ? 0 : 1;
}

/* The output has the shape of input 0 (elementwise unary ops). */
bp_status bp_shape_like_input(const bp_node *n, bp_shape *out, bp_error *err);
/* Binary elementwise: b has a's shape, or b is one row ([N] or [1, N]) that is
 * broadcast over every row of a (..., N) — biases. */
bp_status bp_shape_broadcast(const bp_node *n, bp_shape *out, bp_error *err);
/* The output is a scalar, shape [1] (reductions, losses). */
bp_status bp_shape_scalar(const bp_node *n, bp_shape *out, bp_error *err);
/* Inputs a and b must have exactly the same shape. */
bp_status bp_shape_exact(const bp_node *n, bp_shape *out, bp_error *err);

/* Inputs a and b of the same shape; the output is a scalar [1] (losses). */
bp_status bp_shape_exact_scalar(const bp_node *n, bp_shape *out, bp_error *err);
/* The clip ops: output like input 0, and attr c must be > 0. */
bp_status bp_shape_clip(const bp_node *n, bp_shape *out, bp_error *err);
void bp_identity_forward(bp_node *n, bp_tape *t);
void bp_case_clip(int k, bp_rng *rng, bp_check_case *c);

/* a + b with row broadcast: the forward and backward that add and skip share. */
void bp_add_forward(bp_node *n, bp_tape *t);
void bp_add_backward(bp_node *n);

/* dst[i] += src[i] */
static inline void bp_accumulate(bp_real *dst, const bp_real *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

/* Gradient-check case makers: case 0 has batch 1; later cases random sizes. */
int bp_case_dim(bp_rng *rng);                              /* 2..6 */
void bp_case_unary(int k, bp_rng *rng, bp_check_case *c);   /* one input, 1-3 dims */
void bp_case_same(int k, bp_rng *rng, bp_check_case *c);    /* two inputs, same shape */
void bp_case_bcast(int k, bp_rng *rng, bp_check_case *c);   /* same shape or a row */
void bp_case_matrix(int k, bp_rng *rng, bp_check_case *c);  /* one [B, F] input */

#endif
