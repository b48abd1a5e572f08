/* cmd_gradflow_report.c — `bptt gradflow`'s outputs: the terminal table with a
 * log-scale sparkline per curve, the CSV file and the SVG figure. Every curve is
 * indexed by the distance d = T - 1 - k of step k from the loss. */
#include "cmd_gradflow.h"
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SPARK_WIDTH = 32 };

void gf_curve_name(const gf_run *r, int layer, char *out, size_t n)
{
    if (r->g->n_layers > 1)
        snprintf(out, n, "%s/%s", r->label, r->g->layers[layer].name);
    else
        snprintf(out, n, "%s", r->label);
}

typedef enum { Q_DH, Q_DH_RAW, Q_DW } quantity;

static const double *curve_of(const bp_gradflow_layer *L, quantity q)
{
    return q == Q_DH ? L->dh : q == Q_DH_RAW ? L->dh_raw : L->dw;
}

/* The mean of log10 over the positive values of curve at distances [d0, d1):
 * -INFINITY when all are 0, NAN when one is not finite. */
static double bucket_log(const bp_gradflow *g, const double *curve, int d0, int d1)
{
    double s = 0;
    int n = 0;
    for (int d = d0; d < d1; d++) {
        double v = bp_gradflow_at(g, curve, d);
        if (!isfinite(v))
            return NAN;
        if (v > 0) {
            s += log10(v);
            n++;
        }
    }
    return n ? s / n : -INFINITY;
}

static int spark_width(const bp_gradflow *g)
{
    return g->steps < SPARK_WIDTH ? g->steps : SPARK_WIDTH;
}

/* The range of log10 over every row, for one scale shared by all sparklines. */
static void log_range(const gf_run *runs, int n, quantity q, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int r = 0; r < n; r++)
        for (int l = 0; l < runs[r].g->n_layers; l++) {
            const bp_gradflow *g = runs[r].g;
            int w = spark_width(g);
            for (int j = 0; j < w; j++) {
                double v = bucket_log(g, curve_of(&g->layers[l], q), j * g->steps / w,
                                      (j + 1) * g->steps / w);
                if (isfinite(v)) {
                    *lo = fmin(*lo, v);
                    *hi = fmax(*hi, v);
                }
            }
        }
    if (isfinite(*lo) && *hi - *lo < 1) { /* at least one decade: a flat curve stays flat */
        double mid = (*lo + *hi) / 2;
        *lo = mid - 0.5;
        *hi = mid + 0.5;
    }
}

/* ▁▂▃▄▅▆▇█ from d = 0 (left) to d = T - 1 (right); ' ' exactly 0, '!' not finite. */
static void sparkline(FILE *f, const bp_gradflow *g, const double *curve, double lo, double hi)
{
    static const char *const bars[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                        "\u2585", "\u2586", "\u2587", "\u2588"};
    int w = spark_width(g);
    for (int j = 0; j < w; j++) {
        double v = bucket_log(g, curve, j * g->steps / w, (j + 1) * g->steps / w);
        if (isnan(v)) {
            fputc('!', f);
        } else if (v == -INFINITY) {
            fputc(' ', f);
        } else {
            int level = hi > lo ? (int)lround((v - lo) / (hi - lo) * 7) : 4;
            fputs(bars[level < 0 ? 0 : level > 7 ? 7 : level], f);
        }
    }
    for (int j = w; j < SPARK_WIDTH; j++)
        fputc(' ', f);
}

static void value(FILE *f, const bp_gradflow *g, const double *curve, int d)
{
    if (d < 0 || d >= g->steps)
        fprintf(f, "  %10s", "-");
    else
        fprintf(f, "  %10.3e", bp_gradflow_at(g, curve, d));
}

/* Characters in UTF-8 text (continuation bytes not counted). */
static int text_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* s cut or padded to w characters. */
static void put_padded(FILE *f, const char *s, int w)
{
    int used = 0;
    for (; *s && used <= w; s++) {
        bool starts = ((unsigned char)*s & 0xC0) != 0x80;
        if (starts && used == w)
            break;
        used += starts;
        fputc(*s, f);
    }
    for (; used < w; used++)
        fputc(' ', f);
}

static int name_width(const gf_run *runs, int n)
{
    int w = 12;
    for (int r = 0; r < n; r++)
        for (int l = 0; l < runs[r].g->n_layers; l++) {
            char name[160];
            gf_curve_name(&runs[r], l, name, sizeof name);
            int len = text_width(name);
            w = len > w ? len : w;
        }
    return w > 48 ? 48 : w;
}

static void section(FILE *f, const char *title, const gf_run *runs, int n, quantity q)
{
    double lo, hi;
    log_range(runs, n, q, &lo, &hi);
    int nw = name_width(runs, n);
    fprintf(f, "\n%s\n%-*s  %-*s  %10s  %10s  %10s  %10s\n", title, nw, "curve", SPARK_WIDTH,
            "d = 0 ... T-1 (log scale)", "d = 1", "d = 10", "d = 50", "d = T-1");
    for (int r = 0; r < n; r++) {
        const bp_gradflow *g = runs[r].g;
        for (int l = 0; l < g->n_layers; l++) {
            char name[160];
            gf_curve_name(&runs[r], l, name, sizeof name);
            const double *c = curve_of(&g->layers[l], q);
            put_padded(f, name, nw);
            fputs("  ", f);
            sparkline(f, g, c, lo, hi);
            value(f, g, c, 1);
            value(f, g, c, 10);
            value(f, g, c, 50);
            value(f, g, c, g->steps - 1);
            fputc('\n', f);
        }
    }
    if (isfinite(lo))
        fprintf(f, "sparklines: one log scale for all rows, \u2581 = %.0e ... \u2588 = %.0e "
                   "(a blank: exactly 0)\n", pow(10, lo), pow(10, hi));
}

void gf_print_table(FILE *f, const gf_run *runs, int n)
{
    fprintf(f, "gradient flow: one batch, loss at the last step only; d = T - 1 - k is step k's "
               "distance from the loss (%s)\n", sizeof(bp_real) == 8 ? "double precision" :
                                                 "single precision");
    for (int r = 0; r < n; r++) {
        const bp_gradflow *g = runs[r].g;
        fprintf(f, "  %s: %s%s%s, T = %d, batch %d, loss %.6g", runs[r].label, runs[r].model,
                runs[r].weights ? " with " : " (initial weights)",
                runs[r].weights ? runs[r].weights : "", g->steps, g->batch, g->loss);
        for (int l = 0; l < g->n_layers; l++) {
            const bp_gradflow_layer *L = &g->layers[l];
            fprintf(f, "%s %s ||dL/dW_h|| %.3e", l ? "," : ";", L->name, L->dw_total);
            if (L->clip_grad > 0) {
                long c = 0;
                for (int k = 0; k < g->steps; k++)
                    c += L->clipped[k];
                fprintf(f, " (clip_grad %g clamped %ld of %ld values)", L->clip_grad, c,
                        (long)g->steps * g->batch * L->size);
            }
        }
        fputc('\n', f);
    }
    section(f, "||dL/dh_k||: the gradient reaching step k's hidden state (after a clip node)",
            runs, n, Q_DH);
    section(f, "||h_{k-1}^T dL/d(h_{k-1} W_h)||: step k's term of the BPTT sum for dL/dW_h",
            runs, n, Q_DW);
}

/* A CSV field, quoted when it holds a comma, quote or newline. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int gf_write_csv(const char *path, const gf_run *runs, int n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("curve,model,layer,step,distance,dh,dh_raw,dw,clipped\n", f);
    for (int r = 0; r < n; r++) {
        const bp_gradflow *g = runs[r].g;
        for (int l = 0; l < g->n_layers; l++) {
            char name[160];
            gf_curve_name(&runs[r], l, name, sizeof name);
            const bp_gradflow_layer *L = &g->layers[l];
            for (int k = 0; k < g->steps; k++) {
                csv_field(f, name);
                fputc(',', f);
                csv_field(f, runs[r].model);
                fprintf(f, ",%s,%d,%d,%.9g,%.9g,%.9g,%ld\n", L->name, k, g->steps - 1 - k,
                        L->dh[k], L->dh_raw[k], L->dw[k], L->clipped[k]);
            }
        }
    }
    int e = ferror(f) ? errno : 0;
    if (fclose(f) != 0 || e) {
        if (e)
            errno = e;
        return -1;
    }
    return 0;
}

int gf_write_svg(const char *path, const char *title, const gf_run *runs, int n)
{
    int n_curves = 0, max_t = 1;
    for (int r = 0; r < n; r++) {
        n_curves += runs[r].g->n_layers;
        max_t = runs[r].g->steps > max_t ? runs[r].g->steps : max_t;
    }
    svg_curve *top = calloc((size_t)n_curves * 2, sizeof *top);
    svg_curve *bottom = calloc((size_t)n_curves, sizeof *bottom);
    char (*names)[200] = calloc((size_t)n_curves * 2, sizeof *names);
    double *x = malloc((size_t)max_t * sizeof *x);
    double *ys = malloc((size_t)n_curves * 3 * (size_t)max_t * sizeof *ys);
    int rc = -1;
    if (!top || !bottom || !names || !x || !ys) {
        errno = ENOMEM;
        goto done;
    }
    for (int d = 0; d < max_t; d++)
        x[d] = d;
    int nt = 0, nb = 0, c = 0;
    for (int r = 0; r < n; r++) {
        const bp_gradflow *g = runs[r].g;
        for (int l = 0; l < g->n_layers; l++, c++) {
            const bp_gradflow_layer *L = &g->layers[l];
            double *dh = ys + (size_t)(3 * c) * max_t, *raw = dh + max_t, *dw = raw + max_t;
            for (int d = 0; d < g->steps; d++) {
                dh[d] = bp_gradflow_at(g, L->dh, d);
                raw[d] = bp_gradflow_at(g, L->dh_raw, d);
                dw[d] = bp_gradflow_at(g, L->dw, d);
            }
            gf_curve_name(&runs[r], l, names[2 * c], sizeof names[0]);
            top[nt++] = (svg_curve){names[2 * c], x, dh, g->steps, SVG_LINE, c};
            bottom[nb++] = (svg_curve){names[2 * c], x, dw, g->steps, SVG_LINE, c};
            if (L->clip_grad > 0) {
                char base[200];
                memcpy(base, names[2 * c], sizeof base);
                snprintf(names[2 * c + 1], sizeof names[0], "%s before clip_grad(%g)", base,
                         L->clip_grad);
                top[nt++] = (svg_curve){names[2 * c + 1], x, raw, g->steps, SVG_DASHED, c};
            }
        }
    }
    char t1[300], t2[300];
    snprintf(t1, sizeof t1, "%s%s\u2016\u2202L/\u2202h\u2096\u2016, loss at the last step",
             title ? title : "", title ? ": " : "");
    snprintf(t2, sizeof t2, "step k's term of \u2202L/\u2202W\u2095: "
             "\u2016h\u2096\u208b\u2081\u1d40 \u2202L/\u2202(h\u2096\u208b\u2081W\u2095)\u2016");
    svg_panel panels[2] = {
        {t1, "distance from the loss, T \u2212 1 \u2212 k (steps)", "gradient norm (log scale)",
         true, top, nt, NULL, 0},
        {t2, "distance from the loss, T \u2212 1 \u2212 k (steps)", "norm (log scale)", true,
         bottom, nb, NULL, 0},
    };
    svg_figure fig = {0, 0, panels, 2};
    rc = svg_save(path, &fig);
done:
    free(top);
    free(bottom);
    free(names);
    free(x);
    free(ys);
    return rc;
}
