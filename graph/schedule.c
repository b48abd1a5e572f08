/* schedule.c — learning rate as a function of the number of steps done (the plateau
 * schedule's reductions, which follow evaluations, are the optimizer's: optim.c). */
#include "bptt_optim.h"

#include <math.h>

double bp_lr_at(const bp_optim_config *c, long step)
{
    if (step < 0)
        step = 0;
    long warm = c->warmup_steps > 0 ? c->warmup_steps : 0;
    if (step < warm) /* linear warm-up to lr, as a LinearLR(1/W, 1, W) */
        return c->lr * (double)(step + 1) / (double)warm;
    long s = step - warm; /* the schedule runs over the steps after the warm-up */
    switch (c->schedule) {
    case BP_LR_CONSTANT:
    case BP_LR_PLATEAU:
    case BP_LR_COUNT:
        return c->lr;
    case BP_LR_STEP: {
        /* lr * gamma^floor(s / every), as torch.optim.lr_scheduler.StepLR */
        long every = c->step_every > 0 ? c->step_every : 1;
        return c->lr * pow(c->step_gamma, (double)(s / every));
    }
    case BP_LR_COSINE: {
        /* lr_min + (lr - lr_min)(1 + cos(pi s / S)) / 2, held at lr_min after S steps */
        long total = c->total_steps - warm > 0 ? c->total_steps - warm : 1;
        long k = s < total ? s : total;
        return c->lr_min +
               (c->lr - c->lr_min) * (1 + cos(3.14159265358979323846 * (double)k / (double)total)) / 2;
    }
    case BP_LR_EXPONENTIAL: {
        /* lr * rate^(s / steps), Keras's ExponentialDecay (not staircase) */
        long every = c->decay_steps > 0 ? c->decay_steps : 1;
        return c->lr * pow(c->decay_rate, (double)s / (double)every);
    }
    }
    return c->lr;
}
