/* svg.c — see svg.h. Coordinates: each panel is a band of the figure; its plot
 * area is [px0, px1] x [py0, py1] in pixels, y growing downwards. */
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <string.h>

enum { MARGIN_LEFT = 84, MARGIN_TOP = 40, MARGIN_BOTTOM = 54 };

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

const char *svg_color(int i)
{
    int n = (int)(sizeof palette / sizeof palette[0]);
    return palette[((i % n) + n) % n];
}

/* Text with &, <, >, " escaped. */
static void put_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
    }
}

/* An axis: the data range [lo, hi] mapped onto pixels [p0, p1] (log10 when log). */
typedef struct axis {
    double lo, hi; /* in axis units (decades on a log axis) */
    double step;   /* between labelled ticks */
    bool log;
    double p0, p1;
} axis;

static double axis_map(const axis *a, double v)
{
    double u = a->log ? log10(v) : v;
    return a->p0 + (u - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

static bool usable(const axis *a, double v)
{
    return isfinite(v) && (!a->log || v > 0);
}

/* 1, 2 or 5 times a power of ten, near raw. */
static double nice_step(double raw)
{
    double p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* A linear axis over [mn, mx], widened to whole ticks. */
static void axis_linear(axis *a, double mn, double mx, bool tight)
{
    if (!(mn <= mx)) {
        mn = 0;
        mx = 1;
    }
    /* a span the doubles cannot resolve into ticks (1e17 to 1e17 + 32: a step below one
     * ulp) is drawn as one value */
    if (mx - mn <= fmax(fabs(mn), fabs(mx)) * 1e-9) {
        double d = mn == 0 && mx == 0 ? 1 : fmax(fabs(mn), fabs(mx)) * 0.1;
        mn -= d;
        mx += d;
    }
    a->log = false;
    a->step = nice_step((mx - mn) / 6);
    a->lo = tight ? mn : floor(mn / a->step) * a->step;
    a->hi = tight ? mx : ceil(mx / a->step) * a->step;
}

/* A log axis over positive [mn, mx]: whole decades, at most ~8 labels. */
static void axis_log(axis *a, double mn, double mx)
{
    if (!(mn > 0 && mn <= mx)) {
        mn = 0.1;
        mx = 10;
    }
    a->log = true;
    a->lo = floor(log10(mn));
    a->hi = ceil(log10(mx));
    if (a->hi <= a->lo)
        a->hi = a->lo + 1;
    /* labels every 1, 2, 5, 10, 20, ... decades, at multiples of the step */
    double span = a->hi - a->lo;
    a->step = span <= 8 ? 1 : nice_step(span / 8);
    if (a->step < span / 8)
        a->step = nice_step(a->step * 2);
    a->lo = floor(a->lo / a->step) * a->step;
    a->hi = ceil(a->hi / a->step) * a->step;
}

static double curve_x(const svg_curve *c, int i)
{
    return c->x ? c->x[i] : i;
}

static void data_range(const svg_panel *p, bool log_y, double xr[2], double yr[2])
{
    xr[0] = yr[0] = INFINITY;
    xr[1] = yr[1] = -INFINITY;
    for (int j = 0; j < p->n_curves; j++) {
        const svg_curve *c = &p->curves[j];
        for (int i = 0; i < c->n; i++) {
            double x = curve_x(c, i), y = c->y[i];
            if (!isfinite(x) || !isfinite(y) || (log_y && y <= 0))
                continue;
            xr[0] = fmin(xr[0], x);
            xr[1] = fmax(xr[1], x);
            yr[0] = fmin(yr[0], y);
            yr[1] = fmax(yr[1], y);
        }
    }
    for (int r = 0; r < p->n_rugs; r++)
        for (int i = 0; i < p->rugs[r].n; i++)
            if (isfinite(p->rugs[r].x[i])) {
                xr[0] = fmin(xr[0], p->rugs[r].x[i]);
                xr[1] = fmax(xr[1], p->rugs[r].x[i]);
            }
}

/* Ticks at lo, lo + step, ... up to hi: counted, not stepped, so a step below one ulp of
 * the values can never loop; at most 100. */
static int tick_count(double lo, double hi, double step)
{
    double n = floor((hi - lo) / step + 1e-9) + 1;
    return !(n >= 1) ? 0 : n > 100 ? 100 : (int)n;
}

static void tick_label_linear(FILE *f, double v, double step)
{
    if (fabs(v) < step * 1e-9)
        v = 0;
    fprintf(f, "%g", v);
}

/* 10 with the exponent raised: 10⁻³ drawn as 10 and a shifted, smaller "−3". */
static void tick_label_log(FILE *f, int e)
{
    if (e == 0) {
        fputs("1", f);
        return;
    }
    fprintf(f, "10<tspan dy=\"-0.6em\" font-size=\"75%%\">%s%d</tspan>", e < 0 ? "\xe2\x88\x92" : "",
            e < 0 ? -e : e);
}

static void draw_axes(FILE *f, const svg_panel *p, const axis *ax, const axis *ay, double top,
                      int height)
{
    double px0 = ax->p0, px1 = ax->p1, py0 = ay->p1, py1 = ay->p0;
    fprintf(f, "<g class=\"panel-frame\" font-family=\"sans-serif\" font-size=\"12\">\n");
    if (p->title) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"15\" "
                   "font-weight=\"bold\">", (px0 + px1) / 2, top + 24);
        put_text(f, p->title);
        fputs("</text>\n", f);
    }
    /* y ticks and grid */
    for (int k = 0, n = tick_count(ay->lo, ay->hi, ay->step); k < n; k++) {
        double u = ay->lo + k * ay->step;
        double y = ay->p0 + (u - ay->lo) / (ay->hi - ay->lo) * (ay->p1 - ay->p0);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n",
                px0, y, px1, y);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n",
                px0 - 5, y, px0, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", px0 - 8, y + 4);
        if (ay->log)
            tick_label_log(f, (int)lround(u));
        else
            tick_label_linear(f, u, ay->step);
        fputs("</text>\n", f);
    }
    /* minor ticks at every decade between labelled ones */
    if (ay->log && ay->step > 1)
        for (int k = 0, n = tick_count(ay->lo, ay->hi, 1); k < n; k++) {
            double u = ay->lo + k;
            double y = ay->p0 + (u - ay->lo) / (ay->hi - ay->lo) * (ay->p1 - ay->p0);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n",
                    px0 - 3, y, px0, y);
        }
    /* x ticks */
    double first = ceil(ax->lo / ax->step - 1e-9) * ax->step;
    for (int k = 0, n = tick_count(first, ax->hi, ax->step); k < n; k++) {
        double u = first + k * ax->step;
        double x = axis_map(ax, u);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#f0f0f0\"/>\n",
                x, py0, x, py1);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n",
                x, py1, x, py1 + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, py1 + 19);
        tick_label_linear(f, u, ax->step);
        fputs("</text>\n", f);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#000\"/>\n", px0, py0, px1 - px0, py1 - py0);
    if (p->xlabel) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">",
                (px0 + px1) / 2, top + height - 12);
        put_text(f, p->xlabel);
        fputs("</text>\n", f);
    }
    if (p->ylabel) {
        double cy = (py0 + py1) / 2;
        fprintf(f, "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\" "
                   "transform=\"rotate(-90 18 %.1f)\">", cy, cy);
        put_text(f, p->ylabel);
        fputs("</text>\n", f);
    }
    fputs("</g>\n", f);
}

/* The points of a line within one pixel column: its first, lowest, highest and last
 * (by index), so a long curve is drawn with at most four points a column and keeps
 * its envelope (spikes included). */
typedef struct column {
    bool used;
    long col;
    int n;
    int idx[4];      /* first, min, max, last */
    double X[4], Y[4];
} column;

static void put_point(FILE *f, double X, double Y, bool *pen, int *drawn)
{
    fprintf(f, "%s%c%.1f %.1f", (*drawn)++ ? " " : "", *pen ? 'L' : 'M', X, Y);
    *pen = true;
}

/* Emit the column's points in index order, each once. */
static void flush_column(FILE *f, column *c, bool *pen, int *drawn)
{
    if (!c->used)
        return;
    int order[4] = {0, 1, 2, 3};
    if (c->idx[2] < c->idx[1]) { /* max before min */
        order[1] = 2;
        order[2] = 1;
    }
    int last = -1;
    for (int k = 0; k < 4; k++) {
        int j = order[k];
        if (c->idx[j] == last)
            continue;
        put_point(f, c->X[j], c->Y[j], pen, drawn);
        last = c->idx[j];
    }
    c->used = false;
}

static void add_to_column(FILE *f, column *c, int i, double X, double Y, bool *pen, int *drawn)
{
    long col = lround(floor(X));
    if (c->used && col != c->col)
        flush_column(f, c, pen, drawn);
    if (!c->used) {
        *c = (column){.used = true, .col = col};
        for (int k = 0; k < 4; k++) {
            c->idx[k] = i;
            c->X[k] = X;
            c->Y[k] = Y;
        }
        return;
    }
    /* on screen y grows downwards: the lowest value has the largest Y */
    if (Y > c->Y[1]) {
        c->idx[1] = i;
        c->X[1] = X;
        c->Y[1] = Y;
    }
    if (Y < c->Y[2]) {
        c->idx[2] = i;
        c->X[2] = X;
        c->Y[2] = Y;
    }
    c->idx[3] = i;
    c->X[3] = X;
    c->Y[3] = Y;
}

static void draw_curve(FILE *f, const svg_curve *c, int index, const axis *ax, const axis *ay)
{
    const char *color = svg_color(c->color >= 0 ? c->color : index);
    fprintf(f, "<path class=\"curve\" fill=\"none\" stroke=\"%s\" ", color);
    switch (c->style) {
    case SVG_DASHED: fputs("stroke-width=\"1.8\" stroke-dasharray=\"6 4\" ", f); break;
    case SVG_DOTS: fputs("stroke-width=\"5\" stroke-linecap=\"round\" ", f); break;
    case SVG_LINE: fputs("stroke-width=\"1.8\" stroke-linejoin=\"round\" ", f); break;
    }
    fputs("d=\"", f);
    bool pen = false;
    int drawn = 0;
    column col = {0};
    for (int i = 0; i < c->n; i++) {
        double x = curve_x(c, i), y = c->y[i];
        if (!usable(ax, x) || !usable(ay, y)) {
            flush_column(f, &col, &pen, &drawn);
            pen = false;
            continue;
        }
        double X = axis_map(ax, x), Y = axis_map(ay, y);
        if (c->style == SVG_DOTS)
            fprintf(f, "%sM%.1f %.1fh0", drawn++ ? " " : "", X, Y);
        else
            add_to_column(f, &col, i, X, Y, &pen, &drawn);
    }
    flush_column(f, &col, &pen, &drawn);
    fputs("\">", f);
    if (c->label) {
        fputs("<title>", f);
        put_text(f, c->label);
        fputs("</title>", f);
    }
    fputs("</path>\n", f);
}

/* Rug r occupies the band [py1 - 10 (r + 1), py1 - 10 r). */
static void draw_rug(FILE *f, const svg_rug *rug, int r, const axis *ax, double py1)
{
    fprintf(f, "<path class=\"rug\" fill=\"none\" stroke=\"%s\" stroke-opacity=\"0.7\" "
               "stroke-width=\"1\" d=\"", svg_color(rug->color));
    int drawn = 0;
    double last = -1e300;
    for (int i = 0; i < rug->n; i++) {
        if (!isfinite(rug->x[i]))
            continue;
        double X = axis_map(ax, rug->x[i]);
        if (fabs(X - last) < 0.5) /* the same pixel as the tick before */
            continue;
        fprintf(f, "%sM%.1f %.1fv-8", drawn++ ? " " : "", X, py1 - 10.0 * r - 1);
        last = X;
    }
    fputs("\"/>\n", f);
}

static void draw_legend(FILE *f, const svg_panel *p, double x, double y)
{
    fputs("<g class=\"legend\" font-family=\"sans-serif\" font-size=\"12\">\n", f);
    for (int j = 0; j < p->n_curves; j++) {
        const svg_curve *c = &p->curves[j];
        if (!c->label)
            continue;
        const char *color = svg_color(c->color >= 0 ? c->color : j);
        if (c->style == SVG_DOTS)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x + 12, y - 4,
                    color);
        else
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                       "stroke-width=\"2\"%s/>\n", x, y - 4, x + 24, y - 4, color,
                    c->style == SVG_DASHED ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 30, y);
        put_text(f, c->label);
        fputs("</text>\n", f);
        y += 18;
    }
    for (int r = 0; r < p->n_rugs; r++) {
        const char *color = svg_color(p->rugs[r].color);
        for (int k = 0; k < 4; k++)
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                    x + 3 + 6 * k, y, x + 3 + 6 * k, y - 8, color);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 30, y);
        put_text(f, p->rugs[r].label);
        fputs("</text>\n", f);
        y += 18;
    }
    fputs("</g>\n", f);
}

/* Characters (UTF-8 sequences counted once) of the longest legend entry. */
static int legend_chars(const svg_figure *fig)
{
    int most = 0;
    for (int i = 0; i < fig->n_panels; i++) {
        const svg_panel *p = &fig->panels[i];
        for (int j = 0; j < p->n_curves + p->n_rugs; j++) {
            const char *s = j < p->n_curves ? p->curves[j].label : p->rugs[j - p->n_curves].label;
            int n = 0;
            for (; s && *s; s++)
                n += ((unsigned char)*s & 0xC0) != 0x80;
            most = n > most ? n : most;
        }
    }
    return most;
}

/* Room on the right for the legend: about 7 pixels a character at 12 px. */
static int margin_right(const svg_figure *fig, int width)
{
    int m = 46 + 7 * legend_chars(fig);
    m = m < 160 ? 160 : m;
    return m > width / 2 ? width / 2 : m;
}

static void draw_panel(FILE *f, const svg_panel *p, double top, int width, int height,
                       int right)
{
    double xr[2], yr[2];
    data_range(p, p->log_y, xr, yr);
    axis ax = {.p0 = MARGIN_LEFT, .p1 = width - right};
    axis ay = {.p0 = top + height - MARGIN_BOTTOM, .p1 = top + MARGIN_TOP};
    axis_linear(&ax, xr[0], xr[1], true);
    if (p->log_y)
        axis_log(&ay, yr[0], yr[1]);
    else
        axis_linear(&ay, yr[0], yr[1], false);
    draw_axes(f, p, &ax, &ay, top, height);
    for (int j = 0; j < p->n_curves; j++)
        draw_curve(f, &p->curves[j], j, &ax, &ay);
    for (int r = 0; r < p->n_rugs; r++)
        draw_rug(f, &p->rugs[r], r, &ax, ay.p0);
    draw_legend(f, p, ax.p1 + 16, ay.p1 + 12);
}

int svg_write(FILE *f, const svg_figure *fig)
{
    int width = fig->width > 0 ? fig->width : 0;
    if (!width) { /* 660 pixels of plot beside the legend */
        width = 900;
        int right = margin_right(fig, 2000);
        width = MARGIN_LEFT + 660 + right > width ? MARGIN_LEFT + 660 + right : width;
    }
    int right = margin_right(fig, width);
    int ph = fig->panel_height > 0 ? fig->panel_height : 380;
    int height = ph * (fig->n_panels > 0 ? fig->n_panels : 1);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
            width, height, width, height);
    for (int i = 0; i < fig->n_panels; i++)
        draw_panel(f, &fig->panels[i], (double)i * ph, width, ph, right);
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}

int svg_save(const char *path, const svg_figure *fig)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = svg_write(f, fig);
    int e = errno;
    if (fclose(f) != 0)
        return -1;
    errno = e;
    return rc;
}
