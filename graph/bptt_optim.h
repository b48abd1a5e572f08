/* bptt_optim.h — optimizers, learning-rate schedules and gradient clipping.
 *
 * They only touch a bp_params: each parameter's value and grad. One training step:
 *
 *     bp_params_zero_grad(params);          // once, before the first step
 *     ... record the forward, bp_backward(tape, loss, &err) ...
 *     bp_optim_step(opt, loss_value, &info, &err);   // check, clip, update, zero grads
 *     bp_tape_reset(tape);
 *
 * The update rules are PyTorch's (torch.optim.SGD / RMSprop / Adam), so a run can
 * be compared number for number with theirs; docs/training.md writes them out.
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

typedef enum { BP_OPT_SGD, BP_OPT_RMSPROP, BP_OPT_ADAM } bp_opt_kind;
typedef enum { BP_LR_CONSTANT, BP_LR_STEP, BP_LR_COSINE } bp_lr_kind;

typedef struct bp_optim_config {
    bp_opt_kind kind;       /* default BP_OPT_ADAM */
    double lr;              /* default 1e-3 */
    double momentum;        /* SGD, in [0, 1), default 0 */
    bool nesterov;          /* SGD; needs momentum > 0 */
    double beta1, beta2;    /* Adam, in [0, 1), defaults 0.9, 0.999 */
    double alpha;           /* RMSprop decay, in [0, 1), default 0.99 */
    double eps;             /* Adam/RMSprop, > 0, default 1e-8 */
    double weight_decay;    /* L2 added to the gradient (AdamW-style decoupled is NOT used), default 0 */
    bp_lr_kind schedule;    /* default constant */
    long step_every;        /* BP_LR_STEP: multiply lr by step_gamma every step_every steps (default 1000) */
    double step_gamma;      /* default 0.1 */
    long total_steps;       /* BP_LR_COSINE: lr_min + (lr - lr_min)(1 + cos(pi s / total))/2; must be set */
    double lr_min;          /* default 0 */
    double clip_norm;       /* global-norm clip of all grads (Pascanu 2013); 0 = off */
    double clip_value;      /* elementwise clamp of all grads to [-v, v]; 0 = off */
} bp_optim_config;

/* Fill c with the defaults above (Adam, lr 1e-3, no clipping). */
void bp_optim_config_default(bp_optim_config *c);
/* Every setting in range? Else BP_ERR_VALUE naming the setting ("optimizer: momentum
 * must be in [0, 1), got 1.5"). bp_optim_new calls it. */
bp_status bp_optim_config_check(const bp_optim_config *c, bp_error *err);

/* "sgd", "rmsprop", "adam" / "constant", "step", "cosine" (static strings; "unknown"
 * for a value out of range), and back (false when unknown, *k untouched). */
const char *bp_opt_kind_name(bp_opt_kind k);
const char *bp_lr_kind_name(bp_lr_kind k);
bool bp_opt_kind_parse(const char *name, bp_opt_kind *k);
bool bp_lr_kind_parse(const char *name, bp_lr_kind *k);

/* The learning rate a schedule gives to the step taken after `step` steps are
 * done (0 for the first step): constant lr; step lr * gamma^floor(step / every);
 * cosine lr_min + (lr - lr_min)(1 + cos(pi min(step, total) / total)) / 2. */
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
 *   Adam               "adam.m.<param>", "adam.v.<param>"
 * Each leaf has its parameter's shape. SGD without momentum has no state. The leaves
 * are the optimizer's (write their values to restore a state); bp_optim_state_at is
 * NULL outside [0, count), bp_optim_state_find NULL for an unknown name. */
int bp_optim_state_count(const bp_optim *o);
bp_node *bp_optim_state_at(const bp_optim *o, int i);
bp_node *bp_optim_state_find(const bp_optim *o, const char *name);
void bp_optim_set_steps_done(bp_optim *o, long steps);

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
