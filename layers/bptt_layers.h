/* bptt_layers.h — recurrent networks recorded on the tape: linear, rnn (tanh / relu,
 * identity init), lstm, gru and embedding layers, stacked to any depth, with a
 * sequence-to-one or sequence-to-sequence readout and truncated BPTT.
 *
 * No layer has BPTT code of its own. A forward pass records, step by step, registered
 * ops -- the two products of a step (matmul, or a row view of one product over a block
 * of steps) and the step's pointwise work fused into the cell ops (rnn_tanh, rnn_relu,
 * lstm_gates, lstm_c, lstm_h, gru_gates, gru_h), with skip, clip_grad and where (a
 * finished sequence's state held) around them; a graph cell records the ops its model
 * file names. All read the same parameter leaves; bp_backward walks the tape in reverse
 * and the gradient of a shared weight is the sum over steps. docs/layers.md writes out
 * every equation.
 *
 * Parameters (names "<layer>.<param>", shapes below; docs/layers.md has every equation):
 *   linear     W [in, out], b [out]                 y = act(x W + b)
 *   rnn        W_x [in, H], W_h [H, H], b [H]       h_t = act(x_t W_x + h_{t-1} W_h + b)
 *   lstm       W_x [in, 4H], W_h [H, 4H], b [4H]    gate blocks i, f, g, o (PyTorch's order);
 *              the one bias b stands for PyTorch's b_ih + b_hh
 *   gru        W_x [in, 3H], W_h [H, 3H], b_x [3H], b_h [3H]   blocks r, z, n (PyTorch's)
 *   embedding  E [V, D]
 *   readout    out.W [H, O], out.b [O]
 *
 * Ownership: bp_net_new adds the parameters to the caller's bp_params (which must
 * outlive the net); the net owns its scratch (the trace). Nodes returned by a
 * forward, and the trace, belong to the tape and are valid until bp_tape_reset.
 * Errors are values: NULL / a status plus a bp_error or the tape's error.
 */
#ifndef BPTT_LAYERS_H
#define BPTT_LAYERS_H

#include "bptt_graph.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

/* ---------------------------------------------------------------- specs */

/* Each list of names is one X-macro, expanded for the enum, the names, the parsers and the
 * model-file schema alike: a new entry is one line. X(ID, "name", ...). */

/* Layer kinds: X(ID, name, in the layer form of a model file). */
#define BP_LAYER_KIND_LIST(X)                                                              \
    X(LINEAR, "linear", true)                                                              \
    X(RNN, "rnn", true)                                                                    \
    X(LSTM, "lstm", true)                                                                  \
    X(GRU, "gru", true)                                                                    \
    X(EMBEDDING, "embedding", true)                                                        \
    X(CELL, "cell", false) /* a recurrent cell written as a graph of registered ops */

/* Activations: X(ID, name, the op applying it, the rnn's fused step op or NULL). An rnn
 * whose activation has no fused op records xw + rec + b and the activation unfused. */
#define BP_ACT_LIST(X)                                                                     \
    X(NONE, "none", NULL, NULL)                                                            \
    X(TANH, "tanh", bp_tanh, bp_rnn_tanh)                                                  \
    X(RELU, "relu", bp_relu, bp_rnn_relu)

/* Inits of W_h: X(ID, name). */
#define BP_INIT_LIST(X)                                                                    \
    X(DEFAULT, "default")       /* PyTorch's: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)) */ \
    X(IDENTITY, "identity")     /* IRNN (Le, Jaitly & Hinton 2015): W_h = gain I, W_x ~ N(0, 0.001^2), b = 0 */ \
    X(NORMAL, "normal")         /* W_h ~ N(0, std^2) */                                    \
    X(ORTHOGONAL, "orthogonal") /* W_h = gain Q, Q orthogonal (QR of a Gaussian), per gate block */

#define BP_LIST_ENUM_KIND(id, name, form) BP_LAYER_##id,
#define BP_LIST_COUNT_KIND(id, name, form) +1
typedef enum bp_layer_kind { BP_LAYER_KIND_LIST(BP_LIST_ENUM_KIND) } bp_layer_kind;
enum { BP_LAYER_KIND_COUNT = 0 BP_LAYER_KIND_LIST(BP_LIST_COUNT_KIND) };
#define BP_LIST_ENUM_ACT(id, name, op, fused) BP_ACT_##id,
#define BP_LIST_COUNT_ACT(id, name, op, fused) +1
typedef enum bp_act { BP_ACT_LIST(BP_LIST_ENUM_ACT) } bp_act;
enum { BP_ACT_COUNT = 0 BP_ACT_LIST(BP_LIST_COUNT_ACT) };

/* How the recurrent matrix W_h is initialised (the other parameters: see docs). */
#define BP_LIST_ENUM_INIT(id, name) BP_INIT_##id,
#define BP_LIST_COUNT_INIT(id, name) +1
typedef enum bp_init_kind { BP_INIT_LIST(BP_LIST_ENUM_INIT) } bp_init_kind;
enum { BP_INIT_COUNT = 0 BP_INIT_LIST(BP_LIST_COUNT_INIT) };

#define BP_SKIP_NONE (-1)  /* no skip connection in the stack */
#define BP_SKIP_INPUT (-2) /* add the layer's own input to its output */

#define BP_LAYER_NAME_MAX 32

/* ---------------------------------------------------------------- graph cells */

/* A recurrent cell written as a graph of registered ops: what the YAML graph form
 * says. At every step the nodes are recorded in order; a node's inputs name the
 * step's input x, a state (its value after the previous step; zeros at t = 0), a
 * parameter of the cell, or an earlier node. After the step, next[i] becomes state i;
 * state 0 is also what the layer passes on (to the next layer or the readout), and
 * what the trace calls h (its "rec" is the first matmul of state 0 by a parameter). An op
 * registered in ops/ (or at run time) is usable here with no change to this code. */
#define BP_CELL_MAX_STATES 2
#define BP_CELL_MAX_PARAMS 64
#define BP_CELL_MAX_NODES 512

typedef enum bp_cell_ref_kind {
    BP_CELL_X,     /* the step's input (B, in) */
    BP_CELL_STATE, /* state[index] (B, state_sizes[index]) from the previous step */
    BP_CELL_PARAM, /* params[index] */
    BP_CELL_NODE,  /* nodes[index], an earlier node of this step */
} bp_cell_ref_kind;

typedef struct bp_cell_ref {
    bp_cell_ref_kind kind;
    int index;
} bp_cell_ref;

typedef enum bp_cell_init {
    BP_CELL_INIT_ZEROS,    /* 0 */
    BP_CELL_INIT_UNIFORM,  /* U(-a, a); a = 0: PyTorch's bound 1/sqrt(last dim of the shape) */
    BP_CELL_INIT_NORMAL,   /* N(0, a^2) */
    BP_CELL_INIT_IDENTITY, /* a I (a square matrix) */
    BP_CELL_INIT_CONSTANT, /* a */
} bp_cell_init;

typedef struct bp_cell_param {
    char name[BP_LAYER_NAME_MAX]; /* the parameter is "<layer>.<name>" */
    bp_shape shape;
    bp_cell_init init;
    double a;
} bp_cell_param;

typedef struct bp_cell_node {
    char name[BP_LAYER_NAME_MAX];
    const bp_op *op;
    bp_cell_ref in[BP_MAX_INPUTS]; /* op->n_in of them */
    double attr[BP_MAX_ATTRS];
    char where[128];               /* for errors, e.g. "m.yaml:12:9" ("" when none) */
} bp_cell_node;

typedef struct bp_cell_spec {
    int n_states;                               /* 1 or 2 */
    char state_names[BP_CELL_MAX_STATES][BP_LAYER_NAME_MAX];
    int state_sizes[BP_CELL_MAX_STATES];        /* state_sizes[0] is the layer's size */
    int n_params;
    const bp_cell_param *params;
    int n_nodes;
    const bp_cell_node *nodes;
    bp_cell_ref next[BP_CELL_MAX_STATES];       /* nodes: the new states, (B, state_sizes[i]) */
} bp_cell_spec;

/* A deep copy in one allocation (params and nodes included), the caller's, freed by
 * free(); NULL when out of memory. */
bp_cell_spec *bp_cell_spec_copy(const bp_cell_spec *c);
#define BP_LAYER_MAX_SIZE (1 << 16) /* bound on every width and the vocabulary */
#define BP_NET_MAX_LAYERS 1024

typedef struct bp_layer_spec {
    bp_layer_kind kind;
    char name[BP_LAYER_NAME_MAX]; /* prefixes parameter names; "" = kind + count, "rnn0" */
    int size;                     /* hidden width H, output width, or embedding width D */
    bp_act act;                   /* rnn: tanh | relu; linear: none | tanh | relu */
    bp_init_kind init;            /* scheme of W_h (recurrent layers) */
    double init_gain;             /* identity and orthogonal: the factor (default 1) */
    double init_std;              /* normal: the standard deviation (default 0.01) */
    double spectral_radius;       /* rnn, > 0: rescale W_h to this spectral radius after init */
    double clip_grad;             /* recurrent, > 0: a clip_grad(c) node on h_t at every step */
    bool residual;                /* rnn: h_t = h_{t-1} + act(...), through a skip node */
    int skip_from;                /* BP_SKIP_NONE, BP_SKIP_INPUT, or an earlier layer's index
                                     whose output (same size) is added to this layer's output */
    double forget_bias;           /* lstm, != 0: the f block of b starts at this value */
    double dropout;               /* in [0, 1): dropout on the layer's output (what the next
                                     layer or the readout reads), while training only */
    bool variational;             /* dropout's mask is drawn once per sequence and used at
                                     every step (Gal & Ghahramani 2016), not once per step */
    double recurrent_dropout;     /* rnn/lstm/gru, in [0, 1): variational dropout on h_{t-1}
                                     where it enters h_{t-1} W_h (the state itself is kept) */
    const bp_cell_spec *cell;     /* BP_LAYER_CELL: the graph (the caller's; must outlive the
                                     net). size must equal cell->state_sizes[0]. */
} bp_layer_spec;

/* Defaults for a kind: size 32, act tanh (rnn) / none (linear), default init with
 * gain 1 and std 0.01, no clip, residual or skip, empty name. */
void bp_layer_spec_default(bp_layer_spec *s, bp_layer_kind kind);
/* The names of BP_LAYER_KIND_LIST, BP_ACT_LIST and BP_INIT_LIST (static strings; "?"
 * out of range), and back (false when unknown). */
const char *bp_layer_kind_name(bp_layer_kind k);
const char *bp_act_name(bp_act a);
const char *bp_init_kind_name(bp_init_kind k);
bool bp_layer_kind_parse(const char *name, bp_layer_kind *k);
bool bp_act_parse(const char *name, bp_act *a);
bool bp_init_kind_parse(const char *name, bp_init_kind *k);
bool bp_layer_is_recurrent(bp_layer_kind k);

typedef enum bp_head_kind {
    BP_HEAD_LAST, /* sequence to one: readout of the last step (targets BP_TARGET_VALUES
                     with mse, or BP_TARGET_CLASS_LAST with softmax_xent) */
    BP_HEAD_SEQ,  /* sequence to sequence: readout at every step, softmax_xent averaged over
                     steps (targets BP_TARGET_CLASS_SEQ) */
} bp_head_kind;

typedef struct bp_net_spec {
    int input_size;               /* F features per step, or the vocabulary V when tokens */
    bool tokens;                  /* input is token ids: embedded by a first embedding layer,
                                     else one-hot encoded to V features */
    int n_layers;                 /* 1 .. BP_NET_MAX_LAYERS */
    const bp_layer_spec *layers;  /* copied by bp_net_new */
    bp_head_kind head;
    int output_size;              /* O: target width or number of classes */
    int chunk;                    /* truncated BPTT: chunks of this many steps; 0 = whole */
    int recompute;                /* for training loops (the trainer): backward by
                                     bp_net_backward_recompute with this k; 0 = off (plain
                                     BPTT), BP_RECOMPUTE_SQRT = k of ceil(sqrt(chunk steps)) */
} bp_net_spec;

void bp_net_spec_default(bp_net_spec *s);
const char *bp_head_kind_name(bp_head_kind h);
bool bp_head_kind_parse(const char *name, bp_head_kind *h);

/* Is the spec complete and consistent? Names the layer and the setting:
 * "layer 'rnn1': skip from 'rnn0' needs size 64, has 32". bp_net_new calls it. */
bp_status bp_net_spec_check(const bp_net_spec *s, bp_error *err);
/* The same, and *at (when not NULL) the layer at fault: -1 on success or when the fault is
 * the net's own (sizes, layer count, head, chunk). Layers are checked in order, each
 * against the ones before it only, so the first fault is the one a prefix would show. */
bp_status bp_net_spec_check_at(const bp_net_spec *s, int *at, bp_error *err);

/* ---------------------------------------------------------------- the net */

typedef struct bp_net bp_net;

/* Check the spec and add every parameter to params (values zero: call bp_net_init).
 * The net is the caller's: bp_net_free (NULL is a no-op) before freeing params; the
 * spec is copied (a graph cell's bp_cell_spec is not: it must outlive the net). NULL
 * and err on a bad spec (the errors of bp_net_spec_check), a parameter name taken in
 * params (BP_ERR_NAME), a graph cell whose dry run fails (an error naming the node
 * and its place in the model file), or BP_ERR_NOMEM; parameters added before the
 * failure stay in params. */
bp_net *bp_net_new(const bp_net_spec *spec, bp_params *params, bp_error *err);
void bp_net_free(bp_net *net);
const bp_net_spec *bp_net_spec_of(const bp_net *net); /* layers[] with names filled in;
                                                         the net's, valid while it lives */
/* A layer's parameter by short name ("W_h"), NULL when it has none. The node belongs
 * to the params the net was built on. */
bp_node *bp_net_param(const bp_net *net, int layer, const char *param);
/* Does batch b fit the net: its input kind and width, its targets' kind (per step or the
 * last step) and width, lengths the head can read? BP_ERR_SHAPE naming both ("net: the
 * batch has 4 features per step; the input size is 2"); the forward pass checks the same,
 * so a caller that knows where b came from can check first and name the file. */
bp_status bp_net_check_batch(const bp_net *net, const bp_batch *b, bp_error *err);

/* Dropout (the layers' dropout and recurrent_dropout) while recording: off for a new net,
 * so evaluation, prediction and sampling never drop. On, each mask element is drawn from
 * (seed, layer, step, row, unit) by a counter-based generator, not a stream: a recompute
 * or a later chunk draws the same masks, and so do threads given a batch's rows (their
 * rows' row0 says where they sit). A trainer sets it on with a seed per step. */
void bp_net_set_dropout(bp_net *net, bool on, uint64_t seed);
bool bp_net_dropout_on(const bp_net *net);
uint64_t bp_net_dropout_seed(const bp_net *net);

/* Initialise every parameter by its scheme, deterministically from rng (layers in
 * order, then the readout). Fails only when a spectral radius cannot be set (W_h has
 * radius 0) or memory runs out. */
bp_status bp_net_init(bp_net *net, bp_rng *rng, bp_error *err);

/* The carried state of truncated BPTT: h (and c for lstm) of every recurrent layer,
 * values only. A new state is zero, the caller's (bp_net_state_free, NULL is a
 * no-op); NULL and err for B outside [1, BP_LAYER_MAX_SIZE] (BP_ERR_VALUE)
 * or BP_ERR_NOMEM. */
typedef struct bp_net_state bp_net_state;
bp_net_state *bp_net_state_new(const bp_net *net, int B, bp_error *err);
void bp_net_state_free(bp_net_state *s);
void bp_net_state_zero(bp_net_state *s);
/* dst = src (same net and batch size, else BP_ERR_SHAPE). */
bp_status bp_net_state_copy(bp_net_state *dst, const bp_net_state *src, bp_error *err);
/* The h (or c) values [B, H] of the i-th recurrent layer (in stack order); NULL when
 * out of range or the layer has no c. Writable: set a state by hand. */
bp_real *bp_net_state_h(bp_net_state *s, int i);
bp_real *bp_net_state_c(bp_net_state *s, int i);

/* Record steps [t0, t1) of batch on tape and return the loss node ([1]).
 * state NULL: the initial state is zero. Else it is read as a constant (its value
 * enters, no gradient flows back into the previous chunk) and overwritten with the
 * state after step t1 - 1.
 * The loss: BP_HEAD_LAST — mse or softmax_xent of the readout of step T - 1 when
 * t1 == T, else a zero constant that takes no gradient; BP_HEAD_SEQ — the mean over
 * steps t0..t1-1 of each step's softmax_xent.
 * On error returns NULL with the tape's error set ("net: the batch has 3 features
 * per step; the input size is 2"). */
bp_node *bp_net_forward(bp_net *net, bp_tape *tape, const bp_batch *batch, int t0, int t1,
                        bp_net_state *state);

/* Forward and backward of the whole batch as the net's spec says: in chunks of
 * spec.chunk steps when it truncates BPTT (state, zeroed first, carries the values across
 * chunks; NULL when the batch is not chunked), each chunk by bp_net_backward_recompute when
 * spec.recompute is set. Each chunk's loss is seeded with scale times its share of the
 * batch's loss, so the parameters' grads receive scale dL/dW (added to what they hold);
 * *loss is the batch's loss. What the trainer runs for a step, on one thread or on each
 * thread's rows. Errors: the forward's (the tape's error), the backward's. */
bp_status bp_net_backward_batch(bp_net *net, bp_tape *tape, bp_net_state *state,
                                const bp_batch *batch, bp_real scale, double *loss,
                                bp_error *err);

typedef struct bp_net_eval {
    double loss;        /* mean loss over the readout steps */
    double metric;      /* accuracy in [0, 1] for class targets, else the mse */
    const char *metric_name; /* "accuracy" or "mse" */
} bp_net_eval;

/* Run the whole batch (in chunks of spec.chunk when set, carrying the state), no
 * backward; resets tape before each chunk and leaves the last chunk on it. Errors:
 * the forward's (the tape's error, copied into err) and BP_ERR_NOMEM. */
bp_status bp_net_evaluate(bp_net *net, bp_tape *tape, const bp_batch *batch, bp_net_eval *out,
                          bp_error *err);

/* The net's outputs for every row of batch, forward only: out holds B O values for the
 * last-step head (read at each sequence's own last step when the batch has lengths) or
 * B T O for the per-step head, batch first; for class targets the softmax probabilities,
 * else the readout. The batch's targets are not used but must be valid (zeros are). The
 * steps are recorded in chunks (the net's truncation, else 256 steps) with the state
 * carried, and the tape is reset after each: nothing is kept for backward, and memory
 * stays that of one chunk. state NULL: the state starts at zero; else it is read and left
 * holding the state after the last step (sampling one step at a time). Errors: the
 * forward's (a batch that does not fit the net), BP_ERR_NOMEM. */
bp_status bp_net_predict(bp_net *net, bp_tape *tape, const bp_batch *batch, bp_net_state *state,
                         bp_real *out, bp_error *err);

/* ---------------------------------------------------------------- recomputation */

/* Memory-efficient BPTT (Chen et al. 2016, "Training deep nets with sublinear memory
 * cost"; Gruslys et al. 2016, "Memory-efficient backpropagation through time") over
 * steps [t0, t1) of batch. It does what
 *     bp_tape_reset(tape);
 *     bp_node *l = bp_net_forward(net, tape, batch, t0, t1, state);
 *     bp_backward_seed(tape, l, &dloss, err);
 * does -- the parameters' grads receive the very same numbers, bit for bit, *loss gets
 * l's value and state the same values -- while the tape holds one segment of k steps at
 * a time: a first forward keeps only the state (h, and c for lstm or a two-state cell)
 * entering each segment; then, from the last segment back to the first, each segment is
 * recorded again from its stored state and backpropagated, handing dL/d(state at its
 * start) to the one before. Memory: about k steps of activations plus (t1 - t0) / k
 * states, instead of t1 - t0 steps of activations; time: about one forward more.
 * k > 0 is the segment length (k >= t1 - t0 is plain BPTT); BP_RECOMPUTE_SQRT takes
 * k = ceil(sqrt(t1 - t0)). The function owns the tape: it resets it before each segment.
 * Afterwards tape and trace hold the first segment, steps [t0, t0 + k) (trace.steps is
 * k; with keep_grads its nodes' grads are dL/d(node) as usual); when the chunk takes no
 * gradient (sequence to one, t1 < T) only the forward runs and they hold the last one.
 * Errors: a k neither > 0 nor BP_RECOMPUTE_SQRT (BP_ERR_VALUE), the forward's (the
 * tape's error, copied into err), the backward's, BP_ERR_NOMEM. */
#define BP_RECOMPUTE_SQRT (-1)
bp_status bp_net_backward_recompute(bp_net *net, bp_tape *tape, const bp_batch *batch, int t0,
                                    int t1, bp_net_state *state, int k, bp_real dloss,
                                    double *loss, bp_error *err);
/* The segment length bp_net_backward_recompute uses for k over steps steps: k itself or
 * ceil(sqrt(steps)) for BP_RECOMPUTE_SQRT, at most steps; 0 when k or steps is invalid. */
int bp_recompute_segment(int k, int steps);

/* ---------------------------------------------------------------- diagnostics */

/* What the last forward recorded, for gradient-flow diagnostics. After bp_backward:
 *   ||dL/dh_k||                      from h[l][k]->grad;
 *   step k's share of dL/dW_h       = rec[l][k]->in[0]->value^T rec[l][k]->grad
 *                                     (rec = h_{k-1} W_h; its in[0] is h_{k-1}, in[1] W_h).
 * h[l][k] is the node the layer passes on (after clip_grad when set: its in[0] is then
 * the unclipped h_k, whose grad is the clipped gradient). h0[l] is the initial state
 * (a constant). Step k is time t0 + k. Memory is the net's, valid until the next
 * forward; pointers are the tape's, valid until bp_tape_reset. On a tape that does not
 * keep values (a training step's) rec's own value is released after the step's cell op
 * (bp_tape_release_value); its input and its grad are what the formulas read. */
typedef struct bp_trace {
    int n_layers;          /* recurrent layers, in stack order */
    int steps;             /* t1 - t0 of the last forward */
    int t0;
    const int *layer;      /* [n_layers]: index in the stack */
    bp_node *const *h0;    /* [n_layers] */
    bp_node *const *const *h;   /* [n_layers][steps] */
    bp_node *const *const *rec; /* [n_layers][steps] */
    bp_node *const *logits; /* [steps]: readout of each step (NULL where none) */
} bp_trace;
const bp_trace *bp_net_trace(const bp_net *net);

/* Tape nodes one time step records (all layers, plus the per-step readout and loss of
 * BP_HEAD_SEQ), counted by recording one step of a zero batch on a private tape.
 * Overwrites the trace. -1 and err on failure. */
int bp_net_step_nodes(bp_net *net, bp_error *err);

/* ---------------------------------------------------------------- spectral radius */

/* rho(W) of a square n x n matrix by Gelfand's formula rho = lim ||W^k||^(1/k):
 * normalised power iteration on a block of vectors with the norms' logs accumulated,
 * the estimate taken as (log||W^2m V|| - log||W^m V||) / m, which cancels the
 * constant of non-normal matrices and holds for complex eigenvalue pairs.
 * Errors: n < 1 (BP_ERR_VALUE), a non-finite element (BP_ERR_NONFINITE), BP_ERR_NOMEM. */
bp_status bp_spectral_radius(const bp_real *w, int n, double *rho, bp_error *err);
/* Scale W in place to spectral radius target > 0. Errors: those above, a target
 * <= 0 and a W of radius 0, which no scaling fixes (BP_ERR_VALUE). */
bp_status bp_set_spectral_radius(bp_real *w, int n, double target, bp_error *err);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
