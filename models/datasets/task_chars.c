/* task_chars.c — next-character prediction over a text file. */
#include "bptt_arrays.h"
#include "task_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHARS_MAX_BYTES ((size_t)1 << 31)

/* The whole file into *out; an error names the path. */
static bp_status read_file(const char *path, unsigned char **out, size_t *len, bp_error *err)
{
    bp_error e = {0};
    int fd = bp_file_open_read(path, &e); /* a regular file: a FIFO never blocks */
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return bp_error_set(err, BP_ERR_IO, "chars task: %s", fd >= 0 ? strerror(errno) : e.msg);
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    bp_status st = BP_OK;
    while (buf) {
        if (n == cap) {
            if (cap >= CHARS_MAX_BYTES) {
                st = bp_error_set(err, BP_ERR_VALUE,
                                  "chars task: '%s' is too large (more than %zu bytes)", path,
                                  CHARS_MAX_BYTES);
                break;
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                st = bp_error_set(err, BP_ERR_IO, "chars task: cannot read '%s': %s", path,
                                  strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == BP_OK && !buf)
        st = bp_error_set(err, BP_ERR_NOMEM, "chars task: out of memory reading '%s'", path);
    if (st != BP_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *len = n;
    return BP_OK;
}

/* x is (B, T) ids of text[s .. s+T), y is (B, T) ids of text[s+1 .. s+T], with the
 * window start s drawn uniformly so that the window lies inside the split. */
static bp_status fill(const bp_task *t, bp_batch *b, bp_split split, bp_rng *rng, bp_error *err)
{
    (void)err;
    int T = t->T;
    size_t lo = split == BP_SPLIT_TRAIN ? 0 : t->train_len;
    size_t part = split == BP_SPLIT_TRAIN ? t->train_len : t->len - t->train_len;
    uint32_t starts = (uint32_t)(part - (size_t)T); /* s in [lo, lo + part - T) */
    for (int i = 0; i < b->B; i++) {
        const unsigned char *c = t->text + lo + bp_rng_below(rng, starts);
        bp_real *x = b->x + (size_t)i * T, *y = b->y + (size_t)i * T;
        for (int s = 0; s < T; s++) {
            x[s] = (bp_real)t->id_of[c[s]];
            y[s] = (bp_real)t->id_of[c[s + 1]];
        }
    }
    return BP_OK;
}

/* Refuse an empty file, a binary one (a NUL byte), and one whose train part (first
 * 90%) or held-out part (last 10%) cannot hold a window of T + 1 bytes. */
static bp_status check_text(const char *path, const unsigned char *text, size_t len, int T,
                            bp_error *err)
{
    if (len == 0)
        return bp_error_set(err, BP_ERR_VALUE, "chars task: '%s' is empty", path);
    const unsigned char *nul = memchr(text, 0, len);
    if (nul)
        return bp_error_set(err, BP_ERR_VALUE,
                            "chars task: '%s' looks binary (a NUL byte at offset %zu); "
                            "give a text file",
                            path, (size_t)(nul - text));
    if (len < (size_t)T + 1)
        return bp_error_set(err, BP_ERR_VALUE,
                            "chars task: '%s' has %zu bytes, shorter than T + 1 = %d", path, len,
                            T + 1);
    if (len / 10 < (size_t)T + 1)
        return bp_error_set(err, BP_ERR_VALUE,
                            "chars task: '%s' has %zu bytes; its held-out last 10%% (%zu bytes) "
                            "is shorter than T + 1 = %d: use a longer file or a smaller T",
                            path, len, len / 10, T + 1);
    return BP_OK;
}

bp_task *bp_task_chars(const char *path, int T, bp_error *err)
{
    if (!path || !*path) {
        bp_error_set(err, BP_ERR_VALUE, "chars task: no text file given");
        return NULL;
    }
    if (T < 1 || T > BP_TASK_MAX_T) {
        bp_error_set(err, BP_ERR_VALUE, "chars task on '%s': T must be in [1, %d], got %d", path,
                     BP_TASK_MAX_T, T);
        return NULL;
    }
    unsigned char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len, err) != BP_OK)
        return NULL;
    if (check_text(path, text, len, T, err) != BP_OK) {
        free(text);
        return NULL;
    }
    bp_task *t = bp_task_alloc("chars", err);
    char *p = t ? strdup(path) : NULL;
    if (!p) {
        if (t)
            bp_error_set(err, BP_ERR_NOMEM, "chars task: out of memory");
        free(t);
        free(text);
        return NULL;
    }
    t->path = p;
    t->text = text;
    t->len = len;
    t->train_len = len - len / 10;
    /* vocabulary: the distinct bytes of the file, in increasing order */
    bool seen[256] = {false};
    for (size_t i = 0; i < len; i++)
        seen[text[i]] = true;
    for (int c = 0; c < 256; c++) {
        t->id_of[c] = seen[c] ? t->n_vocab : -1;
        if (seen[c])
            t->vocab[t->n_vocab++] = (unsigned char)c;
    }
    t->T = T;
    t->steps = T;
    t->F = 1;
    t->n_in = t->n_vocab;
    t->tokens = true;
    t->target = BP_TARGET_CLASS_SEQ;
    t->O = t->n_vocab;
    t->baseline = log((double)t->n_vocab); /* uniform over the vocabulary */
    t->baseline_name = "cross-entropy of a uniform guess over the vocabulary";
    t->fill = fill;
    return t;
}
