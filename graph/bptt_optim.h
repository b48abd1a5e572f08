/* bptt_optim.h — optimizers, learning-rate schedules and gradient clipping.
 *
 * They only touch a bp_params: each parameter's value and grad. One training step:
 *
 *     bp_params_zero_grad(params);          // once, before the first step
 *     ... record the forward, bp_backward(tape, loss, &err) ...
 *     bp_optim_step(opt, loss_value, &info, &err);   // check, clip, update, zero grads
 *     bp_tape_reset(tape);
 *
 * The update rules are PyTorch's (torch.optim.SGD / RMSprop / Adam / AdamW), in its
 * order of operations and with its constants (1 - beta computed in double and rounded
 * once), so a float32 run matches torch.optim's bits; docs/training.md writes them out.
 *
 * Ownership: the optimizer keeps a pointer to params (which must outlive it and
 * must not gain or lose parameters after bp_optim_new) and owns its state leaves.
 * bp_optim_step allocates nothing.
 */
#ifndef BPTT_OPTIM_H
#define BPTT_OPTIM_H

#include "bptt_graph.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

/* The one list of each kind of setting: X(ID, "name"); the enums, the names, the parsers
 * and the model file's choices all come from these. */
#define BP_OPT_LIST(X) X(SGD, "sgd") X(RMSPROP, "rmsprop") X(ADAM, "adam") X(ADAMW, "adamw")
#define BP_LR_LIST(X)                                                                   \
    X(CONSTANT, "constant") X(STEP, "step") X(COSINE, "cosine")                         \
    X(EXPONENTIAL, "exponential") X(PLATEAU, "plateau")
#define BP_DECAY_LIST(X) X(MATRICES, "matrices") X(ALL, "all")

#define BP_OPT_ENUM(id, name) BP_OPT_##id,
#define BP_LR_ENUM(id, name) BP_LR_##id,
#define BP_DECAY_ENUM(id, name) BP_DECAY_##id,
typedef enum { BP_OPT_LIST(BP_OPT_ENUM) BP_OPT_COUNT } bp_opt_kind;
typedef enum { BP_LR_LIST(BP_LR_ENUM) BP_LR_COUNT } bp_lr_kind;
/* Which parameters weight_decay applies to: those of two or more dimensions (weight
 * matrices and embeddings; not biases or layer-norm gains), or every one. */
typedef enum { BP_DECAY_LIST(BP_DECAY_ENUM) BP_DECAY_COUNT } bp_decay_params;
#undef BP_OPT_ENUM
#undef BP_LR_ENUM
#undef BP_DECAY_ENUM

typedef struct bp_optim_config {
    bp_opt_kind kind;       /* default BP_OPT_ADAM */
    double lr;              /* default 1e-3 */
    double momentum;        /* SGD, in [0, 1), default 0 */
    bool nesterov;          /* SGD; needs momentum > 0 */
    double beta1, beta2;    /* Adam, in [0, 1), defaults 0.9, 0.999 */
    double alpha;           /* RMSprop decay, in [0, 1), default 0.99 */
    double eps;             /* Adam/RMSprop, > 0, default 1e-8 */
    double weight_decay;    /* default 0. SGD, RMSprop, Adam: L2 added to the gradient,
                               g += wd p; AdamW: decoupled, p -= lr wd p before the update */
    bp_decay_params decay;  /* the parameters weight_decay applies to (default matrices) */
    bp_lr_kind schedule;    /* default constant */
    long warmup_steps;      /* > 0: a linear warm-up, lr (s + 1) / warmup over the first
                               steps, then the schedule over the steps after it (default 0) */
    long step_every;        /* BP_LR_STEP: multiply lr by step_gamma every step_every steps (default 1000) */
    double step_gamma;      /* default 0.1 */
    long total_steps;       /* BP_LR_COSINE: lr_min + (lr - lr_min)(1 + cos(pi s / total))/2; must be set */
    double lr_min;          /* cosine's floor, and plateau's (default 0) */
    double decay_rate;      /* BP_LR_EXPONENTIAL: lr decay_rate^(s / decay_steps), in (0, 1] (default 0.5) */
    long decay_steps;       /* default 1000 */
    double plateau_factor;  /* BP_LR_PLATEAU: multiply lr by this, in (0, 1), after
                               plateau_patience evaluations without an improvement of the
                               validation loss by more than plateau_threshold (relative),
                               as torch's ReduceLROnPlateau (defaults 0.1, 10, 1e-4) */
    int plateau_patience;
    double plateau_threshold;
    double clip_norm;       /* global-norm clip of all grads (Pascanu 2013); 0 = off */
    double clip_value;      /* elementwise clamp of all grads to [-v, v]; 0 = off */
} bp_optim_config;

/* Fill c with the defaults above (Adam, lr 1e-3, no clipping). */
void bp_optim_config_default(bp_optim_config *c);
/* Every setting in range? Else BP_ERR_VALUE naming the setting ("optimizer: momentum
 * must be in [0, 1), got 1.5"). bp_optim_new calls it. */
bp_status bp_optim_config_check(const bp_optim_config *c, bp_error *err);

/* The names of BP_OPT_LIST, BP_LR_LIST and BP_DECAY_LIST (static strings; "unknown"
 * for a value out of range), and back (false when unknown, *k untouched). */
const char *bp_opt_kind_name(bp_opt_kind k);
const char *bp_lr_kind_name(bp_lr_kind k);
const char *bp_decay_params_name(bp_decay_params d);
bool bp_opt_kind_parse(const char *name, bp_opt_kind *k);
bool bp_lr_kind_parse(const char *name, bp_lr_kind *k);
bool bp_decay_params_parse(const char *name, bp_decay_params *d);

/* The learning rate a schedule gives to the step taken after `step` steps are
 * done (0 for the first step), s = step - warmup_steps the steps after the warm-up:
 * during the warm-up (step < warmup_steps) lr (step + 1) / warmup_steps; then constant
 * and plateau lr; step lr * gamma^floor(s / every); cosine lr_min + (lr - lr_min)(1 +
 * cos(pi min(s, S) / S)) / 2 with S = total_steps - warmup_steps; exponential
 * lr * decay_rate^(s / decay_steps). Plateau's reductions multiply this
 * (bp_optim_lr_scale). */
double bp_lr_at(const bp_optim_config *c, long step);

typedef struct bp_optim bp_optim;
/* An optimizer for every parameter now in params, its state zero; c is copied. The
 * caller owns it: bp_optim_free (NULL is a no-op) before freeing params. NULL and err
 * on a bad setting (the errors of bp_optim_config_check), no parameters
 * (BP_ERR_VALUE) or BP_ERR_NOMEM. */
bp_optim *bp_optim_new(const bp_optim_config *c, bp_params *params, bp_error *err);
void bp_optim_free(bp_optim *o);
/* Its configuration (the optimizer's copy, valid while it lives). */
const bp_optim_config *bp_optim_config_of(const bp_optim *o);

typedef struct bp_step_info {
    double grad_norm;   /* global L2 norm of all grads before clipping */
    bool clipped;       /* clip_norm or clip_value changed something */
    double lr;          /* the learning rate used for this step */
} bp_step_info;

/* One update from the grads in params: check the loss and every grad are finite
 * (else BP_ERR_NONFINITE "step 12: gradient of rnn0.W_h has NaN at element 7";
 * steps are numbered from 1; params, optimizer state and step count untouched,
 * grads left as they are for inspection), clip, apply, then zero the grads.
 * info may be NULL. */
bp_status bp_optim_step(bp_optim *o, double loss, bp_step_info *info, bp_error *err);
/* Updates applied so far (failed steps do not count). */
long bp_optim_steps_done(const bp_optim *o);

/* Optimizer state as named leaves, for checkpoints, plus the step count (kept apart,
 * through bp_optim_steps_done / bp_optim_set_steps_done). Names:
 *   SGD with momentum  "sgd.momentum.<param>"
 *   RMSprop            "rmsprop.square_avg.<param>"
 *   Adam, AdamW        "adam.m.<param>", "adam.v.<param>"
 * Each leaf has its parameter's shape. SGD without momentum has no state. The leaves
 * are the optimizer's (write their values to restore a state); bp_optim_state_at is
 * NULL outside [0, count), bp_optim_state_find NULL for an unknown name. */
int bp_optim_state_count(const bp_optim *o);
bp_node *bp_optim_state_at(const bp_optim *o, int i);
bp_node *bp_optim_state_find(const bp_optim *o, const char *name);
void bp_optim_set_steps_done(bp_optim *o, long steps);

/* The plateau schedule: tell it a validation loss (after an evaluation); true when this
 * one cut the learning rate (by plateau_factor, not below lr_min). Other schedules
 * ignore it. Its state, three numbers (the scale so far, the best loss, evaluations
 * since it), is read and set through bp_optim_plateau_state for checkpoints; a new
 * optimizer starts at {1, +Inf, 0}. */
bool bp_optim_observe(bp_optim *o, double val_loss);
double bp_optim_lr_scale(const bp_optim *o);
void bp_optim_plateau_state(const bp_optim *o, double out[3]);
/* false (and nothing changed) for a state out of its domain: a scale not in (0, 1], a
 * best that is NaN, a negative or non-integer count. */
bool bp_optim_set_plateau_state(bp_optim *o, const double in[3]);
/* The learning rate of the next step: bp_lr_at times the plateau's scale, floored at
 * lr_min once the plateau has cut it. */
double bp_optim_lr(const bp_optim *o);

/* Free-standing helpers (also used by bp_optim_step). */
/* sqrt(sum over all params and elements of grad^2), in double; safe from overflow. */
double bp_grad_global_norm(const bp_params *p);
/* If the global norm exceeds max_norm > 0, scale every grad by max_norm / norm so the
 * norm becomes max_norm. Returns whether it scaled; *norm_before (may be NULL) gets the
 * norm. max_norm <= 0 does nothing. */
bool bp_clip_grad_global_norm(bp_params *p, double max_norm, double *norm_before);
/* Clamp every grad element to [-c, c] (c > 0); returns whether any element changed. */
bool bp_clip_grad_value(bp_params *p, double c);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
