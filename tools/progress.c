/* progress.c — see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void eta(char *buf, size_t n, double seconds)
{
    long s = seconds > 0 && seconds < 1e7 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, n, "%ld:%02ld", s / 60, s % 60);
}

void progress_start(progress *p, long first, long total, bool quiet, long every)
{
    *p = (progress){.tty = isatty(STDOUT_FILENO), .quiet = quiet, .first = first,
                    .total = total, .every = every > 0 ? every : 1, .t_start = now(),
                    .step = first};
}

static void draw(progress *p)
{
    double elapsed = now() - p->t_start;
    double rate = elapsed > 0 ? (double)(p->step - p->first) / elapsed : 0;
    char left[32];
    eta(left, sizeof left, rate > 0 ? (double)(p->total - p->step) / rate : 0);
    const int width = 24;
    int filled = p->total > 0 ? (int)(width * p->step / p->total) : width;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    printf("\r\033[K[%s] %ld/%ld  loss %.5f  |g| %.3g  clipped %ld  %.1f steps/s  ETA %s", bar,
           p->step, p->total, p->last_loss, p->last_gnorm, p->clipped, rate, left);
    fflush(stdout);
    p->drawn = true;
    p->t_drawn = now();
}

void progress_update(progress *p, long step, double loss, double grad_norm, bool clipped)
{
    p->step = step;
    p->clipped += clipped;
    p->loss_sum += loss;
    p->gnorm_sum += grad_norm;
    p->n_sum++;
    /* a smoothed loss for the bar: one batch alone is noisy */
    p->last_loss = step == p->first + 1 ? loss : 0.9 * p->last_loss + 0.1 * loss;
    p->last_gnorm = grad_norm;
    if (p->quiet)
        return;
    if (p->tty) {
        if (now() - p->t_drawn > 0.1 || step == p->total)
            draw(p);
        return;
    }
    if (step % p->every && step != p->total)
        return;
    double elapsed = now() - p->t_start;
    double rate = elapsed > 0 ? (double)(step - p->first) / elapsed : 0;
    char left[32];
    eta(left, sizeof left, rate > 0 ? (double)(p->total - step) / rate : 0);
    printf("step %ld/%ld  loss %.5f  |g| %.4g  clipped %ld  %.1f steps/s  ETA %s\n", step,
           p->total, p->loss_sum / (double)p->n_sum, p->gnorm_sum / (double)p->n_sum, p->clipped,
           rate, left);
    fflush(stdout);
    p->loss_sum = p->gnorm_sum = 0;
    p->n_sum = 0;
}

void progress_clear(progress *p)
{
    if (p->tty && p->drawn && !p->quiet) {
        printf("\r\033[K");
        fflush(stdout);
    }
}

void progress_redraw(progress *p)
{
    if (p->tty && p->drawn && !p->quiet)
        draw(p);
}

void progress_end(progress *p)
{
    if (p->tty && p->drawn && !p->quiet) {
        draw(p);
        printf("\n");
        fflush(stdout);
    }
    p->drawn = false;
}
