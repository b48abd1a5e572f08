/* spec.c — layer and net specs: defaults, names, and the consistency check. */
#include "net_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bp_layer_spec_default(bp_layer_spec *s, bp_layer_kind kind)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->size = 32;
    s->act = kind == BP_LAYER_LINEAR ? BP_ACT_NONE : BP_ACT_TANH;
    s->init = BP_INIT_DEFAULT;
    s->init_gain = 1;
    s->init_std = 0.01;
    s->skip_from = BP_SKIP_NONE;
}

void bp_net_spec_default(bp_net_spec *s)
{
    memset(s, 0, sizeof *s);
    s->input_size = 1;
    s->output_size = 1;
    s->head = BP_HEAD_LAST;
}

#define KIND_NAME(id, name, form) name,
#define ACT_NAME(id, name, op, fused) name,
#define INIT_NAME(id, name) name,
static const char *const kind_names[] = {BP_LAYER_KIND_LIST(KIND_NAME)};
static const char *const act_names[] = {BP_ACT_LIST(ACT_NAME)};
static const char *const init_names[] = {BP_INIT_LIST(INIT_NAME)};
static const char *const head_names[] = {"last", "seq"};
#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

static const char *name_of(const char *const *names, int n, int k)
{
    return k >= 0 && k < n ? names[k] : "?";
}

static bool parse(const char *const *names, int n, const char *name, int *k)
{
    for (int i = 0; i < n; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *k = i;
            return true;
        }
    return false;
}

const char *bp_layer_kind_name(bp_layer_kind k) { return name_of(kind_names, COUNT(kind_names), k); }
const char *bp_act_name(bp_act a) { return name_of(act_names, COUNT(act_names), a); }
const char *bp_init_kind_name(bp_init_kind k) { return name_of(init_names, COUNT(init_names), k); }
const char *bp_head_kind_name(bp_head_kind h) { return name_of(head_names, COUNT(head_names), h); }

bool bp_layer_kind_parse(const char *name, bp_layer_kind *k)
{
    int i;
    return parse(kind_names, COUNT(kind_names), name, &i) ? (*k = (bp_layer_kind)i, true) : false;
}

bool bp_act_parse(const char *name, bp_act *a)
{
    int i;
    return parse(act_names, COUNT(act_names), name, &i) ? (*a = (bp_act)i, true) : false;
}

bool bp_init_kind_parse(const char *name, bp_init_kind *k)
{
    int i;
    return parse(init_names, COUNT(init_names), name, &i) ? (*k = (bp_init_kind)i, true) : false;
}

bool bp_head_kind_parse(const char *name, bp_head_kind *h)
{
    int i;
    return parse(head_names, COUNT(head_names), name, &i) ? (*h = (bp_head_kind)i, true) : false;
}

bool bp_layer_is_recurrent(bp_layer_kind k)
{
    return k == BP_LAYER_RNN || k == BP_LAYER_LSTM || k == BP_LAYER_GRU || k == BP_LAYER_CELL;
}

/* A layer's name: its own, or kind + count, count = how many of its kind come before it. */
static void layer_name(const bp_layer_spec *l, int count, char out[BP_LAYER_NAME_MAX])
{
    if (memchr(l->name, '\0', BP_LAYER_NAME_MAX) && l->name[0])
        memcpy(out, l->name, BP_LAYER_NAME_MAX);
    else
        snprintf(out, BP_LAYER_NAME_MAX, "%s%d", bp_layer_kind_name(l->kind), count);
}

/* Layer i's name: its own, or kind + how many of that kind come before it ("rnn1"). */
void net_layer_name(const bp_net_spec *s, int i, char out[BP_LAYER_NAME_MAX])
{
    int count = 0;
    for (int j = 0; j < i; j++)
        count += s->layers[j].kind == s->layers[i].kind;
    layer_name(&s->layers[i], count, out);
}

/* The width of layer i's input: the previous layer's size, or the net's input. */
int net_layer_in_size(const bp_net_spec *s, int i)
{
    return i == 0 ? s->input_size : s->layers[i - 1].size;
}

/* Every layer's name, computed once, and for each the first layer of that name
 * (taken_by[i] < i: a duplicate), found by sorting: the check is n log n, not n^2. */
typedef struct {
    char (*name)[BP_LAYER_NAME_MAX];
    int *taken_by;
} spec_names;

typedef struct {
    char name[BP_LAYER_NAME_MAX];
    int i;
} sorted_name;

static int by_name_then_index(const void *a, const void *b)
{
    const sorted_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static void first_of_each_name(spec_names *sn, sorted_name *sorted, int n)
{
    for (int i = 0; i < n; i++) {
        memcpy(sorted[i].name, sn->name[i], BP_LAYER_NAME_MAX);
        sorted[i].i = i;
    }
    qsort(sorted, (size_t)n, sizeof *sorted, by_name_then_index);
    for (int k = 0, first = 0; k < n; k++) {
        if (k > 0 && strcmp(sorted[k].name, sorted[k - 1].name) != 0)
            first = k;
        sn->taken_by[sorted[k].i] = sorted[first].i;
    }
}

static bp_status names_new(const bp_net_spec *s, spec_names *sn, bp_error *err)
{
    int n = s->n_layers, count[BP_LAYER_KIND_COUNT] = {0};
    sn->name = malloc((size_t)n * sizeof *sn->name);
    sn->taken_by = malloc((size_t)n * sizeof *sn->taken_by);
    sorted_name *sorted = malloc((size_t)n * sizeof *sorted);
    if (!sn->name || !sn->taken_by || !sorted) {
        free(sorted);
        return bp_error_set(err, BP_ERR_NOMEM, "net: out of memory");
    }
    for (int i = 0; i < n; i++) {
        const bp_layer_spec *l = &s->layers[i];
        bool known = (int)l->kind >= 0 && (int)l->kind < BP_LAYER_KIND_COUNT;
        layer_name(l, known ? count[l->kind] : 0, sn->name[i]);
        if (known)
            count[l->kind]++;
    }
    first_of_each_name(sn, sorted, n);
    free(sorted);
    return BP_OK;
}

static void names_free(spec_names *sn)
{
    free(sn->name);
    free(sn->taken_by);
}

static bool good_name(const char *name)
{
    if (!memchr(name, '\0', BP_LAYER_NAME_MAX))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

static bool finite_nonneg(double x)
{
    return isfinite(x) && x >= 0;
}

/* "layer 'NAME': message" into err; returns st. */
static bp_status layer_fail(bp_error *err, const char *name, bp_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bp_status layer_fail(bp_error *err, const char *name, bp_status st, const char *fmt, ...)
{
    char prefix[BP_LAYER_NAME_MAX + 16];
    snprintf(prefix, sizeof prefix, "layer '%s'", name);
    va_list ap;
    va_start(ap, fmt);
    bp_status r = bp_error_vset(err, st, prefix, fmt, ap);
    va_end(ap);
    return r;
}
#define FAIL(st, ...) return layer_fail(err, name, st, __VA_ARGS__)

/* Layer i's kind, name (its own, unique, not "out") and size. */
static bp_status check_identity(const bp_net_spec *s, int i, const char *name, int taken_by,
                                bp_error *err)
{
    const bp_layer_spec *l = &s->layers[i];
    if ((int)l->kind < 0 || (int)l->kind >= BP_LAYER_KIND_COUNT)
        return bp_error_set(err, BP_ERR_VALUE, "layer %d: unknown kind %d (known: linear, rnn, "
                            "lstm, gru, embedding, cell)", i, (int)l->kind);
    if (!good_name(l->name))
        return bp_error_set(err, BP_ERR_NAME, "layer %d: a name is at most %d characters of "
                            "letters, digits, '_' and '-'", i, BP_LAYER_NAME_MAX - 1);
    if (strcmp(name, "out") == 0)
        FAIL(BP_ERR_NAME, "the name 'out' is the readout's");
    if (taken_by < i)
        FAIL(BP_ERR_NAME, "the name is taken by layer %d", taken_by);
    if (l->size < 1 || l->size > BP_LAYER_MAX_SIZE)
        FAIL(BP_ERR_VALUE, "size must be in [1, %d], not %d", BP_LAYER_MAX_SIZE, l->size);
    return BP_OK;
}

/* The activation, the init and its numbers, and the settings that only some kinds take. */
static bp_status check_settings(const bp_layer_spec *l, const char *name, bp_error *err)
{
    bool rec = bp_layer_is_recurrent(l->kind);
    if ((int)l->act < 0 || (int)l->act >= BP_ACT_COUNT)
        FAIL(BP_ERR_VALUE, "unknown activation %d", (int)l->act);
    if (l->kind == BP_LAYER_RNN && l->act == BP_ACT_NONE)
        FAIL(BP_ERR_VALUE, "an rnn needs an activation, not none");
    if ((int)l->init < 0 || (int)l->init >= BP_INIT_COUNT)
        FAIL(BP_ERR_VALUE, "unknown init %d (known: default, identity, normal, orthogonal)",
             (int)l->init);
    if (!rec && l->init != BP_INIT_DEFAULT)
        FAIL(BP_ERR_VALUE, "init %s applies to recurrent layers only", bp_init_kind_name(l->init));
    if (l->kind != BP_LAYER_RNN && l->init == BP_INIT_IDENTITY)
        FAIL(BP_ERR_VALUE, "init identity applies to rnn layers only");
    if ((l->init == BP_INIT_IDENTITY || l->init == BP_INIT_ORTHOGONAL) &&
        !(isfinite(l->init_gain) && l->init_gain > 0))
        FAIL(BP_ERR_VALUE, "init gain must be > 0, not %g", l->init_gain);
    if (l->init == BP_INIT_NORMAL && !(isfinite(l->init_std) && l->init_std > 0))
        FAIL(BP_ERR_VALUE, "init std must be > 0, not %g", l->init_std);
    if (!finite_nonneg(l->spectral_radius))
        FAIL(BP_ERR_VALUE, "spectral_radius must be >= 0 (0 = off), not %g", l->spectral_radius);
    if (l->spectral_radius > 0 && l->kind != BP_LAYER_RNN)
        FAIL(BP_ERR_VALUE, "spectral_radius applies to rnn layers only (W_h must be square)");
    if (!finite_nonneg(l->clip_grad))
        FAIL(BP_ERR_VALUE, "clip_grad must be >= 0 (0 = off), not %g", l->clip_grad);
    if (l->clip_grad > 0 && !rec)
        FAIL(BP_ERR_VALUE, "clip_grad applies to recurrent layers only");
    if (l->residual && l->kind != BP_LAYER_RNN)
        FAIL(BP_ERR_VALUE, "residual (h_t = h_{t-1} + f) applies to rnn layers only");
    if (!isfinite(l->forget_bias))
        FAIL(BP_ERR_VALUE, "forget_bias must be finite");
    if (l->forget_bias != 0 && l->kind != BP_LAYER_LSTM)
        FAIL(BP_ERR_VALUE, "forget_bias applies to lstm layers only");
    if (!(l->dropout >= 0 && l->dropout < 1))
        FAIL(BP_ERR_VALUE, "dropout must be in [0, 1), not %g", l->dropout);
    if (!(l->recurrent_dropout >= 0 && l->recurrent_dropout < 1))
        FAIL(BP_ERR_VALUE, "recurrent_dropout must be in [0, 1), not %g", l->recurrent_dropout);
    if (l->recurrent_dropout > 0 && !(rec && l->kind != BP_LAYER_CELL))
        FAIL(BP_ERR_VALUE, "recurrent_dropout applies to rnn, lstm and gru layers only");
    if (l->variational && !(l->dropout > 0))
        FAIL(BP_ERR_VALUE, "variational applies to a layer's dropout: set dropout > 0");
    return BP_OK;
}

/* A skip connection: from the layer's input or an earlier layer, of the layer's size. */
static bp_status check_skip(const bp_net_spec *s, int i, const spec_names *sn, bp_error *err)
{
    const bp_layer_spec *l = &s->layers[i];
    const char *name = sn->name[i];
    int from = l->skip_from, have;
    char src[BP_LAYER_NAME_MAX];
    if (from == BP_SKIP_NONE)
        return BP_OK;
    if (l->kind == BP_LAYER_EMBEDDING)
        FAIL(BP_ERR_VALUE, "an embedding takes no skip connection");
    if (from == BP_SKIP_INPUT) {
        have = net_layer_in_size(s, i);
        snprintf(src, sizeof src, "%s", "its input");
    } else if (from >= 0 && from < i) {
        have = s->layers[from].size;
        snprintf(src, sizeof src, "'%.29s'", sn->name[from]);
    } else {
        FAIL(BP_ERR_VALUE, "skip_from %d is not an earlier layer (0..%d) or the input", from,
             i - 1);
    }
    if (have != l->size)
        FAIL(BP_ERR_SHAPE, "skip from %s needs size %d, has %d", src, l->size, have);
    return BP_OK;
}

static bp_status check_layer(const bp_net_spec *s, int i, const spec_names *sn, bp_error *err)
{
    const bp_layer_spec *l = &s->layers[i];
    if ((int)l->kind < 0 || (int)l->kind >= BP_LAYER_KIND_COUNT)
        return check_identity(s, i, "", i, err);
    const char *name = sn->name[i];
    bp_status st = check_identity(s, i, name, sn->taken_by[i], err);
    if (st == BP_OK)
        st = check_settings(l, name, err);
    if (st != BP_OK)
        return st;
    if (l->kind == BP_LAYER_CELL && net_cell_check(l, err) != BP_OK) {
        bp_error_prefix(err, "layer '%s'", name);
        return err ? err->status : BP_ERR_VALUE;
    }
    if (l->kind == BP_LAYER_EMBEDDING && (i != 0 || !s->tokens))
        FAIL(BP_ERR_VALUE, "an embedding must be the first layer, and the input tokens");
    return check_skip(s, i, sn, err);
}
#undef FAIL

static bp_status check_net(const bp_net_spec *s, bp_error *err)
{
    if (s->input_size < 1 || s->input_size > BP_LAYER_MAX_SIZE)
        return bp_error_set(err, BP_ERR_VALUE, "net: %s must be in [1, %d], not %d",
                            s->tokens ? "the vocabulary" : "the input size", BP_LAYER_MAX_SIZE,
                            s->input_size);
    if (s->output_size < 1 || s->output_size > BP_LAYER_MAX_SIZE)
        return bp_error_set(err, BP_ERR_VALUE, "net: the output size must be in [1, %d], not %d",
                            BP_LAYER_MAX_SIZE, s->output_size);
    if (s->n_layers < 1 || s->n_layers > BP_NET_MAX_LAYERS || !s->layers)
        return bp_error_set(err, BP_ERR_VALUE, "net: needs 1 to %d layers, has %d",
                            BP_NET_MAX_LAYERS, s->layers ? s->n_layers : 0);
    if ((int)s->head < 0 || s->head > BP_HEAD_SEQ)
        return bp_error_set(err, BP_ERR_VALUE, "net: unknown head %d (known: last, seq)",
                            (int)s->head);
    if (s->chunk < 0)
        return bp_error_set(err, BP_ERR_VALUE, "net: chunk must be >= 0 (0 = whole sequence), "
                            "not %d", s->chunk);
    return BP_OK;
}

bp_status bp_net_spec_check_at(const bp_net_spec *s, int *at, bp_error *err)
{
    if (at)
        *at = -1;
    spec_names sn;
    bp_status st = check_net(s, err);
    if (st != BP_OK || (st = names_new(s, &sn, err)) != BP_OK)
        return st;
    for (int i = 0; i < s->n_layers && st == BP_OK; i++)
        if ((st = check_layer(s, i, &sn, err)) != BP_OK && at)
            *at = i;
    names_free(&sn);
    return st;
}

bp_status bp_net_spec_check(const bp_net_spec *s, bp_error *err)
{
    return bp_net_spec_check_at(s, NULL, err);
}
