/* checkpoint.c — a trainer's state as a safetensors file, and back.
 *
 * Tensors: every parameter by name; the optimizer state by its names
 * ("adam.m.rnn0.W_h"); "trainer.step" (I64 [1]) and "trainer.data_rng" (I64 [4],
 * the xoshiro state's bits), so a resumed run draws the same batches and lands on
 * the same weights bit for bit. __metadata__: format, model, step, model_hash. */
#include "trainer_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEP_NAME "trainer.step"
#define RNG_NAME "trainer.data_rng"

static bp_status add_leaves(bp_st_writer *w, bp_node *(*at)(const void *, int), const void *set,
                            int n, bp_error *err)
{
    for (int i = 0; i < n; i++) {
        bp_node *p = at(set, i);
        bp_status st = bp_st_writer_add(w, p->name, BP_DTYPE_REAL, p->shape, p->value, err);
        if (st != BP_OK)
            return st;
    }
    return BP_OK;
}

static bp_node *param_at(const void *p, int i) { return bp_params_at(p, i); }
static bp_node *state_at(const void *o, int i) { return bp_optim_state_at(o, i); }

/* What predict and sample need of the data, so that they run on a checkpoint alone:
 * "task", "task_steps", "task_input", "task_tokens", "task_target", "task_output", and
 * "vocab" (a chars model's bytes, in hex) or "classes" (CSV label values, in order). */
static const char *const target_names[] = {"values", "class_last", "class_seq", "values_seq"};

static bp_status save_signature(bp_st_writer *w, const bp_task *task, bp_error *err)
{
    bp_task_signature g;
    bp_task_signature_of(task, &g);
    char buf[64];
    const char *keys[] = {"task_steps", "task_input", "task_tokens", "task_output"};
    int vals[] = {g.steps, g.input_size, g.tokens, g.output_size};
    bp_status st = bp_st_writer_meta(w, "task", g.name, err);
    for (int i = 0; st == BP_OK && i < 4; i++) {
        snprintf(buf, sizeof buf, "%d", vals[i]);
        st = bp_st_writer_meta(w, keys[i], buf, err);
    }
    if (st == BP_OK)
        st = bp_st_writer_meta(w, "task_target", target_names[g.target], err);
    if (st == BP_OK && g.n_vocab) {
        char hex[513];
        for (int i = 0; i < g.n_vocab; i++)
            snprintf(hex + 2 * i, 3, "%02x", g.vocab[i]);
        st = bp_st_writer_meta(w, "vocab", hex, err);
    }
    if (st == BP_OK && g.n_classes) {
        size_t cap = (size_t)g.n_classes * 26 + 1, used = 0;
        char *list = malloc(cap);
        if (!list)
            return bp_error_set(err, BP_ERR_NOMEM, "checkpoint: out of memory");
        for (int i = 0; i < g.n_classes; i++)
            used += (size_t)snprintf(list + used, cap - used, "%s%.17g", i ? "," : "",
                                     g.class_values[i]);
        st = bp_st_writer_meta(w, "classes", list, err);
        free(list);
    }
    return st;
}

static bool meta_int(const bp_st_file *f, const char *key, int lo, int hi, int *out)
{
    const char *v = bp_st_meta(f, key);
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || end == v || *end || x < lo || x > hi)
        return false;
    *out = (int)x;
    return true;
}

/* Hex bytes (2 digits each) into vocab; false on a malformed string. */
static bool read_vocab(const char *hex, bp_task_signature *g)
{
    size_t n = strlen(hex);
    if (n % 2 || n > 512)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        g->vocab[i] = (unsigned char)v;
    }
    g->n_vocab = (int)(n / 2);
    return true;
}

static double *read_classes(const char *list, int *n)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    double *v = malloc(cap * sizeof *v);
    int k = 0;
    for (const char *p = list; v && *p;) {
        char *end;
        v[k++] = strtod(p, &end);
        if (end == p || (*end && *end != ',') || k > 65536) {
            free(v);
            return NULL;
        }
        p = *end ? end + 1 : end;
    }
    *n = k;
    return v;
}

bp_task *bp_checkpoint_task(const char *path, bp_error *err)
{
    bp_st_file *f = bp_st_load(path, err);
    if (!f)
        return NULL;
    bp_task_signature g = {0};
    const char *name = bp_st_meta(f, "task"), *target = bp_st_meta(f, "task_target");
    int tokens = 0;
    bool ok = name && strlen(name) < sizeof g.name && target &&
              meta_int(f, "task_steps", 1, BP_TASK_MAX_T, &g.steps) &&
              meta_int(f, "task_input", 1, BP_LAYER_MAX_SIZE, &g.input_size) &&
              meta_int(f, "task_tokens", 0, 1, &tokens) &&
              meta_int(f, "task_output", 1, BP_LAYER_MAX_SIZE, &g.output_size);
    int kind = -1;
    for (int i = 0; ok && i < 4; i++)
        if (!strcmp(target, target_names[i]))
            kind = i;
    ok = ok && kind >= 0;
    g.target = (bp_target_kind)kind;
    const char *vocab = bp_st_meta(f, "vocab"), *classes = bp_st_meta(f, "classes");
    ok = ok && (!vocab || read_vocab(vocab, &g));
    double *values = NULL;
    if (ok && classes && !(values = read_classes(classes, &g.n_classes)))
        ok = false;
    bp_task *t = NULL;
    if (ok) {
        snprintf(g.name, sizeof g.name, "%s", name);
        g.tokens = tokens;
        g.class_values = values;
        t = bp_task_from_signature(&g, err);
    } else {
        bp_error_set(err, BP_ERR_PARSE, "%s: its metadata does not describe the model's data "
                     "(task, task_steps, task_input, task_tokens, task_target, task_output; "
                     "vocab, classes): a checkpoint of an older bptt? Give the model's data "
                     "instead", path);
    }
    free(values);
    bp_st_free(f);
    return t;
}

/* The step and random state a save writes raw: they must outlive the writer's save. */
typedef struct saved_ints {
    int64_t step, rng[4];
    double best[6]; /* bp_trainer_best_write's */
} saved_ints;

/* Every tensor and metadata entry of a checkpoint (with_state) or weights file, in w:
 * what bp_trainer_save writes and bp_trainer_check_save checks. */
static bp_status fill_writer(const bp_trainer *tr, bool with_state, saved_ints *v,
                             bp_st_writer *w, bp_error *err)
{
    v->step = bp_optim_steps_done(tr->optim);
    memcpy(v->rng, tr->data_rng.s, sizeof v->rng);
    char step_s[32], hash_s[32];
    snprintf(step_s, sizeof step_s, "%" PRId64, v->step);
    snprintf(hash_s, sizeof hash_s, "%016" PRIx64, tr->cfg.hash);
    bp_status st = add_leaves(w, param_at, tr->params, bp_params_count(tr->params), err);
    if (st == BP_OK && with_state)
        st = add_leaves(w, state_at, tr->optim, bp_optim_state_count(tr->optim), err);
    if (st == BP_OK && with_state)
        st = bp_st_writer_add_raw(w, STEP_NAME, BP_DTYPE_I64, bp_shape1(1), &v->step, err);
    if (st == BP_OK && with_state)
        st = bp_st_writer_add_raw(w, RNG_NAME, BP_DTYPE_I64, bp_shape1(4), v->rng, err);
    if (st == BP_OK && with_state)
        st = bp_trainer_best_write(tr, w, v->best, err);
    if (st == BP_OK)
        st = bp_st_writer_meta(w, "format", with_state ? "bptt-checkpoint" : "bptt-weights", err);
    if (st == BP_OK)
        st = bp_st_writer_meta(w, "model", tr->cfg.name, err);
    if (st == BP_OK)
        st = bp_st_writer_meta(w, "step", step_s, err);
    if (st == BP_OK)
        st = bp_st_writer_meta(w, "model_hash", hash_s, err);
    if (st == BP_OK)
        st = save_signature(w, tr->task, err);
    return st;
}

static bp_status save(const bp_trainer *tr, const char *path, bool with_state, bp_error *err)
{
    bp_st_writer *w = bp_st_writer_new();
    if (!w)
        return bp_error_set(err, BP_ERR_NOMEM, "checkpoint: out of memory");
    saved_ints v;
    bp_status st = fill_writer(tr, with_state, &v, w, err);
    if (st == BP_OK)
        st = bp_st_writer_save(w, path, err);
    bp_st_writer_free(w);
    return st;
}

bp_status bp_trainer_check_save(const bp_trainer *tr, const char *path, bp_error *err)
{
    bp_st_writer *w = bp_st_writer_new();
    if (!w)
        return bp_error_set(err, BP_ERR_NOMEM, "checkpoint: out of memory");
    saved_ints v;
    bp_error e = {0};
    bp_status st = fill_writer(tr, true, &v, w, &e);
    bp_st_writer_free(w);
    if (st != BP_OK)
        return bp_error_set(err, st, "%s: this model's checkpoint cannot be written: %s%s", path,
                            e.msg, st == BP_ERR_NAME ? " (a parameter's name must differ from the "
                            "trainer's and the optimizer's own tensors, trainer.step, "
                            "adam.m.NAME, ..., and hold no control character)" : "");
    return bp_file_check_output(path, err);
}

bp_status bp_trainer_save(const bp_trainer *tr, const char *path, bp_error *err)
{
    return save(tr, path, true, err);
}

bp_status bp_trainer_save_weights(const bp_trainer *tr, const char *path, bp_error *err)
{
    return save(tr, path, false, err);
}

/* Optimizer state that is a running mean of squares, so never negative (the names
 * graph/optim.c gives it). */
static bool never_negative(const char *name)
{
    return !strncmp(name, "adam.v.", 7) || !strncmp(name, "rmsprop.square_avg.", 19);
}

/* The one domain check of loaded tensors: every value finite (a NaN weight that a ReLU
 * turns into 0 would train on unseen and be written back out), second moments >= 0. */
static bp_status check_domain(const char *path, const bp_node *p, const bp_real *v,
                              bp_error *err)
{
    bool nonneg = never_negative(p->name);
    for (size_t i = 0; i < p->size; i++) {
        if (isfinite(v[i]) && (!nonneg || v[i] >= 0))
            continue;
        return bp_error_set(err, BP_ERR_VALUE, "%s: tensor '%s' holds %g at element %zu: %s",
                            path, p->name, (double)v[i], i,
                            !isfinite(v[i]) ? "a checkpoint's values must be finite"
                                            : "a mean of squares cannot be negative");
    }
    return BP_OK;
}

/* Read every leaf of a set into fresh buffers first, so a bad file changes nothing. */
static bp_real **read_leaves(const bp_st_file *f, bp_node *(*at)(const void *, int),
                             const void *set, int n, const char *path, bp_error *err)
{
    bp_real **buf = calloc((size_t)n + 1, sizeof *buf);
    if (!buf) {
        bp_error_set(err, BP_ERR_NOMEM, "checkpoint: out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        bp_node *p = at(set, i);
        buf[i] = malloc(p->size * sizeof(bp_real));
        if (!buf[i]) {
            bp_error_set(err, BP_ERR_NOMEM, "checkpoint: out of memory");
            goto fail;
        }
        if (bp_st_read(f, p->name, p->shape, buf[i], err) != BP_OK ||
            check_domain(path, p, buf[i], err) != BP_OK)
            goto fail;
    }
    return buf;
fail:
    for (int i = 0; i < n; i++)
        free(buf[i]);
    free(buf);
    return NULL;
}

static void commit_leaves(bp_real **buf, bp_node *(*at)(const void *, int), const void *set,
                          int n)
{
    for (int i = 0; i < n; i++) {
        bp_node *p = at(set, i);
        memcpy(p->value, buf[i], p->size * sizeof(bp_real));
        free(buf[i]);
    }
    free(buf);
}

bp_status bp_trainer_load(bp_trainer *tr, const char *path, bool weights_only, bp_error *err)
{
    bp_st_file *f = bp_st_load(path, err);
    if (!f)
        return err ? err->status : BP_ERR_IO;
    int np = bp_params_count(tr->params), ns = bp_optim_state_count(tr->optim);
    bp_real **pv = read_leaves(f, param_at, tr->params, np, path, err), **sv = NULL;
    int64_t step = 0, rng[4];
    double best[6];
    bp_status st = pv ? BP_OK : (err ? err->status : BP_ERR_PARSE);
    if (st == BP_OK && !weights_only) {
        if (!bp_st_find(f, STEP_NAME)) {
            st = bp_error_set(err, BP_ERR_NAME,
                              "%s holds weights only (no optimizer state or step): it can "
                              "start a run (--weights) but not resume one",
                              path);
        } else if (!(sv = read_leaves(f, state_at, tr->optim, ns, path, err))) {
            st = err ? err->status : BP_ERR_PARSE;
        } else if ((st = bp_st_read_raw(f, STEP_NAME, BP_DTYPE_I64, bp_shape1(1), &step, err)) ==
                       BP_OK &&
                   (st = bp_st_read_raw(f, RNG_NAME, BP_DTYPE_I64, bp_shape1(4), rng, err)) ==
                       BP_OK &&
                   step < 0) {
            st = bp_error_set(err, BP_ERR_PARSE, "%s: %s is negative", path, STEP_NAME);
        } else if (st == BP_OK && !(rng[0] | rng[1] | rng[2] | rng[3])) {
            st = bp_error_set(err, BP_ERR_VALUE, "%s: %s is all zeros, a state the random "
                              "generator cannot leave (bptt never writes it)", path, RNG_NAME);
        }
        if (st == BP_OK)
            st = bp_trainer_best_read(f, path, best, err);
    }
    if (st == BP_OK) {
        commit_leaves(pv, param_at, tr->params, np);
        pv = NULL;
        if (!weights_only) {
            commit_leaves(sv, state_at, tr->optim, ns);
            sv = NULL;
            bp_optim_set_steps_done(tr->optim, (long)step);
            memcpy(tr->data_rng.s, rng, sizeof rng);
            bp_trainer_best_commit(tr, best);
        }
    }
    for (int i = 0; pv && i < np; i++)
        free(pv[i]);
    free(pv);
    for (int i = 0; sv && i < ns; i++)
        free(sv[i]);
    free(sv);
    bp_st_free(f);
    return st;
}
