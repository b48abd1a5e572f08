/* task_files.c — a data set from files: the training and validation rows (a file each, or
 * the validation rows split off the training file), the epoch stream of training batches,
 * slices for evaluation and prediction, and the data set's own baseline. */
#include "files_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct file_set {
    file_source train, valid;  /* valid unused when the rows are split off train */
    const file_source *src[2]; /* by split: where each split's rows live */
    long *rows[2], n[2];       /* by split: row indices into src, in file order */
    uint64_t seed;
    long *perm, perm_epoch;    /* the current epoch's order of the training rows */
    int shard, shards;         /* a rank's part (bptt_tasks.h); shards 0: the whole set */
};

void bp_file_set_opts_default(bp_file_set_opts *o)
{
    memset(o, 0, sizeof *o);
    o->csv_features = 1;
    o->csv_header = -1;
    o->seed = 1;
}

void bp_file_set_free(struct file_set *f)
{
    if (!f)
        return;
    file_source_close(&f->train);
    file_source_close(&f->valid);
    free(f->rows[0]);
    free(f->rows[1]);
    free(f->perm);
    free(f);
}

/* A seeded permutation of 0..n-1 (Fisher-Yates). */
static void shuffle(long *p, long n, uint64_t seed)
{
    bp_rng r;
    bp_rng_seed(&r, seed);
    for (long i = 0; i < n; i++)
        p[i] = i;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)(bp_rng_next(&r) % (uint64_t)(i + 1)); /* n < 2^31: bias < 2^-33 */
        long tmp = p[i];
        p[i] = p[j];
        p[j] = tmp;
    }
}

/* Which rows train and which validate: a validation file's all; else the training
 * file's last valid_last, or a seeded valid_fraction of them; else (no validation set)
 * evaluation reads the training rows. Both lists in file order. */
static bp_status split_rows(struct file_set *f, const bp_file_set_opts *o, bp_error *err)
{
    long N = f->train.N, nv = 0;
    bool own = o->valid.x[0];
    if (!own && o->valid_last > 0)
        nv = o->valid_last;
    else if (!own && o->valid_fraction > 0)
        nv = llround(o->valid_fraction * (double)N) > 0 ? llround(o->valid_fraction * (double)N) : 1;
    if (nv >= N)
        return bp_error_set(err, BP_ERR_VALUE, "%s: %ld sequences, too few to hold out %ld for "
                            "validation and train on the rest", f->train.path, N, nv);
    long n_valid = own ? f->valid.N : nv ? nv : N;
    bool seeded = nv && o->valid_last <= 0;
    f->rows[0] = malloc(((size_t)N + 1) * sizeof *f->rows[0]);
    f->rows[1] = malloc(((size_t)n_valid + 1) * sizeof *f->rows[1]);
    bool *held = calloc((size_t)N + 1, sizeof *held);
    long *order = seeded ? malloc(((size_t)N + 1) * sizeof *order) : NULL;
    if (!f->rows[0] || !f->rows[1] || !held || (seeded && !order)) {
        free(held);
        free(order);
        return bp_error_set(err, BP_ERR_NOMEM, "data set: out of memory");
    }
    if (seeded) { /* the first nv rows of a seeded order are held out */
        shuffle(order, N, o->seed ^ 0x5B117ull);
        for (long i = 0; i < nv; i++)
            held[order[i]] = true;
    } else {
        for (long r = N - nv; r < N; r++)
            held[r] = true;
    }
    long nt = 0, k = 0;
    for (long r = 0; r < N; r++) {
        if (held[r])
            f->rows[1][k++] = r;
        else
            f->rows[0][nt++] = r;
    }
    free(held);
    free(order);
    f->n[0] = nt;
    f->n[1] = nv;
    f->src[0] = f->src[1] = &f->train;
    if (own) {
        f->src[1] = &f->valid;
        f->n[1] = f->valid.N;
        for (long i = 0; i < f->valid.N; i++)
            f->rows[1][i] = i;
    } else if (!nv) { /* no validation set: evaluate on the training rows */
        f->n[1] = nt;
        memcpy(f->rows[1], f->rows[0], (size_t)nt * sizeof *f->rows[1]);
    }
    return BP_OK;
}

/* The validation file must be the training file's kind of data. */
static bp_status check_match(const file_source *a, const file_source *b, bp_error *err)
{
    const char *what = a->T != b->T ? "steps" : a->I != b->I ? "features per step"
                       : a->tokens != b->tokens ? "input kind (token ids or features)"
                       : a->target != b->target ? "target kind"
                       : !bp_target_is_class(a->target) && a->O != b->O ? "target width" : NULL;
    if (!what)
        return BP_OK;
    return bp_error_set(err, BP_ERR_SHAPE, "%s: its %s differ from %s's (T %d vs %d, I %d vs %d, "
                        "O %d vs %d)", b->path, what, a->path, b->T, a->T, b->I, a->I, b->O, a->O);
}

static bp_status csv_classes(bp_task *t, struct file_set *f, bool has_valid, bp_error *err)
{
    if (!f->train.is_csv || f->train.y.dtype != BP_DTYPE_I32)
        return BP_OK;
    bp_status st = file_source_labels(&f->train, &t->class_values, &t->n_classes, err);
    if (st == BP_OK)
        st = file_source_map_classes(&f->train, t->class_values, t->n_classes, err);
    if (st == BP_OK && has_valid && f->valid.is_csv)
        st = file_source_map_classes(&f->valid, t->class_values, t->n_classes, err);
    return st;
}

/* The baseline of the data set itself, on the validation rows from training statistics:
 * classes -- the cross-entropy of the training prior (add-one smoothed) and the majority
 * class's accuracy; values -- the MSE of predicting the training mean. */
static void baseline(bp_task *t, const struct file_set *f);

static bp_status fill_random(const bp_task *t, bp_batch *b, bp_split split, bp_rng *rng,
                             bp_error *err)
{
    const struct file_set *f = t->files;
    long *rows = malloc((size_t)b->B * sizeof *rows);
    if (!rows)
        return bp_error_set(err, BP_ERR_NOMEM, "data set: out of memory");
    for (int i = 0; i < b->B; i++)
        rows[i] = f->rows[split][bp_rng_below(rng, (uint32_t)f->n[split])];
    file_source_gather(f->src[split], rows, b->B, b, 0);
    free(rows);
    return BP_OK;
}

bp_task *bp_task_files(const bp_file_set_opts *o, bp_error *err)
{
    /* Shared CSV files first, before anything that could fail on one shard alone: every
     * shard takes part in both files' broadcasts (bptt_tasks.h). */
    bp_csv_set parsed[2] = {{0}};
    const char *paths[2] = {o->train.x, o->valid.x};
    bool shared[2]; /* by file: parsed by shard 0 and shared */
    bp_status st = BP_OK;
    for (int k = 0; k < 2; k++) {
        shared[k] = o->share && o->shards > 1 && file_source_is_csv(paths[k]);
        bp_error e = {0}; /* every file shared even after a failure: the first's error */
        bp_status fst = shared[k] ? csv_share(o, paths[k], &parsed[k], &e) : BP_OK;
        if (fst != BP_OK && st == BP_OK) {
            st = fst;
            if (err)
                *err = e;
        }
    }
    if (st != BP_OK) {
        bp_csv_set_free(&parsed[0]);
        bp_csv_set_free(&parsed[1]);
        return NULL;
    }
    bp_task *t = bp_task_alloc("files", err);
    struct file_set *f = t ? calloc(1, sizeof *f) : NULL;
    if (!f) {
        if (t)
            bp_error_set(err, BP_ERR_NOMEM, "data set: out of memory");
        free(t);
        bp_csv_set_free(&parsed[0]);
        bp_csv_set_free(&parsed[1]);
        return NULL;
    }
    t->files = f;
    f->seed = o->seed;
    f->perm_epoch = -1;
    f->shard = o->shard;
    f->shards = o->shards > 1 ? o->shards : 0;
    bool has_valid = o->valid.x[0];
    st = file_source_open(&f->train, &o->train, o, shared[0] ? &parsed[0] : NULL, err);
    if (st == BP_OK && has_valid)
        st = file_source_open(&f->valid, &o->valid, o, shared[1] ? &parsed[1] : NULL, err);
    bp_csv_set_free(&parsed[0]); /* those not taken over */
    bp_csv_set_free(&parsed[1]);
    if (st == BP_OK && !o->inputs_only)
        st = csv_classes(t, f, has_valid, err);
    if (st == BP_OK && has_valid)
        st = check_match(&f->train, &f->valid, err);
    if (st == BP_OK)
        st = split_rows(f, o, err);
    if (st == BP_OK && !(f->perm = malloc(((size_t)f->n[0] + 1) * sizeof *f->perm)))
        st = bp_error_set(err, BP_ERR_NOMEM, "data set: out of memory");
    if (st != BP_OK) {
        bp_task_free(t);
        return NULL;
    }
    const file_source *s = &f->train;
    t->T = t->steps = s->T;
    t->F = s->I;
    t->tokens = s->tokens;
    double max_token = has_valid && f->valid.max_token > s->max_token ? f->valid.max_token
                                                                      : s->max_token;
    t->n_in = s->tokens ? (int)max_token + 1 : s->I; /* the validation set's ids embedded too */
    t->target = s->target;
    int O = has_valid && f->valid.O > s->O ? f->valid.O : s->O;
    t->O = O;
    t->fill = fill_random;
    if (o->inputs_only)
        t->baseline = t->baseline_metric = NAN, t->baseline_name = "none (inputs only)";
    else
        baseline(t, f);
    return t;
}

/* A batch of n rows: x and y in its rows [r0, r1) (the rest zero), every row's length. */
static bp_batch *files_batch(bp_task *t, bp_split split, const long *rows, int n, long r0,
                             long r1, bp_error *err)
{
    const file_source *s = t->files->src[split];
    bp_batch *b = bp_batch_new(n, t->steps, t->F, t->tokens, t->target, t->O, err);
    if (b && s->len && !(b->len = malloc((size_t)n * sizeof *b->len))) {
        bp_batch_free(b);
        b = NULL;
        bp_error_set(err, BP_ERR_NOMEM, "data set: out of memory");
    }
    if (!b)
        return NULL;
    file_source_gather(s, rows + r0, (int)(r1 - r0), b, (int)r0);
    for (long k = 0; b->len && k < n; k++)
        if (k < r0 || k >= r1)
            b->len[k] = file_source_len(s, rows[k]);
    return b;
}

long bp_task_rows(const bp_task *t, bp_split split)
{
    return t->files && (split == BP_SPLIT_TRAIN || split == BP_SPLIT_EVAL) ? t->files->n[split] : 0;
}

bp_batch *bp_task_slice(bp_task *t, bp_split split, long first, int count, bp_error *err)
{
    long n = bp_task_rows(t, split);
    if (count < 1 || first < 0 || first + count > n) {
        bp_error_set(err, BP_ERR_VALUE, "%s task: rows [%ld, %ld) are not within its %ld rows",
                     t->name, first, first + count, n);
        return NULL;
    }
    return files_batch(t, split, t->files->rows[split] + first, count, 0, count, err);
}

bp_batch *bp_task_train_batch(bp_task *t, int B, long step, bp_rng *rng, bp_error *err)
{
    struct file_set *f = t->files;
    if (!f)
        return bp_task_batch(t, B, BP_SPLIT_TRAIN, rng, err);
    if (B < 1 || step < 0) {
        bp_error_set(err, BP_ERR_VALUE, "data set: batch %d at step %ld", B, step);
        return NULL;
    }
    long *rows = malloc((size_t)B * sizeof *rows), n = f->n[0];
    if (!rows) {
        bp_error_set(err, BP_ERR_NOMEM, "data set: out of memory");
        return NULL;
    }
    for (int i = 0; i < B; i++) {
        long p = step * B + i, e = p / n;
        if (e != f->perm_epoch) { /* each epoch in its own order, drawn from (seed, e) */
            shuffle(f->perm, n, f->seed ^ ((uint64_t)e * 0x9E3779B97F4A7C15ull) ^ 0xE90C);
            f->perm_epoch = e;
        }
        rows[i] = f->rows[0][f->perm[p % n]];
    }
    long r0 = 0, r1 = B; /* a rank's rows of the batch, as bp_dist_backward takes them */
    if (f->shards)
        bp_batch_share(B, f->shard, f->shards, &r0, &r1);
    bp_batch *b = files_batch(t, BP_SPLIT_TRAIN, rows, B, r0, r1, err);
    free(rows);
    return b;
}

void bp_task_agree_inputs(bp_task *t, int input_size)
{
    if (t->files && t->tokens && input_size > t->n_in)
        t->n_in = input_size;
}

int bp_task_shards(const bp_task *t, int *shard)
{
    *shard = t->files ? t->files->shard : 0;
    return t->files ? t->files->shards : 0;
}

bool bp_task_largest_id_at(const bp_task *t, bool tokens, char *buf, size_t n)
{
    const struct file_set *f = t->files;
    if (!f)
        return false;
    const file_source *s = &f->train, *v = f->valid.path[0] ? &f->valid : NULL;
    if (!tokens && s->is_csv) {
        snprintf(buf, n, "%s: its labels are %d classes", s->path, t->n_classes);
        return true;
    }
    if (tokens) {
        s = v && v->max_token > s->max_token ? v : s;
        if (!s->tokens || (int)s->max_token + 1 != t->n_in) /* another rank's, agreed */
            return false;
        snprintf(buf, n, "%s: %s is token %.0f", s->path, s->max_token_at, s->max_token);
    } else {
        s = v && v->max_class > s->max_class ? v : s;
        if (!bp_target_is_class(s->target) || s->max_class < 0)
            return false;
        snprintf(buf, n, "%s: %s is %.0f", s->y_path, s->max_class_at, s->max_class);
    }
    return true;
}

void bp_task_widen_classes(bp_task *t, int O)
{
    if (!bp_target_is_class(t->target) || O <= t->O)
        return;
    t->O = O;
    if (t->files && !t->files->train.inputs_only)
        baseline(t, t->files);
}

double bp_task_class_value(const bp_task *t, int k)
{
    if (t->n_classes && k >= t->n_classes) /* a class the CSV's labels never named */
        return NAN;
    return t->n_classes && k >= 0 ? t->class_values[k] : k;
}

double bp_task_baseline_metric(const bp_task *t)
{
    return t->baseline_metric;
}

/* ---------------------------------------------------------------- the baseline */

/* Sum over a split's targets within their sequences: fn(ctx, target id or value, o). */
typedef void (*target_fn)(void *ctx, double v, int o);
static void each_target(const struct file_set *f, int split, target_fn fn, void *ctx)
{
    const file_source *s = f->src[split];
    bool per_step = bp_target_per_step(s->target), cls = bp_target_is_class(s->target);
    int w = cls ? 1 : s->O, steps = per_step ? s->T : 1;
    for (long i = 0; i < f->n[split]; i++) {
        long r = f->rows[split][i];
        int L = per_step ? (s->len ? s->len[r] : s->T) : 1;
        for (int t = 0; t < L; t++)
            for (int o = 0; o < w; o++)
                fn(ctx, bp_array_get(&s->y, ((size_t)r * steps + t) * w + o), o);
    }
}

typedef struct stats {
    double *sum; /* classes: counts per class; values: sums per output (then means) */
    double n, loss, hits;
    int O;
    bool cls;
    long best;
} stats;

static void add_stat(void *ctx, double v, int o)
{
    stats *s = ctx;
    if (s->cls) {
        if (v < s->O)
            s->sum[(int)v] += 1;
        s->n += 1;
    } else {
        s->sum[o] += v;
        s->n += o == 0;
    }
}

static void score(void *ctx, double v, int o)
{
    stats *s = ctx;
    if (s->cls) {
        double total = 0;
        for (int k = 0; k < s->O; k++)
            total += s->sum[k];
        double c = v < s->O ? s->sum[(int)v] : 0;
        s->loss -= log((c + 1) / (total + s->O));
        s->hits += (long)v == s->best;
        s->n += 1;
    } else {
        double d = v - s->sum[o];
        s->loss += d * d;
        s->n += 1;
    }
}

static void baseline(bp_task *t, const struct file_set *f)
{
    stats s = {.O = t->O, .cls = bp_target_is_class(t->target)};
    t->baseline = t->baseline_metric = NAN;
    t->baseline_name = s.cls ? "the training set's class prior, and its majority class"
                             : "predicting the training mean";
    if (!(s.sum = calloc((size_t)t->O + 1, sizeof *s.sum)))
        return;
    each_target(f, 0, add_stat, &s);
    for (int k = 0; k < t->O; k++) {
        if (s.cls && s.sum[k] > s.sum[s.best])
            s.best = k;
        if (!s.cls && s.n > 0)
            s.sum[k] /= s.n;
    }
    s.n = 0;
    each_target(f, 1, score, &s);
    if (s.n > 0) {
        t->baseline = s.cls ? s.loss / s.n : s.loss / s.n;
        t->baseline_metric = s.cls ? s.hits / s.n : t->baseline;
    }
    free(s.sum);
}
