/* svg.h — line plots written as self-contained SVG by the project itself (no
 * plotting dependency): panels stacked vertically, each with a linear x axis, a
 * linear or log-scale y axis (decade ticks), labelled axes, a legend, and one
 * <path class="curve"> per curve, so a test (or a script) can count them.
 *
 * On a log axis, points <= 0 or non-finite break the line (they are not drawn);
 * on a linear axis, non-finite points do. A rug (x positions drawn as ticks along
 * the bottom of a panel, e.g. the steps where clipping fired) is one
 * <path class="rug">. */
#ifndef BPTT_SVG_H
#define BPTT_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { SVG_LINE, SVG_DASHED, SVG_DOTS } svg_style;

typedef struct svg_curve {
    const char *label;      /* legend text; NULL: not in the legend */
    const double *x, *y;    /* n points; x NULL means 0, 1, 2, ... */
    int n;
    svg_style style;
    int color;              /* index into the palette; -1: the curve's index */
} svg_curve;

/* A rug: x positions marked by short ticks along the bottom of the plot area
 * (e.g. the steps where clipping fired); several rugs stack upwards. */
typedef struct svg_rug {
    const char *label;      /* legend text */
    const double *x;
    int n;
    int color;              /* palette index */
} svg_rug;

typedef struct svg_panel {
    const char *title, *xlabel, *ylabel;
    bool log_y;
    const svg_curve *curves;
    int n_curves;
    const svg_rug *rugs;
    int n_rugs;
} svg_panel;

typedef struct svg_figure {
    int width;              /* pixels; 0: 900, wider when the legend needs room */
    int panel_height;       /* pixels per panel; 0: 380 */
    const svg_panel *panels;
    int n_panels;
} svg_figure;

/* The colour of palette index i (cycles through 10 colours). */
const char *svg_color(int i);
/* Write the figure to f; 0, or -1 when writing failed. */
int svg_write(FILE *f, const svg_figure *fig);
/* Write it to path (replacing the file); 0, or -1 with errno set. */
int svg_save(const char *path, const svg_figure *fig);

#endif
