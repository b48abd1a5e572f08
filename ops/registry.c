/* registry.c — the op list built from registry.def, lookup, and run-time registration. */
#include "bptt_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BP_OP(name, n_in, n_attr) &bp_op_##name,
static const bp_op *const builtin[] = {
#include "registry.def"
};
#undef BP_OP

/* Wrapper bodies: one per arity, generated for every line of registry.def. */
#define BP_OP_BODY_1_0(name) { return bp_apply(t, &bp_op_##name, (bp_node *const[]){x}, NULL); }
#define BP_OP_BODY_1_1(name) \
    { return bp_apply(t, &bp_op_##name, (bp_node *const[]){x}, (const double[]){a0}); }
#define BP_OP_BODY_1_2(name) \
    { return bp_apply(t, &bp_op_##name, (bp_node *const[]){x}, (const double[]){a0, a1}); }
#define BP_OP_BODY_2_0(name) \
    { return bp_apply(t, &bp_op_##name, (bp_node *const[]){a, b}, NULL); }
#define BP_OP(name, n_in, n_attr) \
    BP_OP_SIGNATURE_##n_in##_##n_attr(name) BP_OP_BODY_##n_in##_##n_attr(name)
#include "registry.def"
#undef BP_OP

#define N_BUILTIN ((int)(sizeof builtin / sizeof builtin[0]))
_Static_assert(N_BUILTIN == (int)BP_OPID_BUILTIN_COUNT, "registry.def drives both");

static const bp_op **user_ops;
static int n_user, cap_user;

int bp_op_count(void)
{
    return N_BUILTIN + n_user;
}

const bp_op *bp_op_at(int i)
{
    if (i < 0 || i >= bp_op_count())
        return NULL;
    return i < N_BUILTIN ? builtin[i] : user_ops[i - N_BUILTIN];
}

const bp_op *bp_op_find(const char *name)
{
    for (int i = 0; i < bp_op_count(); i++)
        if (strcmp(bp_op_at(i)->name, name) == 0)
            return bp_op_at(i);
    return NULL;
}

void bp_op_names(char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < bp_op_count() && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %s" : "%s", bp_op_at(i)->name);
}

bp_status bp_op_validate(const bp_op *op, bp_error *err)
{
    if (!op || !op->name || !op->name[0])
        return bp_error_set(err, BP_ERR_VALUE, "an op needs a name");
    const char *nm = op->name;
    for (const char *c = nm; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return bp_error_set(err, BP_ERR_NAME,
                                "op '%s': a name uses only lower-case letters, digits and '_'", nm);
    if (op->n_in < 1 || op->n_in > BP_MAX_INPUTS)
        return bp_error_set(err, BP_ERR_VALUE, "op '%s': %d inputs (1 to %d allowed)", nm,
                            op->n_in, BP_MAX_INPUTS);
    if (op->n_attr < 0 || op->n_attr > BP_MAX_ATTRS)
        return bp_error_set(err, BP_ERR_VALUE, "op '%s': %d attributes (0 to %d allowed)", nm,
                            op->n_attr, BP_MAX_ATTRS);
    for (int i = 0; i < op->n_attr; i++)
        if (!op->attr_names[i])
            return bp_error_set(err, BP_ERR_VALUE, "op '%s': attribute %d has no name", nm, i);
    if (!op->shape || !op->forward || !op->backward)
        return bp_error_set(err, BP_ERR_VALUE, "op '%s': missing %s", nm,
                            !op->shape ? "shape rule" : !op->forward ? "forward" : "backward");
    const bp_op_check *k = &op->check;
    if (!k->make_case || k->n_cases < 1)
        return bp_error_set(err, BP_ERR_VALUE,
                            "op '%s': no gradient-check settings (check.make_case, check.n_cases)",
                            nm);
    if (!(k->lo < k->hi))
        return bp_error_set(err, BP_ERR_VALUE, "op '%s': check range needs lo < hi", nm);
    if (k->n_kinks < 0 || k->n_kinks > 2 || k->atol < 0 || k->rtol < 0)
        return bp_error_set(err, BP_ERR_VALUE, "op '%s': bad check settings (kinks or tolerances)",
                            nm);
    if (k->const_inputs >> op->n_in)
        return bp_error_set(err, BP_ERR_VALUE, "op '%s': const_inputs names an input it lacks", nm);
    if (k->const_inputs && !k->fill_const)
        return bp_error_set(err, BP_ERR_VALUE, "op '%s': const inputs need check.fill_const", nm);
    if (k->const_inputs == (1u << op->n_in) - 1)
        return bp_error_set(err, BP_ERR_VALUE, "op '%s': no input takes a gradient", nm);
    return BP_OK;
}

bp_status bp_op_register(const bp_op *op, bp_error *err)
{
    bp_status st = bp_op_validate(op, err);
    if (st != BP_OK)
        return st;
    if (bp_op_find(op->name))
        return bp_error_set(err, BP_ERR_NAME, "op '%s' is already registered", op->name);
    if (n_user == cap_user) {
        int cap = cap_user ? 2 * cap_user : 8;
        const bp_op **ops = realloc(user_ops, (size_t)cap * sizeof *ops);
        if (!ops)
            return bp_error_set(err, BP_ERR_NOMEM, "cannot grow the op registry");
        user_ops = ops;
        cap_user = cap;
    }
    user_ops[n_user++] = op;
    return BP_OK;
}
