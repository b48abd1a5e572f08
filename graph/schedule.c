/* schedule.c — learning rate as a function of the number of steps done. */
#include "bptt_optim.h"

#include <math.h>

double bp_lr_at(const bp_optim_config *c, long step)
{
    if (step < 0)
        step = 0;
    switch (c->schedule) {
    case BP_LR_CONSTANT:
        return c->lr;
    case BP_LR_STEP: {
        /* lr * gamma^floor(s / every), as torch.optim.lr_scheduler.StepLR */
        long every = c->step_every > 0 ? c->step_every : 1;
        return c->lr * pow(c->step_gamma, (double)(step / every));
    }
    case BP_LR_COSINE: {
        /* lr_min + (lr - lr_min)(1 + cos(pi s / S)) / 2, held at lr_min after S steps */
        long total = c->total_steps > 0 ? c->total_steps : 1;
        long s = step < total ? step : total;
        return c->lr_min +
               (c->lr - c->lr_min) * (1 + cos(3.14159265358979323846 * (double)s / (double)total)) / 2;
    }
    }
    return c->lr;
}
