/* bptt_graph.h — tensors, the tape, parameters, the RNG and the gradient checker.
 *
 * The tape records every op applied while a forward pass runs (define-by-run);
 * bp_backward walks it in reverse and each op's backward ADDS into its inputs'
 * gradients, so a value read twice (a weight shared by every step of an unrolled
 * RNN, the input of a skip connection) receives the sum.
 *
 * Ownership: nodes returned by bp_apply / bp_tape_input belong to the tape and are
 * valid until bp_tape_reset or bp_tape_free. Leaves made by bp_leaf_new (and the
 * parameters of a bp_params) are the caller's and outlive any reset.
 *
 * Errors are values: a call that can fail because of its input returns a status or
 * NULL and fills a bp_error. The library never prints and never exits.
 */
#ifndef BPTT_GRAPH_H
#define BPTT_GRAPH_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The shared libraries are built with hidden visibility: they export exactly what the
 * installed headers declare, each of which wraps its declarations in BP_API_BEGIN and
 * BP_API_END (one mark per header, so no new public function can forget its own). */
#if defined(__GNUC__)
#define BP_API_BEGIN _Pragma("GCC visibility push(default)")
#define BP_API_END _Pragma("GCC visibility pop")
#else
#define BP_API_BEGIN
#define BP_API_END
#endif

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

/* The scalar type: float by default; the same sources build in double
 * (-DBP_DOUBLE, the bptt_f64 library) for tight finite-difference checks. */
#ifdef BP_DOUBLE
typedef double bp_real;
#define BP_REAL_NAME "f64"
#else
typedef float bp_real;
#define BP_REAL_NAME "f32"
#endif

#define BP_MAX_DIMS 4
#define BP_MAX_INPUTS 4
#define BP_MAX_ATTRS 4

/* ---------------------------------------------------------------- errors */

typedef enum bp_status {
    BP_OK = 0,
    BP_ERR_SHAPE,     /* shapes that do not fit an op or a file */
    BP_ERR_VALUE,     /* a setting out of range */
    BP_ERR_NOMEM,     /* an allocation failed or a size is too large */
    BP_ERR_IO,        /* a file could not be read or written */
    BP_ERR_PARSE,     /* a file is malformed */
    BP_ERR_NONFINITE, /* a NaN or Inf where a finite number is needed */
    BP_ERR_NAME,      /* an unknown or duplicate name */
} bp_status;

typedef struct bp_error {
    bp_status status;
    char msg[512];
} bp_error;

/* Fill err (if not NULL) with a formatted message (cut to fit msg); returns status. */
bp_status bp_error_set(bp_error *err, bp_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same from a va_list, the message after "prefix: " when prefix is not NULL: the one
 * formatter every error helper of the library (a file's "path: ", a model file's
 * "file:line:col: ") goes through. */
bp_status bp_error_vset(bp_error *err, bp_status status, const char *prefix, const char *fmt,
                        va_list ap);
/* Prepend "prefix: " to err->msg (keeps the status). */
void bp_error_prefix(bp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A short static name: "shape error", "bad value", ... */
const char *bp_status_name(bp_status status);

/* ---------------------------------------------------------------- shapes */

typedef struct bp_shape {
    int ndim;
    int dim[BP_MAX_DIMS];
} bp_shape;

bp_shape bp_shape1(int d0);
bp_shape bp_shape2(int d0, int d1);
size_t bp_shape_size(bp_shape s);
bool bp_shape_eq(bp_shape a, bp_shape b);
/* "[32, 128]" into buf (cut to n bytes, always terminated); returns buf. */
char *bp_shape_str(bp_shape s, char *buf, size_t n);
/* Checks 1 <= ndim <= BP_MAX_DIMS, every dim >= 1 (else BP_ERR_SHAPE) and the element
 * count below BP_MAX_ELEMENTS (else BP_ERR_NOMEM), so a hostile size fails here,
 * before any allocation. */
#define BP_MAX_ELEMENTS ((size_t)1 << 31)
bp_status bp_shape_check(bp_shape s, bp_error *err);

/* ---------------------------------------------------------------- nodes */

typedef struct bp_op bp_op;
typedef struct bp_node bp_node;
typedef struct bp_tape bp_tape;

struct bp_node {
    const bp_op *op;            /* NULL for a leaf: parameter, input or constant */
    bp_node *in[BP_MAX_INPUTS]; /* the op's inputs */
    double attr[BP_MAX_ATTRS];  /* the op's numeric settings (scale c, slice begin...) */
    bp_shape shape;
    size_t size;                /* elements in value (and grad) */
    bp_real *value;             /* row-major, contiguous */
    bp_real *grad;              /* same layout; NULL while it has none */
    void *aux;                  /* op scratch kept from forward for backward */
    const char *name;           /* parameter name or label; may be NULL */
    int id;                     /* position on the tape; -1 for a leaf off the tape */
    bool requires_grad;         /* some parameter or grad-requiring input lies upstream */
    bool reached;               /* set during backward: the output depends on it */
    /* A recorded backward reads this value (its own op's, or a consumer's: bp_op.unsaved),
     * directly or through a view: the tape keeps it. */
    bool saved;
    bool released;              /* bp_tape_release_value gave its buffer back */
    /* Set during backward, for the op about to run, when grad is not cleared: that op
     * declared it writes this input's gradient whole (bp_op.grad_assign), and nothing
     * has written it yet in this walk. Its backward then stores (=) instead of adding,
     * and clears the flag. */
    bool grad_fresh;
};

/* A leaf that outlives tape resets (parameters, gradient-check inputs).
 * Values are zero; grad is allocated (zero) when requires_grad. The caller owns it
 * and frees it with bp_leaf_free (NULL is a no-op); never free a bp_params' leaves.
 * NULL and err on a bad shape (errors of bp_shape_check) or BP_ERR_NOMEM. */
bp_node *bp_leaf_new(bp_shape shape, bool requires_grad, bp_error *err);
void bp_leaf_free(bp_node *leaf);

/* ---------------------------------------------------------------- the tape */

/* An empty tape, the caller's; NULL when out of memory. bp_tape_free frees it with
 * every node and all scratch on it (NULL is a no-op). */
bp_tape *bp_tape_new(void);
void bp_tape_free(bp_tape *t);
/* Forget every node (pointers to them become invalid) and the tape's error, and
 * rewind the arena. Memory is kept for the next step: after the first step of a
 * fixed graph, recording allocates nothing. */
void bp_tape_reset(bp_tape *t);

/* The first error met while recording, or NULL. Once an error is set every
 * bp_apply and bp_tape_input returns NULL, so a chain of ops can be checked once at
 * its end. The error is the tape's: valid until the next clear, reset or free. */
const bp_error *bp_tape_error(const bp_tape *t);
void bp_tape_clear_error(bp_tape *t);

/* The recorded nodes in order (a topological order); bp_tape_node is NULL outside
 * [0, bp_tape_len). */
int bp_tape_len(const bp_tape *t);
bp_node *bp_tape_node(const bp_tape *t, int i);
/* Arena bytes reserved (the high-water mark of one step once warmed up). */
size_t bp_tape_arena_bytes(const bp_tape *t);
/* Scratch memory from the arena, 64-byte aligned, valid until reset (ops put what
 * backward needs in n->aux). NULL when out of memory, which also sets the tape's
 * error (BP_ERR_NOMEM), so the op's bp_apply returns NULL. */
void *bp_tape_alloc(bp_tape *t, size_t bytes);
/* Bytes ops have taken with bp_tape_alloc since the last reset: what they keep for
 * backward beside the values (bench memory counts it as activations). */
size_t bp_tape_scratch_bytes(const bp_tape *t);
/* For an op's forward that meets a bad value (a class id out of range): sets the
 * tape's error, so bp_apply returns NULL. Keeps an earlier error. */
void bp_tape_fail(bp_tape *t, bp_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An input (batch data, a constant or a detached state) recorded on the tape.
 * data is copied; NULL gives zeros. With requires_grad its grad is kept, so
 * dL/d(input) can be read after backward. The node is the tape's. NULL, with the
 * tape's error set, on a bad shape or out of memory, and while the tape holds an
 * error. */
bp_node *bp_tape_input(bp_tape *t, bp_shape shape, const bp_real *data, bool requires_grad);

/* Record op on the tape: check shapes, run forward, append the node.
 * in[] holds op->n_in nodes, attr[] op->n_attr numbers (NULL when none).
 * The node is the tape's, valid until bp_tape_reset. On error returns NULL and sets
 * the tape's error, prefixed with the op's name: a NULL input or one whose value was
 * released, a view (bp_op.view) of a leaf or tape input that takes a gradient but has no
 * grad buffer (BP_ERR_VALUE), the shape rule's refusal ("matmul: cannot multiply [3, 4] by
 * [5, 2] ..."), a bad value met by forward (bp_tape_fail), out of memory; and NULL at
 * once while the tape already holds an error. */
bp_node *bp_apply(bp_tape *t, const bp_op *op, bp_node *const in[], const double attr[]);

/* Backward from a scalar output: dout = 1. Each node's grad becomes dL/d(node), added
 * into leaves (see bp_backward_seed). BP_ERR_SHAPE when out is not a scalar; else as
 * bp_backward_seed. */
bp_status bp_backward(bp_tape *t, bp_node *out, bp_error *err);
/* Backward from any output with a given upstream gradient dout (out->size values).
 * Tape nodes' grads are zeroed first; leaves' grads accumulate (zero them yourself).
 * Grad buffers are the tape's. BP_ERR_VALUE when out is not a node of this tape,
 * BP_ERR_NOMEM when grads cannot be allocated. */
bp_status bp_backward_seed(bp_tape *t, bp_node *out, const bp_real *dout, bp_error *err);
/* Whether backward keeps every tape node's grad (the default: afterwards each node's grad
 * is dL/d(node), which diagnostics such as the net's trace read). With keep false, backward
 * releases an op node's grad as soon as the node's own backward has used it, and reuses
 * the buffer for the next: a training step then holds the activations plus the gradients
 * live at one time, not a gradient for every activation; afterwards op nodes' grads are
 * NULL. Leaves (parameters) and tape inputs keep their grads either way. */
void bp_tape_set_keep_grads(bp_tape *t, bool keep);
/* Whether the tape keeps every node's value (the default). With keep false,
 * bp_tape_release_value gives back the buffer of a value no backward reads, and the next
 * node of its size is recorded into it while it is still in cache: a training step then
 * holds the activations backward needs, not every intermediate product. */
void bp_tape_set_keep_values(bp_tape *t, bool keep);
/* Done with n in the forward: no op recorded after this reads n's value. If the tape does
 * not keep values and no backward reads it (n->saved is false: not its own op's, nor any
 * consumer's, through a view of it or not), its buffer goes back to the tape, n->released
 * is set, and n->value must not be read again (the pointer stays: views of n keep their
 * offsets). Leaves, tape inputs and views keep their buffers. Returns whether n's was
 * given back; false is always safe. A recurrent layer releases its step products once
 * the step's cell op has read them (layers/cells.c). */
bool bp_tape_release_value(bp_tape *t, bp_node *n);
/* Whether n's value is gone: n was released, or n is a view (of a view...) of a node that
 * was. */
bool bp_value_released(const bp_node *n);
/* Deferred weight gradients (on by default). The backward of a matmul C = A B whose B is
 * a parameter (a leaf off the tape that takes a gradient) with fewer than
 * BP_DEFER_MAX_ROWS rows in A — a small batch's step product, made once per step with
 * the same weight — copies its rows of A and of dC aside instead of making
 * dB += Aᵀ dC, and the kept terms of one weight are summed in one product,
 * dB += [A_1; A_2; ...]ᵀ [dC_1; dC_2; ...], when they reach BP_DEFER_ROWS rows (or
 * BP_DEFER_BYTES bytes: the memory they take is bounded) and when the backward ends, so a
 * parameter's grad is complete when bp_backward returns. The same sum to rounding, in the
 * same grouping whatever the tape (the groups depend only on the sequence of terms).
 * Set false, every term is its own product, as the op's backward makes it. */
enum { BP_DEFER_MAX_ROWS = 16, BP_DEFER_ROWS = 64, BP_DEFER_BYTES = 64 * 1024 };
/* Step products on a weight packed once (bp_panel_times, bptt_ops.h). A matmul C = A W
 * by a parameter W is made on a copy of W packed at its first such product after a reset
 * or walk, and its backward makes dA += dC Wᵀ, from the weight's second use in a walk on,
 * on a copy of Wᵀ packed once per walk, for the products bp_tape_packs_product takes:
 * (M, K) by (K, N) with at most BP_PANEL_MAX_ROWS rows M (the forward: 2 or more), at
 * most bp_panel_max_cols() columns N (by kernel variant: any in avx512 and avx2, 1024
 * in the baseline), and a weight of at most BP_PACK_MAX elements K N. A BLAS call packs W anew every time
 * (`bptt bench tape` prints both ways at every bench size). So a parameter's value
 * must not change between a tape reset or walk and the next one (the optimizer steps
 * after a walk): a matmul recorded after such a change, before a reset or walk, would
 * read the copy made before it. */
enum { BP_PACK_MAX = 2048 * 2048, BP_PANEL_MAX_ROWS = 256 };
bool bp_tape_packs_product(int M, int K, int N);
void bp_tape_set_defer(bp_tape *t, bool on);
/* Hold deferred terms across backward calls and tape resets (they are copies), so that
 * several walks that make one gradient — recomputed segments — group them as one walk
 * would, and make their products as one walk would (the weights, transposed once for
 * the dA products, must not change meanwhile); bp_tape_hold_deferred(t, false) sums
 * what is pending. */
void bp_tape_hold_deferred(bp_tape *t, bool hold);
/* Denormal floats (below 1.2e-38 in float, 2.2e-308 in double) flushed to zero, as
 * results and as inputs, on the calling thread while this tape walks backward
 * (bp_backward), while a net records on it (bp_net_forward, recomputation too), while
 * held deferred gradients are summed (bp_tape_hold_deferred) and while a trainer on it
 * steps its optimizer; the thread's controls are put back after each (exception flags
 * raised meanwhile stay raised). On by default: a gradient vanishing over a long
 * sequence passes through denormals, and on many x86 cores each operation on one costs
 * ~100 cycles (docs/benchmarks.md: an LSTM's step 3 to 3.5 times slower on an Intel
 * Xeon). Off: the thread's mode is left as the caller set it (IEEE gradual underflow
 * unless the program set FTZ itself, as -ffast-math does). x86 (SSE's MXCSR) and
 * AArch64 (FPCR) only; elsewhere nothing changes. */
void bp_tape_set_flush_denormals(bp_tape *t, bool on);
bool bp_tape_flushes_denormals(const bp_tape *t);

/* ---------------------------------------------------------------- ops */

/* One gradient-check case for an op: its input shapes and attribute values. */
typedef struct bp_check_case {
    bp_shape in_shape[BP_MAX_INPUTS];
    double attr[BP_MAX_ATTRS];
} bp_check_case;

typedef struct bp_rng bp_rng;

/* How the registry-wide gradient check exercises an op. */
typedef struct bp_op_check {
    int n_cases;                /* cases to check (several random shapes) */
    void (*make_case)(int k, bp_rng *rng, bp_check_case *c);
    double lo, hi;              /* inputs drawn from U[lo, hi] */
    double kinks[2];            /* input values where the op is not smooth... */
    int n_kinks;                /* ...which the checker keeps samples away from */
    unsigned const_inputs;      /* bit i: input i takes no gradient (class targets) */
    /* Fill a constant input (e.g. valid class ids); NULL when there is none. */
    void (*fill_const)(int input, bp_node *x, const bp_check_case *c, bp_rng *rng);
    double atol, rtol;          /* 0: the checker's defaults */
    /* Where the kinks are, for model-level checks (bptt_check.h): the argument of the
     * op's non-smooth function at output element i (rnn_relu: xw + rec + b). NULL: the
     * kinks are at values of the inputs themselves (every non-constant input's element). */
    double (*kink_arg)(const bp_node *n, size_t i);
} bp_op_check;

/* An op: one file in ops/ defines one of these; one line in ops/registry.def
 * makes it known to C, to the YAML graph form and to the registry-wide check. */
struct bp_op {
    const char *name;
    int n_in;                               /* inputs, 1..BP_MAX_INPUTS */
    int n_attr;                             /* numeric attributes, 0..BP_MAX_ATTRS */
    const char *attr_names[BP_MAX_ATTRS];   /* their names, as a model file writes them */
    const char *formula;                    /* one line: "y = tanh(x)" */
    /* For the op tables (`bptt ops --markdown`, README and docs/ops.md): its inputs and
     * their shapes, "A (M,K), B (K,N)"; and its backward, "dA += dC Bᵀ; dB += Aᵀ dC".
     * NULL prints as nothing. */
    const char *inputs_doc;
    const char *grad_formula;
    /* Output shape from the inputs' shapes and attrs, or an error naming them. */
    bp_status (*shape)(const bp_node *n, bp_shape *out, bp_error *err);
    /* n->value = f(inputs). The value buffer is allocated by the tape. */
    void (*forward)(bp_node *n, bp_tape *t);
    /* For each input that requires grad: in->grad += (d out / d in)^T n->grad. */
    void (*backward)(bp_node *n);
    /* Bit i: backward writes every element of input i's gradient once, and stores it
     * (in->grad = ...) when in->grad_fresh is set, clearing the flag; so the tape need
     * not clear that buffer first (a memset per node per step saved). 0: always adds. */
    unsigned grad_assign;
    /* A view: the output is a contiguous window of input 0 (rows of a matrix). The tape
     * allocates no value for it (forward points n->value into in[0]->value) and, in
     * backward, makes n->grad the same window of in[0]->grad without zeroing it, so
     * gradients land in the input directly and backward has nothing to do. */
    bool view;
    /* Bit i: backward never reads input i's value; BP_UNSAVED_OUT: nor the op's own. The
     * tape may then recycle those buffers once the forward is done with them
     * (bp_tape_release_value). 0, the safe default: backward may read them all.
     * test_ops checks every declared bit by poisoning the value before backward. */
    unsigned unsaved;
    bp_op_check check;
};
enum { BP_UNSAVED_OUT = 1u << BP_MAX_INPUTS };

/* ---------------------------------------------------------------- parameters */

typedef struct bp_params bp_params;

/* An empty set, the caller's (NULL when out of memory); bp_params_free frees it and
 * every parameter in it (NULL is a no-op). */
bp_params *bp_params_new(void);
void bp_params_free(bp_params *p);
/* Add a parameter "<layer>.<param>" (zero value, zero grad; the name is copied).
 * NULL and err on a duplicate name (BP_ERR_NAME), a bad shape (BP_ERR_SHAPE) or
 * BP_ERR_NOMEM. The node belongs to p. */
bp_node *bp_params_add(bp_params *p, const char *name, bp_shape shape, bp_error *err);
/* By name, or NULL; by index in the order added (NULL outside [0, count)). */
bp_node *bp_params_find(const bp_params *p, const char *name);
int bp_params_count(const bp_params *p);
bp_node *bp_params_at(const bp_params *p, int i);
/* Elements in all parameters together. */
size_t bp_params_elements(const bp_params *p);
/* Set every parameter's grad to zero. */
void bp_params_zero_grad(bp_params *p);
/* Make dst's parameters read src's values: each leaf of dst drops its own value buffer
 * and points at the value of src's parameter at the same index; grads stay dst's own.
 * For replicas of a net that train one set of weights on several threads: each
 * replica's backward adds into its own grads, all read the same weights. src must
 * outlive dst (dst's free leaves the values alone). Errors, changing nothing: another
 * count or name at some index (BP_ERR_NAME), another shape (BP_ERR_SHAPE). */
bp_status bp_params_share_values(bp_params *dst, const bp_params *src, bp_error *err);

/* ---------------------------------------------------------------- batches */

/* What a batch's targets are. */
typedef enum bp_target_kind {
    BP_TARGET_VALUES,     /* y is [B, O] real values, predicted from the last step (mse) */
    BP_TARGET_CLASS_LAST, /* y is [B] class ids in [0, O), predicted from the last step */
    BP_TARGET_CLASS_SEQ,  /* y is [B, T] class ids in [0, O), one per step (seq-to-seq) */
    BP_TARGET_VALUES_SEQ, /* y is [B, T, O] real values, one vector per step (mse) */
} bp_target_kind;

/* Does the target name one value per step (CLASS_SEQ, VALUES_SEQ)? Class ids (CLASS_LAST,
 * CLASS_SEQ)? */
bool bp_target_per_step(bp_target_kind k);
bool bp_target_is_class(bp_target_kind k);

/* A batch of sequences, batch first, as in batch files (safetensors x, y).
 * Token ids and class ids are stored as exact integers in bp_real. */
typedef struct bp_batch {
    int B, T, F;            /* batch, steps, input features per step (1 for tokens) */
    bool tokens;            /* x holds token ids [B, T] (an embedding reads them) */
    bp_target_kind target;
    int O;                  /* target width, or the number of classes */
    bp_real *x;             /* [B, T, F] */
    bp_real *y;             /* [B, O], [B], [B, T] or [B, T, O] by target kind */
    int *len;               /* [B]: steps of each sequence, 1..T; NULL: every row has T.
                               Steps past a row's end leave its state unchanged and add
                               nothing to the loss (PyTorch's pack_padded_sequence). */
    int row0;               /* row 0's index in the batch these rows are a part of (0 for a
                               whole batch): dropout masks follow a row's global index */
} bp_batch;

/* Allocate x and y (zeros) for the given sizes; NULL and err on a bad size
 * (BP_ERR_SHAPE, BP_ERR_NOMEM). The caller frees it with bp_batch_free (NULL is a
 * no-op). */
bp_batch *bp_batch_new(int B, int T, int F, bool tokens, bp_target_kind target, int O,
                       bp_error *err);
void bp_batch_free(bp_batch *b);
/* Elements of y: B O, B, B T or B T O by target kind. */
size_t bp_batch_y_size(const bp_batch *b);
/* Give b per-sequence lengths (copied from len[B], each in [1, T]); NULL and err
 * (BP_ERR_VALUE naming the row) for a length out of range, BP_ERR_NOMEM. */
bp_status bp_batch_set_lengths(bp_batch *b, const int *len, bp_error *err);
/* Steps of row r (T without lengths). */
int bp_batch_len(const bp_batch *b, int r);
/* The rows [*r0, *r1) of n that part k of `parts` takes when n rows are split as evenly
 * as they go: parts = min(parts, n) in use, part k of them [k n / used, (k + 1) n / used);
 * empty for k >= used. The one rule for a batch's rows on train.threads' workers and on
 * MPI ranks, and for the rows of a data file each rank checks (bptt_dist.h). */
void bp_batch_share(long n, int k, int parts, long *r0, long *r1);
/* Rows [r0, r1) of b as a view (no copy: x, y and lengths point into b's), its row0 moved
 * on so that dropout masks are those of its rows. */
bp_batch bp_batch_rows(const bp_batch *b, int r0, int r1);
/* The view's share of b's mean loss: of the rows, or (lengths and a per-step loss) of
 * the (row, step) pairs within their sequences. */
double bp_batch_rows_weight(const bp_batch *b, const bp_batch *rows);
/* The (row, step) pairs of steps [t0, t1) that lie within their sequence: B (t1 - t0)
 * without lengths. */
long bp_batch_count_steps(const bp_batch *b, int t0, int t1);
/* The shortest row's length (T without lengths). */
int bp_batch_min_len(const bp_batch *b);
/* Copy step t of x, [B, F], into dst (gathered from the batch-first layout). */
void bp_batch_step(const bp_batch *b, int t, bp_real *dst);

/* ---------------------------------------------------------------- random numbers */

/* xoshiro256**: the same seed gives bit-identical streams on every machine. The
 * all-zero state (bp_rng_seed never makes it) gives only zeros; bp_rng_below does not
 * loop on it. */
struct bp_rng {
    uint64_t s[4];
};
void bp_rng_seed(bp_rng *r, uint64_t seed);
uint64_t bp_rng_next(bp_rng *r);
double bp_rng_uniform(bp_rng *r);           /* [0, 1) */
double bp_rng_normal(bp_rng *r);            /* N(0, 1) */
uint32_t bp_rng_below(bp_rng *r, uint32_t n); /* [0, n), unbiased */
void bp_fill_uniform(bp_real *x, size_t n, double lo, double hi, bp_rng *r);
void bp_fill_normal(bp_real *x, size_t n, double mean, double std, bp_rng *r);

/* ---------------------------------------------------------------- gradient checker */

/* The function under check: record ops on t from the inputs, return the output. */
typedef bp_node *(*bp_check_fn)(bp_tape *t, bp_node *const inputs[], void *ctx);

typedef struct bp_check_opts {
    double eps;   /* central-difference step (default 1e-6) */
    double atol;  /* pass when |analytic - numeric| <= atol + rtol*|numeric| */
    double rtol;  /* defaults 1e-5 and 1e-3, as PyTorch's gradcheck */
    uint64_t seed; /* for the random projection of a non-scalar output */
} bp_check_opts;

typedef struct bp_check_result {
    double max_abs;   /* largest |analytic - numeric| */
    double max_rel;   /* largest |analytic - numeric| / max(|numeric|, atol) */
    size_t worst;     /* element index where the tolerance was missed most */
    double analytic, numeric; /* the values at that element */
    bool ok;
} bp_check_result;

/* Check d(out)/d(input) for every input with requires_grad, element by element,
 * against central differences of L = sum(w * out) for a fixed random w.
 * fn is called many times on t (which is reset between calls); it must be
 * deterministic. inputs are the caller's leaves: their values are restored, their
 * grads are left holding the analytic gradient. result[] (the caller's, n_inputs
 * entries) gets one entry per input. Returns BP_OK when it could run (whatever the
 * verdict); *all_ok tells the verdict. Errors: fn's failure (the tape's error,
 * prefixed "gradcheck: "), an output whose size changes between calls
 * (BP_ERR_SHAPE), BP_ERR_NOMEM; *all_ok is then false. Meaningful in double. */
bp_status bp_gradcheck(bp_check_fn fn, void *ctx, bp_node *const inputs[], int n_inputs,
                       const bp_check_opts *opts, bp_check_result result[], bool *all_ok,
                       bp_error *err);

/* Check one op on one case: draws inputs as op->check says, keeps them away from
 * kinks, runs bp_gradcheck. Inputs in op->check.const_inputs are not checked.
 * Errors: a bad case shape (those of bp_leaf_new) and those of bp_gradcheck. For
 * all of an op's cases in one call, see bp_gradcheck_op_all in bptt_ops.h. */
bp_status bp_gradcheck_op(const bp_op *op, const bp_check_case *c, uint64_t seed,
                          const bp_check_opts *opts, bp_check_result result[BP_MAX_INPUTS],
                          bool *all_ok, bp_error *err);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
