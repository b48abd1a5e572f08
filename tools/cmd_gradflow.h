/* cmd_gradflow.h — what `bptt gradflow` measured, and how it is shown: the terminal
 * table with sparklines, the CSV file and the SVG figure (cmd_gradflow_report.c). */
#ifndef BPTT_CMD_GRADFLOW_H
#define BPTT_CMD_GRADFLOW_H

#include "bptt_gradflow.h"

#include <stdio.h>

/* One model (file + variant + weights): one curve per recurrent layer. */
typedef struct gf_run {
    char label[96];      /* legend name: the variant's name, else the model's name */
    const char *model;   /* the model file */
    const char *weights; /* the checkpoint, or NULL (initial weights) */
    bp_gradflow *g;
} gf_run;

/* "label" or "label/rnn1" when the run has several recurrent layers. */
void gf_curve_name(const gf_run *r, int layer, char *out, size_t n);
/* The terminal table: sparklines and the norms at distance 1, 10, 50 and T - 1. */
void gf_print_table(FILE *f, const gf_run *runs, int n);
/* CSV: curve,model,layer,step,distance,dh,dh_raw,dw,clipped (one row per curve and
 * step). 0, or -1 with errno set. */
int gf_write_csv(const char *path, const gf_run *runs, int n);
/* SVG: two panels over the distance from the loss (log y): ||dL/dh_k|| (and, dashed,
 * the gradient arriving at a clip node before clamping) and ||step k's term of
 * dL/dW_h||. 0, or -1 with errno set. */
int gf_write_svg(const char *path, const char *title, const gf_run *runs, int n);

#endif
