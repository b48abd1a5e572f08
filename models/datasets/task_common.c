/* task_common.c — what every built-in task shares: allocation, accessors, batches. */
#include "task_internal.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bp_task *bp_task_alloc(const char *name, bp_error *err)
{
    bp_task *t = calloc(1, sizeof *t);
    if (!t)
        bp_error_set(err, BP_ERR_NOMEM, "%s task: out of memory", name);
    else
        t->name = name, t->baseline_metric = NAN; /* none until the task says (files do) */
    return t;
}

bp_status bp_task_check_T(const char *name, int T, int lo, bp_error *err)
{
    if (T < lo || T > BP_TASK_MAX_T)
        return bp_error_set(err, BP_ERR_VALUE, "%s task: T must be in [%d, %d], got %d", name,
                            lo, BP_TASK_MAX_T, T);
    return BP_OK;
}

void bp_task_free(bp_task *t)
{
    if (!t)
        return;
    free(t->path);
    free(t->text);
    bp_file_set_free(t->files);
    free(t->class_values);
    free(t);
}

bp_batch *bp_task_batch(bp_task *t, int B, bp_split split, bp_rng *rng, bp_error *err)
{
    if (B < 1) {
        bp_error_set(err, BP_ERR_VALUE, "%s task: batch size must be >= 1, got %d", t->name, B);
        return NULL;
    }
    if (split != BP_SPLIT_TRAIN && split != BP_SPLIT_EVAL) {
        bp_error_set(err, BP_ERR_VALUE, "%s task: unknown split %d", t->name, (int)split);
        return NULL;
    }
    if (!rng) {
        bp_error_set(err, BP_ERR_VALUE, "%s task: no random number generator given", t->name);
        return NULL;
    }
    if (t->signature_only) {
        bp_error_set(err, BP_ERR_VALUE, "%s task: made from a checkpoint's metadata, it has no "
                     "data to draw batches from", t->name);
        return NULL;
    }
    bp_batch *b = bp_batch_new(B, t->steps, t->F, t->tokens, t->target, t->O, err);
    if (!b) {
        bp_error_prefix(err, "%s task", t->name);
        return NULL;
    }
    /* generated tasks: the eval split draws from its own stream, seeded from rng */
    bp_rng eval_rng;
    bp_rng *r = rng;
    if (split == BP_SPLIT_EVAL && !t->text) {
        bp_rng_seed(&eval_rng, bp_rng_next(rng) ^ 0x6576616c5f737472ull /* "eval_str" */);
        r = &eval_rng;
    }
    if (t->fill(t, b, split, r, err) != BP_OK) {
        bp_batch_free(b);
        return NULL;
    }
    return b;
}

const char *bp_task_name(const bp_task *t)
{
    return t->name;
}

int bp_task_input_size(const bp_task *t)
{
    return t->n_in;
}

bool bp_task_tokens(const bp_task *t)
{
    return t->tokens;
}

int bp_task_output_size(const bp_task *t)
{
    return t->O;
}

bp_target_kind bp_task_target(const bp_task *t)
{
    return t->target;
}

int bp_task_steps(const bp_task *t)
{
    return t->steps;
}

double bp_task_baseline(const bp_task *t)
{
    return t->baseline;
}

const char *bp_task_baseline_name(const bp_task *t)
{
    return t->baseline_name;
}

int bp_task_vocab(const bp_task *t, unsigned char *bytes)
{
    if (bytes && t->n_vocab)
        memcpy(bytes, t->vocab, (size_t)t->n_vocab);
    return t->n_vocab;
}

int bp_task_char_id(const bp_task *t, unsigned char byte)
{
    return t->n_vocab ? t->id_of[byte] : -1;
}

/* ---------------------------------------------------------------- signatures */

#define TASK_NAME(id, name, T, lo, loss) name,
static const char *const task_names[] = {BP_TASK_LIST(TASK_NAME)};

const char *bp_task_kind_name(bp_task_kind k)
{
    return (int)k >= 0 && (int)k < BP_TASK_KIND_COUNT ? task_names[k] : "?";
}

bool bp_task_kind_parse(const char *name, bp_task_kind *k)
{
    for (int i = 0; name && i < BP_TASK_KIND_COUNT; i++)
        if (!strcmp(name, task_names[i])) {
            *k = (bp_task_kind)i;
            return true;
        }
    return false;
}

bp_task *bp_task_from_signature(const bp_task_signature *s, bp_error *err)
{
    bp_task_kind kind;
    const char *name = bp_task_kind_parse(s->name, &kind) ? bp_task_kind_name(kind) : NULL;
    if (!name || s->steps < 1 || s->steps > BP_TASK_MAX_T || s->input_size < 1 ||
        s->output_size < 1 || s->n_vocab < 0 || s->n_vocab > 256 || s->n_classes < 0 ||
        (unsigned)s->target > BP_TARGET_VALUES_SEQ) {
        bp_error_set(err, BP_ERR_VALUE, "task signature: '%s', T %d, input %d, output %d do not "
                     "describe a task", s->name, s->steps, s->input_size, s->output_size);
        return NULL;
    }
    bp_task *t = bp_task_alloc(name, err);
    if (!t)
        return NULL;
    t->signature_only = true;
    t->T = t->steps = s->steps;
    t->tokens = s->tokens;
    t->F = s->tokens ? 1 : s->input_size;
    t->n_in = s->input_size;
    t->target = s->target;
    t->O = s->output_size;
    t->baseline = t->baseline_metric = NAN;
    t->baseline_name = "none (no data)";
    t->n_vocab = s->n_vocab;
    memcpy(t->vocab, s->vocab, (size_t)s->n_vocab);
    for (int i = 0; i < 256; i++)
        t->id_of[i] = -1;
    for (int i = 0; i < s->n_vocab; i++)
        t->id_of[s->vocab[i]] = i;
    if (s->n_classes) {
        if (!(t->class_values = malloc((size_t)s->n_classes * sizeof *t->class_values))) {
            bp_task_free(t);
            bp_error_set(err, BP_ERR_NOMEM, "task: out of memory");
            return NULL;
        }
        memcpy(t->class_values, s->class_values, (size_t)s->n_classes * sizeof *t->class_values);
        t->n_classes = s->n_classes;
    }
    return t;
}

void bp_task_signature_of(const bp_task *t, bp_task_signature *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", t->name);
    s->steps = t->steps;
    s->input_size = t->n_in;
    s->tokens = t->tokens;
    s->target = t->target;
    s->output_size = t->O;
    s->n_vocab = t->n_vocab;
    memcpy(s->vocab, t->vocab, (size_t)t->n_vocab);
    s->n_classes = t->n_classes;
    s->class_values = t->class_values;
}

bool bp_task_has_data(const bp_task *t)
{
    return !t->signature_only;
}
