/* progress.h — training progress: a live bar on a terminal, plain periodic lines
 * elsewhere (a log file, a pipe, CI). */
#ifndef BPTT_PROGRESS_H
#define BPTT_PROGRESS_H

#include <stdbool.h>

typedef struct progress {
    bool tty, quiet, drawn;
    long first, total, every;   /* steps: start, end, lines every N (off a terminal) */
    double t_start, t_drawn;
    double loss_sum, gnorm_sum; /* since the last line */
    long n_sum, clipped, step;
    double last_loss, last_gnorm;
} progress;

void progress_start(progress *p, long first, long total, bool quiet, long every);
void progress_update(progress *p, long step, double loss, double grad_norm, bool clipped);
void progress_clear(progress *p);  /* before printing another line */
void progress_redraw(progress *p); /* after it */
void progress_end(progress *p);

#endif
