/* net_internal.h — the net's insides, shared by the files of layers/ (not installed). */
#ifndef BPTT_NET_INTERNAL_H
#define BPTT_NET_INTERNAL_H

#include "bptt_layers.h"
#include "bptt_ops.h"

/* One layer: its spec and parameter leaves. */
typedef struct net_layer {
    bp_layer_spec spec;
    int in_size;     /* width of its input (for an embedding: the vocabulary) */
    int rec_index;   /* position among the recurrent layers, -1 if not recurrent */
    bp_node *W_x;    /* rnn/lstm/gru W_x; linear W; embedding E */
    bp_node *W_h;    /* recurrent matrix */
    bp_node *b;      /* rnn/lstm/linear b; gru b_x */
    bp_node *b_h;    /* gru b_h */
    bp_node **cell_params; /* cell: [n_params] */
    int cell_rec;          /* cell: the node traced as h_{t-1} W_h, or -1 */
} net_layer;

/* What one recurrent step reads and returns. */
typedef struct step_io {
    bp_node *x;      /* input at this step, (B, in); NULL when xw is given */
    bp_node *xw;     /* x_t W_x when made ahead for all steps (B, G H), or NULL */
    bp_node *h;      /* h_{t-1}, (B, H) */
    bp_node *c;      /* c_{t-1} (lstm), (B, H) */
    bp_node *rec;    /* out: h_{t-1} W_h */
    bp_node *h_new;  /* out: h_t */
    bp_node *c_new;  /* out: c_t (lstm) */
    bp_node *h_rec;  /* h_{t-1} as the recurrent product reads it (recurrent dropout), or
                        NULL: h itself */
    bp_node **vals;  /* a graph cell: [n_nodes], the nodes of the step being recorded (the
                        recording's scratch, bp_net's cell_vals) */
} step_io;

/* A first layer's input product x W_x over one block of steps [p, q) of a chunk (the
 * blocks start at the chunk's first step, so a segment of it sees the same products). */
typedef struct net_block {
    bp_node *xw;   /* [(q - r0) B, G H]; NULL when the first layer makes none */
    int p, q;
    int r0;        /* xw's first row is step r0's (p, or for a detached block the span's a) */
    bool detached; /* the block starts before the recorded steps: xw is a tape input holding
                      the product's rows from r0 on, whose grad only collects the steps' rows
                      (recompute.c adds them into the real product node when it records the
                      block's start) */
} net_block;

/* One first-layer block product kept across the segments of a bp_net_backward_recompute
 * call (recompute.c owns it and points net->xw_cache at it while it runs), so that a block
 * several segments cut through is computed once per pass, not once per segment. */
typedef struct net_xw_cache {
    int p;          /* the block's first step; -1: empty */
    bp_real *value; /* its product x W_x, size elements */
    size_t size, cap;
} net_xw_cache;

/* What net_record records: steps [a, b) of the chunk [t0, t1). bp_net_forward records a
 * whole chunk; recompute.c one segment of it at a time. */
typedef struct net_span {
    int t0, t1;
    int a, b;
    bp_real *const *h0, *const *c0; /* [n_rec]: the state entering step a, or NULL (zeros) */
    bool state_grad;                /* the entering state takes a gradient */
    const bp_real *total_in;        /* BP_HEAD_SEQ, a > t0: the sum of the losses of steps
                                       [t0, a), where the span's sum starts; else NULL */
} net_span;

/* One layer's recording in progress (time major: each step records every layer in turn). */
typedef struct net_run {
    step_io io;
    bp_node **in;  /* the layer's input at each step; NULL: rows of its input product */
    int blk;       /* steps per input-product block (0: no product) */
    net_block cur; /* the block of the step being recorded */
    bp_node *var_out, *var_rec; /* variational dropout's masks of this recording, made at
                                   the first step (NULL before, or without it) */
} net_run;

/* A net's definition: what it computes and on which parameter leaves. Read-only once
 * built, so the nets of several threads share one (net_new_worker): each records on its
 * own tape with its own scratch, its tape bound to its own leaves (graph/bind.h). */
typedef struct net_def {
    bp_net_spec spec;       /* spec.layers points at spec_layers */
    bp_layer_spec *spec_layers; /* the net's copy, names filled in */
    net_layer *layers;
    int n_rec;              /* recurrent layers */
    int *rec_layer;         /* [n_rec] their stack index */
    bp_node *out_W, *out_b; /* readout */
} net_def;

/* A net: its definition (owned by the net bp_net_new made, borrowed by its workers) and
 * the scratch of its recordings. */
struct bp_net {
    net_def *def;
    bool owns_def;          /* bp_net_new's net; false: a worker's (net_worker.h) */

    /* Scratch for one forward, grown (never shrunk) to the longest chunk seen: no
     * malloc in the steady state. */
    bp_node ***cell_vals;   /* [n_layers]: a graph cell's [n_nodes] (step_io.vals), or NULL */
    int cap_steps;
    bp_node **in_nodes;     /* [cap]: the net's input at each step (features or ids) */
    bp_node *in_seq;        /* the input over all steps [steps B, F] (features or one-hot),
                               whose rows in_nodes view; NULL when the input is ids */
    bp_node **outs;         /* [n_layers * cap]: each layer's output at each step */
    bp_node **tr_h, **tr_rec; /* [n_rec * cap] */
    bp_node **tr_h0;        /* [n_rec] */
    bp_node **tr_c0;        /* [n_rec]: the initial c (lstm, a cell's state 1) or NULL */
    net_run *runs;          /* [n_layers] */
    int in_lo;              /* in_seq's first row is step in_lo */
    net_block blk_first, blk_last; /* the first layer's blocks of the span's first, last step */
    net_xw_cache *xw_cache; /* NULL but during bp_net_backward_recompute */
    bp_node **last_c;       /* [n_rec]: c after the last step (lstm), for the state */
    bp_node ***tr_h_rows, ***tr_rec_rows; /* [n_rec] row pointers into tr_h, tr_rec */
    bp_node **logits;       /* [cap] */
    bp_node *mask;          /* the step being recorded: its row mask [s < len_r] when
                               some row has ended (variable lengths), else NULL */
    bp_real *buf;           /* [buf_cap] a step's input or targets, gathered */
    size_t buf_cap;
    bp_trace trace;
    bool drop_on;           /* bp_net_set_dropout */
    uint64_t drop_seed;
    int row0;               /* the recorded batch's row0 */
};

struct bp_net_state {
    const bp_net *net;
    int B;
    bp_real **h, **c; /* [n_rec] each [B, H]; c NULL for non-lstm */
    bp_real *block;
    size_t elements;
};


/* The cells: record one step's ops on t; outputs NULL once the tape holds an error. */
void net_rnn_step(bp_tape *t, const net_layer *l, step_io *io);
void net_lstm_step(bp_tape *t, const net_layer *l, step_io *io);
void net_gru_step(bp_tape *t, const net_layer *l, step_io *io);
bp_node *net_linear(bp_tape *t, const net_layer *l, bp_node *x);
void net_cell_step(bp_tape *t, const net_layer *l, step_io *io);

/* Graph cells (cell.c): structure check, parameters, init, scratch. */
bp_status net_cell_check(const bp_layer_spec *l, bp_error *err);
bp_status net_cell_make_params(net_layer *l, bp_params *p, bp_error *err);
bp_status net_cell_init(net_layer *l, bp_rng *rng, bp_error *err);
void net_cell_free(net_layer *l);
bp_status net_cell_dry_run(net_layer *l, bp_error *err);
/* The width of the layer's second state (lstm's c, a cell's state 1), or 0. */
int net_c_size(const net_layer *l);

/* Layer i's name (its own, or kind + count: "rnn1") and its input width (spec.c). */
void net_layer_name(const bp_net_spec *s, int i, char out[BP_LAYER_NAME_MAX]);
int net_layer_in_size(const bp_net_spec *s, int i);

/* Record sp's steps of b on t (forward.c): the loss node of the span (BP_HEAD_LAST: the
 * readout's loss when sp->b == b->T, else a zero constant; BP_HEAD_SEQ: the sum of the
 * losses of steps [t0, b) times 1 / (t1 - t0), when t1 - t0 > 1), NULL on error (the
 * tape's). Checks the batch; fills the trace, net->blk_first, net->blk_last. */
bp_node *net_record(bp_net *net, bp_tape *t, const bp_batch *b, const net_span *sp);
/* projection.c: does layer i multiply its input by W_x once per block of steps (a
 * first rnn, lstm or gru layer); steps per block for B rows of W columns over steps; the
 * block of chunk step s, its product recorded (or taken from the cache). */
bool net_projects(const bp_net *net, int i);
int net_projection_block(int B, int W, int steps);
net_block net_block_product(bp_net *net, bp_tape *t, const net_layer *l, const net_run *run,
                            int s, int B, const net_span *sp);

/* Is layer i's output at a step past a row's end the output at its last step? True for
 * recurrent layers (their state is held) and what reads only held outputs (forward.c). */
bool net_output_held(const bp_net *net, int i);

/* Layer i's dropout at chunk step s on x (B, W): its output's (dropout, per step or
 * variational) or, with recurrent, its h_{t-1}'s (recurrent_dropout) — x itself when that
 * rate is 0 or dropout is off (dropout.c). */
bp_node *net_dropout(bp_net *net, bp_tape *t, int i, bool recurrent, int s, bp_node *x);

/* Grow the forward scratch to hold steps steps (net.c); false when out of memory. */
bool net_reserve(bp_net *net, int steps);

/* Parameter initialisation of one layer (init.c). */
bp_status net_init_layer(net_layer *l, bp_rng *rng, bp_error *err);
/* U(-bound, bound) fill of a node's values. */
void net_fill_uniform(bp_node *n, double bound, bp_rng *rng);

#endif
