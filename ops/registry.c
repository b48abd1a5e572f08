/* registry.c — the op list built from registry.def, lookup, and run-time registration. */
#include "bptt_ops.h"

#include <math.h>
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
#define BP_OP_BODY_3_0(name) \
    { return bp_apply(t, &bp_op_##name, (bp_node *const[]){a, b, c}, NULL); }
#define BP_OP_BODY_4_0(name) \
    { return bp_apply(t, &bp_op_##name, (bp_node *const[]){a, b, c, d}, NULL); }
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

/* Lower-case letters, digits and '_', starting with a letter: one word in C and YAML. */
static bool is_word(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

bp_status bp_op_validate(const bp_op *op, bp_error *err)
{
    if (!op)
        return bp_error_set(err, BP_ERR_VALUE, "the op descriptor is NULL");
    if (!op->name || !op->name[0])
        return bp_error_set(err, BP_ERR_VALUE, "an op needs a name (.name)");
    const char *nm = op->name;
    if (!is_word(nm))
        return bp_error_set(err, BP_ERR_NAME,
                            "op '%s': a name starts with a lower-case letter and uses only "
                            "lower-case letters, digits and '_'", nm);
    if (op->n_in < 1 || op->n_in > BP_MAX_INPUTS)
        return bp_error_set(err, BP_ERR_VALUE, "op '%s': .n_in is %d (1 to %d inputs allowed)",
                            nm, op->n_in, BP_MAX_INPUTS);
    if (op->n_attr < 0 || op->n_attr > BP_MAX_ATTRS)
        return bp_error_set(err, BP_ERR_VALUE,
                            "op '%s': .n_attr is %d (0 to %d attributes allowed)", nm, op->n_attr,
                            BP_MAX_ATTRS);
    /* Attribute names are YAML keys beside name, op and inputs in the graph form. */
    for (int i = 0; i < op->n_attr; i++) {
        const char *a = op->attr_names[i];
        if (!a)
            return bp_error_set(err, BP_ERR_VALUE, "op '%s': attribute %d has no name "
                                "(.attr_names[%d])", nm, i, i);
        if (!is_word(a))
            return bp_error_set(err, BP_ERR_NAME, "op '%s': attribute name '%s' must start "
                                "with a lower-case letter and use only a-z, 0-9 and '_'", nm, a);
        if (!strcmp(a, "name") || !strcmp(a, "op") || !strcmp(a, "inputs"))
            return bp_error_set(err, BP_ERR_NAME, "op '%s': attribute name '%s' is reserved "
                                "(a graph node's keys are name, op and inputs)", nm, a);
        for (int j = 0; j < i; j++)
            if (!strcmp(a, op->attr_names[j]))
                return bp_error_set(err, BP_ERR_NAME, "op '%s': two attributes are named '%s'",
                                    nm, a);
    }
    if (!op->shape || !op->forward || !op->backward)
        return bp_error_set(err, BP_ERR_VALUE,
                            "op '%s': missing %s; an op needs .shape, .forward and .backward", nm,
                            !op->shape     ? "its shape rule (.shape)"
                            : !op->forward ? "its forward (.forward)"
                                           : "its backward (.backward)");
    if (op->unsaved & ~(((1u << op->n_in) - 1) | BP_UNSAVED_OUT))
        return bp_error_set(err, BP_ERR_VALUE,
                            "op '%s': .unsaved is 0x%x, but its bits are the %d inputs' and "
                            "BP_UNSAVED_OUT", nm, op->unsaved, op->n_in);
    const bp_op_check *k = &op->check;
    if (!k->make_case || k->n_cases < 1)
        return bp_error_set(err, BP_ERR_VALUE,
                            "op '%s': no gradient-check settings: every op needs .check.make_case "
                            "and .check.n_cases >= 1 (got %s, %d)", nm,
                            k->make_case ? "a make_case" : "make_case NULL", k->n_cases);
    if (!(isfinite(k->lo) && isfinite(k->hi) && k->lo < k->hi))
        return bp_error_set(err, BP_ERR_VALUE,
                            "op '%s': check range needs finite .check.lo < .check.hi "
                            "(inputs are drawn from U[lo, hi]), got lo = %g, hi = %g", nm, k->lo,
                            k->hi);
    if (k->n_kinks < 0 || k->n_kinks > 2)
        return bp_error_set(err, BP_ERR_VALUE, "op '%s': .check.n_kinks is %d (0 to 2 allowed)",
                            nm, k->n_kinks);
    for (int i = 0; i < k->n_kinks; i++)
        if (!isfinite(k->kinks[i]))
            return bp_error_set(err, BP_ERR_VALUE, "op '%s': .check.kinks[%d] is %g", nm, i,
                                k->kinks[i]);
    if (!(k->atol >= 0 && isfinite(k->atol)) || !(k->rtol >= 0 && isfinite(k->rtol)))
        return bp_error_set(err, BP_ERR_VALUE,
                            "op '%s': check tolerances must be finite and >= 0 (0 = the "
                            "checker's default), got .check.atol = %g, .check.rtol = %g", nm,
                            k->atol, k->rtol);
    if (k->const_inputs >> op->n_in)
        return bp_error_set(err, BP_ERR_VALUE,
                            "op '%s': .check.const_inputs is 0x%x, but the op has %d input%s", nm,
                            k->const_inputs, op->n_in, op->n_in == 1 ? "" : "s");
    if (k->const_inputs && !k->fill_const)
        return bp_error_set(err, BP_ERR_VALUE,
                            "op '%s': .check.const_inputs needs .check.fill_const to fill them",
                            nm);
    if (k->const_inputs == (1u << op->n_in) - 1)
        return bp_error_set(err, BP_ERR_VALUE,
                            "op '%s': .check.const_inputs marks every input constant, so no "
                            "gradient would be checked", nm);
    return BP_OK;
}

bp_status bp_op_register(const bp_op *op, bp_error *err)
{
    bp_status st = bp_op_validate(op, err);
    if (st != BP_OK)
        return st;
    for (int i = 0; i < bp_op_count(); i++) {
        const bp_op *o = bp_op_at(i);
        if (strcmp(o->name, op->name) != 0)
            continue;
        return bp_error_set(err, BP_ERR_NAME, "op '%s': %s", op->name,
                            i < N_BUILTIN ? "the name is taken by a built-in op"
                            : o == op     ? "this op is already registered"
                                          : "the name is taken by an op registered earlier");
    }
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
