/* bptt_ops.h — the op registry and a C function per op.
 *
 * Each op lives in one file, ops/<name>.c, holding its shape rule, forward and
 * backward; ops/registry.def lists it once. Call an op through its wrapper,
 *     bp_node *h = bp_tanh(tape, bp_add(tape, bp_matmul(tape, x, W), b));
 * or by descriptor, bp_apply(tape, &bp_op_tanh, in, attr), or by name through
 * bp_op_find("tanh"). A wrapper is bp_apply: its node is the tape's (valid until
 * bp_tape_reset), and it returns NULL with the tape's error set on bad shapes or
 * attributes, a NULL input or a bad value ("softmax_xent: target 7 in row 3 is not a
 * class in [0, 5)"), and at once while the tape holds an error — so a chain of ops is
 * checked once, at its end (bp_tape_error). docs/ops.md gives every op's inputs,
 * attributes and derivative; docs/extending.md adds ops from a user's program.
 *
 * Wrapper arguments by arity: (t, x) for unary ops, (t, a, b) for binary ones,
 * (t, a, b, c) and (t, a, b, c, d) for the fused cell ops, then the op's attributes
 * in order, e.g. bp_scale(t, x, c), bp_slice(t, x, begin, len).
 */
#ifndef BPTT_OPS_H
#define BPTT_OPS_H

#include "bptt_graph.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

#define BP_OP_SIGNATURE_1_0(name) bp_node *bp_##name(bp_tape *t, bp_node *x)
#define BP_OP_SIGNATURE_1_1(name) bp_node *bp_##name(bp_tape *t, bp_node *x, double a0)
#define BP_OP_SIGNATURE_1_2(name) \
    bp_node *bp_##name(bp_tape *t, bp_node *x, double a0, double a1)
#define BP_OP_SIGNATURE_2_0(name) bp_node *bp_##name(bp_tape *t, bp_node *a, bp_node *b)
#define BP_OP_SIGNATURE_3_0(name) \
    bp_node *bp_##name(bp_tape *t, bp_node *a, bp_node *b, bp_node *c)
#define BP_OP_SIGNATURE_4_0(name) \
    bp_node *bp_##name(bp_tape *t, bp_node *a, bp_node *b, bp_node *c, bp_node *d)

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

/* Every known op: the built-ins in registry order, then those registered at run time.
 * bp_op_at(i) is NULL outside [0, bp_op_count()). Descriptors are never owned by the
 * caller: built-ins are static, registered ones are the registrant's. */
int bp_op_count(void);
const bp_op *bp_op_at(int i);
/* NULL when no op has this name. */
const bp_op *bp_op_find(const char *name);
/* "matmul, add, ..." into buf (cut to n bytes, always terminated; n >= 1) — for
 * "unknown op" messages. */
void bp_op_names(char *buf, size_t n);

/* Is this descriptor complete and consistent? BP_ERR_NAME for a bad op or attribute
 * name (lower-case word; attributes not name/op/inputs, not repeated), BP_ERR_VALUE for
 * an arity out of range, a missing shape rule, forward or backward, and missing or
 * inconsistent check settings; each message names the op and the field. The
 * registry-wide test runs it on every op; registration runs it too. */
bp_status bp_op_validate(const bp_op *op, bp_error *err);
/* Make a user's op known to bp_op_find, bp_op_at, the YAML graph form (so register
 * before bp_model_config_load) and `bptt gradcheck --ops` in the same process.
 * Refuses, and changes nothing: an invalid descriptor (the errors of bp_op_validate),
 * a name taken by a built-in or an earlier registration (BP_ERR_NAME), out of memory
 * (BP_ERR_NOMEM). op is kept by pointer, not copied: it must outlive every use (a
 * static const descriptor does). There is no unregistering. Not thread-safe: register
 * from one thread before recording. */
bp_status bp_op_register(const bp_op *op, bp_error *err);

/* ---------------------------------------------------------------- checking an op */

/* An op's gradient-check verdict over all of its check cases. */
typedef struct bp_check_report {
    int n_cases;                          /* cases run (op->check.n_cases) */
    int n_failed;                         /* cases where some input missed the tolerance */
    bool ok;                              /* every case passed */
    /* Per input i, over all cases: input[i].max_abs and .max_rel are the largest errors,
     * .ok whether every case passed; .worst, .analytic and .numeric are the worst element
     * of case worst_case[i] (the failing case with the largest relative error, or the
     * case with the largest one while none failed), whose shape for input i is shape[i].
     * Constant inputs (op->check.const_inputs) keep worst_case[i] = -1. */
    bp_check_result input[BP_MAX_INPUTS];
    int worst_case[BP_MAX_INPUTS];
    bp_shape shape[BP_MAX_INPUTS];
    /* The first case, and the value in it (input i; BP_MAX_INPUTS: the output), that the
     * op declares unsaved but whose backward reads it (bp_check_unsaved); -1 when none.
     * Such a case fails. */
    int unsaved_case, unsaved_read;
} bp_check_report;

/* Whether op's backward reads a value it declares unsaved (bp_op.unsaved), on check case
 * c (inputs drawn as op->check says, from seed): each declared value is overwritten
 * between forward and backward, alone, with NaN and then with 0.37, and the gradients
 * must stay the same bit for bit. *read = the first value read (input i; BP_MAX_INPUTS:
 * the output), or -1. Returns BP_OK when the case could run (its shape rule or forward
 * can refuse it, or memory run out: that error). */
bp_status bp_check_unsaved(const bp_op *op, const bp_check_case *c, uint64_t seed, int *read,
                           bp_error *err);

/* Gradient-check op (registered or not) on each of its op->check.n_cases cases, as
 * the registry-wide test does: case shapes from op->check.make_case, inputs drawn as
 * op->check says, each case through bp_gradcheck_op, and its bp_op.unsaved declaration
 * through bp_check_unsaved. opts may be NULL (defaults; the
 * op's own check.atol/rtol apply where opts leaves them 0); opts->seed, when not 0,
 * changes the cases and the inputs drawn. Run it in the double build (bptt_f64).
 * Returns BP_OK when every case could run, whatever the verdict (report->ok tells);
 * else the error of bp_op_validate, or of the case that could not run (its shape rule
 * refused the case, its forward failed, out of memory), prefixed with the op's name,
 * the case and its input shapes. report must not be NULL; it owns nothing. */
bp_status bp_gradcheck_op_all(const bp_op *op, const bp_check_opts *opts, bp_check_report *report,
                              bp_error *err);
/* The report as text for a test's failure message or a log: a verdict line, then a
 * line per checked input, e.g.
 *     swish: 3 cases, all passed
 *       input 0: max abs err 3.1e-11, max rel err 2.2e-09, pass; worst: case 1 [3, 4]
 *       element 5, analytic 0.4123 vs numeric 0.4123      (one line in the output)
 * Writes at most n bytes into buf (cut, always terminated); returns buf. */
char *bp_check_report_str(const bp_op *op, const bp_check_report *r, char *buf, size_t n);

/* ---------------------------------------------------------------- kernel variants */

/* The fused cell ops' loops and bp_vtanh / bp_vsigmoid are compiled once per instruction
 * set, a *kernel variant*: on x86-64 with gcc "avx512" (x86-64-v4), "avx2" (x86-64-v3)
 * and "baseline" (the build's flags: SSE2), widest first; elsewhere only "baseline".
 * The variants with FMA (avx512, avx2: bp_isa_has_fma) give the same results bit for
 * bit; the baseline gives the same bits in the cell ops' own loops and agrees to rounding
 * where a kernel fuses a multiply-add: tanh's and sigmoid's exp, the step products below.
 * The first kernel call picks the
 * variant named by the environment variable BPTT_ISA when this CPU runs it, else the
 * widest it runs (an unknown or unrunnable BPTT_ISA is ignored there: bp_isa_select_env
 * reports it). Choose one for tests and benchmarks with bp_isa_select; not while
 * another thread runs ops. */
int bp_isa_count(void);
/* Variant i's name, i in [0, bp_isa_count()); NULL outside. */
const char *bp_isa_name(int i);
/* Can this CPU run variant i? The last one (baseline) always. */
bool bp_isa_runnable(int i);
/* Does variant i fuse multiply-adds (round a b + c once)? Not the baseline. */
bool bp_isa_has_fma(int i);
/* The index of the variant in use (picked now if none is yet). */
int bp_isa_current(void);
/* Use the variant of that name; NULL, "" and "auto" mean the widest this CPU runs.
 * BP_ERR_NAME for an unknown name, BP_ERR_VALUE for a variant this CPU cannot run (the
 * message lists what it runs); the variant in use is then unchanged. */
bp_status bp_isa_select(const char *name, bp_error *err);
/* bp_isa_select(getenv("BPTT_ISA")), the message prefixed "BPTT_ISA=value: ". */
bp_status bp_isa_select_env(bp_error *err);

/* y = tanh(x) and y = 1 / (1 + exp(-x)) over n elements, in the variant in use (x and y
 * must not overlap). Float build: within 3 ulp of the correctly rounded result, NaN
 * gives NaN and +-inf the limits; double build: libm. The fused cell ops use them, and
 * so may a user's op. */
void bp_vtanh(const bp_real *x, bp_real *y, size_t n);
void bp_vsigmoid(const bp_real *x, bp_real *y, size_t n);

/* The step products: C = A B on a B packed once, in the variant in use, which the tape
 * makes for a matmul by a parameter (its forward at 2 to BP_PANEL_MAX_ROWS rows, its dA
 * at up to as many: bptt_graph.h), and a user's op may use too. The packed form: B's
 * columns in panels of bp_panel_width() (by variant: a copy is used in the variant it was
 * packed in), the last zero-padded, panel p holding rows k = 0..K-1 of its columns one
 * after another. Each output is one chain over k in increasing k, from 0, or
 * with add from C (a one-row product: four chains over k mod 4, the first from 0 or C,
 * summed (c0 + c1) + (c2 + c3)); a fused multiply-add in avx512 and avx2, a product then
 * a sum in the baseline.
 * bp_panel_size: reals the packed form of a (K, N) matrix takes (in any variant).
 * bp_panel_pack: pack B
 * (K, N) from row-major b with row stride ldb; with trans, B = Sᵀ from S (N, K) with row
 * stride ldb. bp_panel_times: C = A B, or with add C += A B;
 * A (M, K) row-major with stride lda, C (M, N) with stride ldc. */
size_t bp_panel_size(int K, int N);
int bp_panel_width(void);
/* The most columns N of a product the tape makes with the panel kernel in the variant in
 * use (INT_MAX: any; wider ones go to OpenBLAS, the faster there: ops/panel.c). */
int bp_panel_max_cols(void);
void bp_panel_pack(const bp_real *b, int K, int N, int ldb, bool trans, bp_real *packed);
void bp_panel_times(const bp_real *A, int lda, int M, int K, const bp_real *packed, int N,
                    bp_real *C, int ldc, bool add);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
