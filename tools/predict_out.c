/* predict_out.c — `bptt predict`'s results written as .safetensors, .npy or .csv. */
#include "predict_out.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bp_status predict_result_init(predict_result *r, bp_trainer *tr, const bp_task *in, bp_error *err)
{
    const bp_net_spec *s = bp_net_spec_of(bp_trainer_net(tr));
    r->N = bp_task_rows(in, BP_SPLIT_EVAL);
    r->T = bp_task_steps(in);
    r->O = s->output_size;
    r->per_step = s->head == BP_HEAD_SEQ;
    r->classes = bp_target_is_class(bp_task_target(bp_trainer_task(tr)));
    size_t n = (size_t)r->N * (size_t)(r->per_step ? r->T : 1) * (size_t)r->O;
    r->out = malloc((n + 1) * sizeof *r->out);
    r->len = malloc(((size_t)r->N + 1) * sizeof *r->len);
    if (!r->out || !r->len)
        return bp_error_set(err, BP_ERR_NOMEM, "predict: out of memory");
    return BP_OK;
}

void predict_result_free(predict_result *r)
{
    free(r->out);
    free(r->len);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* The arg-max of one output vector (the first, on ties). */
static int argmax(const bp_real *p, int O)
{
    int best = 0;
    for (int c = 1; c < O; c++)
        if (p[c] > p[best])
            best = c;
    return best;
}

void predict_class_name(const bp_task *task, int k, int digits, char *buf, size_t n)
{
    double v = bp_task_class_value(task, k);
    if (isnan(v))
        snprintf(buf, n, "id%d", k);
    else
        snprintf(buf, n, "%.*g", digits, v);
}

/* The label of every output vector: [N] or [N, T] as the model's class values. */
static float *labels(const predict_result *r, const bp_task *task, size_t n_vec)
{
    float *lab = malloc((n_vec + 1) * sizeof *lab);
    for (size_t i = 0; lab && i < n_vec; i++)
        lab[i] = (float)bp_task_class_value(task, argmax(r->out + i * (size_t)r->O, r->O));
    return lab;
}

static bp_status write_st(const predict_result *r, const float *lab, const char *path,
                          bp_error *err)
{
    bp_st_writer *w = bp_st_writer_new();
    if (!w)
        return bp_error_set(err, BP_ERR_NOMEM, "predict: out of memory");
    bp_shape out = r->per_step ? (bp_shape){3, {(int)r->N, r->T, r->O}} : bp_shape2((int)r->N, r->O);
    bp_shape each = r->per_step ? bp_shape2((int)r->N, r->T) : bp_shape1((int)r->N);
    bp_status st = bp_st_writer_add(w, r->classes ? "probs" : "values", BP_DTYPE_F32, out, r->out, err);
    if (st == BP_OK && lab)
        st = bp_st_writer_add_raw(w, "class", BP_DTYPE_F32, each, lab, err);
    if (st == BP_OK)
        st = bp_st_writer_add_raw(w, "lengths", BP_DTYPE_I32, bp_shape1((int)r->N), r->len, err);
    if (st == BP_OK)
        st = bp_st_writer_meta(w, "format", "bptt-predictions", err);
    if (st == BP_OK)
        st = bp_st_writer_save(w, path, err);
    bp_st_writer_free(w);
    return st;
}

static bp_status write_npy(const predict_result *r, const float *lab, const char *path,
                           bp_error *err)
{
    size_t n = (size_t)r->N * (size_t)(r->per_step ? r->T : 1) * (size_t)r->O;
    float *f = malloc((n + 1) * sizeof *f);
    if (!f)
        return bp_error_set(err, BP_ERR_NOMEM, "predict: out of memory");
    for (size_t i = 0; i < n; i++)
        f[i] = (float)r->out[i];
    bp_shape out = r->per_step ? (bp_shape){3, {(int)r->N, r->T, r->O}} : bp_shape2((int)r->N, r->O);
    bp_status st = bp_npy_save(path, BP_DTYPE_F32, out, f, err);
    free(f);
    if (st != BP_OK || !lab)
        return st;
    char cls[4096];
    int stem = (int)(strlen(path) - strlen(".npy"));
    if (snprintf(cls, sizeof cls, "%.*s.class.npy", stem, path) >= (int)sizeof cls)
        return bp_error_set(err, BP_ERR_VALUE, "%s: the path is too long", path);
    bp_shape each = r->per_step ? bp_shape2((int)r->N, r->T) : bp_shape1((int)r->N);
    return bp_npy_save(cls, BP_DTYPE_F32, each, lab, err);
}

/* One CSV line per sequence (or per step within it): row[,step],label,p_<label>... or
 * row[,step],y0,y1,... */
static void csv_rows(FILE *f, const predict_result *r, const bp_task *task, const float *lab)
{
    fprintf(f, "row%s", r->per_step ? ",step" : "");
    if (r->classes)
        fprintf(f, ",label");
    for (int c = 0; c < r->O; c++) {
        char name[48];
        if (r->classes) {
            predict_class_name(task, c, 17, name, sizeof name);
            fprintf(f, ",p_%s", name);
        } else {
            fprintf(f, ",y%d", c);
        }
    }
    fputc('\n', f);
    for (long i = 0; i < r->N; i++)
        for (int t = 0; t < (r->per_step ? r->len[i] : 1); t++) {
            size_t v = r->per_step ? (size_t)i * r->T + t : (size_t)i;
            fprintf(f, "%ld", i);
            if (r->per_step)
                fprintf(f, ",%d", t);
            if (lab)
                fprintf(f, ",%.9g", (double)lab[v]);
            for (int c = 0; c < r->O; c++)
                fprintf(f, ",%.9g", (double)r->out[v * (size_t)r->O + c]);
            fputc('\n', f);
        }
}

/* A CSV written beside path and renamed over it: a failed write leaves path as it was. */
static bp_status write_csv(const predict_result *r, const bp_task *task, const float *lab,
                           const char *path, bp_error *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp)
        return bp_error_set(err, BP_ERR_VALUE, "%s: the path is too long", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return bp_error_set(err, BP_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    csv_rows(f, r, task, lab);
    bool ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) == 0)
        return BP_OK;
    int e = errno;
    unlink(tmp);
    return bp_error_set(err, BP_ERR_IO, "%s: cannot write: %s", path, strerror(e));
}

bool predict_format_known(const char *path)
{
    return ends_with(path, ".safetensors") || ends_with(path, ".npy") || ends_with(path, ".csv");
}

bp_status predict_write(const predict_result *r, const bp_task *task, const char *path,
                        bp_error *err)
{
    size_t n_vec = (size_t)r->N * (size_t)(r->per_step ? r->T : 1);
    float *lab = r->classes ? labels(r, task, n_vec) : NULL;
    if (r->classes && !lab)
        return bp_error_set(err, BP_ERR_NOMEM, "predict: out of memory");
    bp_status st = ends_with(path, ".npy") ? write_npy(r, lab, path, err)
                   : ends_with(path, ".csv") ? write_csv(r, task, lab, path, err)
                                             : write_st(r, lab, path, err);
    free(lab);
    return st;
}
