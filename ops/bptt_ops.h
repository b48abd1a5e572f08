/* bptt_ops.h — the op registry and a C function per op.
 *
 * Each op lives in one file, ops/<name>.c, holding its shape rule, forward and
 * backward; ops/registry.def lists it once. Call an op through its wrapper,
 *     bp_node *h = bp_tanh(tape, bp_add(tape, bp_matmul(tape, x, W), b));
 * or by descriptor, bp_apply(tape, &bp_op_tanh, in, attr), or by name through
 * bp_op_find("tanh"). A wrapper returns NULL once the tape holds an error.
 *
 * Wrapper arguments by arity: (t, x) for unary ops, (t, a, b) for binary ones,
 * then the op's attributes in order, e.g. bp_scale(t, x, c), bp_slice(t, x, begin, len).
 */
#ifndef BPTT_OPS_H
#define BPTT_OPS_H

#include "bptt_graph.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BP_OP_SIGNATURE_1_0(name) bp_node *bp_##name(bp_tape *t, bp_node *x)
#define BP_OP_SIGNATURE_1_1(name) bp_node *bp_##name(bp_tape *t, bp_node *x, double a0)
#define BP_OP_SIGNATURE_1_2(name) \
    bp_node *bp_##name(bp_tape *t, bp_node *x, double a0, double a1)
#define BP_OP_SIGNATURE_2_0(name) bp_node *bp_##name(bp_tape *t, bp_node *a, bp_node *b)

#define BP_OP(name, n_in, n_attr) \
    extern const bp_op bp_op_##name; \
    BP_OP_SIGNATURE_##n_in##_##n_attr(name);
#include "registry.def"
#undef BP_OP

typedef enum bp_op_id {
#define BP_OP(name, n_in, n_attr) BP_OPID_##name,
#include "registry.def"
#undef BP_OP
    BP_OPID_BUILTIN_COUNT
} bp_op_id;

/* Every known op: the built-ins in registry order, then those registered at run time. */
int bp_op_count(void);
const bp_op *bp_op_at(int i);
/* NULL when no op has this name. */
const bp_op *bp_op_find(const char *name);
/* "matmul, add, ..." — for "unknown op" messages. */
void bp_op_names(char *buf, size_t n);

/* Is this descriptor complete and consistent (name, arity, functions, check
 * settings)? The registry-wide test runs it on every op; registration runs it too. */
bp_status bp_op_validate(const bp_op *op, bp_error *err);
/* Make a user's op known (to bp_op_find, the YAML graph form and gradcheck).
 * Refuses a name that is taken and an invalid descriptor. op must outlive its use.
 * Register from one thread, before recording. */
bp_status bp_op_register(const bp_op *op, bp_error *err);

#ifdef __cplusplus
}
#endif

#endif
